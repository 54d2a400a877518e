"""SessionService: thin adapter over the engine (LocalBackend) plus mcd's record of gone sessions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import grpc

from mc.api.v1 import session_pb2, session_pb2_grpc
from mc.engine.models import Session
from mc.errors import InvalidArgument, McError, NotFound
from mc.remote.convert import session_to_pb, spec_from_pb
from mcd.servicers.base import Base, streaming, unary


class SessionServicer(Base, session_pb2_grpc.SessionServiceServicer):
    @unary
    def Create(self, request: session_pb2.CreateRequest, context: grpc.ServicerContext) -> Any:
        engine = self.engine()
        spec = spec_from_pb(request.spec)
        spec.driver = spec.driver or self.daemon.config.default_driver
        session = engine.create(spec, quiet=True)
        self.daemon.db.upsert_session(session)
        return session_pb2.CreateResponse(session=session_to_pb(session))

    def _gone(self, engine: Any) -> list[Session]:
        rows = self.daemon.db.gone_sessions(None if engine._sees_all() else engine.owner)
        return [Session(id=r["id"], name=r["name"], driver=r["driver"], status="gone", project=r["project"],
                        created=r["created"], container=r["container"], owner=r["owner"]) for r in rows]

    def _find(self, engine: Any, ref: str) -> Session:
        try:
            return engine.get(ref)
        except NotFound:
            for s in self._gone(engine):
                if ref in (s.id, s.name) or s.id.startswith(ref):
                    return s
            raise

    @unary
    def List(self, request: session_pb2.ListRequest, context: grpc.ServicerContext) -> Any:
        engine = self.engine()
        sessions = engine.list() + self._gone(engine)
        return session_pb2.ListResponse(sessions=[session_to_pb(s) for s in sessions])

    @unary
    def Get(self, request: session_pb2.GetRequest, context: grpc.ServicerContext) -> Any:
        return session_pb2.GetResponse(session=session_to_pb(self._find(self.engine(), request.session)))

    @unary
    def Close(self, request: session_pb2.CloseRequest, context: grpc.ServicerContext) -> Any:
        engine = self.engine()
        if request.all:
            gone = self._gone(engine)
            closed = engine.close_all(kill=request.kill) + gone
        else:
            if not request.sessions:
                raise InvalidArgument("give session ids to close, or all")
            gone = {s.id: s for s in self._gone(engine)}
            live_refs, closed = [], []
            for ref in request.sessions:
                match = [s for s in gone.values() if ref in (s.id, s.name) or s.id.startswith(ref)]
                if len(match) == 1:
                    closed.append(match[0])
                else:
                    live_refs.append(ref)
            if live_refs:
                closed += engine.close(live_refs, kill=request.kill)
        for s in closed:
            self.daemon.db.forget(s.id)
        return session_pb2.CloseResponse(sessions=[session_to_pb(s) for s in closed])

    @unary
    def WaitReady(self, request: session_pb2.WaitReadyRequest, context: grpc.ServicerContext) -> Any:
        return session_pb2.WaitReadyResponse(session=session_to_pb(self.engine().wait_ready(request.session)))

    @streaming
    def Logs(self, request: session_pb2.LogsRequest, context: grpc.ServicerContext) -> Iterator[Any]:
        stream = self.engine().logs(request.session, follow=request.follow,
                                    tail=request.tail if request.HasField("tail") else None)
        context.add_callback(stream.close)  # a cancelled stream kills its docker child
        for chunk in stream:
            yield session_pb2.LogsResponse(data=chunk)

    def Attach(self, request_iterator: Iterator[session_pb2.AttachRequest],
               context: grpc.ServicerContext) -> Iterator[session_pb2.AttachResponse]:
        try:
            first = next(request_iterator)
        except StopIteration:
            return
        if first.WhichOneof("kind") != "init":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first Attach message must be init")
        init = first.init
        size = (init.size.rows, init.size.cols) if init.HasField("size") and init.size.rows else None
        try:
            proc = self.engine().open_attach(init.session, list(init.command), tty=init.tty,
                                             interactive=init.interactive, size=size)
        except McError as exc:
            from mc.remote.status import to_status

            context.abort(to_status(exc), str(exc))
        finished = threading.Event()

        def client_gone() -> None:  # runs on grpc's event thread: hand the slow part to a thread
            if not finished.is_set():
                threading.Thread(target=proc.kill, name="attach-kill", daemon=True).start()

        if not context.add_callback(client_gone):
            proc.kill()  # the client left before the command started
            return

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
                    elif kind == "detach":
                        proc.detach()
                        return
            except Exception:  # the client went away: the callback kills what is left
                return

        threading.Thread(target=pump, name="attach-input", daemon=True).start()
        for name, chunk in proc.output():
            yield session_pb2.AttachResponse(**{name: chunk})
        code = proc.wait()
        finished.set()
        yield session_pb2.AttachResponse(exit=session_pb2.Exit(code=0 if proc.detached else code,
                                                               detached=proc.detached))
