"""Egress policies against a stand-in internet on this machine: the test's git server (ssh, git smart
HTTP, and HTTPS with a certificate from a test CA) on a network of the test's own, answering as
"allowed.test", as "shared.test" (the same address), as "allowed.test.evil.test" and as
"blocked.test". mc's egress network is that network, so the session's proxy reaches them and nothing
else; no address outside the test's networks is a target."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import build_test_image, docker

pytestmark = pytest.mark.engine
GITSERVER = Path(__file__).resolve().parent.parent / "gitserver"
TOKEN = "egress-token-5d1e"
NAMES = ("allowed.test", "shared.test", "allowed.test.evil.test", "blocked.test", "api.anthropic.com")
SENTINEL = "sk-ant-api03-SENTINEL0123456789abcdefSENTINEL"
REPO = "/srv/git/private.git"


def _tls(tmp: Path) -> Path:
    """A test CA and a server certificate for every stand-in name, signed by it."""
    tls = tmp / "tls"
    tls.mkdir()
    run = lambda *a: subprocess.run(["openssl", *a], cwd=tls, check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mc test CA",
        "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=allowed.test", "-keyout", "server.key",
        "-out", "server.csr")
    (tls / "san.ext").write_text("subjectAltName=" + ",".join(f"DNS:{n}" for n in NAMES) + "\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", "san.ext", "-out", "server.pem")
    for name in ("ca.pem", "server.pem", "server.key"):
        (tls / name).chmod(0o644)
    return tls


@pytest.fixture
def internet(engine, tmp_path):
    """The stand-in internet (also answering as api.anthropic.com, on this network only); yields its
    network, the server's address, the CA, an ssh key."""
    key = tmp_path / "deploy_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "mc-test", "-f", str(key)], check=True)
    tls = _tls(tmp_path)
    suffix = os.urandom(3).hex()
    net, name = f"mc-egresstest-{suffix}", f"standin-{suffix}"
    docker("network", "create", net)
    aliases = [arg for n in NAMES for arg in ("--network-alias", n)]
    docker("run", "-d", "--name", name, "--network", net, *aliases, "--pull=never", "-v", f"{tls}:/tls:ro",
           "-e", f"GIT_AUTHORIZED_KEY={key.with_suffix('.pub').read_text().strip()}",
           "-e", f"GIT_TOKEN={TOKEN}", build_test_image(GITSERVER, "gitserver"))
    for _ in range(100):
        if "apache2" in docker("top", name, check=False):
            break
        time.sleep(0.1)
    ip = docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name).strip()
    try:
        yield {"network": net, "ip": ip, "ca": tls / "ca.pem", "key": key, "name": name}
    finally:
        attached = docker("network", "inspect", "--format", "{{range .Containers}}{{.Name}} {{end}}", net,
                          check=False).split()
        docker("rm", "-f", "-v", name, *attached, check=False)
        docker("network", "rm", net, check=False)


@pytest.fixture
def egress_mc(docker_mc, internet):
    """mc whose egress proxies go out by the stand-in internet's network."""
    docker_mc.ok("config", "set", "docker.egress_network", internet["network"])
    return docker_mc


def _probe(label: str, command: str) -> str:
    """A shell line: run ``command``; prints its outcome and how long it took under ``label``."""
    return (f"s=$(date +%s%N); out=$( ({command}) 2>&1); rc=$?; e=$(date +%s%N); "
            f"echo \"PROBE {label} rc=$rc ms=$(( (e-s)/1000000 )) $(echo $out | tr '\\n' ' ')\"")


def _git(url: str, ca: str = "") -> str:
    return f"{f'GIT_SSL_CAINFO={ca} ' if ca else ''}timeout 20 git ls-remote '{url}'"


def _results(stdout: str) -> dict[str, tuple[int, int, str]]:
    out = {}
    for line in stdout.splitlines():
        if line.startswith("PROBE "):
            _, what, rc, ms, *rest = line.split(" ")
            out[what] = (int(rc.split("=")[1]), int(ms.split("=")[1]), " ".join(rest))
    return out


