"""A session plan: every decision about a new session, as data, before any docker call.

``plan_session`` checks what the caller asked for against the engine's settings and the caller's
scope, and decides the labels, environment (container and private), secret files, mounts, ports,
networks, capabilities and limits. It is pure: no docker, no files, no clock (the id and time come
in), so every security rule is a unit test of milliseconds. ``launch.py`` renders the plan as docker
commands; another launcher (a Swarm service, say) would render the same plan differently.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mc import contract
from mc.engine import checks, environment, labels, telemetry
from mc.engine.egress import PROXY_PORT, EgressPolicy
from mc.engine.models import SessionSpec, Volume
from mc.engine.scope import Scope
from mc.engine.settings import EngineSettings
from mc.errors import InvalidArgument, PermissionDenied

if TYPE_CHECKING:
    from mc.drivers.registry import Driver
    from mc.engine.telemetry import Relay
    from mc.mcp.servers import McpServer
    from mc.projects.store import ProjectAccess

SESSION_CAPS = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "KILL", "NET_BIND_SERVICE")
SSH_CAPS = ("SYS_CHROOT", "AUDIT_WRITE")
REFUSED_NETWORKS = ("host", "none", "bridge", "default")
MAX_NETWORKS = 16
MAX_PORTS = 64
MAX_VOLUMES = 64


@dataclass(frozen=True)
class Mount:
    """A mount of the session container."""

    kind: str  # bind | volume | tmpfs
    target: str
    source: str = ""
    read_only: bool = False
    owner_label: str = ""  # volume: labelled with its owner (listing, pruning)

    def argv(self) -> list[str]:
        if self.kind == "bind":
            return ["-v", f"{self.source}:{self.target}{':ro' if self.read_only else ''}"]
        if self.kind == "volume" and not self.source:  # anonymous: removed with the container (rm -v, run --rm);
            return ["-v", self.target]  # (docker 20.10 keeps one made by --mount: moby#44216)
        if self.kind == "volume":
            spec = f"type=volume,source={self.source},target={self.target}"
            if self.owner_label:
                spec += f",volume-label={labels.OWNER}={self.owner_label}"
            return ["--mount", spec + (",readonly" if self.read_only else "")]
        return ["--mount", f"type=tmpfs,destination={self.target},tmpfs-mode=0755"]


@dataclass(frozen=True)
class McpSidecar:
    """An MCP server that runs in a container beside the session, on its network, with the session's
    limits and hardening; removed with it. A stdio server gets a bridge container (mcp-proxy and
    supergateway) that serves it as streamable HTTP, the two joined by a pair of FIFOs on a volume
    of the bridge's."""

    name: str
    container: str
    image: str
    command: tuple[str, ...]  # () for the image's own
    env: dict[str, str]  # plain values: container environment
    secret_env: dict[str, str]  # secret-named values: a file copied in before the start, read and removed
    port: int  # 0: stdio, bridged
    path: str

    @property
    def bridge(self) -> str:
        return f"{self.container}-bridge" if not self.port else ""

    @property
    def url(self) -> str:
        """Where the session reaches it."""
        if self.port:
            return f"http://{self.container}:{self.port}{self.path}"
        return f"http://{self.bridge}:{BRIDGE_PORT}/mcp"


BRIDGE_PORT = 8000


@dataclass(frozen=True)
class KeySwap:
    """An API key kept out of a session: the session has ``placeholder``; its egress proxy puts
    ``value`` in its place in HTTPS requests to ``domains``, and nowhere else."""

    name: str
    placeholder: str
    value: str
    domains: tuple[str, ...]


