"""SessionService: decode, one call of TrackedSessions (the engine plus mcd's records), encode.

The streams carry a little more: they are watched by the StreamGuard (ended when the caller's token
expires or is logged out, unless an attach renews it), their docker child is ended when the client
goes away, and an attach asked to ``end_session`` (create --rm --run) closes its session however the
stream ends.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator

import grpc

from mc.api.v1 import session_pb2, session_pb2_grpc
from mc.engine.attach import AttachProcess
from mc.engine.models import Session
from mc.engine.shells import Attachment, Shells
from mc.errors import McError
from mc.remote.convert import session_to_pb, spec_from_pb
from mc.remote.status import to_status
from mcd import identity
from mcd.guard import StreamGuard, Watch
from mcd.identity import Identity
from mcd.interceptor import note
from mcd.servicers.base import Scoped, streaming, unary
from mcd.sessions import TrackedSessions
from mcd.users import Users

_LINE_TS = re.compile(rb"^(\S+) ", re.MULTILINE)


class SessionServicer(Scoped, session_pb2_grpc.SessionServiceServicer):
    def __init__(self, sessions: TrackedSessions, users: Users, guard: StreamGuard,
                 verify: Callable[[str], Identity], shells: Shells) -> None:
        super().__init__(users)
        self.sessions = sessions
        self.guard = guard
        self.verify = verify
        self.shells = shells

    @unary
    def Create(self, request: session_pb2.CreateRequest, context: grpc.ServicerContext) -> session_pb2.CreateResponse:
        warnings: list[str] = []
        session = self.sessions.create(self.scope(), spec_from_pb(request.spec), still_wanted=context.is_active,
                                       warn=warnings.append)
        note(session.id, session.driver)
        return session_pb2.CreateResponse(session=session_to_pb(session), warnings=warnings)

    @unary
    def List(self, request: session_pb2.ListRequest, context: grpc.ServicerContext) -> session_pb2.ListResponse:
        return session_pb2.ListResponse(sessions=[session_to_pb(s) for s in self.sessions.sessions(self.scope())])

    @unary
    def Get(self, request: session_pb2.GetRequest, context: grpc.ServicerContext) -> session_pb2.GetResponse:
        session = self.sessions.get(self.scope(), request.session)
        note(session.id)
        return session_pb2.GetResponse(session=session_to_pb(session))

    @unary
    def Close(self, request: session_pb2.CloseRequest, context: grpc.ServicerContext) -> session_pb2.CloseResponse:
        scope = self.scope()
        if request.all:
            closed = self.sessions.close_all(scope, kill=request.kill)
        else:
            closed = self.sessions.close(scope, list(request.sessions), kill=request.kill)
        note(",".join(s.id for s in closed))
        return session_pb2.CloseResponse(sessions=[session_to_pb(s) for s in closed])

    @unary
    def Stop(self, request: session_pb2.StopRequest, context: grpc.ServicerContext) -> session_pb2.StopResponse:
        stopped = self.sessions.stop_sessions(self.scope(), list(request.sessions))
        note(",".join(s.id for s in stopped))
        return session_pb2.StopResponse(sessions=[session_to_pb(s) for s in stopped])

    @unary
    def Start(self, request: session_pb2.StartRequest, context: grpc.ServicerContext) -> session_pb2.StartResponse:
        started = self.sessions.start_sessions(self.scope(), list(request.sessions))
        note(",".join(s.id for s in started))
        return session_pb2.StartResponse(sessions=[session_to_pb(s) for s in started])

    @unary
    def Extend(self, request: session_pb2.ExtendRequest, context: grpc.ServicerContext) -> session_pb2.ExtendResponse:
        session = self.sessions.extend(self.scope(), request.session, request.seconds)
        note(session.id, f"deadline {session.deadline}")
        return session_pb2.ExtendResponse(session=session_to_pb(session))

    @unary
    def WaitReady(self, request: session_pb2.WaitReadyRequest,
                  context: grpc.ServicerContext) -> session_pb2.WaitReadyResponse:
        """Wait for the init; a caller that goes away ends the wait (and its --rm session)."""
        engine = self.sessions.engine.scoped(self.scope())
        try:
            session = engine.wait_ready(request.session, on_start=lambda proc: context.add_callback(proc.kill))
        finally:
            if not context.is_active():
                with contextlib.suppress(McError):
                    gone = engine.get(request.session)
                    if gone.remove_on_exit:
                        self.sessions.end(gone)
        note(session.id)
        return session_pb2.WaitReadyResponse(session=session_to_pb(session))

    @streaming
    def Logs(self, request: session_pb2.LogsRequest,
             context: grpc.ServicerContext) -> Iterator[session_pb2.LogsResponse]:
        scope = self.scope()
        engine = self.sessions.engine.scoped(scope)
        session = engine.get(request.session)
        note(session.id, "follow" if request.follow else "")
        stream = engine.logs(session.id, follow=request.follow, tail=request.tail if request.HasField("tail") else None,
                             since=request.since, timestamps=True, egress=request.egress)
        context.add_callback(stream.close)  # a cancelled stream kills its docker child
        watch = self.guard.watch(identity.current.get(), stream.close) if request.follow else None
        since_ns = _ns(request.since) if request.since else 0
        try:
            pending = b""
            for chunk in stream:
                data, pending, last = _strip_timestamps(pending + chunk, since_ns)
                if data or last:
                    yield session_pb2.LogsResponse(data=data, timestamp=last)
            if pending:
                data, _, last = _strip_timestamps(pending + b"\n", since_ns)
                yield session_pb2.LogsResponse(data=data[:-1] if data.endswith(b"\n") else data, timestamp=last)
        finally:
            if watch is not None:
                watch.close()
        if watch is not None and watch.reason:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, watch.reason)

    @unary
    def ListShells(self, request: session_pb2.ListShellsRequest,
                   context: grpc.ServicerContext) -> session_pb2.ListShellsResponse:
        session = self.sessions.engine.scoped(self.scope()).get(request.session)
        shells = self.shells.of(session.id, identity.current.get().user)
        return session_pb2.ListShellsResponse(shells=[
            session_pb2.Shell(id=s.id, started=int(s.started), waiting_since=int(s.waiting_since),
                              grace_left=s.grace_left) for s in shells])

    def Attach(self, request_iterator: Iterator[session_pb2.AttachRequest],
               context: grpc.ServicerContext) -> Iterator[session_pb2.AttachResponse]:
        try:
            first = next(request_iterator)
        except StopIteration:
            return
        if first.WhichOneof("kind") != "init":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first Attach message must be init")
        init = first.init
        scope = self.scope()
        engine = self.sessions.engine.scoped(scope)
        size = (init.size.rows, init.size.cols) if init.HasField("size") and init.size.rows else None
        shell = init.tty and not init.command and not init.end_session  # resumable
        if init.resume and not shell:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "resume is for a connect on a terminal")
        proc: AttachProcess | Attachment
        try:
            session = engine.get(init.session)
            if init.resume:
                proc = self.shells.resume(init.resume[:64], session.id, identity.current.get().user, size)
            elif shell:
                proc = self.shells.connect(engine, session.id, identity.current.get().user, size, init.term)
            else:
                proc = engine.open_attach(session.id, list(init.command), tty=init.tty, interactive=init.interactive,
                                          size=size, term=init.term)
        except McError as exc:
            context.abort(to_status(exc), str(exc))
        what = f"exec {init.command[0][:60]}" if init.command else "connect"  # never the arguments
        note(session.id, what, event=what.split()[0])
        trace = engine.trace(session, list(init.command), send_now=False)
        finished = threading.Event()
        ended = threading.Lock()

        def end() -> None:
            """Whatever ended the stream: nothing left running; an --rm session closed."""
            if not ended.acquire(blocking=False):
                return
            proc.kill()
            if init.end_session:
                self.sessions.end(session)

        def client_gone() -> None:  # runs on grpc's event thread: hand the slow part to a thread
            if not finished.is_set():
                threading.Thread(target=end, name="attach-end", daemon=True).start()

        if not context.add_callback(client_gone):
            end()  # the client left before the command started
            return
        watch = self.guard.watch(identity.current.get(), proc.kill)

        def renew(token: str) -> None:
            self._renew(watch, session, token)

        def pump() -> None:
            try:
                for req in request_iterator:
                    kind = req.WhichOneof("kind")
                    if kind == "stdin":
                        proc.write(req.stdin)
                    elif kind == "resize":
                        proc.resize(req.resize.rows, req.resize.cols)
                    elif kind == "signal":
                        proc.signal(req.signal.number)
                    elif kind == "close_stdin":
                        proc.close_stdin()
                    elif kind == "reauth":
                        renew(req.reauth)
                    elif kind == "detach":
                        proc.detach()
                        return
            except Exception:  # the client went away: the callback ends what is left
                return

        threading.Thread(target=pump, name="attach-input", daemon=True).start()
        code: int | None = None
        if isinstance(proc, Attachment):
            yield session_pb2.AttachResponse(shell=session_pb2.ShellStarted(id=proc.id, resumed=proc.resumed))
        try:
            for name, chunk in proc.output():
                if trace is not None:
                    trace.tail.add(chunk)
                yield (session_pb2.AttachResponse(stdout=chunk) if name == "stdout"
                       else session_pb2.AttachResponse(stderr=chunk))
            code = proc.wait()
        finally:
            watch.close()
            if trace is not None and code is None:
                trace.end(None, error=watch.reason or "the client went away")
        finished.set()
        if isinstance(proc, Attachment) and proc.taken_over:
            context.abort(grpc.StatusCode.ABORTED, f"shell {proc.id} was resumed from another connection")
        failed = None if proc.detached else engine.failed_start(session, code)
        if trace is not None:
            trace.end(code, detached=proc.detached, error=failed or watch.reason or "")
        if init.end_session and not proc.detached:
            self.sessions.end(session)
        if watch.reason:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, watch.reason)
        if failed:
            context.abort(grpc.StatusCode.INTERNAL, failed)  # what local mode raises: McError
        note(session.id, f"{what} exit {code}", exit_code=code)
        yield session_pb2.AttachResponse(exit=session_pb2.Exit(code=0 if proc.detached else code,
                                                               detached=proc.detached))


    def _renew(self, watch: Watch, session: Session, token: str) -> None:
        """A stream's fresh token: the same user, still allowed this session; else the stream ends."""
        try:
            who = self.verify(token)
        except McError:
            watch.stop("the renewed access token was refused")
            return
        if who.user != watch.who.user:
            watch.stop("a renewed token must be the same user's")
        elif not self.users.scope(who).sees(session):
            watch.stop("the renewed token no longer allows this session")
        else:
            watch.renew(who)

    def Forward(self, request_iterator: Iterator[session_pb2.ForwardRequest],
                context: grpc.ServicerContext) -> Iterator[session_pb2.ForwardResponse]:
        """One TCP connection to a port of the session (see mc.engine.forward)."""
        first = next(request_iterator, None)
        if first is None:
            return
        if first.WhichOneof("kind") != "open":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first Forward message must be open")
        engine = self.sessions.engine.scoped(self.scope())
        try:
            session = engine.get(first.open.session)
            tunnel = engine.open_port(session.id, first.open.port)
        except McError as exc:
            context.abort(to_status(exc), str(exc))
        note(session.id, f"port {first.open.port}", event="forward")
        ended = threading.Lock()

        def end() -> None:  # once, from whichever side ends first
            if ended.acquire(blocking=False):
                tunnel.close()

        if not context.add_callback(lambda: threading.Thread(target=end, name="forward-end", daemon=True).start()):
            end()
            return
        watch = self.guard.watch(identity.current.get(), end)

        def pump() -> None:
            try:
                for req in request_iterator:
                    kind = req.WhichOneof("kind")
                    if kind == "data":
                        tunnel.send(req.data)
                    elif kind == "close_write":
                        tunnel.close_write()
                    elif kind == "reauth":
                        self._renew(watch, session, req.reauth)
                tunnel.close_write()  # the client sends nothing more
            except Exception:  # the client went away: the callback ends the rest
                return

        threading.Thread(target=pump, name="forward-input", daemon=True).start()
        try:
            yield session_pb2.ForwardResponse(opened=True)
            while chunk := tunnel.recv():
                yield session_pb2.ForwardResponse(data=chunk)
        finally:
            watch.close()
            end()
        if watch.reason:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, watch.reason)


