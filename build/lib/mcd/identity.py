"""Who is calling: set per RPC by the interceptor, read by the servicers."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class Identity:
    user: str
    admin: bool = False
    expires_in: int = 0


current: contextvars.ContextVar[Identity] = contextvars.ContextVar("mcd_identity")