@dataclass(frozen=True)
class EgressProxy:
    """The egress proxy of a session with a policy: on the session's internal network and on mc's
    egress network, the session's only way out; the session's published ports are published here
    and forwarded to it (docker publishes nothing of a container on an internal network alone)."""

    container: str
    policy: EgressPolicy
    network: str  # mc's egress network, which the proxy goes out by (made when missing)
    ports: tuple[int, ...]
    keys: tuple[KeySwap, ...] = ()  # held here, never in the session
    networks: tuple[str, ...] = ()  # the caller's extra networks: joined by the proxy, never by the session
    upstream_ca: tuple[str, ...] = ()  # CA certificate files it trusts for the servers it reaches (and the system's)

    def keys_json(self) -> bytes:
        return json.dumps([{"placeholder": k.placeholder, "value": k.value, "domains": list(k.domains)}
                           for k in self.keys]).encode()

    @property
    def address(self) -> str:
        return f"{self.container}:{PROXY_PORT}"


@dataclass(frozen=True)
class SessionPlan:
    """Every decision about a new session, as data (see the module docstring)."""

    session_id: str
    container: str
    image: str
    hostname: str
    network: str  # joined at create; created by mc when missing
    network_owner: str  # "" for the shared mc network, else the owner whose network it is
    extra_networks: tuple[str, ...]  # joined before the start; must exist
    labels: dict[str, str]
    env: dict[str, str]  # container environment: mc's facts and the driver's plain defaults
    secret_files: dict[str, bytes]  # into the session's secrets directory (private env included)
    mounts: tuple[Mount, ...]
    ports: tuple[int, ...]  # published on 127.0.0.1
    caps: tuple[str, ...]
    pids_limit: int
    cpus: str
    memory: str
    storage: str = ""  # docker's --storage-opt size=, or "" for none
    log_options: tuple[str, ...] = ()  # docker's log driver and its options (a collector), or docker's default
    persist_dir: Path | None = None  # a local directory mounted at /mc-config (made before, removed on failure)
    owner: str = ""
    auto_remove: bool = False  # a session for one command: docker removes it when the command ends
    warnings: tuple[str, ...] = ()  # for the caller: the session works, but probably not as meant
    sidecars: tuple[McpSidecar, ...] = ()  # MCP servers in containers, started before the session
    egress: EgressProxy | None = None  # an egress policy: the network is internal, this proxy the way out
    relay: Relay | None = None  # the OTLP relay its tool exports spans to (Langfuse), joined to its network

    @property
    def network_internal(self) -> bool:
        return self.egress is not None

    def sidecar_args(self) -> list[str]:
        """``docker create`` arguments of a container beside the session (an MCP server, its bridge,
        the egress proxy) up to the image: the session's network, limits and hardening, and labels
        that tie it to the session."""
        args = ["--network", self.network, "--init", "--security-opt", "no-new-privileges",
                "--cap-drop", "ALL", "--pids-limit", str(self.pids_limit),
                "--label", f"{labels.SIDECAR_OF}={self.session_id}", "--label", f"{labels.OWNER}={self.owner}"]
        if self.cpus:
            args += ["--cpus", self.cpus]
        if self.memory:
            args += ["--memory", self.memory]
        if labels.INSTANCE in self.labels:
            args += ["--label", f"{labels.INSTANCE}={self.labels[labels.INSTANCE]}"]
        return args

    def create_args(self) -> list[str]:
        """``docker create`` (or ``run -d``) arguments after the verb; values follow their flags as
        separate arguments, so no value can become a flag."""
        args = ["--pull=never", "--name", self.container, "--hostname", self.hostname, "--network", self.network,
                "--init", "--security-opt", "no-new-privileges", "--cap-drop", "ALL"]
        if self.auto_remove:
            args.append("--rm")
        for cap in self.caps:
            args += ["--cap-add", cap]
        args += ["--pids-limit", str(self.pids_limit)]
        if self.cpus:
            args += ["--cpus", self.cpus]
        if self.memory:
            args += ["--memory", self.memory]
        if self.storage:
            args += ["--storage-opt", f"size={self.storage}"]
        for key, value in self.labels.items():
            args += ["--label", f"{key}={value}"]
        for key, value in self.env.items():
            args += ["-e", f"{key}={value}"]
        for mount in self.mounts:
            args += mount.argv()
        args += self.log_options
        for port in self.ports:
            args += ["-p", f"127.0.0.1::{port}"]
        if self.egress is not None:  # no name but the session's own neighbours resolves: fail fast
            args += ["--dns-option", "timeout:1", "--dns-option", "attempts:1"]
        args.append(self.image)
        return args


