"""mcd's web app: the browser terminal and live logs (the spec's WebSocket terminal and log streaming).

One HTTPS listener (``server.web``) on mcd's certificate, served by aiohttp on an event loop of its
own thread; engine calls (blocking) run in its thread pool. A port of its own because grpc owns its
listening sockets: sharing the gRPC port would take a TLS/ALPN splitter in front of both.

Who may do what is gRPC's rule, reached the same way: the login's ``Identity`` -> ``Users.scope`` ->
the engine scoped to it, so bob's browser gets 403 for alice's session as his mc gets
PERMISSION_DENIED. Every WebSocket upgrade checks the login cookie, the session's owner and the
Origin header (no cross-site WebSocket hijacking); logout is a POST with the same Origin check. A
terminal is a resumable shell (``mc.engine.shells``): a reload or a dropped network resumes it, its
recent screen replayed. Streams count against the user's ``max_streams_per_user`` and end when the
login does.

WebSocket protocol (``/ws/terminal/SESSION``): binary frames are the terminal's bytes both ways; text
frames are JSON: from the page ``{"type": "init", "rows", "cols", "resume"}`` (first),
``{"type": "resize", "rows", "cols"}``, ``{"type": "detach"}``; from mcd ``{"type": "shell", "id",
"resumed"}``, ``{"type": "exit", "code"}``, ``{"type": "error", "message"}``. ``/ws/logs/SESSION``
sends the session's output (the last lines, then live) as binary frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import WSMsgType, web

from mc.engine.attach import clamp_size
from mc.errors import InvalidArgument, McError, NotFound, PermissionDenied, Unauthenticated
from mc.remote.status import to_status
from mcd.identity import Identity
from mcd.web.logins import COOKIE, LIFETIME, WebLogins

if TYPE_CHECKING:
    from mc.engine.local import LocalBackend
    from mc.engine.shells import Attachment, Shells
    from mcd.guard import StreamGuard
    from mcd.interceptor import Slots
    from mcd.sessions import TrackedSessions
    from mcd.users import Users

log = logging.getLogger("mcd")
T = TypeVar("T")

STATIC = Path(__file__).resolve().parent / "static"
STATE_COOKIE = "mc_login_state"
MAX_FRAME = 64 * 1024
LOG_TAIL = 500
RECHECK = 10.0  # seconds between checks that a stream's login still holds
_HTTP = {"NOT_FOUND": 404, "PERMISSION_DENIED": 403, "UNAUTHENTICATED": 401, "INVALID_ARGUMENT": 400,
         "FAILED_PRECONDITION": 409, "ALREADY_EXISTS": 409, "RESOURCE_EXHAUSTED": 429, "UNAVAILABLE": 503}
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
_SECURITY = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
                               "form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # (no-referrer would make a form post's Origin "null")
    "X-Frame-Options": "DENY",
}


class WebApp:
    def __init__(self, *, auth: Any, users: Users, sessions: TrackedSessions, shells: Shells, slots: Slots,
                 guard: StreamGuard, audit: Callable[..., None], url: str) -> None:
        self.auth = auth
        self.logins = WebLogins(auth)
        self.users = users
        self.sessions = sessions
        self.shells = shells
        self.slots = slots
        self.guard = guard
        self.audit = audit
        self.url = url
        self.callback = f"{url}/auth/callback"
        auth.web_redirect = self.callback
        self.pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="mcd-web")
        self.app = web.Application(middlewares=[self._headers], client_max_size=64 * 1024)
        self.app.on_shutdown.append(self._close_streams)
        self._streams: set[web.WebSocketResponse] = set()
        self.app.add_routes([
            web.get("/", self.index),
            web.get("/auth/login", self.login),
            web.get("/auth/callback", self.login_done),
            web.post("/auth/logout", self.logout),
            web.get("/api/me", self.me),
            web.get("/api/sessions", self.list_sessions),
            web.get("/api/sessions/{ref}", self.get_session),
            web.get("/ws/terminal/{ref}", self.terminal),
            web.get("/ws/logs/{ref}", self.logs),
            web.get("/static/{path:.+}", self.static),
        ])

    # -- plumbing ------------------------------------------------------------------------------
    async def _close_streams(self, app: web.Application) -> None:
        """mcd stops: every page's stream ends now (the page says it was disconnected); the shells end
        with mcd."""
        for ws in list(self._streams):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"mcd is stopping")

    async def _blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    @web.middleware
    async def _headers(self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                       ) -> web.StreamResponse:
        started = time.monotonic()
        try:
            resp = await handler(request)
        except McError as exc:
            code = _HTTP.get(to_status(exc).name, 500)
            resp = web.json_response({"error": str(exc)}, status=code)
        if not resp.prepared:
            resp.headers.update(_SECURITY)
        if not request.path.startswith("/static/"):  # one line per request, as for gRPC calls
            log.info(json.dumps({"web": request.path[:200], "method": request.method, "status": resp.status,
                                 "ms": round((time.monotonic() - started) * 1000, 1)}))
        return resp

    def _origin_ok(self, request: web.Request) -> bool:
        return secrets.compare_digest(request.headers.get("Origin", ""), self.url)

    async def _who(self, request: web.Request) -> tuple[str, Identity]:
        cookie = request.cookies.get(COOKIE, "")
        return cookie, await self._blocking(self.logins.identity, cookie)

    async def _engine(self, who: Identity) -> LocalBackend:
        scope = await self._blocking(self.users.scope, who)
        return self.sessions.engine.scoped(scope)

    async def _session(self, engine: LocalBackend, ref: str) -> Any:
        """The caller's session. Anything else, another's or none, is one answer: 403 (gRPC answers
        NOT_FOUND for both; neither tells that another user's session exists)."""
        try:
            return await self._blocking(engine.get, ref[:200])
        except NotFound:
            raise PermissionDenied(f"no session {ref[:64]} of yours to open") from None

    def _note(self, who: Identity, method: str, target: str, code: str = "OK", detail: str = "") -> None:
        try:
            self.audit(who.user, f"/web/{method}", target, code, detail)
        except Exception:  # auditing never fails a request
            log.exception("audit write failed")

    # -- pages and login -----------------------------------------------------------------------
    async def index(self, request: web.Request) -> web.StreamResponse:
        try:
            await self._who(request)
        except Unauthenticated:
            raise web.HTTPFound("/auth/login") from None
        return self._file(STATIC / "index.html", cache=False)

    async def login(self, request: web.Request) -> web.StreamResponse:
        url, state = await self._blocking(self.auth.login, self.callback)
        resp = web.HTTPFound(url)
        resp.set_cookie(STATE_COOKIE, state, max_age=600, path="/auth", secure=True, httponly=True, samesite="Lax")
        return resp

    async def login_done(self, request: web.Request) -> web.StreamResponse:
        state, code = request.query.get("state", ""), request.query.get("code", "")
        if request.query.get("error"):
            raise PermissionDenied(f"the identity provider refused the login: {request.query['error'][:80]}")
        if not state or not secrets.compare_digest(request.cookies.get(STATE_COOKIE, ""), state):
            raise InvalidArgument("this login was not started in this browser: start it again at /auth/login")
        tokens = await self._blocking(self.auth.callback, code, state)
        cookie, who = await self._blocking(self.logins.create, tokens)
        self._note(who, "Login", who.display)
        resp = web.HTTPFound("/")
        resp.del_cookie(STATE_COOKIE, path="/auth")
        resp.set_cookie(COOKIE, cookie, max_age=LIFETIME, path="/", secure=True, httponly=True, samesite="Lax")
        return resp

    async def logout(self, request: web.Request) -> web.StreamResponse:
        if not self._origin_ok(request):
            raise PermissionDenied("logout from another site refused")
        cookie = request.cookies.get(COOKIE, "")
        await self._blocking(self.logins.end, cookie)
        resp = web.Response(text="<!doctype html><title>mc</title><p>Logged out. <a href='/'>Log in again</a>",
                            content_type="text/html")
        resp.del_cookie(COOKIE, path="/")
        return resp

    async def static(self, request: web.Request) -> web.StreamResponse:
        path = (STATIC / request.match_info["path"]).resolve()
        if not path.is_relative_to(STATIC) or not path.is_file() or path.suffix not in _TYPES:
            raise NotFound("no such file")
        return self._file(path, cache=path.is_relative_to(STATIC / "vendor"))

    def _file(self, path: Path, cache: bool) -> web.StreamResponse:
        resp = web.FileResponse(path, headers={
            "Content-Type": _TYPES[path.suffix],
            "Cache-Control": "public, max-age=86400" if cache else "no-cache",
        })
        return resp

    # -- JSON ----------------------------------------------------------------------------------
    async def me(self, request: web.Request) -> web.StreamResponse:
        _, who = await self._who(request)
        return web.json_response({"user": who.display, "admin": who.admin})

    async def list_sessions(self, request: web.Request) -> web.StreamResponse:
        _, who = await self._who(request)
        scope = await self._blocking(self.users.scope, who)
        found = await self._blocking(self.sessions.sessions, scope)
        return web.json_response([_summary(s) for s in found])

    async def get_session(self, request: web.Request) -> web.StreamResponse:
        _, who = await self._who(request)
        engine = await self._engine(who)
        session = await self._session(engine, request.match_info["ref"])
        return web.json_response(_summary(session))

    # -- streams -------------------------------------------------------------------------------
    async def _stream_start(self, request: web.Request) -> tuple[str, Identity, Any, Callable[[], None]]:
        """The checks of every WebSocket upgrade: origin, login, the session's owner, room."""
        if not self._origin_ok(request):
            raise PermissionDenied("a WebSocket from another site (Origin) is refused")
        cookie, who = await self._who(request)
        engine = await self._engine(who)
        session = await self._session(engine, request.match_info["ref"])
        taken = self.slots.take("auth", who.user, "stream")
        if isinstance(taken, str):
            raise McError(taken)
        return cookie, who, (engine, session), taken

    async def terminal(self, request: web.Request) -> web.StreamResponse:
        cookie, who, (engine, session), release = await self._stream_start(request)
        ws = web.WebSocketResponse(heartbeat=20, max_msg_size=MAX_FRAME)
        self._streams.add(ws)
        try:
            await ws.prepare(request)
            await self._terminal(ws, cookie, who, engine, session)
        finally:
            self._streams.discard(ws)
            release()
        return ws

    async def _terminal(self, ws: web.WebSocketResponse, cookie: str, who: Identity, engine: Any, session: Any) -> None:
        loop = asyncio.get_running_loop()
        try:
            first = await ws.receive_json(timeout=30)
            size = clamp_size(int(first.get("rows") or 24), int(first.get("cols") or 80))
            resume = str(first.get("resume") or "")[:64]
        except (TimeoutError, TypeError, ValueError):
            await ws.close(message=b"the first message must be init")
            return
        try:
            att = await self._blocking(self._open_shell, engine, session, who, size, resume)
        except McError as exc:
            await ws.send_json({"type": "error", "message": str(exc)})
            await ws.close()
            return
        self._note(who, "Attach", session.id, detail="connect" + (" resumed" if att.resumed else ""))
        await ws.send_json({"type": "shell", "id": att.id, "resumed": att.resumed})
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mcd-web-input")  # keystrokes in order
        watch = self.guard.watch(who, lambda: loop.call_soon_threadsafe(lambda: asyncio.ensure_future(ws.close())))
        output = loop.run_in_executor(self.pool, self._pump_output, att, ws, loop)
        recheck = asyncio.ensure_future(self._recheck(cookie, watch))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    await loop.run_in_executor(writer, att.write, msg.data)
                elif msg.type == WSMsgType.TEXT and not self._control(att, msg.data):
                    break
        finally:
            recheck.cancel()
            watch.close()
            if not att.detached:
                await loop.run_in_executor(writer, att.kill)  # a dropped page: the shell waits for it
            writer.shutdown(wait=False)
            with contextlib.suppress(Exception):
                await output
            await ws.close()

    def _open_shell(self, engine: Any, session: Any, who: Identity, size: tuple[int, int], resume: str) -> Attachment:
        if resume:
            with contextlib.suppress(NotFound):  # ended meanwhile: a new one
                return self.shells.resume(resume, session.id, who.user, size)
        return self.shells.connect(engine, session.id, who.user, size, "xterm-256color")

    @staticmethod
    def _control(att: Attachment, text: str) -> bool:
        """A control message from the page; False when it ends the stream."""
        try:
            msg = json.loads(text)
            kind = msg.get("type")
        except (ValueError, AttributeError):
            return True
        if kind == "resize":
            with contextlib.suppress(TypeError, ValueError):
                att.resize(*clamp_size(int(msg["rows"]), int(msg["cols"])))
        elif kind == "detach":
            att.detach()
            return False
        return True

    @staticmethod
    def _pump_output(att: Attachment, ws: web.WebSocketResponse, loop: asyncio.AbstractEventLoop) -> None:
        """The shell's output to the page (a thread: the attachment blocks), then how it ended."""
        def send(coro: Coroutine[Any, Any, object]) -> None:
            asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=60)

        try:
            for _, chunk in att.output():
                send(ws.send_bytes(chunk))
            code = att.wait()
            if att.taken_over:
                send(ws.send_json({"type": "error", "message": f"shell {att.id} was resumed elsewhere"}))
            else:
                send(ws.send_json({"type": "exit", "code": 0 if att.detached else code, "detached": att.detached}))
            send(ws.close())
        except Exception:  # the page went away: the input side ends the rest
            return

    async def _recheck(self, cookie: str, watch: Any) -> None:
        """The login still holds (refreshed with the provider as needed); else the stream ends."""
        while True:
            await asyncio.sleep(RECHECK)
            try:
                watch.renew(await self._blocking(self.logins.identity, cookie))
            except McError:
                watch.stop("the login ended")
                return

    async def logs(self, request: web.Request) -> web.StreamResponse:
        cookie, who, (engine, session), release = await self._stream_start(request)
        ws = web.WebSocketResponse(heartbeat=20, max_msg_size=MAX_FRAME)
        loop = asyncio.get_running_loop()
        stream = None
        self._streams.add(ws)
        try:
            await ws.prepare(request)
            self._note(who, "Logs", session.id, detail="follow")
            stream = await self._blocking(lambda: engine.logs(session.id, follow=True, tail=LOG_TAIL))
            watch = self.guard.watch(who, stream.close)
            recheck = asyncio.ensure_future(self._recheck(cookie, watch))

            def pump() -> None:
                with contextlib.suppress(Exception):
                    for chunk in stream:
                        asyncio.run_coroutine_threadsafe(ws.send_bytes(chunk), loop).result(timeout=60)
                asyncio.run_coroutine_threadsafe(ws.close(), loop)

            output = loop.run_in_executor(self.pool, pump)
            try:
                async for _ in ws:  # nothing expected from the page; its close ends the stream
                    pass
            finally:
                recheck.cancel()
                watch.close()
                stream.close()
                with contextlib.suppress(Exception):
                    await output
        finally:
            self._streams.discard(ws)
            release()
            if stream is not None:
                stream.close()
        return ws


def _summary(s: Any) -> dict[str, Any]:
    return {"id": s.id, "name": s.name, "status": s.status, "driver": s.driver, "project": s.project,
            "created": s.created}


class WebServer:
    """The web app on its listener, in a thread with its own event loop."""

    def __init__(self, app: WebApp, host: str, port: int, cert: str, key: str) -> None:
        self.webapp = app
        self.host, self.port = host or "0.0.0.0", port
        self.ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ssl.load_cert_chain(cert, key)
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.address = ""

    def start(self) -> None:
        started = threading.Event()
        failed: list[BaseException] = []

        async def up() -> None:
            self._runner = web.AppRunner(self.webapp.app, access_log=None, handle_signals=False, shutdown_timeout=5)
            await self._runner.setup()
            await web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl).start()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(up())
            except BaseException as exc:
                failed.append(exc)
                return
            finally:
                started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="mcd-web", daemon=True)
        self._thread.start()
        started.wait(30)
        if failed:
            raise failed[0]
        self.address = f"https://{self.host}:{self.port}"

    def stop(self) -> None:
        if self._thread is None:
            return

        async def down() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(down(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self.webapp.pool.shutdown(wait=False)
