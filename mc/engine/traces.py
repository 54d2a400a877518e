"""mc's own traces in Langfuse: each session is one Langfuse session, with one trace per connect, run
or exec (its command, exit code, duration, the session's driver, project and owner, and the end of its
output, bounded). Sent with the official Langfuse SDK, imported only when a trace is made: never on
``mc --help`` or ``mc session list``.

A trace never fails or holds up the command it describes: the SDK is loaded and the trace opened on a
thread while the command runs, and a Langfuse that is down costs at most ``TIMEOUT`` when the trace
is sent (local mode sends at once; mcd lets the SDK send in batches).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mc.engine.logfwd import Langfuse
    from mc.engine.models import Session

OUTPUT_LIMIT = 16 * 1024  # the end of a command's output kept in its trace
COMMAND_LIMIT = 1024
TIMEOUT = 3  # seconds: the SDK's HTTP timeout
_clients: dict[tuple[str, str, str], Any] = {}
_lock = threading.Lock()
log = logging.getLogger("mc.traces")


class Tail:
    """The last ``limit`` bytes of an output, and whether more came before them."""

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self.limit = limit
        self.data = bytearray()
        self.cut = False

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > 2 * self.limit:
            del self.data[:-self.limit]
            self.cut = True

    def text(self) -> str:
        data = self.data
        cut = self.cut or len(data) > self.limit
        text = bytes(data[-self.limit:]).decode(errors="replace")
        return ("[...]\n" + text) if cut else text


def _client(langfuse: Langfuse) -> Any:
    """One SDK client per project and process (mcd's calls share it; it sends in batches)."""
    key = (langfuse.url, langfuse.public_key, langfuse.secret_key)
    with _lock:
        client = _clients.get(key)
        if client is None:
            from langfuse import Langfuse as Sdk

            for name in ("langfuse", "opentelemetry"):  # their export errors are not the user's output
                logging.getLogger(name).setLevel(logging.CRITICAL)
            client = Sdk(public_key=langfuse.public_key, secret_key=langfuse.secret_key, base_url=langfuse.url,
                         timeout=TIMEOUT)
            _clients[key] = client
        return client


def flush_all() -> None:
    """Send what the clients still hold (mcd at shutdown)."""
    with _lock:
        clients = list(_clients.values())
    for client in clients:
        try:
            client.flush()
        except Exception as exc:  # a Langfuse that is down is not mcd's failure
            log.warning("langfuse: %s", type(exc).__name__)


class Trace:
    """One connect, run or exec of a session, opened when it starts and sent when it ends."""

    def __init__(self, langfuse: Langfuse, describe: Callable[[], Session], kind: str, command: list[str],
                 *, send_now: bool) -> None:
        self.langfuse = langfuse
        self.kind = kind
        if kind == "run" and command[:2] == ["bash", "-lc"]:
            command = command[2:]  # the shell line the user gave
        self.command = " ".join(command)[:COMMAND_LIMIT]
        self.send_now = send_now
        self.started = time.time()
        self.tail = Tail()
        self._span: Any = None
        self._client: Any = None
        self._session: Session | None = None
        self._opened = threading.Thread(target=self._open, args=(describe,), name="mc-trace", daemon=True)
        self._opened.start()

    def _open(self, describe: Callable[[], Session]) -> None:
        try:
            self._session = session = describe()
            self._client = _client(self.langfuse)
            from langfuse import propagate_attributes

            meta = {"driver": session.driver, "project": session.project or "-", "owner": session.owner}
            with propagate_attributes(user_id=session.owner[:200] or None, session_id=session.id,
                                      trace_name=f"mc {self.kind}", metadata=meta, tags=["mc", self.kind]):
                self._span = self._client.start_observation(name=f"mc {self.kind}", input=self.command or None)
        except Exception as exc:  # tracing never breaks the command it describes
            log.debug("langfuse trace not opened: %s", exc)

    def end(self, code: int | None, *, detached: bool = False, error: str = "") -> None:
        """Close the trace with the command's exit code (None: it never ran) and send it (local mode)."""
        self._opened.join(timeout=30)
        span, session = self._span, self._session
        if span is None or session is None:
            return
        try:
            meta: dict[str, Any] = {"command": self.command, "exit_code": code,
                                    "duration_s": round(time.time() - self.started, 3), "detached": detached,
                                    "session": session.id, "driver": session.driver,
                                    "project": session.project, "owner": session.owner}
            if error:
                meta["error"] = error[:500]
            failed = bool(error) or (code not in (0, None) and not detached)
            span.update(output=self.tail.text() if self.tail.data else None, metadata=meta,
                        level="ERROR" if failed else "DEFAULT",
                        status_message=error[:200] or (f"exit {code}" if failed else None))
            span.end()
            if self.send_now:
                self._client.flush()
        except Exception as exc:
            log.debug("langfuse trace not sent: %s", exc)