def owner_network(settings: EngineSettings, owner: str, internal: bool = False) -> str:
    """The network an owner's sessions share (mcd); other owners' sessions cannot reach it. Those
    with an egress policy share an internal one."""
    name = settings.network
    if settings.network_per_owner and owner:
        name = f"{settings.network}-{hashlib.sha256(owner.encode()).hexdigest()[:12]}"
    return f"{name}-internal" if internal else name


def persist_key_hash(key: str) -> str:
    """Hash of a project id (normalised git URL) or of an absolute local path."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def persist_mount(settings: EngineSettings, scope: Scope, key: str, persist_root: Path | None
                  ) -> tuple[Mount, Path | None]:
    """Where a project's (or a mounted directory's) persistent configs live, as the /mc-config
    mount: locally a directory under ``persist_root`` (returned, to make), in mcd a named volume
    per user and project (it works the same when mcd runs in a container next to the engine,
    where its own paths mean nothing to the engine)."""
    if settings.host_access and persist_root is not None:
        directory = persist_root / "projects" / persist_key_hash(key) / "config"
        return Mount("bind", contract.CONFIG_DIR, str(directory)), directory
    volume = f"mc-config-{persist_key_hash(scope.volume_owner + chr(0) + key)}"
    return Mount("volume", contract.CONFIG_DIR, volume, owner_label=scope.volume_owner), None


def _storage(spec: SessionSpec, settings: EngineSettings) -> str:
    """The caller's storage limit, else the default; with caps, never above it."""
    storage = checks.check_storage(spec.storage) or checks.check_storage(settings.limits.storage)
    default = settings.limits.storage
    if settings.limits_are_caps and default and checks.memory_bytes(storage) > checks.memory_bytes(default):
        raise PermissionDenied(f"--storage {storage}: this server allows at most {default}")
    return storage


def _lifetime(spec: SessionSpec, settings: EngineSettings, once: bool) -> tuple[int, int]:
    """(lifetime, idle timeout) in seconds, 0 for none: the caller's within the configured maximum,
    else the configured ones. A session for one command is never idle: it ends with its command."""
    ttl = checks.check_duration(spec.ttl, "--ttl", allow_zero=True)
    if settings.max_lifetime and ttl > settings.max_lifetime:
        raise InvalidArgument(f"--ttl {checks.format_duration(ttl)}: sessions here live at most "
                              f"{checks.format_duration(settings.max_lifetime)}")
    idle = settings.idle_timeout if spec.idle_timeout is None else spec.idle_timeout
    idle = checks.check_duration(idle, "--idle-timeout", allow_zero=True)
    return ttl or settings.max_lifetime, 0 if once else idle


def _limits(spec: SessionSpec, settings: EngineSettings) -> tuple[int, str, str]:
    """(pids, cpus, memory): the caller's, else the defaults; with caps, never above them."""
    default = settings.limits
    pids = spec.pids_limit or default.pids
    cpus = checks.check_cpus(spec.cpus) or default.cpus
    memory = checks.check_memory(spec.memory) or default.memory
    if spec.pids_limit < 0 or pids > 4_194_304:
        raise InvalidArgument(f"--pids-limit {spec.pids_limit}: expected a number of processes")
    if settings.limits_are_caps:
        if default.pids and pids > default.pids:
            raise PermissionDenied(f"--pids-limit {pids}: this server allows at most {default.pids}")
        if default.cpus and checks.cpu_count(cpus) > checks.cpu_count(default.cpus):
            raise PermissionDenied(f"--cpus {cpus}: this server allows at most {default.cpus}")
        if default.memory and checks.memory_bytes(memory) > checks.memory_bytes(default.memory):
            raise PermissionDenied(f"--memory {memory}: this server allows at most {default.memory}")
    return pids, cpus, memory


