"""pexpect helpers shared by the interactive tests (local, remote, binaries)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pexpect

from tests.conftest import mc_command

PROMPT = r"[#$] $"


def spawn(mc, *args: str, rows: int = 24, cols: int = 80, command: list[str] | None = None,
          cwd: str | Path | None = None, timeout: int = 120) -> pexpect.spawn:
    """mc (or ``command``) on a real pseudo-terminal of the given size."""
    cmd = command or mc_command()
    child = pexpect.spawn(cmd[0], [*cmd[1:], *args], env=mc.env, cwd=str(cwd or mc.home), encoding="utf-8",
                          timeout=timeout, dimensions=(rows, cols))
    child.delaybeforesend = None  # otherwise every send waits 50 ms
    return child


def typing_resize_exit(child: pexpect.spawn, size: tuple[int, int], new_size: tuple[int, int], code: int) -> None:
    """Typed input echoes, `stty size` follows the terminal's size and a resize, the exit code returns."""
    child.expect(PROMPT)
    child.sendline("echo typed-$((6*7))")
    child.expect("typed-42")
    child.sendline("stty size")
    child.expect(f"{size[0]} {size[1]}")
    child.setwinsize(*new_size)
    # bash redraws its prompt on SIGWINCH; type only after that. On a loaded machine docker exec
    # has been seen to drop a line typed during its own resize, so ask once more before failing.
    with contextlib.suppress(pexpect.TIMEOUT):
        child.expect(PROMPT, timeout=2)
    time.sleep(0.3)
    for attempt in range(2):
        child.sendline("stty size")
        try:
            child.expect(f"{new_size[0]} {new_size[1]}", timeout=15 if attempt == 0 else child.timeout)
            break
        except pexpect.TIMEOUT:
            if attempt:
                raise
    child.sendline(f"exit {code}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == code


def killed_client_resumes(mc, remote: tuple[str, ...], sid: str, grace: int) -> None:
    """A connect killed without a detach leaves its shell waiting; the next connect resumes it (its
    screen replayed, its variables set, the same process); `--new` is a fresh shell beside it; killed
    again, the shell ends after ``grace`` seconds with nothing of it left in the session."""
    def in_session(*command: str) -> int:
        return mc.run(*remote, "session", "exec", sid, "--", *command).returncode

    child = spawn(mc, *remote, "session", "connect", sid)
    child.expect(PROMPT)
    child.sendline("echo $$ > /tmp/killed.pid; export KEPT=kept-$((2+1))")
    child.sendline("echo MARK-$((2+1))")
    child.expect("MARK-3")
    child.kill(9)
    child.close()
    pid = mc.ok(*remote, "session", "exec", sid, "--", "cat", "/tmp/killed.pid").strip()
    fresh = spawn(mc, *remote, "session", "connect", sid, "--new")  # not the waiting one
    fresh.expect(PROMPT)
    fresh.sendline("echo [$KEPT]")
    fresh.expect(r"\[\]")
    fresh.sendline("exit 0")
    fresh.expect(pexpect.EOF)
    child = spawn(mc, *remote, "session", "connect", sid)
    child.expect("resuming shell")
    child.expect("MARK-3")  # its recent screen, replayed
    child.sendline("echo $KEPT $$")
    child.expect(f"kept-3 {pid}")
    child.sendline("sleep 1000 & echo $! > /tmp/child.pid; echo CHILD-$((1+1))")
    child.expect("CHILD-2")
    # killed again: after the grace period the shell is ended, nothing of it left in the session
    child.kill(9)
    child.close()
    time.sleep(grace)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and in_session("kill", "-0", pid) == 0:
        time.sleep(0.2)
    assert in_session("kill", "-0", pid) != 0
    orphan = mc.ok(*remote, "session", "exec", sid, "--", "cat", "/tmp/child.pid").strip()
    assert in_session("kill", "-0", orphan) != 0
    child = spawn(mc, *remote, "session", "connect", sid)  # nothing to resume: a fresh shell
    child.expect(PROMPT)
    child.sendline("echo [$KEPT]")
    child.expect(r"\[\]")
    child.sendline("exit 0")
    child.expect(pexpect.EOF)