def test_only_allowed_names_get_out_and_the_rest_fails_fast(egress_mc, internet):
    mc = egress_mc
    auth = f"x-access-token:{TOKEN}@"
    ca = "/etc/standin-ca.pem"
    s = json.loads(mc.ok("session", "create", "--driver", "base", "--allow-domain", "allowed.test", "--port", "9418",
                         "-v", f"{internet['ca']}:{ca}:ro", "--no-connect", "-o", "json"))
    assert s["egress"] == ["allowed.test"] and s["ports"], s
    probes = {
        "http": _git(f"http://{auth}allowed.test{REPO}"),
        "https": _git(f"https://{auth}allowed.test{REPO}", ca),
        "blocked": _git(f"http://{auth}blocked.test{REPO}"),
        "shared-address": _git(f"https://{auth}shared.test{REPO}", ca),
        "contains-the-name": _git(f"http://{auth}allowed.test.evil.test{REPO}"),
        "address-literal": _git(f"http://{auth}{internet['ip']}{REPO}"),
        "no-proxy": "unset http_proxy HTTP_PROXY; " + _git(f"http://{auth}allowed.test{REPO}"),
        "direct": f"timeout 20 bash -c 'echo > /dev/tcp/{internet['ip']}/80'",
        "dns": "timeout 20 getent hosts registry.example.com",
        "ssh": "timeout 20 ssh -o BatchMode=yes blocked.test true",
        "host": "timeout 20 bash -c \"echo > /dev/tcp/$(awk 'NR==2{print $3}' /proc/net/route)/22\"",
    }
    script = "; ".join([*(_probe(k, v) for k, v in probes.items()),
                        "git daemon --reuseaddr --listen=0.0.0.0 --port=9418 --base-path=/tmp --detach"])
    out = mc.ok("session", "exec", s["id"], "--", "bash", "-c", script)
    got = _results(out)
    assert set(got) == set(probes), out
    for label in ("http", "https"):  # through the proxy
        assert got[label][0] == 0 and "refs/heads/main" in got[label][2], got[label]
    for label, (rc, ms, text) in got.items():
        if label not in ("http", "https"):
            assert rc != 0 and ms < 5000, (label, rc, ms, text)
    assert "403" in got["blocked"][2] and "403" in got["shared-address"][2]
    assert "blocked.test is not allowed in this session" in got["ssh"][2]
    # the session's published port answers (through its proxy)
    port = int(s["ports"][0].split(":")[1].split("-")[0])
    with __import__("socket").create_connection(("127.0.0.1", port), timeout=5):
        pass
    # what was refused is in the session's egress log
    denied = [json.loads(line.split(" ", 1)[1]) for line in mc.ok("session", "logs", s["id"], "--egress").splitlines()
              if line.startswith("mc-egress-denied ")]
    hosts = {d["host"] for d in denied}
    assert {"blocked.test", "shared.test", "allowed.test.evil.test", internet["ip"]} <= hosts, denied
    assert "allowed.test" not in hosts
    shown = mc.ok("session", "show", s["id"])
    assert "allowed.test (through its proxy)" in shown
    # the proxy stopped: nothing gets out
    docker("stop", "-t", "1", f"{s['container']}-egress")
    out = mc.ok("session", "exec", s["id"], "--", "bash", "-c", _probe("stopped", _git(f"http://{auth}allowed.test{REPO}")))
    rc, ms, _ = _results(out)["stopped"]
    assert rc != 0 and ms < 5000
    mc.ok("session", "close", s["id"])
    assert docker("ps", "-aq", "--filter", f"label=mc.sidecar-of={s['id']}").split() == []


def test_git_over_ssh_goes_through_the_proxy_to_an_allowed_host(egress_mc, internet):
    mc = egress_mc
    url = f"git@allowed.test:{REPO}"
    mc.ok("project", "add", url, "--ssh-key", str(internet["key"]))
    s = json.loads(mc.ok("session", "create", "--driver", "base", "--project", url, "--allow-domain", "allowed.test",
                         "--no-connect", "-o", "json"))
    out = mc.ok("session", "exec", s["id"], "--", "bash", "-c", "git -C /app log --format=%s -1; cat /app/.mc-init-ran")
    assert "initial" in out and "project init ran" in out
    mc.ok("session", "close", s["id"])
    # the same project with its host not allowed: the clone fails, and says why
    proc = mc.run("session", "create", "--driver", "base", "--project", url, "--allow-domain", "elsewhere.test",
                  "--no-connect", "--rm", "--run", "true")
    assert proc.returncode == 1 and "git clone of" in proc.stderr, proc.stderr
    assert "allowed.test is not allowed in this session" in proc.stderr + proc.stdout


