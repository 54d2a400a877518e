"""RemoteBackend: the Backend interface again, over gRPC to an mcd (which runs a LocalBackend)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import grpc

from mc.api.v1 import (
    auth_pb2_grpc,
    common_pb2,
    driver_pb2,
    driver_pb2_grpc,
    project_pb2,
    project_pb2_grpc,
    session_pb2,
    session_pb2_grpc,
)
from mc.engine.models import DriverInfo, Session, SessionSpec
from mc.errors import InvalidArgument, McError, NotFound
from mc.remote import convert
from mc.remote.channel import open_channel
from mc.remote.status import from_status

T = TypeVar("T")
UNARY_TIMEOUT = 60.0
SLOW_TIMEOUT = 1800.0  # create may build a driver image; wait_ready may clone a big repository


def _call(fn: Callable[..., T]) -> Callable[..., T]:
    """gRPC errors back into the same typed errors local mode raises."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except grpc.RpcError as exc:
            raise from_status(exc.code(), exc.details() or "") from None

    return wrapper


class _Messages:
    AttachRequest = session_pb2.AttachRequest
    TerminalSize = common_pb2.TerminalSize
    Signal = session_pb2.Signal


class RemoteBackend:
    def __init__(self, name: str, url: str, ca_cert: str = "",
                 token: Callable[[], str] | None = None) -> None:
        self.name = name
        self.url = url
        self.channel = open_channel(url, ca_cert)
        self.sessions = session_pb2_grpc.SessionServiceStub(self.channel)
        self.driver_stub = driver_pb2_grpc.DriverServiceStub(self.channel)
        self.project_stub = project_pb2_grpc.ProjectServiceStub(self.channel)
        self.auth = auth_pb2_grpc.AuthServiceStub(self.channel)
        self._token = token

    @classmethod
    def from_config(cls, config: Any, name: str) -> RemoteBackend:
        endpoint = config.endpoints().get(name)
        if not endpoint:
            known = ", ".join(config.endpoints()) or "none"
            raise NotFound(f"no remote '{name}' (configured: {known}; add one with mc remote add)")
        from mc.auth.tokens import token_provider

        backend = cls(name, str(endpoint.get("url", "")), str(endpoint.get("ca_cert") or ""))
        backend._token = token_provider(name, endpoint, refresh=backend.refresh_tokens)
        return backend

    def refresh_tokens(self, refresh_token: str) -> dict[str, Any]:
        """AuthService.Refresh (the provider may rotate the refresh token)."""
        from mc.api.v1 import auth_pb2
        from mc.auth.login import _rpc, tokens_dict

        return tokens_dict(_rpc(self.auth.Refresh, auth_pb2.RefreshRequest(refresh_token=refresh_token)))

    def _meta(self) -> list[tuple[str, str]]:
        token = self._token() if self._token else ""
        return [("authorization", f"Bearer {token}")] if token else []

    # -- sessions -------------------------------------------------------------------------------
    @_call
    def create(self, spec: SessionSpec, *, quiet: bool = False) -> Session:
        if spec.mount or spec.volumes:
            raise InvalidArgument("a local directory cannot be mounted into a remote session; use a project URL")
        if not quiet:
            sys.stderr.write(f"mc: creating the session on {self.name} (a first use builds the driver there)\n")
        resp = self.sessions.Create(session_pb2.CreateRequest(spec=convert.spec_to_pb(spec)), timeout=SLOW_TIMEOUT,
                                    metadata=self._meta())
        return convert.session_from_pb(resp.session)

    @_call
    def list(self) -> list[Session]:
        resp = self.sessions.List(session_pb2.ListRequest(), timeout=UNARY_TIMEOUT, metadata=self._meta())
        return [convert.session_from_pb(s) for s in resp.sessions]

    @_call
    def get(self, ref: str) -> Session:
        resp = self.sessions.Get(session_pb2.GetRequest(session=ref), timeout=UNARY_TIMEOUT, metadata=self._meta())
        return convert.session_from_pb(resp.session)

    @_call
    def close(self, refs: list[str], *, kill: bool = False) -> list[Session]:
        resp = self.sessions.Close(session_pb2.CloseRequest(sessions=refs, kill=kill), timeout=UNARY_TIMEOUT,
                                   metadata=self._meta())
        return [convert.session_from_pb(s) for s in resp.sessions]

    @_call
    def close_all(self, *, kill: bool = False) -> list[Session]:
        resp = self.sessions.Close(session_pb2.CloseRequest(all=True, kill=kill), timeout=UNARY_TIMEOUT,
                                   metadata=self._meta())
        return [convert.session_from_pb(s) for s in resp.sessions]

    @_call
    def wait_ready(self, ref: str) -> Session:
        resp = self.sessions.WaitReady(session_pb2.WaitReadyRequest(session=ref), timeout=SLOW_TIMEOUT,
                                       metadata=self._meta())
        return convert.session_from_pb(resp.session)

    def logs(self, ref: str, *, follow: bool = False, tail: int | None = None) -> Iterator[bytes]:
        request = session_pb2.LogsRequest(session=ref, follow=follow)
        if tail is not None:
            request.tail = tail
        call = self.sessions.Logs(request, metadata=self._meta())
        try:
            for chunk in call:
                yield chunk.data
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                raise from_status(exc.code(), exc.details() or "") from None
        finally:
            call.cancel()

    # -- attach ---------------------------------------------------------------------------------
    def _attach(self, ref: str, command: list[str], *, tty: bool, interactive: bool) -> int:
        from mc.term.attach import run_attach
        from mc.term.size import terminal_size

        init = session_pb2.AttachInit(session=ref, command=command, tty=tty, interactive=interactive)
        size = terminal_size() if tty else None
        if size:
            init.size.CopyFrom(common_pb2.TerminalSize(rows=size[0], cols=size[1]))

        def open_stream(requests: Iterator[Any]) -> Iterator[Any]:
            return self.sessions.Attach(requests, metadata=self._meta())

        def detached() -> None:
            sys.stderr.write(f"\r\ndetached from session {ref} (mc -r {self.name} session connect {ref})\n")

        try:
            return run_attach(open_stream, _Messages, init, tty=tty, interactive=interactive, on_detach=detached)
        except grpc.RpcError as exc:
            raise from_status(exc.code(), exc.details() or "") from None

    def exec(self, ref: str, command: list[str], *, tty: bool, interactive: bool) -> int:
        return self._attach(ref, command, tty=tty, interactive=interactive)

    def connect(self, ref: str) -> int:
        tty = sys.stdin.isatty() and sys.stdout.isatty()
        return self._attach(ref, [], tty=tty, interactive=True)

    def run(self, ref: str, command: str) -> int:
        return self._attach(ref, ["bash", "-lc", command], tty=False, interactive=False)

    # -- drivers --------------------------------------------------------------------------------
    @_call
    def drivers(self) -> list[DriverInfo]:
        resp = self.driver_stub.List(driver_pb2.ListDriversRequest(), timeout=UNARY_TIMEOUT, metadata=self._meta())
        return [convert.driver_from_pb(d) for d in resp.drivers]

    @_call
    def driver(self, name: str) -> DriverInfo:
        resp = self.driver_stub.Get(driver_pb2.GetDriverRequest(name=name), timeout=UNARY_TIMEOUT,
                                    metadata=self._meta())
        return convert.driver_from_pb(resp.driver)

    def build_driver(self, name: str, *, no_cache: bool = False, quiet: bool = False) -> str:
        raise McError("drivers are built by the server on first use; mc driver build works in local mode")

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
                    username: str = "", replace: bool = False) -> Any:
        creds = self._credentials(ssh_key, token, username)
        if replace:
            resp = self.project_stub.Update(project_pb2.UpdateProjectRequest(url=url, name=name, credentials=creds),
                                            timeout=UNARY_TIMEOUT, metadata=self._meta())
        else:
            resp = self.project_stub.Add(project_pb2.AddProjectRequest(url=url, name=name, credentials=creds),
                                         timeout=UNARY_TIMEOUT, metadata=self._meta())
        return convert.project_from_pb(resp.project)

    @_call
    def project_list(self) -> list[Any]:
        resp = self.project_stub.List(project_pb2.ListProjectsRequest(), timeout=UNARY_TIMEOUT,
                                      metadata=self._meta())
        return [convert.project_from_pb(p) for p in resp.projects]

    @_call
    def project_get(self, url: str) -> Any:
        resp = self.project_stub.Get(project_pb2.GetProjectRequest(url=url), timeout=UNARY_TIMEOUT,
                                     metadata=self._meta())
        return convert.project_from_pb(resp.project)

    @_call
    def project_remove(self, url: str) -> Any:
        resp = self.project_stub.Remove(project_pb2.RemoveProjectRequest(url=url), timeout=UNARY_TIMEOUT,
                                        metadata=self._meta())
        return convert.project_from_pb(resp.project)

    def close_channel(self) -> None:
        self.channel.close()
