"""Stopping a session and starting it again: the docker calls behind ``mc session stop|start``.

A stopped session keeps its container (its filesystem, labels, mounts, networks) and the containers
beside it (its egress proxy, its MCP servers); starting it starts those first, then the session,
whose init runs again (mc-init.sh: each step finds what it did before; the secrets come back from
the container's own root-only copy). A network removed while the session was stopped (mcd prunes
an owner's network once no session runs on it) is made again and the container joined to it anew:
docker would otherwise refuse the start, looking for the old network's id.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from mc.docker import DockerError
from mc.docker.errors import first_line
from mc.engine import labels
from mc.engine.networks import ensure_network
from mc.errors import Conflict, McError, NotFound

if TYPE_CHECKING:
    from mc.docker import Docker
    from mc.engine.models import Session
    from mc.engine.settings import EngineSettings

STOP_GRACE = 10  # seconds docker gives a session to end before it is killed
STARTABLE = ("stopped", "exited", "failed", "created")


def check_stoppable(session: Session) -> None:
    if session.remove_on_exit:
        raise Conflict(f"session {session.id} was made for one command (--rm): close it instead")
    if session.status == "gone":
        raise Conflict(f"session {session.id} is gone (its container was removed): close it")


def check_startable(session: Session) -> None:
    check_stoppable(session)
    if session.status in ("running", "restarting"):
        raise Conflict(f"session {session.id} is already running")
    if session.status == "paused":
        raise Conflict(f"session {session.id} is paused by docker (docker unpause {session.container})")
    if session.status not in STARTABLE:
        raise Conflict(f"session {session.id} cannot be started from '{session.status}'")


def stop(docker: Docker, sessions: list[Session]) -> None:
    """Stop the sessions (gracefully, then killed after ``STOP_GRACE``), then what runs beside them."""
    running = [s.container for s in sessions if s.status in ("running", "restarting", "paused")]
    if running:
        docker.run("stop", "-t", str(STOP_GRACE), *running, timeout=STOP_GRACE + 60)
    beside = _beside(docker, [s.id for s in sessions], running_only=True)
    if beside:
        docker.run("stop", "-t", "2", *beside, check=False, timeout=60)


def start(docker: Docker, session: Session, settings: EngineSettings) -> None:
    """Start what runs beside the session (egress proxy and MCP bridges before the servers that
    use them), then the session itself."""
    for name in sorted(_beside(docker, [session.id]), key=_start_order):
        _start(docker, name, session, settings)
    _start(docker, session.container, session, settings)


def _start_order(name: str) -> int:
    return 0 if name.endswith("-egress") else 1 if name.endswith("-bridge") else 2


def _beside(docker: Docker, session_ids: list[str], running_only: bool = False) -> list[str]:
    """The containers beside these sessions (label ``mc.sidecar-of``), by name."""
    wanted = set(session_ids)
    fmt = f'{{{{.Names}}}} {{{{.Label "{labels.SIDECAR_OF}"}}}}'
    out = docker.text("ps", *([] if running_only else ["-a"]), "--filter", f"label={labels.SIDECAR_OF}",
                      "--format", fmt, timeout=30)
    rows = [line.split() for line in out.splitlines()]
    return [row[0] for row in rows if len(row) == 2 and row[1] in wanted]


def _start(docker: Docker, container: str, session: Session, settings: EngineSettings) -> None:
    for attempt in range(2):
        try:
            docker.run("start", container, timeout=120)
            return
        except DockerError as exc:
            if attempt or not ("network" in exc.stderr and "not found" in exc.stderr):
                raise McError(f"session {session.id}: {first_line(exc.stderr) or exc}") from None
            _rejoin(docker, container, session, settings)


def _rejoin(docker: Docker, container: str, session: Session, settings: EngineSettings) -> None:
    """Make mc's networks of the container again where they are gone, and join it to them anew
    (a network of the caller's that is gone is theirs to make)."""
    from mc.engine.plan import owner_network

    out = docker.text("inspect", "--format", "{{json .NetworkSettings.Networks}}", container, timeout=30)
    networks = json.loads(out or "{}") or {}
    present = set(docker.text("network", "ls", "--format", "{{.Name}}", timeout=30).split())
    own = owner_network(settings, session.owner)
    ours = {settings.network: ("", False, False), own: (session.owner if own != settings.network else "", False, False),
            f"{own}-internal": (session.owner if own != settings.network else "", True, False),
            settings.egress_network: ("", False, True)}
    for name in networks:
        if name in present:
            continue
        if name not in ours:
            raise NotFound(f"session {session.id}: network '{name}' does not exist (docker network create it first)")
        owner, internal, isolated = ours[name]
        ensure_network(docker, name, owner, internal=internal, isolated=isolated)
        docker.run("network", "disconnect", "-f", name, container, check=False, timeout=30)
        docker.run("network", "connect", name, container, timeout=30)
