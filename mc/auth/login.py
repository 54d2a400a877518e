"""Log in to a remote: the system browser with a loopback redirect (RFC 8252), or the device flow.

The flows talk to mcd through ``AuthFlow`` (mc.remote.auth implements it over gRPC)."""

from __future__ import annotations

import os
import sys
import threading
import time
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

from mc.errors import Unauthenticated, Unavailable
from mc.term.text import printable

LOGIN_TIMEOUT = 300


class DeviceStartLike(Protocol):
    @property
    def verification_uri(self) -> str: ...

    @property
    def verification_uri_complete(self) -> str: ...

    @property
    def user_code(self) -> str: ...

    @property
    def device_code(self) -> str: ...

    @property
    def interval(self) -> int: ...

    @property
    def expires_in(self) -> int: ...


class AuthFlow(Protocol):
    def login(self, redirect_uri: str) -> tuple[str, str]: ...

    def callback(self, code: str, state: str) -> dict[str, Any]: ...

    def start_device(self) -> DeviceStartLike: ...

    def poll_device(self, device_code: str) -> tuple[str, dict[str, Any] | None]: ...


def browser_login(auth: AuthFlow) -> dict[str, Any]:
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
        url, login_state = auth.login(redirect_uri)
        state.append(login_state)
        sys.stderr.write(f"Opening your browser to log in. If it does not open, visit:\n{url}\n")
        sys.stderr.flush()
        if os.environ.get("MC_AUTH_BROWSER", "") != "none":
            try:
                webbrowser.open(url)
            except Exception:
                pass
        if not arrived.wait(LOGIN_TIMEOUT):
            raise Unavailable(f"no login completed within {LOGIN_TIMEOUT}s")
    finally:
        server.shutdown()
        server.server_close()
    if "error" in result:
        reason = printable(result.get("error_description") or result["error"])[:200]
        raise Unauthenticated(f"login refused: {reason}")
    return auth.callback(result["code"], result["state"])


def device_login(auth: AuthFlow) -> dict[str, Any]:
    """RFC 8628: show a URL and a code, poll at the provider's interval (+5 s on slow_down)."""
    start = auth.start_device()
    sys.stderr.write(f"To log in, visit {start.verification_uri} and enter the code {start.user_code}\n")
    if start.verification_uri_complete:
        sys.stderr.write(f"(or open {start.verification_uri_complete})\n")
    sys.stderr.flush()
    interval = start.interval
    deadline = time.monotonic() + start.expires_in
    while time.monotonic() < deadline:
        time.sleep(interval)
        status, tokens = auth.poll_device(start.device_code)
        if tokens is not None:
            return tokens
        if status == "slow_down":
            interval += 5
    raise Unavailable("the device code expired before the login was approved")
