"""Placeholder token provider: remotes without auth need no token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def token_provider(name: str, endpoint: dict[str, Any]) -> Callable[[], str]:
    return lambda: ""


def forget(name: str) -> None:
    """Drop a remote's stored tokens."""
