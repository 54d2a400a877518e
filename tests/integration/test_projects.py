"""Projects with private git credentials, against a real git server (ssh keys and HTTP tokens)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import build_test_image, containers_of, docker

pytestmark = pytest.mark.engine
HERE = Path(__file__).resolve().parent.parent / "gitserver"
TOKEN = "ghp_SENTINELTOKEN0123456789abcdef"
SENTINEL = "sk-DRIVERFLOW-5e1d0c7a"


def _gitserver_image() -> str:
    return build_test_image(HERE, "gitserver")


@pytest.fixture
def gitserver(engine, tmp_path):
    """A git server on a private network; yields (network, ssh URL, http URL, key paths)."""
    key = tmp_path / "deploy_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "mc-test", "-f", str(key)], check=True)
    suffix = os.urandom(3).hex()
    net, name = f"mc-gittest-{suffix}", f"gitserver-{suffix}"
    docker("network", "create", net)
    docker("run", "-d", "--name", name, "--network", net, "--pull=never",
           "-e", f"GIT_AUTHORIZED_KEY={key.with_suffix('.pub').read_text().strip()}",
           "-e", f"GIT_TOKEN={TOKEN}", _gitserver_image())
    for _ in range(100):
        if "apache2" in docker("top", name, check=False):
            break
        time.sleep(0.1)
    try:
        yield {
            "network": net,
            "ssh": f"ssh://git@{name}/srv/git/private.git",
            "scp": f"git@{name}:/srv/git/private.git",
            "http": f"http://{name}/srv/git/private.git",
            "key": key,
            "name": name,
        }
    finally:
        # sessions of the test still on the network go with it (the test's own cleanup comes later)
        attached = docker("network", "inspect", "--format", "{{range .Containers}}{{.Name}} {{end}}", net,
                          check=False).split()
        docker("rm", "-f", "-v", name, *attached, check=False)
        docker("network", "rm", net)


def _git_log(server: dict) -> str:
    return docker("exec", server["name"], "git", "-C", "/srv/git/private.git", "log", "--format=%s", "main")






def _clone(mc, server: dict, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return mc.run("session", "create", "--driver", "base", "--project", url, "--network", server["network"],
                  "--no-connect", *extra)


def test_clone_with_ssh_key_runs_init_and_pushes(docker_mc, gitserver):
    mc = docker_mc
    mc.ok("project", "add", gitserver["scp"], "--ssh-key", str(gitserver["key"]))
    proc = _clone(mc, gitserver, gitserver["scp"], "--run",
                  "cat /app/.mc-init-ran && cd /app && git -c user.name=a -c user.email=a@a commit -q "
                  "--allow-empty -m pushed-over-ssh && git push -q origin main && git remote get-url origin")
    assert proc.returncode == 0, proc.stderr
    assert "project init ran as" in proc.stdout
    assert "pushed-over-ssh" in _git_log(gitserver)
    session = json.loads(mc.ok("session", "list", "-o", "json"))[0]
    assert session["project"] == f"{gitserver['name']}/srv/git/private"
    secret = gitserver["key"].read_text().strip().splitlines()[1]
    _assert_nowhere(mc, session, secret)


def test_clone_with_token_pushes_and_keeps_token_out_of_git_config(docker_mc, gitserver):
    mc = docker_mc
    mc.ok("project", "add", gitserver["http"], "--token", "-", input=TOKEN + "\n")
    proc = _clone(mc, gitserver, gitserver["http"], "--run",
                  "cd /app && git -c user.name=a -c user.email=a@a commit -q --allow-empty -m pushed-over-http"
                  " && git push -q origin main && cat .git/config ~/.gitconfig && git remote get-url origin")
    assert proc.returncode == 0, proc.stderr
    assert TOKEN not in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == gitserver["http"]
    assert "pushed-over-http" in _git_log(gitserver)
    session = json.loads(mc.ok("session", "list", "-o", "json"))[0]
    _assert_nowhere(mc, session, TOKEN)
    # the token goes to the project's host and protocol only: not to another server that asks
    ask = "printf 'protocol=%s\\nhost=%s\\npath=x.git\\n\\n' {} {} | GIT_TERMINAL_PROMPT=0 git credential fill"
    host = gitserver["name"]
    assert TOKEN in mc.ok("session", "exec", session["id"], "--", "bash", "-c", ask.format("http", host))
    for protocol, other in (("http", "evil.example"), ("https", "evil.example"), ("https", host)):
        proc = mc.run("session", "exec", session["id"], "--", "bash", "-c", ask.format(protocol, other))
        assert TOKEN not in proc.stdout + proc.stderr


def _assert_nowhere(mc, session: dict, secret: str) -> None:
    assert secret not in docker("inspect", session["container"])
    assert secret not in docker("logs", session["container"])
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert secret not in ps
    for args in (["session", "list", "-o", "json"], ["project", "list", "-o", "json"], ["project", "list"]):
        assert secret not in mc.ok(*args)
    store = Path(mc.env["XDG_DATA_HOME"]) / "mc" / "projects.json"
    assert secret.encode() not in store.read_bytes()


@pytest.mark.parametrize("kind", ["ssh", "http"])
def test_wrong_credentials_fail_clearly_without_hanging(docker_mc, gitserver, tmp_path, kind):
    mc = docker_mc
    if kind == "ssh":
        wrong = tmp_path / "wrong"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong)], check=True)
        url = gitserver["scp"]
        mc.ok("project", "add", url, "--ssh-key", str(wrong))
    else:
        url = gitserver["http"]
        mc.ok("project", "add", url, "--token", "-", input="wrong-token\n")
    started = time.monotonic()
    proc = _clone(mc, gitserver, url, "--run", "true")
    assert time.monotonic() - started < 60
    assert proc.returncode == 1
    assert "failed to start: git clone of" in proc.stderr
    reason = "Permission denied" if kind == "ssh" else "Authentication failed"
    session = json.loads(mc.ok("session", "list", "-o", "json"))[0]
    assert session["status"] == "failed"
    assert reason in mc.ok("session", "logs", session["id"])


def test_unknown_public_repo_fails_and_is_reported(docker_mc, gitserver):
    mc = docker_mc
    url = gitserver["http"].replace("private", "missing")
    proc = _clone(mc, gitserver, url, "--run", "true", "--rm")
    assert proc.returncode == 1 and "git clone of" in proc.stderr
    assert containers_of(mc.owner) == []


def test_persistent_config_through_mcd_is_a_volume_per_user_and_project(docker_mc, gitserver, tmp_path):
    from tests.mcd_harness import McdProcess, mcd_env, write_config

    mc = docker_mc
    config = write_config(tmp_path / "mcd", sessions={"networks": [gitserver["network"]]})
    daemon = McdProcess(config, mcd_env({**mc.env, "HOME": str(tmp_path)}), tmp_path / "mcd" / "mcd.sock",
                        tmp_path / "mcd.log").start()
    try:
        mc.ok("remote", "add", "p", daemon.url)
        mc.ok("-r", "p", "project", "add", gitserver["http"], "--token", "-", input=TOKEN + "\n")
        args = ["-r", "p", "session", "create", "--driver", "base", "--project", gitserver["http"], "--network",
                gitserver["network"], "--no-connect", "--rm", "--run"]
        first = mc.run(*args, "echo kept > ~/.mc-history/note && echo $MC_CONFIG_DIR")
        assert first.returncode == 0 and first.stdout.strip() == "/mc-config", first.stderr
        second = mc.run(*args, "cat ~/.mc-history/note")
        assert second.stdout.strip() == "kept", second.stderr
        volumes = docker("volume", "ls", "--filter", f"label=mc.owner={mc.owner}", "--format", "{{.Name}}").split()
        assert len(volumes) == 1 and volumes[0].startswith("mc-config-")
    finally:
        daemon.stop()
        for v in docker("volume", "ls", "--filter", f"label=mc.owner={mc.owner}", "-q").split():
            docker("volume", "rm", "-f", v, check=False)


BUILTIN_DRIVERS = ["base", "goose", "claude-code", "opencode", "aider"]


@pytest.mark.parametrize("driver", BUILTIN_DRIVERS)
def test_every_driver_clones_keeps_its_config_and_gets_the_env(docker_mc, gitserver, driver):
    """The flow every session takes (clone, persistent config, env and secrets), with each built-in
    driver: the default one is what users run."""
    mc = docker_mc
    mc.ok("project", "add", gitserver["http"], "--token", "-", input=TOKEN + "\n")
    info = json.loads(mc.ok("driver", "info", driver, "-o", "json"))
    kept = next(p["source"] for p in info["persistent_configs"] if p["type"] == "directory")
    first = json.loads(mc.ok("session", "create", "--driver", driver, "--project", gitserver["http"],
                             "--network", gitserver["network"], "-e", f"MY_API_KEY={SENTINEL}", "--no-connect",
                             "-o", "json", timeout=1800))
    out = mc.ok("session", "exec", first["id"], "--", "bash", "-lc",
                f'cat /app/README.md /app/.mc-init-ran; echo "key=$MY_API_KEY"; mkdir -p {kept} && '
                f'echo kept-across-sessions > {kept}/mc-test-note; git -C /app log --format=%s -1')
    lines = out.splitlines()
    assert lines[0] == "# private project" and lines[1].startswith("project init ran as ")
    assert lines[2:] == [f"key={SENTINEL}", "initial"]
    _assert_nowhere(mc, first, TOKEN)
    _assert_nowhere(mc, first, SENTINEL)
    mc.ok("session", "close", first["id"])
    second = mc.run("session", "create", "--driver", driver, "--project", gitserver["http"],
                    "--network", gitserver["network"], "--no-connect", "--rm", "--run", f"cat {kept}/mc-test-note")
    assert second.returncode == 0 and second.stdout.strip() == "kept-across-sessions", second.stderr


def test_a_mounted_checkout_is_never_touched_by_init(docker_mc, tmp_path):
    """Bare `mc` mounts the user's checkout at /app: init (as root) must leave it as it was, and a
    second session too (the default driver once replaced a real .goose/ with a dangling link)."""
    mc = docker_mc
    work = tmp_path / "checkout"
    (work / ".goose").mkdir(parents=True)
    (work / ".goose" / "hints.md").write_text("mine\n")
    before = sorted((p.relative_to(work), p.is_symlink(), p.stat().st_uid) for p in work.rglob("*"))
    for _ in range(2):
        proc = mc.run("session", "create", "--driver", "goose", "--mount", str(work), "--no-connect", "--rm",
                      "--run", "ls -A /app", timeout=1800)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == [".goose"]
    assert sorted((p.relative_to(work), p.is_symlink(), p.stat().st_uid) for p in work.rglob("*")) == before
    assert (work / ".goose" / "hints.md").read_text() == "mine\n"
