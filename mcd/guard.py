"""Long streams (attach, followed logs) end when the access token they run on does.

A token is checked when a call starts; a stream may then live for hours. So every long stream is
watched: when its token expires, or was logged out through mcd, the stream is ended (its ``end``
callback stops what it runs) and the call fails with UNAUTHENTICATED. An attach may hand over a
fresh token of the same user before that (``renew``); a followed log is resumed by the client.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from mcd.identity import Identity

LEEWAY = 5.0  # seconds past expiry, as the token check itself allows


class Watch:
    def __init__(self, guard: StreamGuard, who: Identity, end: Callable[[], object]) -> None:
        self.guard, self.who, self._end = guard, who, end
        self.reason = ""  # why the stream was ended; "" while it runs

    def renew(self, who: Identity) -> None:
        """A fresh token of the same user: the stream may run until that one expires."""
        self.who = who

    def stop(self, reason: str) -> None:
        if not self.reason:
            self.reason = reason
            threading.Thread(target=self._end, name="stream-end", daemon=True).start()

    def close(self) -> None:
        self.guard.forget(self)


class StreamGuard:
    def __init__(self, revoked: Callable[[str], bool] | None = None, period: float = 1.0) -> None:
        self.revoked = revoked
        self.period = period
        self._watches: set[Watch] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, who: Identity, end: Callable[[], object]) -> Watch:
        w = Watch(self, who, end)
        if who.expires_at or who.token:  # without auth nothing ever expires
            with self._lock:
                self._watches.add(w)
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="stream-guard", daemon=True)
                    self._thread.start()
        return w

    def forget(self, w: Watch) -> None:
        with self._lock:
            self._watches.discard(w)

    def check(self) -> None:
        now = time.time()
        with self._lock:
            watches = list(self._watches)
        for w in watches:
            if w.who.expires_at and now > w.who.expires_at + LEEWAY:
                w.stop("access token expired: the stream ended (a current mc renews it on its own)")
            elif self.revoked is not None and w.who.token and self.revoked(w.who.token):
                w.stop("this login was ended (mc auth logout)")
            else:
                continue
            self.forget(w)

    def _run(self) -> None:
        while not self._stopping.wait(self.period):
            self.check()

    def stop(self) -> None:
        self._stopping.set()
