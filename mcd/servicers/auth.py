"""AuthService: the login flow through the OIDC provider mcd is registered with (see mcd.oidc)."""

from __future__ import annotations

from typing import Any

import grpc

from mc.api.v1 import auth_pb2, auth_pb2_grpc
from mc.errors import Conflict
from mcd import identity
from mcd.interceptor import note
from mcd.oidc import Authenticator
from mcd.servicers.base import unary


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    def __init__(self, auth: Authenticator | None) -> None:
        self.auth = auth

    def _oidc(self) -> Authenticator:
        if self.auth is None:
            raise Conflict("this mcd has no auth section: it serves its socket's owner only")
        return self.auth

    @unary
    def Login(self, request: auth_pb2.LoginRequest, context: grpc.ServicerContext) -> auth_pb2.LoginResponse:
        url, state = self._oidc().login(request.redirect_uri)
        return auth_pb2.LoginResponse(authorization_url=url, state=state)

    @unary
    def Callback(self, request: auth_pb2.CallbackRequest, context: grpc.ServicerContext) -> auth_pb2.TokenResponse:
        tokens = self._oidc().callback(request.code, request.state)
        note(str(tokens.get("user") or ""), "login")
        return _tokens(tokens)

    @unary
    def Refresh(self, request: auth_pb2.RefreshRequest, context: grpc.ServicerContext) -> auth_pb2.TokenResponse:
        return _tokens(self._oidc().refresh(request.refresh_token))

    @unary
    def Logout(self, request: auth_pb2.LogoutRequest, context: grpc.ServicerContext) -> auth_pb2.LogoutResponse:
        self._oidc().logout(request.refresh_token, request.access_token)
        return auth_pb2.LogoutResponse()

    @unary
    def StartDevice(self, request: auth_pb2.StartDeviceRequest,
                    context: grpc.ServicerContext) -> auth_pb2.StartDeviceResponse:
        d = self._oidc().start_device()
        return auth_pb2.StartDeviceResponse(
            verification_uri=str(d["verification_uri"]),
            verification_uri_complete=str(d.get("verification_uri_complete") or ""),
            user_code=str(d["user_code"]), device_code=str(d["device_code"]), interval=int(d.get("interval") or 5),
            expires_in=int(d.get("expires_in") or 0))

    @unary
    def PollDevice(self, request: auth_pb2.PollDeviceRequest,
                   context: grpc.ServicerContext) -> auth_pb2.PollDeviceResponse:
        try:
            tokens = self._oidc().poll_device(request.device_code)
        except Conflict as exc:
            status = auth_pb2.DEVICE_STATUS_SLOW_DOWN if str(exc) == "slow_down" else auth_pb2.DEVICE_STATUS_PENDING
            return auth_pb2.PollDeviceResponse(status=status)
        note(str(tokens.get("user") or ""), "device login")
        return auth_pb2.PollDeviceResponse(status=auth_pb2.DEVICE_STATUS_DONE, tokens=_tokens(tokens))

    @unary
    def WhoAmI(self, request: auth_pb2.WhoAmIRequest, context: grpc.ServicerContext) -> auth_pb2.WhoAmIResponse:
        who = identity.current.get()
        return auth_pb2.WhoAmIResponse(user=who.user, admin=who.admin, expires_in=who.expires_in, name=who.display)


def _tokens(t: dict[str, Any]) -> auth_pb2.TokenResponse:
    return auth_pb2.TokenResponse(access_token=t.get("access_token", ""), refresh_token=t.get("refresh_token") or "",
                                  expires_in=int(t.get("expires_in") or 0), id_token=t.get("id_token") or "",
                                  user=t.get("user") or "")
