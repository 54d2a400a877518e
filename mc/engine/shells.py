"""Shells that outlive their connection: a connect whose client vanishes can be resumed.

A resumable shell is an interactive connect on a terminal (no command) whose ``AttachProcess`` is
held by a ``Shells`` registry instead of by one call. A pump thread reads its output all the time
into a bounded scrollback and hands each chunk to the one client attached, if any. When that client
goes away without a detach (a killed client, a closed tab, a dropped network), the shell waits
``grace`` seconds for its user to come back; resuming replays the scrollback (the recent screen) and
then goes on live. After the grace period the shell is ended the way a dropped attach always was
(a hangup, then a kill, of its processes in the session). An exit, a detach or the session's end
forgets the shell.

A resume while another client is attached takes the shell over (that client's stream ends): a
connection that died without the server noticing (a laptop asleep) must not keep its shell hostage.

``Attachment`` offers what a caller of ``AttachProcess`` uses (``output``, ``write``, ``resize``,
``wait``, ``detach``, ``kill``), so mcd's Attach stream and the browser's WebSocket drive both alike.
Bounds: the scrollback (``SCROLLBACK`` bytes, cut at a line start), the shells one user may keep
waiting (``max_waiting``: the oldest waiting one ends first), the grace period (operator's config).
"""

from __future__ import annotations

import collections
import contextlib
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from mc.engine.attach import POLL, QUEUE, AttachProcess
from mc.engine.models import ShellInfo
from mc.errors import NotFound

if TYPE_CHECKING:
    from mc.engine.local import LocalBackend

SCROLLBACK = 256 * 1024
DEFAULT_GRACE = 300
MAX_WAITING = 8  # waiting shells per user


class _Ended:
    """The last item of an attachment's queue."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        self.code = code
        self.reason = reason


class Attachment:
    """One client's hold on a shell, for as long as its connection lasts."""

    def __init__(self, shell: Shell, resumed: bool) -> None:
        self.shell = shell
        self.resumed = resumed
        self.detached = False
        self.taken_over = False
        self._q: queue.Queue[bytes | _Ended] = queue.Queue(maxsize=QUEUE)
        self._code: int | None = None
        self._done = threading.Event()

    @property
    def id(self) -> str:
        return self.shell.id

    # fed by the shell's pump
    def _put(self, item: bytes | _Ended) -> bool:
        """Hand an item over; False when this client is no longer the shell's (then it is dropped)."""
        while self.shell.client is self or isinstance(item, _Ended):
            try:
                self._q.put(item, timeout=POLL)
                return True
            except queue.Full:
                if isinstance(item, _Ended):  # nobody reads any more: make room for the end
                    with contextlib.suppress(queue.Empty):
                        self._q.get_nowait()
        return False

    # what a stream uses
    def output(self) -> Iterator[tuple[str, bytes]]:
        while True:
            try:
                item = self._q.get(timeout=POLL)
            except queue.Empty:
                if self._done.is_set():
                    return
                continue
            if isinstance(item, _Ended):
                self._code = item.code
                self.taken_over = item.reason == "taken over"
                self._done.set()
                return
            yield "stdout", item

    def wait(self) -> int:
        self._done.wait()
        return self._code if self._code is not None else 0

    def write(self, data: bytes) -> None:
        if self.shell.client is self:
            self.shell.proc.write(data)

    def resize(self, rows: int, cols: int) -> None:
        if self.shell.client is self:
            self.shell.size = (rows, cols)
            self.shell.proc.resize(rows, cols)

    def signal(self, number: int) -> None:
        if self.shell.client is self:
            self.shell.proc.signal(number)

    def close_stdin(self) -> None:
        if self.shell.client is self:
            self.shell.proc.close_stdin()

    def detach(self) -> None:
        """Leave the command running in the session, as a detach always did (not resumable)."""
        if self.shell.client is self:
            self.detached = True
            self.shell.registry._forget(self.shell)
            self.shell.proc.detach()

    def kill(self) -> None:
        """The client went away: the shell waits for its user to come back."""
        self.shell.release(self)


