"""Every call passes here: who is calling, whether there is room for it, one log line, the audit.

Identity travels in a contextvar. grpc's sync server runs a unary handler inside ``call`` below,
but a streaming handler's generator later, on the same worker thread, as grpc pulls responses:
so the identity is set around the handler call and set again inside the generator.

Room: grpc's own ``maximum_concurrent_rpcs`` counts every call, health checks included, so idle
health watches from anyone could fill it. mcd counts instead: calls that need no token (the login
flow) have a small pool of their own, authenticated calls share ``max_concurrent_rpcs``, and each
user may hold at most ``max_streams_per_user`` long streams (attach, followed logs). Health checks
are not counted and not wrapped (Watch stays non-blocking: it holds no worker thread).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc

from mc.errors import McError
from mc.remote.status import to_status
from mcd import identity

log = logging.getLogger("mcd")

HEALTH = "/grpc.health.v1.Health/"
# Calls that need no token: the login flow itself (health checks are not intercepted at all).
OPEN_METHODS = {
    "/mc.api.v1.AuthService/Login", "/mc.api.v1.AuthService/Callback", "/mc.api.v1.AuthService/Refresh",
    "/mc.api.v1.AuthService/Logout", "/mc.api.v1.AuthService/StartDevice", "/mc.api.v1.AuthService/PollDevice",
}
STREAMS = {"/mc.api.v1.SessionService/Attach", "/mc.api.v1.SessionService/Logs"}
FORWARDS = {"/mc.api.v1.SessionService/Forward"}  # one stream per forwarded connection: a cap of their own
# What is written to the audit table (besides the log line every call gets).
AUDITED = {"Create", "Close", "Stop", "Start", "Extend", "WaitReady", "Attach", "Forward", "Logs", "Get", "Add",
           "Update", "Remove", "Callback", "PollDevice", "Logout"}


@dataclass
class Call:
    """What a servicer tells the audit about the call it handles (set through ``note``)."""

    target: str = ""
    detail: str = ""
    event: str = ""  # what the call was, when the method does not say (connect or exec)
    exit_code: int | None = None  # the exit code of what it ran


_call: contextvars.ContextVar[Call] = contextvars.ContextVar("mcd_call")


def note(target: str = "", detail: str = "", *, event: str = "", exit_code: int | None = None) -> None:
    """Name what this call acted on (a session id, a project id), and how it ended, for the audit."""
    call = _call.get(None)
    if call is not None:
        if target:
            call.target = target[:200]
        if detail:
            call.detail = detail[:200]
        if event:
            call.event = event[:40]
        if exit_code is not None:
            call.exit_code = exit_code


class Slots:
    """Room for calls: a shared budget for authenticated calls, a small one for the login flow, and
    a cap on each user's long streams. ``take`` answers at once (no waiting); ``release`` may be
    called more than once."""

    def __init__(self, total: int, open_calls: int, streams_per_user: int, forwards_per_user: int = 32) -> None:
        self.total, self.open_calls, self.streams_per_user = total, open_calls, streams_per_user
        self.forwards_per_user = forwards_per_user
        self._lock = threading.Lock()
        self._used = {"auth": 0, "open": 0}
        self._streams: dict[tuple[str, str], int] = {}

    def take(self, pool: str, user: str, stream: str = "") -> Callable[[], None] | str:
        """A release function, or why there is no room. ``stream``: "stream" (an attach, a followed
        log) or "forward" (a forwarded connection) counts against that cap of the user's."""
        key = (user, stream)
        with self._lock:
            limit = self.open_calls if pool == "open" else self.total
            if self._used[pool] >= limit:
                return "the server is busy: too many calls at once; try again shortly"
            if stream == "stream" and self._streams.get(key, 0) >= self.streams_per_user:
                return f"at most {self.streams_per_user} open attaches and followed logs per user"
            if stream == "forward" and self._streams.get(key, 0) >= self.forwards_per_user:
                return f"at most {self.forwards_per_user} forwarded connections at once per user"
            self._used[pool] += 1
            if stream:
                self._streams[key] = self._streams.get(key, 0) + 1
        done = [False]

        def release() -> None:
            with self._lock:
                if done[0]:
                    return
                done[0] = True
                self._used[pool] -= 1
                if stream:
                    left = self._streams[key] - 1
                    if left:
                        self._streams[key] = left
                    else:
                        del self._streams[key]

        return release

    def in_use(self) -> dict[str, int]:
        with self._lock:
            return {**self._used, "streams": sum(self._streams.values())}


