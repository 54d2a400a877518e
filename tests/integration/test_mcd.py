"""mcd as a real process on a unix socket, driven through `mc -r` and raw gRPC."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import pexpect
import pytest

from tests.conftest import McEnv, containers_of, docker, mc_command
from tests.mcd_harness import McdProcess, start_mcd, ticker_driver, write_config
from tests.terminal import PROMPT, killed_client_resumes, spawn, typing_resize_exit

pytestmark = pytest.mark.engine
SHELL_GRACE = 5  # seconds a shell whose client vanished waits to be resumed


@dataclass
class Remote:
    mc: McEnv  # the test's mc, with the daemon configured as remote 't'
    daemon: McdProcess


@pytest.fixture
def remote(docker_mc, tmp_path):
    """An mcd serving the test's owner, and the test's mc configured with it as remote 't'."""
    mc = docker_mc
    daemon = start_mcd(tmp_path, mc.env, drivers=[{"name": "ticker", "path": str(ticker_driver(tmp_path))}],
                       sessions={"shell_grace": SHELL_GRACE})
    mc.ok("remote", "add", "t", daemon.url)
    yield Remote(mc, daemon)
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
    mc = remote.mc
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
    proc = remote.mc.run("-r", "t", "session", "create", "--driver", "base", "--no-connect", "--rm",
                      "--run", "echo via-mcd; exit 6")
    assert proc.returncode == 6 and "via-mcd" in proc.stdout
    assert containers_of(remote.mc.owner) == []


def test_local_paths_are_refused_for_remotes(remote, tmp_path):
    mc = remote.mc
    proc = mc.run("-r", "t", str(tmp_path))
    assert proc.returncode == 2 and "cannot be mounted into a remote session" in proc.stderr
    assert "project URL" in proc.stderr
    proc = mc.run("-r", "t", "session", "create", "--driver", "base", "-v", f"{tmp_path}:/x", "--no-connect")
    assert proc.returncode == 2 and "remote session" in proc.stderr
    proc = mc.run("-r", "t", "session", "create", "--driver", str(tmp_path), "--no-connect")
    assert proc.returncode == 2 and "driver name, not a path" in proc.stderr
    assert containers_of(mc.owner) == []



def test_logs_follow_through_mcd(remote):
    mc = remote.mc
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
    mc = remote.mc
    s = json.loads(mc.ok("-r", "t", "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    remote.daemon.kill()
    assert mc.run("-r", "t", "session", "list").returncode != 0
    remote.daemon.start()
    listed = json.loads(mc.ok("-r", "t", "session", "list", "-o", "json"))
    assert [x["id"] for x in listed] == [s["id"]] and listed[0]["status"] == "running"
    proc = mc.run("-r", "t", "session", "exec", s["id"], "--", "echo", "after-restart")
    assert proc.stdout == "after-restart\n"


def test_a_destroyed_namesake_does_not_make_a_live_session_gone(remote):
    # a create retried after making the owner's network destroys its first container: that event,
    # seen live or replayed after a restart, must not mark the session that lives on as gone
    mc = remote.mc
    s = json.loads(mc.ok("-r", "t", "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    found = json.loads(docker("inspect", "--format", "{{json .Config.Labels}}", s["container"]))
    marks = [arg for k, v in found.items() if k.startswith("mc.") for arg in ("--label", f"{k}={v}")]
    image = docker("inspect", "--format", "{{.Config.Image}}", s["container"]).strip()
    docker("run", "--rm", "--network", "none", "--entrypoint", "true", *marks, image)
    time.sleep(1.5)  # the events thread has seen the destroy
    listed = json.loads(mc.ok("-r", "t", "session", "list", "-o", "json"))
    assert [(x["id"], x["status"]) for x in listed] == [(s["id"], "running")]


def test_removed_container_is_reported_gone(remote):
    mc = remote.mc
    s = json.loads(mc.ok("-r", "t", "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    docker("rm", "-f", "-v", s["container"])
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


def test_sigterm_received_by_any_thread_drains(remote):
    """The kernel hands a process's SIGTERM to whichever thread may take it: aimed here at the
    threads but the main one, mcd must still drain and end (it once waited for good)."""
    import ctypes
    import signal

    proc = remote.daemon.proc
    assert proc is not None
    others = [int(t) for t in os.listdir(f"/proc/{proc.pid}/task") if int(t) != proc.pid]
    assert others
    tgkill = ctypes.CDLL(None, use_errno=True).tgkill  # (glibc's, any architecture)
    assert [tid for tid in others if tgkill(proc.pid, tid, signal.SIGTERM) == 0]  # (some may end)
    assert proc.wait(timeout=20) == 0
    assert not remote.daemon.socket.exists()


def test_remote_connect_echo_resize_exit_code(remote):
    mc = remote.mc
    s = json.loads(mc.ok("-r", "t", "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    child = spawn(mc, "-r", "t", "session", "connect", s["id"], rows=33, cols=111)
    typing_resize_exit(child, (33, 111), (45, 140), 12)


def test_remote_detach_and_client_kill(remote):
    mc = remote.mc
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
    killed_client_resumes(mc, ("-r", "t"), s["id"], SHELL_GRACE)


def test_bare_mc_r_creates_and_connects(remote):
    mc = remote.mc
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

    mc = remote.mc

    def one(i: int) -> str:
        proc = mc.run("-r", "t", "session", "create", "--driver", "base", "--no-connect", "-o", "json")
        return proc.stderr.strip() if proc.returncode else ""

    with ThreadPoolExecutor(max_workers=10) as pool:
        errors = [e for e in pool.map(one, range(10)) if e]
    assert errors == []
    assert len(json.loads(mc.ok("-r", "t", "session", "list", "-o", "json"))) == 10
    mc.ok("-r", "t", "session", "close", "--all", "--kill")


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


def _settled(pid: int, expected: tuple[int, list[str], int] | None = None) -> tuple[int, list[str], int]:
    """The daemon's resources once nothing changes for a second (calls still ending meanwhile), or
    once they are back at ``expected`` (a loaded machine ends calls late; a leak never gets there)."""
    last = _daemon_resources(pid)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(1)
        now = _daemon_resources(pid)
        if now == expected or (expected is None and now == last and now[2] == 1):  # 1: the events follower
            return now
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

    mc = remote.mc
    s = json.loads(mc.ok("-r", "t", "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    mc.ok("-r", "t", "session", "exec", s["id"], "--", "true")
    def init(**kw) -> session_pb2.AttachRequest:
        return session_pb2.AttachRequest(init=session_pb2.AttachInit(session=kw.pop("session", s["id"]), **kw))

    def attempt(stub: session_pb2_grpc.SessionServiceStub, i: int) -> str:
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

    def attempts(n: int) -> list[str]:
        """``n`` attempts over a channel of their own, closed before the daemon is measured (so a
        connection the client library opened anew is not counted as the daemon's leak)."""
        channel = grpc.insecure_channel(f"unix:{remote.daemon.socket}")
        stub = session_pb2_grpc.SessionServiceStub(channel)
        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(lambda i: attempt(stub, i), range(n)))
        channel.close()
        return outcomes

    pid = remote.daemon.proc.pid
    attempts(48)  # warm up the RPC pool, then measure
    before = _settled(pid)
    outcomes = attempts(500)
    assert outcomes.count("INVALID_ARGUMENT") >= 500 // 12
    assert "UNKNOWN" not in outcomes and "INTERNAL" not in outcomes
    assert _settled(pid, before) == before, _describe(pid)
    # and the session is still fine, with none of those commands left running in it
    ps = mc.ok("-r", "t", "session", "exec", s["id"], "--", "ps", "-eo", "args")
    assert "yes" not in ps.split("\n") and "sleep 30" not in ps