def _networks(spec: SessionSpec, settings: EngineSettings, own: str) -> tuple[str, ...]:
    names = [n for n in dict.fromkeys([*settings.default_networks, *spec.networks]) if n not in (own,)]
    if len(names) > MAX_NETWORKS:
        raise InvalidArgument(f"--network: at most {MAX_NETWORKS} networks")
    for name in names:
        if not name or len(name) > 128 or not name.isprintable():
            raise InvalidArgument("--network: a network name is a short printable word")
    if not settings.host_access:
        for name in names:
            if name in REFUSED_NETWORKS or name.startswith("container:"):
                raise InvalidArgument(f"network '{name}' is not allowed for a remote session")
            if name not in settings.allowed_networks:
                raise PermissionDenied(f"network '{name}' is not one this server lets sessions join "
                                       "(its operator lists them in sessions.networks)")
    return tuple(names)


def plan_session(
    spec: SessionSpec,
    driver: Driver,
    image: str,
    settings: EngineSettings,
    scope: Scope,
    *,
    session_id: str,
    created: str,
    version: str,
    project: ProjectAccess | None = None,
    mount: str = "",
    default_volumes: tuple[Volume, ...] = (),
    persist_root: Path | None = None,
    once: str = "",
    mcps: tuple[McpServer, ...] = (),
    salt: bytes = b"",
) -> SessionPlan:
    """Decide everything about a new session. ``mount`` is the caller's directory, already made
    absolute and checked to exist; ``default_volumes`` the configured ones, parsed. ``once``: the
    session exists to run this one shell command, and ends (and is removed) with it. ``mcps``: the
    MCP servers to attach, looked up in the caller's store. ``salt``: random bytes that make the
    placeholders of API keys kept out of the session unguessable."""
    manifest = driver.manifest
    checks.check_name(spec.name)
    if not settings.host_access:
        if spec.mount:
            raise InvalidArgument("a local directory cannot be mounted into a remote session; use a project URL")
        if spec.volumes:
            raise InvalidArgument("host paths cannot be mounted into a remote session (-v); use a project URL")
    if spec.mount and spec.project:
        raise InvalidArgument("give either a directory to mount or a project URL, not both")
    volumes = [*spec.volumes, *(default_volumes if settings.host_access else ())]
    if len(volumes) > MAX_VOLUMES:
        raise InvalidArgument(f"-v: at most {MAX_VOLUMES} volumes")
    if len(spec.ports) > MAX_PORTS:
        raise InvalidArgument(f"--port: at most {MAX_PORTS} ports")
    ports = sorted({checks.parse_port(p) for p in [*spec.ports, *settings.default_ports]})
    pids, cpus, memory = _limits(spec, settings)
    plain, private = environment.split_environment(manifest, settings.service_env, spec.env)
    owner = scope.owner
    policy, egress_warnings = _egress(spec, driver, settings, mcps)
    network = owner_network(settings, owner, internal=policy is not None)
    extra_networks = _networks(spec, settings, network)
    ssh_key = checks.check_ssh_key(spec.ssh_public_key) if spec.ssh else ""

    container = f"{labels.CONTAINER_PREFIX}{session_id}"
    env = {**plain, "MC_SESSION_ID": session_id, "MC_UID": str(settings.uid), "MC_GID": str(settings.gid)}
    files: dict[str, bytes] = {}
    project_id = ""
    if project is not None:
        project_id = project.id
        project_env, files = environment.project_environment(project)
        env.update(project_env)
        if settings.ssh_scan:
            env["MC_SSH_SCAN"] = " ".join(settings.ssh_scan)
    warnings: list[str] = list(egress_warnings)
    model = spec.model or _default_model(spec.default_model, driver, private)
    if model:
        model_env, warning = _model_env(model, driver, plain, private)
        env.update(model_env)
        warnings += [warning] if warning else []
    sidecars: tuple[McpSidecar, ...] = ()
    if mcps:
        sidecars = _wire_mcps(mcps, driver, env, private, files, f"{labels.CONTAINER_PREFIX}{session_id}", settings)
    egress = None
    relay = None
    if settings.langfuse is not None and manifest.telemetry is not None:
        relay = telemetry.relay_for(settings.langfuse, settings.instance, settings.egress_network)
        token = relay.token(session_id, owner, driver.name, project.id if project is not None else "")
        telemetry.session_env(relay, manifest.telemetry, token, driver.name, env, private)
    ports = sorted({*ports, *((22,) if spec.ssh else ())})
    if policy is not None:
        keys = _keep_keys_out(private, salt or session_id.encode())
        # a network that routes out would be a way around the proxy: the proxy joins the extra
        # networks instead, and the session reaches their hosts through it, under its policy
        egress = EgressProxy(f"{container}-egress", policy, settings.egress_network, tuple(ports), keys=keys,
                             upstream_ca=settings.egress_ca, networks=extra_networks)
        ports, extra_networks = [], ()
        env.update(_proxy_env(egress, sidecars, relay))
    if private:
        files[contract.ENV_FILE] = contract.env_file(private)
    if ssh_key:
        env["MC_SSH"] = "1"
        env["MC_SSH_AUTHORIZED_KEY"] = ssh_key
    if once:
        checks.check_command([once])
        env["MC_ONCE"] = once

    mounts = [Mount("tmpfs", contract.RUN_DIR)]
    if files:  # kept for a start after a stop, in a volume of its own: never in an export or commit of the container
        mounts.append(Mount("volume", contract.INCOMING_DIR))
    if mount:
        mounts.append(Mount("bind", contract.APP_DIR, mount))
    persist_key = project_id or mount
    persist_dir = None
    if persist_key:
        env["MC_CONFIG_DIR"] = contract.CONFIG_DIR
        env["MC_DRIVER_CONFIG_DIR"] = f"{contract.CONFIG_DIR}/{driver.name}"
        config_mount, persist_dir = persist_mount(settings, scope, persist_key, persist_root)
        mounts.append(config_mount)
    mounts += [Mount("bind" if v.source.startswith("/") else "volume", v.target, v.source, v.read_only)
               for v in volumes]

    session_labels = {
        labels.SESSION: session_id, labels.NAME: spec.name or session_id, labels.DRIVER: driver.name,
        labels.PROJECT: project_id, labels.MOUNT: mount, labels.CREATED: created, labels.OWNER: owner,
        labels.USER: f"{settings.uid}:{settings.gid}", labels.CONNECT: json.dumps(manifest.connect),
        labels.SSH: "1" if spec.ssh else "", labels.VERSION: version,
    }
    if spec.remove_on_exit or once:
        session_labels[labels.REMOVE] = "1"
    if mcps:
        session_labels[labels.MCPS] = ",".join(s.name for s in mcps)
    if policy is not None:
        session_labels[labels.EGRESS] = policy.label
    log_options: tuple[str, ...] = ()
    goes_to = []
    if settings.fluentd is not None:
        log_options = tuple(settings.fluentd.options(session_labels))
        goes_to.append(f"fluentd {settings.fluentd.address}")
    if settings.langfuse is not None:
        goes_to.append(f"langfuse {settings.langfuse.url}" + (" (with the tool's spans)" if relay else ""))
    if goes_to:
        session_labels[labels.LOGS] = ", ".join(goes_to)
    if settings.instance:
        session_labels[labels.INSTANCE] = settings.instance
    storage = _storage(spec, settings)
    if storage:
        session_labels[labels.STORAGE] = storage
    ttl, idle = _lifetime(spec, settings, bool(once))
    if ttl:
        from datetime import datetime

        deadline = int(datetime.fromisoformat(created).timestamp()) + ttl
        session_labels[labels.DEADLINE] = env["MC_DEADLINE"] = str(deadline)
    if idle:
        session_labels[labels.IDLE] = env["MC_IDLE_TIMEOUT"] = str(idle)
    return SessionPlan(
        session_id=session_id, container=container, image=image, hostname=spec.name or container,
        network=network, network_owner=owner if network != settings.network else "",
        extra_networks=extra_networks, labels=session_labels, env=env, secret_files=files, mounts=tuple(mounts),
        ports=tuple(ports), caps=SESSION_CAPS + (SSH_CAPS if spec.ssh else ()),
        pids_limit=pids, cpus=cpus, memory=memory, storage=storage, log_options=log_options, persist_dir=persist_dir,
        owner=owner,
        auto_remove=bool(once),
        warnings=tuple(warnings), sidecars=sidecars, egress=egress, relay=relay,
    )


