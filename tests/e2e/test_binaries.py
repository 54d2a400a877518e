"""The standalone binaries (dist/mc, dist/mcd) do what the installed package does."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, build_test_image, containers_of
from tests.mcd_harness import McdProcess, mcd_env, wait_for_socket, write_config
from tests.terminal import spawn, typing_resize_exit

pytestmark = pytest.mark.engine
DIST = ROOT / "dist"


@pytest.fixture(scope="module")
def binaries():
    subprocess.run(["bash", str(ROOT / "scripts" / "build-binaries.sh")], check=True, timeout=1800)
    return DIST


def run(mc, binary: Path, *args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary), *args], env=mc.env, capture_output=True, text=True, cwd=mc.home,
                          timeout=600, **kw)


@pytest.mark.parametrize("name", ["mc", "mc-onefile", "mc-onedir/mc"])
def test_version_help_and_session_list(binaries, docker_mc, name):
    from mc import __version__

    binary = binaries / name
    assert run(docker_mc, binary, "--version").stdout.strip() == __version__
    assert "session" in run(docker_mc, binary, "--help").stdout
    assert "create" in run(docker_mc, binary, "session", "--help").stdout
    proc = run(docker_mc, binary, "session", "list", "-o", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout) == []


def test_binary_run_and_list(binaries, docker_mc):
    mc = docker_mc
    proc = run(mc, binaries / "mc", "session", "create", "--driver", "base", "--no-connect", "--name", "bin",
               "--run", "echo from-binary; exit 5")
    assert proc.returncode == 5 and "from-binary" in proc.stdout, proc.stderr
    listed = json.loads(run(mc, binaries / "mc", "session", "list", "-o", "json").stdout)
    assert [s["name"] for s in listed] == ["bin"]
    assert run(mc, binaries / "mc", "session", "close", "--all").returncode == 0
    assert containers_of(mc.owner) == []


def test_binary_connect(binaries, docker_mc):
    mc = docker_mc
    sid = json.loads(run(mc, binaries / "mc", "session", "create", "--driver", "base", "--no-connect",
                         "-o", "json").stdout)["id"]
    child = spawn(mc, "session", "connect", sid, rows=27, cols=91, command=[str(binaries / "mc")], timeout=60)
    typing_resize_exit(child, (27, 91), (40, 120), 3)


def test_binary_mcd_with_binary_mc(binaries, docker_mc, tmp_path):
    mc = docker_mc
    sock = tmp_path / "mcd" / "mcd.sock"
    daemon = McdProcess(write_config(tmp_path / "mcd"), mcd_env(mc.env), sock, tmp_path / "mcd.log",
                        command=(str(binaries / "mcd"),)).start()
    try:
        assert run(mc, binaries / "mc", "remote", "add", "bin", f"unix://{sock}").returncode == 0
        proc = run(mc, binaries / "mc", "-r", "bin", "session", "create", "--driver", "base", "--no-connect",
                   "--rm", "--run", "echo via-binary-mcd; exit 2")
        assert proc.returncode == 2 and "via-binary-mcd" in proc.stdout, proc.stderr
        assert json.loads(run(mc, binaries / "mc", "-r", "bin", "session", "list", "-o", "json").stdout) == []
    finally:
        daemon.stop()


def test_binary_mcd_serves_the_web_app(binaries, docker_mc, tmp_path):
    """The page and the JavaScript it runs travel inside the binary (no CDN, no checkout)."""
    import requests
    import urllib3

    from tests.mcd_harness import free_port
    from tests.oidc_harness import self_signed

    cert, key = self_signed(tmp_path)
    port, web = free_port(), free_port()
    config = write_config(tmp_path / "mcd", server={"host": "127.0.0.1", "port": port, "web": {"port": web},
                                                    "tls": {"cert": str(cert), "key": str(key)}},
                          auth={"issuer": "https://idp.invalid", "client_id": "mc-service"})
    daemon = McdProcess(config, mcd_env(docker_mc.env), tmp_path / "mcd" / "mcd.sock", tmp_path / "mcd.log",
                        command=(str(binaries / "mcd"),)).start()
    urllib3.disable_warnings()
    try:
        for path, kind, size in (("/static/vendor/xterm.js", "text/javascript", 100_000),
                                 ("/static/vendor/addon-fit.js", "text/javascript", 500),
                                 ("/static/vendor/xterm.css", "text/css", 1000),
                                 ("/static/app.js", "text/javascript", 1000)):
            resp = requests.get(f"https://127.0.0.1:{web}{path}", verify=False, timeout=10)
            assert resp.status_code == 200 and resp.headers["Content-Type"].startswith(kind), path
            assert len(resp.content) > size
            assert resp.headers["Cache-Control"] == ("public, max-age=86400" if "vendor" in path else "no-cache")
        resp = requests.get(f"https://127.0.0.1:{web}/", verify=False, timeout=10, allow_redirects=False)
        assert resp.status_code == 302 and resp.headers["Location"] == "/auth/login"  # no login yet
    finally:
        daemon.stop()


def test_mcd_in_a_container_next_to_the_host_engine(binaries, docker_mc, tmp_path):
    """The spec's deployment: mcd in a container with the host's Docker socket (sibling sessions)."""
    mc = docker_mc
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_config(run_dir, server={"socket": "/run/mcd/mcd.sock"}, database={"path": "/run/mcd/mcd.db"})
    name = f"mcd-sibling-{mc.owner}"
    mounts = ["-v", "/var/run/docker.sock:/var/run/docker.sock", "-v", f"{run_dir}:/run/mcd",
              "-v", f"{binaries / 'mcd'}:/usr/local/bin/mcd:ro", "-v", f"{_docker_cli()}:/usr/bin/docker:ro"]
    ca = Path("/usr/local/share/ca-certificates")
    env = ["-e", f"MC_OWNER={mc.owner}", "-e", "PROJECT_ENCRYPTION_KEY=" + mcd_env({})["PROJECT_ENCRYPTION_KEY"]]
    if ca.is_dir():  # the same trusted CAs as the host: the driver images are the host's already
        mounts += ["-v", f"{ca}:{ca}:ro", "-v", "/etc/ssl/certs:/etc/ssl/certs:ro"]
        env += ["-e", f"MC_EXTRA_CA_CERTS={ca}"]
    try:  # (a run that fails to start still leaves the container it created)
        subprocess.run(["docker", "run", "-d", "--name", name, "--pull=never", *mounts, *env, "debian:bookworm-slim",
                        "mcd", "serve", "--config", "/run/mcd/mc-service.yaml"], check=True, capture_output=True)
        _add_contained(mc, binaries, name, run_dir, "sib")
        proc = run(mc, binaries / "mc", "-r", "sib", "session", "create", "--driver", "base", "--no-connect",
                   "--run", "echo sibling-session; hostname")
        assert proc.returncode == 0 and "sibling-session" in proc.stdout, proc.stderr
        listed = json.loads(run(mc, binaries / "mc", "-r", "sib", "session", "list", "-o", "json").stdout)
        assert len(listed) == 1 and listed[0]["owner"] == mc.owner
        assert containers_of(mc.owner)  # a sibling of mcd's container on the host engine
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True)


def test_mcd_in_docker_in_docker(binaries, docker_mc, tmp_path):
    """The design card's deployment: mcd and its own engine in one container (build/node,
    build/mcd-dind.Dockerfile, run with the options of build/docker-compose.dind.yml); its sessions
    live in the inner engine, the host's holds nothing of them."""
    import yaml

    mc = docker_mc
    node = build_test_image(ROOT / "build" / "node", "node")
    image = f"mc-test-mcd-dind:{mc.owner}"
    subprocess.run(["docker", "build", "-q", "-f", "build/mcd-dind.Dockerfile", "--build-arg", f"NODE_IMAGE={node}",
                    "-t", image, "."], cwd=ROOT, check=True, capture_output=True, timeout=300)
    service = yaml.safe_load((ROOT / "build" / "docker-compose.dind.yml").read_text())["services"]["mcd"]
    options = [*(f"--cap-add={c}" for c in service["cap_add"]), *(f"--cap-drop={c}" for c in service["cap_drop"]),
               *(f"--security-opt={o}" for o in service["security_opt"])]
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_config(run_dir, server={"socket": "/run/mcd/mcd.sock"}, database={"path": "/var/lib/mcd/mcd.db"})
    name = f"mcd-dind-{mc.owner}"
    mounts = ["-v", f"{run_dir}:/run/mcd", "-v", "/var/lib/docker", "-v", "/var/lib/mcd"]
    env = ["-e", f"MC_OWNER={mc.owner}", "-e", "PROJECT_ENCRYPTION_KEY=" + mcd_env({})["PROJECT_ENCRYPTION_KEY"]]
    try:
        # the driver image and its base, from the host: the inner engine would otherwise build them
        base = json.loads(run(mc, binaries / "mc", "driver", "build", "base", "-o", "json").stdout)["image"]
        subprocess.run(["docker", "run", "-d", "--name", name, *options, *mounts, *env, image,
                        "mcd", "serve", "--config", "/run/mcd/mc-service.yaml"], check=True, capture_output=True)
        saved = subprocess.Popen(["docker", "save", "debian:bookworm-slim", base], stdout=subprocess.PIPE)
        for _ in range(300):  # the inner engine answers (mc-node starts mcd only after it does)
            if subprocess.run(["docker", "exec", name, "docker", "version"], capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        subprocess.run(["docker", "exec", "-i", name, "docker", "load", "-q"], stdin=saved.stdout, check=True,
                       capture_output=True, timeout=300)
        saved.wait(60)
        _add_contained(mc, binaries, name, run_dir, "dind")
        proc = run(mc, binaries / "mc", "-r", "dind", "session", "create", "--driver", "base", "--no-connect",
                   "--run", "echo inside-dind; exit 4")
        assert proc.returncode == 4 and "inside-dind" in proc.stdout, proc.stderr
        sid = json.loads(run(mc, binaries / "mc", "-r", "dind", "session", "create", "--driver", "base",
                             "--no-connect", "-o", "json").stdout)["id"]
        assert run(mc, binaries / "mc", "-r", "dind", "session", "exec", sid, "--", "sh", "-c",
                   "exit 6").returncode == 6
        child = spawn(mc, "-r", "dind", "session", "connect", sid, rows=26, cols=90,
                      command=[str(binaries / "mc")], timeout=60)
        typing_resize_exit(child, (26, 90), (33, 101), 5)
        listed = json.loads(run(mc, binaries / "mc", "-r", "dind", "session", "list", "-o", "json").stdout)
        assert {s["id"] for s in listed} >= {sid} and all(s["owner"] == mc.owner for s in listed)
        ps = ["docker", "exec", name, "docker", "ps", "-aq", "--filter", f"label=mc.owner={mc.owner}"]
        inner = subprocess.run(ps, capture_output=True, text=True, check=True).stdout.split()
        assert len(inner) == len(listed)  # the sessions are the inner engine's containers...
        assert containers_of(mc.owner) == []  # ...and none of the host's
        assert run(mc, binaries / "mc", "-r", "dind", "session", "close", "--all").returncode == 0
        assert json.loads(run(mc, binaries / "mc", "-r", "dind", "session", "list", "-o", "json").stdout) == []
        # SIGTERM ends mcd, then the inner engine, inside the stop timeout
        started = time.monotonic()
        subprocess.run(["docker", "stop", "-t", "30", name], check=True, capture_output=True)
        assert time.monotonic() - started < 25
        state = subprocess.run(["docker", "inspect", "-f", "{{.State.ExitCode}}", name], capture_output=True,
                               text=True, check=True).stdout.strip()
        assert state in ("0", "143"), state
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True)
        subprocess.run(["docker", "rmi", image], capture_output=True)


