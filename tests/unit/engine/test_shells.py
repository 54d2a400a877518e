"""The resumable shell registry's rules: replay, grace, takeover, bounds. The process under it is a
stand-in that speaks AttachProcess's interface; the real one is driven in tests/integration
(test_mcd's killed client, test_web's reloaded page)."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from mc.engine import shells as shells_mod
from mc.engine.shells import Shells
from mc.errors import NotFound


class Proc:
    """What a shell's AttachProcess does, with output fed by the test."""

    def __init__(self) -> None:
        self.out: queue.Queue[bytes | None] = queue.Queue()
        self.written: list[bytes] = []
        self.sizes: list[tuple[int, int]] = []
        self.killed = threading.Event()
        self.detached = False

    def output(self):
        while (chunk := self.out.get()) is not None:
            yield "stdout", chunk

    def wait(self) -> int:
        return 7

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def resize(self, rows: int, cols: int) -> None:
        self.sizes.append((rows, cols))

    def kill(self) -> None:
        self.killed.set()
        self.out.put(None)

    def detach(self) -> None:
        self.detached = True
        self.out.put(None)


def read(att, n: int, timeout: float = 5) -> bytes:
    got = b""
    gen = att.output()
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        got += next(gen)[1]
    return got


def until(cond, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_dropped_shell_is_resumed_with_its_recent_output_then_live():
    reg, proc = Shells(grace=30), Proc()
    att = reg.open(lambda: proc, "s1", "alice", (24, 80))
    proc.out.put(b"hello ")
    assert read(att, 6) == b"hello "
    att.write(b"ls\r")
    assert proc.written == [b"ls\r"]
    att.kill()  # the client went away
    proc.out.put(b"while away")
    until(lambda: reg.of("s1", "alice")[0].waiting_since)
    (info,) = reg.of("s1", "alice")
    assert info.id == att.id and 0 < info.grace_left <= 30
    assert list(att.output()) == []  # the dropped stream's output ended
    att.write(b"ignored")  # a stale client cannot type into the shell any more
    again = reg.resume(att.id, "s1", "alice", (30, 100))
    assert again.resumed and proc.sizes == [(30, 100)]
    assert read(again, 16) == b"hello while away"
    proc.out.put(b"!")
    assert read(again, 1) == b"!"
    assert proc.written == [b"ls\r"] and not proc.killed.is_set()
    assert reg.of("s1", "alice")[0].waiting_since == 0


def test_only_its_user_resumes_a_shell_in_its_session():
    reg, proc = Shells(grace=30), Proc()
    att = reg.open(lambda: proc, "s1", "alice", None)
    att.kill()
    for session, user in (("s1", "bob"), ("s2", "alice")):
        with pytest.raises(NotFound):
            reg.resume(att.id, session, user, None)
    assert reg.of("s1", "bob") == []


def test_after_the_grace_period_the_shell_is_ended_and_forgotten():
    reg, proc = Shells(grace=0.2), Proc()
    att = reg.open(lambda: proc, "s1", "alice", None)
    att.kill()
    assert proc.killed.wait(5)
    until(lambda: reg.of("s1", "alice") == [])
    with pytest.raises(NotFound):
        reg.resume(att.id, "s1", "alice", None)


def test_a_resume_takes_over_a_shell_still_attached_elsewhere():
    reg, proc = Shells(grace=30), Proc()
    first = reg.open(lambda: proc, "s1", "alice", None)
    second = reg.resume(first.id, "s1", "alice", None)
    assert list(first.output()) == [] and first.taken_over
    first.kill()  # the old stream ending later does not release the new one's shell
    assert reg.of("s1", "alice")[0].waiting_since == 0
    proc.out.put(b"x")
    assert read(second, 1) == b"x"


def test_exit_reaches_the_client_and_forgets_the_shell():
    reg, proc = Shells(grace=30), Proc()
    att = reg.open(lambda: proc, "s1", "alice", None)
    proc.out.put(b"bye")
    proc.out.put(None)
    assert b"".join(c for _, c in att.output()) == b"bye"
    assert att.wait() == 7 and not att.taken_over
    until(lambda: reg.of("s1", "alice") == [])


def test_detach_leaves_the_command_running_and_is_not_resumable():
    reg, proc = Shells(grace=30), Proc()
    att = reg.open(lambda: proc, "s1", "alice", None)
    att.detach()
    assert proc.detached and att.detached and not proc.killed.is_set()
    assert reg.of("s1", "alice") == []


def test_the_scrollback_is_bounded_and_starts_at_a_line(monkeypatch):
    monkeypatch.setattr(shells_mod, "SCROLLBACK", 1000)
    reg, proc = Shells(grace=30), Proc()
    att = reg.open(lambda: proc, "s1", "alice", None)
    att.kill()
    for i in range(100):
        proc.out.put(b"line %03d ......\n" % i)  # 16 bytes each
    until(lambda: reg._shells[att.id]._held >= 16 * 40)
    time.sleep(0.2)
    replay = read(reg.resume(att.id, "s1", "alice", None), 1, timeout=1)
    shell = reg._shells[att.id]
    assert shell._held <= 1000
    assert replay.startswith(b"line ") and replay.endswith(b"line 099 ......\n")


def test_the_oldest_waiting_shells_of_a_user_end_beyond_the_bound():
    reg = Shells(grace=30, max_waiting=2)
    procs = [Proc() for _ in range(3)]
    atts = [reg.open(lambda p=p: p, "s1", "alice", None) for p in procs]
    for att in atts:
        att.kill()
        time.sleep(0.01)
    assert procs[0].killed.wait(5)
    assert not procs[1].killed.is_set() and not procs[2].killed.is_set()
