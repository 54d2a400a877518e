"""LocalBackend: the session engine over the docker CLI. Docker labels are its only state."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mc import __version__, contract
from mc.docker import Docker, DockerError
from mc.docker.runner import Stream
from mc.engine import labels as L
from mc.engine.models import DriverInfo, Port, Session, SessionSpec
from mc.engine.persist import project_config_dir
from mc.errors import Conflict, InvalidArgument, McError, NotFound, PermissionDenied
from mc.term.size import terminal_size

if TYPE_CHECKING:
    from mc.config.store import Config
    from mc.drivers.registry import Driver
    from mc.engine.attach import AttachProcess

FAILED_EXIT = contract.FAILED_EXIT
SESSION_CAPS = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "KILL", "NET_BIND_SERVICE"]
SSH_CAPS = ["SYS_CHROOT", "AUDIT_WRITE"]
_PORT_RE = re.compile(r"([0-9.]+|\[[0-9a-f:]*\]|::):(\d+)->(\d+)/tcp")
_EXIT_RE = re.compile(r"Exited \((-?\d+)\)")

# One docker call lists sessions: each line a JSON object with exactly what we need.
_LABEL_FIELDS = {
    "id": L.SESSION, "name": L.NAME, "driver": L.DRIVER, "project": L.PROJECT, "mount": L.MOUNT,
    "created": L.CREATED, "owner": L.OWNER, "user": L.USER, "connect": L.CONNECT, "ssh": L.SSH,
}
LIST_FORMAT = (
    '{"container":{{json .Names}},"state":{{json .State}},"status":{{json .Status}},"ports":{{json .Ports}}'
    + "".join(f',"{k}":{{{{json (.Label "{v}")}}}}' for k, v in _LABEL_FIELDS.items())
    + "}"
)


@dataclass
class Credentials:
    """Project credentials as files for /run/mc/secrets (never env values or argv)."""

    files: dict[str, bytes] = field(default_factory=dict)  # name under /run/mc/secrets -> content
    env: dict[str, str] = field(default_factory=dict)  # plain variables naming those files


def default_owner() -> str:
    """Who owns the sessions this process creates locally: MC_OWNER, else the login name."""
    if os.environ.get("MC_OWNER"):
        return os.environ["MC_OWNER"]
    try:
        import pwd

        return os.environ.get("USER") or pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def session_from_row(row: dict[str, Any]) -> Session:
    state = row.get("state", "")
    exit_code = None
    status = state
    if state == "exited":
        m = _EXIT_RE.search(row.get("status", ""))
        exit_code = int(m.group(1)) if m else None
        status = "failed" if exit_code == FAILED_EXIT else ("stopped" if exit_code in (0, 143) else "exited")
    ports = [Port(int(c), h.strip("[]"), int(p)) for h, p, c in _PORT_RE.findall(row.get("ports", ""))]
    import json

    try:
        connect = json.loads(row.get("connect") or "[]")
    except ValueError:
        connect = []
    return Session(
        id=row.get("id", ""),
        name=row.get("name", ""),
        driver=row.get("driver", ""),
        status=status,
        project=row.get("project", ""),
        mount=row.get("mount", ""),
        created=row.get("created", ""),
        exit_code=exit_code,
        ports=sorted(set(ports), key=lambda p: (p.container_port, p.host_ip)),
        container=row.get("container", ""),
        owner=row.get("owner", ""),
        user=row.get("user", ""),
        ssh=row.get("ssh") == "1",
        connect=connect,
    )


class LocalBackend:
    """Sessions as labelled containers on one Docker engine."""

    def __init__(
        self,
        docker: Docker,
        *,
        network: str = "mc-network",
        default_networks: list[str] | None = None,
        default_volumes: list[str] | None = None,
        default_ports: list[int] | None = None,
        service_env: dict[str, str] | None = None,
        extra_ca: list[str] | None = None,
        uid: int | None = None,
        gid: int | None = None,
        owner: str = "",
        data_root: Path | None = None,
        cpus: str = "",
        memory: str = "",
        pids_limit: int = 4096,
        allow_host_paths: bool = True,
        ssh_scan: list[str] | None = None,
        projects: Any = None,
        projects_for: Any = None,
        multi_user: bool = False,
        admin: bool = False,
        driver_dirs: dict[str, str] | None = None,
    ) -> None:
        self.docker = docker
        self.network = network
        self.default_networks = default_networks or []
        self.default_volumes = default_volumes or []
        self.default_ports = default_ports or []
        self.service_env = service_env or {}
        self.extra_ca = extra_ca or []
        self.uid = os.getuid() if uid is None else uid
        self.gid = os.getgid() if gid is None else gid
        self.owner = owner
        self.data_root = data_root
        self.cpus, self.memory, self.pids_limit = cpus, memory, pids_limit
        self.allow_host_paths = allow_host_paths
        self.ssh_scan = ssh_scan or []
        self.projects = projects  # a ProjectStore (or None): credentials for project sessions
        self.projects_for = projects_for  # mcd: owner -> that user's project store
        self.multi_user = multi_user  # mcd: several users share the engine
        self.admin = admin  # mcd: this user may see every session
        self.driver_dirs = driver_dirs or {}  # extra drivers by name (mcd's configuration)

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> LocalBackend:
        from mc.cli import context
        from mc.config.envmap import SERVICE_ENV

        service_env = {env: config.get(key) for key, env in SERVICE_ENV.items() if config.get(key)}
        kwargs: dict[str, Any] = dict(
            network=config.get("docker.network") or "mc-network",
            default_networks=config.get("defaults.networks"),
            default_volumes=config.get("defaults.volumes"),
            default_ports=config.get("defaults.ports"),
            service_env=service_env,
            extra_ca=config.get("docker.extra_ca_certs"),
            owner=default_owner(),
            cpus=config.get("defaults.cpus"),
            memory=config.get("defaults.memory"),
            pids_limit=config.get("defaults.pids_limit"),
            projects=_LazyProjects(),
        )
        kwargs.update(overrides)
        return cls(Docker(config.get("docker.socket"), debug=context.debug), **kwargs)

    # -- scoping (mcd) ------------------------------------------------------------------------
    def scoped(self, owner: str, admin: bool = False) -> LocalBackend:
        """The same engine acting for one user of mcd: their sessions and projects only."""
        import copy

        clone = copy.copy(self)
        clone.owner = owner
        clone.admin = admin
        clone.multi_user = True
        if self.projects_for is not None:
            clone.projects = self.projects_for(owner)
        return clone

    def _sees_all(self) -> bool:
        return self.admin

    # -- listing -----------------------------------------------------------------------------
    def _ps(self, owner: str | None) -> list[Session]:
        args = ["ps", "-a", "--no-trunc", "--filter", f"label={L.SESSION}"]
        if owner:
            args += ["--filter", f"label={L.OWNER}={owner}"]
        args += ["--format", LIST_FORMAT]
        sessions = [session_from_row(r) for r in self.docker.json_lines(*args, timeout=30)]
        sessions.sort(key=lambda s: s.created)
        return sessions

    def list(self) -> list[Session]:
        return self._ps(None if self._sees_all() else self.owner)

    def get(self, ref: str) -> Session:
        return self._pick(self._candidates(), ref)

    def _candidates(self) -> list[Session]:
        """Sessions a reference may name: with several users, exact ids of others too (to refuse them)."""
        return self._ps(None) if self.multi_user and not self._sees_all() else self.list()

    def _pick(self, sessions: list[Session], ref: str) -> Session:
        if not ref:
            raise InvalidArgument("a session id is required")
        exact = [s for s in sessions if ref in (s.id, s.container) or (ref == s.name and self._mine(s))]
        if len(exact) == 1:
            found = exact[0]
            if not self._mine(found):
                raise PermissionDenied(f"session {found.id} belongs to another user")
            return found
        prefix = [s for s in sessions if s.id.startswith(ref) and self._mine(s)]
        if len(prefix) == 1 and not exact:
            return prefix[0]
        if prefix or exact:
            ids = ", ".join(s.id for s in (exact or prefix))
            raise Conflict(f"'{ref}' matches several sessions ({ids}); give more of the id")
        raise NotFound(f"no session '{ref}' (see mc session list)")

    def _mine(self, session: Session) -> bool:
        return self._sees_all() or not self.multi_user or session.owner == self.owner

    # -- drivers -----------------------------------------------------------------------------
    def _driver(self, ref: str) -> Driver:
        from mc.drivers import registry

        if ref in self.driver_dirs:
            driver = registry.resolve(os.path.abspath(self.driver_dirs[ref]))
            driver.name, driver.source = ref, "user"
            return driver
        if not self.allow_host_paths and ("/" in ref or ref.startswith((".", "~"))):
            raise InvalidArgument(f"driver '{ref}': a remote session takes a driver name, not a path")
        return registry.resolve(ref)

    def _extra_ca(self) -> list[Path]:
        from mc.drivers.build import extra_ca_paths

        return extra_ca_paths(self.extra_ca)

    def driver_info(self, driver: Driver, built: set[str] | None = None) -> DriverInfo:
        from mc.drivers.build import image_tag

        tag = image_tag(driver, self._extra_ca())
        m = driver.manifest
        return DriverInfo(
            name=driver.name, description=m.description, version=m.version, source=driver.source,
            path=str(driver.path), image=tag, built=None if built is None else tag in built,
            environment=[
                {"name": e.name, "description": e.description, "required": e.required,
                 "default": None if e.sensitive else e.default, "sensitive": e.sensitive}
                for e in m.environment
            ],
            ports=list(m.ports),
            persistent_configs=[
                {"source": p.source, "target": p.target, "type": p.type, "description": p.description}
                for p in m.persistent_configs
            ],
        )

    def _built_tags(self) -> set[str]:
        out = self.docker.text("images", "--filter", "label=mc.driver", "--format", "{{.Repository}}:{{.Tag}}")
        return set(out.split())

    def drivers(self) -> list[DriverInfo]:
        from mc.drivers import registry

        built = self._built_tags()
        drivers = {d.name: d for d in registry.all_drivers()}
        for name in self.driver_dirs:
            drivers[name] = self._driver(name)
        return [self.driver_info(d, built) for _, d in sorted(drivers.items())]

    def driver(self, name: str) -> DriverInfo:
        return self.driver_info(self._driver(name), self._built_tags())

    def build_driver(self, name: str, *, no_cache: bool = False, quiet: bool = False) -> str:
        from mc.drivers.build import build

        return build(self.docker, self._driver(name), self._extra_ca(), no_cache=no_cache, quiet=quiet)

    def prune_images(self) -> list[str]:
        """Remove driver images that are no registered driver's current version and that no
        container uses (a changed driver leaves its previous image behind)."""
        current = {d.image for d in self.drivers()}
        removed = []
        for image in sorted(self._built_tags() - current):
            if self.docker.run("image", "rm", image, check=False).returncode == 0:
                removed.append(image)
        return removed

    def ensure_image(self, driver: Driver, quiet: bool = False) -> str:
        from mc.drivers.build import build

        return build(self.docker, driver, self._extra_ca(), quiet=quiet)

    # -- create ------------------------------------------------------------------------------
    def create(self, spec: SessionSpec, *, quiet: bool = False) -> Session:
        from mc.drivers.build import image_tag
        from mc.engine import spec as specs

        driver = self._driver(spec.driver)
        m = driver.manifest
        specs.check_name(spec.name)
        specs.check_cpus(spec.cpus or self.cpus)
        specs.check_memory(spec.memory or self.memory)
        if spec.mount and not self.allow_host_paths:
            raise InvalidArgument("a local directory cannot be mounted into a remote session; use a project URL")
        if spec.mount and spec.project:
            raise InvalidArgument("give either a directory to mount or a project URL, not both")
        volumes = list(spec.volumes)
        if self.allow_host_paths:
            volumes += [specs.parse_volume(v) for v in self.default_volumes]
        elif any(v.source.startswith("/") for v in volumes):
            raise InvalidArgument("host paths cannot be mounted into a remote session (-v); use a project URL")
        ports = sorted({specs.parse_port(p) for p in [*spec.ports, *self.default_ports]})
        mount = os.path.abspath(os.path.expanduser(spec.mount)) if spec.mount else ""
        if mount and not os.path.isdir(mount):
            raise InvalidArgument(f"{spec.mount}: not a directory")

        project_id, project_url, creds = "", "", Credentials()
        if spec.project:
            project_id, project_url, creds = self._project(spec.project)

        # environment: driver defaults < user config services < -e. What the user gives, and every
        # sensitive value, goes to the secrets file (never argv, `docker inspect` or PID 1's env);
        # the driver's plain defaults are container environment.
        specs.check_env(spec.env)
        plain: dict[str, str] = {}
        secret: dict[str, str] = {}
        for var in m.environment:
            if var.default is not None and not var.name.startswith(contract.RESERVED_PREFIX):
                (secret if var.sensitive else plain)[var.name] = var.default
        for name, value in {**self.service_env, **spec.env}.items():
            plain.pop(name, None)
            secret[name] = value
        missing = [v.name for v in m.environment if v.required and v.name not in plain and v.name not in secret
                   and not v.name.startswith(contract.RESERVED_PREFIX)]
        if missing:
            raise InvalidArgument(
                f"driver '{driver.name}' requires {', '.join(missing)}: pass -e {missing[0]}=VALUE"
            )

        networks = [n for n in dict.fromkeys([*self.default_networks, *spec.networks]) if n != self.network]
        if not self.allow_host_paths:
            refused = [n for n in networks if n in ("host", "none") or n.startswith("container:")]
            if refused:
                raise InvalidArgument(f"network '{refused[0]}' is not allowed for a remote session")
        if networks:
            self._check_networks(networks)

        import json
        import secrets
        from datetime import UTC, datetime

        session_id = secrets.token_hex(4)
        container = f"{L.CONTAINER_PREFIX}{session_id}"
        persist_key = project_id or mount
        persist_dir = persist_volume = None
        if persist_key and self.allow_host_paths:
            persist_dir = project_config_dir(persist_key, self.data_root)
        elif persist_key:
            # mcd: a named volume per user and project; works the same when mcd itself runs in a
            # container next to the engine, where its own paths mean nothing to the engine
            from mc.engine.persist import project_key_hash

            owner_and_project = (spec.owner or self.owner) + "\0" + persist_key
            persist_volume = f"mc-config-{project_key_hash(owner_and_project)}"

        tag = image_tag(driver, self._extra_ca())
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        label_values = {
            L.SESSION: session_id, L.NAME: spec.name or session_id, L.DRIVER: driver.name,
            L.PROJECT: project_id, L.MOUNT: mount, L.CREATED: created,
            L.OWNER: spec.owner or self.owner, L.USER: f"{self.uid}:{self.gid}",
            L.CONNECT: json.dumps(m.connect), L.SSH: "1" if spec.ssh else "", L.VERSION: __version__,
        }
        env = {**plain, "MC_SESSION_ID": session_id, "MC_UID": str(self.uid), "MC_GID": str(self.gid)}
        if persist_dir or persist_volume:
            env["MC_CONFIG_DIR"] = contract.CONFIG_DIR
            env["MC_DRIVER_CONFIG_DIR"] = f"{contract.CONFIG_DIR}/{driver.name}"
        if spec.project:
            from mc.projects.urls import parse as parse_url

            scheme, git_host, git_port, _ = parse_url(project_url)
            env["MC_PROJECT_URL"] = project_url
            env["MC_PROJECT_TYPE"] = "git"
            env["MC_GIT_PROTOCOL"], env["MC_GIT_HOST"], env["MC_GIT_PORT"] = scheme or "ssh", git_host, git_port
            scan = " ".join(self.ssh_scan)
            if scan:
                env["MC_SSH_SCAN"] = scan
        env.update(creds.env)
        if spec.ssh:
            if not spec.ssh_public_key:
                raise InvalidArgument("--ssh needs a public key (~/.ssh/id_ed25519.pub or id_rsa.pub)")
            env["MC_SSH"] = "1"
            env["MC_SSH_AUTHORIZED_KEY"] = spec.ssh_public_key.strip()

        caps = SESSION_CAPS + (SSH_CAPS if spec.ssh else [])
        args = ["create", "--pull=never", "--name", container, "--hostname", spec.name or container,
                "--network", self.network, "--init",
                "--mount", f"type=tmpfs,destination={contract.RUN_DIR},tmpfs-mode=0755",
                "--security-opt", "no-new-privileges", "--cap-drop", "ALL"]
        for cap in caps:
            args += ["--cap-add", cap]
        args += ["--pids-limit", str(spec.pids_limit or self.pids_limit)]
        if spec.cpus or self.cpus:
            args += ["--cpus", spec.cpus or self.cpus]
        if spec.memory or self.memory:
            args += ["--memory", spec.memory or self.memory]
        for key, value in label_values.items():
            args += ["--label", f"{key}={value}"]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        if mount:
            args += ["-v", f"{mount}:/app"]
        if persist_dir:
            args += ["-v", f"{persist_dir}:/mc-config"]
        elif persist_volume:
            args += ["--mount", f"type=volume,source={persist_volume},target=/mc-config,"
                                f"volume-label=mc.owner={spec.owner or self.owner}"]
        for vol in volumes:
            args += ["-v", str(vol)]
        for port in ports:
            args += ["-p", f"127.0.0.1::{port}"]
        if spec.ssh:
            args += ["-p", "127.0.0.1::22"]
        args.append(tag)

        secret_files = dict(creds.files)
        if secret:
            secret_files[contract.ENV_FILE] = contract.env_file(secret)

        simple = not networks and not secret_files
        if simple:  # one docker call instead of create + start
            args[0:1] = ["run", "-d"]
        made_dir = False
        if persist_dir and not persist_dir.exists():
            persist_dir.mkdir(parents=True, mode=0o700)
            made_dir = True
        try:
            try:
                self._create_container(args, driver, quiet)
                if not simple:
                    for net in networks:
                        self.docker.run("network", "connect", net, container)
                    if secret_files:
                        self.docker.run("cp", "-", f"{container}:/", input=_secrets_tar(secret_files))
                    self.docker.run("start", container)
            except BaseException:
                self.docker.run("rm", "-f", container, check=False)
                raise
        except BaseException:
            if made_dir:
                _remove_empty_tree(persist_dir, stop=3)
            raise
        row = {
            "container": container, "state": "running", "status": "Up", "ports": "",
            **{k: label_values[v] for k, v in _LABEL_FIELDS.items()},
        }
        session = session_from_row(row)
        if ports or spec.ssh:
            session = self.get(session_id)
        return session

    def _create_container(self, args: list[str], driver: Driver, quiet: bool) -> None:
        """``docker create``; on a missing image build it, on a missing mc network create it."""
        container = args[args.index("--name") + 1]
        for _ in range(3):
            try:
                self.docker.run(*args, timeout=120)
                return
            except DockerError as exc:
                if "No such image" in exc.stderr or "Unable to find image" in exc.stderr:
                    self.ensure_image(driver, quiet=quiet)
                elif exc.is_a(NotFound) and "network" in exc.stderr and self.network in exc.stderr:
                    # `docker run` may have created the container before failing to start it
                    self.docker.run("rm", "-f", container, check=False)
                    self._ensure_network(self.network)
                else:
                    raise
        self.docker.run(*args, timeout=120)

    def _ensure_network(self, name: str) -> None:
        try:
            self.docker.run("network", "create", "--label", "mc.network=1", name)
        except DockerError as exc:
            if not exc.is_a(Conflict):  # created meanwhile by a parallel mc
                raise

    def _check_networks(self, names: list[str]) -> None:
        try:
            self.docker.run("network", "inspect", "--format", "{{.Name}}", *names)
        except DockerError as exc:
            if exc.is_a(NotFound):
                out = self.docker.run("network", "ls", "--format", "{{.Name}}").stdout.decode().split()
                missing = [n for n in names if n not in out]
                raise NotFound(f"network '{(missing or names)[0]}' does not exist (docker network create it first)") \
                    from None
            raise

    def _project(self, url: str) -> tuple[str, str, Credentials]:
        """(project id, URL to clone, credentials) of a stored project or a public URL."""
        from mc.projects.urls import clone_url, normalize

        project_id = normalize(url)
        if self.projects is not None:
            found = self.projects.credentials(url)
            if found is not None:
                return project_id, found[0], found[1]
        return project_id, clone_url(url), Credentials()

    # -- projects ----------------------------------------------------------------------------
    def _store(self) -> Any:
        if self.projects is None or not hasattr(self.projects, "store"):
            raise McError("this backend has no project store")
        return self.projects.store()

    def project_add(self, url: str, *, ssh_key: bytes | None = None, token: str | None = None, name: str = "",
                    username: str = "", replace: bool = False) -> Any:
        return self._store().add(url, ssh_key=ssh_key, token=token, name=name, username=username,
                                 owner=self.owner, replace=replace)

    def project_list(self) -> list[Any]:
        return self._store().list(owner=self._project_owner())

    def project_get(self, url: str) -> Any:
        project = self._store().get(url)
        if self._project_owner() is not None and project.owner != self.owner:
            raise NotFound(f"no project '{project.id}' (see mc project list)")
        return project

    def project_remove(self, url: str) -> Any:
        return self._store().remove(url, owner=self._project_owner())

    def _project_owner(self) -> str | None:
        return self.owner if self.multi_user and not self._sees_all() else None

    # -- close -------------------------------------------------------------------------------
    def close(self, refs: list[str], *, kill: bool = False) -> list[Session]:
        if not refs:
            raise InvalidArgument("give session ids to close, or --all")
        sessions = self._candidates()
        chosen = [self._pick(sessions, ref) for ref in dict.fromkeys(refs)]
        self._remove(list({s.id: s for s in chosen}.values()), kill)
        return chosen

    def close_all(self, *, kill: bool = False) -> list[Session]:
        sessions = self.list()
        self._remove(sessions, kill)
        return sessions

    def _remove(self, sessions: list[Session], kill: bool) -> None:
        if not sessions:
            return
        names = [s.container for s in sessions]
        running = [s.container for s in sessions if s.status in ("running", "restarting", "paused")]
        if running and not kill:
            self.docker.run("stop", "-t", "5", *running, check=False, timeout=60)
        proc = self.docker.run("rm", "-f", *names, check=False, timeout=60)
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace")
            real = [ln for ln in err.splitlines() if ln.strip() and "No such container" not in ln
                    and "already in progress" not in ln]
            if real:
                raise DockerError(self.docker.argv("rm", "-f", *names), proc.returncode, "\n".join(real))

    # -- logs / exec / connect ------------------------------------------------------------------
    def logs(self, ref: str, *, follow: bool = False, tail: int | None = None) -> Stream:
        session = self.get(ref)
        args = ["logs"]
        if follow:
            args.append("--follow")
        if tail is not None:
            args += ["--tail", str(tail)]
        args.append(session.container)
        return self.docker.stream(*args)

    def exec_argv(self, session: Session, command: list[str], *, tty: bool, interactive: bool,
                  env: dict[str, str] | None = None, local_terminal: bool = True) -> list[str]:
        """The ``docker exec`` arguments running ``command`` as the session user via mc-exec."""
        if session.status != "running":
            raise Conflict(self._not_running(session))
        args = ["exec"]
        if interactive:
            args.append("-i")
        if tty:
            args.append("-t")
            args += ["-e", f"TERM={os.environ.get('TERM') or 'xterm-256color'}"]
            size = terminal_size() if local_terminal else None
            if size:
                args += ["-e", f"MC_TTY_SIZE={size[0]},{size[1]}"]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        args += ["-u", session.user or f"{self.uid}:{self.gid}", session.container, contract.EXEC, *command]
        return args

    def open_attach(self, ref: str, command: list[str], *, tty: bool, interactive: bool,
                    size: tuple[int, int] | None = None) -> AttachProcess:
        """Start a command for a program to drive (mcd's Attach): see mc.engine.attach."""
        from mc.engine import spec as specs
        from mc.engine.attach import AttachProcess, clamp_size, new_exec_id

        specs.check_command(command)
        session = self.get(ref)
        exec_id = new_exec_id()
        env = {"MC_EXEC_ID": exec_id}
        if tty and size:
            size = clamp_size(*size)
            env["MC_TTY_SIZE"] = f"{size[0]},{size[1]}"
        argv = self.exec_argv(session, command or session.connect or ["bash", "-l"], tty=tty,
                              interactive=interactive or tty, env=env, local_terminal=False)
        return AttachProcess(self.docker, session, argv, tty, exec_id, size)

    def _not_running(self, session: Session) -> str:
        if session.status == "failed":
            return f"session {session.id} failed to start; see mc session logs {session.id}"
        return f"session {session.id} is not running ({session.status})"

    def _direct(self, ref: str) -> Session | None:
        """A full session id names its container: exec without looking it up first (local mode)."""
        if self.multi_user or len(ref) != 8 or any(c not in "0123456789abcdef" for c in ref):
            return None
        return Session(id=ref, name=ref, driver="", status="running", container=f"{L.CONTAINER_PREFIX}{ref}",
                       user=f"{self.uid}:{self.gid}")

    def _exec(self, ref: str, command: list[str] | None, *, tty: bool, interactive: bool) -> int:
        """Run a command in the session on this terminal. With a full id docker is asked directly;
        only when it says no (unknown, not running) is the session looked up, for the right error."""
        session = self._direct(ref) if command else None
        if session is not None:
            argv = self.exec_argv(session, command or [], tty=tty, interactive=interactive)
            rc, detached, error = self.docker.attached(*argv, stdin=None if interactive or tty else subprocess.DEVNULL)
            if not error:
                return self._finish(session, rc, detached)
        session = self.get(ref)
        argv = self.exec_argv(session, command or session.connect or ["bash", "-l"], tty=tty, interactive=interactive)
        rc, detached, error = self.docker.attached(*argv, stdin=None if interactive or tty else subprocess.DEVNULL)
        if error:
            raise DockerError(argv, rc, error)
        return self._finish(session, rc, detached)

    def _finish(self, session: Session, rc: int, detached: bool) -> int:
        if detached:
            sys.stderr.write(f"\r\ndetached from session {session.id} (mc session connect {session.id})\n")
            return 0
        return self._after_exec(session, rc)

    def exec(self, ref: str, command: list[str], *, tty: bool, interactive: bool) -> int:
        return self._exec(ref, command, tty=tty, interactive=interactive)

    def connect(self, ref: str) -> int:
        tty = sys.stdin.isatty() and sys.stdout.isatty()
        return self._exec(ref, None, tty=tty, interactive=True)

    def run(self, ref: str, command: str) -> int:
        return self._exec(ref, ["bash", "-lc", command], tty=False, interactive=False)

    def _after_exec(self, session: Session, rc: int) -> int:
        if rc == FAILED_EXIT:
            raise McError(self._failure(session))
        return rc

    def wait_ready(self, ref: str, timeout: float = 600) -> Session:
        """Block until mc-init.sh has finished; a failed init raises with its reason."""
        session = self.get(ref)
        argv = self.exec_argv(session, ["true"], tty=False, interactive=False)
        proc = self.docker.run(*argv, check=False, timeout=timeout)
        if proc.returncode != 0:
            raise McError(self._failure(session))
        return session

    def _failure(self, session: Session) -> str:
        """Why a session failed to start, from the FAILED line mc-init.sh logged."""
        out = self.docker.run("logs", "--tail", "20", session.container, check=False)
        text = (out.stdout + out.stderr).decode(errors="replace")
        reasons = [ln.split("FAILED:", 1)[1].strip() for ln in text.splitlines() if "[mc-init] FAILED:" in ln]
        reason = reasons[-1] if reasons else "its init did not finish"
        return f"session {session.id} failed to start: {reason} (mc session logs {session.id})"


def _secrets_tar(files: dict[str, bytes]) -> bytes:
    """The secrets for ``docker cp``: into INCOMING_DIR, which mc-init moves to the /run/mc tmpfs."""
    import io
    import tarfile

    incoming = contract.INCOMING_DIR.lstrip("/")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(incoming)
        info.type = tarfile.DIRTYPE
        info.mode = 0o700
        tar.addfile(info)
        for name, content in files.items():
            info = tarfile.TarInfo(f"{incoming}/{name}")
            info.size = len(content)
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _remove_empty_tree(path: Path | None, stop: int) -> None:
    """Remove a directory we just made, and its now-empty parents (up to ``stop`` levels)."""
    if path is None:
        return
    for _ in range(stop):
        try:
            path.rmdir()
        except OSError:
            return
        path = path.parent


class _LazyProjects:
    """The local project store, opened only when a session needs a project's credentials."""

    _store: Any = None

    def store(self) -> Any:
        if self._store is None:
            from mc.projects.store import ProjectStore

            self._store = ProjectStore.default()
        return self._store

    def credentials(self, url: str) -> tuple[str, Credentials] | None:
        from mc.projects.store import ProjectStore

        if self._store is None and not ProjectStore.exists():
            return None
        return self.store().credentials(url)
