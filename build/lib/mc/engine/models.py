"""Plain data the engine speaks (proto types never get past the adapters)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Port:
    container_port: int
    host_ip: str
    host_port: int

    def __str__(self) -> str:
        return f"{self.host_ip}:{self.host_port}->{self.container_port}"


@dataclass(frozen=True)
class Volume:
    source: str  # absolute host path or a named volume
    target: str  # absolute path in the container
    read_only: bool = False

    def __str__(self) -> str:
        return f"{self.source}:{self.target}{':ro' if self.read_only else ''}"


@dataclass
class SessionSpec:
    """Everything needed to create a session. Validated by the engine, not the CLI."""

    driver: str = ""
    name: str = ""
    project: str = ""  # git URL to clone into /app
    mount: str = ""  # host directory to mount at /app (local mode only)
    networks: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    volumes: list[Volume] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    cpus: str = ""
    memory: str = ""
    pids_limit: int = 0
    ssh: bool = False
    ssh_public_key: str = ""
    owner: str = ""


@dataclass
class Session:
    id: str
    name: str
    driver: str
    status: str  # running | exited | failed | created | starting | gone
    project: str = ""
    mount: str = ""
    created: str = ""
    exit_code: int | None = None
    ports: list[Port] = field(default_factory=list)
    container: str = ""
    owner: str = ""
    user: str = ""
    ssh: bool = False
    connect: list[str] = field(default_factory=list)

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
        del data["connect"], data["user"]
        return data


@dataclass
class DriverInfo:
    name: str
    description: str
    version: str
    source: str  # builtin | user | path
    path: str
    image: str  # tag the driver builds to
    built: bool | None = None
    environment: list[dict[str, Any]] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    persistent_configs: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
