"""Detach keys (Ctrl-P Ctrl-Q) found in a keystroke stream, whatever the chunking."""

from __future__ import annotations

from mc.term.attach import DetachFilter


def feed_all(chunks: list[bytes]) -> tuple[bytes, bool]:
    f, out = DetachFilter(), b""
    for chunk in chunks:
        data, detach = f.feed(chunk)
        out += data
        if detach:
            return out, True
    return out, False


def test_detach_in_one_chunk_and_across_chunks():
    assert feed_all([b"ls\x10\x11rest"]) == (b"ls", True)
    assert feed_all([b"ls\x10", b"\x11"]) == (b"ls", True)


def test_a_lone_ctrl_p_passes_through():
    assert feed_all([b"a\x10b"]) == (b"a\x10b", False)
    assert feed_all([b"\x10\x10\x11"]) == (b"\x10", True)
    assert feed_all([b"\x10", b"x"]) == (b"\x10x", False)
