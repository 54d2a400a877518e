"""The Docker networks sessions join: the one mc makes (shared locally, one per owner in mcd), and
the existing ones a caller names."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from mc.docker import Docker, DockerError
from mc.engine import labels
from mc.errors import Conflict, NotFound

# Docker's check that a network name is free is not atomic: parallel creates of one name can make
# two networks, and then no container can join either ("ambiguous"). One at a time in this process;
# and the many sessions of a burst that all found the network missing make it once, not each.
_creating = threading.Lock()
_made: dict[str, float] = {}  # name -> when this process last made it (or found it made)


def ensure_network(docker: Docker, name: str, owner: str = "", *, internal: bool = False,
                   isolated: bool = False) -> None:
    """Create mc's network ``name`` unless it exists (an owner's own network is labelled so).
    ``internal``: no way out (sessions with an egress policy); ``isolated``: no traffic between its
    members (the egress network that proxies of every owner share)."""
    asked = time.monotonic()
    with _creating:
        if _made.get(name, 0.0) >= asked:  # made while this caller waited
            return
        # internal: no route out, and no address of the host on it (its services are not reachable
        # from the session's gateway address; a direct connection fails at once: no route to host)
        options = [*(["--internal", "-o", "com.docker.network.bridge.inhibit_ipv4=true"] if internal else []),
                   *(["-o", "com.docker.network.bridge.enable_icc=false"] if isolated else [])]
        try:
            docker.run("network", "create", "--label", f"{labels.NETWORK}={owner or '1'}", *options, name)
        except DockerError as exc:
            if not exc.is_a(Conflict):  # created meanwhile by a parallel mc
                raise
        _made[name] = time.monotonic()


@contextlib.contextmanager
def host_lock() -> Iterator[None]:
    """mc processes of this host one at a time (a network that several may find missing at once is
    made once); best effort: a lock file another user made, and this one may not open, is done
    without."""
    import fcntl
    import os

    try:
        fd = os.open("/tmp/mc-network-create.lock", os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def check_networks(docker: Docker, names: tuple[str, ...]) -> None:
    """Every named network exists (one clear error naming the first that does not)."""
    if not names:
        return
    try:
        docker.run("network", "inspect", "--format", "{{.Name}}", *names)
    except DockerError as exc:
        if exc.is_a(NotFound):
            out = docker.text("network", "ls", "--format", "{{.Name}}").split()
            missing = [n for n in names if n not in out]
            raise NotFound(f"network '{(missing or names)[0]}' does not exist (docker network create it first)") \
                from None
        raise


def prune_owner_network(docker: Docker, owner: str) -> None:
    """Remove the network mc made for an owner's sessions once none uses it (made again on demand).
    Through LocalBackend.prune_owner_network, which knows whether a create of theirs is under way."""
    docker.run("network", "prune", "-f", "--filter", f"label={labels.NETWORK}={owner}", check=False, timeout=60)