def _egress(spec: SessionSpec, driver: Driver, settings: EngineSettings, mcps: tuple[McpServer, ...]
            ) -> tuple[EgressPolicy | None, list[str]]:
    """The session's egress policy: the caller's names, the configured ones, the driver's needs and
    its remote MCP servers' hosts (see ``egress.decide``)."""
    from urllib.parse import urlsplit

    from mc.engine import egress

    hosts = tuple(dict.fromkeys(h for h in (urlsplit(s.url).hostname for s in mcps if s.url) if h))
    names = tuple(h for h in hosts if not egress.is_address(h))
    policy, warnings = egress.decide(list(spec.allow_domains), spec.egress_exact, settings.egress,
                                     settings.egress_widen, tuple(driver.manifest.egress), names)
    if policy is not None and not policy.open:  # a policy names hosts: an address is out of reach
        warnings += [f"MCP server at {h} is out of reach under the egress policy (an address, not a name)"
                     for h in hosts if h not in names]
    return policy, warnings


def _keep_keys_out(private: dict[str, str], salt: bytes) -> tuple[KeySwap, ...]:
    """Replace the session's provider API keys by placeholders of the same form (the provider's
    prefix, then random characters); the real ones go to its egress proxy."""
    import hmac

    from mc.config.envmap import KEY_DOMAINS

    swaps = []
    for name, domains in KEY_DOMAINS.items():
        value = private.get(name, "")
        if not value:
            continue
        cut = max(value.rfind("-", 0, 16), value.rfind("_", 0, 16)) + 1
        digest = hmac.new(salt, name.encode(), hashlib.sha256).hexdigest()
        placeholder = value[:cut] + (digest * 2)[:max(len(value) - cut, 24)]
        private[name] = placeholder
        swaps.append(KeySwap(name, placeholder, value, domains))
    return tuple(swaps)


