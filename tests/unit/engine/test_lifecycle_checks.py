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
