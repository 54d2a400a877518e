"""The daemon: listeners, interceptors, health, reflection, reconciliation, graceful shutdown."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from mc.api.v1 import (
    auth_pb2,
    driver_pb2,
    driver_pb2_grpc,
    project_pb2,
    project_pb2_grpc,
    session_pb2,
    session_pb2_grpc,
)
from mc.docker import Docker
from mc.engine import labels as L
from mc.engine.local import LocalBackend, default_owner
from mc.engine.models import Session
from mc.errors import McError, Unauthenticated
from mc.remote.status import to_status
from mcd import identity
from mcd.config import ServiceConfig
from mcd.store.db import Database, DbRecords

log = logging.getLogger("mcd")

KEEPALIVE = [
    ("grpc.keepalive_time_ms", 30_000),  # ping idle connections: an idle attach lives for hours
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", 8 * 1024 * 1024),
]
# Calls that need no token (health checks, reflection, and the login flow itself).
OPEN_METHODS = {
    "/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
    "/mc.api.v1.AuthService/Login", "/mc.api.v1.AuthService/Callback", "/mc.api.v1.AuthService/Refresh",
    "/mc.api.v1.AuthService/Logout", "/mc.api.v1.AuthService/StartDevice", "/mc.api.v1.AuthService/PollDevice",
}
SERVICE_NAMES = [
    session_pb2.DESCRIPTOR.services_by_name["SessionService"].full_name,
    driver_pb2.DESCRIPTOR.services_by_name["DriverService"].full_name,
    project_pb2.DESCRIPTOR.services_by_name["ProjectService"].full_name,
    auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name,
]


class CallInterceptor(grpc.ServerInterceptor):
    """Authenticates every call, sets the caller's identity, and logs one line per call."""

    def __init__(self, authenticate: Callable[[str, dict[str, str]], identity.Identity], db: Database) -> None:
        self.authenticate = authenticate
        self.db = db

    def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None:
            return None
        method = details.method
        metadata = {k: v for k, v in (details.invocation_metadata or ()) if isinstance(v, str)}

        def wrap(behavior: Callable[..., Any], streaming_response: bool) -> Callable[..., Any]:
            def call(request: Any, context: grpc.ServicerContext) -> Any:
                started = time.monotonic()
                who = identity.Identity("-")
                try:
                    who = self.authenticate(method, metadata)
                except McError as exc:
                    _log_call(method, who.user, to_status(exc).name, started)
                    context.abort(to_status(exc), str(exc))
                token = identity.current.set(who)
                if not streaming_response:
                    code = "OK"
                    try:
                        return behavior(request, context)
                    except Exception:
                        code = "ERROR"
                        raise
                    finally:
                        code = _code(context, code)
                        _log_call(method, who.user, code, started)
                        _audit(self.db, who.user, method, request, code)
                        identity.current.reset(token)

                def gen() -> Any:
                    code = "OK"
                    inner = identity.current.set(who)
                    try:
                        yield from behavior(request, context)
                    except Exception:
                        code = "ERROR"
                        raise
                    finally:
                        _log_call(method, who.user, _code(context, code), started)
                        identity.current.reset(inner)

                identity.current.reset(token)
                return gen()

            return call

        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(wrap(handler.unary_unary, False),
                                                       handler.request_deserializer, handler.response_serializer)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(wrap(handler.unary_stream, True),
                                                        handler.request_deserializer, handler.response_serializer)
        if handler.stream_stream:
            return grpc.stream_stream_rpc_method_handler(wrap(handler.stream_stream, True),
                                                         handler.request_deserializer, handler.response_serializer)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(wrap(handler.stream_unary, False),
                                                        handler.request_deserializer, handler.response_serializer)
        return handler


def _code(context: grpc.ServicerContext, default: str) -> str:
    try:
        code = context.code()
    except Exception:
        code = None
    return code.name if isinstance(code, grpc.StatusCode) else default


def _log_call(method: str, user: str, code: str, started: float) -> None:
    log.info(json.dumps({"method": method, "user": user, "code": code,
                         "ms": round((time.monotonic() - started) * 1000, 1)}))


