"""SwarmBackend: sessions placed on a Docker Swarm cluster (mcd's ``docker.mode: swarm``).

A session is a 1-replica service that never restarts (``--restart-condition none``), labelled like
a container of the single engine, constrained to the pool's nodes (``node.labels.mc.pool``), its
image referenced by digest in the cluster's registry (nodes pull only what they lack and never look
a tag up). Swarm has no cross-node exec, attach or TTY, so everything that goes into a session
(exec, connect, attach, logs, the secrets written in) goes to the engine of the node running its
task, over that engine's mutual TLS: ``engine_of``. The rest is the single engine's code.

What a user sees of the cluster: a session whose node is down (or whose task the manager gave up)
is ``lost`` with the reason, never an empty copy started elsewhere; a task that cannot be placed
fails the create after ``place_timeout`` with Swarm's reason, and its service is removed.
"""

from __future__ import annotations

import builtins
import json
import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Protocol

from mc import contract
from mc.docker import Docker, DockerError
from mc.docker.runner import Tls
from mc.engine import labels
from mc.engine.backend import Progress, Warn
from mc.engine.exec import not_running
from mc.engine.local import EventStream, LocalBackend
from mc.engine.models import ConfigImport, ExecResult, Session, SessionEvent, SessionSpec, Status
from mc.engine.scope import Scope
from mc.engine.sessions import status_of
from mc.engine.settings import EngineSettings
from mc.errors import Conflict, InvalidArgument, McError, Unavailable

log = logging.getLogger("mc.swarm")

PENDING = {"new", "pending", "assigned", "accepted", "ready", "preparing", "starting"}
POLL = 0.02  # placement is polled this often at most (one `service ps` of all the services waiting)
NODES_TTL = 1.0  # the node list is read again after this long
WAITING = {state.capitalize() for state in PENDING}  # a task on its way, as `service ps` shows it
PROBE_EVERY = 2.0  # seconds between two looks at each node's engine port
SWEEP_EVERY = 10.0  # seconds between two looks for sessions whose lifetime ended (or --rm ones that ended)
VAULT_LIMIT = 32 * 1024 * 1024  # the most of a session's persistent config (a tar) the vault keeps
LOST_AFTER = 8.0  # a node unreachable this long is lost to its sessions (Swarm's own verdict comes later)


@dataclass(frozen=True)
class SwarmSettings:
    """Where the cluster is and how to reach its engines."""

    manager: str  # tcp://HOST:PORT of a manager's engine
    tls: Tls  # a client of every node's engine (one CA for the cluster)
    registry: str  # HOST[:PORT] every node pulls session images from
    pool: str = ""  # sessions go to nodes labelled mc.pool=POOL ("" : any node)
    node_port: int = 2376  # each node's engine listens here, with mutual TLS
    place_timeout: float = 60.0  # a task not running by then fails its create
    replica: str = ""  # this mcd replica: its services carry it (mc.creating) until made


@dataclass(frozen=True)
class NodeInfo:
    id: str
    hostname: str
    address: str
    state: str  # ready | down | unknown | disconnected


class ConfigVault(Protocol):
    """Where the persistent configs of sessions on a cluster live between sessions (mcd's database,
    encrypted): an archive (tar, members relative to /mc-config) by owner and name."""

    def load(self, owner: str, name: str) -> bytes | None: ...

    def save(self, owner: str, name: str, archive: bytes) -> None: ...


