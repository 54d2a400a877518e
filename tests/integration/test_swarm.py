"""mcd in swarm mode against a real Docker Swarm of Docker-in-Docker nodes (tests/swarm_harness.py):
sessions as services on the pool's workers, their images by digest from a real registry, exec,
connect and logs through the engine of the node running the task, a lost node, an impossible
placement."""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, driver_image_on_manager, swarm_config
from tests.mcd_harness import McdProcess, mcd_env, write_config
from tests.swarm_harness import Cluster, Node, add_worker
from tests.terminal import killed_client_resumes, spawn, typing_resize_exit

pytestmark = pytest.mark.engine
SENTINEL = "swarm-sentinel-4f1c2b"
SHELL_GRACE = 5  # seconds a shell whose client vanished waits to be resumed


def _mcd(mc, cluster: Cluster, tmp_path: Path, pool: str = "sessions", place_timeout: str = "60s",
         name: str = "sw", env: dict[str, str] | None = None, cap: int = 30, **sections: dict) -> McdProcess:
    config = swarm_config(cluster, pool, place_timeout)
    config["sessions"].update(max_per_user=cap, shell_grace=SHELL_GRACE)
    config = write_config(tmp_path / name, **config, **sections)
    daemon = McdProcess(config, env or mcd_env(mc.env), tmp_path / name / "mcd.sock", tmp_path / f"{name}.log")
    mc.ok("remote", "add", name, daemon.start().url)
    return daemon


def _services(cluster: Cluster, owner: str) -> list[str]:
    return cluster.docker(cluster.manager, "service", "ls", "-q", "--filter",
                          f"label=mc.owner={owner}").stdout.split()


def _clean(cluster: Cluster, mc, *daemons: McdProcess | None) -> None:
    """After a test: its mcds stopped, any service of its user removed."""
    for daemon in daemons:
        if daemon is not None and daemon.proc is not None and daemon.proc.poll() is None:
            daemon.stop()
    for service in _services(cluster, mc.owner):
        cluster.docker(cluster.manager, "service", "rm", service, check=False)


@contextlib.contextmanager
def _worker_of_its_own(cluster: Cluster, directory: Path, mc, tmp_path: Path, kind: str) -> Iterator[Node]:
    """A worker alone in a pool of the test's (which kills or stalls it) and an mcd placing there."""
    driver_image_on_manager(cluster, mc.env)
    node = add_worker(cluster, directory, f"{kind}-{mc.owner}")
    daemon = None
    try:
        daemon = _mcd(mc, cluster, tmp_path, pool=f"{kind}-{mc.owner}")
        yield node
    finally:
        _clean(cluster, mc, daemon)
        subprocess.run(["docker", "rm", "-f", "-v", node.name], capture_output=True)
        cluster.docker(cluster.manager, "node", "rm", "--force", node.name, check=False)


def _service_names(cluster: Cluster, owner: str, *extra: str) -> list[str]:
    """The session ids of the owner's services on the cluster."""
    names = cluster.docker(cluster.manager, "service", "ls", "--format", "{{.Name}}", "--filter",
                           f"label=mc.owner={owner}", *extra).stdout.split()
    return [name.removeprefix("mc-") for name in names]


def _node_of(cluster: Cluster, sid: str) -> str:
    return cluster.docker(cluster.manager, "service", "ps", "--format", "{{.Node}}", f"mc-{sid}").stdout.split()[0]


