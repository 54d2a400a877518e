"""Who is calling: set per RPC by the interceptor, read by the servicers."""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Identity:
    """A caller. ``user`` is the key sessions, projects and volumes are filed under: the token's
    subject (stable; a provider may let people rename themselves or reuse a name). ``name`` is for
    display. ``expires_at`` (epoch seconds, 0 for never) and ``token`` (a digest of the access
    token) let long streams end when the token does."""

    user: str
    admin: bool = False
    expires_at: float = 0.0
    name: str = ""
    token: str = ""

    @property
    def expires_in(self) -> int:
        return max(0, int(self.expires_at - time.time())) if self.expires_at else 0

    @property
    def display(self) -> str:
        return self.name or self.user


current: contextvars.ContextVar[Identity] = contextvars.ContextVar("mcd_identity")
