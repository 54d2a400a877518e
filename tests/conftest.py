"""Shared test harness: an isolated mc home per test and the real Docker engine.

Every test gets its own config/data dirs and its own session owner (MC_OWNER), so tests can run in
parallel (pytest-xdist) against one engine and only ever see and clean up their own sessions. The
image build cache (XDG_CACHE_HOME, build locks) is shared by the whole run so each driver image
is built once.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Tests run mcd in process (grpc with its pollers) and spawn terminals by fork (pexpect): grpc's
# fork handlers then restart a poller in the child between fork and exec, which can kill it
# ("epoll_wait error: Bad file descriptor"). Nothing here uses grpc across a fork.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

ROOT = Path(__file__).resolve().parents[1]
RUN_CACHE = Path(os.environ.get("MC_TEST_CACHE", "/tmp/mc-test-cache"))


def mc_command() -> list[str]:
    """How tests run mc: the built binary when MC_BIN is set, else this checkout's module."""
    if os.environ.get("MC_BIN"):
        return [os.environ["MC_BIN"]]
    return [sys.executable, "-m", "mc"]


def host_ca_dir() -> str:
    d = "/usr/local/share/ca-certificates"
    return d if os.path.isdir(d) and any(Path(d).glob("*.crt")) else ""


def build_test_image(directory: Path, name: str) -> str:
    """A test image built from ``directory`` once per content (``mc-test-NAME:HASH``), the way mc
    builds its own helper images: pip and npm in it trust the host's extra CAs."""
    from mc.docker import Docker
    from mc.drivers.build import build_helper, extra_ca_paths

    extra = extra_ca_paths([host_ca_dir()] if host_ca_dir() else [])
    return build_helper(Docker(), directory, f"mc-test-{name}", extra)


@dataclass
class McEnv:
    """An isolated mc home and owner; ``run`` invokes the real CLI as a subprocess."""

    home: Path
    owner: str
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, check: bool = False, timeout: float = 600, input: str | None = None,
            cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*mc_command(), *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, input=input, cwd=cwd or self.home,
                              stdin=None if input is not None else subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError(f"mc {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def ok(self, *args: str, **kw) -> str:
        return self.run(*args, check=True, **kw).stdout

    @property
    def config_file(self) -> Path:
        return self.home / "config" / "mc" / "config.yaml"


def make_env(tmp: Path) -> McEnv:
    owner = f"test-{secrets.token_hex(4)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MC_", "XDG_"))}
    env.update(
        XDG_CONFIG_HOME=str(tmp / "config"),
        XDG_DATA_HOME=str(tmp / "data"),
        XDG_CACHE_HOME=str(RUN_CACHE),
        MC_OWNER=owner,
        HOME=str(tmp),
        PYTHONPATH=str(ROOT),
        TERM="xterm",
    )
    if os.environ.get("MC_BIN"):
        env["MC_BIN"] = os.environ["MC_BIN"]
    ca = host_ca_dir()
    if ca:
        env["MC_EXTRA_CA_CERTS"] = ca
    return McEnv(tmp, owner, env)


@pytest.fixture
def mc(tmp_path: Path) -> McEnv:
    return make_env(tmp_path)


def _docker_ok() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.fixture(scope="session")
def engine() -> None:
    """The real Docker engine, started by scripts/ensure-engine.sh when it is not running."""
    if not _docker_ok():
        subprocess.run(["bash", str(ROOT / "scripts" / "ensure-engine.sh")], check=True)


# Sessions of one pytest worker share a network of their own rather than mc-network: Debian's
# dockerd 20.10 can deadlock when containers leave one network from many sides at once
# (moby/moby#42545), and four workers tearing sessions down on one network is just that.
WORKER_NETWORK = f"mc-network-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


@pytest.fixture
def docker_mc(engine: None, mc: McEnv):
    """An mc home on the real engine (sessions join the worker's network); removes every
    container the test's owner left behind."""
    mc.config_file.parent.mkdir(parents=True, exist_ok=True)
    mc.config_file.write_text(f"docker:\n  network: {WORKER_NETWORK}\n")
    yield mc
    remove_owned(mc.owner)


