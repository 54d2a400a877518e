"""Domain error <-> gRPC status code, in one table used by both ends of the wire."""

from __future__ import annotations

import grpc

from mc import errors

TABLE: list[tuple[type[errors.McError], grpc.StatusCode]] = [
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.Conflict, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (errors.McError, grpc.StatusCode.INTERNAL),
]


def to_status(exc: errors.McError) -> grpc.StatusCode:
    category = getattr(exc, "category", type(exc))  # DockerError carries its domain category
    for cls, code in TABLE:
        if issubclass(category, cls):
            return code
    return grpc.StatusCode.INTERNAL


def from_status(code: grpc.StatusCode, message: str) -> errors.McError:
    """The typed error a client raises for a failed call."""
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return errors.Unavailable(f"the remote did not answer in time ({message})")
    if code == grpc.StatusCode.UNAVAILABLE and not message:
        message = "the remote is unreachable"
    for cls, table_code in TABLE:
        if table_code == code:
            return cls(message)
    return errors.McError(message or code.name.lower())