def test_no_names_no_way_out(egress_mc, internet):
    mc = egress_mc
    out = mc.ok("session", "create", "--driver", "base", "--egress-exact", "--no-connect", "--rm", "--run",
                _probe("none", _git(f"http://x-access-token:{TOKEN}@allowed.test{REPO}")))
    rc, ms, text = _results(out)["none"]
    assert rc != 0 and "403" in text and ms < 5000


def test_a_domain_that_is_not_a_name_is_a_one_line_error(docker_mc):
    proc = docker_mc.run("session", "create", "--driver", "base", "--allow-domain", "10.0.0.1", "--no-connect")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == \
        ["mc: error: --allow-domain 10.0.0.1: give a name, not an address"]
    assert docker("ps", "-aq", "--filter", f"label=mc.owner={docker_mc.owner}").split() == []


def test_through_mcd_the_operator_policy_applies_and_cannot_be_widened(docker_mc, internet, tmp_path):
    from tests.mcd_harness import start_mcd

    mc = docker_mc
    daemon = start_mcd(tmp_path, mc.env, sessions={
        "egress": {"allow": ["allowed.test"], "widen": False, "network": internet["network"]}})
    try:
        mc.ok("remote", "add", "t", daemon.url)
        auth = f"x-access-token:{TOKEN}@"
        script = "; ".join([_probe("allowed", _git(f"http://{auth}allowed.test{REPO}")),
                            _probe("blocked", _git(f"http://{auth}blocked.test{REPO}"))])
        proc = mc.run("-r", "t", "session", "create", "--driver", "base", "--no-connect", "--rm", "--run", script)
        got = _results(proc.stdout)
        assert got["allowed"][0] == 0 and got["blocked"][0] != 0, proc.stdout + proc.stderr
        proc = mc.run("-r", "t", "session", "create", "--driver", "base", "--allow-domain", "blocked.test",
                      "--no-connect")
        assert proc.returncode != 0 and "egress policy does not allow it" in proc.stderr, proc.stderr
    finally:
        daemon.stop()


@pytest.mark.parametrize("driver", ["goose", "claude-code", "opencode", "aider"])
def test_every_driver_goes_out_only_through_its_proxy(egress_mc, internet, driver):
    """Each built-in driver's image under a policy: its init waits for the proxy, the allowed host
    answers through it, everything else is refused fast (python's own client too, where there is one)."""
    mc = egress_mc
    auth = f"x-access-token:{TOKEN}@"
    python = ("command -v python3 >/dev/null && python3 -c \"import urllib.request as u; "
              "print(u.urlopen('http://allowed.test/').status)\"")
    script = "; ".join([_probe("allowed", _git(f"http://{auth}allowed.test{REPO}")),
                        _probe("blocked", _git(f"http://{auth}blocked.test{REPO}")),
                        _probe("direct", f"timeout 20 bash -c 'echo > /dev/tcp/{internet['ip']}/80'"),
                        _probe("python", python)])
    proc = mc.run("session", "create", "--driver", driver, "--allow-domain", "allowed.test", "--no-connect", "--rm",
                  "--run", script, timeout=1800)
    got = _results(proc.stdout)
    assert got["allowed"][0] == 0 and "refs/heads/main" in got["allowed"][2], proc.stdout + proc.stderr
    assert got["blocked"][0] != 0 and "403" in got["blocked"][2] and got["blocked"][1] < 5000
    assert got["direct"][0] != 0 and got["direct"][1] < 5000
    if driver == "aider":  # python's urllib reads the proxy variables: 200 from the stand-in
        assert got["python"][0] == 0 and "200" in got["python"][2], got["python"]
    assert docker("ps", "-aq", "--filter", f"label=mc.owner={mc.owner}").split() == []