_AUDITED = {"Create", "Close", "Add", "Update", "Remove"}


def _audit(db: Database, user: str, method: str, request: Any, code: str) -> None:
    name = method.rsplit("/", 1)[-1]
    if name not in _AUDITED:
        return
    target = getattr(request, "url", "") or ",".join(getattr(request, "sessions", []) or [])
    if not target and hasattr(request, "spec"):
        target = request.spec.driver
    try:
        db.audit(user, method, target, code)
    except Exception:  # auditing never fails a call
        log.exception("audit write failed")


class Daemon:
    """Everything one mcd process holds: config, database, the engine, and the servers."""

    def __init__(self, config: ServiceConfig, *, docker: Docker | None = None) -> None:
        self.config = config
        self.db = Database(path=config.db_path, url=config.db_url)
        self.docker = docker or Docker(config.docker_socket)
        self._cipher: Any = None
        self.backend = LocalBackend(
            self.docker,
            network=config.network,
            uid=config.uid,
            gid=config.gid,
            owner="",
            pids_limit=config.pids_limit,
            cpus=config.cpus,
            memory=config.memory,
            extra_ca=config.extra_ca_certs,
            allow_host_paths=False,
            ssh_scan=config.ssh_scan,
            projects_for=self._projects_for,
            multi_user=True,
            driver_dirs=config.drivers,
        )
        self.auth: Any = None
        if config.auth is not None:
            from mcd.oidc import Authenticator

            self.auth = Authenticator(config.auth)
        self.health = health.HealthServicer(experimental_non_blocking=True)
        self.server: grpc.Server | None = None
        self._events: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self.addresses: list[str] = []

    # -- projects: one encrypted store per owner, records in the database -------------------
    def _projects_for(self, owner: str) -> Any:
        from mc.projects.crypto import Cipher
        from mc.projects.store import ProjectStore

        if self._cipher is None:
            from mc.projects.crypto import parse_keys

            if self.config.project_key:
                self._cipher = Cipher(parse_keys(self.config.project_key, "projects.storage.key"))
            else:
                key_file = Path(self.config.db_path or "/var/lib/mcd/mcd.db").with_name("project.key")
                self._cipher = Cipher.from_env_or_file("PROJECT_ENCRYPTION_KEY", key_file)
        store = ProjectStore(DbRecords(self.db, owner), self._cipher, f"database {self.db.where}")

        class Projects:
            def store(self) -> ProjectStore:
                return store

            def credentials(self, url: str) -> Any:
                return store.credentials(url)

        return Projects()

    # -- identity --------------------------------------------------------------------------
    def authenticate(self, method: str, metadata: dict[str, str]) -> identity.Identity:
        if self.auth is None:
            return identity.Identity(_socket_owner())
        if method in OPEN_METHODS or method.startswith("/grpc.reflection."):
            return identity.Identity("-")
        header = metadata.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise Unauthenticated("missing access token: log in with mc -r REMOTE auth")
        return self.auth.verify(header[7:].strip())

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        from mcd.servicers.auth import AuthServicer
        from mcd.servicers.driver import DriverServicer
        from mcd.servicers.project import ProjectServicer
        from mcd.servicers.session import SessionServicer

        cfg = self.config
        workers = max(16, cfg.max_concurrent_rpcs * 2)
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mcd-rpc",
                                       initializer=_name_native_thread, initargs=("mcd-rpc",)),
            interceptors=[CallInterceptor(self.authenticate, self.db)],
            options=KEEPALIVE,
            maximum_concurrent_rpcs=cfg.max_concurrent_rpcs,
        )
        session_pb2_grpc.add_SessionServiceServicer_to_server(SessionServicer(self), server)
        driver_pb2_grpc.add_DriverServiceServicer_to_server(DriverServicer(self), server)
        project_pb2_grpc.add_ProjectServiceServicer_to_server(ProjectServicer(self), server)
        from mc.api.v1 import auth_pb2_grpc

        auth_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(self), server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection([*SERVICE_NAMES, reflection.SERVICE_NAME, health.SERVICE_NAME], server)
        if cfg.socket:
            sock = Path(cfg.socket)
            sock.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if sock.exists() or sock.is_symlink():
                sock.unlink()
            server.add_insecure_port(f"unix:{sock}")
            self.addresses.append(f"unix://{sock}")
        if cfg.port:
            creds = grpc.ssl_server_credentials([(Path(cfg.tls_key).read_bytes(), Path(cfg.tls_cert).read_bytes())])
            bound = server.add_secure_port(f"{cfg.host or '0.0.0.0'}:{cfg.port}", creds)
            self.addresses.append(f"grpcs://{cfg.host or '0.0.0.0'}:{bound}")
        old_umask = os.umask(0o177)  # the socket is created 0600: only its owner may talk to mcd
        try:
            server.start()
        finally:
            os.umask(old_umask)
        if cfg.socket:
            os.chmod(cfg.socket, 0o600)
        self.server = server
        self.health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        self.reconcile()
        self._watch_events()
        for name in [*SERVICE_NAMES, ""]:
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info(json.dumps({"event": "serving", "addresses": self.addresses, "database": self.db.kind}))

    def reconcile(self) -> None:
        """Labels are the truth: mirror every mc container, mark the vanished ones gone."""
        try:
            went = self.db.reconcile(self.backend.scoped("", admin=True).list())
            if went:
                log.info(json.dumps({"event": "reconciled", "gone": went}))
        except McError as exc:
            log.warning(json.dumps({"event": "reconcile failed", "error": str(exc)}))

    def _watch_events(self) -> None:
        """Follow the engine's container events so a removal behind mcd's back shows within seconds."""
        try:
            proc = self.docker.popen("events", "--filter", "type=container", "--filter", f"label={L.SESSION}",
                                     "--format", "{{json .}}", stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        except McError as exc:
            log.warning(json.dumps({"event": "no docker events", "error": str(exc)}))
            return
        self._events = proc

        def follow() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if self._stopping.is_set():
                    return
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                action = event.get("Action") or event.get("status") or ""
                attrs = event.get("Actor", {}).get("Attributes") or {}
                sid = attrs.get(L.SESSION)
                try:
                    if sid and action == "destroy":
                        self.db.mark_gone(sid)
                    elif sid and action == "create":
                        self.db.upsert_session(Session(
                            id=sid, name=attrs.get(L.NAME, ""), driver=attrs.get(L.DRIVER, ""), status="created",
                            project=attrs.get(L.PROJECT, ""), created=attrs.get(L.CREATED, ""),
                            container=attrs.get("name", ""), owner=attrs.get(L.OWNER, "")))
                except Exception:
                    if self._stopping.is_set():
                        return
                    log.exception("handling a docker event failed")
            if not self._stopping.is_set():  # the engine restarted: reconnect
                time.sleep(1)
                self.reconcile()
                self._watch_events()

        threading.Thread(target=follow, name="docker-events", daemon=True).start()

    def stop(self, grace: float = 10.0) -> None:
        """Drain: stop taking calls, give running ones ``grace`` seconds, then end."""
        self._stopping.set()
        self.health.enter_graceful_shutdown()
        if self.server is not None:
            self.server.stop(grace).wait()
        if self._events is not None and self._events.poll() is None:
            self._events.kill()
        if self.config.socket and Path(self.config.socket).exists():
            Path(self.config.socket).unlink()
        self.db.close()

    def serve_forever(self) -> None:
        done = threading.Event()

        def on_signal(signum: int, frame: Any) -> None:
            log.info(json.dumps({"event": "draining", "signal": signum}))
            done.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        done.wait()
        self.stop()


def _name_native_thread(name: str) -> None:
    """Name the OS thread too (top -H, /proc/PID/task/*/comm): Python 3.11 names only its own object."""
    import ctypes

    try:
        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def _socket_owner() -> str:
    """Without auth, mcd's single user is its socket's owner (named as local mode names it)."""
    return default_owner()
