"""mc-service.yaml: the daemon's configuration (the spec's "Service Configuration", adapted to gRPC).

```yaml
server:
  socket: /run/mcd/mcd.sock        # unix socket in a directory only mcd may write (the default listener)
  host: 0.0.0.0                    # optional TCP listener: requires tls and auth
  port: 3000
  tls: {cert: server.pem, key: server.key}
  max_concurrent_rpcs: 64          # authenticated calls at once (health checks are not counted)
  max_open_calls: 16               # calls of the login flow at once (they need no token)
  max_streams_per_user: 16         # attaches and followed logs one user may hold open
  max_forwards_per_user: 32        # forwarded connections (port-forward, ssh) one user may hold open
  web: {port: 3001, url: https://mcd.example.com:3001}  # the browser terminal (same TLS, needs auth);
                                   # url: the address browsers use (default https://HOST:PORT)
docker: {socket: /var/run/docker.sock, network: mc-network}
  # mode: swarm                    # sessions on a Docker Swarm cluster (default engine: the one engine above)
  # swarm:
  #   manager: tcp://manager1:2376   # a manager's engine (mutual TLS, as every node's)
  #   tls: {ca: /etc/mcd/swarm/ca.pem, cert: /etc/mcd/swarm/cert.pem, key: /etc/mcd/swarm/key.pem}
  #   registry: registry.internal:5000  # where session images are pushed; nodes pull them by digest
  #   node_port: 2376                # each node's engine (exec, attach, logs reach the task's node)
  #   place_timeout: 60s             # a session whose task is not running by then fails its create
auth:                              # OIDC (see README); omit for a single-user unix socket
  issuer: https://idp.example/application/o/mc/
  client_id: mc-service
  client_secret: ${MCD_CLIENT_SECRET}
  admin_group: mc-admins
logging: {level: info}
sessions:
  uid: 1000                        # the session user inside containers
  gid: 1000
  default_driver: goose
  pids_limit: 4096                 # limits are maxima: a client may ask for less, never more
  cpus: "2"
  memory: 4g
  storage: 20g                     # the most a session's own files may take (the engine must support it)
  max_per_user: 10                 # live sessions per user (0: no cap)
  max_lifetime: 8h                 # a session is closed this long after its creation (a client may ask
                                   # for less with --ttl, and extend up to this); default: none
  idle_timeout: 1h                 # a session without activity this long stops (start brings it back);
                                   # default 1h, 0 for never; a client may ask for another (not on a cluster)
  pool: sessions                   # on a cluster: sessions run on nodes labelled mc.pool=sessions
  shell_grace: 5m                  # a shell whose client went away (no detach) waits this long to be
                                   # resumed (mc session connect, the browser), then ends; 0: at once
  networks: [team-db]              # existing networks users may join (none unless listed)
  mcp_images: ["registry.example.com/mcp/*"]  # images users may run as MCP servers (none unless listed)
  egress:                          # what sessions may reach: open (direct; the default), any (any public
    allow: [github.com, "*.npmjs.org"]  # name, through a proxy), or these names (through a proxy)
    widen: false                   # users may add names beyond allow (default: only when allow is open)
    network: mc-egress             # the network proxies go out by
drivers:                           # extra drivers: a directory (built here), or an image mc built
  - {name: team, path: /etc/mcd/drivers/team}
  - {name: goose, image: registry.example.com/mc-goose:1.2}   # pulled, never built; its manifest in its labels
projects:
  storage: {type: encrypted, key: "${PROJECT_ENCRYPTION_KEY}"}
  default_ssh_scan: [github.com, gitlab.com, bitbucket.org]
database: {path: /var/lib/mcd/mcd.db}   # or {url: postgresql://user@host/db}
state_dir: /var/lib/mcd            # the project key file when projects.storage.key is not set
```
Values may reference the environment as ``${VAR}``. An unknown key is an error naming the file and
the key (a typo like ``sesions:`` must not be silently ignored).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mc.config.store import expand
from mc.engine.logfwd import Fluentd, Langfuse
from mc.engine.settings import DEFAULT_SHELL_GRACE, MAX_SHELL_GRACE
from mc.errors import InvalidArgument

KNOWN: dict[str, set[str]] = {
    "server": {"socket", "host", "port", "tls", "max_concurrent_rpcs", "max_open_calls", "max_streams_per_user",
               "max_forwards_per_user", "web"},
    "docker": {"socket", "network", "extra_ca_certs", "mode", "swarm"},
    "auth": {"issuer", "url", "provider", "client_id", "clientId", "client_secret", "admin_group", "groups_claim",
             "user_claim", "scopes", "audience", "ca_cert"},
    "logging": {"level", "providers"},
    "sessions": {"uid", "gid", "default_driver", "pids_limit", "cpus", "memory", "max_per_user", "networks",
                 "mcp_images", "egress", "max_lifetime", "idle_timeout", "storage", "shell_grace",
                 "pool"},
    "projects": {"storage", "default_ssh_scan"},
    "database": {"path", "url"},
}
TOP = {*KNOWN, "drivers", "state_dir"}


DEFAULT_IDLE_TIMEOUT = 3600  # mcd stops idle sessions after an hour unless told otherwise


@dataclass
class AuthConfig:
    issuer: str
    client_id: str
    client_secret: str = ""
    admin_group: str = ""
    groups_claim: str = "groups"
    user_claim: str = "preferred_username"  # the display name; owners are keyed by the subject
    scopes: list[str] = field(default_factory=lambda: ["openid", "profile", "email", "offline_access"])
    audience: str = ""  # defaults to client_id
    ca_cert: str = ""  # CA bundle to trust for the provider (tests: a self-signed provider)


@dataclass
class SwarmConfig:
    manager: str
    ca: str
    cert: str
    key: str
    registry: str
    pool: str = ""
    node_port: int = 2376
    place_timeout: int = 60


@dataclass
class ServiceConfig:
    socket: str = ""
    host: str = ""
    port: int = 0
    tls_cert: str = ""
    web_port: int = 0  # the browser terminal's HTTPS listener (mcd.web); 0: none
    web_url: str = ""  # how browsers reach it (its origin); default https://HOST:PORT
    tls_key: str = ""
    max_concurrent_rpcs: int = 64
    max_open_calls: int = 16
    max_streams_per_user: int = 16
    max_forwards_per_user: int = 32
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
    max_per_user: int = 10
    max_lifetime: int = 0  # seconds; 0: none
    storage: str = ""  # the most a session's own files may take (default and maximum); "": none
    idle_timeout: int = DEFAULT_IDLE_TIMEOUT  # seconds; 0: never
    shell_grace: int = DEFAULT_SHELL_GRACE  # seconds a dropped shell waits to be resumed
    networks: list[str] = field(default_factory=list)
    mcp_images: list[str] = field(default_factory=list)
    egress: tuple[str, ...] | None = None  # None: open; ("*",): any public name through the proxy; names
    egress_widen: bool = True
    egress_network: str = "mc-egress"
    egress_ca: list[str] = field(default_factory=list)
    fluentd: Fluentd | None = None  # logging.providers: the collector sessions' output also goes to
    langfuse: Langfuse | None = None  # logging.providers: the project that gets traces and the tools' spans
    drivers: dict[str, str] = field(default_factory=dict)  # name -> directory
    driver_images: dict[str, str] = field(default_factory=dict)  # name -> image reference
    project_key: str = ""
    ssh_scan: list[str] = field(default_factory=list)
    db_path: str = ""
    db_url: str = ""
    state_dir: str = ""
    extra_ca_certs: list[str] = field(default_factory=list)
    swarm: SwarmConfig | None = None  # docker.mode: swarm
    unsupported: list[str] = field(default_factory=list)  # keys accepted but not acted on yet (warned)
    source: str = ""


class _Reader:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, expected: str) -> InvalidArgument:
        return InvalidArgument(f"{self.where}: {key}: expected {expected}")

    def section(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        value = data.get(name) or {}
        if not isinstance(value, dict):
            raise self.fail(name, "a mapping")
        unknown = sorted(set(value) - KNOWN[name])
        if unknown:
            raise self.fail(f"{name}.{unknown[0]}", f"one of {', '.join(sorted(KNOWN[name]))}")
        return value

    def string(self, data: dict[str, Any], key: str, where: str, default: str = "") -> str:
        value = data.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(f"{where}.{key}", "a string")
        return str(value)

    def integer(self, data: dict[str, Any], key: str, where: str, default: int, low: int = 0) -> int:
        value = data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self.fail(f"{where}.{key}", f"a whole number of at least {low}")
        return value

    def strings(self, data: dict[str, Any], key: str, where: str) -> list[str]:
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{where}.{key}", "a list of strings")
        return list(value)


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


def default_state_dir() -> str:
    return "/var/lib/mcd" if os.getuid() == 0 else str(Path.home() / ".local/share/mcd")


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
    r = _Reader(where)
    unknown = sorted(set(data) - TOP)
    if unknown:
        raise r.fail(unknown[0], f"one of {', '.join(sorted(TOP))}")
    data = _expand_all(data)
    server = r.section(data, "server")
    docker = r.section(data, "docker")
    sessions = r.section(data, "sessions")
    projects = r.section(data, "projects")
    database = r.section(data, "database")
    logging = r.section(data, "logging")
    tls = server.get("tls") or {}
    if not isinstance(tls, dict) or set(tls) - {"cert", "key"}:
        raise r.fail("server.tls", "a mapping with cert and key")
    storage = projects.get("storage") or {}
    if not isinstance(storage, dict) or set(storage) - {"type", "key"}:
        raise r.fail("projects.storage", "a mapping with type and key")
    cfg = ServiceConfig(
        socket=r.string(server, "socket", "server"),
        host=r.string(server, "host", "server"),
        port=r.integer(server, "port", "server", 0),
        tls_cert=r.string(tls, "cert", "server.tls"),
        tls_key=r.string(tls, "key", "server.tls"),
        max_concurrent_rpcs=r.integer(server, "max_concurrent_rpcs", "server", 64, 1),
        max_open_calls=r.integer(server, "max_open_calls", "server", 16, 1),
        max_streams_per_user=r.integer(server, "max_streams_per_user", "server", 16, 1),
        max_forwards_per_user=r.integer(server, "max_forwards_per_user", "server", 32, 1),
        docker_socket=r.string(docker, "socket", "docker"),
        network=r.string(docker, "network", "docker", "mc-network"),
        extra_ca_certs=r.strings(docker, "extra_ca_certs", "docker"),
        log_level=r.string(logging, "level", "logging", "info"),
        uid=r.integer(sessions, "uid", "sessions", 1000),
        gid=r.integer(sessions, "gid", "sessions", r.integer(sessions, "uid", "sessions", 1000)),
        default_driver=r.string(sessions, "default_driver", "sessions", "goose"),
        pids_limit=r.integer(sessions, "pids_limit", "sessions", 4096, 1),
        cpus=r.string(sessions, "cpus", "sessions"),
        memory=r.string(sessions, "memory", "sessions"),
        storage=r.string(sessions, "storage", "sessions"),
        max_per_user=r.integer(sessions, "max_per_user", "sessions", 10),
        networks=r.strings(sessions, "networks", "sessions"),
        mcp_images=r.strings(sessions, "mcp_images", "sessions"),
        project_key=r.string(storage, "key", "projects.storage"),
        ssh_scan=r.strings(projects, "default_ssh_scan", "projects"),
        db_path=r.string(database, "path", "database"),
        db_url=r.string(database, "url", "database"),
        state_dir=r.string(data, "state_dir", "top level", default_state_dir()),
        source=where,
    )
    _egress(cfg, sessions.get("egress"), r)
    cfg.max_lifetime = _duration(sessions, "max_lifetime", r, 0)
    cfg.idle_timeout = _duration(sessions, "idle_timeout", r, DEFAULT_IDLE_TIMEOUT)
    cfg.shell_grace = _duration(sessions, "shell_grace", r, DEFAULT_SHELL_GRACE)
    if cfg.shell_grace > MAX_SHELL_GRACE:
        raise r.fail("sessions.shell_grace", "at most 1d")
    _providers(cfg, logging.get("providers"), r)
    _check_limits(cfg, r)
    from mc.drivers.images import check_reference
    from mc.drivers.manifest import valid_name as manifest_valid_name

    drivers = data.get("drivers") or []
    if not isinstance(drivers, list):
        raise r.fail("drivers", "a list of {name, path} or {name, image}")
    for i, item in enumerate(drivers):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or set(item) - {"name", "path", "image"}:
            raise r.fail(f"drivers[{i}]", "a mapping with name and path (a driver directory) or image")
        if not manifest_valid_name(item["name"]):
            raise r.fail(f"drivers[{i}].name", "a driver name (lowercase letters, digits, '-', '_', '.')")
        if ("path" in item) == ("image" in item):
            raise r.fail(f"drivers[{i}]", "either path (a driver directory) or image (a registry reference)")
        if "image" in item:
            try:
                cfg.driver_images[item["name"]] = check_reference(str(item["image"]))
            except InvalidArgument:
                raise r.fail(f"drivers[{i}].image", "an image reference such as registry.example.com/mc-goose:1.2") \
                    from None
            continue
        if not isinstance(item.get("path"), str) or not item["path"]:
            raise r.fail(f"drivers[{i}].path", "a driver directory")
        cfg.drivers[item["name"]] = item["path"]
    auth = data.get("auth")
    if auth:
        cfg.auth = _auth(r, r.section(data, "auth"))
    if not cfg.socket and not cfg.port:
        cfg.socket = default_socket()
    if cfg.port:
        if not (cfg.tls_cert and cfg.tls_key):
            raise InvalidArgument(f"{where}: a TCP listener (server.port) requires server.tls.cert and key")
        if cfg.auth is None:
            raise InvalidArgument(f"{where}: a TCP listener (server.port) requires an auth section")
    _web(cfg, server.get("web"), r)
    _swarm(cfg, docker, r.string(sessions, "pool", "sessions"), r)
    if cfg.db_path == "" and cfg.db_url == "":
        cfg.db_path = str(Path(cfg.state_dir) / "mcd.db")
    return cfg


def _swarm(cfg: ServiceConfig, docker: dict[str, Any], pool: str, r: _Reader) -> None:
    """docker.mode: swarm and docker.swarm: the cluster's manager, the nodes' TLS, the registry."""
    import re

    mode = r.string(docker, "mode", "docker", "engine")
    if mode not in ("engine", "swarm"):
        raise r.fail("docker.mode", "engine or swarm")
    swarm = docker.get("swarm")
    if mode == "engine":
        if swarm is not None or pool:
            raise r.fail("docker.mode" if swarm is not None else "sessions.pool",
                         "docker.mode: swarm with docker.swarm and sessions.pool")
        return
    if not isinstance(swarm, dict) or set(swarm) - {"manager", "tls", "registry", "node_port", "place_timeout"}:
        raise r.fail("docker.swarm", "a mapping with manager, tls, registry (and node_port, place_timeout)")
    manager = r.string(swarm, "manager", "docker.swarm")
    if not re.fullmatch(r"tcp://[A-Za-z0-9.\-\[\]:]+:\d{1,5}", manager):
        raise r.fail("docker.swarm.manager", "tcp://HOST:PORT of a manager's engine")
    tls = swarm.get("tls")
    if not isinstance(tls, dict) or set(tls) != {"ca", "cert", "key"}:
        raise r.fail("docker.swarm.tls", "a mapping with ca, cert and key (the nodes' engines need mutual TLS)")
    for key in ("ca", "cert", "key"):
        if not Path(r.string(tls, key, "docker.swarm.tls")).is_file():
            raise r.fail(f"docker.swarm.tls.{key}", "a readable file")
    registry = r.string(swarm, "registry", "docker.swarm")
    if not re.fullmatch(r"[A-Za-z0-9.\-]+(:\d{1,5})?", registry):
        raise r.fail("docker.swarm.registry", "HOST[:PORT] of the cluster's registry")
    if pool and not re.fullmatch(r"[A-Za-z0-9._\-]{1,64}", pool):
        raise r.fail("sessions.pool", "a node label value (letters, digits, '.', '_', '-')")
    node_port = r.integer(swarm, "node_port", "docker.swarm", 2376, 1)
    if node_port > 65535:
        raise r.fail("docker.swarm.node_port", "a port number (1-65535)")
    place = _duration(swarm, "place_timeout", r, 60, "docker.swarm") or 60
    if place > 3600:
        raise r.fail("docker.swarm.place_timeout", "at most 1h")
    cfg.swarm = SwarmConfig(manager, str(tls["ca"]), str(tls["cert"]), str(tls["key"]), registry, pool,
                            node_port, place)


def _web(cfg: ServiceConfig, web: Any, r: _Reader) -> None:
    """server.web: {port, url}: the browser terminal, on the TLS certificate and the OIDC login of mcd."""
    from urllib.parse import urlparse

    if web is None:
        return
    if not isinstance(web, dict) or set(web) - {"port", "url"} or "port" not in web:
        raise r.fail("server.web", "a mapping with port (and url)")
    cfg.web_port = r.integer(web, "port", "server.web", 0, 1)
    if cfg.web_port > 65535:
        raise r.fail("server.web.port", "a port number (1-65535)")
    if not (cfg.tls_cert and cfg.tls_key) or cfg.auth is None:
        raise InvalidArgument(f"{r.where}: server.web requires server.tls and an auth section (browsers log in "
                              "with the provider, over HTTPS only)")
    cfg.web_url = r.string(web, "url", "server.web") or f"https://{cfg.host or 'localhost'}:{cfg.web_port}"
    url = urlparse(cfg.web_url)
    if url.scheme != "https" or not url.hostname or url.path not in ("", "/") or url.query or url.fragment:
        raise r.fail("server.web.url", "the https://HOST[:PORT] address browsers use")
    cfg.web_url = cfg.web_url.rstrip("/")


PROVIDER_KEYS = {"fluentd": {"type", "url", "tag"}, "langfuse": {"type", "url", "public_key", "secret_key"}}


def _providers(cfg: ServiceConfig, value: Any, r: _Reader) -> None:
    """logging.providers: [{type: fluentd, url, tag}, {type: langfuse, url, public_key, secret_key}]."""
    from mc.engine.logfwd import check_fluentd, check_langfuse

    if value is None:
        return
    if not isinstance(value, list):
        raise r.fail("logging.providers", "a list of {type: fluentd|langfuse, ...}")
    for i, item in enumerate(value):
        where = f"logging.providers[{i}]"
        kind = item.get("type") if isinstance(item, dict) else None
        if kind not in PROVIDER_KEYS:
            raise r.fail(f"{where}.type", "fluentd or langfuse")
        unknown = sorted(set(item) - PROVIDER_KEYS[kind])
        if unknown:
            raise r.fail(f"{where}.{unknown[0]}", f"one of {', '.join(sorted(PROVIDER_KEYS[kind]))}")
        for key in sorted(PROVIDER_KEYS[kind] - {"type", "tag"}):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise r.fail(f"{where}.{key}", "a value")
        if kind == "fluentd":
            if cfg.fluentd is not None:
                raise r.fail(where, "one fluentd provider")
            try:
                cfg.fluentd = check_fluentd(item["url"], r.string(item, "tag", where), where)
            except InvalidArgument as exc:
                raise InvalidArgument(f"{r.where}: {exc}") from None
        else:
            if cfg.langfuse is not None:
                raise r.fail(where, "one langfuse provider")
            try:
                cfg.langfuse = check_langfuse(item["url"], item["public_key"].strip(), item["secret_key"].strip(),
                                              where)
            except InvalidArgument as exc:
                raise InvalidArgument(f"{r.where}: {exc}") from None


def _duration(section: dict, key: str, r: _Reader, default: int, where: str = "sessions") -> int:
    """WHERE.KEY: a duration (30m, 8h, 1d, seconds; 0 for none)."""
    from mc.engine.checks import parse_duration

    value = section.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise r.fail(f"{where}.{key}", "a duration such as 30m, 8h or 1d (0 for none)")
    try:
        return parse_duration(str(value), f"{where}.{key}")
    except InvalidArgument:
        raise r.fail(f"{where}.{key}", "a duration such as 30m, 8h or 1d (0 for none)") from None


def _egress(cfg: ServiceConfig, value: Any, r: _Reader) -> None:
    """sessions.egress: {allow: open | any | [names], widen: bool, network: name}."""
    from mc.contract import check_domain

    if value is None:
        return
    if not isinstance(value, dict) or set(value) - {"allow", "widen", "network", "ca_certs"}:
        raise r.fail("sessions.egress", "a mapping with allow, widen, network and ca_certs")
    allow = value.get("allow", "open")
    if allow == "any":
        cfg.egress = ("*",)
    elif isinstance(allow, list) and all(isinstance(d, str) for d in allow):
        try:
            cfg.egress = tuple(check_domain(d) for d in allow)
        except ValueError as exc:
            raise r.fail("sessions.egress.allow", f"domain names ({exc})") from None
    elif allow != "open":
        raise r.fail("sessions.egress.allow", "open, any, or a list of names (example.com, *.example.com)")
    widen = value.get("widen", cfg.egress is None)
    if not isinstance(widen, bool):
        raise r.fail("sessions.egress.widen", "true or false")
    cfg.egress_widen = widen
    cfg.egress_network = r.string(value, "network", "sessions.egress", "mc-egress")
    cfg.egress_ca = r.strings(value, "ca_certs", "sessions.egress")


def _check_limits(cfg: ServiceConfig, r: _Reader) -> None:
    from mc.engine.checks import check_cpus, check_memory, check_storage

    for key, check in (("cpus", check_cpus), ("memory", check_memory), ("storage", check_storage)):
        try:
            check(getattr(cfg, key))
        except InvalidArgument:
            raise r.fail(f"sessions.{key}", "a limit like 2 (cpus), 4g (memory) or 20g (storage, 256m or more)") \
                from None


def _auth(r: _Reader, auth: dict[str, Any]) -> AuthConfig:
    issuer = r.string(auth, "issuer", "auth") or r.string(auth, "url", "auth")
    client_id = r.string(auth, "client_id", "auth") or r.string(auth, "clientId", "auth")
    if not issuer or not client_id:
        raise InvalidArgument(f"{r.where}: auth needs issuer and client_id")
    cfg = AuthConfig(
        issuer=issuer.rstrip("/"),
        client_id=client_id,
        client_secret=r.string(auth, "client_secret", "auth"),
        admin_group=r.string(auth, "admin_group", "auth"),
        groups_claim=r.string(auth, "groups_claim", "auth", "groups"),
        user_claim=r.string(auth, "user_claim", "auth", "preferred_username"),
        audience=r.string(auth, "audience", "auth"),
        ca_cert=r.string(auth, "ca_cert", "auth"),
    )
    if auth.get("scopes"):
        cfg.scopes = r.strings(auth, "scopes", "auth")
    return cfg
