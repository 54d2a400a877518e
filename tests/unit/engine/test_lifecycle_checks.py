"""Which sessions may be stopped and started (pure checks; the docker side is in
tests/integration/test_lifecycle.py and the contract suite)."""

from __future__ import annotations

import pytest

from mc.engine.lifecycle import check_startable, check_stoppable
from mc.engine.models import Session
from mc.errors import Conflict


def session(status: str, rm: bool = False) -> Session:
    return Session(id="abcd1234", name="x", driver="base", status=status, remove_on_exit=rm)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", ["stopped", "exited", "failed", "created"])
def test_a_session_that_is_not_running_may_be_started(status):
    check_startable(session(status))


@pytest.mark.parametrize(("status", "rm", "needle"), [
    ("running", False, "already running"), ("paused", False, "docker unpause"),
    ("gone", False, "is gone"), ("stopped", True, "made for one command"), ("other", False, "cannot be started"),
])
def test_what_cannot_be_started_says_why(status, rm, needle):
    with pytest.raises(Conflict, match=needle):
        check_startable(session(status, rm))


def test_a_one_command_session_is_closed_not_stopped():
    with pytest.raises(Conflict, match="close it instead"):
        check_stoppable(session("running", rm=True))
    check_stoppable(session("running"))


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("90", 90), ("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("1d", 86400), ("1D2H", 93600), ("0", 0),
])
def test_durations(text, seconds):
    from mc.engine.checks import parse_duration

    assert parse_duration(text, "--ttl") == seconds


@pytest.mark.parametrize("text", ["", "5x", "-1", "h", "1.5h", "2h1d", "367d"])
def test_what_is_not_a_duration_is_one_error_naming_the_option(text):
    from mc.engine.checks import parse_duration
    from mc.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="--ttl"):
        parse_duration(text, "--ttl")


@pytest.mark.parametrize(("seconds", "shown"), [(45, "45s"), (60, "1m"), (5400, "1h30m"), (93600, "1d2h"), (-3, "0s")])
def test_durations_are_shown_short(seconds, shown):
    from mc.engine.checks import format_duration

    assert format_duration(seconds) == shown


def test_a_lifetime_is_a_label_and_the_inits_deadline_within_the_maximum():
    from pathlib import Path

    import yaml

    from mc.drivers import manifest
    from mc.drivers.registry import Driver
    from mc.engine import labels
    from mc.engine.models import SessionSpec
    from mc.engine.plan import plan_session
    from mc.engine.scope import Scope
    from mc.engine.settings import EngineSettings
    from mc.errors import InvalidArgument

    drv = Driver("t", Path("/d/t"), "builtin", manifest.parse(yaml.safe_load("name: t\n"), "mc-driver.yaml"))

    def plan(spec: SessionSpec, settings: EngineSettings, once: str = ""):
        return plan_session(spec, drv, "img", settings, Scope.local("me"), session_id="0123abcd",
                            created="2026-01-02T03:04:05Z", version="1", once=once)

    born = 1767323045  # 2026-01-02T03:04:05Z
    p = plan(SessionSpec(ttl=600, idle_timeout=60), EngineSettings())
    assert p.labels[labels.DEADLINE] == p.env["MC_DEADLINE"] == str(born + 600)
    assert p.labels[labels.IDLE] == p.env["MC_IDLE_TIMEOUT"] == "60"
    capped = EngineSettings(max_lifetime=3600, idle_timeout=900)
    p = plan(SessionSpec(), capped)  # the server's maximum and idle timeout by default
    assert p.env["MC_DEADLINE"] == str(born + 3600) and p.env["MC_IDLE_TIMEOUT"] == "900"
    assert "MC_IDLE_TIMEOUT" not in plan(SessionSpec(idle_timeout=0), capped).env
    assert "MC_IDLE_TIMEOUT" not in plan(SessionSpec(), capped, once="true").env  # ends with its command
    with pytest.raises(InvalidArgument, match="at most 1h"):
        plan(SessionSpec(ttl=7200), capped)
    assert labels.DEADLINE not in plan(SessionSpec(), EngineSettings()).labels
