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