def test_api_keys_never_enter_the_session(egress_mc, internet):
    """The configured key stays in the proxy: the session holds a placeholder of the same form, the
    key's own API receives the key, any other host the placeholder."""
    mc = egress_mc
    mc.ok("config", "set", "services.anthropic.api_key", SENTINEL)
    mc.ok("config", "set", "docker.egress_ca_certs", str(internet["ca"]))
    ca = "/etc/standin-ca.pem"
    s = json.loads(mc.ok("session", "create", "--driver", "base", "--allow-domain", "allowed.test",
                         "--allow-domain", "api.anthropic.com", "-v", f"{internet['ca']}:{ca}:ro",
                         "--no-connect", "-o", "json"))
    header = '"http.extraHeader=x-api-key: $ANTHROPIC_API_KEY"'
    script = "; ".join([
        "echo \"KEY=$ANTHROPIC_API_KEY\"",
        f"git -c {header} ls-remote https://api.anthropic.com{REPO} >/dev/null 2>&1; echo api=$?",
        f"GIT_SSL_CAINFO={ca} git -c {header} ls-remote https://allowed.test{REPO} >/dev/null 2>&1; echo other=$?",
        f"grep -rls '{SENTINEL}' /run/mc /proc/[0-9]*/environ /etc /home /tmp 2>/dev/null; echo searched",
    ])
    out = mc.ok("session", "exec", s["id"], "--", "bash", "-c", script)
    placeholder = next(line[4:] for line in out.splitlines() if line.startswith("KEY="))
    assert placeholder.startswith("sk-ant-api03-") and placeholder != SENTINEL and SENTINEL not in out, out
    assert "api=128" in out and "other=128" in out, out  # both reached the stand-in (which wants a login)
    keys = docker("exec", internet["name"], "cat", "/var/log/apache2/keys.log")
    assert f"api.anthropic.com key={SENTINEL}" in keys, keys
    assert f"allowed.test key={placeholder}" in keys and keys.count(SENTINEL) == keys.count("api.anthropic.com"), keys
    for container in (s["container"], f"{s['container']}-egress"):
        assert SENTINEL not in docker("inspect", container)
    assert SENTINEL not in mc.ok("session", "logs", s["id"]) + mc.ok("session", "logs", s["id"], "--egress")
    assert SENTINEL not in docker("logs", f"{s['container']}-egress", stderr=True)
    assert SENTINEL not in docker("exec", f"{s['container']}-egress", "ls", "-la", "/run/mc-egress")
    mc.ok("session", "close", s["id"])


# Each tool's own first call to its model API, with the placeholder it has (the stand-in answers
# 401, so the tool gives up; what counts is that the call arrived, through the proxy, with the key)
TOOL_CALLS = {
    "claude-code": "timeout 90 claude -p hello",
    "goose": "timeout 90 goose run -t hello",
    "opencode": "timeout 90 opencode run hello",
    "aider": "timeout 120 aider --message hello --yes-always --no-git --no-check-update --no-show-release-notes "
             "--no-show-model-warnings </dev/null",
}


@pytest.mark.parametrize("driver", list(TOOL_CALLS))
def test_each_tools_own_api_call_carries_the_key_only_past_the_proxy(egress_mc, internet, driver):
    mc = egress_mc
    mc.ok("config", "set", "services.anthropic.api_key", SENTINEL)
    mc.ok("config", "set", "docker.egress_ca_certs", str(internet["ca"]))
    model = [] if driver == "claude-code" else ["--model", "anthropic/claude-sonnet-4-5"]
    proc = mc.run("session", "create", "--driver", driver, "--egress-exact", "--allow-domain", "api.anthropic.com",
                  *model, "--no-connect", "--rm", "--run", f"{TOOL_CALLS[driver]}; env | grep -c {SENTINEL}",
                  timeout=1800)
    keys = docker("exec", internet["name"], "cat", "/var/log/apache2/keys.log", check=False)
    assert f"api.anthropic.com key={SENTINEL}" in keys, (keys, proc.stdout[-2000:], proc.stderr[-2000:])
    assert proc.stdout.splitlines()[-1] == "0" and SENTINEL not in proc.stdout + proc.stderr  # not in its env
