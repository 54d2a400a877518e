"""One TCP connection to a port of a session, through the engine (``mc session port-forward``, ssh
through mcd): ``docker exec -i`` of a few lines of bash in the session that connect to the port on
its loopback and copy bytes both ways. It works for every session, also one on an internal network
(an egress policy) that nothing outside can reach, and for mcd in a container beside the engine;
no port is published and no listener opened anywhere.

The relay says ``open`` (or why not) on stderr before any byte flows; stdout and stdin are the
connection. It runs as the session user with ``MC_ATTACHED`` set: a forwarded connection is
activity (idle stop).
"""

from __future__ import annotations

import os
import subprocess
import threading
from typing import TYPE_CHECKING, Protocol

from mc import contract
from mc.errors import Conflict, InvalidArgument

if TYPE_CHECKING:
    from mc.docker import Docker
    from mc.engine.models import Session

CHUNK = 64 * 1024
OPEN_TIMEOUT = 30.0
# $1: the port. "open" once connected; a refusal is one line and exit 7. `cat >&3` ends when the
# client sends nothing more; the connection then lives until the session's side closes it.
RELAY = ('{ exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || { echo "refused" >&2; exit 7; }; echo open >&2; '
         'cat <&3 & cat >&3; wait')


class Tunnel(Protocol):
    """A connection to a session's port, the same locally and through mcd."""

    def send(self, data: bytes) -> None: ...

    def close_write(self) -> None: ...

    def recv(self) -> bytes:
        """The next bytes from the session's port; b"" once it closed."""
        ...

    def close(self) -> None: ...


def check_port(port: int) -> int:
    if not 0 < port < 65536:
        raise InvalidArgument(f"port {port}: expected 1-65535")
    return port


class ExecTunnel:
    """A Tunnel over ``docker exec -i`` (see the module docstring)."""

    def __init__(self, docker: Docker, session: Session, port: int) -> None:
        import secrets

        self.docker, self.session, self.port = docker, session, check_port(port)
        self.tag = secrets.token_hex(8)  # ending the docker CLI leaves the relay running: it is found by this
        argv = ["exec", "-i", "-e", "MC_ATTACHED=1", "-e", f"MC_EXEC_ID={self.tag}"]
        if session.user:
            argv += ["-u", session.user]
        argv += [session.container, "bash", "-c", RELAY, "mc-forward", str(port)]
        self.proc = docker.popen(*argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 start_new_session=True)
        self._lock = threading.Lock()
        self._open()

    def _open(self) -> None:
        assert self.proc.stderr is not None
        timer = threading.Timer(OPEN_TIMEOUT, self.close)
        timer.start()
        try:
            line = self.proc.stderr.readline().decode(errors="replace").strip()
        finally:
            timer.cancel()
        if line != "open":
            self.close()
            if line == "refused":
                raise Conflict(f"nothing accepts connections on port {self.port} in session {self.session.id}")
            raise Conflict(f"session {self.session.id}: cannot reach port {self.port}"
                           + (f": {line[:200]}" if line else ""))
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        while self.proc.stderr.read(4096):
            pass

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        with self._lock:
            if self.proc.stdin.closed:
                return
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass

    def close_write(self) -> None:
        assert self.proc.stdin is not None
        with self._lock:
            try:
                self.proc.stdin.close()
            except (BrokenPipeError, ValueError):
                pass

    def recv(self) -> bytes:
        assert self.proc.stdout is not None
        try:
            return os.read(self.proc.stdout.fileno(), CHUNK)
        except (OSError, ValueError):
            return b""

    def close(self) -> None:
        """End the connection (what still runs of the relay in the session too)."""
        running = self.proc.poll() is None
        if running:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if running:
            self.docker.run("exec", "-u", self.session.user or "0:0", self.session.container, contract.SIGNAL,
                            self.tag, "-TERM", "1", check=False, timeout=15)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except (BrokenPipeError, ValueError, OSError):
                pass
