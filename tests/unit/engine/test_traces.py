"""mc's lifecycle traces: what a trace keeps of a command's output, and that a trace never fails the
command it describes (the SDK itself is exercised against a receiver in tests/integration/test_langfuse.py)."""

from __future__ import annotations

import sys

from mc.engine.logfwd import Langfuse
from mc.engine.models import Session
from mc.engine.traces import OUTPUT_LIMIT, Tail, Trace


def test_the_tail_keeps_the_end_of_the_output_and_says_it_was_cut():
    tail = Tail(limit=10)
    for i in range(100):
        tail.add(f"{i:03d}\n".encode())
    text = tail.text()
    assert text == "[...]\n" + "7\n098\n099\n" and len(tail.data) <= 20
    short = Tail()
    short.add("é".encode()[:1])  # a character cut in two does not break the trace
    assert short.text() == "\ufffd"
    assert Tail().limit == OUTPUT_LIMIT


def test_a_langfuse_that_is_not_there_does_not_fail_the_command(capfd):
    session = Session(id="abcd1234", name="x", driver="base", status="running", owner="me")
    trace = Trace(Langfuse("http://127.0.0.1:9", "pk", "sk"), lambda: session, "exec", ["true"], send_now=True)
    trace.tail.add(b"out\n")
    trace.end(0)  # no exception, nothing printed by the SDK on our terminal
    out, err = capfd.readouterr()
    assert out == err == ""


def test_a_session_that_cannot_be_described_gives_no_trace():
    def gone() -> Session:
        raise LookupError("no such session")

    trace = Trace(Langfuse("http://127.0.0.1:9", "pk", "sk"), gone, "connect", [], send_now=True)
    trace.end(None, error="no such session")
    assert "langfuse" not in sys.modules or trace._span is None