def _docker_cli() -> str:
    """A docker client that runs on the base image (Debian's), to bind into the mcd container."""
    for candidate in ("/usr/bin/docker", subprocess.run(["which", "docker"], capture_output=True,
                                                        text=True).stdout.strip()):
        if candidate and Path(candidate).exists():
            return candidate
    raise AssertionError("no docker client")


def test_single_file_mc_runs_only_what_its_user_unpacked(binaries, tmp_path):
    env = {"PATH": "/usr/bin:/bin"}
    proc = subprocess.run([str(binaries / "mc"), "--version"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "HOME is not set" in proc.stderr  # never a shared /tmp fallback
    cache = tmp_path / "cache"
    (cache / "mc" / "bin").mkdir(parents=True)
    os.chown(cache / "mc" / "bin", 4242, 4242)  # prepared by another user
    proc = subprocess.run([str(binaries / "mc"), "--version"], env={**env, "XDG_CACHE_HOME": str(cache)},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "belongs to another user" in proc.stderr


def _add_contained(mc, binaries: Path, container: str, run_dir: Path, remote: str) -> None:
    """Once the mcd in ``container`` serves on run_dir/mcd.sock, add it as ``remote``."""
    sock = run_dir / "mcd.sock"
    wait_for_socket(sock, 60, lambda: True,
                    lambda: subprocess.run(["docker", "logs", container], capture_output=True, text=True).stderr)
    assert run(mc, binaries / "mc", "remote", "add", remote, f"unix://{sock}").returncode == 0
