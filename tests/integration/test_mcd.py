"""mcd as a real process on a unix socket, driven through `mc -r` and raw gRPC."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from pathlib import Path

import grpc
import pexpect
import pytest

from tests.conftest import containers_of, docker, mc_command
from tests.mcd_harness import McdProcess, mcd_env, write_config
from tests.terminal import PROMPT, spawn, typing_resize_exit

pytestmark = pytest.mark.engine


@pytest.fixture
def remote(docker_mc, tmp_path):
    """An mcd serving the test's owner, and the test's mc configured with it as remote 't'."""
    mc = docker_mc
    ticker = tmp_path / "ticker"
    ticker.mkdir()
    (ticker / "Dockerfile").write_text("FROM debian:bookworm-slim\n")
    (ticker / "mc-driver.yaml").write_text(
        "name: ticker\ninit:\n  command: bash -c 'for i in $(seq 1 600); do echo tick $i; sleep 0.2; done &'\n")
    config = write_config(tmp_path / "mcd", drivers=[{"name": "ticker", "path": str(ticker)}])
    env = mcd_env({**mc.env, "HOME": str(tmp_path)})
    daemon = McdProcess(config, env, tmp_path / "mcd" / "mcd.sock", tmp_path / "mcd.log").start()
    mc.ok("remote", "add", "t", daemon.url)
    mc.daemon = daemon
    yield mc
    if daemon.proc and daemon.proc.poll() is None:
        daemon.stop()


def test_socket_is_private_and_health_and_reflection_work(remote):
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    sock = remote.daemon.socket
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    channel = grpc.insecure_channel(f"unix:{sock}")
    assert health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status == \
        health_pb2.HealthCheckResponse.SERVING
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert {"mc.api.v1.SessionService", "mc.api.v1.DriverService", "mc.api.v1.ProjectService",
            "mc.api.v1.AuthService", "grpc.health.v1.Health"} <= names


def test_cli_against_remote(remote, tmp_path):
    mc = remote
    s = json.loads(mc.ok("-r", "t", "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    assert s["owner"] == mc.owner
    listed = json.loads(mc.ok("-r", "t", "session", "list", "-o", "json"))
    assert [x["id"] for x in listed] == [s["id"]]
    proc = mc.run("-r", "t", "session", "exec", s["id"], "--", "sh", "-c", "echo remote-exec; exit 4")
    assert proc.returncode == 4 and proc.stdout == "remote-exec\n"
    assert "session ready" in mc.ok("-r", "t", "session", "logs", s["id"])
    assert "base" in mc.ok("-r", "t", "driver", "list")
    mc.ok("-r", "t", "session", "close", s["id"])
    assert containers_of(mc.owner) == []
    proc = mc.run("-r", "t", "session", "close", s["id"])
    assert proc.returncode == 3 and proc.stderr.startswith("mc: error: no session")


def test_run_with_rm_through_remote(remote):
    proc = remote.run("-r", "t", "session", "create", "--driver", "base", "--no-connect", "--rm",
                      "--run", "echo via-mcd; exit 6")
    assert proc.returncode == 6 and "via-mcd" in proc.stdout
    assert containers_of(remote.owner) == []


def test_local_paths_are_refused_for_remotes(remote, tmp_path):
    mc = remote
    proc = mc.run("-r", "t", str(tmp_path))
    assert proc.returncode == 2 and "cannot be mounted into a remote session" in proc.stderr
    assert "project URL" in proc.stderr
    proc = mc.run("-r", "t", "session", "create", "--driver", "base", "-v", f"{tmp_path}:/x", "--no-connect")
    assert proc.returncode == 2 and "remote session" in proc.stderr
    proc = mc.run("-r", "t", "session", "create", "--driver", str(tmp_path), "--no-connect")
    assert proc.returncode == 2 and "driver name, not a path" in proc.stderr
    assert containers_of(mc.owner) == []


def test_unknown_remote_and_dead_socket(mc, tmp_path):
    proc = mc.run("-r", "nope", "session", "list")
    assert proc.returncode == 3 and "no remote 'nope'" in proc.stderr
    mc.ok("remote", "add", "dead", f"unix://{tmp_path}/none.sock")
    proc = mc.run("-r", "dead", "session", "list")
    assert proc.returncode == 3 and "no mcd socket" in proc.stderr
    assert mc.run("remote", "add", "bad", "http://x").returncode == 2
    assert json.loads(mc.ok("remote", "list", "-o", "json"))[0]["name"] == "dead"
    mc.ok("remote", "remove", "dead")
    assert mc.run("remote", "remove", "dead").returncode == 3


def test_logs_follow_through_mcd(remote):
    mc = remote
    s = json.loads(mc.ok("-r", "t", "session", "create", "--driver", "ticker", "--no-connect", "-o", "json"))
    proc = subprocess.Popen([*mc_command(), "-r", "t", "session", "logs", "-f", s["id"]], env=mc.env,
                            stdout=subprocess.PIPE, text=True)
    seen = []
    try:
        for line in proc.stdout:
            if line.startswith("tick"):
                seen.append(int(line.split()[1]))
            if len(seen) >= 8:
                break
    finally:
        proc.kill()
        proc.wait()
    assert seen == sorted(seen) and seen[-1] - seen[0] >= 7
    # the cancelled stream's `docker logs -f` child is gone
    time.sleep(0.5)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert f"logs --follow {s['container']}" not in ps


def test_sigkill_restart_keeps_sessions_usable(remote):
    mc = remote
    s = json.loads(mc.ok("-r", "t", "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    remote.daemon.kill()
    assert mc.run("-r", "t", "session", "list").returncode != 0
    remote.daemon.start()
    listed = json.loads(mc.ok("-r", "t", "session", "list", "-o", "json"))
    assert [x["id"] for x in listed] == [s["id"]] and listed[0]["status"] == "running"
    proc = mc.run("-r", "t", "session", "exec", s["id"], "--", "echo", "after-restart")
    assert proc.stdout == "after-restart\n"


def test_removed_container_is_reported_gone(remote):
    mc = remote
    s = json.loads(mc.ok("-r", "t", "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    docker("rm", "-f", s["container"])
    deadline = time.monotonic() + 10
    status = ""
    while time.monotonic() < deadline:
        listed = json.loads(mc.ok("-r", "t", "session", "list", "-o", "json"))
        status = listed[0]["status"] if listed else "missing"
        if status == "gone":
            break
        time.sleep(0.2)
    assert status == "gone"
    mc.ok("-r", "t", "session", "close", s["id"])
    assert json.loads(mc.ok("-r", "t", "session", "list", "-o", "json")) == []


def test_sigterm_drains_and_removes_the_socket(remote):
    assert remote.daemon.stop() == 0
    assert not remote.daemon.socket.exists()


def test_remote_connect_echo_resize_exit_code(remote):
    mc = remote
    s = json.loads(mc.ok("-r", "t", "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    child = spawn(mc, "-r", "t", "session", "connect", s["id"], rows=33, cols=111)
    typing_resize_exit(child, (33, 111), (45, 140), 12)


def test_remote_detach_and_client_kill(remote):
    mc = remote
    s = json.loads(mc.ok("-r", "t", "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    child = spawn(mc, "-r", "t", "session", "connect", s["id"])
    child.expect(PROMPT)
    child.sendline("echo $$ > /tmp/detached.pid; echo MARK-$((1+1))")
    child.expect("MARK-2")
    child.sendcontrol("p")
    child.sendcontrol("q")
    child.expect("detached from session")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    pid = mc.ok("-r", "t", "session", "exec", s["id"], "--", "cat", "/tmp/detached.pid").strip()
    assert mc.run("-r", "t", "session", "exec", s["id"], "--", "kill", "-0", pid).returncode == 0
    # a client that dies without detaching: its shell in the session is ended
    child = spawn(mc, "-r", "t", "session", "connect", s["id"])
    child.expect(PROMPT)
    child.sendline("echo $$ > /tmp/killed.pid; echo MARK-$((2+1))")
    child.expect("MARK-3")
    child.kill(9)
    child.close()
    pid = mc.ok("-r", "t", "session", "exec", s["id"], "--", "cat", "/tmp/killed.pid").strip()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if mc.run("-r", "t", "session", "exec", s["id"], "--", "kill", "-0", pid).returncode != 0:
            break
        time.sleep(0.2)
    assert mc.run("-r", "t", "session", "exec", s["id"], "--", "kill", "-0", pid).returncode != 0


def test_bare_mc_r_creates_and_connects(remote):
    mc = remote
    mc.ok("config", "set", "defaults.driver", "base")
    child = spawn(mc, "-r", "t")
    child.expect(PROMPT)
    child.sendline("echo bare-remote; pwd")
    child.expect("bare-remote")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    sessions = json.loads(mc.ok("-r", "t", "session", "list", "-o", "json"))
    assert len(sessions) == 1 and sessions[0]["mount"] == ""


def test_parallel_creates_through_mcd(remote):
    from concurrent.futures import ThreadPoolExecutor

    mc = remote

    def one(i: int) -> int:
        return mc.run("-r", "t", "session", "create", "--driver", "base", "--no-connect", "-o", "json").returncode

    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(one, range(10)))
    assert codes == [0] * 10
    assert len(json.loads(mc.ok("-r", "t", "session", "list", "-o", "json"))) == 10
    mc.ok("-r", "t", "session", "close", "--all", "--kill")


def test_config_errors_are_one_line(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("server:\n  port: 3000\n")
    proc = subprocess.run([*mcd_cmd(), "serve", "--config", str(cfg)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert proc.returncode == 2 and proc.stderr.startswith("mcd: error: ") and "tls" in proc.stderr


def mcd_cmd() -> list[str]:
    import sys

    return [sys.executable, "-m", "mcd"]


def _daemon_resources(pid: int) -> tuple[int, list[str], int]:
    """(open fds, names of the threads that are not the RPC pool's, child processes) of a process."""
    tasks = os.listdir(f"/proc/{pid}/task")
    names, children = [], 0
    for t in tasks:
        try:
            names.append(Path(f"/proc/{pid}/task/{t}/comm").read_text().strip())
            children += len(Path(f"/proc/{pid}/task/{t}/children").read_text().split())
        except FileNotFoundError:  # the thread ended meanwhile
            continue
    return len(os.listdir(f"/proc/{pid}/fd")), sorted(n for n in names if not n.startswith("mcd-rpc")), children


def _settled(pid: int) -> tuple[int, list[str], int]:
    """The daemon's resources once nothing changes for a second (calls still ending meanwhile)."""
    last = _daemon_resources(pid)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(1)
        now = _daemon_resources(pid)
        if now == last and now[2] == 1:  # only the docker events follower is left as a child
            break
        last = now
    return last


def _describe(pid: int) -> str:
    fds = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    children = subprocess.run(["ps", "--ppid", str(pid), "-o", "args="], capture_output=True, text=True).stdout
    return f"fds: {sorted(fds)}\nchildren: {children}"


def test_500_broken_attaches_leave_nothing_behind(remote):
    """Hostile and vanishing Attach clients: absurd sizes, NUL bytes, floods, cancels mid-stream.
    Afterwards the daemon holds the same descriptors, threads and children as before."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from mc.api.v1 import common_pb2, session_pb2, session_pb2_grpc

    mc = remote
    s = json.loads(mc.ok("-r", "t", "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    mc.ok("-r", "t", "session", "exec", s["id"], "--", "true")
    channel = grpc.insecure_channel(f"unix:{remote.daemon.socket}")
    stub = session_pb2_grpc.SessionServiceStub(channel)

    def init(**kw) -> session_pb2.AttachRequest:
        return session_pb2.AttachRequest(init=session_pb2.AttachInit(session=kw.pop("session", s["id"]), **kw))

    def attempt(i: int) -> str:
        kind = i % 6
        if kind == 0:  # a terminal of 70000 rows, left after the first output
            reqs = [init(tty=True, size=common_pb2.TerminalSize(rows=70000, cols=70000), command=["bash", "-l"]),
                    session_pb2.AttachRequest(resize=common_pb2.TerminalSize(rows=99999, cols=1))]
        elif kind == 1:  # a NUL byte in the command
            reqs = [init(command=["echo", "a\0b"])]
        elif kind == 2:  # endless output without a terminal, the client reads a little and leaves
            reqs = [init(command=["yes"])]
        elif kind == 3:  # a flood of input into a terminal nobody reads
            reqs = [init(tty=True, command=["sleep", "30"]),
                    *[session_pb2.AttachRequest(stdin=b"x" * 65536) for _ in range(16)]]
        elif kind == 4:  # no such session / a first message that is not init
            reqs = [init(session="feedf00d")] if i % 12 == 4 else [session_pb2.AttachRequest(stdin=b"x")]
        else:  # a signal number that does not exist, then gone
            reqs = [init(command=["sleep", "30"]), session_pb2.AttachRequest(signal=session_pb2.Signal(number=999))]
        call = stub.Attach(iter(reqs), timeout=60)
        leave = threading.Timer(0.5, call.cancel)  # the client vanishes half a second in
        if kind not in (1, 4):  # those the server refuses by itself
            leave.start()
        try:
            for n, _ in enumerate(call):
                if n >= 2:
                    break
        except grpc.RpcError as exc:
            return exc.code().name
        finally:
            leave.cancel()
            call.cancel()
        return "cancelled"

    pid = remote.daemon.proc.pid
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(attempt, range(48)))  # warm up the RPC pool, then measure
    before = _settled(pid)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(500)))
    assert outcomes.count("INVALID_ARGUMENT") >= 500 // 12
    assert "UNKNOWN" not in outcomes and "INTERNAL" not in outcomes
    assert _settled(pid) == before, _describe(pid)
    # and the session is still fine, with none of those commands left running in it
    ps = mc.ok("-r", "t", "session", "exec", s["id"], "--", "ps", "-eo", "args")
    assert "yes" not in ps.split("\n") and "sleep 30" not in ps
    channel.close()