def test_limits_are_maxima_and_each_user_has_a_cap(docker_mc, tmp_path):
    mc = docker_mc
    daemon = start_mcd(tmp_path, mc.env, sessions={"pids_limit": 256, "memory": "512m", "cpus": "1",
                                                   "max_per_user": 2})
    try:
        mc.ok("remote", "add", "lim", daemon.url)
        create = ["-r", "lim", "session", "create", "--driver", "base", "--no-connect", "-o", "json"]
        for ask in (["--pids-limit", "257"], ["--memory", "512g"], ["--cpus", "64"]):
            proc = mc.run(*create, *ask)
            assert proc.returncode == 6 and "this server allows at most" in proc.stderr, (ask, proc.stderr)
        proc = mc.run(*create, "--pids-limit", "4294967295")  # what the proto's uint32 allows: no limit at all
        assert proc.returncode == 2 and "--pids-limit" in proc.stderr
        assert containers_of(mc.owner) == []
        first = json.loads(mc.ok(*create))
        host = json.loads(docker("inspect", "-f", "{{json .HostConfig}}", first["container"]))
        assert (host["PidsLimit"], host["Memory"], host["NanoCpus"]) == (256, 512 * 1024**2, 10**9)
        second = json.loads(mc.ok(*create, "--pids-limit", "100", "--memory", "256m"))
        host = json.loads(docker("inspect", "-f", "{{json .HostConfig}}", second["container"]))
        assert (host["PidsLimit"], host["Memory"]) == (100, 256 * 1024**2)
        proc = mc.run(*create)
        assert proc.returncode == 6 and "close one first" in proc.stderr
        mc.ok("-r", "lim", "session", "close", first["id"])
        mc.ok(*create)  # room again
    finally:
        daemon.stop()