def test_sessions_spread_over_the_workers_and_work_there(swarm, docker_mc, tmp_path):
    _, cluster = swarm
    mc = docker_mc
    driver_image_on_manager(cluster, mc.env)
    daemon = _mcd(mc, cluster, tmp_path)
    try:
        created: list[dict] = []
        errors: list[str] = []

        def create(i: int) -> None:
            proc = mc.run("-r", "sw", "session", "create", "--driver", "base", "--no-connect", "--name", f"s{i}",
                          "-e", f"SECRET_VALUE={SENTINEL}", "-o", "json")
            (created.append(json.loads(proc.stdout)) if proc.returncode == 0 else errors.append(proc.stderr))

        threads = [threading.Thread(target=create, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        listed = json.loads(mc.ok("-r", "sw", "session", "list", "-o", "json"))
        assert sorted(s["name"] for s in listed) == sorted(f"s{i}" for i in range(20))
        assert {s["status"] for s in listed} == {"running"}
        nodes = [_node_of(cluster, s["id"]) for s in listed]
        assert set(nodes) == {w.name for w in cluster.workers}  # spread, never on the manager
        assert min(nodes.count(w.name) for w in cluster.workers) >= 5, nodes
        # the image by digest from the registry, restart never, the pool's constraint
        spec = json.loads(cluster.docker(cluster.manager, "service", "inspect", f"mc-{listed[0]['id']}").stdout)[0]
        task = spec["Spec"]["TaskTemplate"]
        assert task["ContainerSpec"]["Image"].startswith(f"{cluster.registry}/mc-driver-base@sha256:")
        assert task["RestartPolicy"]["Condition"] == "none"
        assert task["Placement"]["Constraints"] == ["node.labels.mc.pool==sessions"]
        assert SENTINEL not in json.dumps(spec)  # the secret went to the container, on its node
        sid = listed[0]["id"]
        # exec (its exit code, the secret in the session's environment), logs, connect: on the node
        proc = mc.run("-r", "sw", "session", "exec", sid, "--", "bash", "-c", "echo $SECRET_VALUE; exit 7")
        assert proc.returncode == 7 and SENTINEL in proc.stdout, proc.stderr
        assert "[mc-init]" in mc.ok("-r", "sw", "session", "logs", sid)
        child = spawn(mc, "-r", "sw", "session", "connect", sid, rows=25, cols=87, timeout=60)
        typing_resize_exit(child, (25, 87), (31, 99), 4)
        killed_client_resumes(mc, ("-r", "sw"), sid, SHELL_GRACE)  # the shell outlives its client there too
        worker = next(w for w in cluster.workers if w.name == _node_of(cluster, sid))
        inspected = cluster.docker(worker, "ps", "-q", "--filter", f"label=mc.session={sid}").stdout.split()
        assert len(inspected) == 1
        assert SENTINEL not in cluster.docker(worker, "inspect", inspected[0]).stdout
        # followed logs: a line the session writes later arrives through mcd from the worker
        follow = spawn(mc, "-r", "sw", "session", "logs", "-f", sid, timeout=30)
        follow.expect_exact("[mc-init]")
        cluster.docker(worker, "exec", "-u", "0", inspected[0], "sh", "-c", "echo followed-line > /proc/1/fd/1")
        follow.expect_exact("followed-line")
        follow.terminate(force=True)
        mc.ok("-r", "sw", "session", "close", "--all")
        assert json.loads(mc.ok("-r", "sw", "session", "list", "-o", "json")) == []
        # a session for one command: its output and exit code, then nothing left
        proc = mc.run("-r", "sw", "session", "create", "--driver", "base", "--no-connect", "--rm",
                      "--run", "echo once-on-the-cluster; exit 3")
        assert proc.returncode == 3 and "once-on-the-cluster" in proc.stdout, proc.stderr
        assert _services(cluster, mc.owner) == []
    finally:
        _clean(cluster, mc, daemon)


def test_a_lost_worker_shows_its_sessions_lost_and_nothing_starts_again(swarm, docker_mc, tmp_path):
    directory, cluster = swarm
    mc = docker_mc
    with _worker_of_its_own(cluster, directory, mc, tmp_path, "lost") as node:
        sids = [json.loads(mc.ok("-r", "sw", "session", "create", "--driver", "base", "--no-connect", "-o",
                                 "json"))["id"] for _ in range(2)]
        subprocess.run(["docker", "kill", node.name], check=True, capture_output=True)
        killed = time.monotonic()
        while time.monotonic() - killed < 25:
            listed = json.loads(mc.ok("-r", "sw", "session", "list", "-o", "json"))
            if {s["status"] for s in listed} == {"lost"}:
                break
            time.sleep(0.5)
        assert {s["status"] for s in listed} == {"lost"}, listed
        assert time.monotonic() - killed < 20
        assert all(node.name in s["reason"] for s in listed)
        time.sleep(2)  # nothing is started again elsewhere
        for sid in sids:
            tasks = cluster.docker(cluster.manager, "service", "ps", "-q", f"mc-{sid}").stdout.split()
            assert len(tasks) == 1
        mc.ok("-r", "sw", "session", "close", "--all")
        assert _services(cluster, mc.owner) == []


def test_a_worker_stalled_for_15s_keeps_its_sessions(swarm, docker_mc, tmp_path):
    """The heartbeat (10 s: a node is down two to three missed after its last) rides out a 15 s stall."""
    directory, cluster = swarm
    mc = docker_mc
    with _worker_of_its_own(cluster, directory, mc, tmp_path, "stall") as node:
        sid = json.loads(mc.ok("-r", "sw", "session", "create", "--driver", "base", "--no-connect", "-o",
                               "json"))["id"]
        subprocess.run(["docker", "pause", node.name], check=True, capture_output=True)
        time.sleep(15)
        subprocess.run(["docker", "unpause", node.name], check=True, capture_output=True)
        time.sleep(3)
        [session] = json.loads(mc.ok("-r", "sw", "session", "list", "-o", "json"))
        assert session["status"] == "running", session
        proc = mc.run("-r", "sw", "session", "exec", sid, "--", "true")
        assert proc.returncode == 0, proc.stderr
        assert len(cluster.docker(cluster.manager, "service", "ps", "-q", f"mc-{sid}").stdout.split()) == 1


def test_a_session_no_node_can_take_fails_its_create_and_leaves_nothing(swarm, docker_mc, tmp_path):
    _, cluster = swarm
    mc = docker_mc
    driver_image_on_manager(cluster, mc.env)
    daemon = _mcd(mc, cluster, tmp_path, pool="nowhere", place_timeout="4s")
    try:
        started = time.monotonic()
        proc = mc.run("-r", "sw", "session", "create", "--driver", "base", "--no-connect")
        assert proc.returncode != 0
        assert "was not placed within 4s" in proc.stderr and "constraint" in proc.stderr, proc.stderr
        assert len([ln for ln in proc.stderr.splitlines() if ln.startswith("mc: error:")]) == 1
        assert "Traceback" not in proc.stderr
        assert time.monotonic() - started < 30
        assert _services(cluster, mc.owner) == []
        assert json.loads(mc.ok("-r", "sw", "session", "list", "-o", "json")) == []
    finally:
        _clean(cluster, mc, daemon)


def test_each_user_has_a_cap_on_the_cluster(swarm, docker_mc, tmp_path):
    """Under the cap one `service ls` suffices; at it, the full listing decides, and the create is
    refused before any service is made."""
    _, cluster = swarm
    mc = docker_mc
    driver_image_on_manager(cluster, mc.env)
    daemon = _mcd(mc, cluster, tmp_path, cap=2)
    try:
        create = ("-r", "sw", "session", "create", "--driver", "base", "--no-connect", "-o", "json")
        first = json.loads(mc.ok(*create))["id"]
        mc.ok(*create)
        proc = mc.run(*create)
        assert proc.returncode == 6 and "close one first" in proc.stderr, proc.stderr
        assert len(_services(cluster, mc.owner)) == 2
        mc.ok("-r", "sw", "session", "close", first)
        mc.ok(*create)  # room again
    finally:
        _clean(cluster, mc, daemon)


def test_an_owners_network_removed_behind_mcds_back_is_made_again(swarm, docker_mc, tmp_path):
    """mcd remembers the overlay networks it has seen (one call less per create); one removed by
    someone else is made again by the next create."""
    _, cluster = swarm
    mc = docker_mc
    driver_image_on_manager(cluster, mc.env)
    daemon = _mcd(mc, cluster, tmp_path)
    try:
        create = ("-r", "sw", "session", "create", "--driver", "base", "--no-connect", "-o", "json")
        network = cluster.docker(cluster.manager, "service", "inspect", "--format",
                                 "{{range .Spec.TaskTemplate.Networks}}{{.Target}}{{end}}",
                                 f"mc-{json.loads(mc.ok(*create))['id']}").stdout.strip()
        mc.ok("-r", "sw", "session", "close", "--all")
        deadline = time.monotonic() + 30  # (removable once the task's container is gone from its node)
        while cluster.docker(cluster.manager, "network", "rm", network, check=False).returncode != 0:
            assert time.monotonic() < deadline, "the network stayed in use"
            time.sleep(0.5)
        s = json.loads(mc.ok(*create))
        assert mc.run("-r", "sw", "session", "exec", s["id"], "--", "true").returncode == 0
    finally:
        _clean(cluster, mc, daemon)


def test_a_lifetime_ends_in_a_close_or_is_extended_and_no_session_stops_for_idleness(swarm, docker_mc, tmp_path):
    """The manager's events do not tell when a task ends: mcd looks every few seconds and closes a
    session whose lifetime ended; one extended runs on. A session stopped on a cluster could not be
    started again, so none is given an idle timeout there (mcd's default included) and asking for
    one is refused."""
    _, cluster = swarm
    mc = docker_mc
    driver_image_on_manager(cluster, mc.env)
    daemon = _mcd(mc, cluster, tmp_path)  # (mcd's default idle timeout: an hour)
    try:
        create = ("-r", "sw", "session", "create", "--driver", "base", "--no-connect", "-o", "json")
        proc = mc.run(*create, "--idle-timeout", "5m")
        assert proc.returncode == 2 and proc.stderr.startswith("mc: error: sessions on a cluster cannot have an "
                                                               "idle timeout"), proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and _services(cluster, mc.owner) == []
        kept = json.loads(mc.ok(*create, "--ttl", "15s"))  # (room for a slow create before extending it)
        assert kept["idle_timeout"] == 0
        moved = json.loads(mc.ok("-r", "sw", "session", "extend", kept["id"], "1h", "-o", "json"))
        assert moved["deadline"] >= kept["deadline"] + 3600
        assert len(cluster.docker(cluster.manager, "service", "ps", "-q", f"mc-{kept['id']}").stdout.split()) == 1
        short = json.loads(mc.ok(*create, "--ttl", "3s"))
        deadline = time.monotonic() + 30
        while short["id"] in {s["id"] for s in json.loads(mc.ok("-r", "sw", "session", "list", "-o", "json"))}:
            assert time.monotonic() < deadline, "the expired session was not closed"
            time.sleep(1)
        time.sleep(max(0, kept["deadline"] + 2 - time.time()))  # past its first deadline: extended, it runs on
        [listed] = json.loads(mc.ok("-r", "sw", "session", "list", "-o", "json"))
        assert (listed["id"], listed["status"], listed["deadline"]) == (kept["id"], "running", moved["deadline"])
    finally:
        _clean(cluster, mc, daemon)


def test_a_project_clones_on_a_worker_and_its_config_follows_to_another(swarm, docker_mc, tmp_path):
    """A project's session on a worker clones with the token (kept out of the service and the node's
    inspect); its persistent config is kept by mcd when it closes and comes back in the next session
    on another node, after the first node is gone; nothing stays on a node's disk."""
    from tests.conftest import build_test_image, docker

    directory, cluster = swarm
    mc = docker_mc
    driver_image_on_manager(cluster, mc.env)
    token = "ghp_SWARMSENTINEL0123456789abcdef"
    server = f"mc-swarm-git-{mc.owner}"
    pool = f"cfg-{mc.owner}"
    first_node = add_worker(cluster, directory, pool)
    second_node = None
    daemon = None
    try:  # the git server on the cluster's network: sessions reach it through their node, by address
        docker("run", "-d", "--name", server, "--network", cluster.network, "--pull=never", "-e", f"GIT_TOKEN={token}",
               "-e", "GIT_AUTHORIZED_KEY=", build_test_image(ROOT / "tests" / "gitserver", "gitserver"))
        address = docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", server).strip()
        deadline = time.monotonic() + 20
        while "apache2" not in docker("top", server, check=False):
            assert time.monotonic() < deadline, "the git server did not start"
            time.sleep(0.1)
        url = f"http://{address}/srv/git/private.git"
        daemon = _mcd(mc, cluster, tmp_path, pool=pool)
        mc.ok("-r", "sw", "project", "add", url, "--token", "-", input=token + "\n")
        create = ("-r", "sw", "session", "create", "--driver", "base", "--project", url, "--no-connect", "-o", "json")
        first = json.loads(mc.ok(*create))
        assert _node_of(cluster, first["id"]) == first_node.name
        proc = mc.run("-r", "sw", "session", "exec", first["id"], "--", "bash", "-c",
                      "git -C /app log --format=%s -1 && echo kept-on-the-cluster > ~/.mc-history/note")
        assert proc.returncode == 0 and proc.stdout.strip(), proc.stderr
        # one task: making it (a label removed from the service) did not make Swarm replace its container
        assert len(cluster.docker(cluster.manager, "service", "ps", "-q", f"mc-{first['id']}").stdout.split()) == 1
        spec = cluster.docker(cluster.manager, "service", "inspect", f"mc-{first['id']}").stdout
        assert token not in spec and token not in cluster.docker(first_node, "inspect", first["container"]).stdout
        mc.ok("-r", "sw", "session", "close", first["id"])
        # a tool's configuration imported into the project's: beside what the session left there
        home = Path(mc.env["HOME"])
        (home / ".config" / "opencode").mkdir(parents=True)
        (home / ".config" / "opencode" / "opencode.json").write_text('{"model": "openai/gpt-imported"}')
        imported = json.loads(mc.ok("-r", "sw", "driver", "config", "import", "opencode", "--project", url,
                                    "-o", "json"))
        assert imported["files"] == 1

        # the first node goes, another takes its place in the pool
        subprocess.run(["docker", "rm", "-f", "-v", first_node.name], capture_output=True)
        cluster.docker(cluster.manager, "node", "rm", "--force", first_node.name, check=False)
        second_node = add_worker(cluster, directory, pool)
        second = json.loads(mc.ok(*create))
        assert _node_of(cluster, second["id"]) == second_node.name
        proc = mc.run("-r", "sw", "session", "exec", second["id"], "--", "bash", "-c", "cat ~/.mc-history/note")
        assert proc.stdout.strip() == "kept-on-the-cluster", (proc.stdout, proc.stderr)
        proc = mc.run("-r", "sw", "session", "exec", second["id"], "--", "cat",
                      "/mc-config/opencode/config/opencode.json")
        assert "gpt-imported" in proc.stdout, proc.stderr
        mc.ok("-r", "sw", "session", "close", "--all")
        # a session whose lifetime ends (its container has exited when mcd closes it) keeps its config too
        short = json.loads(mc.ok(*create, "--ttl", "15s"))  # (room for a slow create before the exec)
        mc.ok("-r", "sw", "session", "exec", short["id"], "--", "bash", "-c", "echo from-expired > ~/.mc-history/late")
        deadline = time.monotonic() + 60
        while short["id"] in {s["id"] for s in json.loads(mc.ok("-r", "sw", "session", "list", "-o", "json"))}:
            assert time.monotonic() < deadline, "the expired session was not closed"
            time.sleep(1)
        proc = mc.run("-r", "sw", "session", "create", "--driver", "base", "--project", url, "--no-connect", "--rm",
                      "--run", "cat ~/.mc-history/late ~/.mc-history/note")
        assert proc.stdout.split() == ["from-expired", "kept-on-the-cluster"], (proc.stdout, proc.stderr)
        deadline = time.monotonic() + 20  # the session's container and its volumes leave the node
        while cluster.docker(second_node, "ps", "-aq").stdout.strip() or \
                cluster.docker(second_node, "volume", "ls", "-q").stdout.strip():
            assert time.monotonic() < deadline, cluster.docker(second_node, "volume", "ls").stdout
            time.sleep(0.5)
    finally:
        _clean(cluster, mc, daemon)
        subprocess.run(["docker", "rm", "-f", "-v", server], capture_output=True)
        for node in (first_node, second_node):
            if node is not None:
                subprocess.run(["docker", "rm", "-f", "-v", node.name], capture_output=True)
                cluster.docker(cluster.manager, "node", "rm", "--force", node.name, check=False)


def test_two_replicas_share_the_sessions_and_a_killed_one_leaves_no_orphans(swarm, docker_mc, tmp_path, postgres):
    """Two mcds on one PostgreSQL and one cluster: either serves any session; one killed with
    SIGKILL during ten creates leaves the listing equal to the labelled services."""
    _, cluster = swarm
    mc = docker_mc
    driver_image_on_manager(cluster, mc.env)
    env = mcd_env(mc.env)  # one encryption key for both
    shared = {"database": {"url": postgres.url}}
    a = _mcd(mc, cluster, tmp_path, name="a", env=env, **shared)
    b = _mcd(mc, cluster, tmp_path, name="b", env=env, **shared)
    try:
        sid = json.loads(mc.ok("-r", "a", "session", "create", "--driver", "base", "--no-connect", "-o",
                               "json"))["id"]
        [seen] = json.loads(mc.ok("-r", "b", "session", "list", "-o", "json"))
        assert (seen["id"], seen["status"]) == (sid, "running")
        proc = mc.run("-r", "b", "session", "exec", sid, "--", "bash", "-c", "exit 5")
        assert proc.returncode == 5, proc.stderr
        child = spawn(mc, "-r", "b", "session", "connect", sid, rows=24, cols=80, timeout=60)
        typing_resize_exit(child, (24, 80), (30, 100), 6)
        assert "[mc-init]" in mc.ok("-r", "b", "session", "logs", sid)
        mc.ok("-r", "b", "session", "close", sid)
        assert json.loads(mc.ok("-r", "a", "session", "list", "-o", "json")) == []

        results: list[int] = []
        threads = [threading.Thread(target=lambda: results.append(mc.run(
            "-r", "a", "session", "create", "--driver", "base", "--no-connect").returncode)) for _ in range(10)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60  # killed while one is half-made (others made, or not begun)
        while not _service_names(cluster, mc.owner, "--filter", "label=mc.creating"):
            assert time.monotonic() < deadline, "no create began"
            time.sleep(0.05)
        a.kill()
        for t in threads:
            t.join()
        assert len(results) == 10 and any(code != 0 for code in results)
        made = _service_names(cluster, mc.owner)
        # the other replica removes what the dead one left half-made (still marked as being made)
        listed = json.loads(mc.ok("-r", "b", "session", "list", "-o", "json"))
        assert sorted(s["id"] for s in listed) == sorted(_service_names(cluster, mc.owner))
        assert {s["status"] for s in listed} <= {"running"}, listed
        assert len(listed) < len(made), (listed, made)  # (the half-made ones were there, and went)
        a.start()  # its restart reconciles beside the other replica
        assert sorted(s["id"] for s in json.loads(mc.ok("-r", "a", "session", "list", "-o", "json"))) == \
            sorted(s["id"] for s in listed)
        mc.ok("-r", "a", "session", "close", "--all")
        assert _services(cluster, mc.owner) == []
        assert json.loads(mc.ok("-r", "b", "session", "list", "-o", "json")) == []
        deadline = time.monotonic() + 20  # and their containers go from the workers
        while any(cluster.docker(w, "ps", "-aq", "--filter", f"label=mc.owner={mc.owner}").stdout.strip()
                  for w in cluster.workers):
            assert time.monotonic() < deadline, "containers of removed services left on a worker"
            time.sleep(0.5)
    finally:
        _clean(cluster, mc, a, b)
