"""grpc.health.v1 for mcd: Check, and Watch streams that hold no thread.

Not grpc_health's HealthServicer: it sends to its watchers while holding its lock, and grpc runs a
closing watch's callback, which takes that lock, on the very thread that completes those sends. A
watcher that goes away during a status change (every client at shutdown) then deadlocks the server.
Here a status change is recorded under the lock and sent outside it; each watcher is sent the
status current at the time of sending, so concurrent changes can not reach it out of order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
SERVICE_NAME = "grpc.health.v1.Health"
MAX_WATCHERS = 1024  # health needs no token: anyone reaching mcd may watch, but not without bound


class _Watcher:
    def __init__(self, service: str, send: Callable[[Any], object]) -> None:
        self.service = service
        self.send = send
        self.lock = threading.Lock()  # one send at a time, in order
        self.sent: int | None = None


class Health(health_pb2_grpc.HealthServicer):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status: dict[str, int] = {"": SERVING}
        self._watchers: set[_Watcher] = set()
        self._frozen = False

    def Check(self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext) -> Any:
        with self._lock:
            status = self._status.get(request.service)
        if status is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        return health_pb2.HealthCheckResponse(status=status)

    def Watch(self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext,
              send_response_callback: Callable[[Any], object] | None = None) -> None:
        if send_response_callback is None:  # grpc always passes it to a non-blocking handler
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "health watch needs a non-blocking server")
            return
        watcher = _Watcher(request.service, send_response_callback)
        with self._lock:
            if len(self._watchers) >= MAX_WATCHERS:
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "too many health watches")
            self._watchers.add(watcher)
        context.add_callback(lambda: self._forget(watcher))
        self._notify(watcher)

    # Watch runs on a pool thread only to register the watcher; sends come later, from set()
    Watch.experimental_non_blocking = True  # type: ignore[attr-defined]
    Watch.experimental_thread_pool = None  # type: ignore[attr-defined]

    def set(self, service: str, status: int) -> None:
        """The status of ``service`` ("" is the server as a whole), sent to its watchers."""
        with self._lock:
            if self._frozen:
                return
            self._status[service] = status
            watchers = [w for w in self._watchers if w.service == service]
        for w in watchers:
            self._notify(w)

    def enter_graceful_shutdown(self) -> None:
        """Every service NOT_SERVING from now on, whatever set() is called with later."""
        with self._lock:
            if self._frozen:
                return
            self._frozen = True
            for service in self._status:
                self._status[service] = NOT_SERVING
            watchers = list(self._watchers)
        for w in watchers:
            self._notify(w)

    def watchers(self) -> int:
        with self._lock:
            return len(self._watchers)

    def _forget(self, watcher: _Watcher) -> None:
        with self._lock:
            self._watchers.discard(watcher)

    def _notify(self, watcher: _Watcher) -> None:
        with watcher.lock:
            with self._lock:
                status = self._status.get(watcher.service, UNKNOWN)
            if status != watcher.sent:
                watcher.sent = status
                watcher.send(health_pb2.HealthCheckResponse(status=status))
