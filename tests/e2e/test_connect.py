"""Interactive behaviour through a real pseudo-terminal (pexpect): connect, resize, detach, exit codes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pexpect
import pytest

from tests.terminal import PROMPT, killed_client_resumes, spawn, typing_resize_exit

pytestmark = pytest.mark.engine


def new_session(mc) -> str:
    out = mc.ok("session", "create", "--driver", "base", "--no-connect", "-o", "json")
    sid = json.loads(out)["id"]
    mc.ok("session", "exec", sid, "--", "true")  # init finished
    return sid


def test_connect_typing_resize_and_exit_code(docker_mc):
    mc = docker_mc
    sid = new_session(mc)
    child = spawn(mc, "session", "connect", sid, rows=30, cols=100)
    typing_resize_exit(child, (30, 100), (50, 132), 9)


def test_detach_keeps_session_running(docker_mc):
    mc = docker_mc
    sid = new_session(mc)
    child = spawn(mc, "session", "connect", sid)
    child.expect(PROMPT)
    child.sendline("export MARK=still-here; echo $$ > /tmp/shell.pid")
    child.expect(PROMPT)
    child.sendcontrol("p")
    child.sendcontrol("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert json.loads(mc.ok("session", "show", sid, "-o", "json"))["status"] == "running"
    # the detached shell is still alive in the session
    pid = mc.ok("session", "exec", sid, "--", "cat", "/tmp/shell.pid").strip()
    assert mc.run("session", "exec", sid, "--", "kill", "-0", pid).returncode == 0


def test_killed_connect_resumes_its_shell(docker_mc):
    mc = docker_mc
    mc.ok("config", "set", "sessions.shell_grace", "4s")
    sid = new_session(mc)
    killed_client_resumes(mc, (), sid, 4)
    deadline = time.monotonic() + 5
    while list(Path("/tmp").glob(f"mc-shells-*/*/{sid}.*.sock")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not list(Path("/tmp").glob(f"mc-shells-*/*/{sid}.*.sock"))  # every holder has ended


def test_ctrl_c_reaches_the_session_not_mc(docker_mc):
    mc = docker_mc
    sid = new_session(mc)
    child = spawn(mc, "session", "connect", sid)
    child.expect(PROMPT)
    child.sendline("sleep 30")
    time.sleep(0.5)
    child.sendcontrol("c")
    child.expect(PROMPT)
    child.sendline("echo alive")
    child.expect("alive")
    child.sendline("exit 6")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 6  # mc itself was never interrupted: the shell's code is mc's


def test_bare_mc_creates_and_connects_with_cwd_mounted(docker_mc, tmp_path):
    mc = docker_mc
    mc.ok("config", "set", "defaults.driver", "base")
    work = tmp_path / "bare"
    work.mkdir()
    (work / "marker.txt").write_text("bare-mc\n")
    child = spawn(mc, cwd=work)
    child.expect(PROMPT)
    child.sendline("cat /app/marker.txt; pwd")
    child.expect("bare-mc")
    child.expect("/app")
    child.sendline("exit 3")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 3
    sessions = json.loads(mc.ok("session", "list", "-o", "json"))
    assert len(sessions) == 1 and sessions[0]["mount"] == str(work)


def test_mc_dot_and_run_with_tty(docker_mc, tmp_path):
    mc = docker_mc
    mc.ok("config", "set", "defaults.driver", "base")
    child = spawn(mc, "session", "create", "--driver", "base", "--rm", "--run", "tty && exit 4")
    child.expect("/dev/pts/")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 4


def test_ctrl_c_ends_a_one_shot_run_and_its_session(docker_mc):
    """`create --rm --run` is one container for one command: Ctrl-C (passed on by docker run) ends
    the command, mc exits with 130, and the session is gone."""
    from tests.conftest import containers_of

    mc = docker_mc
    child = spawn(mc, "session", "create", "--driver", "base", "--no-connect", "--rm", "--run",
                  "echo started; sleep 60; echo never")
    child.expect("started")
    started = time.monotonic()
    child.sendcontrol("c")
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    assert child.exitstatus == 130 and time.monotonic() - started < 15
    assert "never" not in child.before
    deadline = time.monotonic() + 15
    while containers_of(mc.owner) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert containers_of(mc.owner) == []
