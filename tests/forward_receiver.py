"""A Fluentd forward-protocol (v1) receiver for the tests: what Docker's fluentd log driver sends,
decoded with msgpack, kept in order. Message, Forward and PackedForward modes; acks when asked."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import msgpack


@dataclass
class Receiver:
    port: int = 0
    records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _server: socket.socket | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _conns: list[socket.socket] = field(default_factory=list)

    def start(self) -> Receiver:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(16)
        self.port = server.getsockname()[1]
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Go away: stop listening and drop every connection (the driver buffers meanwhile)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        self._conns.clear()

    def lines(self, key: str = "log") -> list[str]:
        with self._lock:
            return [str(record.get(key, "")) for _, record in self.records]

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            unpacker.feed(data)
            for message in unpacker:
                self._take(conn, message)

    def _take(self, conn: socket.socket, message: list[Any]) -> None:
        tag, second = message[0], message[1]
        if isinstance(second, list):  # Forward mode: [tag, [[time, record], ...], option?]
            entries, option = [(tag, record) for _, record in second], message[2:3]
        elif isinstance(second, bytes | str):  # PackedForward: [tag, packed entries, option?]
            raw = second.encode() if isinstance(second, str) else second
            entries, option = [(tag, e[1]) for e in _unpack_all(raw)], message[2:3]
        else:  # Message mode: [tag, time, record, option?]
            entries, option = [(tag, message[2])], message[3:4]
        with self._lock:
            self.records.extend(entries)
        chunk = option[0].get("chunk") if option and isinstance(option[0], dict) else None
        if chunk:
            try:
                conn.sendall(msgpack.packb({"ack": chunk}))
            except OSError:  # stopped meanwhile: the driver sends the chunk again
                pass


def _unpack_all(raw: bytes) -> list[Any]:
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(raw)
    return list(unpacker)
