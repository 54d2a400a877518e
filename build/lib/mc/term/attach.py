"""The client side of an attach: this terminal <-> an Attach stream.

Checks for a TTY first; raw mode in a context manager that restores exactly once; sends the size,
then follows SIGWINCH; detach keys Ctrl-P Ctrl-Q; forwards signals only without a TTY (with one,
^C is just a byte the session's terminal turns into SIGINT).
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import sys
import termios
import threading
import tty as ttymod
from collections.abc import Callable, Iterator
from typing import Any

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


def terminal_size(fd: int = 1) -> tuple[int, int] | None:
    for candidate in (fd, 0, 2):
        try:
            size = os.get_terminal_size(candidate)
            return size.lines, size.columns
        except OSError:
            continue
    return None


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
    """Drive one Attach call. ``messages`` is the module with AttachRequest and friends."""
    outbox: queue.Queue[Any] = queue.Queue()
    outbox.put(messages.AttachRequest(init=init))
    done = threading.Event()

    def requests() -> Iterator[Any]:
        while True:
            item = outbox.get()
            if item is None:
                return
            yield item

    stdin_fd = sys.stdin.fileno() if (tty or interactive) else -1
    out = sys.stdout.buffer
    err = sys.stderr.buffer
    detached = threading.Event()

    def read_stdin() -> None:
        detect = DetachFilter() if tty else None
        try:
            while not done.is_set():
                data = os.read(stdin_fd, CHUNK)
                if not data:
                    outbox.put(messages.AttachRequest(close_stdin=True))
                    return
                if detect is not None:
                    data, detach = detect.feed(data)
                    if data:
                        outbox.put(messages.AttachRequest(stdin=data))
                    if detach:
                        detached.set()
                        outbox.put(messages.AttachRequest(detach=True))
                        return
                else:
                    outbox.put(messages.AttachRequest(stdin=data))
        except OSError:
            return

    previous: dict[int, Any] = {}

    def on_winch(signum: int, frame: Any) -> None:
        size = terminal_size()
        if size:
            outbox.put(messages.AttachRequest(resize=messages.TerminalSize(rows=size[0], cols=size[1])))

    def forward(signum: int, frame: Any) -> None:
        outbox.put(messages.AttachRequest(signal=messages.Signal(number=signum)))

    code = 1
    with raw_mode(stdin_fd) if tty else contextlib.nullcontext():
        if tty:
            previous[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, on_winch)
        else:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                previous[sig] = signal.signal(sig, forward)
        if interactive or tty:
            threading.Thread(target=read_stdin, name="attach-stdin", daemon=True).start()
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
            outbox.put(None)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if detached.is_set():
        if on_detach:
            on_detach()
        return 0
    return code