class Reach:
    """Whether each node answers on its engine's port, watched from a thread while sessions are
    listed: Swarm marks a node down only after a few missed heartbeats (longer than a stall it
    must ride out), but a node that no longer takes a TCP connection is gone for its sessions now.
    (A stalled node whose kernel still answers stays reachable; Swarm's heartbeat decides then.)"""

    def __init__(self, port: int) -> None:
        self.port = port
        self._lock = threading.Lock()
        self._failing: dict[str, float] = {}  # address -> when it stopped answering
        self._watched: dict[str, float] = {}  # address -> when a listing last asked about it
        self._thread: threading.Thread | None = None

    def unreachable_for(self, address: str) -> float:
        """Seconds ``address`` has not answered (0: it answers, or nobody looked yet)."""
        now = time.monotonic()
        with self._lock:
            self._watched[address] = now
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="mc-swarm-reach", daemon=True)
                self._thread.start()
            since = self._failing.get(address)
        return now - since if since is not None else 0.0

    def _watch(self) -> None:
        import socket

        while True:
            now = time.monotonic()
            with self._lock:  # a node no listing asked about for a minute is not watched
                for address in [a for a, t in self._watched.items() if now - t > 60]:
                    del self._watched[address]
                    self._failing.pop(address, None)
                addresses = list(self._watched)
            for address in addresses:
                try:
                    socket.create_connection((address, self.port), timeout=PROBE_EVERY).close()
                    ok = True
                except OSError:
                    ok = False
                with self._lock:
                    if ok:
                        self._failing.pop(address, None)
                    else:
                        self._failing.setdefault(address, now)
            time.sleep(PROBE_EVERY)