def _proxy_env(proxy: EgressProxy, sidecars: tuple[McpSidecar, ...], relay: Relay | None) -> dict[str, str]:
    """How every tool in the session finds its proxy. Node's fetch reads the variables only when
    told to; ssh goes through it by mc-init's ProxyCommand (MC_EGRESS_PROXY). Its neighbours (MCP
    servers, the OTLP relay) are reached directly."""
    url = f"http://{proxy.address}"
    neighbours = [name for c in sidecars for name in (c.container, c.bridge) if name] + ([relay.name] if relay else [])
    direct = ",".join(["localhost", "127.0.0.1", *neighbours])
    env = {"HTTP_PROXY": url, "HTTPS_PROXY": url, "http_proxy": url, "https_proxy": url,
           "NO_PROXY": direct, "no_proxy": direct, "NODE_USE_ENV_PROXY": "1", "MC_EGRESS_PROXY": proxy.address}
    if proxy.keys:  # the proxy answers the keys' APIs with certificates of its own CA: trust it
        env["MC_EGRESS_CA"] = "1"
        for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO",
                     "PIP_CERT"):
            env[name] = contract.CA_BUNDLE
    return env


def _default_model(value: str, driver: Driver, private: dict[str, str]) -> str:
    """``defaults.model`` where it applies: the driver takes its provider and no -e chooses already."""
    support = driver.manifest.model
    if not value or support is None or value.split("/", 1)[0] not in support.providers:
        return ""
    return "" if set(support.env) & set(private) else value