def _ns(timestamp: str) -> int:
    """RFC 3339 with up to nine fractional digits (as docker prints it) as nanoseconds since the epoch."""
    from datetime import datetime

    head, _, frac = timestamp.rstrip("Z").partition(".")
    seconds = int(datetime.fromisoformat(head + "+00:00").timestamp())
    return seconds * 1_000_000_000 + int((frac + "000000000")[:9])


def _strip_timestamps(data: bytes, after_ns: int) -> tuple[bytes, bytes, str]:
    """(complete lines without docker's timestamps, the incomplete rest, the last line's timestamp).
    Lines logged at or before ``after_ns`` (a resumed stream's overlap) are dropped."""
    end = data.rfind(b"\n") + 1
    complete, rest = data[:end], data[end:]
    if not complete:
        return b"", rest, ""
    stamps = _LINE_TS.findall(complete)
    last = stamps[-1].decode() if stamps else ""
    if after_ns:
        lines = complete.splitlines(keepends=True)
        kept = [ln for ln, ts in zip(lines, stamps, strict=False) if _safe_ns(ts) > after_ns]
        complete = b"".join(kept)
    return _LINE_TS.sub(b"", complete), rest, last


def _safe_ns(stamp: bytes) -> int:
    with contextlib.suppress(ValueError):
        return _ns(stamp.decode())
    return 0

