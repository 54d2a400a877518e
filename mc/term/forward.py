"""The client side of port forwarding: a local listener whose connections each get a Tunnel to the
session's port (mc.engine.forward; through mcd, a Forward stream each), or this process's
stdin/stdout as one connection (ssh's ProxyCommand). Plain sockets and threads, no protobuf."""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from mc.engine.forward import CHUNK

if TYPE_CHECKING:
    from mc.engine.forward import Tunnel


def _to_tunnel(read: Callable[[], bytes], tunnel: Tunnel) -> None:
    try:
        while data := read():
            tunnel.send(data)
    except OSError:
        pass
    tunnel.close_write()


def splice(conn: socket.socket, tunnel: Tunnel) -> None:
    """Copy both ways until the session's side closes; then the connection is closed."""
    sender = threading.Thread(target=_to_tunnel, args=(lambda: conn.recv(CHUNK), tunnel), daemon=True)
    sender.start()
    try:
        while data := tunnel.recv():
            conn.sendall(data)
    except OSError:
        pass
    finally:
        tunnel.close()
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()


def listen(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    server = socket.socket(family, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, port))
    server.listen(64)
    return server


def serve(server: socket.socket, open_tunnel: Callable[[], Tunnel], warn: Callable[[str], None]) -> None:
    """Accept until interrupted (Ctrl-C ends it): each connection gets a tunnel of its own."""

    def one(conn: socket.socket) -> None:
        try:
            tunnel = open_tunnel()
        except Exception as exc:  # this connection fails; the forward goes on
            warn(str(exc))
            conn.close()
            return
        splice(conn, tunnel)

    try:
        while True:
            conn, _ = server.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=one, args=(conn,), name="mc-forward", daemon=True).start()
    finally:
        server.close()


def stdio(tunnel: Tunnel) -> None:
    """This process's stdin and stdout as the connection (ssh's ProxyCommand)."""
    stdin, stdout = sys.stdin.buffer.fileno(), sys.stdout.buffer.fileno()
    threading.Thread(target=_to_tunnel, args=(lambda: os.read(stdin, CHUNK), tunnel), daemon=True).start()
    try:
        while data := tunnel.recv():
            view = memoryview(data)
            while view:
                view = view[os.write(stdout, view):]
    except OSError:
        pass
    finally:
        tunnel.close()
