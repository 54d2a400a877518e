"""Stopping a session and starting it again: the docker calls behind ``mc session stop|start``.

A stopped session keeps its container (its filesystem, labels, mounts, networks) and the containers
beside it (its egress proxy, its MCP servers); starting it starts those first, then the session,
whose init runs again (mc-init.sh: each step finds what it did before; the secrets come back from
the session's own anonymous volume, root-only, at INCOMING_DIR). A network removed while the
session was stopped is made again and the container joined to it anew: docker would otherwise
refuse the start, looking for the old network's id.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from mc import contract
from mc.docker import DockerError
from mc.docker.errors import first_line
from mc.engine import checks, labels
from mc.engine.networks import ensure_network
from mc.errors import Conflict, InvalidArgument, McError, NotFound

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
    if session.deadline and session.deadline <= time.time():
        raise Conflict(f"session {session.id}: its lifetime has ended; mc session extend {session.id} DURATION first")
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


# -- lifetimes ---------------------------------------------------------------------------------------
# A session's deadline is its label (as created) and, once extended, the file the session's own
# init reads (DEADLINE_FILE, in its container) and a record here (labels cannot change): one small
# file per extended session under the engine's state directory, removed with the session.

def _record(state_dir: Path, session_id: str) -> Path:
    return state_dir / "deadlines" / session_id


def extended(state_dir: Path, session_id: str) -> int:
    """The deadline an extension set (0 for none)."""
    try:
        return int(_record(state_dir, session_id).read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def extend(docker: Docker, session: Session, seconds: int, max_lifetime: int, state_dir: Path) -> int:
    """Move the deadline ``seconds`` later (from now when it has passed), never beyond ``max_lifetime``
    after the creation; write it into the container (running or stopped) and record it. Returns it."""
    deadline = moved_deadline(session, seconds, max_lifetime)
    write_deadline(docker, session, deadline)
    record = _record(state_dir, session.id)
    record.parent.mkdir(parents=True, exist_ok=True)
    tmp = record.with_suffix(".tmp")
    tmp.write_text(f"{deadline}\n")
    tmp.replace(record)
    return deadline


def write_deadline(docker: Docker, session: Session, deadline: int) -> None:
    """Where the session's init reads its deadline (``docker``: the engine that runs it)."""
    from mc.engine.environment import dir_tar

    content = {Path(contract.DEADLINE_FILE).name: f"{deadline}\n".encode()}
    docker.run("cp", "-", f"{session.container}:/", input=dir_tar(contract.STATE_DIR, content, 0o755, 0o644),
               timeout=30)


def moved_deadline(session: Session, seconds: int, max_lifetime: int) -> int:
    """The session's deadline ``seconds`` later (from now when it has passed), checked: it has a
    lifetime, and the new end is within ``max_lifetime`` of its creation."""
    from datetime import datetime

    if not session.deadline:
        raise Conflict(f"session {session.id} has no lifetime to extend (give --ttl when creating it)")
    check_stoppable(session)
    if session.status == "expired":
        raise Conflict(f"session {session.id} has expired (it is being closed)")
    deadline = max(session.deadline, int(time.time())) + seconds
    if max_lifetime and session.created:
        born = int(datetime.fromisoformat(session.created).timestamp())
        if deadline > born + max_lifetime:
            left = born + max_lifetime - max(session.deadline, int(time.time()))
            raise InvalidArgument(f"extend {checks.format_duration(seconds)}: sessions here live at most "
                                  f"{checks.format_duration(max_lifetime)}; this one may get "
                                  f"{checks.format_duration(max(left, 0))} more")
    return deadline


def forget_deadlines(state_dir: Path, session_ids: list[str]) -> None:
    for sid in session_ids:
        _record(state_dir, sid).unlink(missing_ok=True)
