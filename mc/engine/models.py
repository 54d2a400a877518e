"""Plain data the engine speaks (proto types never get past the adapters)."""

from __future__ import annotations

import builtins
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# What `mc session list` shows. "stopped": ended by a stop (mc stop, docker stop, exit 0/143);
# "failed": its init failed (exit 97); "expired": its lifetime ended (exit 98; mc closes it);
# "exited": anything else ended it; "gone": its container vanished behind mcd's back. Docker's own
# "restarting", "paused" and "dead" pass through.
Status = Literal["created", "running", "stopped", "failed", "expired", "exited", "gone", "restarting", "paused",
                 "dead", "lost", "other"]


@dataclass(frozen=True)
class Port:
    """A published port."""

    container_port: int
    host_ip: str
    host_port: int

    def __str__(self) -> str:
        return f"{self.host_ip}:{self.host_port}->{self.container_port}"


@dataclass(frozen=True)
class Volume:
    """A volume a caller asked for."""

    source: str  # absolute host path or a named volume
    target: str  # absolute path in the container
    read_only: bool = False

    def __str__(self) -> str:
        return f"{self.source}:{self.target}{':ro' if self.read_only else ''}"


@dataclass
class SessionSpec:
    """What a caller asks for. The CLI only parses what needs the caller's machine (-e KEY from its
    environment, -v paths against its directory); every check is the engine's (see plan.py), because
    mcd takes the same spec from the wire."""

    driver: str = ""
    name: str = ""
    project: str = ""  # git URL to clone into /app
    mount: str = ""  # host directory to mount at /app (local mode only)
    networks: builtins.list[str] = field(default_factory=builtins.list)
    env: dict[str, str] = field(default_factory=dict)
    volumes: builtins.list[Volume] = field(default_factory=builtins.list)
    ports: builtins.list[int] = field(default_factory=builtins.list)
    cpus: str = ""
    memory: str = ""
    pids_limit: int = 0
    ssh: bool = False
    ssh_public_key: str = ""
    remove_on_exit: bool = False  # --rm with --run: the engine removes the session when the command ends
    model: str = ""  # PROVIDER/MODEL for the driver's tool (its manifest says how it is told)
    default_model: str = ""  # defaults.model: used without --model where the driver takes its provider
    # and no -e sets the same variable (a default is a preference; --model a demand)
    mcps: builtins.list[str] = field(default_factory=builtins.list)  # MCP servers to attach (by name)
    default_mcps: builtins.list[str] = field(default_factory=builtins.list)  # defaults.mcps: attached
    # where the driver takes MCP servers and they exist; otherwise a warning, not an error
    allow_domains: builtins.list[str] = field(default_factory=builtins.list)  # --allow-domain: an egress
    # policy (the session's only way out is a proxy that lets these names through)
    egress_exact: bool = False  # only allow_domains: not the defaults, the driver's or the MCP servers' hosts
    ttl: int = 0  # seconds it lives (then closed); 0: the configured maximum, or forever
    storage: str = ""  # the most its own files may take (10g), where the engine can enforce it; "": the default
    idle_timeout: int | None = None  # seconds idle before it stops; None: the configured default; 0: never


