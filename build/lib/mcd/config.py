"""mc-service.yaml: the daemon's configuration (the spec's "Service Configuration", adapted to gRPC).

```yaml
server:
  socket: /run/mcd/mcd.sock        # unix socket, created 0600 (the default listener)
  host: 0.0.0.0                    # optional TCP listener: requires tls and auth
  port: 3000
  tls: {cert: server.pem, key: server.key}
  max_concurrent_rpcs: 64
docker: {socket: /var/run/docker.sock, network: mc-network}
auth:                              # OIDC (see README); omit for a single-user unix socket
  issuer: https://idp.example/application/o/mc/
  client_id: mc-service
  client_secret: ${MCD_CLIENT_SECRET}
  admin_group: mc-admins
logging: {level: info}
sessions: {uid: 1000, gid: 1000, default_driver: goose, pids_limit: 4096, cpus: "", memory: ""}
drivers:                           # extra drivers: name -> driver directory
  - {name: team, path: /etc/mcd/drivers/team}
projects:
  storage: {type: encrypted, key: ${PROJECT_ENCRYPTION_KEY}}
  default_ssh_scan: [github.com, gitlab.com, bitbucket.org]
database: {path: /var/lib/mcd/mcd.db}   # or {url: postgresql://user@host/db}
```
Values may reference the environment as ``${VAR}``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mc.config.store import expand
from mc.errors import InvalidArgument


@dataclass
class AuthConfig:
    issuer: str
    client_id: str
    client_secret: str = ""
    admin_group: str = ""
    groups_claim: str = "groups"
    user_claim: str = "preferred_username"
    scopes: list[str] = field(default_factory=lambda: ["openid", "profile", "email", "offline_access"])
    audience: str = ""  # defaults to client_id
    ca_cert: str = ""  # CA bundle to trust for the provider (tests: a self-signed provider)


@dataclass
class ServiceConfig:
    socket: str = ""
    host: str = ""
    port: int = 0
    tls_cert: str = ""
    tls_key: str = ""
    max_concurrent_rpcs: int = 64
    docker_socket: str = ""
    network: str = "mc-network"
    auth: AuthConfig | None = None
    log_level: str = "info"
    uid: int = 1000
    gid: int = 1000
    default_driver: str = "goose"
    pids_limit: int = 4096
    cpus: str = ""
    memory: str = ""
    drivers: dict[str, str] = field(default_factory=dict)
    project_key: str = ""
    ssh_scan: list[str] = field(default_factory=list)
    db_path: str = ""
    db_url: str = ""
    extra_ca_certs: list[str] = field(default_factory=list)
    source: str = ""


def _section(data: dict, name: str, where: str) -> dict:
    value = data.get(name) or {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"{where}: {name} must be a mapping")
    return value


def _expand_all(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _expand_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_all(v) for v in value]
    return expand(value)


def default_socket() -> str:
    if os.getuid() == 0:
        return "/run/mcd/mcd.sock"
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/mcd-{os.getuid()}"
    return f"{runtime}/mcd.sock"


def load(path: str | None) -> ServiceConfig:
    data: dict[str, Any] = {}
    where = path or "defaults"
    if path:
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except FileNotFoundError:
            raise InvalidArgument(f"{path}: no such file") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise InvalidArgument(f"{path}{f' line {mark.line + 1}' if mark else ''}: not valid YAML") from None
        if not isinstance(data, dict):
            raise InvalidArgument(f"{path}: expected a mapping")
    data = _expand_all(data)
    server = _section(data, "server", where)
    docker = _section(data, "docker", where)
    sessions = _section(data, "sessions", where)
    projects = _section(data, "projects", where)
    database = _section(data, "database", where)
    logging = _section(data, "logging", where)
    tls = server.get("tls") or {}
    cfg = ServiceConfig(
        socket=str(server.get("socket") or ""),
        host=str(server.get("host") or ""),
        port=int(server.get("port") or 0),
        tls_cert=str(tls.get("cert") or ""),
        tls_key=str(tls.get("key") or ""),
        max_concurrent_rpcs=int(server.get("max_concurrent_rpcs") or 64),
        docker_socket=str(docker.get("socket") or ""),
        network=str(docker.get("network") or "mc-network"),
        extra_ca_certs=list(docker.get("extra_ca_certs") or []),
        log_level=str(logging.get("level") or "info"),
        uid=int(sessions.get("uid", 1000)),
        gid=int(sessions.get("gid", sessions.get("uid", 1000))),
        default_driver=str(sessions.get("default_driver") or "goose"),
        pids_limit=int(sessions.get("pids_limit") or 4096),
        cpus=str(sessions.get("cpus") or ""),
        memory=str(sessions.get("memory") or ""),
        project_key=str(((projects.get("storage") or {}).get("key")) or ""),
        ssh_scan=[str(h) for h in projects.get("default_ssh_scan") or []],
        db_path=str(database.get("path") or ""),
        db_url=str(database.get("url") or ""),
        source=where,
    )
    for item in data.get("drivers") or []:
        if not isinstance(item, dict) or "name" not in item or not (item.get("path") or item.get("image")):
            raise InvalidArgument(f"{where}: drivers: each entry needs name and path (a driver directory)")
        cfg.drivers[str(item["name"])] = str(item.get("path") or item.get("image"))
    auth = data.get("auth")
    if auth:
        if not isinstance(auth, dict) or not auth.get("issuer") or not (auth.get("client_id") or auth.get("clientId")):
            raise InvalidArgument(f"{where}: auth needs issuer and client_id")
        cfg.auth = AuthConfig(
            issuer=str(auth["issuer"]).rstrip("/"),
            client_id=str(auth.get("client_id") or auth.get("clientId")),
            client_secret=str(auth.get("client_secret") or ""),
            admin_group=str(auth.get("admin_group") or ""),
            groups_claim=str(auth.get("groups_claim") or "groups"),
            user_claim=str(auth.get("user_claim") or "preferred_username"),
            audience=str(auth.get("audience") or ""),
            ca_cert=str(auth.get("ca_cert") or ""),
        )
        if auth.get("scopes"):
            cfg.auth.scopes = [str(s) for s in auth["scopes"]]
    if not cfg.socket and not cfg.port:
        cfg.socket = default_socket()
    if cfg.port:
        if not (cfg.tls_cert and cfg.tls_key):
            raise InvalidArgument(f"{where}: a TCP listener (server.port) requires server.tls.cert and key")
        if cfg.auth is None:
            raise InvalidArgument(f"{where}: a TCP listener (server.port) requires an auth section")
    if cfg.db_path == "" and cfg.db_url == "":
        cfg.db_path = "/var/lib/mcd/mcd.db" if os.getuid() == 0 else str(Path.home() / ".local/share/mcd/mcd.db")
    return cfg
