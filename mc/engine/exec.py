"""Running commands in a session: the ``docker exec`` arguments, and why a session failed to start."""

from __future__ import annotations

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


def failure_reason(docker: Docker, session: Session) -> str | None:
    """Why a session failed to start, from the FAILED line mc-init.sh logged; None when it did not
    fail (a command in it exited with 97 itself)."""
    out = docker.run("logs", "--tail", "20", session.container, check=False)
    text = (out.stdout + out.stderr).decode(errors="replace")
    reasons = [ln.split("FAILED:", 1)[1].strip() for ln in text.splitlines() if "[mc-init] FAILED:" in ln]
    if not reasons:
        return None
    return f"session {session.id} failed to start: {reasons[-1]} (mc session logs {session.id})"
