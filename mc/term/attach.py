"""The client side of an attach: this terminal <-> an Attach stream.

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
import tty as ttymod
from collections.abc import Callable, Iterator
from typing import Any

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


def run_attach(
    open_stream: Callable[[Iterator[Any]], Iterator[Any]],
    messages: Any,
    init: Any,
    *,
    tty: bool,
    interactive: bool,
    on_detach: Callable[[], None] | None = None,
) -> int:
    """Drive one Attach call. ``messages`` is the module with AttachRequest and friends.

    Keystrokes are read by the request generator itself (gRPC's sending thread), waiting in select()
    on stdin and a wake-up pipe: no queue and no extra thread between a key and the wire. Signal
    handlers (resize, forwarded signals) leave their message in ``pending`` and wake the generator.
    """
    stdin_fd = sys.stdin.fileno() if (tty or interactive) else -1
    out = sys.stdout.buffer
    err = sys.stderr.buffer
    detached = threading.Event()
    done = threading.Event()
    pending: collections.deque[Any] = collections.deque()
    wake_r, wake_w = os.pipe()
    pipe_open = [True]
    pipe_lock = threading.RLock()  # re-entrant: a signal handler may run inside wake()

    def wake() -> None:
        with pipe_lock:
            if pipe_open[0]:  # never write to a closed (and maybe reused) descriptor
                with contextlib.suppress(OSError):
                    os.write(wake_w, b"x")

    def requests() -> Iterator[Any]:
        try:
            yield messages.AttachRequest(init=init)
            yield from keystrokes()
        finally:
            with pipe_lock:
                pipe_open[0] = False
                os.close(wake_r)
                os.close(wake_w)

    def keystrokes() -> Iterator[Any]:
        detect = DetachFilter() if tty else None
        watch = [wake_r] + ([stdin_fd] if stdin_fd >= 0 else [])
        while not done.is_set():
            try:
                ready, _, _ = select.select(watch, [], [])
            except InterruptedError:
                continue
            if wake_r in ready:
                with contextlib.suppress(OSError):
                    os.read(wake_r, 512)
                while pending:
                    yield pending.popleft()
            if stdin_fd in ready and not done.is_set():
                try:
                    data = os.read(stdin_fd, CHUNK)
                except OSError:
                    data = b""
                if not data:
                    yield messages.AttachRequest(close_stdin=True)
                    watch = [wake_r]
                    continue
                if detect is not None:
                    data, detach = detect.feed(data)
                    if data:
                        yield messages.AttachRequest(stdin=data)
                    if detach:
                        detached.set()
                        yield messages.AttachRequest(detach=True)
                        watch = [wake_r]
                else:
                    yield messages.AttachRequest(stdin=data)

    previous: dict[int, Any] = {}

    def on_winch(signum: int, frame: Any) -> None:
        size = terminal_size()
        if size:
            pending.append(messages.AttachRequest(resize=messages.TerminalSize(rows=size[0], cols=size[1])))
            wake()

    def forward(signum: int, frame: Any) -> None:
        pending.append(messages.AttachRequest(signal=messages.Signal(number=signum)))
        wake()

    code = 1
    with raw_mode(stdin_fd) if tty else contextlib.nullcontext():
        if tty:
            previous[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, on_winch)
        else:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                previous[sig] = signal.signal(sig, forward)
        try:
            got_exit = False
            for resp in open_stream(requests()):
                kind = resp.WhichOneof("kind")
                if kind == "stdout":
                    out.write(resp.stdout)
                    out.flush()
                elif kind == "stderr":
                    err.write(resp.stderr)
                    err.flush()
                elif kind == "exit":
                    code = resp.exit.code
                    got_exit = True
                    if resp.exit.detached:
                        detached.set()
                    break
            if not got_exit and not detached.is_set():
                from mc.errors import Unavailable

                raise Unavailable("the connection to the remote ended before the command did")
        finally:
            done.set()
            wake()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if detached.is_set():
        if on_detach:
            on_detach()
        return 0
    return code
