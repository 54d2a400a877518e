"""A resize soon after an attach starts: the docker CLI listens for SIGWINCH only once its first
resize call to the engine has returned, so one sent before is lost unless signalled again."""

from __future__ import annotations

import sys
import time

from mc.docker import Docker
from mc.engine.attach import AttachProcess
from mc.engine.models import Session

LATE_LISTENER = """
import os, signal, time
signal.signal(signal.SIGWINCH, signal.SIG_IGN)  # the docker CLI before it listens
time.sleep(0.6)

def told(*_):
    size = os.get_terminal_size(0)
    os.write(1, f"size {size.lines} {size.columns}\\n".encode())
    os._exit(0)

signal.signal(signal.SIGWINCH, told)
time.sleep(5)
"""


def test_a_resize_before_the_docker_cli_listens_is_signalled_again(tmp_path):
    docker = tmp_path / "docker"
    docker.write_text(f"#!{sys.executable}\n{LATE_LISTENER}")
    docker.chmod(0o755)
    session = Session(id="abcd1234", name="x", driver="base", status="running", container="mc-abcd1234")
    att = AttachProcess(Docker(binary=str(docker)), session, ["exec", "-it", "mc-abcd1234", "bash"], True, "t",
                        (24, 80))
    att.resize(40, 120)  # at once: while it does not listen yet
    started = time.monotonic()
    out = b"".join(chunk for _, chunk in att.output())
    assert att.wait() == 0, out
    assert b"size 40 120" in out and time.monotonic() - started < 4
