"""LocalBackend against a docker that answers from recordings: which commands a request becomes,
and that a failure leaves nothing behind."""

from __future__ import annotations

import io
import re
import tarfile
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from mc import contract
from mc.docker import DockerError
from mc.engine.local import LocalBackend
from mc.engine.models import SessionSpec
from mc.engine.scope import Scope
from mc.engine.settings import EngineSettings
from mc.errors import McError, NotFound, PermissionDenied
from tests.fakes import FakeDocker, recorded

SENTINEL = "sk-LOCAL-SENTINEL-5d1"


@pytest.fixture
def home(tmp_path, monkeypatch):
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.delenv("MC_EXTRA_CA_CERTS", raising=False)
    return tmp_path


def backend(docker: FakeDocker, scope: Scope | None = None, **settings) -> LocalBackend:
    return LocalBackend(docker, EngineSettings(uid=1000, gid=1000, **settings), scope or Scope.local("me"))


def test_a_simple_session_is_one_docker_run(home):
    docker = FakeDocker()
    s = backend(docker).create(SessionSpec(driver="base"))
    assert docker.verbs() == ["run"]
    argv = docker.commands()[0]
    assert argv[:2] == ["run", "-d"] and s.status == "running" and s.owner == "me" and s.container == f"mc-{s.id}"


def test_secrets_go_through_a_tar_on_stdin(home):
    docker = FakeDocker()
    backend(docker).create(SessionSpec(driver="base", env={"MY_KEY": SENTINEL}))
    assert docker.verbs() == ["create", "cp", "start"]
    for argv in docker.commands():
        assert SENTINEL not in " ".join(argv)
    with tarfile.open(fileobj=io.BytesIO(docker.calls[1][1] or b"")) as tar:
        member = tar.getmember(f"{contract.INCOMING_DIR.lstrip('/')}/{contract.ENV_FILE}")
        assert member.mode == 0o640 and member.gid == 1000
        assert tar.extractfile(member).read() == f"MY_KEY={SENTINEL}\0".encode()


def test_a_failed_start_removes_the_container_and_the_config_dir(home, tmp_path):
    docker = FakeDocker().on("start", rc=1, stderr="Error response from daemon: something broke\n")
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(DockerError, match="something broke"):
        backend(docker).create(SessionSpec(driver="base", mount=str(work), env={"A": "b"}))
    assert docker.verbs()[-1] == "rm" and docker.commands()[-1][:2] == ["rm", "-f"]
    assert not (home / "xdg_data_home" / "mc" / "projects").exists()


def test_a_missing_network_is_made_and_the_start_tried_again(home):
    stderr = recorded("stderr_start_network_missing.txt")
    network = re.search(r"network (\S+) not found", stderr).group(1)
    docker = FakeDocker().on("start", rc=1, stderr=stderr, times=1)
    backend(docker, network=network).create(SessionSpec(driver="base", env={"A": "b"}))
    verbs = docker.verbs()
    assert verbs == ["create", "cp", "start", "rm", "network", "create", "cp", "start"]
    assert docker.commands()[4][:2] == ["network", "create"]


def test_a_missing_image_is_built(home, monkeypatch):
    built = []
    docker = FakeDocker().on("run", rc=125, stderr=recorded("stderr_image_missing.txt"), times=1)
    b = backend(docker)
    monkeypatch.setattr(b.catalog, "build", lambda driver, **kw: built.append(driver.name) or "tag")
    b.create(SessionSpec(driver="base"))
    assert built == ["base"] and docker.verbs() == ["run", "rm", "run"]


def test_a_missing_extra_network_is_one_clear_error_before_anything(home):
    docker = FakeDocker().on("network", "inspect", rc=1, stderr=recorded("stderr_network_missing.txt"))
    with pytest.raises(NotFound, match="network 'mc-no-such-net' does not exist"):
        backend(docker).create(SessionSpec(driver="base", networks=["mc-no-such-net"]))
    assert "create" not in docker.verbs() and "run" not in docker.verbs()


def test_the_per_owner_cap_holds(home):
    rows = "\n".join(line.replace('"recorded"', '"alice"') for line in recorded("ps.jsonl").splitlines())
    docker = FakeDocker().on("ps", stdout=rows)
    b = backend(docker, Scope.user("alice"), host_access=False, max_sessions_per_owner=2)
    with pytest.raises(PermissionDenied, match="close one first"):
        b.create(SessionSpec(driver="base"))
    assert "run" not in docker.verbs()


