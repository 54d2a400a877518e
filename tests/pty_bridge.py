"""A bare WebSocket-to-pty bridge: the least a browser terminal can be (a page with the same vendored
xterm.js, one WebSocket, ``docker exec -it`` in a pseudo-terminal). The browser benchmarks time mcd's
page against it, so their ratio is what mcd's path (login, Shells, scrollback) costs."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import signal
import ssl
import struct
import subprocess
import termios
import threading
from pathlib import Path

from aiohttp import WSMsgType, web

VENDOR = Path(__file__).resolve().parents[1] / "mcd" / "web" / "static" / "vendor"
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>bridge</title>
<link rel="stylesheet" href="/vendor/xterm.css">
<style>html,body{margin:0;height:100%}#terminal{height:100%}</style></head>
<body><div id="terminal"></div>
<script src="/vendor/xterm.js"></script><script src="/vendor/addon-fit.js"></script>
<script>
const term = new Terminal({ scrollback: 5000, fontSize: 14 });
const fit = new FitAddon.FitAddon();
term.loadAddon(fit); term.open(document.getElementById('terminal')); fit.fit();
window.mcTerm = term;
const ws = new WebSocket('wss://' + location.host + '/ws');
ws.binaryType = 'arraybuffer';
const enc = new TextEncoder();
ws.onopen = () => ws.send(JSON.stringify({ rows: term.rows, cols: term.cols }));
ws.onmessage = (ev) => term.write(new Uint8Array(ev.data));
term.onData((d) => ws.send(enc.encode(d)));
</script></body></html>"""


class Bridge:
    """Serves the page on https://127.0.0.1:PORT/ from its own event-loop thread; each WebSocket runs
    ``argv`` (e.g. ``docker exec -it CONTAINER bash``) in a pseudo-terminal of the first message's size."""

    def __init__(self, argv: list[str], cert: Path, key: Path) -> None:
        self.argv = argv
        self.ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ssl.load_cert_chain(cert, key)
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> Bridge:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/", lambda _: web.Response(text=PAGE, content_type="text/html"))
        app.router.add_static("/vendor", VENDOR)
        app.router.add_get("/ws", self._terminal)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _terminal(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        size = json.loads((await ws.receive()).data)
        master, slave = pty.openpty()
        resize(master, size["rows"], size["cols"])
        proc = subprocess.Popen(self.argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        loop = asyncio.get_running_loop()
        out: asyncio.Queue[bytes] = asyncio.Queue()

        def readable() -> None:
            try:
                out.put_nowait(os.read(master, 65536))
            except OSError:
                out.put_nowait(b"")

        async def pump() -> None:
            while data := await out.get():
                await ws.send_bytes(data)
            await ws.close()

        loop.add_reader(master, readable)
        sender = asyncio.ensure_future(pump())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    os.write(master, msg.data)
        finally:
            loop.remove_reader(master)
            sender.cancel()
            proc.send_signal(signal.SIGHUP)
            os.close(master)
            await loop.run_in_executor(None, proc.wait)
        return ws


def resize(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