def test_a_cancelled_create_leaves_no_session(docker_mc, tmp_path):
    """The client gives up while its driver is still building: it never learns the id, so mcd
    removes the session it finishes making."""
    from mc.api.v1 import session_pb2, session_pb2_grpc

    mc = docker_mc
    slow = tmp_path / "slowbuild"
    slow.mkdir()
    (slow / "Dockerfile").write_text(f"FROM debian:bookworm-slim\nRUN sleep 4 && echo {mc.owner}\n")
    daemon = start_mcd(tmp_path, mc.env, drivers=[{"name": "slowbuild", "path": str(slow)}])
    try:
        channel = grpc.insecure_channel(f"unix:{daemon.socket}")
        stub = session_pb2_grpc.SessionServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            stub.Create(session_pb2.CreateRequest(spec=session_pb2.SessionSpec(driver="slowbuild")), timeout=1)
        assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and "Create" not in daemon.log.read_text().split("session ready")[-1]:
            time.sleep(0.5)
        time.sleep(1)
        assert containers_of(mc.owner) == []
        assert stub.List(session_pb2.ListRequest(), timeout=10).sessions == []
        channel.close()
    finally:
        daemon.stop()


def test_one_mcd_per_socket_in_a_directory_of_its_own(remote, tmp_path):
    def serve(config: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*mcd_cmd(), "serve", "--config", str(config)], env=remote.daemon.env,
                              capture_output=True, text=True, timeout=60)

    second = serve(remote.daemon.config)
    assert second.returncode == 5 and "another mcd is serving" in second.stderr
    assert remote.mc.ok("-r", "t", "session", "list", "-o", "json").strip() == "[]"  # the first one still serves
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # a place others may write: they could swap the socket for their own
    third = serve(write_config(tmp_path / "third", server={"socket": str(shared / "mcd.sock")}))
    assert third.returncode == 5 and "writable by others" in third.stderr and not (shared / "mcd.sock").exists()


