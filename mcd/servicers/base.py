"""What every servicer shares: domain errors -> gRPC status, and the caller's scope."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import grpc

from mc.engine.local import LocalBackend
from mc.engine.scope import Scope
from mc.errors import McError
from mc.remote.status import to_status
from mcd import identity
from mcd.users import Users

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


class Scoped:
    """A servicer acting for the caller: ``scope()`` is who is calling, as the engine sees them."""

    def __init__(self, users: Users) -> None:
        self.users = users

    def scope(self) -> Scope:
        return self.users.scope(identity.current.get())


class EngineScoped(Scoped):
    """A servicer over the engine: ``_engine()`` is the engine acting for the caller."""

    def __init__(self, engine: LocalBackend, users: Users) -> None:
        super().__init__(users)
        self.engine = engine

    def _engine(self) -> LocalBackend:
        return self.engine.scoped(self.scope())
