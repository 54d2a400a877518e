"""Log in to a remote: the system browser with a loopback redirect (RFC 8252), or the device flow."""

from __future__ import annotations

import os
import sys
import threading
import time
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import grpc

from mc.api.v1 import auth_pb2
from mc.errors import McError, Unauthenticated, Unavailable
from mc.remote.status import from_status

LOGIN_TIMEOUT = 300


def _rpc(fn: Any, request: Any) -> Any:
    try:
        return fn(request, timeout=30)
    except grpc.RpcError as exc:
        raise from_status(exc.code(), exc.details() or "") from None


def tokens_dict(resp: auth_pb2.TokenResponse) -> dict[str, Any]:
    return {"access_token": resp.access_token, "refresh_token": resp.refresh_token, "expires_in": resp.expires_in,
            "id_token": resp.id_token, "user": resp.user}


def browser_login(auth_stub: Any) -> dict[str, Any]:
    """Authorization code + PKCE through mcd; the browser comes back to 127.0.0.1:PORT once."""
    result: dict[str, str] = {}
    arrived = threading.Event()
    state: list[str] = []  # the login's one-time state, known once mcd answered

    def expected_state() -> str | None:
        return state[0] if state else None

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlparse(self.path).query)
            if ("code" not in query and "error" not in query) or query.get("state", [""])[0] != expected_state():
                self.send_response(404)  # not the provider's answer to this login (any local page may try)
                self.end_headers()
                return
            result.update({k: v[0] for k, v in query.items()})
            ok = "code" in query
            self.send_response(200 if ok else 400)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            message = "mc is logged in. You can close this window." if ok else "Login failed; see your terminal."
            self.wfile.write(f"<html><body><p>{message}</p></body></html>".encode())
            arrived.set()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/callback"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        start = _rpc(auth_stub.Login, auth_pb2.LoginRequest(redirect_uri=redirect_uri))
        state.append(start.state)
        sys.stderr.write(f"Opening your browser to log in. If it does not open, visit:\n{start.authorization_url}\n")
        sys.stderr.flush()
        if os.environ.get("MC_AUTH_BROWSER", "") != "none":
            try:
                webbrowser.open(start.authorization_url)
            except Exception:
                pass
        if not arrived.wait(LOGIN_TIMEOUT):
            raise Unavailable(f"no login completed within {LOGIN_TIMEOUT}s")
    finally:
        server.shutdown()
        server.server_close()
    if "error" in result:
        from mc.term.text import printable

        reason = printable(result.get("error_description") or result["error"])[:200]
        raise Unauthenticated(f"login refused: {reason}")
    return tokens_dict(_rpc(auth_stub.Callback, auth_pb2.CallbackRequest(code=result["code"], state=result["state"])))


def device_login(auth_stub: Any) -> dict[str, Any]:
    """RFC 8628: show a URL and a code, poll at the provider's interval (+5 s on slow_down)."""
    start = _rpc(auth_stub.StartDevice, auth_pb2.StartDeviceRequest())
    sys.stderr.write(f"To log in, visit {start.verification_uri} and enter the code {start.user_code}\n")
    if start.verification_uri_complete:
        sys.stderr.write(f"(or open {start.verification_uri_complete})\n")
    sys.stderr.flush()
    interval = start.interval or 5
    deadline = time.monotonic() + (start.expires_in or 600)
    while time.monotonic() < deadline:
        time.sleep(interval)
        try:
            return tokens_dict(_rpc(auth_stub.PollDevice, auth_pb2.PollDeviceRequest(device_code=start.device_code)))
        except McError as exc:
            if str(exc) == "slow_down":
                interval += 5
            elif str(exc) != "authorization_pending":
                raise
    raise Unavailable("the device code expired before the login was approved")