class SwarmBackend(LocalBackend):
    """The engine over a Swarm cluster: services on the manager, the rest on the task's node."""

    sweep_every = SWEEP_EVERY  # the manager's events tell of removed services, not of ended tasks

    def __init__(self, settings: EngineSettings, swarm: SwarmSettings, scope: Scope, *, debug: bool = False,
                 vault: ConfigVault | None = None, **kw: Any) -> None:
        super().__init__(Docker.remote(swarm.manager, swarm.tls, debug=debug), settings, scope, **kw)
        self.swarm = swarm
        self.vault = vault
        self.debug = debug
        self._nodes_lock = threading.Lock()
        self._node_engines: dict[str, Docker] = {}
        self._pushed: dict[str, str] = {}  # image tag -> its digest reference in the registry
        self._reach = Reach(swarm.node_port)
        self._push_locks: dict[str, threading.Lock] = {}
        self._node_cache: dict[str, tuple[float, dict[str, NodeInfo]]] = {}
        self._placements = Placements(self.docker)
        self._networks: set[str] = set()  # overlay networks known to be there

    def scoped(self, scope: Scope) -> SwarmBackend:
        other = super().scoped(scope)
        assert isinstance(other, SwarmBackend)
        return other

    # -- where a session's container is ------------------------------------------------------------
    def engine_of(self, session: Session) -> Docker:
        """The engine of the node running the session's task."""
        node = session.node
        if not node:
            raise Unavailable(f"session {session.id} runs on no node yet")
        with self._nodes_lock:
            engine = self._node_engines.get(node)
            if engine is None:
                engine = Docker.remote(f"tcp://{node}:{self.swarm.node_port}", self.swarm.tls, debug=self.debug)
                self._node_engines[node] = engine
        return engine

    def _nodes(self, knowing: str = "") -> dict[str, NodeInfo]:
        """The cluster's nodes, as the manager saw them at most NODES_TTL ago (shared by every call);
        or, with ``knowing`` (a node that just started a task), as last seen if that node was in it."""
        at, cached = self._node_cache.get("nodes", (0.0, {}))
        if time.monotonic() - at < NODES_TTL or (knowing and knowing in cached):
            return cached
        ids = self.docker.text("node", "ls", "-q", timeout=30).split()
        found = {}
        for n in json.loads(self.docker.text("node", "inspect", *ids, timeout=30)) if ids else []:
            status = n.get("Status") or {}
            found[n["ID"]] = NodeInfo(n["ID"], (n.get("Description") or {}).get("Hostname", ""),
                                      status.get("Addr", ""), status.get("State", "unknown"))
        self._node_cache["nodes"] = (time.monotonic(), found)
        return found

    def _tasks(self, services: builtins.list[str]) -> dict[str, dict[str, Any]]:
        """The newest task of each service, by service id."""
        proc = self.docker.run("service", "ps", "-q", "--no-trunc", *services, check=False, timeout=30)
        ids = proc.stdout.decode().split()
        if not ids:
            return {}
        newest: dict[str, dict[str, Any]] = {}
        inspected = self.docker.run("inspect", "--type", "task", *ids, check=False, timeout=30)
        for task in json.loads(inspected.stdout or b"[]"):
            sid = task.get("ServiceID", "")
            if sid not in newest or task.get("CreatedAt", "") > newest[sid].get("CreatedAt", ""):
                newest[sid] = task
        return newest

    # -- listing -----------------------------------------------------------------------------------
    def _ps(self, owners: tuple[str, ...] | None, *, running_only: bool = False,
            only: str = "") -> builtins.list[Session]:
        """The sessions (``only``: the one of that service name, if it is there)."""
        if only:
            ids = [only]
        else:
            args = ["service", "ls", "-q", "--filter", f"label={labels.SESSION}"]
            if self.settings.instance:
                args += ["--filter", f"label={labels.INSTANCE}={self.settings.instance}"]
            if owners is not None and len(owners) == 1:
                args += ["--filter", f"label={labels.OWNER}={owners[0]}"]
            ids = self.docker.text(*args, timeout=30).split()
            if not ids:
                return []
        proc = self.docker.run("service", "inspect", *ids, check=False, timeout=30)  # (one may go meanwhile)
        services = [s for s in json.loads(proc.stdout or b"[]")
                    if not only or ((s.get("Spec") or {}).get("Labels") or {}).get(labels.INSTANCE, "")
                    == self.settings.instance]
        if not services:
            return []
        tasks = self._tasks([s["ID"] for s in services])
        nodes = self._nodes() if tasks else {}
        sessions = []
        for service in services:
            spec_labels = (service.get("Spec") or {}).get("Labels") or {}
            session = _session(service["Spec"]["Name"], spec_labels, tasks.get(service["ID"]), nodes)
            if session.running and session.node and (away := self._reach.unreachable_for(session.node)) >= LOST_AFTER:
                host = next((n.hostname for n in nodes.values() if n.address == session.node), session.node)
                session = replace(session, status="lost", reason=f"its node {host} has not answered for {away:.0f}s")
            if owners is not None and session.owner not in owners:
                continue
            if running_only and not session.running:
                continue
            sessions.append(session)
        sessions.sort(key=lambda s: s.created)
        return sessions

    def get(self, ref: str) -> Session:
        """A full id is looked up as its one service; anything else (a name, a prefix) in the list."""
        if len(ref) == 8 and all(c in "0123456789abcdef" for c in ref):
            found = self._ps(self.scope.listing_owners(), only=f"{labels.CONTAINER_PREFIX}{ref}")
            if found:
                return found[0]
        return super().get(ref)

    def _counted(self, owners: tuple[str, ...] | None, making: set[str], cap: int) -> set[str]:
        """All the owner's services (one call) while they and those being made stay under the cap:
        then the exact count cannot reach it either; the full listing (four calls) only near it."""
        if owners is not None and len(owners) == 1:
            args = ["service", "ls", "--format", "{{.Name}}", "--filter", f"label={labels.OWNER}={owners[0]}"]
            if self.settings.instance:
                args += ["--filter", f"label={labels.INSTANCE}={self.settings.instance}"]
            names = set(self.docker.text(*args, timeout=30).split())
            if len(names | making) < cap:
                return names
        return super()._counted(owners, making, cap)

    # -- create ------------------------------------------------------------------------------------
    def create(self, spec: SessionSpec, *, progress: Progress | None = None, warn: Warn | None = None) -> Session:
        """Plan as the single engine does, then a service; wait until its task runs (or fail with
        Swarm's reason, removing it), and copy the secrets into its container on its node."""
        from mc.engine.environment import secrets_tar

        if spec.idle_timeout:
            raise InvalidArgument("sessions on a cluster cannot have an idle timeout yet (one stopped there "
                                  "cannot be started again); --ttl gives one a lifetime")
        plan, driver = self._plan(replace(spec, idle_timeout=0), warn=warn)  # (nor the configured one)
        _check_plan(plan)
        image = self._cluster_image(self.catalog.build(driver, progress=progress))
        with self._room(plan.container):
            self._ensure_network(plan.network, plan.network_owner)
            args = service_args(plan, image, self.swarm.pool, self.swarm.replica)
            proc = self.docker.run("service", "create", *args, check=False, timeout=120)
            if proc.returncode != 0 and plan.network in self._networks and b"not found" in proc.stderr:
                self._networks.discard(plan.network)  # removed behind mcd's back: made again
                self._ensure_network(plan.network, plan.network_owner)
                proc = self.docker.run("service", "create", *args, check=False, timeout=120)
            if proc.returncode != 0:
                raise DockerError(self.docker.argv("service", "create", plan.container), proc.returncode,
                                  proc.stderr.decode(errors="replace"))
            try:
                session = self._placed(plan.container, plan.session_id, plan.labels)
                config = vaulted_config(plan)
                stored = self.vault.load(session.owner, config) if config and self.vault is not None else None
                if stored:  # (a checked archive: plain files and directories, the session user's)
                    self.engine_of(session).run("exec", "-i", "-u", "0", session.container, "tar", "-x", "-C",
                                                contract.CONFIG_DIR, input=stored, timeout=120)
                if plan.secret_files or config:
                    files = {**plan.secret_files, contract.SECRETS_READY: b""}  # last: all of them are there
                    # (docker cp cannot write into a tmpfs mount; tar in the container can, from stdin)
                    self.engine_of(session).run("exec", "-i", "-u", "0", session.container, "tar", "-x", "-C", "/",
                                                input=secrets_tar(files, self.settings.gid), timeout=60)
                if self.swarm.replica:  # made: no replica takes it for one its maker left half-made
                    self.docker.run("service", "update", "--detach", "--label-rm", labels.CREATING, plan.container,
                                    timeout=60)
            except BaseException:
                self.docker.run("service", "rm", plan.container, check=False, timeout=60)
                raise
        return replace(session, creating="", config=vaulted_config(plan))

    def _placed(self, service: str, session_id: str, spec_labels: dict[str, str]) -> Session:
        """The session once its task runs: its task's state polled cheaply (one call), the running
        task inspected; anything else looked up in full for Swarm's reason."""
        try:
            return self._wait_placed(service, session_id, spec_labels)
        finally:
            self._placements.done(service)

    def _wait_placed(self, service: str, session_id: str, spec_labels: dict[str, str]) -> Session:
        deadline = time.monotonic() + self.swarm.place_timeout
        reason = ""
        while True:
            task_id, state = self._placements.state(service)
            if state in WAITING and time.monotonic() <= deadline:
                time.sleep(POLL)
                continue
            if state == "Running":
                tasks = json.loads(self.docker.run("inspect", "--type", "task", task_id, check=False,
                                                   timeout=30).stdout or b"[]")
                task = tasks[0] if tasks else None
                session = _session(service, spec_labels, task, self._nodes(knowing=(task or {}).get("NodeID", "")))
                if session.running and session.container:
                    return session
            for session in self._ps(None, only=service):
                if session.id != session_id:
                    continue
                if session.running and session.container:
                    return session
                if session.status in ("failed", "exited", "lost"):
                    raise McError(f"session {session_id} did not start on the cluster: "
                                  f"{session.reason or session.status}")
                reason = session.reason
            if time.monotonic() > deadline:
                raise McError(f"session {session_id} was not placed within {self.swarm.place_timeout:.0f}s: "
                              f"{reason or 'no node took it'}")
            time.sleep(POLL)

    def _cluster_image(self, tag: str) -> str:
        """The image as its digest in the cluster's registry (pushed once per tag: creates side by
        side wait for the one push)."""
        if "@sha256:" in tag:
            return tag
        with self._nodes_lock:
            lock = self._push_locks.setdefault(tag, threading.Lock())
        with lock:
            if tag not in self._pushed:
                self._pushed[tag] = self._push(tag)
        return self._pushed[tag]

    def _push(self, tag: str) -> str:
        name = tag.rsplit("/", 1)[-1]
        ref = f"{self.swarm.registry}/{name}"
        digest = self._digest(ref)
        if not digest:
            self.docker.run("tag", tag, ref, timeout=30)
            proc = self.docker.run("push", ref, check=False, timeout=900)
            if proc.returncode != 0:
                err = proc.stderr.decode(errors="replace").strip().splitlines()
                raise McError(f"cannot push {ref} to the cluster's registry: {err[-1] if err else 'push failed'}")
            digest = self._digest(ref)
        if not digest:
            raise McError(f"the registry gave no digest for {ref}")
        return digest

    def _digest(self, ref: str) -> str:
        """``ref``'s digest reference in the registry, when this engine pushed or pulled it."""
        proc = self.docker.run("image", "inspect", "--format", "{{json .RepoDigests}}", ref, check=False, timeout=30)
        if proc.returncode != 0:
            return ""
        repo = ref.rsplit(":", 1)[0]
        return next((d for d in json.loads(proc.stdout or b"[]") if d.startswith(f"{repo}@")), "")

    def _ensure_network(self, name: str, owner: str) -> None:
        """An owner's sessions share an attachable overlay network (spans the nodes). mcd never
        removes one, so one seen once is taken to be there (a create that finds it gone makes it
        again: see create)."""
        if name in self._networks:
            return
        if self.docker.run("network", "inspect", name, check=False, timeout=30).returncode == 0:
            self._networks.add(name)
            return
        proc = self.docker.run("network", "create", "--driver", "overlay", "--attachable", "--label",
                               f"{labels.NETWORK}={owner or '1'}", name, check=False, timeout=60)
        if proc.returncode != 0 and b"already exists" not in proc.stderr:
            raise DockerError(self.docker.argv("network", "create", name), proc.returncode,
                              proc.stderr.decode(errors="replace"))
        self._networks.add(name)

    def run_once(self, spec: SessionSpec, command: str, *, progress: Progress | None = None,
                 warn: Warn | None = None) -> ExecResult:
        """A session for one command: created, the command run in it, then removed."""
        session = self.create(replace(spec, remove_on_exit=True), progress=progress, warn=warn)
        try:
            return self.exec(session.id, ["bash", "-lc", command], tty=False, interactive=False)
        finally:
            self.remove([session], kill=True)

    # -- removal -----------------------------------------------------------------------------------
    def remove(self, sessions: builtins.list[Session], *, kill: bool = False) -> None:
        if not sessions:
            return
        for session in sessions:
            if session.config and session.container and session.node and self.vault is not None:
                self._keep_config(session)
        names = [f"{labels.CONTAINER_PREFIX}{s.id}" for s in sessions]
        proc = self.docker.run("service", "rm", *names, check=False, timeout=60)
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace")
            real = [ln for ln in err.splitlines() if ln.strip() and "not found" not in ln]
            if real:
                raise DockerError(self.docker.argv("service", "rm", *names), proc.returncode, "\n".join(real))

    def _keep_config(self, session: Session) -> None:
        """The session's persistent config, into the vault before its container goes (running or
        ended, as after its lifetime): read on its node (at most VAULT_LIMIT, within a minute), each
        member checked, owned by the session user. A config that cannot be read (its node is gone)
        or is too big keeps what the vault had."""
        import subprocess

        from mc.drivers.userconfig import checked_members

        assert self.vault is not None
        try:
            proc = self.engine_of(session).popen("cp", f"{session.container}:{contract.CONFIG_DIR}", "-",
                                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                                 stdin=subprocess.DEVNULL)
            timer = threading.Timer(60, proc.kill)
            timer.daemon = True
            timer.start()
            try:
                assert proc.stdout is not None
                data = proc.stdout.read(VAULT_LIMIT + 1)
            finally:
                timer.cancel()
                proc.kill()
                code = proc.wait()
            if len(data) > VAULT_LIMIT:
                raise McError(f"more than {VAULT_LIMIT // (1024 * 1024)} MiB")
            if not data:
                raise McError(f"reading it failed ({code})")
            targets = {t.target for d in self.catalog.all() for t in d.manifest.persistent_configs}
            self.vault.save(session.owner, session.config,
                            checked_members(data, targets, self.settings.uid, self.settings.gid, VAULT_LIMIT,
                                            lenient=True, root=contract.CONFIG_DIR.lstrip("/") + "/"))
        except McError as exc:
            log.warning(json.dumps({"event": "persistent config not kept", "session": session.id,
                                    "error": str(exc)[:300]}))

    def prune_owner_network(self, owner: str) -> None:
        return  # an overlay network costs nothing while unused; removing it races other replicas' creates

    def prune_sidecars(self, live: builtins.list[Session]) -> builtins.list[str]:
        return []

    def remove_sidecars(self, session_ids: builtins.list[str]) -> None:
        return

    def events(self, since: str = "") -> EventStream:
        """The manager's service events: a removed service is a ``destroy`` of its session."""
        import subprocess

        args = ["events", "--filter", "type=service", "--format", "{{json .}}"]
        if since:
            args += ["--since", since]
        return ServiceEventStream(self.docker.popen(*args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                                    stdin=subprocess.DEVNULL))

    # -- not on a cluster (yet) --------------------------------------------------------------------
    def stop(self, refs: builtins.list[str]) -> builtins.list[Session]:
        raise InvalidArgument("stopping a session is not available on a cluster: close it")

    def start(self, refs: builtins.list[str]) -> builtins.list[Session]:
        raise InvalidArgument("starting a session again is not available on a cluster")

    def extend(self, ref: str, seconds: int) -> Session:
        """The new deadline into the container on its node (what its init watches), then onto the
        service's label (what listings show; a service label changes no task)."""
        from mc.engine import checks, lifecycle

        seconds = checks.check_duration(seconds, "extend")
        session = self.get(ref)
        deadline = lifecycle.moved_deadline(session, seconds, self.settings.max_lifetime)
        if not session.running:
            raise Conflict(not_running(session))
        lifecycle.write_deadline(self.engine_of(session), session, deadline)
        self.docker.run("service", "update", "--detach", "--label-add", f"{labels.DEADLINE}={deadline}",
                        f"{labels.CONTAINER_PREFIX}{session.id}", timeout=60)
        return self.get(session.id)

    def config_import(self, driver: str, archive: bytes, *, project: str = "", mount: str = "") -> ConfigImport:
        """Into the vault, over what the project's persistent config had (each member checked)."""
        import io
        import tarfile

        from mc.engine.plan import persist_mount

        if self.vault is None:
            raise InvalidArgument("importing a tool's configuration is not available on this cluster")
        d, key, clean = self._config_to_import(driver, archive, project, mount)
        name = persist_mount(self.settings, self.scope, key, None)[0].source
        merged = io.BytesIO()
        with tarfile.open(fileobj=io.BytesIO(clean)) as new, tarfile.open(fileobj=merged, mode="w") as out:
            added = new.getmembers()
            names = {m.name for m in added}
            old = self.vault.load(self.scope.owner, name)
            if old:
                with tarfile.open(fileobj=io.BytesIO(old)) as kept:
                    for m in kept.getmembers():
                        if m.name not in names:
                            out.addfile(m, kept.extractfile(m) if m.isreg() else None)
            for m in added:
                out.addfile(m, new.extractfile(m) if m.isreg() else None)
        if merged.tell() > VAULT_LIMIT:
            raise InvalidArgument(f"the project's persistent config would be more than "
                                  f"{VAULT_LIMIT // (1024 * 1024)} MiB on the cluster")
        self.vault.save(self.scope.owner, name, merged.getvalue())
        files = [m for m in added if m.isreg()]
        return ConfigImport(d.name, key, len(files), sum(m.size for m in files))


