"""What every servicer shares: the caller's scoped engine, and McError -> gRPC status."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import grpc

from mc.errors import McError
from mc.remote.status import to_status
from mcd import identity

F = TypeVar("F", bound=Callable[..., Any])


def unary(fn: F) -> F:
    """Map domain errors of a unary method to their status codes."""

    @functools.wraps(fn)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return fn(self, request, context)
        except McError as exc:
            context.abort(to_status(exc), str(exc))

    return wrapper  # type: ignore[return-value]


def streaming(fn: F) -> F:
    """Map domain errors of a response-streaming method to their status codes."""

    @functools.wraps(fn)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            yield from fn(self, request, context)
        except McError as exc:
            context.abort(to_status(exc), str(exc))

    return wrapper  # type: ignore[return-value]


class Base:
    def __init__(self, daemon: Any) -> None:
        self.daemon = daemon

    def engine(self) -> Any:
        """The shared LocalBackend, scoped to the caller (owner, admin)."""
        who = identity.current.get()
        return self.daemon.backend.scoped(who.user, who.admin)