class Shell:
    def __init__(self, registry: Shells, proc: AttachProcess, session: str, user: str,
                 size: tuple[int, int] | None, shell_id: str = "") -> None:
        self.registry = registry
        self.proc = proc
        self.id = shell_id or secrets.token_hex(4)
        self.session = session
        self.user = user
        self.size = size
        self.started = time.time()
        self.waiting_since = 0.0
        self.client: Attachment | None = None
        self._lock = threading.Lock()
        self._chunks: collections.deque[bytes] = collections.deque()
        self._held = 0
        self._timer: threading.Timer | None = None
        self._ended = False

    def info(self) -> ShellInfo:
        left = 0
        if self.waiting_since:
            left = max(0, int(self.waiting_since + self.registry.grace - time.time()))
        return ShellInfo(self.id, self.session, self.started, self.waiting_since, left)

    def attach(self, resumed: bool, size: tuple[int, int] | None) -> Attachment:
        att = Attachment(self, resumed)
        with self._lock:
            if self._ended:
                raise NotFound(f"shell {self.id} has ended")
            old, self.client = self.client, att
            self.waiting_since = 0.0
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if resumed:
                replay = b"".join(self._chunks)
                for i in range(0, len(replay), 64 * 1024):
                    att._q.put_nowait(replay[i:i + 64 * 1024])
        if old is not None:
            old._put(_Ended(None, "taken over"))
        if resumed and size and size != self.size:
            att.resize(*size)
        return att

    def release(self, att: Attachment) -> None:
        """``att``'s connection is gone: keep the shell for the grace period."""
        with self._lock:
            if self.client is not att or self._ended:
                return
            self.client = None
            self.waiting_since = time.time()
            self._timer = threading.Timer(self.registry.grace, self._expire)
            self._timer.daemon = True
            self._timer.start()
        att._put(_Ended(None, "released"))  # its stream's output ends
        self.registry._waiting(self)

    def _expire(self) -> None:
        with self._lock:
            if self.client is not None or self._ended:
                return
        self.end()

    def end(self) -> None:
        """End the shell's processes in the session (the pump then forgets it)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
        self.proc.kill()

    def pump(self) -> None:
        try:
            for _, chunk in self.proc.output():
                with self._lock:
                    self._chunks.append(chunk)
                    self._held += len(chunk)
                    self._trim()
                    client = self.client
                if client is not None:
                    client._put(chunk)
            code: int | None = self.proc.wait()
        except Exception:  # never leave a shell behind a broken pump
            code = None
            with contextlib.suppress(Exception):
                self.proc.kill()
        with self._lock:
            self._ended = True
            if self._timer is not None:
                self._timer.cancel()
            client = self.client
        self.registry._forget(self)
        if client is not None:
            client._put(_Ended(code))

    def _trim(self) -> None:
        while self._held > SCROLLBACK and len(self._chunks) > 1:
            self._held -= len(self._chunks.popleft())
        if self._held > SCROLLBACK:  # one chunk larger than the scrollback: keep its end
            only = self._chunks.pop()[-SCROLLBACK:]
            self._chunks.append(only)
            self._held = len(only)
        first = self._chunks[0] if self._chunks else b""
        cut = first.find(b"\n")
        if len(self._chunks) > 1 and self._held > SCROLLBACK * 3 // 4 and 0 <= cut < len(first) - 1:
            # start the replay at a line: never in the middle of a character or an escape sequence
            self._chunks[0] = first[cut + 1:]
            self._held -= cut + 1


class Shells:
    """Every resumable shell of one server."""

    def __init__(self, grace: float = DEFAULT_GRACE, max_waiting: int = MAX_WAITING) -> None:
        self.grace = grace
        self.max_waiting = max_waiting
        self._lock = threading.Lock()
        self._shells: dict[str, Shell] = {}

    def open(self, start: Callable[[], AttachProcess], session: str, user: str,
             size: tuple[int, int] | None, shell_id: str = "") -> Attachment:
        """A new shell (``start`` runs its command) with this client attached."""
        proc = start()
        shell = Shell(self, proc, session, user, size, shell_id)
        with self._lock:
            self._shells[shell.id] = shell
        att = shell.attach(False, size)
        threading.Thread(target=shell.pump, name=f"shell-{shell.id}", daemon=True).start()
        return att

    def connect(self, engine: LocalBackend, session: str, user: str, size: tuple[int, int] | None,
                term: str) -> Attachment:
        """A new shell: the session's connect command on a terminal, this client attached."""
        return self.open(lambda: engine.open_attach(session, [], tty=True, interactive=True, size=size, term=term),
                         session, user, size)

    def resume(self, shell_id: str, session: str, user: str, size: tuple[int, int] | None) -> Attachment:
        """Resume the user's shell in that session: its scrollback first, then live."""
        with self._lock:
            shell = self._shells.get(shell_id)
        if shell is None or shell.user != user or shell.session != session:
            raise NotFound(f"no shell {shell_id} to resume in session {session} (it ended, or its grace "
                           "period ran out)")
        return shell.attach(True, size)

    def get(self, shell_id: str) -> Shell | None:
        with self._lock:
            return self._shells.get(shell_id)

    def of(self, session: str, user: str) -> list[ShellInfo]:
        """The user's shells in a session, oldest first."""
        with self._lock:
            shells = [s for s in self._shells.values() if s.session == session and s.user == user]
        return sorted((s.info() for s in shells), key=lambda i: i.started)

    def close_all(self) -> None:
        with self._lock:
            shells = list(self._shells.values())
        for s in shells:
            s.end()

    def _waiting(self, shell: Shell) -> None:
        with self._lock:
            waiting = sorted((s for s in self._shells.values() if s.user == shell.user and s.waiting_since),
                             key=lambda s: s.waiting_since)
        for s in waiting[:max(0, len(waiting) - self.max_waiting)]:
            s.end()

    def _forget(self, shell: Shell) -> None:
        with self._lock:
            self._shells.pop(shell.id, None)
