"""Running commands in a session: the ``docker exec`` arguments, and why a session failed to start."""

from __future__ import annotations

import time

from mc import contract
from mc.docker import Docker
from mc.engine.models import Session, TerminalFacts
from mc.errors import Conflict

READY_TIMEOUT = 600.0  # mc-exec waits as long for the init (see drivers/mc-exec)


def not_running(session: Session) -> str:
    if session.status == "failed":
        return f"session {session.id} failed to start; see mc session logs {session.id}"
    return f"session {session.id} is not running ({session.status})"


def exec_argv(session: Session, command: list[str], *, tty: bool, interactive: bool,
              terminal: TerminalFacts | None = None, env: dict[str, str] | None = None) -> list[str]:
    """The ``docker exec`` arguments running ``command`` as the session user through mc-exec (which
    waits for the init, takes the session's environment and starts in /app)."""
    if session.status != "running":
        raise Conflict(not_running(session))
    args = ["exec"]
    if interactive:
        args.append("-i")
    if tty:
        args.append("-t")
        args += ["-e", f"TERM={(terminal.term if terminal else '') or 'xterm-256color'}"]
        if terminal and terminal.rows and terminal.cols:
            args += ["-e", f"MC_TTY_SIZE={terminal.rows},{terminal.cols}"]
    for key, value in {"MC_CALLER": "mc", **(env or {})}.items():  # mc-exec: mc reports a failed start
        args += ["-e", f"{key}={value}"]
    args += ["-u", session.user or "0:0", session.container, contract.EXEC, *command]
    return args


# A command's end that may point at a start that failed, and how long to wait then for the container
# to end (its log is complete only then): mc-exec's 97 means it saw the init fail; an exec that docker
# could not start (126) or that was killed (137) may have met a container that was just ending. A
# session whose log says it became ready cannot have failed to start: no wait.
_SETTLE = {contract.FAILED_EXIT: 3.0, 126: 1.0, 137: 1.0}
_READY = "[mc-init] session ready"


def failure_reason(docker: Docker, session: Session, code: int | None = None) -> str | None:
    """Why a session failed to start, from the FAILED line mc-init.sh logged; None when it did not
    fail (a command in it ended so itself). With the exit ``code`` of a command that ended
    abnormally, a container that is just ending gets a moment to finish its log."""
    reason, ready = _logged(docker, session)
    deadline = time.monotonic() + (0.0 if ready else _SETTLE.get(code or 0, 0.0))
    while reason is None and time.monotonic() < deadline:
        state = docker.run("inspect", "-f", "{{.State.Running}}", session.container, check=False)
        if state.returncode != 0:
            return None
        if state.stdout.strip() == b"false":  # ended: docker has written all of its log
            return _logged(docker, session)[0]
        time.sleep(0.05)
    return reason


def _logged(docker: Docker, session: Session) -> tuple[str | None, bool]:
    """The reason of a failed start in the session's log, and whether it says the session became ready."""
    out = docker.run("logs", "--tail", "20", session.container, check=False)
    text = (out.stdout + out.stderr).decode(errors="replace")
    reasons = [ln.split("FAILED:", 1)[1].strip() for ln in text.splitlines() if "[mc-init] FAILED:" in ln]
    if not reasons:
        return None, _READY in text
    return f"session {session.id} failed to start: {reasons[-1]} (mc session logs {session.id})", False