@dataclass
class Session:
    """A session as listed: its container, labels and state."""

    id: str
    name: str
    driver: str
    status: Status
    project: str = ""
    mount: str = ""
    created: str = ""
    exit_code: int | None = None
    ports: builtins.list[Port] = field(default_factory=builtins.list)
    container: str = ""
    owner: str = ""
    user: str = ""  # uid:gid of the session user
    ssh: bool = False
    connect: builtins.list[str] = field(default_factory=builtins.list)
    remove_on_exit: bool = False  # created with --rm --run: removed when its command ends
    mcps: builtins.list[str] = field(default_factory=builtins.list)  # its MCP servers
    logs: str = ""  # where its output goes besides docker's own log ("fluentd tcp://host:port"), or ""
    egress: builtins.list[str] | None = None  # None: no policy; else the names it may reach (["*"]: any public one)
    deadline: int = 0  # when its lifetime ends (Unix seconds), 0: never
    storage: str = ""  # the most its own files may take ("" for no limit)
    idle_timeout: int = 0  # seconds idle before it stops by itself, 0: never
    reason: str = ""  # why it is in its state, when the engine says (a cluster: "its node w2 is down")
    node: str = ""  # on a cluster: the address of the node whose engine runs it (not shown)
    creating: str = ""  # on a cluster: the mcd replica still making it (not shown)
    config: str = ""  # on a cluster: the name of its persistent config in mcd's vault (not shown)

    @property
    def running(self) -> bool:
        return self.status == "running"

    def ssh_command(self) -> str:
        if not self.ssh:
            return ""
        login = "root" if self.user.startswith("0:") else "mc"
        for p in self.ports:
            if p.container_port == 22:
                return f"ssh -p {p.host_port} {login}@{p.host_ip}"
        return ""

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON shape of ``--output json``."""
        data = asdict(self)
        data["ports"] = [str(p) for p in self.ports]
        data["ssh"] = self.ssh_command()
        del data["connect"], data["user"], data["remove_on_exit"], data["node"], data["creating"], data["config"]
        return data


@dataclass(frozen=True)
class SessionEvent:
    """A change of a session's container, as the engine reports it (``destroy``, ``create``, ...)."""

    action: str
    session_id: str
    owner: str
    time_ns: int = 0
    exit_code: int | None = None  # with ``die``


@dataclass(frozen=True)
class ExecResult:
    """How a command run in a session ended: its exit code, or a detach (Ctrl-P Ctrl-Q)."""

    code: int
    detached: bool = False


@dataclass(frozen=True)
class TerminalFacts:
    """The caller's terminal, as the caller measured it (the engine never reads a terminal)."""

    term: str = "xterm-256color"
    rows: int = 0
    cols: int = 0


@dataclass
class EnvVarInfo:
    """A variable a driver's manifest declares."""

    name: str
    description: str = ""
    required: bool = False
    default: str | None = None  # never shown for a sensitive variable
    sensitive: bool = False


@dataclass
class PersistentConfigInfo:
    """A persistent config a driver's manifest declares."""

    source: str
    target: str
    type: str = "directory"
    description: str = ""
    import_skip: builtins.list[str] = field(default_factory=builtins.list)  # caches, history: not imported


@dataclass
class ConfigImport:
    """What ``mc driver config import`` stored."""

    driver: str
    into: str  # the project or directory whose persistent config it is
    files: int
    size: int


@dataclass
class DriverInfo:
    """A driver as listed."""

    name: str
    description: str
    version: str
    source: str  # builtin | user | path
    path: str
    image: str  # tag the driver builds to
    built: bool | None = None
    environment: builtins.list[EnvVarInfo] = field(default_factory=builtins.list)
    ports: builtins.list[int] = field(default_factory=builtins.list)
    persistent_configs: builtins.list[PersistentConfigInfo] = field(default_factory=builtins.list)
    model_providers: builtins.list[str] = field(default_factory=builtins.list)  # what --model may name
    mcp: str = ""  # how its tool takes MCP servers (goose, claude, opencode); "": --mcp is refused
    egress: builtins.list[str] = field(default_factory=builtins.list)  # names its tool needs under a policy

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ProjectInfo:
    """A project as it may be shown or sent: never its secret."""

    id: str  # normalised URL
    url: str  # what git clones
    name: str = ""
    auth_type: str = "none"  # none | ssh | token
    public_key: str = ""
    fingerprint: str = ""
    username: str = ""
    owner: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ShellInfo:
    """A resumable shell (see mc.engine.shells): waiting for its client since ``waiting_since``
    (seconds since the epoch; 0 while one is attached), ended in ``grace_left`` seconds."""

    id: str
    session: str
    started: float
    waiting_since: float
    grace_left: int
