"""mcd's health service on a real in-process gRPC server: what watchers see, its bound, and that
watchers leaving while the status changes can not wedge the server (grpc_health's own servicer
deadlocks there)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mcd import health
from mcd.health import NOT_SERVING, SERVING, Health


@pytest.fixture
def served() -> Iterator[tuple[Health, health_pb2_grpc.HealthStub]]:
    server = grpc.server(futures.ThreadPoolExecutor(4))
    servicer = Health()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield servicer, health_pb2_grpc.HealthStub(channel)
    channel.close()
    server.stop(0)


def request(service: str = "") -> health_pb2.HealthCheckRequest:
    return health_pb2.HealthCheckRequest(service=service)


def until(predicate, seconds: float = 10) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_watchers_follow_changes_and_shutdown_is_final(served):
    servicer, stub = served
    whole, named = stub.Watch(request()), stub.Watch(request("mc.api.v1.SessionService"))
    assert next(whole).status == SERVING
    assert next(named).status == health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
    servicer.set("mc.api.v1.SessionService", SERVING)
    assert next(named).status == SERVING
    servicer.enter_graceful_shutdown()
    assert next(whole).status == NOT_SERVING and next(named).status == NOT_SERVING
    servicer.set("", SERVING)  # ignored from now on
    assert stub.Check(request()).status == NOT_SERVING
    with pytest.raises(grpc.RpcError) as err:
        stub.Check(request("nothing"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    whole.cancel()
    named.cancel()


def test_watchers_are_bounded_and_forgotten_when_they_leave(served, monkeypatch):
    servicer, stub = served
    monkeypatch.setattr(health, "MAX_WATCHERS", 5)
    watches = [stub.Watch(request()) for _ in range(5)]
    for w in watches:
        next(w)
    with pytest.raises(grpc.RpcError) as err:
        next(stub.Watch(request()))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    for w in watches:
        w.cancel()
    assert until(lambda: servicer.watchers() == 0)
    assert next(stub.Watch(request())).status == SERVING  # room again


@pytest.mark.parametrize("attempt", range(3))
def test_watchers_leaving_during_a_change_do_not_wedge_the_server(served, attempt):
    servicer, stub = served
    watches = [stub.Watch(request()) for _ in range(100)]
    for w in watches:
        next(w)
    done = threading.Event()

    def flip_then_drain() -> None:
        for i in range(20):
            servicer.set("", SERVING if i % 2 else NOT_SERVING)
        servicer.enter_graceful_shutdown()
        done.set()

    leaving = threading.Thread(target=lambda: [w.cancel() for w in watches])
    leaving.start()
    threading.Thread(target=flip_then_drain, daemon=True).start()
    assert done.wait(30), "a status change blocked on watchers that were leaving"
    leaving.join()