class Placements:
    """The task states of the services being created, read by one ``docker service ps`` of them
    all at most every POLL seconds, however many creates wait at once (fifty threads polling on
    their own were fifty docker processes every POLL)."""

    def __init__(self, docker: Docker) -> None:
        self.docker = docker
        self._lock = threading.Lock()
        self._waiting: set[str] = set()
        self._states: dict[str, tuple[str, str]] = {}
        self._at = 0.0

    def state(self, service: str) -> tuple[str, str]:
        """(task id, state) of the service's task as last read: "" while it has none."""
        with self._lock:
            fresh = service in self._waiting and time.monotonic() - self._at < POLL
            self._waiting.add(service)
            if not fresh:
                proc = self.docker.run("service", "ps", "--no-trunc", "--format", "{{.ID}} {{.Name}} {{.CurrentState}}",
                                       *sorted(self._waiting), check=False, timeout=30)
                self._states = {}
                for line in proc.stdout.decode().splitlines():
                    parts = line.split()
                    if len(parts) >= 3:  # NAME is SERVICE.SLOT; the newest task comes first
                        self._states.setdefault(parts[1].rsplit(".", 1)[0], (parts[0], parts[2]))
                self._at = time.monotonic()
            return self._states.get(service, ("", ""))

    def done(self, service: str) -> None:
        with self._lock:
            self._waiting.discard(service)


