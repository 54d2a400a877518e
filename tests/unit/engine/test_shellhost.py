"""The local shell holder's wire and socket directory (the holder itself is driven through a real
terminal in tests/e2e/test_connect.py)."""

from __future__ import annotations

import io
import os
import socket
import struct
from pathlib import Path

import pytest

from mc.engine import shellhost
from mc.errors import InvalidArgument, NotFound, Unavailable


@pytest.fixture
def runtime(monkeypatch):
    """A short runtime directory (a socket's path has at most 107 bytes)."""
    import shutil
    import tempfile

    d = tempfile.mkdtemp(prefix="mcrt-", dir="/tmp")
    monkeypatch.setenv("XDG_RUNTIME_DIR", d)
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)



def test_frames_round_trip_and_end_cleanly():
    a, b = socket.socketpair()
    with a, b:
        shellhost.send(a, shellhost.STDIN, b"ls\n")
        shellhost.send_json(a, shellhost.INIT, {"resume": False})
        a.shutdown(socket.SHUT_WR)
        stream = b.makefile("rb")
        assert shellhost.recv(stream) == (shellhost.STDIN, b"ls\n")
        assert shellhost.recv(stream) == (shellhost.INIT, b'{"resume": false}')
        assert shellhost.recv(stream) is None


def test_an_oversized_or_cut_frame_is_refused():
    big = io.BytesIO(struct.pack("!cI", b"d", shellhost.MAX_FRAME + 1))
    with pytest.raises(InvalidArgument, match="frame"):
        shellhost.recv(big)
    assert shellhost.recv(io.BytesIO(struct.pack("!cI", b"d", 10) + b"short")) is None


def test_socket_directory_is_the_users_alone(runtime, tmp_path, monkeypatch):
    mine = shellhost.shells_dir("alice")
    assert mine.parent == runtime / "mc-shells"
    assert oct(mine.stat().st_mode & 0o777) == "0o700" and oct(mine.parent.stat().st_mode & 0o777) == "0o700"
    assert shellhost.shells_dir("bob") != mine  # owners apart
    os.chmod(mine, 0o755)
    with pytest.raises(Unavailable, match="not a directory of this user's alone"):
        shellhost.shells_dir("alice")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / ("x" * 80)))  # too long for a socket's path
    (tmp_path / ("x" * 80)).mkdir()
    assert shellhost.shells_dir("carol").parent == Path(f"/tmp/mc-shells-{os.getuid()}")


def test_resuming_an_unknown_or_hostile_shell_is_one_line(runtime):
    with pytest.raises(NotFound, match="no shell abcd1234 to resume in session s1"):
        shellhost.dial("alice", "s1", "abcd1234")
    with pytest.raises(InvalidArgument, match="shell id"):
        shellhost.dial("alice", "s1", "../../etc")


def test_a_dead_holders_socket_is_forgotten(runtime):
    path = shellhost.shells_dir("alice") / "s1.dead0001.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.close()  # its holder was killed: the file stays, nobody listens
    assert shellhost.listing("alice", "s1") == []
    assert not path.exists()
