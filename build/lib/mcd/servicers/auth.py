"""AuthService: login through the OIDC provider mcd is registered with (see mcd.oidc)."""

from __future__ import annotations

from typing import Any

import grpc

from mc.api.v1 import auth_pb2, auth_pb2_grpc
from mc.errors import Conflict
from mcd import identity
from mcd.servicers.base import Base, unary


class AuthServicer(Base, auth_pb2_grpc.AuthServiceServicer):
    def _oidc(self) -> Any:
        if self.daemon.auth is None:
            raise Conflict("this mcd has no auth section: it serves its socket's owner only")
        return self.daemon.auth

    @unary
    def Login(self, request: auth_pb2.LoginRequest, context: grpc.ServicerContext) -> Any:
        url, state = self._oidc().login(request.redirect_uri)
        return auth_pb2.LoginResponse(authorization_url=url, state=state)

    @unary
    def Callback(self, request: auth_pb2.CallbackRequest, context: grpc.ServicerContext) -> Any:
        return _tokens(self._oidc().callback(request.code, request.state))

    @unary
    def Refresh(self, request: auth_pb2.RefreshRequest, context: grpc.ServicerContext) -> Any:
        return _tokens(self._oidc().refresh(request.refresh_token))

    @unary
    def Logout(self, request: auth_pb2.LogoutRequest, context: grpc.ServicerContext) -> Any:
        self._oidc().logout(request.refresh_token, request.access_token)
        return auth_pb2.LogoutResponse()

    @unary
    def StartDevice(self, request: auth_pb2.StartDeviceRequest, context: grpc.ServicerContext) -> Any:
        d = self._oidc().start_device()
        return auth_pb2.StartDeviceResponse(
            verification_uri=d["verification_uri"], verification_uri_complete=d.get("verification_uri_complete", ""),
            user_code=d["user_code"], device_code=d["device_code"], interval=int(d.get("interval") or 5),
            expires_in=int(d.get("expires_in") or 0))

    @unary
    def PollDevice(self, request: auth_pb2.PollDeviceRequest, context: grpc.ServicerContext) -> Any:
        return _tokens(self._oidc().poll_device(request.device_code))

    @unary
    def WhoAmI(self, request: auth_pb2.WhoAmIRequest, context: grpc.ServicerContext) -> Any:
        who = identity.current.get()
        return auth_pb2.WhoAmIResponse(user=who.user, admin=who.admin, expires_in=who.expires_in)


def _tokens(t: dict[str, Any]) -> auth_pb2.TokenResponse:
    return auth_pb2.TokenResponse(access_token=t.get("access_token", ""), refresh_token=t.get("refresh_token") or "",
                                  expires_in=int(t.get("expires_in") or 0), id_token=t.get("id_token") or "",
                                  user=t.get("user") or "")
