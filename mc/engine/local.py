"""LocalBackend: the session engine over the docker CLI. Docker labels are its only state.

A facade: a new session is a plan (plan.py, pure) launched by launch.py; listing and references
are sessions.py; what a caller may see and touch is its Scope; drivers come from the DriverCatalog
and projects from a ProjectSource. mcd serves every user from one LocalBackend, ``scoped`` per call.
"""

from __future__ import annotations

import builtins
import contextlib
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mc import __version__, contract
from mc.docker import Docker, DockerError
from mc.docker.runner import Stream
from mc.engine import checks, labels
from mc.engine.backend import Backend, Progress, Warn
from mc.engine.exec import READY_TIMEOUT, exec_argv, failure_reason, not_running
from mc.engine.models import (
    ConfigImport,
    DriverInfo,
    EnvVarInfo,
    ExecResult,
    PersistentConfigInfo,
    ProjectInfo,
    Session,
    SessionEvent,
    SessionSpec,
    ShellInfo,
    TerminalFacts,
)
from mc.engine.projects import McpSource, ProjectSource, info
from mc.engine.scope import Scope
from mc.engine.sessions import LABEL_FIELDS, LIST_FORMAT, resolve_ref, session_from_row
from mc.engine.settings import EngineSettings
from mc.errors import Conflict, InvalidArgument, McError, NotFound, PermissionDenied

if TYPE_CHECKING:
    import socket

    from mc.drivers.catalog import DriverCatalog
    from mc.drivers.registry import Driver
    from mc.engine.attach import AttachProcess
    from mc.engine.forward import Tunnel
    from mc.engine.plan import SessionPlan
    from mc.engine.traces import Trace
    from mc.mcp.servers import McpServer

MAX_REFS = 256


class _Parts:
    """What the engine makes on first use (a command in a session needs neither), shared by every
    scoped copy (mcd builds an image's tag once, not once per call)."""

    def __init__(self, projects: ProjectSource | None, catalog: DriverCatalog | None,
                 mcps: McpSource | None) -> None:
        self.projects = projects
        self.catalog = catalog
        self.mcps = mcps


class Screen(Protocol):
    """Drives this terminal on a shell's connection until it ends (mc.term.shellclient.drive)."""

    def __call__(self, sock: socket.socket, *, size: tuple[int, int] | None, resume: bool) -> ExecResult: ...


