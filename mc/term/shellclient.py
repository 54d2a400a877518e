"""This terminal <-> a local shell's holder (mc.engine.shellhost), over its unix socket.

The same ``run_attach`` as a connect through mcd: raw mode, the size and its changes, Ctrl-P Ctrl-Q
to detach. Keystrokes go out on the attach's own input thread; output is read here.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections.abc import Iterator

from mc.engine import shellhost as wire
from mc.engine.models import ExecResult
from mc.errors import Conflict, NotFound, Unavailable
from mc.term.attach import (
    AttachInput,
    AttachOutput,
    CloseStdin,
    Detach,
    Exited,
    Output,
    Resize,
    Signal,
    Stdin,
    run_attach,
)


def _frame(event: AttachInput) -> tuple[bytes, bytes] | None:
    if isinstance(event, Stdin):
        return wire.STDIN, event.data
    if isinstance(event, Resize):
        return wire.RESIZE, struct.pack("!HH", min(event.rows, 65535), min(event.cols, 65535))
    if isinstance(event, Signal):
        return wire.SIGNAL, str(event.number).encode()
    if isinstance(event, CloseStdin):
        return wire.CLOSE_STDIN, b""
    if isinstance(event, Detach):
        return wire.DETACH, b""
    return None  # a token renewal means nothing here


def drive(sock: socket.socket, *, size: tuple[int, int] | None, resume: bool) -> ExecResult:
    """Attach this terminal to the shell behind ``sock`` until it exits, detaches or is taken over."""
    with sock:
        stream = sock.makefile("rb")
        rows, cols = size or (0, 0)
        wire.send_json(sock, wire.INIT, {"resume": resume, "rows": rows, "cols": cols})
        first = wire.recv(stream)
        if first is None:
            raise Unavailable("the shell's holder process ended before the shell started")
        if first[0] == wire.ERROR:
            raise NotFound(first[1].decode(errors="replace"))
        shell = json.loads(first[1])["id"]

        def open_stream(inputs: Iterator[AttachInput]) -> Iterator[AttachOutput]:
            def send_all() -> None:
                with contextlib.suppress(OSError):
                    for event in inputs:
                        frame = _frame(event)
                        if frame is not None:
                            wire.send(sock, *frame)

            threading.Thread(target=send_all, name="shell-input", daemon=True).start()
            while (frame := wire.recv(stream)) is not None:
                kind, payload = frame
                if kind == wire.OUTPUT:
                    yield Output("stdout", payload)
                elif kind == wire.EXIT:
                    end = json.loads(payload)
                    if end.get("reason") == "taken over":
                        raise Conflict(f"shell {shell} was taken over by another connect")
                    yield Exited(int(end["code"]), bool(end["detached"]))
                    return

        return run_attach(open_stream, tty=True, interactive=True)