class ServiceEventStream(EventStream):
    """The manager's service events, as the sessions' (a removed service: ``destroy``)."""

    def session_event(self, event: dict[str, Any]) -> SessionEvent | None:
        name = ((event.get("Actor") or {}).get("Attributes") or {}).get("name", "")
        sid = name.removeprefix(labels.CONTAINER_PREFIX)
        if event.get("Action") == "remove" and name.startswith(labels.CONTAINER_PREFIX) and len(sid) == 8:
            return SessionEvent("destroy", sid, "", int(event.get("timeNano") or 0))
        return None


def _check_plan(plan: Any) -> None:
    """What a session on the cluster cannot have yet: a clear error before anything is made."""
    missing = [what for what, present in (
        ("an egress policy", plan.egress is not None), ("MCP servers in containers", bool(plan.sidecars)),
        ("published ports", bool(plan.ports)), ("extra networks", bool(plan.extra_networks)),
        ("a storage limit", bool(plan.storage)), ("the Langfuse relay", plan.relay is not None),
        ("host directories", any(m.kind == "bind" for m in plan.mounts))) if present]
    if missing:
        raise InvalidArgument(f"sessions on a cluster cannot have {', '.join(missing)} yet")


def service_args(plan: Any, image: str, pool: str, replica: str = "") -> builtins.list[str]:
    """``docker service create`` arguments of a session: its container's, as a service that runs
    once, on the pool's nodes, its image by digest, marked as being made by ``replica``. Secrets
    are never among them: the container waits for them (``MC_SECRETS_WAIT``) and they are copied in
    on its node."""
    args = ["--detach", "--name", plan.container, "--hostname", plan.hostname, "--network", plan.network,
            "--init", "--cap-drop", "ALL", "--restart-condition", "none", "--no-resolve-image",
            "--limit-pids", str(plan.pids_limit), "--stop-grace-period", "5s"]
    if pool:
        args += ["--constraint", f"node.labels.mc.pool=={pool}"]
    for cap in plan.caps:
        args += ["--cap-add", cap]
    if plan.cpus:
        args += ["--limit-cpu", plan.cpus]
    if plan.memory:
        args += ["--limit-memory", plan.memory]
    for key, value in plan.labels.items():
        args += ["--label", f"{key}={value}", "--container-label", f"{key}={value}"]
    if replica:
        args += ["--label", f"{labels.CREATING}={replica}"]
    config = vaulted_config(plan)
    if config:
        args += ["--label", f"{labels.CONFIG}={config}"]
    env = dict(plan.env)
    if plan.secret_files or config:  # (its persistent config comes in with them)
        env["MC_SECRETS_WAIT"] = "60"
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    # in the order `docker service update` puts them: in another, its label-rm (once the session is
    # made) would change the task's spec, and Swarm would replace the container with a fresh one
    for mount in sorted(plan.mounts, key=lambda m: m.target):
        if mount.target == contract.INCOMING_DIR:  # in memory: the secrets never touch a node's disk
            args += ["--mount", f"type=tmpfs,destination={mount.target},tmpfs-mode=0700"]
        elif mount.target == contract.CONFIG_DIR and mount.kind == "volume":  # its own: filled from the vault
            args += ["--mount", f"type=volume,destination={mount.target}"]
        elif mount.kind == "volume":
            spec = f"type=volume,destination={mount.target}"
            if mount.source:
                spec += f",source={mount.source}"
            if mount.owner_label:
                spec += f",volume-label={labels.OWNER}={mount.owner_label}"
            args += ["--mount", spec + (",readonly" if mount.read_only else "")]
        else:
            args += ["--mount", f"type=tmpfs,destination={mount.target},tmpfs-mode=0755"]
    args += plan.log_options
    args.append(image)
    return args