class CallInterceptor(grpc.ServerInterceptor):
    """Authenticates every call, sets the caller's identity, keeps calls within their room, and
    logs one line per call (audited calls also get a row in the database)."""

    def __init__(self, authenticate: Callable[[str, dict[str, str]], identity.Identity],
                 audit: Callable[[str, str, str, str, str], None], slots: Slots,
                 forward: Callable[..., None] | None = None) -> None:
        self.authenticate = authenticate
        self.audit = audit
        self.slots = slots
        self.forward = forward  # audit events to a collector too (mcd.audit.AuditForward)

    def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        method = details.method
        if handler is None or method.startswith(HEALTH):
            return handler
        metadata = {k: v for k, v in (details.invocation_metadata or ()) if isinstance(v, str)}
        pool = "open" if method in OPEN_METHODS else "auth"
        stream = "stream" if method in STREAMS else "forward" if method in FORWARDS else ""

        def wrap(behavior: Callable[..., Any], streaming_response: bool) -> Callable[..., Any]:
            def call(request: Any, context: grpc.ServicerContext) -> Any:
                started = time.monotonic()
                who = identity.Identity("-")
                try:
                    who = self.authenticate(method, metadata)
                except McError as exc:
                    _log_call(method, "-", to_status(exc).name, started)
                    context.abort(to_status(exc), str(exc))
                taken = self.slots.take(pool, who.user, stream)
                if isinstance(taken, str):
                    _log_call(method, who.user, "RESOURCE_EXHAUSTED", started)
                    context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, taken)
                    return None
                release = taken
                context.add_callback(release)  # also when a stream is abandoned, not closed
                def serving() -> contextlib.AbstractContextManager[None]:
                    return self._serving(method, who, context, release, started)

                if not streaming_response:
                    with serving():
                        return behavior(request, context)

                def gen() -> Iterator[Any]:  # a stream runs when iterated, on grpc's thread
                    with serving():
                        yield from behavior(request, context)

                return gen()

            return call

        for kind, make, streaming in ((handler.unary_unary, grpc.unary_unary_rpc_method_handler, False),
                                      (handler.unary_stream, grpc.unary_stream_rpc_method_handler, True),
                                      (handler.stream_stream, grpc.stream_stream_rpc_method_handler, True),
                                      (handler.stream_unary, grpc.stream_unary_rpc_method_handler, False)):
            if kind:
                return make(wrap(kind, streaming), handler.request_deserializer, handler.response_serializer)
        return handler

    @contextlib.contextmanager
    def _serving(self, method: str, who: identity.Identity, context: grpc.ServicerContext,
                 release: Callable[[], None], started: float) -> Iterator[None]:
        """The caller's identity and call record set while the handler runs; then the slot freed
        and the call logged (and audited)."""
        info = Call()
        tokens = identity.current.set(who), _call.set(info)
        code = "OK"
        try:
            yield
        except Exception:
            code = "ERROR"
            raise
        finally:
            release()
            self._finish(method, who, info, _code(context, code), started)
            _call.reset(tokens[1])
            identity.current.reset(tokens[0])

    def _finish(self, method: str, who: identity.Identity, info: Call, code: str, started: float) -> None:
        _log_call(method, who.user, code, started, info.target)
        if method.rsplit("/", 1)[-1] in AUDITED:
            try:
                self.audit(who.user, method, info.target, code, info.detail)
                if self.forward is not None:
                    self.forward(who.user, method, info.target, code, info.detail, info.event, info.exit_code)
            except Exception:  # auditing never fails a call
                log.exception("audit write failed")


def _code(context: grpc.ServicerContext, default: str) -> str:
    try:
        code = context.code()
    except Exception:
        code = None
    return code.name if isinstance(code, grpc.StatusCode) else default


def _log_call(method: str, user: str, code: str, started: float, target: str = "") -> None:
    line: dict[str, Any] = {"method": method, "user": user, "code": code,
                            "ms": round((time.monotonic() - started) * 1000, 1)}
    if target:
        line["target"] = target
    log.info(json.dumps(line))
