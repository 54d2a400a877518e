"""RemoteBackend: the Backend interface again, over gRPC to an mcd (which runs a LocalBackend)."""

from __future__ import annotations

import builtins
import contextlib
import functools
import re
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import grpc

from mc.api.v1 import (
    common_pb2,
    driver_pb2,
    driver_pb2_grpc,
    mcp_pb2,
    mcp_pb2_grpc,
    project_pb2,
    project_pb2_grpc,
    session_pb2,
    session_pb2_grpc,
)
from mc.engine.backend import Backend, Progress, Warn
from mc.engine.models import (
    ConfigImport,
    DriverInfo,
    ExecResult,
    ProjectInfo,
    Session,
    SessionSpec,
    ShellInfo,
    TerminalFacts,
)
from mc.errors import InvalidArgument, McError, NotFound, PermissionDenied
from mc.remote import convert
from mc.remote.auth import RemoteAuth, WhoAmI
from mc.remote.channel import open_channel
from mc.remote.status import from_status

if TYPE_CHECKING:
    from mc.config.store import Config
    from mc.engine.forward import Tunnel
    from mc.mcp.servers import McpServer
    from mc.term.attach import AttachInput, AttachOutput

T = TypeVar("T")
UNARY_TIMEOUT = 60.0
SLOW_TIMEOUT = 1800.0  # create may build a driver image; wait_ready may clone a big repository
_EXPIRED = re.compile(r"token expired", re.IGNORECASE)


