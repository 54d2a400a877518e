"""Local sessions against the real Docker engine (the main job)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import ROOT, WORKER_NETWORK, containers_of, docker, make_driver, mc_command

pytestmark = pytest.mark.engine
SENTINEL = "sk-SENTINEL-77c1e0d4b2"


def create(mc, *args: str) -> dict:
    out = mc.ok("session", "create", "--driver", "base", "--no-connect", "--output", "json", *args)
    return json.loads(out)


def test_create_list_show_close(docker_mc):
    mc = docker_mc
    s = create(mc, "--name", "alpha")
    assert s["status"] == "running" and s["driver"] == "base" and len(s["id"]) == 8
    listed = json.loads(mc.ok("session", "list", "--output", "json"))
    assert [x["id"] for x in listed] == [s["id"]]
    assert set(listed[0]) >= {"id", "name", "driver", "project", "status", "ports", "created"}
    table = mc.ok("session", "list")
    assert s["id"] in table and "alpha" in table
    assert json.loads(mc.ok("session", "show", s["id"][:4], "-o", "json"))["id"] == s["id"]
    assert json.loads(mc.ok("session", "show", "alpha", "-o", "json"))["id"] == s["id"]
    mc.ok("session", "close", s["id"][:5])
    assert json.loads(mc.ok("session", "list", "-o", "json")) == []
    assert containers_of(mc.owner) == []


def test_close_unknown_is_an_error(docker_mc):
    proc = docker_mc.run("session", "close", "deadbeef")
    assert proc.returncode == 3
    assert proc.stderr.strip() == "mc: error: no session 'deadbeef' (see mc session list)"


def test_close_all_and_kill(docker_mc):
    mc = docker_mc
    for _ in range(2):
        create(mc)
    closed = json.loads(mc.ok("session", "close", "--all", "--kill", "-o", "json"))
    assert len(closed) == 2
    assert containers_of(mc.owner) == []


def test_the_network_is_made_when_missing_and_survives_close(docker_mc):
    mc = docker_mc
    net = f"mc-net-{mc.owner}"  # this test's own: nobody else makes or removes it
    mc.ok("config", "set", "docker.network", net)
    try:
        s = create(mc)
        assert net in json.loads(docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", s["container"]))
        mc.ok("session", "close", s["id"])
        assert net in docker("network", "ls", "--format", "{{.Name}}").split()
    finally:
        docker("network", "rm", net, check=False)


def test_run_streams_output_and_returns_exit_code_and_rm_leaves_nothing(docker_mc):
    mc = docker_mc
    proc = mc.run("session", "create", "--driver", "base", "--no-connect", "--rm",
                  "--run", "echo out-line; echo err-line >&2; exit 42")
    assert proc.returncode == 42
    assert "out-line" in proc.stdout and "err-line" in proc.stderr
    assert containers_of(mc.owner) == []


def test_parallel_runs_with_rm(docker_mc):
    mc = docker_mc

    def one(i: int) -> subprocess.CompletedProcess[str]:
        return mc.run("session", "create", "--driver", "base", "--no-connect", "--rm",
                      "--run", f"echo run-{i}; exit {i % 4}")

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(one, range(6)))
    for i, proc in enumerate(results):
        assert proc.returncode == i % 4, proc.stderr
        assert f"run-{i}" in proc.stdout
    assert containers_of(mc.owner) == []


def test_exec_streams_and_returns_exit_code(docker_mc):
    mc = docker_mc
    s = create(mc)
    proc = mc.run("session", "exec", s["id"], "--", "sh", "-c", "echo hi; echo oops >&2; exit 3")
    assert proc.returncode == 3 and proc.stdout == "hi\n" and "oops" in proc.stderr
    proc = mc.run("session", "exec", s["id"], "-i", "--", "cat", input="piped\n")
    assert proc.stdout == "piped\n"
    assert mc.run("session", "exec", "nope0000", "--", "true").returncode == 3


def test_logs_include_init_output(docker_mc):
    mc = docker_mc
    s = create(mc)
    mc.ok("session", "exec", s["id"], "--", "true")  # waits for init
    logs = mc.ok("session", "logs", s["id"])
    assert "[mc-init] session " + s["id"] in logs and "session ready" in logs
    tail = mc.ok("session", "logs", s["id"], "--tail", "1")
    assert tail.strip().splitlines() == ["[mc-init] session ready"]


def test_logs_follow_streams_what_comes_later(docker_mc):
    mc = docker_mc
    s = create(mc)
    mc.ok("session", "exec", s["id"], "--", "true")  # init finished: what follows is new output
    proc = subprocess.Popen([*mc_command(), "session", "logs", "-f", s["id"]], env=mc.env, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        # a line the session writes after the follow began arrives through it
        docker("exec", s["container"], "sh", "-c", "echo followed-line > /proc/1/fd/1")
        deadline = time.monotonic() + 20
        seen = ""
        while time.monotonic() < deadline and "followed-line" not in seen:
            seen += proc.stdout.readline()
        assert "followed-line" in seen
        assert proc.poll() is None  # still following
    finally:
        proc.kill()
        proc.wait()


def test_mount_and_file_ownership(docker_mc, tmp_path):
    mc = docker_mc
    work = tmp_path / "work"
    work.mkdir()
    (work / "hello.txt").write_text("from host\n")
    proc = mc.run("session", "create", "--driver", "base", "--mount", str(work), "--no-connect", "--rm",
                  "--run", "cat /app/hello.txt && touch /app/made-inside && id -u")
    assert proc.returncode == 0, proc.stderr
    assert "from host" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == str(os.getuid())
    made = work / "made-inside"
    assert made.stat().st_uid == os.getuid() and made.stat().st_gid == os.getgid()


def test_env_precedence_and_secrets_never_leak(docker_mc):
    mc = docker_mc
    mc.ok("config", "set", "openai.api_key", SENTINEL)
    mc.ok("config", "set", "anthropic.api_key", "from-config")
    s = create(mc, "-e", "ANTHROPIC_API_KEY=from-flag", "-e", "PLAIN_VAR=visible")
    out = mc.ok("session", "exec", s["id"], "--", "sh", "-c", 'echo "$OPENAI_API_KEY|$ANTHROPIC_API_KEY|$PLAIN_VAR"')
    assert out.strip() == f"{SENTINEL}|from-flag|visible"
    # login shells (connect, ssh) see them too
    out = mc.ok("session", "exec", s["id"], "--", "bash", "-lc", "echo $OPENAI_API_KEY")
    assert out.strip() == SENTINEL
    inspect = docker("inspect", s["container"])
    assert SENTINEL not in inspect and "from-flag" not in inspect and "PLAIN_VAR" not in inspect
    logs = mc.ok("session", "logs", s["id"])
    assert SENTINEL not in logs
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert SENTINEL not in ps
    for args in (["session", "list"], ["session", "list", "-o", "json"], ["session", "show", s["id"]]):
        assert SENTINEL not in mc.ok(*args)
    # the secrets file is root's, readable by the session user's group, on a tmpfs: not in the
    # container's filesystem (export, commit) at all
    mode = mc.ok("session", "exec", s["id"], "--", "stat", "-c", "%a %u %g", "/run/mc/secrets/env").split()
    assert mode == ["640", "0", str(os.getgid())]
    export = subprocess.run(["docker", "export", s["container"]], capture_output=True).stdout
    assert len(export) > 10_000_000 and SENTINEL.encode() not in export


def test_the_users_environment_never_reaches_root(docker_mc):
    """What a user passes reaches the session user's processes only: no process running as root in
    the session has it (LD_PRELOAD, BASH_ENV and friends cannot reach root's commands)."""
    mc = docker_mc
    s = create(mc, "-e", "MY_MARK=user-value-42", "-e", "BASH_ENV=/tmp/not-for-root")
    assert mc.ok("session", "exec", s["id"], "--", "sh", "-c", "echo $MY_MARK").strip() == "user-value-42"
    root_envs = docker("exec", "-u", "0", s["container"], "bash", "-c",
                       'for p in /proc/[0-9]*; do [ "$(stat -c %u "$p")" = 0 ] && tr "\\0" "\\n" <"$p/environ"; '
                       'done; true')
    assert "MC_SESSION_ID=" in root_envs  # we did read root's processes
    assert "user-value-42" not in root_envs and "/tmp/not-for-root" not in root_envs


def test_required_driver_variable(docker_mc, tmp_path):
    mc = docker_mc
    d = make_driver(tmp_path, "needy", "name: needy\nenvironment:\n  - name: NEEDED_TOKEN\n    required: true\n")
    proc = mc.run("session", "create", "--driver", str(d), "--no-connect")
    assert proc.returncode == 2 and "NEEDED_TOKEN" in proc.stderr
    assert containers_of(mc.owner) == []


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--driver", "nosuchdriver"], 3, "unknown driver 'nosuchdriver'"),
        (["-e", "1BAD=x"], 2, "-e"),
        (["-v", "/no/such/path:/x"], 2, "/no/such/path does not exist"),
        (["-v", "relative-no-colon"], 2, "expected SRC:DST"),
        (["--port", "70000"], 2, "--port 70000"),
        (["--port", "http"], 2, "--port 'http'"),
        (["--network", "mc-test-missing-net"], 3, "network 'mc-test-missing-net' does not exist"),
        (["--memory", "lots"], 2, "--memory"),
        (["--name", "bad name!"], 2, "--name"),
    ],
)
def test_bad_input_is_one_line_and_leaves_nothing(docker_mc, args, code, needle):
    mc = docker_mc
    before = set(os.listdir(mc.home))
    driver = [] if "--driver" in args else ["--driver", "base"]
    proc = mc.run("session", "create", *driver, "--no-connect", *args)
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.startswith("mc: error: ") and needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert containers_of(mc.owner) == []
    data = mc.home / "data" / "mc" / "projects"
    assert not data.exists() or not any(data.iterdir())
    assert set(os.listdir(mc.home)) - before <= {"config", "data"}




