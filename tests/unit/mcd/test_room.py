"""How mcd keeps room for everyone: budgets for calls, a cap on each user's long streams."""

from __future__ import annotations

from mcd.interceptor import Slots


def test_budgets_are_separate_and_releases_count_once():
    slots = Slots(total=2, open_calls=1, streams_per_user=1)
    a, b = slots.take("auth", "alice", False), slots.take("auth", "bob", False)
    assert callable(a) and callable(b)
    assert isinstance(slots.take("auth", "carol", False), str)  # full
    assert callable(slots.take("open", "-", False))  # the login flow has room of its own
    assert isinstance(slots.take("open", "-", False), str)
    a()
    a()  # twice: still one release
    assert slots.in_use()["auth"] == 1
    assert callable(slots.take("auth", "carol", False))


def test_one_user_cannot_hold_every_stream():
    slots = Slots(total=10, open_calls=1, streams_per_user=2)
    streams = [slots.take("auth", "alice", True) for _ in range(2)]
    assert "per user" in str(slots.take("auth", "alice", True))
    assert callable(slots.take("auth", "bob", True))
    streams[0]()
    assert callable(slots.take("auth", "alice", True))
