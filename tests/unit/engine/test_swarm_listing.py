"""A session on a cluster as its service and newest task say (mc.engine.swarm, pure parts)."""

from __future__ import annotations

import pytest

from mc.engine import labels
from mc.engine.plan import Mount
from mc.engine.swarm import NodeInfo, _session, service_args

LABELS = {labels.SESSION: "abcd1234", labels.NAME: "one", labels.DRIVER: "base", labels.OWNER: "alice"}
NODES = {"n1": NodeInfo("n1", "w1", "10.0.0.12", "ready"), "n2": NodeInfo("n2", "w2", "10.0.0.13", "down")}


def _task(state: str, node: str = "n1", desired: str = "running", err: str = "", exit_code: int | None = None):
    status = {"State": state, "Err": err, "ContainerStatus": {"ContainerID": "c0ffee"}}
    if exit_code is not None:
        status["ContainerStatus"]["ExitCode"] = exit_code
    return {"NodeID": node, "DesiredState": desired, "Status": status}


@pytest.mark.parametrize(("task", "status", "reason"), [
    (_task("running"), "running", ""),
    (_task("running", node="n2"), "lost", "its node w2 is down"),
    (_task("running", desired="shutdown"), "lost", "the cluster gave its task up"),
    (_task("pending", node="", err="no suitable node (scheduling constraints not satisfied on 3 nodes)"),
     "created", "no suitable node (scheduling constraints not satisfied on 3 nodes)"),
    (_task("complete", exit_code=0), "stopped", ""),
    (_task("failed", exit_code=97, err="task: non-zero exit (97)"), "failed", "task: non-zero exit (97)"),
    (_task("failed", exit_code=98), "expired", ""),
    (_task("rejected", err="No such image: x@sha256:00"), "failed", "No such image: x@sha256:00"),
    (_task("orphaned"), "lost", "its task is orphaned"),
    (None, "created", "waiting for the scheduler"),
])
def test_a_tasks_state_is_the_sessions(task, status, reason):
    s = _session("mc-abcd1234", LABELS, task, NODES)
    assert (s.id, s.name, s.owner, s.status, s.reason) == ("abcd1234", "one", "alice", status, reason)
    if status == "running":
        assert (s.container, s.node) == ("c0ffee", "10.0.0.12")  # where exec and attach go


def test_a_service_being_made_names_its_replica():
    assert _session("mc-abcd1234", {**LABELS, labels.CREATING: "r1"}, _task("running"), NODES).creating == "r1"
    made = _session("mc-abcd1234", LABELS, _task("running"), NODES)
    assert made.creating == "" and "creating" not in made.to_dict()


def test_a_services_arguments_keep_secrets_out_and_run_once(tmp_path):
    from mc.engine.plan import SessionPlan

    plan = SessionPlan(session_id="abcd1234", container="mc-abcd1234", image="mc-driver-base:1", hostname="one",
                       network="mc-network-x", network_owner="alice", extra_networks=(), labels=LABELS,
                       env={"MC_UID": "1000"}, secret_files={"env": b"TOKEN=sentinel"},
                       mounts=(Mount("volume", "/run/mc-incoming"), Mount("volume", "/mc-config", "mc-config-1",
                                                                          owner_label="alice")),
                       ports=(), caps=("CHOWN",), pids_limit=512, cpus="2", memory="1g")
    args = service_args(plan, "reg:5000/mc-driver-base@sha256:00", "sessions", "r1")
    joined = " ".join(args)
    assert "sentinel" not in joined and "MC_SECRETS_WAIT=60" in joined  # waits for them to be written in
    assert args[-1] == "reg:5000/mc-driver-base@sha256:00"
    for pair in (["--restart-condition", "none"], ["--constraint", "node.labels.mc.pool==sessions"],
                 ["--limit-pids", "512"], ["--limit-cpu", "2"], ["--limit-memory", "1g"], ["--cap-drop", "ALL"],
                 ["--mount", "type=tmpfs,destination=/run/mc-incoming,tmpfs-mode=0700"],
                 ["--container-label", f"{labels.OWNER}=alice"], ["--label", f"{labels.OWNER}=alice"],
                 ["--label", f"{labels.CREATING}=r1"]):  # (the service's alone: removed once made)
        assert any(args[i:i + 2] == pair for i in range(len(args))), pair
    # its persistent config: a volume of its own (filled from mcd's vault), named by a label; the
    # mounts in the order `docker service update` keeps (else removing mc.creating replaces the task)
    mounts = [args[i + 1] for i in range(len(args)) if args[i] == "--mount"]
    assert mounts == ["type=volume,destination=/mc-config",
                      "type=tmpfs,destination=/run/mc-incoming,tmpfs-mode=0700"]
    assert any(args[i:i + 2] == ["--label", f"{labels.CONFIG}=mc-config-1"] for i in range(len(args)))


def test_creates_waiting_at_once_share_one_service_ps(monkeypatch):
    """Placements reads every pending service's task in one `docker service ps` (output as the real
    one prints it: newest task first, NAME as SERVICE.SLOT) and serves the others from it."""
    import subprocess

    from mc.engine import swarm
    from mc.engine.swarm import Placements

    monkeypatch.setattr(swarm, "POLL", 60.0)  # a read stays fresh for the whole test
    calls: list[tuple[str, ...]] = []

    class Recorded:
        def run(self, *args: str, **_: object) -> subprocess.CompletedProcess[bytes]:
            calls.append(args)
            out = (b"t3 mc-bbbb2222.1 Running 1 second ago\n"
                   b"t2 mc-aaaa1111.1 Preparing 2 seconds ago\n"
                   b"t1 mc-aaaa1111.1 Rejected 3 seconds ago\n")
            return subprocess.CompletedProcess(args, 0, out, b"")

    placements = Placements(Recorded())  # type: ignore[arg-type]
    assert placements.state("mc-aaaa1111") == ("t2", "Preparing")
    assert placements.state("mc-bbbb2222") == ("t3", "Running")  # a newcomer: read again, with both
    assert calls[-1][-2:] == ("mc-aaaa1111", "mc-bbbb2222")
    assert placements.state("mc-aaaa1111") == ("t2", "Preparing") and len(calls) == 2  # fresh: no call
    placements.done("mc-bbbb2222")
    placements.state("mc-cccc3333")
    assert calls[-1][-2:] == ("mc-aaaa1111", "mc-cccc3333")
    assert placements.state("mc-dddd4444") == ("", "")  # no task yet
