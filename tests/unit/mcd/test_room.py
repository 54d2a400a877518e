"""How mcd keeps room for everyone: budgets for calls, a cap on each user's long streams."""

from __future__ import annotations

from mcd.interceptor import Slots


def test_budgets_are_separate_and_releases_count_once():
    slots = Slots(total=2, open_calls=1, streams_per_user=1)
    a, b = slots.take("auth", "alice"), slots.take("auth", "bob")
    assert callable(a) and callable(b)
    assert isinstance(slots.take("auth", "carol"), str)  # full
    assert callable(slots.take("open", "-"))  # the login flow has room of its own
    assert isinstance(slots.take("open", "-"), str)
    a()
    a()  # twice: still one release
    assert slots.in_use()["auth"] == 1
    assert callable(slots.take("auth", "carol"))


def test_one_user_cannot_hold_every_stream():
    slots = Slots(total=10, open_calls=1, streams_per_user=2)
    streams = [slots.take("auth", "alice", "stream") for _ in range(2)]
    assert "per user" in str(slots.take("auth", "alice", "stream"))
    assert callable(slots.take("auth", "bob", "stream"))
    streams[0]()
    assert callable(slots.take("auth", "alice", "stream"))


def test_forwarded_connections_have_a_cap_of_their_own():
    slots = Slots(total=10, open_calls=1, streams_per_user=1, forwards_per_user=3)
    assert callable(slots.take("auth", "alice", "stream"))
    forwards = [slots.take("auth", "alice", "forward") for _ in range(3)]  # beside the attach
    assert all(callable(f) for f in forwards)
    assert "3 forwarded connections" in str(slots.take("auth", "alice", "forward"))
    forwards[0]()
    assert callable(slots.take("auth", "alice", "forward"))