def vaulted_config(plan: Any) -> str:
    """The name of the session's persistent config (that of the volume it has on one engine), which
    on a cluster lives in mcd's vault: any node may run its next session. "" when it has none."""
    return next((m.source for m in plan.mounts if m.target == contract.CONFIG_DIR and m.kind == "volume"), "")


def _session(name: str, spec_labels: dict[str, str], task: dict[str, Any] | None,
             nodes: dict[str, NodeInfo]) -> Session:
    from mc.engine.sessions import LABEL_FIELDS, session_from_row

    row: dict[str, Any] = {k: spec_labels.get(v, "") for k, v in LABEL_FIELDS.items()}
    session = replace(session_from_row({**row, "container": name, "state": "created"}),
                      creating=spec_labels.get(labels.CREATING, ""), config=spec_labels.get(labels.CONFIG, ""))
    if task is None:
        return replace(session, status="created", reason="waiting for the scheduler")
    status = task.get("Status") or {}
    state = status.get("State", "")
    container = (status.get("ContainerStatus") or {}).get("ContainerID", "")
    exit_code = (status.get("ContainerStatus") or {}).get("ExitCode")
    node = nodes.get(task.get("NodeID", ""))
    err = status.get("Err", "") or ""
    result: Status
    reason = ""
    if state in PENDING:
        result, reason = "created", err or status.get("Message", "")
    elif state == "running" and node is not None and node.state != "ready":
        result, reason = "lost", f"its node {node.hostname} is {node.state}"
    elif state == "running" and task.get("DesiredState") == "shutdown":
        result, reason = "lost", "the cluster gave its task up"
    elif state == "running":
        result = "running"
    elif state in ("complete", "failed") and isinstance(exit_code, int):
        result = status_of("exited", exit_code)
        reason = err
    elif state in ("failed", "rejected"):
        result, reason = "failed", err or state
    else:  # shutdown, orphaned, remove
        result, reason = "lost", f"its task is {state}" + (f" ({err})" if err else "")
    return replace(session, status=result, reason=reason, container=container,
                   node=node.address if node else "", exit_code=exit_code if result != "running" else None)
