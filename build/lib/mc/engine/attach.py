"""Server-side attach: a command in a session driven by a program instead of a terminal.

mcd runs ``docker exec`` for a remote client. With a terminal, the docker CLI gets a pseudo-terminal
that mcd owns: a resize sets that pty's size and then sends SIGWINCH to the docker process (it has
no controlling terminal, so the kernel would not). Each exec is tagged with ``MC_EXEC_ID``; when the
client goes away without detaching, the tagged processes in the session are ended too (killing the
docker CLI alone leaves the exec'd command running: a long-standing Docker behaviour).

No ``fork()`` helpers (``pty.fork``, ``preexec_fn``) here: they are unsafe beside grpcio's threads.
The pty is opened first and the child started with ``subprocess`` and ``start_new_session``.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import secrets
import signal
import struct
import subprocess
import termios
import threading
from collections.abc import Iterator

from mc.docker import Docker
from mc.engine.models import Session

CHUNK = 64 * 1024


def set_winsize(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class AttachProcess:
    """One attached command. ``output()`` yields (stream, bytes); ``wait()`` gives the exit code."""

    def __init__(self, docker: Docker, session: Session, argv: list[str], tty: bool, exec_id: str,
                 size: tuple[int, int] | None) -> None:
        self.docker = docker
        self.session = session
        self.tty = tty
        self.exec_id = exec_id
        self.detached = False
        self._closed = threading.Event()
        if tty:
            self._master, slave = os.openpty()
            if size:
                set_winsize(slave, *size)
            try:
                self.proc = docker.popen(*argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
            finally:
                os.close(slave)
        else:
            self._master = -1
            self.proc = docker.popen(*argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)

    # -- output --------------------------------------------------------------------------------
    def output(self) -> Iterator[tuple[str, bytes]]:
        """Yield ("stdout"|"stderr", chunk) until the command's output ends."""
        if self.tty:
            while True:
                try:
                    chunk = os.read(self._master, CHUNK)
                except OSError:  # EIO: the docker CLI closed the pty
                    return
                if not chunk:
                    return
                yield "stdout", chunk
        else:
            import queue

            q: queue.Queue[tuple[str, bytes] | None] = queue.Queue(maxsize=64)

            def pump(name: str, stream: io.BufferedReader) -> None:
                try:
                    while chunk := stream.read1(CHUNK):
                        q.put((name, chunk))
                finally:
                    q.put(None)

            threads = [threading.Thread(target=pump, args=("stdout", self.proc.stdout), daemon=True),
                       threading.Thread(target=pump, args=("stderr", self.proc.stderr), daemon=True)]
            for t in threads:
                t.start()
            done = 0
            while done < 2:
                item = q.get()
                if item is None:
                    done += 1
                else:
                    yield item

    # -- input ---------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if self._closed.is_set():
            return
        try:
            if self.tty:
                os.write(self._master, data)
            elif self.proc.stdin:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def close_stdin(self) -> None:
        if self.tty:
            self.write(b"\x04")
        elif self.proc.stdin:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

    def resize(self, rows: int, cols: int) -> None:
        if self.tty and rows and cols:
            with contextlib.suppress(OSError):
                set_winsize(self._master, rows, cols)
                self.proc.send_signal(signal.SIGWINCH)

    def signal(self, number: int) -> None:
        """Deliver a signal to the command in the session (the docker CLI does not proxy it)."""
        self._in_session(f"-{int(number)}")

    # -- ending --------------------------------------------------------------------------------
    def wait(self) -> int:
        rc = self.proc.wait()
        self._release()
        return rc

    def detach(self) -> None:
        """End the docker CLI but leave the command running in the session."""
        self.detached = True
        self._stop_cli()

    def kill(self) -> None:
        """The client went away: end the command in the session, then the docker CLI."""
        if self.proc.poll() is None and not self.detached:
            self._in_session("-HUP", then_kill=True)  # a hangup, as when a terminal closes
        self._stop_cli()

    def _stop_cli(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                self.proc.wait(timeout=5)
        self._release()

    def _release(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            if self._master >= 0:
                with contextlib.suppress(OSError):
                    os.close(self._master)
                self._master = -1

    def _in_session(self, sig: str, then_kill: bool = False) -> None:
        """Signal every process of this exec in the session (found by its MC_EXEC_ID tag)."""
        script = (
            'find() { for e in /proc/[0-9]*/environ; do '
            'if tr "\\0" "\\n" < "$e" 2>/dev/null | grep -qx "MC_EXEC_ID=$1"; then '
            'p=${e#/proc/}; echo "${p%/environ}"; fi; done; }; '
            'pids=$(find "$1"); [ -n "$pids" ] && kill "$2" $pids 2>/dev/null; '
            'if [ "$3" = 1 ] && [ -n "$pids" ]; then sleep 1; pids=$(find "$1"); '
            '[ -n "$pids" ] && kill -KILL $pids 2>/dev/null; fi; true'
        )
        self.docker.run("exec", "-u", self.session.user or "0:0", self.session.container, "sh", "-c", script,
                        "mc-kill", self.exec_id, sig, "1" if then_kill else "0", check=False, timeout=15)


def new_exec_id() -> str:
    return secrets.token_hex(8)