def _call(fn: Callable[..., T]) -> Callable[..., T]:
    """gRPC errors back into the same typed errors local mode raises."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except grpc.RpcError as exc:
            raise from_status(exc.code(), exc.details() or "") from None

    return wrapper


class RemoteBackend:
    def __init__(self, name: str, url: str, ca_cert: str = "", token: Callable[[], str] | None = None) -> None:
        self.name = name
        self.url = url
        self.channel = open_channel(url, ca_cert)
        self.session_stub = session_pb2_grpc.SessionServiceStub(self.channel)
        self.driver_stub = driver_pb2_grpc.DriverServiceStub(self.channel)
        self.project_stub = project_pb2_grpc.ProjectServiceStub(self.channel)
        self.mcp_stub = mcp_pb2_grpc.McpServiceStub(self.channel)
        self.auth = RemoteAuth(self.channel)
        self._token = token

    @classmethod
    def from_config(cls, config: Config, name: str) -> RemoteBackend:
        endpoint = config.endpoints().get(name)
        if not endpoint:
            known = ", ".join(config.endpoints()) or "none"
            raise NotFound(f"no remote '{name}' (configured: {known}; add one with mc remote add)")
        from mc.auth.tokens import token_provider

        backend = cls(name, str(endpoint.get("url", "")), str(endpoint.get("ca_cert") or ""))
        backend._token = token_provider(name, endpoint, refresh=backend.auth.refresh)
        return backend

    def _meta(self) -> list[tuple[str, str]]:
        token = self._token() if self._token else ""
        return [("authorization", f"Bearer {token}")] if token else []

    def _renew_every(self) -> float:
        """How often a long attach checks for a fresh token: often enough for the token's lifetime."""
        from mc.auth.tokens import TokenStore

        with contextlib.suppress(McError, OSError, ValueError):
            lifetime = float((TokenStore(self.name).load() or {}).get("lifetime") or 0)
            if lifetime:
                return max(1.0, min(30.0, lifetime / 4))
        return 30.0

    def whoami(self) -> WhoAmI:
        return self.auth.whoami(self._meta())

    # -- sessions -------------------------------------------------------------------------------
    @_call
    def create(self, spec: SessionSpec, *, progress: Progress | None = None, warn: Warn | None = None) -> Session:
        if spec.mount or spec.volumes:
            raise InvalidArgument("a local directory cannot be mounted into a remote session; use a project URL")
        resp = self.session_stub.Create(session_pb2.CreateRequest(spec=convert.spec_to_pb(spec)),
                                        timeout=SLOW_TIMEOUT, metadata=self._meta())
        if warn is not None:
            for warning in resp.warnings:
                warn(warning)
        return convert.session_from_pb(resp.session)

    @_call
    def sessions(self) -> builtins.list[Session]:
        resp = self.session_stub.List(session_pb2.ListRequest(), timeout=UNARY_TIMEOUT, metadata=self._meta())
        return [convert.session_from_pb(s) for s in resp.sessions]

    @_call
    def get(self, ref: str) -> Session:
        resp = self.session_stub.Get(session_pb2.GetRequest(session=ref), timeout=UNARY_TIMEOUT,
                                     metadata=self._meta())
        return convert.session_from_pb(resp.session)

    @_call
    def close(self, refs: builtins.list[str], *, kill: bool = False) -> builtins.list[Session]:
        resp = self.session_stub.Close(session_pb2.CloseRequest(sessions=refs, kill=kill), timeout=UNARY_TIMEOUT,
                                       metadata=self._meta())
        return [convert.session_from_pb(s) for s in resp.sessions]

    @_call
    def close_all(self, *, kill: bool = False) -> builtins.list[Session]:
        resp = self.session_stub.Close(session_pb2.CloseRequest(all=True, kill=kill), timeout=UNARY_TIMEOUT,
                                       metadata=self._meta())
        return [convert.session_from_pb(s) for s in resp.sessions]

    @_call
    def stop(self, refs: builtins.list[str]) -> builtins.list[Session]:
        resp = self.session_stub.Stop(session_pb2.StopRequest(sessions=refs), timeout=SLOW_TIMEOUT,
                                      metadata=self._meta())
        return [convert.session_from_pb(s) for s in resp.sessions]

    @_call
    def start(self, refs: builtins.list[str]) -> builtins.list[Session]:
        resp = self.session_stub.Start(session_pb2.StartRequest(sessions=refs), timeout=SLOW_TIMEOUT,
                                       metadata=self._meta())
        return [convert.session_from_pb(s) for s in resp.sessions]

    @_call
    def extend(self, ref: str, seconds: int) -> Session:
        if not 0 < seconds < 2**32:
            raise InvalidArgument(f"extend: expected 1s to 366d, got {seconds}s")
        resp = self.session_stub.Extend(session_pb2.ExtendRequest(session=ref, seconds=seconds),
                                        timeout=UNARY_TIMEOUT, metadata=self._meta())
        return convert.session_from_pb(resp.session)

    @_call
    def wait_ready(self, ref: str) -> Session:
        resp = self.session_stub.WaitReady(session_pb2.WaitReadyRequest(session=ref), timeout=SLOW_TIMEOUT,
                                           metadata=self._meta())
        return convert.session_from_pb(resp.session)

    def logs(self, ref: str, *, follow: bool = False, tail: int | None = None, egress: bool = False
             ) -> Iterator[bytes]:
        """The session's output. A followed stream that the server ends because the access token
        expired is resumed with a fresh token after the last line received (nothing twice)."""
        since = ""
        while True:
            request = session_pb2.LogsRequest(session=ref, follow=follow, since=since, egress=egress)
            if tail is not None and not since:
                request.tail = tail
            call = self.session_stub.Logs(request, metadata=self._meta())
            try:
                for chunk in call:
                    if chunk.timestamp:
                        since = chunk.timestamp
                    yield chunk.data
                return
            except grpc.RpcError as exc:
                code, details = exc.code(), exc.details() or ""
                if code == grpc.StatusCode.CANCELLED:
                    return
                if not (follow and code == grpc.StatusCode.UNAUTHENTICATED and _EXPIRED.search(details)):
                    raise from_status(code, details) from None
            finally:
                call.cancel()

    # -- attach ---------------------------------------------------------------------------------
    def _attach(self, ref: str, command: builtins.list[str], *, tty: bool, interactive: bool,
                terminal: TerminalFacts | None, end_session: bool = False, resume: str = "") -> ExecResult:
        from mc.term.attach import CloseStdin, Detach, Exited, Output, Reauth, Resize, Signal, Stdin, run_attach

        init = session_pb2.AttachInit(session=ref, command=command, tty=tty, interactive=interactive,
                                      end_session=end_session, term=terminal.term if terminal else "",
                                      resume=resume)
        if terminal and terminal.rows:
            init.size.CopyFrom(common_pb2.TerminalSize(rows=terminal.rows, cols=terminal.cols))

        def to_pb(event: AttachInput) -> session_pb2.AttachRequest:
            if isinstance(event, Stdin):
                return session_pb2.AttachRequest(stdin=event.data)
            if isinstance(event, Resize):
                return session_pb2.AttachRequest(resize=common_pb2.TerminalSize(rows=event.rows, cols=event.cols))
            if isinstance(event, Signal):
                return session_pb2.AttachRequest(signal=session_pb2.Signal(number=event.number))
            if isinstance(event, CloseStdin):
                return session_pb2.AttachRequest(close_stdin=True)
            if isinstance(event, Detach):
                return session_pb2.AttachRequest(detach=True)
            assert isinstance(event, Reauth)
            return session_pb2.AttachRequest(reauth=event.token)

        def open_stream(inputs: Iterator[AttachInput]) -> Iterator[AttachOutput]:
            def all_requests() -> Iterator[session_pb2.AttachRequest]:
                yield session_pb2.AttachRequest(init=init)
                yield from (to_pb(e) for e in inputs)

            for resp in self.session_stub.Attach(all_requests(), metadata=self._meta()):
                kind = resp.WhichOneof("kind")
                if kind == "exit":
                    yield Exited(resp.exit.code, resp.exit.detached)
                elif kind in ("stdout", "stderr"):
                    yield Output(kind, getattr(resp, kind))

        sent = [self._token() if self._token else ""]

        def renew() -> str | None:
            token = self._token() if self._token else ""
            if token and token != sent[0]:
                sent[0] = token
                return token
            return None

        try:
            return run_attach(open_stream, tty=tty, interactive=interactive, renew=renew if self._token else None,
                              renew_every=self._renew_every())
        except grpc.RpcError as exc:
            raise from_status(exc.code(), exc.details() or "") from None

    def open_port(self, ref: str, port: int) -> Tunnel:
        """One TCP connection to a port of the session, over a Forward stream of its own."""
        from mc.engine.forward import check_port

        check_port(port)
        return GrpcTunnel(self, ref, port)

    def exec(self, ref: str, command: builtins.list[str], *, tty: bool, interactive: bool,
             terminal: TerminalFacts | None = None, end_session: bool = False) -> ExecResult:
        return self._attach(ref, command, tty=tty, interactive=interactive, terminal=terminal,
                            end_session=end_session)

    def connect(self, ref: str, *, tty: bool, terminal: TerminalFacts | None = None, resume: str = "") -> ExecResult:
        return self._attach(ref, [], tty=tty, interactive=True, terminal=terminal, resume=resume)

    @_call
    def shells(self, ref: str) -> builtins.list[ShellInfo]:
        resp = self.session_stub.ListShells(session_pb2.ListShellsRequest(session=ref), timeout=UNARY_TIMEOUT,
                                            metadata=self._meta())
        return [ShellInfo(s.id, ref, float(s.started), float(s.waiting_since), s.grace_left) for s in resp.shells]

    def run(self, ref: str, command: str, *, end_session: bool = False) -> ExecResult:
        return self._attach(ref, ["bash", "-lc", command], tty=False, interactive=False, terminal=None,
                            end_session=end_session)

    def run_once(self, spec: SessionSpec, command: str, *, progress: Progress | None = None,
                 warn: Warn | None = None) -> ExecResult:
        """Create, then run with ``end_session``: mcd removes the session when the command ends,
        or when this client goes away at any step."""
        from dataclasses import replace

        session = self.create(replace(spec, remove_on_exit=True), progress=progress, warn=warn)
        try:
            return self.run(session.id, command, end_session=True)
        except McError:
            with contextlib.suppress(McError):
                self.close([session.id], kill=True)
            raise

    # -- drivers --------------------------------------------------------------------------------
    @_call
    def drivers(self) -> builtins.list[DriverInfo]:
        resp = self.driver_stub.List(driver_pb2.ListDriversRequest(), timeout=UNARY_TIMEOUT, metadata=self._meta())
        return [convert.driver_from_pb(d) for d in resp.drivers]

    @_call
    def driver(self, name: str) -> DriverInfo:
        resp = self.driver_stub.Get(driver_pb2.GetDriverRequest(name=name), timeout=UNARY_TIMEOUT,
                                    metadata=self._meta())
        return convert.driver_from_pb(resp.driver)

    def build_driver(self, name: str, *, no_cache: bool = False, progress: Progress | None = None) -> str:
        raise PermissionDenied("drivers are built by the server on first use; mc driver build works in local mode")

    def push_driver(self, name: str, ref: str, *, progress: Progress | None = None) -> str:
        raise PermissionDenied("drivers are pushed from a machine that builds them (local mode)")

    def pull_driver(self, ref: str, name: str = "", *, progress: Progress | None = None) -> DriverInfo:
        raise PermissionDenied("a server's drivers are its operator's (mcd's drivers: in its config)")

    @_call
    def config_import(self, driver: str, archive: bytes, *, project: str = "", mount: str = "") -> ConfigImport:
        if mount or not project:
            raise InvalidArgument("a remote keeps configuration per project: give --project URL")
        resp = self.driver_stub.ImportConfig(
            driver_pb2.ImportConfigRequest(driver=driver, project=project, archive=archive),
            timeout=UNARY_TIMEOUT * 4, metadata=self._meta())
        return ConfigImport(driver, resp.project, resp.files, resp.size)

    def prune_images(self) -> builtins.list[str]:
        raise PermissionDenied("mc driver prune works on the local engine; the server manages its own images")

    # -- projects -------------------------------------------------------------------------------
    @staticmethod
    def _credentials(ssh_key: bytes | None, token: str | None, username: str) -> project_pb2.Credentials | None:
        if ssh_key is not None:
            return project_pb2.Credentials(ssh_private_key=ssh_key, username=username)
        if token is not None:
            return project_pb2.Credentials(token=token, username=username)
        return None

    @_call
    def project_add(self, url: str, *, ssh_key: bytes | None = None, token: str | None = None, name: str = "",
                    username: str = "", replace: bool = False) -> ProjectInfo:
        creds = self._credentials(ssh_key, token, username)
        if replace:
            resp = self.project_stub.Update(project_pb2.UpdateProjectRequest(url=url, name=name, credentials=creds),
                                            timeout=UNARY_TIMEOUT, metadata=self._meta())
        else:
            resp = self.project_stub.Add(project_pb2.AddProjectRequest(url=url, name=name, credentials=creds),
                                         timeout=UNARY_TIMEOUT, metadata=self._meta())
        return convert.project_from_pb(resp.project)

    @_call
    def project_list(self) -> builtins.list[ProjectInfo]:
        resp = self.project_stub.List(project_pb2.ListProjectsRequest(), timeout=UNARY_TIMEOUT,
                                      metadata=self._meta())
        return [convert.project_from_pb(p) for p in resp.projects]

    @_call
    def project_get(self, url: str) -> ProjectInfo:
        resp = self.project_stub.Get(project_pb2.GetProjectRequest(url=url), timeout=UNARY_TIMEOUT,
                                     metadata=self._meta())
        return convert.project_from_pb(resp.project)

    @_call
    def project_remove(self, url: str) -> ProjectInfo:
        resp = self.project_stub.Remove(project_pb2.RemoveProjectRequest(url=url), timeout=UNARY_TIMEOUT,
                                        metadata=self._meta())
        return convert.project_from_pb(resp.project)

    # -- MCP servers ----------------------------------------------------------------------------
    @_call
    def mcp_add(self, server: McpServer, *, replace: bool = False) -> McpServer:
        resp = self.mcp_stub.Add(mcp_pb2.AddMcpServerRequest(server=convert.mcp_to_pb(server), replace=replace),
                                 timeout=UNARY_TIMEOUT, metadata=self._meta())
        return convert.mcp_from_pb(resp.server)

    @_call
    def mcp_list(self) -> builtins.list[McpServer]:
        resp = self.mcp_stub.List(mcp_pb2.ListMcpServersRequest(), timeout=UNARY_TIMEOUT, metadata=self._meta())
        return [convert.mcp_from_pb(m) for m in resp.servers]

    @_call
    def mcp_get(self, name: str) -> McpServer:
        resp = self.mcp_stub.Get(mcp_pb2.GetMcpServerRequest(name=name), timeout=UNARY_TIMEOUT, metadata=self._meta())
        return convert.mcp_from_pb(resp.server)

    @_call
    def mcp_remove(self, name: str) -> McpServer:
        resp = self.mcp_stub.Remove(mcp_pb2.RemoveMcpServerRequest(name=name), timeout=UNARY_TIMEOUT,
                                    metadata=self._meta())
        return convert.mcp_from_pb(resp.server)

    def close_channel(self) -> None:
        self.channel.close()


