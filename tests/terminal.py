"""pexpect helpers shared by the interactive tests (local, remote, binaries)."""

from __future__ import annotations

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
    time.sleep(0.3)
    child.sendline("stty size")
    child.expect(f"{new_size[0]} {new_size[1]}")
    child.sendline(f"exit {code}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == code
