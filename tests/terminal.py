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
