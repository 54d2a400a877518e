"""Sessions from `docker ps`, and which session a reference names. Pure: no docker call here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from mc.contract import EXPIRED_EXIT, FAILED_EXIT
from mc.engine import labels
from mc.engine.models import Port, Session, Status
from mc.engine.scope import Scope
from mc.errors import Conflict, InvalidArgument, NotFound

MAX_REF = 128
_PORT_RE = re.compile(r"([0-9.]+|\[[0-9a-f:]*\]|::):(\d+)->(\d+)/tcp")
_EXIT_RE = re.compile(r"Exited \((-?\d+)\)")
STOP_EXITS = (0, 143)  # mc-init's own stop, or SIGTERM through docker's init

# One docker call lists sessions: each line a JSON object with exactly what we need.
LABEL_FIELDS = {
    "id": labels.SESSION, "name": labels.NAME, "driver": labels.DRIVER, "project": labels.PROJECT,
    "mount": labels.MOUNT, "created": labels.CREATED, "owner": labels.OWNER, "user": labels.USER,
    "connect": labels.CONNECT, "ssh": labels.SSH, "rm": labels.REMOVE, "mcps": labels.MCPS,
    "egress": labels.EGRESS, "logs": labels.LOGS, "deadline": labels.DEADLINE, "idle": labels.IDLE,
    "storage": labels.STORAGE,
}
LIST_FORMAT = (
    '{"container":{{json .Names}},"state":{{json .State}},"status":{{json .Status}},"ports":{{json .Ports}}'
    + "".join(f',"{k}":{{{{json (.Label "{v}")}}}}' for k, v in LABEL_FIELDS.items())
    + "}"
)
_STATES: dict[str, Status] = {"created": "created", "running": "running", "restarting": "restarting",
                              "paused": "paused", "dead": "dead"}


def status_of(state: str, exit_code: int | None) -> Status:
    if state == "exited":
        if exit_code == FAILED_EXIT:
            return "failed"
        if exit_code == EXPIRED_EXIT:
            return "expired"
        return "stopped" if exit_code in STOP_EXITS else "exited"
    return _STATES.get(state, "other")


def session_from_row(row: dict[str, Any]) -> Session:
    """A row of ``docker ps --format LIST_FORMAT`` (or the same keys from labels) as a Session."""
    state = row.get("state", "")
    exit_code = None
    if state == "exited":
        m = _EXIT_RE.search(row.get("status", ""))
        exit_code = int(m.group(1)) if m else None
    try:
        import json  # here: a command in a session by its full id lists nothing

        connect = json.loads(row.get("connect") or "[]")
    except ValueError:
        connect = []
    return Session(
        id=row.get("id", ""),
        name=row.get("name", ""),
        driver=row.get("driver", ""),
        status=status_of(state, exit_code),
        project=row.get("project", ""),
        mount=row.get("mount", ""),
        created=row.get("created", ""),
        exit_code=exit_code,
        ports=ports_of(row.get("ports", "")),
        container=row.get("container", ""),
        owner=row.get("owner", ""),
        user=row.get("user", ""),
        ssh=row.get("ssh") == "1",
        connect=connect if isinstance(connect, list) else [],
        remove_on_exit=row.get("rm") == "1",
        mcps=[n for n in (row.get("mcps") or "").split(",") if n],
        logs=row.get("logs") or "",
        egress=None if not row.get("egress") else [d for d in row["egress"].split(",") if d and d != "-"],
        deadline=_number(row.get("deadline")),
        idle_timeout=_number(row.get("idle")),
        storage=row.get("storage") or "",
    )


def _number(value: object) -> int:
    return int(value) if isinstance(value, str) and value.isdigit() else 0


def ports_of(row_ports: str) -> list[Port]:
    """The published ports in a ``docker ps`` Ports column."""
    ports = {Port(int(c), h.strip("[]"), int(p)) for h, p, c in _PORT_RE.findall(row_ports)}
    return sorted(ports, key=lambda p: (p.container_port, p.host_ip))


def resolve_ref(sessions: Sequence[Session], ref: str, scope: Scope) -> Session:
    """The session ``ref`` names among ``sessions``: an exact id (or container name) first, then one
    of the caller's own names, then a unique id prefix. Sessions the scope does not see do not exist
    for it (no "it is someone else's" answer that would tell they exist)."""
    if not ref:
        raise InvalidArgument("a session id is required")
    if len(ref) > MAX_REF or not ref.isprintable():
        raise InvalidArgument("a session id, prefix or name is a short printable word")
    visible = [s for s in sessions if scope.sees(s)]
    by_id = [s for s in visible if ref in (s.id, s.container)]
    if len(by_id) == 1:
        return by_id[0]
    by_name = [s for s in visible if s.name == ref and scope.owns(s)]
    if len(by_name) == 1 and not by_id:
        return by_name[0]
    prefix = [s for s in visible if s.id.startswith(ref)]
    if len(prefix) == 1 and not by_id and not by_name:
        return prefix[0]
    matches = by_id or by_name or prefix
    if matches:
        ids = ", ".join(s.id for s in matches)
        raise Conflict(f"'{ref}' matches several sessions ({ids}); give more of the id")
    raise NotFound(f"no session '{ref}' (see mc session list)")