def remove_owned(owner: str) -> None:
    """What an owner's sessions left: containers, a network mcd made for the owner, volumes."""
    out = containers_of(owner)
    if out:
        subprocess.run(["docker", "rm", "-f", "-v", *out], capture_output=True)  # -v: their secrets' volumes
    nets = docker("network", "ls", "-q", "--filter", f"label=mc.network={owner}").split()
    if nets:
        subprocess.run(["docker", "network", "rm", *nets], capture_output=True)
    volumes = docker("volume", "ls", "-q", "--filter", f"label=mc.owner={owner}").split()
    if volumes:  # persistent configs through mcd, MCP bridges
        subprocess.run(["docker", "volume", "rm", "-f", *volumes], capture_output=True)


def make_driver(parent: Path, name: str, manifest: str = "", steps: str = "") -> Path:
    """A path driver ``parent/name``: a Dockerfile FROM the base image with ``steps`` after it, and
    the ``mc-driver.yaml`` text when one is given."""
    d = parent / name
    d.mkdir(exist_ok=True)
    (d / "Dockerfile").write_text(f"FROM debian:bookworm-slim\n{steps}")
    if manifest:
        (d / "mc-driver.yaml").write_text(manifest)
    return d


def containers_of(owner: str) -> list[str]:
    return subprocess.run(["docker", "ps", "-aq", "--filter", f"label=mc.owner={owner}"],
                          capture_output=True, text=True, check=True).stdout.split()


def docker(*args: str, check: bool = True, stderr: bool = False) -> str:
    """The docker CLI's output (``stderr``: with its error output after it, as for ``docker logs``)."""
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, check=check)
    return proc.stdout + proc.stderr if stderr else proc.stdout


@pytest.fixture(scope="session")
def swarm(engine: None):
    """A Docker Swarm of DinD nodes (tests/swarm_harness.py) as (its directory, Cluster): the run's,
    brought up by scripts/test.sh beside the other setup (MC_TEST_SWARM), else one of this worker's."""
    from tests.swarm_harness import Cluster, down, up

    shared = os.environ.get("MC_TEST_SWARM")
    if shared:
        yield Path(shared), Cluster.read(Path(shared))
        return
    directory = Path(tempfile.mkdtemp(prefix="mc-swarm-"))
    try:
        yield directory, up(directory)
    finally:
        down(directory)
        shutil.rmtree(directory, ignore_errors=True)


def driver_image_on_manager(cluster, env: dict[str, str]) -> None:
    """The base driver's image where mcd builds on a cluster (the manager): copied from the host's
    engine, as a build there would make it (the same content, the same tag)."""
    proc = subprocess.run([*mc_command(), "driver", "build", "base", "-o", "json"], env=env, capture_output=True,
                          text=True, check=True, timeout=900)
    tag = json.loads(proc.stdout)["image"]
    if cluster.docker(cluster.manager, "image", "inspect", tag, check=False).returncode != 0:
        cluster.load(cluster.manager, "debian:bookworm-slim", tag)


def swarm_config(cluster, pool: str = "sessions", place_timeout: str = "60s") -> dict:
    """write_config sections of an mcd in swarm mode on ``cluster``."""
    return {"docker": {"mode": "swarm", "swarm": {
        "manager": cluster.manager.host, "registry": cluster.registry, "place_timeout": place_timeout,
        "tls": {"ca": f"{cluster.certs}/ca.pem", "cert": f"{cluster.certs}/cert.pem",
                "key": f"{cluster.certs}/key.pem"}}}, "sessions": {"pool": pool}}


@pytest.fixture
def postgres():
    """A throw-away PostgreSQL cluster on 127.0.0.1 (tests/postgres_harness.py)."""
    from tests.postgres_harness import postgres_server

    with postgres_server() as server:
        yield server
