"""Engine dataclasses <-> protobuf messages. Only the adapters (mcd servicers, RemoteBackend) use it."""

from __future__ import annotations

from typing import Any

from mc.api.v1 import driver_pb2, mcp_pb2, project_pb2, session_pb2
from mc.engine.models import (
    DriverInfo,
    EnvVarInfo,
    PersistentConfigInfo,
    Port,
    ProjectInfo,
    Session,
    SessionSpec,
    Status,
)
from mc.mcp.servers import McpServer

_STATUS: dict[Status, Any] = {  # values: session_pb2.SessionStatus
    "created": session_pb2.SESSION_STATUS_CREATED,
    "running": session_pb2.SESSION_STATUS_RUNNING,
    "stopped": session_pb2.SESSION_STATUS_STOPPED,
    "failed": session_pb2.SESSION_STATUS_FAILED,
    "exited": session_pb2.SESSION_STATUS_EXITED,
    "gone": session_pb2.SESSION_STATUS_GONE,
    "expired": session_pb2.SESSION_STATUS_EXPIRED,
    "lost": session_pb2.SESSION_STATUS_LOST,
}
_STATUS_BACK: dict[int, Status] = {int(v): k for k, v in _STATUS.items()}
_AUTH: dict[str, Any] = {"none": project_pb2.AUTH_TYPE_NONE, "ssh": project_pb2.AUTH_TYPE_SSH,
                         "token": project_pb2.AUTH_TYPE_TOKEN}
_AUTH_BACK: dict[int, str] = {int(v): k for k, v in _AUTH.items()}


def _status_back(value: int) -> Status:
    return _STATUS_BACK.get(value, "other")


def session_to_pb(s: Session) -> session_pb2.Session:
    msg = session_pb2.Session(
        id=s.id, name=s.name, driver=s.driver, status=_STATUS.get(s.status, session_pb2.SESSION_STATUS_OTHER),
        project=s.project, created=s.created, owner=s.owner, ssh=s.ssh, container=s.container,
        ports=[session_pb2.Port(container_port=p.container_port, host_ip=p.host_ip, host_port=p.host_port)
               for p in s.ports], egress=s.egress or [], egress_policy=s.egress is not None, logs=s.logs,
        deadline=s.deadline, idle_timeout=s.idle_timeout, storage=s.storage, reason=s.reason,
    )
    if s.exit_code is not None:
        msg.exit_code = s.exit_code
    return msg


def session_from_pb(m: session_pb2.Session) -> Session:
    return Session(
        id=m.id, name=m.name, driver=m.driver, status=_status_back(m.status), project=m.project,
        created=m.created, exit_code=m.exit_code if m.HasField("exit_code") else None,
        ports=[Port(p.container_port, p.host_ip, p.host_port) for p in m.ports], container=m.container,
        owner=m.owner, ssh=m.ssh, egress=list(m.egress) if m.egress_policy else None, logs=m.logs,
        deadline=m.deadline, idle_timeout=m.idle_timeout, storage=m.storage, reason=m.reason,
    )


def spec_to_pb(s: SessionSpec) -> session_pb2.SessionSpec:
    return session_pb2.SessionSpec(
        driver=s.driver, name=s.name, project=s.project, networks=s.networks, env=s.env, ports=s.ports,
        cpus=s.cpus, memory=s.memory, pids_limit=s.pids_limit, ssh=s.ssh, ssh_public_key=s.ssh_public_key,
        remove_on_exit=s.remove_on_exit, model=s.model, default_model=s.default_model, mcps=s.mcps,
        default_mcps=s.default_mcps, allow_domains=s.allow_domains, egress_exact=s.egress_exact,
        ttl_seconds=s.ttl, idle_timeout_seconds=s.idle_timeout, storage=s.storage,
    )


def spec_from_pb(m: session_pb2.SessionSpec) -> SessionSpec:
    """A client's spec: never a host path (mount, volumes are not part of the wire format)."""
    return SessionSpec(
        driver=m.driver, name=m.name, project=m.project, networks=list(m.networks), env=dict(m.env),
        ports=list(m.ports), cpus=m.cpus, memory=m.memory, pids_limit=m.pids_limit, ssh=m.ssh,
        ssh_public_key=m.ssh_public_key, remove_on_exit=m.remove_on_exit, model=m.model,
        default_model=m.default_model, mcps=list(m.mcps),
        default_mcps=list(m.default_mcps), allow_domains=list(m.allow_domains), egress_exact=m.egress_exact,
        ttl=m.ttl_seconds, idle_timeout=m.idle_timeout_seconds if m.HasField("idle_timeout_seconds") else None,
        storage=m.storage,
    )


def driver_to_pb(d: DriverInfo) -> driver_pb2.Driver:
    return driver_pb2.Driver(
        name=d.name, description=d.description, version=d.version, source=d.source, image=d.image,
        built=bool(d.built), ports=d.ports,
        environment=[driver_pb2.DriverVariable(name=e.name, description=e.description, required=e.required,
                                               default=e.default or "", sensitive=e.sensitive)
                     for e in d.environment],
        persistent_configs=[driver_pb2.PersistentConfig(source=p.source, target=p.target, type=p.type,
                                                        description=p.description, import_skip=p.import_skip)
                            for p in d.persistent_configs],
        model_providers=d.model_providers, mcp=d.mcp, egress=d.egress,
    )


def driver_from_pb(m: driver_pb2.Driver) -> DriverInfo:
    return DriverInfo(
        name=m.name, description=m.description, version=m.version, source=m.source, path="", image=m.image,
        built=m.built, ports=list(m.ports),
        environment=[EnvVarInfo(e.name, e.description, e.required, e.default or None, e.sensitive)
                     for e in m.environment],
        persistent_configs=[PersistentConfigInfo(p.source, p.target, p.type, p.description, list(p.import_skip))
                            for p in m.persistent_configs],
        model_providers=list(m.model_providers), mcp=m.mcp, egress=list(m.egress),
    )


def project_to_pb(p: ProjectInfo) -> project_pb2.Project:
    return project_pb2.Project(id=p.id, url=p.url, name=p.name,
                               auth_type=_AUTH.get(p.auth_type, project_pb2.AUTH_TYPE_UNSPECIFIED),
                               public_key=p.public_key, fingerprint=p.fingerprint, username=p.username, owner=p.owner)


def project_from_pb(m: project_pb2.Project) -> ProjectInfo:
    return ProjectInfo(id=m.id, url=m.url, name=m.name, auth_type=_AUTH_BACK.get(m.auth_type, "none"),
                   public_key=m.public_key, fingerprint=m.fingerprint, username=m.username, owner=m.owner)


def mcp_to_pb(s: McpServer) -> mcp_pb2.McpServer:
    return mcp_pb2.McpServer(name=s.name, url=s.url, transport=s.transport, headers=s.headers, image=s.image,
                             command=s.command, env=s.env, port=s.port, path=s.path, owner=s.owner)


def mcp_from_pb(m: mcp_pb2.McpServer) -> McpServer:
    """A definition from the wire; unchecked (the engine checks every field before storing it)."""
    return McpServer(name=m.name, url=m.url, transport=m.transport or "streamable-http", headers=dict(m.headers),
                     image=m.image, command=list(m.command), env=dict(m.env), port=m.port, path=m.path or "/mcp",
                     owner=m.owner)