class GrpcTunnel:
    """A Tunnel over one Forward stream (mc.engine.forward.Tunnel): requests go through a queue (a
    None ends them: the server then closes the session side for writing); a long connection
    renews its token like an attach does."""

    def __init__(self, backend: RemoteBackend, ref: str, port: int) -> None:
        import queue

        self._requests: queue.Queue[session_pb2.ForwardRequest | None] = queue.Queue()
        self._requests.put(session_pb2.ForwardRequest(open=session_pb2.ForwardOpen(session=ref, port=port)))
        self._backend = backend
        self._done = threading.Event()
        self._call = backend.session_stub.Forward(iter(self._requests.get, None), metadata=backend._meta())
        try:
            first = next(self._call)
        except grpc.RpcError as exc:
            self._done.set()
            raise from_status(exc.code(), exc.details() or "") from None
        except StopIteration:
            self._done.set()
            raise McError(f"session {ref}: port {port} did not open") from None
        if first.WhichOneof("kind") != "opened":
            self.close()
            raise McError(f"session {ref}: port {port} did not open")
        if backend._token:
            threading.Thread(target=self._renew, name="forward-renew", daemon=True).start()

    def _renew(self) -> None:
        sent = self._backend._token() if self._backend._token else ""
        every = self._backend._renew_every()
        while not self._done.wait(every):
            token = self._backend._token() if self._backend._token else ""
            if token and token != sent:
                sent = token
                self._requests.put(session_pb2.ForwardRequest(reauth=token))

    def send(self, data: bytes) -> None:
        from mc.engine.forward import CHUNK

        for i in range(0, len(data), CHUNK):
            self._requests.put(session_pb2.ForwardRequest(data=data[i:i + CHUNK]))

    def close_write(self) -> None:
        self._requests.put(None)

    def recv(self) -> bytes:
        try:
            resp = next(self._call)
        except (StopIteration, grpc.RpcError):
            self._done.set()
            return b""
        return resp.data

    def close(self) -> None:
        self._done.set()
        self._requests.put(None)
        self._call.cancel()


_: type[Backend] = RemoteBackend  # mypy checks the client against the protocol
