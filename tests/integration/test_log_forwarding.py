"""Session output forwarded to a Fluentd collector by Docker's own fluentd log driver (the real
engine), received by a forward-protocol receiver on loopback (tests/forward_receiver.py)."""

from __future__ import annotations

import json
import time

import pytest

from tests.forward_receiver import Receiver
from tests.mcd_harness import free_port

pytestmark = pytest.mark.engine


def _wait(check, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not check():
        time.sleep(0.1)


def test_every_line_arrives_once_in_order_with_the_sessions_fields(docker_mc):
    mc = docker_mc
    receiver = Receiver().start()
    try:
        mc.ok("config", "set", "logging.fluentd.url", f"127.0.0.1:{receiver.port}")
        mc.ok("config", "set", "logging.fluentd.tag", "mc.{owner}.{session}")
        s = json.loads(mc.ok("session", "create", "--driver", "base", "--no-connect", "-o", "json"))
        mc.ok("session", "exec", s["id"], "--", "bash", "-c",
              "for i in $(seq 1 10000); do echo n$i; done >/proc/1/fd/1")
        numbered = lambda: [line for line in receiver.lines() if line.startswith("n")]  # noqa: E731
        _wait(lambda: len(numbered()) >= 10000)
        assert numbered() == [f"n{i}" for i in range(1, 10001)]
        tag, record = receiver.records[-1]
        assert tag == f"mc.{mc.owner}.{s['id']}"
        assert record["mc.session"] == s["id"] and record["mc.owner"] == mc.owner and record["mc.driver"] == "base"
        assert "[mc-init] session ready" in receiver.lines()  # the init's output too
        logs = mc.ok("session", "logs", s["id"])  # docker's own copy, as before
        assert logs.count("\nn") + logs.startswith("n") == 10000 and "n10000" in logs
        assert f"fluentd tcp://127.0.0.1:{receiver.port}" in mc.ok("session", "show", s["id"])
    finally:
        receiver.stop()


def test_a_collector_that_goes_away_loses_nothing_and_one_that_never_was_costs_nothing(docker_mc):
    mc = docker_mc
    port = free_port()
    mc.ok("config", "set", "logging.fluentd.url", f"127.0.0.1:{port}")
    started = time.monotonic()
    s = json.loads(mc.ok("session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    assert time.monotonic() - started < 10  # nothing listens there: the session starts all the same
    mc.ok("session", "exec", s["id"], "--", "bash", "-c", "echo early >/proc/1/fd/1")
    assert "early" in mc.ok("session", "logs", s["id"])
    first = Receiver(port).start()  # the collector comes (back): what was buffered arrives
    second = None
    try:
        _wait(lambda: "early" in first.lines())
        assert "early" in first.lines()
        mc.ok("session", "exec", s["id"], "--", "bash", "-c",
              "(for i in $(seq 1 100); do echo t$i; sleep 0.1; done >/proc/1/fd/1 &)")
        time.sleep(2)
        first.stop()  # gone mid-session for 10 s
        time.sleep(10)
        second = Receiver(port).start()
        _wait(lambda: "t100" in second.lines())
        got = [line for line in first.lines() + second.lines() if line.startswith("t")]
        assert sorted(set(got), key=lambda t: int(t[1:])) == [f"t{i}" for i in range(1, 101)], got
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_through_mcd_remote_sessions_are_forwarded_too(docker_mc, tmp_path):
    from tests.mcd_harness import start_mcd

    mc = docker_mc
    receiver = Receiver().start()
    daemon = start_mcd(tmp_path, mc.env, logging={
        "providers": [{"type": "fluentd", "url": f"tcp://127.0.0.1:{receiver.port}", "tag": "team.{session}"}]})
    try:
        mc.ok("remote", "add", "t", daemon.url)
        s = json.loads(mc.ok("-r", "t", "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
        _wait(lambda: "[mc-init] session ready" in receiver.lines())
        tag, record = next((t, r) for t, r in receiver.records if r.get("log") == "[mc-init] session ready")
        assert tag == f"team.{s['id']}" and record["mc.session"] == s["id"] and record["mc.driver"] == "base"
        assert "[mc-init] session ready" in mc.ok("-r", "t", "session", "logs", s["id"])  # as before
        mc.ok("-r", "t", "session", "close", s["id"])
    finally:
        daemon.stop()
        receiver.stop()