def _model_env(value: str, driver: Driver, plain: dict[str, str], private: dict[str, str]
               ) -> tuple[dict[str, str], str]:
    """The variables that tell the driver's tool to use ``PROVIDER/MODEL`` (over the driver's
    defaults), and a warning when the provider's API key is not among the session's variables (a
    login kept in the persistent config may still serve, so it is not an error)."""
    provider, model = checks.check_model(value)
    support = driver.manifest.model
    if support is None:
        raise InvalidArgument(f"driver {driver.name} does not take --model (its tool is set up inside the session)")
    if provider not in support.providers:
        raise InvalidArgument(f"--model {value}: driver {driver.name} cannot use provider '{provider}' "
                              f"(it takes {', '.join(sorted(support.providers))})")
    clash = sorted(set(support.env) & set(private))
    if clash:
        raise InvalidArgument(f"--model and -e {clash[0]} both choose the model; give one")
    env = {k: v.replace("{provider}", provider).replace("{model}", model) for k, v in support.env.items()}
    key = support.providers[provider]
    warning = ""
    if key and not (plain.get(key) or private.get(key)):
        warning = f"{key} is not set: {driver.name} needs it, or a login of its own, to use {provider}"
    return env, warning


def _wire_mcps(servers: tuple[McpServer, ...], driver: Driver, env: dict[str, str], private: dict[str, str],
               files: dict[str, bytes], container: str, settings: EngineSettings) -> tuple[McpSidecar, ...]:
    """Tell the driver's tool about the session's MCP servers, the way its manifest says; the ones
    in containers become sidecars of the session."""
    from mc.config.schema import is_secret_name
    from mc.engine import mcpwire
    from mc.mcp.servers import MAX_PER_SESSION

    fmt = driver.manifest.mcp
    if not fmt:
        raise InvalidArgument(f"driver {driver.name} does not take MCP servers (--mcp {servers[0].name})")
    if len(servers) > MAX_PER_SESSION:
        raise InvalidArgument(f"--mcp: at most {MAX_PER_SESSION} MCP servers in a session")
    for server in servers:
        checks.check_mcp_image(server.image, settings)
    sidecars = tuple(
        McpSidecar(s.name, f"{container}-mcp-{s.name}", s.image, tuple(s.command),
                   {k: v for k, v in s.env.items() if not is_secret_name(k)},
                   {k: v for k, v in s.env.items() if is_secret_name(k)}, s.port, s.path)
        for s in servers if s.image)
    urls = {c.name: c.url for c in sidecars}
    endpoints = [mcpwire.Endpoint(s.name, urls.get(s.name, s.url), s.transport, dict(s.headers)) for s in servers]
    if fmt == "opencode" and mcpwire.OPENCODE_VAR in private:
        raise InvalidArgument(f"--mcp and -e {mcpwire.OPENCODE_VAR} both set opencode's config; give one")
    wiring = mcpwire.wire(fmt, endpoints, env)
    clash = sorted(set(wiring.private) & set(private))
    if clash:
        raise InvalidArgument(f"-e {clash[0]}: that name carries an MCP server's header in this session; rename it")
    for name in wiring.private:
        env.pop(name, None)
    env.update(wiring.env)
    private.update(wiring.private)
    if sidecars:
        env["MC_MCP_WAIT"] = " ".join(c.url.split("/")[2] for c in sidecars)
    if wiring.file:
        files[contract.MCP_FILE] = wiring.file
        env["MC_MCP_FILE"] = f"{contract.SECRETS_DIR}/{contract.MCP_FILE}"
    return sidecars
