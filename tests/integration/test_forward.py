"""Port forwarding and ssh to sessions, locally and through mcd (each connection a Forward stream of
its own; no listener on the server): an HTTP server in the session answers on the local port, 20
requests at once, a 50 MB download intact; ssh and scp through `mc ssh-config`; one line for a port
where nothing listens."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import make_driver, mc_command

pytestmark = pytest.mark.engine

# a driver with an HTTP server to forward to (python3's http.server) and sshd, built once per run
HTTPD = ("RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
         "python3 openssh-server && rm -rf /var/lib/apt/lists/*\n")


@pytest.fixture(params=["local", "mcd"])
def where(request, docker_mc, tmp_path):
    """(mc, the global options that choose local mode or an mcd, a driver with an HTTP server)."""
    mc = docker_mc
    driver = make_driver(tmp_path, "httpd", "name: httpd\n", HTTPD)
    if request.param == "local":
        yield mc, (), str(driver)
        return
    from tests.mcd_harness import start_mcd

    daemon = start_mcd(tmp_path, mc.env, drivers=[{"name": "httpd", "path": str(driver)}])
    mc.ok("remote", "add", "t", daemon.url)
    try:
        yield mc, ("-r", "t"), "httpd"
    finally:
        daemon.stop()


def _forward(mc, remote: tuple[str, ...], sid: str, ports: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([*mc_command(), *remote, "session", "port-forward", sid, ports], env=mc.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    m = re.search(r"forwarding 127\.0\.0\.1:(\d+) -> session", line)
    assert m, line + (proc.stderr.read() if proc.poll() is not None else "")
    return proc, int(m.group(1))


def test_an_http_server_in_the_session_answers_on_the_local_port(where):
    mc, remote, driver = where
    s = json.loads(mc.ok(*remote, "session", "create", "--driver", driver, "--no-connect", "-o", "json"))
    mc.ok(*remote, "session", "exec", s["id"], "--", "bash", "-c",
          "mkdir -p ~/www && cd ~/www && head -c 50000000 /dev/urandom >big && echo small >small && "
          "(nohup python3 -m http.server 8000 >/dev/null 2>&1 &) && "
          "for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/8000) 2>/dev/null && break; sleep 0.1; done")
    want = mc.ok(*remote, "session", "exec", s["id"], "--", "bash", "-c", "sha256sum ~/www/big").split()[0]
    proc, port = _forward(mc, remote, s["id"], "0:8000")
    try:
        def get(path: str) -> bytes:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=60) as resp:
                return resp.read()

        with ThreadPoolExecutor(20) as pool:  # 20 connections at once, each its own tunnel
            assert list(pool.map(get, ["small"] * 20)) == [b"small\n"] * 20
        assert hashlib.sha256(get("big")).hexdigest() == want
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    time.sleep(0.5)
    leftover = mc.ok(*remote, "session", "exec", s["id"], "--", "bash", "-c",
                     "for c in /proc/[0-9]*/cmdline; do tr '\\0' ' ' <$c; echo; done | grep -e mc-forward -e '^cat ' "
                     "| grep -v grep; true")
    assert leftover.strip() == ""  # no relay (its bash, its cats) left behind


def test_a_remote_create_with_ports_says_how_to_reach_them(where):
    mc, remote, driver = where
    r = mc.run(*remote, "session", "create", "--driver", driver, "--no-connect", "--port", "8000")
    assert r.returncode == 0
    sid = re.search(r"session (\w+) created", r.stderr).group(1)
    if remote:
        assert f"port 8000: mc -r t session port-forward {sid} 8000:8000" in r.stderr
    else:
        assert "port-forward" not in r.stderr  # locally the port is published on this machine's loopback


def test_a_port_where_nothing_listens_is_one_line(where):
    mc, remote, driver = where
    s = json.loads(mc.ok(*remote, "session", "create", "--driver", driver, "--no-connect", "-o", "json"))
    r = mc.run(*remote, "session", "port-forward", s["id"], "0:9")
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1
    assert f"nothing accepts connections on port 9 in session {s['id']}" in r.stderr
    for bad in ("x:80", "0:70000", "8080:0"):
        r = mc.run(*remote, "session", "port-forward", s["id"], bad)
        assert r.returncode != 0 and "expected LOCAL:REMOTE" in r.stderr


def test_ssh_and_scp_through_mc(where, tmp_path):
    mc, remote, driver = where
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    s = json.loads(mc.ok(*remote, "session", "create", "--driver", driver, "--no-connect", "--ssh", "--ssh-key",
                         f"{key}.pub", "-o", "json"))
    mc.ok(*remote, "session", "exec", s["id"], "--", "true")  # its init (and sshd) is up
    r = mc.run(*remote, "session", "ssh", s["id"], "--identity", str(key), "echo over-ssh; exit 3")
    assert r.returncode == 3 and r.stdout == "over-ssh\n", r.stderr
    config = tmp_path / "ssh_config"
    config.write_text(mc.ok(*remote, "ssh-config"))
    assert f"Host mc-{s['id']}" in config.read_text()
    (tmp_path / "file.txt").write_text("copied by scp\n")
    ident = ["-i", str(key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"]
    subprocess.run(["scp", "-F", str(config), *ident, str(tmp_path / "file.txt"), f"mc-{s['id']}:copied.txt"],
                   env=mc.env, check=True, capture_output=True, timeout=60)
    assert mc.ok(*remote, "session", "exec", s["id"], "--", "bash", "-c", "cat ~/copied.txt") == "copied by scp\n"
