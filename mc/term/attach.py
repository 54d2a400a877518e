"""The client side of an attach: this terminal <-> an attach stream of plain events (the remote
client maps them to the wire; nothing here knows the protocol).

Checks for a TTY first; raw mode in a context manager that restores exactly once; sends the size,
then follows SIGWINCH; detach keys Ctrl-P Ctrl-Q; forwards signals only without a TTY (with one,
^C is just a byte the session's terminal turns into SIGINT).
"""

from __future__ import annotations

import collections
import contextlib
import os
import select
import signal
import sys
import termios
import threading
import time
import tty as ttymod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from mc.engine.models import ExecResult
from mc.errors import McError, Unavailable
from mc.term.size import terminal_size

CTRL_P, CTRL_Q = b"\x10", b"\x11"
CHUNK = 32 * 1024


@contextlib.contextmanager
def raw_mode(fd: int) -> Iterator[None]:
    """Put the terminal in raw mode; restore the saved settings once, whatever happens."""
    saved = termios.tcgetattr(fd)
    try:
        ttymod.setraw(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class DetachFilter:
    """Finds Ctrl-P Ctrl-Q in keystrokes; everything else passes through (a lone Ctrl-P too)."""

    def __init__(self) -> None:
        self.pending = False

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        out = bytearray()
        for byte in data:
            b = bytes([byte])
            if self.pending:
                self.pending = False
                if b == CTRL_Q:
                    return bytes(out), True
                out += CTRL_P
                if b == CTRL_P:
                    self.pending = True
                    continue
                out += b
            elif b == CTRL_P:
                self.pending = True
            else:
                out += b
        return bytes(out), False


@dataclass(frozen=True)
class Stdin:
    """Input from the terminal."""

    data: bytes


@dataclass(frozen=True)
class Resize:
    """The terminal's new size."""

    rows: int
    cols: int


@dataclass(frozen=True)
class Signal:
    """A signal for the command."""

    number: int


@dataclass(frozen=True)
class CloseStdin:
    """End of input."""

    pass


@dataclass(frozen=True)
class Detach:
    """The user detached."""

    pass


@dataclass(frozen=True)
class Reauth:
    """A renewed token."""

    token: str


AttachInput = Stdin | Resize | Signal | CloseStdin | Detach | Reauth


@dataclass(frozen=True)
class Output:
    """The command's output."""

    stream: str  # stdout | stderr
    data: bytes


@dataclass(frozen=True)
class Exited:
    """The command ended."""

    code: int
    detached: bool = False


AttachOutput = Output | Exited
RENEW_EVERY = 30.0  # seconds between asking for a fresh token on a long attach


def run_attach(
    open_stream: Callable[[Iterator[AttachInput]], Iterator[AttachOutput]],
    *,
    tty: bool,
    interactive: bool,
    renew: Callable[[], str | None] | None = None,
    renew_every: float = RENEW_EVERY,
) -> ExecResult:
    """Drive one attach: this terminal's input into ``open_stream``, its output here.

    Keystrokes are read by the input generator itself (gRPC's sending thread), waiting in select()
    on stdin and a wake-up pipe: no queue and no extra thread between a key and the wire. Signal
    handlers (forwarded signals) leave their message in ``pending`` and wake the generator. A
    resize does not wait for a Python handler: the kernel may deliver SIGWINCH to any thread, and
    the handler runs only when the main thread (blocked reading the output) next runs Python; the
    signal's own wake-up byte (``signal.set_wakeup_fd``) wakes the generator, which reads the size.
    ``renew`` gives a fresh access token when the one in use changed (sent so the server does not
    end the stream when the old one expires).
    """
    stdin_fd = sys.stdin.fileno() if (tty or interactive) else -1
    out = sys.stdout.buffer
    err = sys.stderr.buffer
    detached = threading.Event()
    done = threading.Event()
    pending: collections.deque[AttachInput] = collections.deque()
    wake_r, wake_w = os.pipe()
    pipe_open = [True]
    pipe_lock = threading.RLock()  # re-entrant: a signal handler may run inside wake()

    def wake() -> None:
        with pipe_lock:
            if pipe_open[0]:  # never write to a closed (and maybe reused) descriptor
                with contextlib.suppress(OSError):
                    os.write(wake_w, b"x")

    started = threading.Event()

    def inputs() -> Iterator[AttachInput]:
        started.set()
        try:
            yield from keystrokes()
        finally:
            os.close(wake_r)  # (the write end is closed below, once it is no signal's wake-up fd)

    def keystrokes() -> Iterator[AttachInput]:
        detect = DetachFilter() if tty else None
        size = terminal_size() if tty else None  # (the stream opens with it)
        watch = [wake_r] + ([stdin_fd] if stdin_fd >= 0 else [])
        next_renew = time.monotonic() + renew_every
        while not done.is_set():
            try:
                ready, _, _ = select.select(watch, [], [], max(0.0, next_renew - time.monotonic()) if renew else None)
            except InterruptedError:
                continue
            if renew and time.monotonic() >= next_renew:
                next_renew = time.monotonic() + renew_every
                with contextlib.suppress(McError):  # the server ends the stream if it must
                    token = renew()
                    if token:
                        yield Reauth(token)
            if wake_r in ready:
                with contextlib.suppress(OSError):
                    os.read(wake_r, 512)
                while pending:
                    yield pending.popleft()
                if tty and (now := terminal_size()) and now != size:
                    size = now
                    yield Resize(now[0], now[1])
            if stdin_fd in ready and not done.is_set():
                try:
                    data = os.read(stdin_fd, CHUNK)
                except OSError:
                    data = b""
                if not data:
                    yield CloseStdin()
                    watch = [wake_r]
                    continue
                if detect is not None:
                    data, detach = detect.feed(data)
                    if data:
                        yield Stdin(data)
                    if detach:
                        detached.set()
                        yield Detach()
                        watch = [wake_r]
                else:
                    yield Stdin(data)

    previous: dict[int, Any] = {}

    def on_winch(signum: int, frame: Any) -> None:
        wake()  # (the size is read where it is sent)

    def forward(signum: int, frame: Any) -> None:
        pending.append(Signal(signum))
        wake()

    code = 1
    with raw_mode(stdin_fd) if tty else contextlib.nullcontext():
        wakeup = None
        if tty:
            previous[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, on_winch)
            os.set_blocking(wake_w, False)
            with contextlib.suppress(ValueError):  # (only the main thread may set it)
                wakeup = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        else:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                previous[sig] = signal.signal(sig, forward)
        try:
            got_exit = False
            for event in open_stream(inputs()):
                if isinstance(event, Output):
                    stream = out if event.stream == "stdout" else err
                    stream.write(event.data)
                    stream.flush()
                else:
                    code = event.code
                    got_exit = True
                    if event.detached:
                        detached.set()
                    break
            if not got_exit and not detached.is_set():
                raise Unavailable("the connection to the shell ended before the command did")
        finally:
            if wakeup is not None:
                signal.set_wakeup_fd(wakeup)
            done.set()
            wake()
            for number, handler in previous.items():
                signal.signal(number, handler)
            with pipe_lock:
                pipe_open[0] = False
                os.close(wake_w)
            if not started.is_set():  # (the stream never asked for input)
                os.close(wake_r)
    return ExecResult(0, True) if detached.is_set() else ExecResult(code)
