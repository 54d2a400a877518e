"""Stopping a session and starting it again (the real engine, the real CLI): files, secrets and the
driver's init survive, for every built-in driver; what runs beside a session stops and starts with
it; bad requests are one line each."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import docker

pytestmark = pytest.mark.engine

BUILTIN = ("base", "goose", "claude-code", "opencode", "aider")


def _state(container: str) -> str:
    return docker("inspect", "-f", "{{.State.Status}}", container).strip()


@pytest.mark.parametrize("driver", BUILTIN)
def test_a_stopped_session_starts_again_with_its_files_and_secrets(docker_mc, driver):
    mc = docker_mc
    s = json.loads(mc.ok("session", "create", "--driver", driver, "--no-connect", "-e", "KEPT_TOKEN=kept-42",
                         "-o", "json"))
    mc.ok("session", "exec", s["id"], "--", "bash", "-c", "echo in-home >~/kept.txt")
    stopped = mc.run("session", "stop", s["id"])
    assert stopped.returncode == 0 and stopped.stderr == f"stopped {s['id']}\n"
    listed = {x["id"]: x for x in json.loads(mc.ok("session", "list", "-o", "json"))}
    assert listed[s["id"]]["status"] == "stopped" and _state(f"mc-{s['id']}") == "exited"
    refused = mc.run("session", "exec", s["id"], "--", "true")
    assert refused.returncode != 0 and f"mc session start {s['id']}" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    started = mc.run("session", "start", s["id"])  # returns once its init is done
    assert started.returncode == 0 and started.stderr == f"started {s['id']}\n"
    out = mc.ok("session", "exec", s["id"], "--", "bash", "-c", 'cat ~/kept.txt; echo "$KEPT_TOKEN"')
    assert out == "in-home\nkept-42\n"
    logs = mc.ok("session", "logs", s["id"])
    assert logs.count("[mc-init] session ready") == 2  # the init ran again, and found what it made
    assert "kept-42" not in docker("inspect", f"mc-{s['id']}")


def test_what_runs_beside_a_session_stops_and_starts_with_it(docker_mc):
    mc = docker_mc
    s = json.loads(mc.ok("session", "create", "--driver", "base", "--no-connect", "--allow-domain", "example.com",
                         "-o", "json"))
    proxy = f"mc-{s['id']}-egress"
    assert _state(proxy) == "running"
    mc.ok("session", "stop", s["id"])
    assert _state(proxy) == "exited"
    mc.ok("session", "start", s["id"])  # the session's init waits for its proxy: it answered
    assert _state(proxy) == "running"
    assert "egress through" in mc.ok("session", "logs", s["id"]).rsplit("session ready", 2)[-2]


def test_a_network_removed_while_stopped_is_made_again(docker_mc):
    mc = docker_mc
    net = f"mc-test-lifecycle-{mc.owner}"
    mc.ok("config", "set", "docker.network", net)
    s = json.loads(mc.ok("session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    mc.ok("session", "stop", s["id"])
    subprocess.run(["docker", "network", "rm", net], check=True, capture_output=True)
    try:
        mc.ok("session", "start", s["id"])
        assert net in docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", f"mc-{s['id']}")
    finally:
        mc.ok("session", "close", s["id"])
        subprocess.run(["docker", "network", "rm", net], capture_output=True)


def test_bad_requests_are_one_line(docker_mc):
    mc = docker_mc
    s = json.loads(mc.ok("session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    for args, needle in ((("start", s["id"]), "already running"), (("stop", "nosuch"), "nosuch"),
                         (("start",), "give session ids to start"), (("stop",), "give session ids to stop")):
        r = mc.run("session", *args)
        assert r.returncode != 0 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def _wait_for(check, seconds: float = 60):
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    return check()


def _status_of(mc, sid: str, remote: tuple[str, ...] = ()) -> str:
    listed = {x["id"]: x for x in json.loads(mc.ok(*remote, "session", "list", "-o", "json"))}
    return listed[sid]["status"] if sid in listed else "closed"


def test_an_idle_session_stops_and_one_running_a_long_command_does_not(docker_mc):
    mc = docker_mc
    busy = mc.run("session", "create", "--driver", "base", "--no-connect", "--idle-timeout", "3s",
                  "--run", "sleep 10; echo done-late", "--name", "busy")
    assert busy.returncode == 0 and "done-late" in busy.stdout  # 10 s of a 3 s idle timeout: not idle
    sid = json.loads(mc.ok("session", "show", "busy", "-o", "json"))["id"]
    assert _wait_for(lambda: _status_of(mc, sid) == "stopped", 40)  # now idle: it stops by itself
    assert "idle for" in mc.ok("session", "logs", sid)
    mc.ok("session", "start", sid)
    assert _status_of(mc, sid) == "running"


def test_a_lifetime_ends_in_a_close_and_extend_moves_it(docker_mc):
    mc = docker_mc
    short = json.loads(mc.ok("session", "create", "--driver", "base", "--no-connect", "--ttl", "4s", "-o", "json"))
    # (room to extend it before it ends, however slow the machine)
    kept = json.loads(mc.ok("session", "create", "--driver", "base", "--no-connect", "--ttl", "60s", "-o", "json"))
    assert short["deadline"] > 0 and "left" in mc.ok("session", "list")
    moved = mc.run("session", "extend", kept["id"], "1h")
    assert moved.returncode == 0 and "now lives until" in moved.stderr
    assert json.loads(mc.ok("session", "show", kept["id"], "-o", "json"))["deadline"] >= kept["deadline"] + 3600
    # its own init ends it; the next listing closes it (local mode has no daemon)
    assert _wait_for(lambda: _status_of(mc, short["id"]) == "closed", 40)
    assert subprocess.run(["docker", "inspect", f"mc-{short['id']}"], capture_output=True).returncode != 0
    assert _status_of(mc, kept["id"]).startswith("running")
    assert mc.ok("session", "exec", kept["id"], "--", "cat", "/var/lib/mc/deadline").strip() == \
        str(json.loads(mc.ok("session", "show", kept["id"], "-o", "json"))["deadline"])


def test_through_mcd_lifetimes_are_within_the_operators_maximum(docker_mc, tmp_path):
    from tests.mcd_harness import start_mcd

    mc = docker_mc
    daemon = start_mcd(tmp_path, mc.env, sessions={"max_lifetime": "1h", "idle_timeout": "3s"})
    remote = ("-r", "t")
    try:
        mc.ok("remote", "add", "t", daemon.url)
        too_long = mc.run(*remote, "session", "create", "--driver", "base", "--no-connect", "--ttl", "2h")
        assert too_long.returncode != 0 and "at most 1h" in too_long.stderr
        s = json.loads(mc.ok(*remote, "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
        assert 3500 < s["deadline"] - int(__import__("time").time()) <= 3600 and s["idle_timeout"] == 3
        beyond = mc.run(*remote, "session", "extend", s["id"], "2h")
        assert beyond.returncode != 0 and "live at most 1h" in beyond.stderr
        assert _wait_for(lambda: _status_of(mc, s["id"], remote) == "stopped", 40)  # the server's idle timeout
        mc.ok(*remote, "session", "start", s["id"])
        short = json.loads(mc.ok(*remote, "session", "create", "--driver", "base", "--no-connect", "--ttl", "3s",
                                 "--idle-timeout", "0", "-o", "json"))
        assert _wait_for(lambda: _status_of(mc, short["id"], remote) == "closed", 40)  # mcd closed it
        assert subprocess.run(["docker", "inspect", f"mc-{short['id']}"], capture_output=True).returncode != 0
    finally:
        daemon.stop()


@pytest.mark.parametrize(("args", "needle"), [
    (("create", "--driver", "base", "--ttl", "5x"), "--ttl '5x': expected a duration"),
    (("create", "--driver", "base", "--idle-timeout", "-1"), "--idle-timeout '-1'"),
    (("create", "--driver", "base", "--ttl", "400d"), "--ttl: expected 0 or 1s to 366d"),
    (("extend", "nosuch", "0"), "extend: expected 1s to 366d"),
])
def test_bad_durations_are_one_line(docker_mc, args, needle):
    r = docker_mc.run("session", *args, "--no-connect") if args[0] == "create" else docker_mc.run("session", *args)
    assert r.returncode != 0 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_a_session_without_a_lifetime_cannot_be_extended(docker_mc):
    s = json.loads(docker_mc.ok("session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    r = docker_mc.run("session", "extend", s["id"], "1h")
    assert r.returncode != 0 and "no lifetime to extend" in r.stderr