def test_extra_networks_and_ports(docker_mc):
    mc = docker_mc
    net = f"mc-test-{mc.owner}"
    docker("network", "create", net)
    try:
        s = create(mc, "--network", net, "--port", "8080")
        nets = json.loads(docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", s["container"]))
        assert set(nets) == {WORKER_NETWORK, net}
        assert any(p.startswith("127.0.0.1:") and p.endswith("->8080") for p in s["ports"])
        assert "->8080" in mc.ok("session", "list")
        mc.ok("session", "close", s["id"], "--kill")
    finally:
        docker("network", "rm", net, check=False)


def test_hardening_defaults(docker_mc):
    mc = docker_mc
    s = create(mc, "--cpus", "1", "--memory", "512m", "--pids-limit", "256")
    host = json.loads(docker("inspect", "--format", "{{json .HostConfig}}", s["container"]))
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["CapDrop"] == ["ALL"] and "SYS_ADMIN" not in (host["CapAdd"] or [])
    assert host["PidsLimit"] == 256 and host["Memory"] == 512 * 1024 * 1024 and host["NanoCpus"] == 10**9
    assert not host["Privileged"]


def test_persistent_config_survives_across_sessions(docker_mc, tmp_path):
    mc = docker_mc
    work = tmp_path / "proj"
    work.mkdir()
    first = mc.run("session", "create", "--driver", "base", "--mount", str(work), "--no-connect", "--rm",
                   "--run", "echo remembered > ~/.mc-history/note && echo $MC_CONFIG_DIR $MC_DRIVER_CONFIG_DIR")
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["/mc-config", "/mc-config/base"]
    second = mc.run("session", "create", "--driver", "base", "--mount", str(work), "--no-connect", "--rm",
                    "--run", "cat ~/.mc-history/note")
    assert second.stdout.strip() == "remembered"
    other = tmp_path / "other"
    other.mkdir()
    third = mc.run("session", "create", "--driver", "base", "--mount", str(other), "--no-connect", "--rm",
                   "--run", "cat ~/.mc-history/note")
    assert third.returncode != 0


def test_stop_from_inside(docker_mc):
    mc = docker_mc
    s = create(mc)
    proc = mc.run("session", "exec", s["id"], "--", "mc", "stop")
    assert proc.returncode == 0
    for _ in range(50):
        status = json.loads(mc.ok("session", "show", s["id"], "-o", "json"))["status"]
        if status != "running":
            break
        time.sleep(0.1)
    assert status == "stopped"
    assert "is not running" in mc.run("session", "exec", s["id"], "--", "true").stderr


def test_failed_init_is_reported(docker_mc, tmp_path):
    mc = docker_mc
    work = tmp_path / "broken"
    (work / ".mc").mkdir(parents=True)
    (work / ".mc" / "init.sh").write_text("echo setting up; echo 'init exploded' >&2; exit 5\n")
    proc = mc.run("session", "create", "--driver", "base", "--mount", str(work), "--no-connect",
                  "--run", "echo should-not-run")
    assert proc.returncode != 0
    assert "should-not-run" not in proc.stdout
    assert "failed to start" in proc.stderr
    s = json.loads(mc.ok("session", "list", "-o", "json"))[0]
    deadline = time.monotonic() + 20
    while s["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
        s = json.loads(mc.ok("session", "show", s["id"], "-o", "json"))
    assert s["status"] == "failed"
    logs = mc.ok("session", "logs", s["id"])
    assert "init exploded" in logs and "FAILED: /app/.mc/init.sh exited with code 5" in logs


def test_session_list_only_shows_mc_sessions(docker_mc):
    mc = docker_mc
    docker("run", "-d", "--rm", "--name", f"not-mc-{mc.owner}", "--label", f"mc.owner={mc.owner}",
           "--pull=never", "debian:bookworm-slim", "sleep", "30")
    try:
        assert json.loads(mc.ok("session", "list", "-o", "json")) == []
    finally:
        docker("rm", "-f", f"not-mc-{mc.owner}", check=False)


def test_project_dir_hash_by_path(docker_mc, tmp_path):
    from mc.engine.plan import persist_key_hash as project_key_hash

    mc = docker_mc
    work = tmp_path / "hashme"
    work.mkdir()
    mc.ok("session", "create", "--driver", "base", "--mount", str(work), "--no-connect", "--rm", "--run", "true")
    expected = Path(mc.env["XDG_DATA_HOME"]) / "mc" / "projects" / project_key_hash(str(work)) / "config"
    assert expected.is_dir()


def test_files_belong_to_a_non_root_invoking_user(docker_mc, tmp_path):
    """Run mc as an ordinary user (created here when the suite runs as root, as CI does)."""
    import grp
    import pwd

    mc = docker_mc
    env = dict(mc.env)
    prefix: list[str] = []
    if os.getuid() == 0:
        name = "mc-test-user"
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(["useradd", "-u", "4242", "-M", "-s", "/bin/sh", name], check=True, capture_output=True)
        group = grp.getgrgid(os.stat("/var/run/docker.sock").st_gid).gr_name
        subprocess.run(["usermod", "-aG", group, name], check=True, capture_output=True)
        uid, gid = pwd.getpwnam(name).pw_uid, pwd.getpwnam(name).pw_gid
        for path in (tmp_path, *tmp_path.parents):
            if str(path) in ("/", "/tmp"):
                break
            os.chmod(path, os.stat(path).st_mode | 0o711)
        home = tmp_path / "userhome"
        home.mkdir()
        os.chown(home, uid, gid)
        env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
                   XDG_CACHE_HOME=str(home / "cache"), USER=name)
        # root's own interpreter may live where others cannot reach: use the system's, with this
        # checkout and the venv's packages on the path (the same CPython minor version)
        site = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
        env["PYTHONPATH"] = f"{ROOT}:{site}"
        prefix = ["runuser", "-u", name, "--", "env", *[f"{k}={v}" for k, v in env.items()]]
    else:
        uid, gid = os.getuid(), os.getgid()
        home = tmp_path
    work = home / "work"
    work.mkdir()
    os.chown(work, uid, gid)
    from tests.conftest import mc_command

    command = mc_command()
    if prefix and not os.environ.get("MC_BIN"):
        command = ["/usr/bin/python3", "-m", "mc"]
    proc = subprocess.run([*prefix, *command, "session", "create", "--driver", "base", "--mount", str(work),
                           "--no-connect", "--rm", "--run", "id -u; id -g; touch /app/made && mkdir /app/dir"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[:2] == [str(uid), str(gid)]
    for made in (work / "made", work / "dir"):
        assert (made.stat().st_uid, made.stat().st_gid) == (uid, gid)
    assert containers_of(mc.owner) == []


def test_a_stop_during_a_long_init_ends_the_session_at_once(docker_mc, tmp_path):
    """Before, bash as PID 1 ignored SIGTERM until init was over: docker stop waited its full timeout."""
    mc = docker_mc
    slow = make_driver(tmp_path, "slow", "name: slow\ninit:\n  command: sleep 300\n")
    s = json.loads(mc.ok("session", "create", "--driver", str(slow), "--no-connect", "-o", "json"))
    deadline = time.monotonic() + 30
    while "running sleep 300" not in mc.ok("session", "logs", s["id"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    started = time.monotonic()
    docker("stop", "-t", "30", s["container"])
    assert time.monotonic() - started < 10
    assert json.loads(mc.ok("session", "show", s["id"], "-o", "json"))["status"] == "stopped"
