"""Server-side attach: a command in a session driven by a program instead of a terminal.

mcd runs ``docker exec`` for a remote client. With a terminal, the docker CLI gets a pseudo-terminal
that mcd owns: a resize sets that pty's size and then sends SIGWINCH to the docker process (it has
no controlling terminal, so the kernel would not). Each exec is tagged with ``MC_EXEC_ID``; when the
client goes away without detaching, the tagged processes in the session are ended too (killing the
docker CLI alone leaves the exec'd command running: a long-standing Docker behaviour).

Nothing outlives the call, whatever the client sends or however it leaves: the pty is released on
every path (a failed spawn included) and never closed under a thread still using it (a closed
descriptor number is soon reused by another call's pipe), sizes are clamped to what a terminal can
be, no read or write blocks past the call's end, and without a terminal the two output pumps never
wait on a queue nobody reads any more.

No ``fork()`` helpers (``pty.fork``, ``preexec_fn``) here: they are unsafe beside grpcio's threads.
The pty is opened first and the child started with ``subprocess`` and ``start_new_session``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import queue
import secrets
import select
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Iterator
from typing import IO

from mc import contract
from mc.docker import Docker
from mc.engine.models import Session

CHUNK = 64 * 1024
QUEUE = 64  # chunks of output held for a slow client (4 MiB at most)
MAX_SIDE = 65535  # a terminal's rows and columns are 16-bit
POLL = 0.5  # how soon a thread waiting on the pty notices the call has ended
# The docker CLI listens for SIGWINCH only once its first resize call to the engine has returned (a
# second or more on a busy engine); one sent before is lost. A resize this soon after the start is
# signalled again at these delays (a repeated one changes nothing: the size is read each time).
SETTLING = 10.0
RESIGNAL = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)


def clamp_size(rows: int, cols: int) -> tuple[int, int]:
    return max(1, min(int(rows), MAX_SIDE)), max(1, min(int(cols), MAX_SIDE))


def set_winsize(fd: int, rows: int, cols: int) -> None:
    rows, cols = clamp_size(rows, cols)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class _Pty:
    """The master side of a pty, shared by the output thread and the input thread.

    ``close()`` may come from any thread: it points the descriptor at /dev/null at once (the pty is
    released; a reader sees end of file) and closes the number only when no thread is inside a call
    with it, so it is never reused under a thread's feet.
    """

    _devnull = -1

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self._fd = fd
        self._users = 0
        self._closing = False
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def use(self) -> Iterator[int]:
        with self._lock:
            if self._closing:
                raise OSError(errno.EBADF, "the attach has ended")
            self._users += 1
        try:
            yield self._fd
        finally:
            with self._lock:
                self._users -= 1
                if self._closing and not self._users:
                    os.close(self._fd)

    def close(self) -> None:
        with self._lock:
            if self._closing:
                return
            self._closing = True
            if self._users:
                if _Pty._devnull < 0:
                    _Pty._devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
                os.dup2(_Pty._devnull, self._fd, inheritable=False)
            else:
                os.close(self._fd)

    def wait(self, write: bool) -> bool:
        """Wait up to POLL for the pty to be readable (writable); False when not (yet)."""
        with self.use() as fd:
            readable, writable, _ = select.select([] if write else [fd], [fd] if write else [], [], POLL)
        return bool(writable if write else readable)


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
        self._pumps: list[threading.Thread] = []
        self._pumps_lock = threading.Lock()
        self._pty: _Pty | None = None
        self._started = 0.0
        self._resignalling = False
        if tty:
            master, slave = os.openpty()
            try:
                if size:
                    set_winsize(slave, *size)
                self.proc = docker.popen(*argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
                self._started = time.monotonic()
            except BaseException:
                os.close(master)
                raise
            finally:
                os.close(slave)
            self._pty = _Pty(master)
        else:
            self.proc = docker.popen(*argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)

    # -- output --------------------------------------------------------------------------------
    def output(self) -> Iterator[tuple[str, bytes]]:
        """Yield ("stdout"|"stderr", chunk) until the command's output ends (or the call does)."""
        if self._pty is not None:
            yield from self._tty_output(self._pty)
        else:
            yield from self._pipe_output()

    def _tty_output(self, pty: _Pty) -> Iterator[tuple[str, bytes]]:
        while not self._closed.is_set():
            try:
                if not pty.wait(write=False):
                    continue
                with pty.use() as fd:
                    chunk = os.read(fd, CHUNK)
            except BlockingIOError:
                continue
            except OSError:  # EIO: the docker CLI closed the pty; EBADF: the call ended
                return
            if not chunk:
                return
            yield "stdout", chunk

    def _pipe_output(self) -> Iterator[tuple[str, bytes]]:
        q: queue.Queue[tuple[str, bytes] | None] = queue.Queue(maxsize=QUEUE)

        def put(item: tuple[str, bytes] | None) -> None:
            while not self._closed.is_set():  # nobody reads once closed: drop instead of blocking
                try:
                    q.put(item, timeout=POLL)
                    return
                except queue.Full:
                    continue

        def pump(name: str, stream: IO[bytes] | None) -> None:
            assert stream is not None
            try:
                while chunk := stream.read1(CHUNK):  # type: ignore[attr-defined]
                    put((name, chunk))
            except (OSError, ValueError):
                pass
            finally:
                put(None)
                with contextlib.suppress(OSError):
                    stream.close()

        with self._pumps_lock:
            if self._closed.is_set():
                return
            for name, stream in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr)):
                t = threading.Thread(target=pump, args=(name, stream), daemon=True, name=f"attach-{name}")
                t.start()
                self._pumps.append(t)
        done = 0
        while done < 2:
            try:
                item = q.get(timeout=POLL)
            except queue.Empty:
                if self._closed.is_set():  # ended from outside: nobody wants the rest
                    return
                continue
            if item is None:
                done += 1
            else:
                yield item

    # -- input ---------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if self._closed.is_set():
            return
        try:
            if self._pty is not None:
                view = memoryview(data)
                while view and not self._closed.is_set():
                    if self._pty.wait(write=True):
                        with contextlib.suppress(BlockingIOError), self._pty.use() as fd:
                            view = view[os.write(fd, view):]
            elif self.proc.stdin:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
        except (OSError, ValueError):
            pass

    def close_stdin(self) -> None:
        if self.tty:
            self.write(b"\x04")
        elif self.proc.stdin:
            with contextlib.suppress(OSError, ValueError):
                self.proc.stdin.close()

    def resize(self, rows: int, cols: int) -> None:
        if self._pty is not None and rows and cols and not self._closed.is_set():
            with contextlib.suppress(OSError), self._pty.use() as fd:
                set_winsize(fd, rows, cols)
                self.proc.send_signal(signal.SIGWINCH)
            if time.monotonic() - self._started < SETTLING and not self._resignalling:
                self._resignalling = True
                threading.Thread(target=self._resignal, name="attach-resize", daemon=True).start()

    def _resignal(self) -> None:
        for delay in RESIGNAL:
            if self._closed.wait(delay) or self.proc.poll() is not None:
                return
            with contextlib.suppress(OSError):
                self.proc.send_signal(signal.SIGWINCH)

    def signal(self, number: int) -> None:
        """Deliver a signal to the command in the session (the docker CLI does not proxy it)."""
        if 1 <= number <= 64 and not self._closed.is_set():
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
        """The client went away: end the docker CLI (which frees what this call holds here), then
        the command in the session."""
        running = self.proc.poll() is None and not self.detached
        self._stop_cli()
        if running:
            self._in_session("-HUP", then_kill=True)  # a hangup, as when a terminal closes

    def _stop_cli(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                self.proc.wait(timeout=5)
        self._release()

    def _release(self) -> None:
        """Give back everything the call holds: the pty, the pipes, the pumps."""
        self._closed.set()
        if self._pty is not None:
            self._pty.close()
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError, ValueError):
                self.proc.stdin.close()
        with self._pumps_lock:
            pumps = list(self._pumps)
        if pumps:  # they end at the pipes' end (the CLI is gone) and close them
            for t in pumps:
                t.join(timeout=5)
        else:
            for pipe in (self.proc.stdout, self.proc.stderr):
                if pipe is not None:
                    with contextlib.suppress(OSError, ValueError):
                        pipe.close()

    def _in_session(self, sig: str, then_kill: bool = False) -> None:
        """Signal every process of this exec in the session (found by its MC_EXEC_ID tag)."""
        self.docker.run("exec", "-u", self.session.user or "0:0", self.session.container, contract.SIGNAL,
                        self.exec_id, sig, "1" if then_kill else "0", check=False, timeout=15)


def new_exec_id() -> str:
    return secrets.token_hex(8)
