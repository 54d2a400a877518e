"""What the engine is told by whoever built it: the CLI (from the user's config) or mcd (from its
service config). One frozen value, so the engine never reads a config file, the environment of the
CLI, or a terminal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mc.engine.logfwd import Fluentd, Langfuse


@dataclass(frozen=True)
class Limits:
    """Resource limits of a session."""

    cpus: str = ""  # e.g. "1.5"; "" for none
    memory: str = ""  # e.g. "4g"; "" for none
    pids: int = 4096
    storage: str = ""  # the most a session's own files may take, e.g. "10g"; "" for none (needs an engine that can)


DEFAULT_SHELL_GRACE = 300  # a shell whose client went away waits five minutes for it
MAX_SHELL_GRACE = 86400


@dataclass(frozen=True)
class EngineSettings:
    """The engine's configuration, built by the CLI from the user config and by mcd from its own."""

    network: str = "mc-network"  # every session's network (mcd: the prefix of each owner's network)
    default_networks: tuple[str, ...] = ()  # extra networks every session joins
    default_volumes: tuple[str, ...] = ()  # SRC:DST[:ro] every local session mounts
    default_ports: tuple[int, ...] = ()
    service_env: Mapping[str, str] = field(default_factory=dict)  # configured API keys -> variables
    extra_ca: tuple[str, ...] = ()  # CA certificates for driver builds
    uid: int = 1000  # the session user
    gid: int = 1000
    data_root: Path | None = None  # local persistent config dirs (default: the XDG data dir)
    default_driver: str = "goose"
    limits: Limits = Limits()  # defaults; with limits_are_caps also the most a caller may ask for
    limits_are_caps: bool = False
    max_sessions_per_owner: int = 0  # live sessions one owner may have (0: no cap)
    host_access: bool = True  # local: mounts, host volumes, driver paths; never through mcd
    allowed_networks: tuple[str, ...] = ()  # without host access: the extra networks a caller may join
    mcp_images: tuple[str, ...] = ()  # without host access: images (fnmatch patterns) MCP servers may run
    network_per_owner: bool = False  # mcd: each owner's sessions on a network of their own
    ssh_scan: tuple[str, ...] = ()  # hosts whose ssh keys project sessions trust
    driver_dirs: Mapping[str, str] = field(default_factory=dict)  # extra drivers by name (mcd)
    driver_images: Mapping[str, str] = field(default_factory=dict)  # drivers that are registry images, by name (mcd)
    egress: tuple[str, ...] | None = None  # the egress policy of every session: None for none (direct
    # egress unless the caller names domains), ("*",) for any public name through the proxy, or names
    egress_widen: bool = True  # a caller may allow names beyond ``egress`` (never through mcd unless its operator says)
    egress_network: str = "mc-egress"  # egress proxies go out by it (made, with no traffic between its members)
    egress_ca: tuple[str, ...] = ()  # CA certificate files egress proxies trust upstream, besides the system's
    fluentd: Fluentd | None = None  # a collector every session's output also goes to
    langfuse: Langfuse | None = None  # a project that gets a trace of each connect/run/exec, and the tools' spans
    max_lifetime: int = 0  # seconds: the longest a session lives, and its lifetime unless it asks for less (0: none)
    idle_timeout: int = 0  # seconds idle before a session stops, unless it asks otherwise (0: never)
    shell_grace: int = DEFAULT_SHELL_GRACE  # local: how long a dropped connect's shell waits (0: ends with it)
    state_dir: Path | None = None  # what the engine keeps besides labels (extended deadlines); default: the data dir
    instance: str = ""  # mcd: its installation's id; its sessions are labelled so, and only they are listed
