"""The daemon: builds its parts, listens, serves, drains.

Parts (each in its own module): the engine (mc.engine.LocalBackend, shared by every caller and
scoped per call), TrackedSessions (the gone records, reconcile, docker events), the database,
DatabaseProjects, Users (callers as engine scopes), the OIDC Authenticator, the StreamGuard, and
the CallInterceptor (identity, room, log line, audit). Health reflects readiness: NOT_SERVING until
the first reconcile, while the Docker engine cannot be reached, and during the drain after SIGTERM.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import signal
import stat
import threading
from concurrent import futures
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
from grpc_health.v1 import health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from mc.api.v1 import (
    auth_pb2,
    auth_pb2_grpc,
    driver_pb2,
    driver_pb2_grpc,
    mcp_pb2,
    mcp_pb2_grpc,
    project_pb2,
    project_pb2_grpc,
    session_pb2,
    session_pb2_grpc,
)
from mc.docker import Docker
from mc.engine.local import LocalBackend
from mc.engine.scope import Scope
from mc.engine.settings import EngineSettings, Limits
from mc.engine.shells import Shells
from mc.errors import Unauthenticated, Unavailable
from mcd import identity
from mcd.config import ServiceConfig
from mcd.guard import StreamGuard
from mcd.health import NOT_SERVING, SERVING, Health
from mcd.health import SERVICE_NAME as HEALTH_SERVICE
from mcd.interceptor import OPEN_METHODS, CallInterceptor, Slots
from mcd.projects import DatabaseConfigs, DatabaseMcps, DatabaseProjects
from mcd.sessions import TrackedSessions
from mcd.store.db import Database

if TYPE_CHECKING:
    from mcd.audit import AuditForward
    from mcd.web.app import WebServer
from mcd.users import Users

log = logging.getLogger("mcd")

OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),  # ping idle connections: an idle attach lives for hours
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", 2 * 1024 * 1024),  # the largest request is a session's env (1 MiB)
    ("grpc.max_metadata_size", 16 * 1024),
]
SIGNAL_POLL = 0.5  # seconds: how soon the main thread sees a SIGTERM another thread received
SERVICE_NAMES = [
    session_pb2.DESCRIPTOR.services_by_name["SessionService"].full_name,
    driver_pb2.DESCRIPTOR.services_by_name["DriverService"].full_name,
    project_pb2.DESCRIPTOR.services_by_name["ProjectService"].full_name,
    mcp_pb2.DESCRIPTOR.services_by_name["McpService"].full_name,
    auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name,
]


def engine_settings(cfg: ServiceConfig, instance: str = "") -> EngineSettings:
    """The engine as mcd runs it: no host access, limits as maxima, a network per owner."""
    return EngineSettings(
        network=cfg.network, extra_ca=tuple(cfg.extra_ca_certs), uid=cfg.uid, gid=cfg.gid,
        default_driver=cfg.default_driver, limits=Limits(cfg.cpus, cfg.memory, cfg.pids_limit, cfg.storage),
        limits_are_caps=True,
        max_sessions_per_owner=cfg.max_per_user, host_access=False, allowed_networks=tuple(cfg.networks),
        mcp_images=tuple(cfg.mcp_images), egress=cfg.egress, egress_widen=cfg.egress_widen,
        egress_network=cfg.egress_network, egress_ca=tuple(cfg.egress_ca), network_per_owner=True,
        ssh_scan=tuple(cfg.ssh_scan), driver_dirs=dict(cfg.drivers),
        driver_images=dict(cfg.driver_images), instance=instance, fluentd=cfg.fluentd,
        langfuse=cfg.langfuse, max_lifetime=cfg.max_lifetime, idle_timeout=cfg.idle_timeout,
        state_dir=Path(cfg.state_dir),
    )


class Daemon:
    """Everything one mcd process holds."""

    def __init__(self, config: ServiceConfig, *, docker: Docker | None = None) -> None:
        self.config = config
        self.db = Database(path=config.db_path, url=config.db_url)
        self.docker = docker or Docker(config.docker_socket)
        self.projects = DatabaseProjects(self.db, config.project_key, Path(config.state_dir) / "project.key")
        settings = engine_settings(config, self.db.instance())
        if config.swarm is not None:
            from mc.docker.runner import Tls
            from mc.engine.swarm import SwarmBackend, SwarmSettings

            sw = config.swarm
            self.db.hold_replica(secrets.token_hex(6))  # this process, for the other replicas on the cluster
            self.engine: LocalBackend = SwarmBackend(
                settings, SwarmSettings(sw.manager, Tls(sw.ca, sw.cert, sw.key), sw.registry, sw.pool, sw.node_port,
                                        sw.place_timeout, self.db.replica), Scope.system(),
                projects=self.projects, mcps=DatabaseMcps(self.projects), vault=DatabaseConfigs(self.projects))
            self.docker = self.engine.docker
        else:
            self.engine = LocalBackend(self.docker, settings, Scope.system(), projects=self.projects,
                                       mcps=DatabaseMcps(self.projects))
        self.sessions = TrackedSessions(self.engine, self.db, on_engine=self._serving)
        self.users = Users(self.db, self.projects, multi_user_keys=config.auth is not None)
        self.auth: Any = None
        if config.auth is not None:
            from mcd.oidc import Authenticator

            self.auth = Authenticator(config.auth)
        self.guard = StreamGuard(self.auth.revoked if self.auth is not None else None)
        self.slots = Slots(config.max_concurrent_rpcs, config.max_open_calls, config.max_streams_per_user,
                           config.max_forwards_per_user)
        self.health = Health()
        self.shells = Shells(config.shell_grace)
        self.audit_forward: AuditForward | None = None
        if config.fluentd is not None:
            from mcd.audit import AuditForward

            self.audit_forward = AuditForward(config.fluentd, self.db.instance())
        self.server: grpc.Server | None = None
        self.web: WebServer | None = None
        self._lock_fd = -1
        self.addresses: list[str] = []
        for note in config.unsupported:
            log.warning(json.dumps({"event": "config key not supported yet", "key": note}))

    # -- identity --------------------------------------------------------------------------
    def authenticate(self, method: str, metadata: dict[str, str]) -> identity.Identity:
        if self.auth is None:
            return identity.Identity(_socket_owner())
        if method in OPEN_METHODS:
            return identity.Identity("-")
        header = metadata.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise Unauthenticated("missing access token: log in with mc -r REMOTE auth")
        return self.auth.verify(header[7:].strip())

    def verify(self, token: str) -> identity.Identity:
        """A token sent on a stream (Attach's reauth), checked like a call's."""
        if self.auth is None:
            raise Unauthenticated("this mcd has no auth: nothing to renew")
        return self.auth.verify(token)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        from mcd.servicers.auth import AuthServicer
        from mcd.servicers.driver import DriverServicer
        from mcd.servicers.mcp import McpServicer
        from mcd.servicers.project import ProjectServicer
        from mcd.servicers.session import SessionServicer

        cfg = self.config
        workers = cfg.max_concurrent_rpcs + cfg.max_open_calls + 16  # + health checks and headroom
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mcd-rpc",
                                       initializer=_name_native_thread, initargs=("mcd-rpc",)),
            interceptors=[CallInterceptor(self.authenticate, self.db.audit, self.slots, self.audit_forward)],
            options=OPTIONS,
        )
        session_pb2_grpc.add_SessionServiceServicer_to_server(
            SessionServicer(self.sessions, self.users, self.guard, self.verify, self.shells), server)
        driver_pb2_grpc.add_DriverServiceServicer_to_server(DriverServicer(self.engine, self.users), server)
        project_pb2_grpc.add_ProjectServiceServicer_to_server(ProjectServicer(self.engine, self.users), server)
        mcp_pb2_grpc.add_McpServiceServicer_to_server(McpServicer(self.engine, self.users), server)
        auth_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(self.auth), server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection([*SERVICE_NAMES, reflection.SERVICE_NAME, HEALTH_SERVICE], server)
        if cfg.web_port:  # first: once gRPC answers health checks, the web listener is up too
            self._start_web()
        old_umask = os.umask(0o177)  # the socket is bound 0600: only its owner may talk to mcd
        try:
            if cfg.socket:
                sock = Path(cfg.socket)
                self._lock_fd = _claim_socket(sock)
                server.add_insecure_port(f"unix:{sock}")
                self.addresses.append(f"unix://{sock}")
            if cfg.port:
                creds = grpc.ssl_server_credentials([(Path(cfg.tls_key).read_bytes(),
                                                      Path(cfg.tls_cert).read_bytes())])
                bound = server.add_secure_port(f"{cfg.host or '0.0.0.0'}:{cfg.port}", creds)
                self.addresses.append(f"grpcs://{cfg.host or '0.0.0.0'}:{bound}")
            server.start()
        finally:
            os.umask(old_umask)
        self.server = server
        self.health.set("", NOT_SERVING)
        up = self.sessions.reconcile()
        self.sessions.follow()
        self._serving(up)  # else when the engine is reached (the events thread keeps trying)
        log.info(json.dumps({"event": "serving", "addresses": self.addresses, "database": self.db.kind,
                             "engine": "up" if up else "unreachable"}))

    def _start_web(self) -> None:
        from mcd.web.app import WebApp, WebServer

        cfg = self.config
        app = WebApp(auth=self.auth, users=self.users, sessions=self.sessions, shells=self.shells, slots=self.slots,
                     guard=self.guard, audit=self.db.audit, url=cfg.web_url)
        self.web = WebServer(app, cfg.host, cfg.web_port, cfg.tls_cert, cfg.tls_key)
        self.web.start()
        self.addresses.append(self.web.address)

    def _serving(self, engine_up: bool) -> None:
        """Health follows the engine: without it mcd can list nothing and start nothing."""
        for name in [*SERVICE_NAMES, ""]:
            self.health.set(name, SERVING if engine_up else NOT_SERVING)

    def stop(self, grace: float = 10.0) -> None:
        """Drain: stop taking calls, give running ones ``grace`` seconds, then end."""
        self.health.enter_graceful_shutdown()
        self.sessions.stop()
        self.guard.stop()
        if self.web is not None:
            self.web.stop()
        if self.server is not None:
            self.server.stop(grace).wait()
        self.shells.close_all()
        if self.audit_forward is not None:
            self.audit_forward.close()
        if self.config.langfuse is not None:
            from mc.engine.traces import flush_all

            flush_all()  # the traces the SDK still holds
        if self.config.socket and self._lock_fd >= 0:
            with contextlib.suppress(FileNotFoundError):
                Path(self.config.socket).unlink()
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = -1
        self.db.close()

    def serve_forever(self) -> None:
        done = threading.Event()

        def on_signal(signum: int, frame: Any) -> None:
            log.info(json.dumps({"event": "draining", "signal": signum}))
            done.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        # Not an untimed wait: the kernel may hand SIGTERM to any thread, and then only sets a flag
        # that the main thread reads when it runs Python again; blocked for good, it never would.
        while not done.wait(SIGNAL_POLL):
            pass
        self.stop()


def _claim_socket(sock: Path) -> int:
    """Make the socket's place mcd's alone: a directory mcd owns that nobody else may write (else a
    local user could swap the socket for their own listener), and a lock so that a second mcd does
    not take over a running one's socket. Returns the lock's descriptor (held while serving)."""
    directory = sock.parent
    if not directory.exists():
        directory.mkdir(parents=True, mode=0o700)
    st = directory.lstat()
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise Unavailable(f"{directory}: not a directory (the socket's directory must be mcd's own)")
    if st.st_uid != os.getuid() or st.st_mode & 0o022:
        raise Unavailable(f"{directory}: owned by another user or writable by others; the socket's directory "
                          "must be mcd's alone (set server.socket elsewhere)")
    fd = os.open(f"{sock}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise Unavailable(f"another mcd is serving {sock}") from None
    if sock.exists() or sock.is_symlink():
        sock.unlink()  # left by an mcd that ended without cleaning up (the lock says it is gone)
    return fd


def _name_native_thread(name: str) -> None:
    """Name the OS thread too (top -H, /proc/PID/task/*/comm): Python 3.11 names only its own object."""
    import ctypes

    try:
        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def _socket_owner() -> str:
    """Without auth, mcd's single user is its socket's owner (named as local mode names it)."""
    from mc.config.owner import default_owner

    return default_owner()
