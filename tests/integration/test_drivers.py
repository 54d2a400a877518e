"""Drivers against the real engine: built-in images, custom drivers, content-hash rebuilds, ssh."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.conftest import containers_of, docker, make_driver

pytestmark = pytest.mark.engine

TOOLS = {
    "goose": ("goose --version", "1.52.0"),
    "claude-code": ("claude --version", "2.1.332"),
    "opencode": ("opencode --version", "1.18.33"),
    "aider": ("aider --version", "0.86.2"),
}


@pytest.mark.parametrize("driver", list(TOOLS))
def test_builtin_driver_builds_and_its_tool_runs(docker_mc, driver):
    mc = docker_mc
    command, version = TOOLS[driver]
    build = mc.run("driver", "build", driver, timeout=1800)
    assert build.returncode == 0, build.stderr[-3000:]
    proc = mc.run("session", "create", "--driver", driver, "--no-connect", "--rm", "--run", command)
    assert proc.returncode == 0, proc.stderr
    assert version in proc.stdout


def test_driver_list_and_info(docker_mc):
    mc = docker_mc
    drivers = {d["name"]: d for d in json.loads(mc.ok("driver", "list", "-o", "json"))}
    assert {"base", "goose", "aider", "claude-code", "opencode"} <= set(drivers)
    assert drivers["base"]["built"] is True and drivers["base"]["image"].startswith("mc-driver-base:")
    info = json.loads(mc.ok("driver", "info", "goose", "-o", "json"))
    assert any(e["name"] == "MCP_HOST" and e["required"] for e in info["environment"])
    assert "goose" in mc.ok("driver", "info", "goose")
    assert mc.run("driver", "info", "nope").returncode == 3


def test_custom_driver_from_a_directory_end_to_end(docker_mc, tmp_path):
    mc = docker_mc
    manifest = "name: cowsay\ndescription: test driver\nenvironment:\n  - name: GREETING\n    default: hello-default\n"
    d = make_driver(tmp_path, "cowsay", manifest, "RUN echo 'moo from custom' > /etc/custom-greeting\n")
    out = mc.run("session", "create", "--driver", str(d), "--no-connect", "--rm",
                 "--run", "cat /etc/custom-greeting; echo $GREETING")
    assert out.returncode == 0, out.stderr
    assert "moo from custom" in out.stdout and "hello-default" in out.stdout
    # registered under the user's config dir, it works by name
    mc.ok("driver", "add", str(d))
    assert "cowsay" in mc.ok("driver", "list")
    out = mc.run("session", "create", "--driver", "cowsay", "--no-connect", "--rm", "-e", "GREETING=flag",
                 "--run", "echo $GREETING")
    assert out.stdout.strip() == "flag"
    assert mc.run("driver", "add", str(d)).returncode == 2  # already there
    mc.ok("driver", "remove", "cowsay")


def test_plain_dockerfile_and_content_hash_rebuild(docker_mc, tmp_path):
    mc = docker_mc
    d = make_driver(tmp_path, "plain", steps="RUN echo one > /version\n")
    first = json.loads(mc.ok("driver", "build", str(d), "-o", "json"))
    again = mc.run("driver", "build", str(d))
    assert again.returncode == 0 and "Step 1" not in again.stderr  # unchanged: no rebuild
    make_driver(tmp_path, "plain", steps="RUN echo two > /version\n")
    out = mc.run("session", "create", "--driver", str(d), "--no-connect", "--rm", "--run", "cat /version")
    assert out.stdout.strip() == "two"
    second = json.loads(mc.ok("driver", "build", str(d), "-o", "json"))
    assert first["image"] != second["image"]
    # both versions are unregistered path drivers: prune removes them, and keeps the built-in ones
    current_base = json.loads(mc.ok("driver", "info", "base", "-o", "json"))["image"]
    removed = json.loads(mc.ok("driver", "prune", "-o", "json"))
    assert first["image"] in removed and second["image"] in removed
    assert current_base not in removed
    images = docker("images", "--format", "{{.Repository}}:{{.Tag}}").split()
    assert first["image"] not in images


def test_invalid_driver_never_builds(docker_mc, tmp_path):
    mc = docker_mc
    d = make_driver(tmp_path, "broken", "name: broken\nports: [eighty]\n")
    proc = mc.run("session", "create", "--driver", str(d), "--no-connect")
    assert proc.returncode == 2
    assert f"{d}/mc-driver.yaml: ports[0]: expected a port number" in proc.stderr
    assert "mc-driver-broken" not in docker("images", "--format", "{{.Repository}}")


def test_failing_build_is_one_clear_line(docker_mc, tmp_path):
    mc = docker_mc
    d = make_driver(tmp_path, "failing", steps=f"RUN echo {mc.owner} && exit 3\n")
    proc = mc.run("session", "create", "--driver", str(d), "--no-connect", "-o", "json")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines()[-1].startswith("mc: error: docker build: building driver 'failing' failed")
    # nothing half-made: the failed step's container is gone too
    assert mc.owner not in docker("ps", "-a", "--no-trunc", "--format", "{{.Command}}")


def test_ssh_login_with_the_users_key(docker_mc):
    mc = docker_mc
    ssh_dir = mc.home / ".ssh"
    ssh_dir.mkdir(mode=0o700)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh_dir / "id_ed25519")], check=True)
    s = json.loads(mc.ok("session", "create", "--driver", "base", "--ssh", "--no-connect", "-o", "json"))
    assert s["ssh"].startswith("ssh -p ")
    assert s["ssh"] in mc.ok("session", "list")
    mc.ok("session", "exec", s["id"], "--", "true")
    port = s["ssh"].split()[2]
    login = s["ssh"].split()[3]
    argv = ["ssh", "-i", str(ssh_dir / "id_ed25519"), "-p", port, "-o", "StrictHostKeyChecking=no",
            "-o", f"UserKnownHostsFile={ssh_dir}/known_hosts", "-o", "BatchMode=yes", login,
            "bash -lc 'echo via-ssh:$(pwd):$MC_SESSION_ID'"]
    for _ in range(20):
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if proc.returncode == 0:
            break
        time.sleep(0.3)
    assert proc.stdout.strip() == f"via-ssh:/app:{s['id']}", proc.stderr
    # a wrong key is refused
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh_dir / "other")], check=True)
    argv[2] = str(ssh_dir / "other")
    assert subprocess.run(argv, capture_output=True, text=True, timeout=30).returncode != 0


# --model read back through each tool (or, for Claude Code, which needs a login to say, the variable
# it reads in the session user's environment)
MODEL_READBACK = {
    "goose": ("openai/gpt-4o", "goose info -v", ["GOOSE_PROVIDER: openai", "GOOSE_MODEL: gpt-4o"]),
    "claude-code": ("anthropic/claude-opus-4-1", "printenv ANTHROPIC_MODEL", ["claude-opus-4-1"]),
    "opencode": ("openai/gpt-4.1", "opencode debug config", ['"model": "openai/gpt-4.1"']),
    "aider": ("openai/gpt-4o", "timeout 120 aider --exit --yes-always --no-git --no-check-update "
              "--no-show-release-notes --no-show-model-warnings </dev/null", ["Main model: openai/gpt-4o"]),
}


@pytest.mark.parametrize("driver", list(MODEL_READBACK))
def test_the_model_reaches_each_tools_own_setting(docker_mc, driver):
    mc = docker_mc
    model, command, expected = MODEL_READBACK[driver]
    proc = mc.run("session", "create", "--driver", driver, "--model", model, "--no-connect", "--rm", "--run", command,
                  timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for line in expected:
        assert line in proc.stdout, proc.stdout[-3000:]
    key = "ANTHROPIC_API_KEY" if driver == "claude-code" else "OPENAI_API_KEY"
    assert f"mc: warning: {key} is not set" in proc.stderr  # no key configured in the test's config
    assert f"{model.split('/')[0]}" in json.loads(mc.ok("driver", "info", driver, "-o", "json"))["model_providers"]


def test_a_model_the_driver_cannot_take_is_refused_before_anything_is_made(docker_mc):
    mc = docker_mc
    for driver, model, message in [("base", "anthropic/x", "driver base does not take --model"),
                                   ("claude-code", "openai/gpt-4o", "cannot use provider 'openai'"),
                                   ("goose", "gpt-4o", "expected PROVIDER/MODEL")]:
        proc = mc.run("session", "create", "--driver", driver, "--model", model, "--no-connect")
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
    assert containers_of(mc.owner) == []
