"""AuthService over the wire: the login flow's calls, with plain data in and out (mc.auth.login
drives them; the CLI never sees a protobuf)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc

from mc.api.v1 import auth_pb2, auth_pb2_grpc
from mc.remote.status import from_status

TIMEOUT = 30.0


@dataclass(frozen=True)
class DeviceStart:
    """The start of a device login."""

    verification_uri: str
    verification_uri_complete: str
    user_code: str
    device_code: str
    interval: int
    expires_in: int


@dataclass(frozen=True)
class WhoAmI:
    """Who the server says the caller is."""

    user: str  # the key mcd files this caller under (the token's subject)
    name: str  # for display
    admin: bool
    expires_in: int


def _tokens(resp: auth_pb2.TokenResponse) -> dict[str, Any]:
    return {"access_token": resp.access_token, "refresh_token": resp.refresh_token, "expires_in": resp.expires_in,
            "id_token": resp.id_token, "user": resp.user}


class RemoteAuth:
    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = auth_pb2_grpc.AuthServiceStub(channel)

    def _call(self, method: Any, request: Any, metadata: list[tuple[str, str]] | None = None) -> Any:
        try:
            return method(request, timeout=TIMEOUT, metadata=metadata or [])
        except grpc.RpcError as exc:
            raise from_status(exc.code(), exc.details() or "") from None

    def login(self, redirect_uri: str) -> tuple[str, str]:
        """(authorization URL to open, one-time state)."""
        resp = self._call(self.stub.Login, auth_pb2.LoginRequest(redirect_uri=redirect_uri))
        return resp.authorization_url, resp.state

    def callback(self, code: str, state: str) -> dict[str, Any]:
        return _tokens(self._call(self.stub.Callback, auth_pb2.CallbackRequest(code=code, state=state)))

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        return _tokens(self._call(self.stub.Refresh, auth_pb2.RefreshRequest(refresh_token=refresh_token)))

    def logout(self, refresh_token: str, access_token: str) -> None:
        self._call(self.stub.Logout, auth_pb2.LogoutRequest(refresh_token=refresh_token, access_token=access_token))

    def start_device(self) -> DeviceStart:
        r = self._call(self.stub.StartDevice, auth_pb2.StartDeviceRequest())
        return DeviceStart(r.verification_uri, r.verification_uri_complete, r.user_code, r.device_code,
                           r.interval or 5, r.expires_in or 600)

    def poll_device(self, device_code: str) -> tuple[str, dict[str, Any] | None]:
        """("pending" | "slow_down" | "done", the tokens when done)."""
        resp = self._call(self.stub.PollDevice, auth_pb2.PollDeviceRequest(device_code=device_code))
        if resp.status == auth_pb2.DEVICE_STATUS_DONE:
            return "done", _tokens(resp.tokens)
        return ("slow_down" if resp.status == auth_pb2.DEVICE_STATUS_SLOW_DOWN else "pending"), None

    def whoami(self, metadata: list[tuple[str, str]]) -> WhoAmI:
        r = self._call(self.stub.WhoAmI, auth_pb2.WhoAmIRequest(), metadata)
        return WhoAmI(r.user, r.name or r.user, r.admin, r.expires_in)
