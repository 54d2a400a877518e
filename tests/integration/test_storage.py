"""Storage limits of sessions (--storage): enforced on an engine that can (a second dockerd on btrfs
with quota groups, scripts/ensure-quota-engine.sh), refused in one line, before anything is made,
on one that cannot (the main engine: overlay2 on ext4), locally and through mcd."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import ROOT, containers_of

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def quota_engine(engine: None) -> str:
    """The second engine's address, with the base driver's image of the main engine loaded."""
    address = subprocess.run(["bash", str(ROOT / "scripts" / "ensure-quota-engine.sh")], check=True,
                             capture_output=True, text=True).stdout.strip()
    assert address.startswith("unix://")
    return address


def _load_base(mc, address: str) -> None:
    """The image mc would build for base (same content, same tag), copied into the engine at
    ``address`` (its default bridge has no way out to build it there)."""
    tag = json.loads(mc.ok("driver", "build", "base", "-o", "json"))["image"]
    there = subprocess.run(["docker", "-H", address, "image", "inspect", tag], capture_output=True)
    if there.returncode != 0:
        save = subprocess.Popen(["docker", "save", tag], stdout=subprocess.PIPE)
        subprocess.run(["docker", "-H", address, "load", "-q"], stdin=save.stdout, check=True, capture_output=True)
        assert save.wait() == 0


def test_a_storage_limit_is_enforced_where_the_engine_can(docker_mc, quota_engine, tmp_path):
    mc = docker_mc
    _load_base(mc, quota_engine)
    mc.ok("config", "set", "docker.socket", quota_engine)
    try:
        s = json.loads(mc.ok("session", "create", "--driver", "base", "--no-connect", "--storage", "400m",
                             "-o", "json"))
        assert s["storage"] == "400m"
        shown = json.loads(mc.ok("session", "show", s["id"], "-o", "json"))
        assert shown["storage"] == "400m"
        assert mc.ok("session", "exec", s["id"], "--", "bash", "-c",
                     "head -c 100000000 /dev/zero >~/small && echo small-ok").strip() == "small-ok"
        big = mc.run("session", "exec", s["id"], "--", "bash", "-c", "head -c 500000000 /dev/zero >~/big")
        assert big.returncode != 0 and "quota exceeded" in big.stderr.lower()
        unlimited = json.loads(mc.ok("session", "create", "--driver", "base", "--no-connect", "-o", "json"))
        assert mc.ok("session", "exec", unlimited["id"], "--", "bash", "-c",
                     "head -c 500000000 /dev/zero >~/big && rm ~/big && echo big-ok").strip() == "big-ok"
    finally:
        mc.run("session", "close", "--all")
        mc.ok("config", "set", "docker.socket", "")


def test_an_engine_that_cannot_says_so_before_anything_is_made(docker_mc, tmp_path):
    from tests.mcd_harness import start_mcd

    mc = docker_mc
    r = mc.run("session", "create", "--driver", "base", "--no-connect", "--storage", "1g")
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1
    assert "--storage: this engine cannot limit a session's storage (storage driver overlay2 on extfs)" in r.stderr
    assert containers_of(mc.owner) == []
    daemon = start_mcd(tmp_path, mc.env, sessions={"storage": "10g"})
    try:
        mc.ok("remote", "add", "t", daemon.url)
        r = mc.run("-r", "t", "session", "create", "--driver", "base", "--no-connect")  # the server's default
        assert r.returncode != 0 and "cannot limit a session's storage" in r.stderr
        r = mc.run("-r", "t", "session", "create", "--driver", "base", "--no-connect", "--storage", "20g")
        assert r.returncode != 0 and "--storage 20g: this server allows at most 10g" in r.stderr
        assert json.loads(mc.ok("-r", "t", "session", "list", "-o", "json")) == []
    finally:
        daemon.stop()


@pytest.mark.parametrize(("value", "needle"), [("lots", "--storage 'lots': expected a size"),
                                               ("10m", "--storage 10m: expected 256m to 64t")])
def test_bad_sizes_are_one_line(docker_mc, value, needle):
    r = docker_mc.run("session", "create", "--driver", "base", "--no-connect", "--storage", value)
    assert r.returncode != 0 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1