class SlowRun(FakeDocker):
    """A docker whose ``run`` waits for ``go`` (a session start still under way)."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Semaphore(0)
        self.go = threading.Event()

    def run(self, *args, **kw):
        if args[0] == "run":
            self.started.release()
            assert self.go.wait(10), "the start was never let through"
        return super().run(*args, **kw)


def test_one_owners_creates_run_side_by_side(home):
    docker = SlowRun()
    b = backend(docker, Scope.user("alice"), host_access=False, max_sessions_per_owner=5)
    with ThreadPoolExecutor(2) as pool:
        made = [pool.submit(b.create, SessionSpec(driver="base")) for _ in range(2)]
        both = docker.started.acquire(timeout=10) and docker.started.acquire(timeout=10)
        docker.go.set()
        assert both, "the second create waited for the first to finish"
        assert len({f.result().id for f in made}) == 2


def test_the_cap_counts_sessions_still_being_made(home):
    docker = SlowRun()
    b = backend(docker, Scope.user("alice"), host_access=False, max_sessions_per_owner=1)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(b.create, SessionSpec(driver="base"))
        assert docker.started.acquire(timeout=10)
        with pytest.raises(PermissionDenied, match="close one first"):
            b.create(SessionSpec(driver="base"))
        b.prune_owner_network("alice")  # a network is never removed under a session being made
        assert "network" not in docker.verbs()
        docker.go.set()
        first.result()
    b.prune_owner_network("alice")
    assert docker.commands()[-1][:2] == ["network", "prune"]


def test_listing_asks_docker_for_the_callers_sessions_only(home):
    docker = FakeDocker().on("ps", stdout=recorded("ps.jsonl"))
    sessions = backend(docker, Scope.user("recorded"), instance="i-9").sessions()
    argv = docker.commands()[0]
    assert "label=mc.owner=recorded" in argv and "label=mc.instance=i-9" in argv
    assert len(sessions) == 5
    backend(docker, Scope.user("carol", admin=True)).sessions()
    assert not any(a.startswith("label=mc.owner") for a in docker.commands()[-1])


def test_close_stops_then_removes(home):
    docker = FakeDocker().on("ps", stdout=recorded("ps.jsonl"))
    b = backend(docker, Scope.user("recorded"))
    running = next(s for s in b.sessions() if s.name == "web")
    closed = b.close(["web"])
    assert [s.id for s in closed] == [running.id]
    assert docker.commands()[-2][:3] == ["stop", "-t", "5"] and docker.commands()[-1][:2] == ["rm", "-f"]


FAILED_LOG = "[mc-init] session 0123abcd starting (driver base)\n[mc-init] FAILED: git clone of x failed\n"


@pytest.mark.parametrize("rc", [contract.FAILED_EXIT, 137, 126])
def test_a_command_ended_by_a_failed_init_reports_the_reason(home, rc):
    # 97: mc-exec saw the init fail; 137, 126: the failed init ended the container under the exec
    docker = FakeDocker().on("exec", rc=rc).on("logs", stderr=FAILED_LOG)
    with pytest.raises(McError, match="failed to start: git clone of x failed"):
        backend(docker).run("0123abcd", "true")


@pytest.mark.parametrize("rc", [contract.FAILED_EXIT, 137, 126])
def test_a_failed_init_still_being_logged_is_waited_for(home, rc):
    # the container is ending and docker has not yet logged the FAILED line: once it has ended, it has
    docker = (FakeDocker().on("exec", rc=rc).on("logs", stderr=FAILED_LOG)
              .on("logs", stdout="[mc-init] session 0123abcd starting (driver base)\n", times=1)
              .on("inspect", stdout="false\n").on("inspect", stdout="true\n", times=2))
    with pytest.raises(McError, match="failed to start: git clone of x failed"):
        backend(docker).run("0123abcd", "true")
    assert docker.verbs() == ["exec", "logs", "inspect", "inspect", "inspect", "logs"]


def test_an_exec_that_met_the_container_ending_reports_the_reason(home):
    failed = next(line for line in recorded("ps.jsonl").splitlines() if "Exited (97)" in line)
    docker = (FakeDocker().on("exec", rc=1, stderr="Error response from daemon: Container x is not running")
              .on("ps", stdout=failed).on("logs", stderr=FAILED_LOG))
    with pytest.raises(McError, match="failed to start: git clone of x failed"):
        backend(docker).run("a13975fe", "true")
    assert "exec" not in docker.verbs()[1:]  # not tried again in a session known to have failed


@pytest.mark.parametrize("rc", [contract.FAILED_EXIT, 137, 126, 1])
def test_a_command_of_a_healthy_session_keeps_its_exit_code(home, rc):
    docker = FakeDocker().on("exec", rc=rc).on("logs", stdout="[mc-init] session ready\n")
    assert backend(docker).run("0123abcd", "true").code == rc
    assert docker.verbs() == ["exec"] + (["logs"] if rc != 1 else [])

