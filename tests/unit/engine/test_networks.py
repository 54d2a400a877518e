"""mc's own networks: made on demand, once per burst of sessions that found one missing."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from mc.engine.networks import ensure_network
from tests.fakes import FakeDocker


class SlowCreate(FakeDocker):
    """A docker whose ``network create`` takes a while (and answers Conflict once the name exists)."""

    def run(self, *args, **kw):
        if args[:2] == ("network", "create"):
            time.sleep(0.2)
            self.on("network", "create", rc=1, stderr=f"Error response from daemon: network with name {args[-1]} "
                                                      "already exists\n")
        return super().run(*args, **kw)


def test_a_burst_that_found_the_network_missing_makes_it_once():
    docker = SlowCreate()
    ready = threading.Barrier(8)

    def one(_: int) -> None:
        ready.wait()
        ensure_network(docker, "mc-network-burst", "alice")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(8)))
    assert [argv[:2] for argv in docker.commands()] == [["network", "create"]]


def test_a_network_removed_since_is_made_again():
    docker = FakeDocker()
    ensure_network(docker, "mc-network-again", "alice")
    ensure_network(docker, "mc-network-again", "alice")  # asked after the first was made: it may be gone
    assert [argv[:2] for argv in docker.commands()] == [["network", "create"]] * 2