def test_idle_health_watches_take_no_room(docker_mc, tmp_path):
    """Anyone may watch the health of mcd; those streams must not crowd out real calls."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    mc = docker_mc
    daemon = start_mcd(tmp_path, mc.env, server={"max_concurrent_rpcs": 2, "max_open_calls": 1})
    try:
        channel = grpc.insecure_channel(f"unix:{daemon.socket}")
        watches = [health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest()) for _ in range(40)]
        for w in watches:
            assert next(w).status == health_pb2.HealthCheckResponse.SERVING
        mc.ok("remote", "add", "h", daemon.url)
        for _ in range(3):
            assert mc.ok("-r", "h", "session", "list", "-o", "json").strip() == "[]"
        for w in watches:
            w.cancel()
        channel.close()
    finally:
        daemon.stop()


class EngineDoor:
    """The Docker engine's socket behind a door a test can close (every connection cut, as when the
    engine goes away) and open again."""

    def __init__(self, path: Path, engine: str = "/var/run/docker.sock") -> None:
        self.path, self.engine = path, engine
        self.listener: socket.socket | None = None
        self.conns: list[socket.socket] = []

    def open(self) -> None:
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(self.path))
        self.listener.listen(64)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def close(self) -> None:
        if self.listener is None:
            return
        self.listener.close()
        self.listener = None
        self.path.unlink()
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()
        self.conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.engine)
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def test_health_follows_the_engine(docker_mc, tmp_path):
    """Without its engine mcd can list nothing and start nothing: a load balancer must hear so."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    door = EngineDoor(tmp_path / "engine.sock")
    door.open()
    env = {k: v for k, v in docker_mc.env.items() if k != "DOCKER_HOST"}
    daemon = start_mcd(tmp_path, env, docker={"socket": str(door.path)})
    channel = grpc.insecure_channel(f"unix:{daemon.socket}")
    health = health_pb2_grpc.HealthStub(channel)

    def status_within(wanted: int, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == wanted:
                return True
            time.sleep(0.1)
        return False

    try:
        assert status_within(health_pb2.HealthCheckResponse.SERVING, 5)
        door.close()
        assert status_within(health_pb2.HealthCheckResponse.NOT_SERVING, 15), daemon.log.read_text()
        door.open()
        assert status_within(health_pb2.HealthCheckResponse.SERVING, 15), daemon.log.read_text()
        assert '"engine lost"' in daemon.log.read_text() and '"engine reached"' in daemon.log.read_text()
    finally:
        channel.close()
        daemon.stop()
        door.close()


def test_interactive_access_is_audited(remote):
    import sqlite3

    mc = remote.mc
    s = json.loads(mc.ok("-r", "t", "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    assert mc.run("-r", "t", "session", "exec", s["id"], "--", "sh", "-c", "exit 3").returncode == 3
    mc.ok("-r", "t", "session", "logs", s["id"])
    db = Path(remote.daemon.config).parent / "mcd.db"
    rows = sqlite3.connect(db).execute("SELECT owner, method, target, code, detail FROM audit").fetchall()
    by_method = {r[1].rsplit("/", 1)[-1]: r for r in rows}
    assert by_method["Create"][2] == s["id"] and by_method["Create"][0] == mc.owner
    assert by_method["Attach"][2] == s["id"] and by_method["Attach"][4] == "exec sh exit 3"  # never its arguments
    assert by_method["Logs"][2] == s["id"]


def mcd_cmd() -> list[str]:
    import sys

    return [sys.executable, "-m", "mcd"]


def test_a_remote_rm_session_goes_with_its_vanished_client(remote):
    """`--rm` through mcd is carried out by mcd: a client killed mid-run leaves nothing behind."""
    mc = remote.mc
    proc = subprocess.Popen([*mc_command(), "-r", "t", "session", "create", "--driver", "base", "--no-connect",
                             "--rm", "--run", "echo started; sleep 60"], env=mc.env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=mc.home)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
    assert len(containers_of(mc.owner)) == 1
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 20
    while containers_of(mc.owner) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert containers_of(mc.owner) == []


def test_a_model_through_mcd(remote):
    """--model is checked by mcd's engine, and its warning reaches the client."""
    mc = remote.mc
    proc = mc.run("-r", "t", "session", "create", "--driver", "claude-code", "--model", "anthropic/claude-opus-4-1",
                  "--no-connect", "--rm", "--run", "printenv ANTHROPIC_MODEL", timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "claude-opus-4-1"
    assert "mc: warning: ANTHROPIC_API_KEY is not set" in proc.stderr
    bad = mc.run("-r", "t", "session", "create", "--driver", "claude-code", "--model", "openai/gpt-4o", "--no-connect")
    assert bad.returncode == 2 and bad.stderr.splitlines()[-1] == \
        "mc: error: --model openai/gpt-4o: driver claude-code cannot use provider 'openai' (it takes anthropic)"
    assert json.loads(mc.ok("-r", "t", "driver", "info", "claude-code", "-o", "json"))["model_providers"] == \
        ["anthropic"]
    assert json.loads(mc.ok("-r", "t", "session", "list", "-o", "json")) == []
