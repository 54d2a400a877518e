"""Drivers as images in a registry (a real one: the CNCF distribution registry, Debian's
docker-registry package, on loopback, with and without basic auth): mc driver build --push
publishes an image that describes itself, mc driver pull and mcd's drivers: [{name, image}] use it
as it is (pulled, never built)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import docker
from tests.mcd_harness import free_port

pytestmark = pytest.mark.engine


def _registry(tmp: Path, auth: bool) -> tuple[subprocess.Popen, str]:
    if not shutil.which("docker-registry"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "docker-registry",
                        "apache2-utils"], check=True, capture_output=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = {"version": 0.1, "storage": {"filesystem": {"rootdirectory": str(tmp / "data")}},
              "http": {"addr": f"127.0.0.1:{port}"}, "log": {"level": "error"}}
    if auth:
        subprocess.run(["htpasswd", "-Bbc", str(tmp / "htpasswd"), "mc-user", "mc-secret-1"], check=True,
                       capture_output=True)
        config["auth"] = {"htpasswd": {"realm": "mc-test", "path": str(tmp / "htpasswd")}}
    (tmp / "config.yml").write_text(json.dumps(config))  # JSON is YAML
    proc = subprocess.Popen(["docker-registry", "serve", str(tmp / "config.yml")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}"], capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    return proc, f"127.0.0.1:{port}"


def _serving(tmp: Path, auth: bool):
    proc, address = _registry(tmp, auth)
    yield address
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def registry(tmp_path):
    yield from _serving(tmp_path / "plain", auth=False)


@pytest.fixture
def auth_registry(tmp_path):
    yield from _serving(tmp_path / "auth", auth=True)


def _forget(ref: str) -> None:
    subprocess.run(["docker", "rmi", "-f", ref], capture_output=True)


def test_a_pushed_driver_is_pulled_and_used_as_it_is(docker_mc, registry, tmp_path):
    mc = docker_mc
    ref = f"{registry}/mc-base-{mc.owner}:1"
    pushed = json.loads(mc.ok("driver", "build", "base", "--push", ref, "-o", "json"))
    assert pushed["pushed"].startswith(f"{registry}/mc-base-{mc.owner}@sha256:")
    labels = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", ref))
    assert "name: base" in labels["mc.driver.manifest"]
    _forget(ref)  # what a pull on another machine starts from
    r = mc.run("driver", "pull", ref, "--name", "frombase")
    assert r.returncode == 0 and "driver 'frombase' added" in r.stderr, r.stderr
    info = json.loads(mc.ok("driver", "info", "frombase", "-o", "json"))
    assert info["image"] == ref and info["source"] == "image"
    s = json.loads(mc.ok("session", "create", "--driver", "frombase", "--no-connect", "-o", "json"))
    assert mc.ok("session", "exec", s["id"], "--", "echo", "from-registry") == "from-registry\n"
    assert docker("inspect", "--format", "{{.Config.Image}}", f"mc-{s['id']}").strip() == ref

    # mcd: the operator names the image; the server pulls it on first use and never builds it
    from tests.mcd_harness import start_mcd

    _forget(ref)
    daemon = start_mcd(tmp_path, mc.env, drivers=[{"name": "team", "image": ref}])
    try:
        mc.ok("remote", "add", "t", daemon.url)
        listed = {d["name"]: d for d in json.loads(mc.ok("-r", "t", "driver", "list", "-o", "json"))}
        assert listed["team"]["image"] == ref
        rs = json.loads(mc.ok("-r", "t", "session", "create", "--driver", "team", "--no-connect", "-o", "json"))
        assert mc.ok("-r", "t", "session", "exec", rs["id"], "--", "echo", "remote") == "remote\n"
        assert docker("inspect", "--format", "{{.Config.Image}}", f"mc-{rs['id']}").strip() == ref
    finally:
        daemon.stop()
        _forget(ref)


def test_an_image_without_a_manifest_and_a_bad_reference_are_one_line(docker_mc, registry):
    mc = docker_mc
    plain = f"{registry}/plain-{mc.owner}:1"
    subprocess.run(["docker", "tag", "debian:bookworm-slim", plain], check=True)
    subprocess.run(["docker", "push", plain], check=True, capture_output=True)
    r = mc.run("driver", "pull", plain)
    errors = [line for line in r.stderr.splitlines() if line.startswith("mc: error")]  # (besides the progress)
    assert r.returncode != 0 and len(errors) == 1 and "has no mc driver manifest" in errors[0]
    assert "plain" not in mc.ok("driver", "list")  # nothing was added
    r = mc.run("driver", "pull", "Not A Reference")
    assert r.returncode != 0 and "expected an image reference" in r.stderr
    _forget(plain)


def test_a_registry_with_basic_auth_takes_dockers_login(docker_mc, auth_registry, tmp_path):
    mc = docker_mc
    ref = f"{auth_registry}/mc-base-{mc.owner}:1"
    env = {**mc.env, "DOCKER_CONFIG": str(tmp_path / "docker-config")}  # docker login's own store
    r = subprocess.run([*mc_cmd(), "driver", "build", "base", "--push", ref], env=env, capture_output=True, text=True)
    assert r.returncode != 0 and f"cannot push {ref}" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    subprocess.run(["docker", "login", auth_registry, "-u", "mc-user", "--password-stdin"], input="mc-secret-1",
                   env=env, check=True, capture_output=True, text=True)
    r = subprocess.run([*mc_cmd(), "driver", "build", "base", "--push", ref], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    _forget(ref)
    r = subprocess.run([*mc_cmd(), "driver", "pull", ref, "--name", "authed"], env=env, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert "mc-secret-1" not in r.stdout + r.stderr
    _forget(ref)


def mc_cmd() -> list[str]:
    from tests.conftest import mc_command

    return mc_command()