class LocalBackend:
    """Sessions as labelled containers on one Docker engine."""

    sweep_every = 0.0  # seconds between two sweeps a daemon needs (0: the engine's events tell all)

    def __init__(self, docker: Docker, settings: EngineSettings, scope: Scope,
                 projects: ProjectSource | None = None, drivers: DriverCatalog | None = None,
                 mcps: McpSource | None = None, screen: Screen | None = None) -> None:
        self.docker = docker
        self.settings = settings
        self.scope = scope
        self.screen = screen  # drives this terminal on a resumable shell (the CLI's); None: docker's own
        self._parts = _Parts(projects, drivers, mcps)
        # shared by every scoped copy: each owner's lock, and the containers being made for them
        self._owner_locks: dict[str, threading.Lock] = {}
        self._making: dict[str, set[str]] = {}
        self._locks_lock = threading.Lock()
        self._storage_why: str | None = None  # why the engine cannot limit storage ("" it can), once asked

    @property
    def catalog(self) -> DriverCatalog:
        """The drivers and their images."""
        if self._parts.catalog is None:
            from mc.drivers.catalog import DriverCatalog

            s = self.settings
            self._parts.catalog = DriverCatalog(self.docker, s.extra_ca, s.driver_dirs, s.host_access,
                                                s.driver_images)
        return self._parts.catalog

    @property
    def projects(self) -> ProjectSource:
        """Where stored projects and their credentials come from (mcd: its database)."""
        if self._parts.projects is None:
            from mc.engine.projects import LocalProjects

            self._parts.projects = LocalProjects()
        return self._parts.projects

    @property
    def mcps(self) -> McpSource:
        """Where MCP server definitions come from (mcd: its database)."""
        if self._parts.mcps is None:
            from mc.engine.projects import LocalMcps

            self._parts.mcps = LocalMcps()
        return self._parts.mcps

    def scoped(self, scope: Scope) -> LocalBackend:
        """The same engine acting for one caller (mcd: per call)."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.scope = scope
        return clone

    # -- listing -----------------------------------------------------------------------------
    def _ps(self, owners: tuple[str, ...] | None, *, running_only: bool = False) -> list[Session]:
        args = ["ps", "--no-trunc", "--filter", f"label={labels.SESSION}", *self._instance_filter()]
        if not running_only:
            args.append("-a")
        if owners is not None and len(owners) == 1:
            args += ["--filter", f"label={labels.OWNER}={owners[0]}"]
        args += ["--format", LIST_FORMAT]
        sessions = [session_from_row(r) for r in self.docker.json_lines(*args, timeout=30)]
        if owners is not None and len(owners) > 1:
            sessions = [s for s in sessions if s.owner in owners]
        if any(s.egress is not None and s.running for s in sessions):
            self._proxied_ports(sessions)
        if any(s.deadline for s in sessions):
            from mc.engine.lifecycle import extended

            for s in sessions:
                if s.deadline:
                    s.deadline = max(s.deadline, extended(self._state_dir(), s.id))
        sessions.sort(key=lambda s: s.created)
        return sessions

    def _proxied_ports(self, sessions: builtins.list[Session]) -> None:
        """A session with an egress policy publishes its ports on its proxy: show them as its own."""
        from mc.engine.sessions import ports_of

        fmt = f'{{{{.Names}}}}\t{{{{.Label "{labels.SIDECAR_OF}"}}}}\t{{{{.Ports}}}}'
        out = self.docker.text("ps", "--filter", f"label={labels.SIDECAR_OF}", "--filter", "name=-egress",
                               "--format", fmt, timeout=30)
        published: dict[tuple[str, str], str] = {}
        for line in out.splitlines():
            name, _, rest = line.partition("\t")
            sid, _, ports = rest.partition("\t")
            published[(name, sid)] = ports
        for s in sessions:
            if s.egress is not None and (text := published.get((f"{s.container}-egress", s.id))):
                s.ports = ports_of(text)

    def _instance_filter(self) -> builtins.list[str]:
        return ["--filter", f"label={labels.INSTANCE}={self.settings.instance}"] if self.settings.instance else []

    def sessions(self) -> builtins.list[Session]:
        found = self._ps(self.scope.listing_owners())
        expired = [s for s in found if s.status == "expired"]
        if expired and not self.scope.multi_user:  # local mode closes them here (mcd as they end)
            self.remove(expired, kill=True)
            found = [s for s in found if s.status != "expired"]
        return found

    def get(self, ref: str) -> Session:
        return resolve_ref(self._ps(self.scope.listing_owners()), ref, self.scope)

    # -- drivers -----------------------------------------------------------------------------
    def _driver_info(self, driver: Driver, built: set[str]) -> DriverInfo:
        tag = self.catalog.image(driver)
        m = driver.manifest
        return DriverInfo(
            name=driver.name, description=m.description, version=m.version, source=driver.source,
            path=str(driver.path) if self.settings.host_access and not driver.image else "", image=tag,
            built=tag in built,
            environment=[EnvVarInfo(e.name, e.description, e.required, None if e.sensitive else e.default, e.sensitive)
                         for e in m.environment],
            ports=list(m.ports),
            persistent_configs=[PersistentConfigInfo(p.source, p.target, p.type, p.description, list(p.import_skip))
                                for p in m.persistent_configs],
            model_providers=sorted(m.model.providers) if m.model else [],
            mcp=m.mcp, egress=list(m.egress),
        )

    def drivers(self) -> builtins.list[DriverInfo]:
        built = self.catalog.built_images()
        return [self._driver_info(d, built) for d in self.catalog.all()]

    def driver(self, name: str) -> DriverInfo:
        return self._driver_info(self.catalog.resolve(name), self.catalog.built_images())

    def push_driver(self, name: str, ref: str, *, progress: Progress | None = None) -> str:
        """Build (unless built) and publish a driver as ``ref``: an image that describes itself."""
        from mc.drivers.images import label_text, push

        if not self.settings.host_access:
            raise PermissionDenied("drivers are pushed from a machine that builds them (local mode)")
        driver = self.catalog.resolve(name)
        if driver.image:
            raise InvalidArgument(f"driver '{name}' is the image {driver.image} already")
        tag = self.catalog.build(driver, progress=progress)
        return push(self.docker, tag, label_text(driver.path / "mc-driver.yaml", driver.name), ref)

    def pull_driver(self, ref: str, name: str = "", *, progress: Progress | None = None) -> DriverInfo:
        """Pull a driver image (one mc built: its manifest is in its labels) and add it as a user driver."""
        from mc.drivers import registry
        from mc.drivers.images import check_reference, manifest_of, pull_image

        if not self.settings.host_access:
            raise PermissionDenied("a server's drivers are its operator's (mcd's drivers: in its config)")
        pull_image(self.docker, check_reference(ref), progress)
        manifest = manifest_of(self.docker, ref)
        assert manifest is not None
        registry.add_image(name or manifest.name, ref)
        return self.driver(name or manifest.name)

    def build_driver(self, name: str, *, no_cache: bool = False, progress: Progress | None = None) -> str:
        return self.catalog.build(self.catalog.resolve(name), no_cache=no_cache, progress=progress)

    def config_import(self, driver: str, archive: bytes, *, project: str = "", mount: str = "") -> ConfigImport:
        """Copy a user's own configuration of the driver's tool (an archive from
        ``mc.drivers.userconfig.pack``, checked here) into the persistent config of a project or a
        mounted directory, owned by the session user; through a container, so the copy stays inside
        /mc-config whatever a session left there."""
        import io
        import secrets
        import tarfile

        from mc import contract
        from mc.engine.launch import make_dir, remove_empty_tree
        from mc.engine.plan import persist_mount

        d, key, clean = self._config_to_import(driver, archive, project, mount)
        config_mount, directory = persist_mount(self.settings, self.scope, key, self.settings.data_root or _data_dir())
        made = make_dir(directory)
        container = f"mc-import-{secrets.token_hex(4)}"
        try:
            image = self.catalog.build(d)
            self.docker.run("create", "--name", container, "--network", "none", "--entrypoint", "true",
                            "--label", f"{labels.OWNER}={self.scope.owner}", *config_mount.argv(), image, timeout=60)
            self.docker.run("cp", "-", f"{container}:{contract.CONFIG_DIR}", input=clean, timeout=120)
        except BaseException:
            if made is not None:
                remove_empty_tree(made, stop=3)
            raise
        finally:
            self.docker.run("rm", "-f", "-v", container, check=False, timeout=60)
        with tarfile.open(fileobj=io.BytesIO(clean)) as tar:
            members = [m for m in tar.getmembers() if m.isreg()]
        return ConfigImport(d.name, key, len(members), sum(m.size for m in members))

    def _config_to_import(self, driver: str, archive: bytes, project: str, mount: str) -> tuple[Driver, str, bytes]:
        """(the driver, the project id or directory whose config it is, the archive checked)."""
        import os

        from mc.drivers.userconfig import checked_members

        d = self.catalog.resolve(driver or self.settings.default_driver)
        targets = [p.target for p in d.manifest.persistent_configs]
        if not targets:
            raise InvalidArgument(f"driver {d.name} keeps no configuration between sessions")
        if bool(project) == bool(mount):
            raise InvalidArgument("give the project (--project URL) or the directory (--mount DIR) whose sessions "
                                  "get the configuration")
        if mount:
            if not self.settings.host_access:
                raise InvalidArgument("a local directory has no persistent config on a remote; use --project URL")
            key = os.path.abspath(os.path.expanduser(mount))
            if not os.path.isdir(key):
                raise InvalidArgument(f"{mount}: not a directory")
        else:
            from mc.projects.urls import normalize

            key = normalize(project)
        return d, key, checked_members(archive, targets, self.settings.uid, self.settings.gid)

    def prune_images(self) -> builtins.list[str]:
        if not self.settings.host_access:
            raise PermissionDenied("driver images are the server's to prune")
        return self.catalog.prune()

    # -- create ------------------------------------------------------------------------------
    def create(self, spec: SessionSpec, *, progress: Progress | None = None, warn: Warn | None = None) -> Session:
        """Resolve the driver, plan the session (every check), and launch it."""
        from mc.engine.launch import launch

        plan, driver = self._plan(spec, warn=warn)
        with self._room(plan.container):
            launch(self.docker, plan, gid=self.settings.gid,
                   ensure_image=lambda: self.catalog.build(driver, progress=progress),
                   helper_image=lambda name, build: self._helper_image(name, progress, build), warn=warn)
        row = {"container": plan.container, "state": "running", "status": "Up", "ports": "",
               **{k: plan.labels.get(v, "") for k, v in LABEL_FIELDS.items()}}
        session = session_from_row(row)
        if plan.ports or (plan.egress and plan.egress.ports):  # docker chose the host ports: ask for them
            session = self.get(session.id)
        return session

    def run_once(self, spec: SessionSpec, command: str, *, progress: Progress | None = None,
                 warn: Warn | None = None) -> ExecResult:
        """A session for one shell command, its output on this terminal: the container runs the
        command after its init and is removed when it ends (docker run's own composition: one
        docker call, however the caller goes away). A failed init is an error with its reason."""
        from dataclasses import replace

        from mc.engine.launch import run_attached

        plan, driver = self._plan(replace(spec, remove_on_exit=True), once=command, warn=warn)
        trace = self.trace(Session(id=plan.session_id, name=plan.labels.get(labels.NAME, ""), driver=driver.name,
                                   status="running", project=plan.labels.get(labels.PROJECT, ""),
                                   owner=plan.owner), [command], send_now=True, kind="run")
        try:
            with self._room(plan.container):
                result = run_attached(self.docker, plan, gid=self.settings.gid,
                                      ensure_image=lambda: self.catalog.build(driver, progress=progress),
                                      helper_image=lambda name, build: self._helper_image(name, progress, build),
                                      tee=trace.tail.add if trace else None, warn=warn)
            if result.marked:
                raise McError(f"session {plan.session_id} failed to start: {result.marked[-1]}")
        except McError as exc:
            if trace:
                trace.end(None, error=str(exc))
            raise
        if trace:
            trace.end(result.code)
        return ExecResult(result.code)

    def _plan(self, spec: SessionSpec, once: str = "", warn: Warn | None = None) -> tuple[SessionPlan, Driver]:
        """Resolve what the plan needs from outside (driver, mount, project, default volumes), plan,
        check the extra networks exist, and pass the plan's warnings on."""
        import os
        import secrets
        from datetime import UTC, datetime

        from mc.engine.networks import check_networks
        from mc.engine.plan import plan_session

        settings = self.settings
        driver = self.catalog.resolve(spec.driver or settings.default_driver)
        mount = ""
        if spec.mount and settings.host_access:
            mount = os.path.abspath(os.path.expanduser(spec.mount))
            if not os.path.isdir(mount):
                raise InvalidArgument(f"{spec.mount}: not a directory")
        project = None
        if spec.project:
            from mc.projects.store import ProjectAccess

            project = self.projects.access(self.scope.owner, spec.project) or ProjectAccess.public(spec.project)
        defaults = tuple(checks.parse_volume(v) for v in settings.default_volumes) if settings.host_access else ()
        mcps, notes = self._mcps(spec, driver)
        plan = plan_session(
            spec, driver, self.catalog.image(driver), settings, self.scope,
            session_id=secrets.token_hex(4), created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            version=__version__, project=project, mount=mount, default_volumes=defaults,
            persist_root=settings.data_root or _data_dir(), once=once, mcps=mcps, salt=secrets.token_bytes(16),
        )
        check_networks(self.docker, (*plan.extra_networks, *(plan.egress.networks if plan.egress else ())))
        if plan.storage and (why := self._storage_unsupported()):
            raise InvalidArgument(f"--storage: this engine cannot limit a session's storage ({why}); that needs "
                                  "overlay2 on xfs with pquota, btrfs, zfs or devicemapper")
        if warn is not None:
            for warning in (*notes, *plan.warnings):
                warn(warning)
        return plan, driver

    def _storage_unsupported(self) -> str:
        """"" when the engine can limit a container's storage (--storage-opt size), else what it runs on."""
        if self._storage_why is None:
            import json

            out = self.docker.text("info", "--format", "{{.Driver}}|{{json .DriverStatus}}", timeout=30)
            driver, _, status = out.strip().partition("|")
            try:
                facts = {str(k): str(v) for k, v in json.loads(status or "[]") or []}
            except ValueError:
                facts = {}
            backing = facts.get("Backing Filesystem", "")
            able = driver in ("btrfs", "zfs", "devicemapper") or (driver.startswith("overlay") and backing == "xfs")
            self._storage_why = "" if able else f"storage driver {driver}" + (f" on {backing}" if backing else "")
        return self._storage_why

    def _helper_image(self, name: str, progress: Progress | None, build: bool = True) -> str:
        """One of mc's own images (drivers/_images/NAME, tagged mc-NAME:HASH), built on first use;
        without ``build`` only its tag (whoever runs it builds it when docker says it is missing)."""
        from mc.drivers.build import build_helper, helper_tag
        from mc.drivers.registry import builtin_dir

        directory, repository = builtin_dir() / "_images" / name, f"mc-{name}"
        if not build:
            return helper_tag(directory, repository, self.catalog.extra_ca_paths())
        return build_helper(self.docker, directory, repository, self.catalog.extra_ca_paths(), progress=progress)

    def _mcps(self, spec: SessionSpec, driver: Driver) -> tuple[tuple[McpServer, ...], builtins.list[str]]:
        """The definitions of the session's MCP servers: every ``--mcp`` must exist; a default that
        does not, or that the driver cannot take, is a warning (a default is a preference)."""
        from mc.mcp.servers import MAX_PER_SESSION, check_name

        names = list(dict.fromkeys(spec.mcps))
        defaults = [n for n in dict.fromkeys(spec.default_mcps) if n not in names]
        if len(names) + len(defaults) > MAX_PER_SESSION:
            raise InvalidArgument(f"--mcp: at most {MAX_PER_SESSION} MCP servers in a session")
        for name in (*names, *defaults):
            check_name(name)
        notes: builtins.list[str] = []
        if defaults and not driver.manifest.mcp:
            notes.append(f"defaults.mcps not attached: driver {driver.name} does not take MCP servers")
            defaults = []
        if not names and not defaults:
            return (), notes
        if names and not driver.manifest.mcp:
            raise InvalidArgument(f"driver {driver.name} does not take MCP servers (--mcp {names[0]})")
        store = self.mcps.for_owner(self.scope.owner)
        servers = [store.get(n) for n in names]
        for name in defaults:
            try:
                servers.append(store.get(name))
            except NotFound:
                notes.append(f"defaults.mcps names '{name}', which is not an MCP server of yours (mc mcp list)")
        return tuple(servers), notes

    @contextlib.contextmanager
    def _room(self, container: str, owner: str = "") -> Iterator[None]:
        """Room for a new session of this owner's, within the owner's cap. The check and the
        reservation are one step under the owner's lock, so the cap holds against parallel calls;
        the launch itself runs outside it, so one owner's creates still run side by side."""
        owners = (owner,) if owner else self.scope.owners
        owner = owner or self.scope.owner
        with self._owner_lock(owner):
            making = self._making.setdefault(owner, set())
            cap = self.settings.max_sessions_per_owner
            if cap:
                live = self._counted(owners, making, cap) | making
                if len(live) >= cap:
                    raise PermissionDenied(f"you have {len(live)} sessions running, the most this server allows; "
                                           "close one first")
            making.add(container)
        try:
            yield
        finally:
            with self._owner_lock(owner):
                making.discard(container)

    def _counted(self, owners: tuple[str, ...] | None, making: set[str], cap: int) -> set[str]:
        """The container names of ``owners``' sessions that count against the cap (those that run
        or are about to)."""
        return {f"{labels.CONTAINER_PREFIX}{s.id}" for s in self._ps(owners)
                if s.status in ("running", "created", "restarting")}

    def prune_owner_network(self, owner: str) -> None:
        """Remove the network mc made for ``owner``'s sessions (mcd) when no session uses it and
        none is being made (it is made again on demand)."""
        with self._owner_lock(owner):
            # a stopped session keeps its network: docker would not start it again without
            if not self._making.get(owner) and not self._ps((owner,)):
                from mc.engine.networks import prune_owner_network

                prune_owner_network(self.docker, owner)

    def _owner_lock(self, owner: str) -> threading.Lock:
        with self._locks_lock:
            return self._owner_locks.setdefault(owner, threading.Lock())

    # -- close -------------------------------------------------------------------------------
    def close(self, refs: builtins.list[str], *, kill: bool = False) -> builtins.list[Session]:
        chosen = self._chosen(refs, "close, or --all")
        self.remove(chosen, kill=kill)
        return chosen

    def _chosen(self, refs: builtins.list[str], verb: str) -> builtins.list[Session]:
        if not refs:
            raise InvalidArgument(f"give session ids to {verb}")
        if len(refs) > MAX_REFS:
            raise InvalidArgument(f"at most {MAX_REFS} sessions at once")
        sessions = self._ps(self.scope.listing_owners())
        chosen = {s.id: s for s in (resolve_ref(sessions, ref, self.scope) for ref in dict.fromkeys(refs))}
        return builtins.list(chosen.values())

    # -- stop / start ----------------------------------------------------------------------------
    def stop(self, refs: builtins.list[str]) -> builtins.list[Session]:
        """Stop sessions and keep them (their filesystem, mounts, networks): see mc.engine.lifecycle."""
        from mc.engine import lifecycle

        chosen = self._chosen(refs, "stop")
        for session in chosen:
            lifecycle.check_stoppable(session)
        lifecycle.stop(self.docker, chosen)
        return self._refreshed(chosen)

    def start(self, refs: builtins.list[str]) -> builtins.list[Session]:
        """Start stopped sessions again (within the owner's cap); their init runs again (wait_ready)."""
        from mc.engine import lifecycle

        chosen = self._chosen(refs, "start")
        for session in chosen:
            lifecycle.check_startable(session)
        for session in chosen:
            with self._room(session.container, session.owner):
                lifecycle.start(self.docker, session, self.settings)
        return self._refreshed(chosen)

    def extend(self, ref: str, seconds: int) -> Session:
        """Move a session's deadline ``seconds`` later (from now when it has passed), within the
        configured maximum lifetime counted from its creation."""
        from mc.engine import lifecycle

        seconds = checks.check_duration(seconds, "extend")
        session = self.get(ref)
        lifecycle.extend(self.docker, session, seconds, self.settings.max_lifetime, self._state_dir())
        return self.get(session.id)

    def _state_dir(self) -> Path:
        return self.settings.state_dir or self.settings.data_root or _data_dir()

    def _refreshed(self, sessions: builtins.list[Session]) -> builtins.list[Session]:
        ids = {s.id for s in sessions}
        return [s for s in self._ps(self.scope.listing_owners()) if s.id in ids]

    def close_all(self, *, kill: bool = False) -> builtins.list[Session]:
        sessions = self._ps(self.scope.own_owners())
        self.remove(sessions, kill=kill)
        return sessions

    def remove(self, sessions: builtins.list[Session], *, kill: bool = False) -> None:
        """Stop (unless ``kill``) and remove these sessions' containers."""
        if not sessions:
            return
        names = [s.container for s in sessions]
        running = [s.container for s in sessions if s.status in ("running", "restarting", "paused")]
        if running and not kill:
            self.docker.run("stop", "-t", "5", *running, check=False, timeout=60)
        proc = self.docker.run("rm", "-f", "-v", *names, check=False, timeout=60)  # -v: its secrets' volume
        beside = [s.id for s in sessions if s.mcps or s.egress is not None]
        if beside:
            self.remove_sidecars(beside)
        lived = [s.id for s in sessions if s.deadline]
        if lived:
            from mc.engine.lifecycle import forget_deadlines

            forget_deadlines(self._state_dir(), lived)
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace")
            real = [ln for ln in err.splitlines() if ln.strip() and "No such container" not in ln
                    and "already in progress" not in ln]
            if real:
                raise DockerError(self.docker.argv("rm", "-f", "-v", *names), proc.returncode, "\n".join(real))

    # -- logs / events ---------------------------------------------------------------------------
    def logs(self, ref: str, *, follow: bool = False, tail: int | None = None, since: str = "",
             timestamps: bool = False, egress: bool = False) -> Stream:
        session = self.get(ref)
        container = session.container
        if egress:
            if session.egress is None:
                raise InvalidArgument(f"session {session.id} has no egress policy (see --allow-domain)")
            container = f"{session.container}-egress"  # its proxy writes a line per refusal, nothing else
        args = ["logs"]
        if follow:
            args.append("--follow")
        if tail is not None:
            if not 0 <= tail <= 10_000_000:
                raise InvalidArgument("--tail: expected a number of lines")
            args += ["--tail", str(tail)]
        if since:
            args += ["--since", checks.check_timestamp(since)]
        if timestamps:
            args.append("--timestamps")
        args.append(container)
        return self.engine_of(session).stream(*args)

    def events(self, since: str = "") -> EventStream:
        """Changes of mc containers as they happen (``create``, ``die``, ``destroy``, ...), until the
        engine goes away or the stream is closed."""
        args = ["events", "--filter", "type=container", "--filter", f"label={labels.SESSION}", *self._instance_filter(),
                "--format", "{{json .}}"]
        if since:
            args += ["--since", since]
        return EventStream(self.docker.popen(*args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                             stdin=subprocess.DEVNULL))

    # -- exec / connect / run ---------------------------------------------------------------------
    def engine_of(self, session: Session) -> Docker:
        """The engine that runs the session's container (one here; a node's on a cluster)."""
        return self.docker

    def _assumed(self, ref: str) -> Session | None:
        """Local mode, a full id: the session's container is known without listing (docker says
        when it is not so, and only then is the session looked up for the right error)."""
        if self.scope.multi_user or len(ref) != 8 or any(c not in "0123456789abcdef" for c in ref):
            return None
        return Session(id=ref, name=ref, driver="", status="running", container=f"{labels.CONTAINER_PREFIX}{ref}",
                       user=f"{self.settings.uid}:{self.settings.gid}")

    def trace(self, session: Session | Callable[[], Session], command: builtins.list[str] | None, *,
              send_now: bool, kind: str = "") -> Trace | None:
        """A Langfuse trace of a connect (no command), run (``bash -lc LINE``) or exec, when a project
        is configured (else None). ``send_now``: local mode, where the process ends with the command."""
        if self.settings.langfuse is None:
            return None
        from mc.engine.traces import Trace

        command = command or []
        kind = kind or ("connect" if not command else "run" if command[:2] == ["bash", "-lc"] else "exec")
        return Trace(self.settings.langfuse, session if callable(session) else (lambda: session), kind,
                     command, send_now=send_now)

    def _attached(self, ref: str, command: builtins.list[str] | None, *, tty: bool, interactive: bool,
                  terminal: TerminalFacts | None) -> ExecResult:
        """Run a command in the session on this terminal (local mode's attach is docker's own)."""
        trace = self.trace(lambda: self.get(ref), command, send_now=True)
        if trace is None:
            return self._attached_now(ref, command, tty=tty, interactive=interactive, terminal=terminal)
        try:
            result = self._attached_now(ref, command, tty=tty, interactive=interactive, terminal=terminal,
                                        tee=None if tty else trace.tail.add)
        except McError as exc:
            trace.end(None, error=str(exc))
            raise
        trace.end(result.code, detached=result.detached)
        return result

    def _attached_now(self, ref: str, command: builtins.list[str] | None, *, tty: bool, interactive: bool,
                      terminal: TerminalFacts | None, tee: Callable[[bytes], None] | None = None) -> ExecResult:
        stdin = None if interactive or tty else subprocess.DEVNULL
        session = self._assumed(ref) if command else None
        if session is not None:
            argv = exec_argv(session, command or [], tty=tty, interactive=interactive, terminal=terminal)
            result = self.docker.attached(*argv, stdin=stdin, tee=tee)
            if not result.docker_error:
                return self._ended(session, result.code, result.detached)
        session = self.get(ref)
        if session.status == "failed":
            raise McError(failure_reason(self.engine_of(session), session) or not_running(session))
        _check_running(session)
        argv = exec_argv(session, command or session.connect or ["bash", "-l"], tty=tty, interactive=interactive,
                         terminal=terminal)
        result = self.engine_of(session).attached(*argv, stdin=stdin, tee=tee)
        if result.docker_error:
            raise DockerError(argv, result.code, result.docker_error)
        return self._ended(session, result.code, result.detached)

    def _ended(self, session: Session, rc: int, detached: bool) -> ExecResult:
        reason = None if detached else self.failed_start(session, rc)
        if reason:
            raise McError(reason)
        return ExecResult(0 if detached else rc, detached)

    def failed_start(self, session: Session, code: int) -> str | None:
        """Why the session failed to start when a command in it ended with ``code`` (mc-exec's 97, or
        docker's own 126 or a signal's 128+n for a container that ended under it); None when it did not."""
        if code not in (contract.FAILED_EXIT, 126) and code <= 128:
            return None
        return failure_reason(self.engine_of(session), session, code)

    def exec(self, ref: str, command: builtins.list[str], *, tty: bool, interactive: bool,
             terminal: TerminalFacts | None = None, end_session: bool = False) -> ExecResult:
        checks.check_command(command)
        try:
            return self._attached(ref, command, tty=tty, interactive=interactive, terminal=terminal)
        finally:
            if end_session:
                assumed = self._assumed(ref)
                if assumed is not None:  # a full id: no need to look it up to remove it
                    self.remove([assumed], kill=True)
                else:
                    self.close([ref], kill=True)

    def connect(self, ref: str, *, tty: bool, terminal: TerminalFacts | None = None, resume: str = "") -> ExecResult:
        """A shell on this terminal: resumable (a holder process keeps it, see mc.engine.shellhost)
        when there is a terminal, a screen to drive it and a grace period; else docker's own attach."""
        if not (tty and self.screen and self.settings.shell_grace):
            if resume:
                raise NotFound(f"no shell {resume} to resume: this connect has no terminal, or "
                               "sessions.shell_grace is 0")
            return self._attached(ref, None, tty=tty, interactive=True, terminal=terminal)
        screen = self.screen
        trace = self.trace(lambda: self.get(ref), None, send_now=True)
        try:
            session = self._connectable(ref)
            size = (terminal.rows, terminal.cols) if terminal and terminal.rows and terminal.cols else None
            if resume:
                from mc.engine.shellhost import dial

                result = screen(dial(self.scope.owner, session.id, resume), size=size, resume=True)
            else:
                result = screen(self._new_shell(session, terminal, size), size=size, resume=False)
            result = self._ended(session, result.code, result.detached)
        except McError as exc:
            if trace is not None:
                trace.end(None, error=str(exc))
            raise
        if trace is not None:
            trace.end(result.code, detached=result.detached)
        return result

    def _connectable(self, ref: str) -> Session:
        session = self.get(ref)
        if session.status == "failed":
            raise McError(failure_reason(self.engine_of(session), session) or not_running(session))
        _check_running(session)
        return session

    def _new_shell(self, session: Session, terminal: TerminalFacts | None, size: tuple[int, int] | None
                   ) -> socket.socket:
        """Start a holder process running the session's connect command; a connection to it."""
        import os
        import sys

        from mc.engine.attach import new_exec_id
        from mc.engine.shellhost import spawn

        exec_id = new_exec_id()
        argv = exec_argv(session, session.connect or ["bash", "-l"], tty=True, interactive=True,
                         terminal=TerminalFacts((terminal.term if terminal else "") or "xterm-256color",
                                                *(size or (0, 0))), env={"MC_EXEC_ID": exec_id})
        if getattr(sys, "frozen", False):  # the single file, not the copy it unpacked
            me = [os.path.abspath(os.environ.get("MC_SELF") or sys.executable)]
        else:
            me = [sys.executable, "-m", "mc"]
        host = (self.docker.env or {}).get("DOCKER_HOST", "")
        sock, _ = spawn(me, self.docker.binary, host, self.scope.owner, session, argv, exec_id, size,
                        self.settings.shell_grace)
        return sock

    def shells(self, ref: str) -> builtins.list[ShellInfo]:
        session = self.get(ref)
        if not self.screen:
            return []
        from mc.engine.shellhost import listing

        return listing(self.scope.owner, session.id)

    def run(self, ref: str, command: str, *, end_session: bool = False) -> ExecResult:
        return self.exec(ref, ["bash", "-lc", command], tty=False, interactive=False, end_session=end_session)

    def wait_ready(self, ref: str, *, on_start: Callable[[subprocess.Popen[bytes]], object] | None = None) -> Session:
        """Block until mc-init.sh has finished; a failed init raises with its reason. ``on_start``
        gets the waiting process (mcd kills it when its caller goes away)."""
        assumed = self._assumed(ref)
        session = assumed or self.get(ref)
        argv = exec_argv(session, ["true"], tty=False, interactive=False)
        proc = self.engine_of(session).popen(*argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.PIPE)
        if on_start is not None:
            on_start(proc)
        try:
            _, err = proc.communicate(timeout=READY_TIMEOUT + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if proc.returncode != 0 and assumed is not None and b"Error response from daemon" in err:
            session = self.get(ref)  # not the running session assumed: what is it?
            if session.status not in ("running", "failed"):
                raise Conflict(not_running(session))
        if proc.returncode != 0:
            reason = failure_reason(self.engine_of(session), session, proc.returncode)
            raise McError(reason or f"session {session.id} failed to start: its init did not finish "
                                    f"(mc session logs {session.id})")
        return session

    def open_port(self, ref: str, port: int) -> Tunnel:
        """One connection to a port of a running session (see mc.engine.forward)."""
        from mc.engine.forward import ExecTunnel, check_port

        check_port(port)
        session = self.get(ref)
        _check_running(session)
        return ExecTunnel(self.engine_of(session), session, port)

    def open_attach(self, ref: str, command: builtins.list[str], *, tty: bool, interactive: bool,
                    size: tuple[int, int] | None = None, term: str = "") -> AttachProcess:
        """Start a command for a program to drive (mcd's Attach): see mc.engine.attach."""
        from mc.engine.attach import AttachProcess, clamp_size, new_exec_id

        checks.check_command(command)
        session = self.get(ref)
        _check_running(session)
        exec_id = new_exec_id()
        rows, cols = clamp_size(*size) if tty and size else (0, 0)
        argv = exec_argv(session, command or session.connect or ["bash", "-l"], tty=tty, interactive=interactive or tty,
                         terminal=TerminalFacts(term or "xterm-256color", rows, cols), env={"MC_EXEC_ID": exec_id})
        return AttachProcess(self.engine_of(session), session, argv, tty, exec_id, (rows, cols) if rows else None)

    # -- projects ----------------------------------------------------------------------------
    def project_add(self, url: str, *, ssh_key: bytes | None = None, token: str | None = None, name: str = "",
                    username: str = "", replace: bool = False) -> ProjectInfo:
        store = self.projects.for_owner(self.scope.owner)
        return info(store.add(url, ssh_key=ssh_key, token=token, name=name, username=username,
                              owner=self.scope.owner, replace=replace))

    def project_list(self) -> builtins.list[ProjectInfo]:
        store = self.projects.for_owner(self.scope.owner)
        return [info(p) for p in store.projects(owner=self.scope.project_owner())]

    def project_get(self, url: str) -> ProjectInfo:
        project = self.projects.for_owner(self.scope.owner).get(url)
        if self.scope.project_owner() not in (None, project.owner):
            raise NotFound(f"no project '{project.id}' (see mc project list)")
        return info(project)

    def project_remove(self, url: str) -> ProjectInfo:
        store = self.projects.for_owner(self.scope.owner)
        return info(store.remove(url, owner=self.scope.project_owner()))

    # -- MCP servers -------------------------------------------------------------------------
    def remove_sidecars(self, session_ids: builtins.list[str]) -> None:
        """Remove the containers beside these sessions (MCP servers, egress proxies)."""
        from mc.engine import sidecars

        sidecars.remove(self.docker, session_ids)

    def prune_sidecars(self, live: builtins.list[Session]) -> builtins.list[str]:
        """Remove MCP server containers whose session is gone; the sessions they served."""
        from mc.engine import sidecars

        # copies (each one C call under the GIL): the sets change under their owners' locks
        making = {c.removeprefix(labels.CONTAINER_PREFIX) for names in list(self._making.values())
                  for c in names.copy()}
        return sidecars.remove_orphans(self.docker, {s.id for s in live} | making, self.settings.instance)

    def mcp_add(self, server: McpServer, *, replace: bool = False) -> McpServer:
        from dataclasses import replace as with_owner

        from mc.mcp.servers import check_server

        checks.check_mcp_image(check_server(server).image, self.settings)
        stored = self.mcps.for_owner(self.scope.owner).add(with_owner(server, owner=self.scope.owner), replace=replace)
        return stored.masked()

    def mcp_list(self) -> builtins.list[McpServer]:
        return [s.masked() for s in self.mcps.for_owner(self.scope.owner).servers()]

    def mcp_get(self, name: str) -> McpServer:
        return self.mcps.for_owner(self.scope.owner).get(name).masked()

    def mcp_remove(self, name: str) -> McpServer:
        return self.mcps.for_owner(self.scope.owner).remove(name).masked()


class EventStream:
    """``docker events`` of mc containers as SessionEvents; ``close()`` (from any thread) ends it."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    def __iter__(self) -> Iterator[SessionEvent]:
        import json

        assert self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                try:
                    found = self.session_event(json.loads(line))
                except ValueError:
                    continue
                if found is not None:
                    yield found
        finally:
            self.close()

    def session_event(self, event: dict[str, Any]) -> SessionEvent | None:
        """A container's event as its session's (None: not a session's)."""
        attrs = (event.get("Actor") or {}).get("Attributes") or {}
        sid = attrs.get(labels.SESSION)
        if not sid:
            return None
        code = attrs.get("exitCode")
        return SessionEvent(str(event.get("Action") or event.get("status") or ""), sid, attrs.get(labels.OWNER, ""),
                            int(event.get("timeNano") or 0),
                            int(code) if isinstance(code, str) and code.isdigit() else None)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def _check_running(session: Session) -> None:
    """A command goes into a running session only (a stopped one says how to start it)."""
    if session.status in ("stopped", "exited", "created", "dead"):
        hint = f": mc session start {session.id}" if session.status == "stopped" else ""
        raise Conflict(not_running(session) + hint)


def _data_dir() -> Path:
    from mc.config.paths import data_dir

    return data_dir()


_: type[Backend] = LocalBackend  # mypy checks the engine against the protocol
