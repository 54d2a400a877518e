"""mc session: create, list, show, connect, exec, logs, stop, start, close; and the bare ``mc`` shorthand."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from cyclopts import App, Parameter

from mc.cli import context, render
from mc.cli.render import Output

if TYPE_CHECKING:
    from mc.engine.backend import Backend
    from mc.engine.models import ExecResult, Session, SessionSpec, TerminalFacts

app = App(name="session", help="Create, list, connect to, run in and close sessions.")

_SSH_KEYS = ("id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub")


def _ssh_public_key(path: str | None) -> str:
    from mc.errors import InvalidArgument

    candidates = [Path(path).expanduser()] if path else [Path.home() / ".ssh" / n for n in _SSH_KEYS]
    for candidate in candidates:
        if candidate.is_file():
            text = candidate.read_text().strip()
            if not text.startswith(("ssh-", "ecdsa-", "sk-")) or "PRIVATE KEY" in text:
                raise InvalidArgument(f"{candidate}: not an ssh public key")
            return text
    raise InvalidArgument("--ssh: no public key found (~/.ssh/id_ed25519.pub); pass --ssh-key PATH.pub")


def _create_and_attach(spec: SessionSpec, *, connect: bool, run: str | None, rm: bool, output: Output) -> int:
    """Create a session, then run a command in it or connect to it (docker run's composition).
    With --rm the session is closed when the command ends: by the engine (mcd too, even if this
    client dies meanwhile), and by this process on any earlier failure."""
    backend = context.backend()
    quiet = output == "json"
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    remote = context.remote_name()
    if remote and not quiet:
        render.say(f"mc: creating the session on {remote} (a first use builds the driver there)")
    progress = None if quiet else render.progress
    if run is not None and rm and not (connect and tty):  # a session for one command: docker run's way
        return backend.run_once(spec, run, progress=progress, warn=render.warning).code
    session = backend.create(spec, progress=progress, warn=render.warning)
    if output == "json" and not run:
        render.emit_json(session.to_dict())
    elif not quiet:
        where = f" with {session.project or session.mount}" if (session.project or session.mount) else ""
        render.say(f"session {session.id} created (driver {session.driver}){where}")
        if remote:  # its ports are on the server's loopback: reach them through mcd
            for port in sorted({p.container_port for p in session.ports}):
                how = f"{_mc()} session ssh {session.id}" if port == 22 and session.ssh else \
                    f"{_mc()} session port-forward {session.id} {port}:{port}"
                render.say(f"port {port}: {how}")
        elif session.ssh_command():
            render.say(f"ssh: {session.ssh_command()}")
    rc = 0
    ended = False
    try:  # no separate wait: the command's own exec waits for the init, and reports a failed one
        if run is not None:
            if connect and tty:
                result = backend.exec(session.id, ["bash", "-lc", run], tty=True, interactive=True,
                                      terminal=terminal_facts(), end_session=rm)
            else:
                result = backend.run(session.id, run, end_session=rm)
            ended = rm
            rc = finished(session.id, result)
        elif connect:
            if not quiet:
                render.say("connecting (detach: Ctrl-P Ctrl-Q; exit the shell to leave)")
            rc = finished(session.id, backend.connect(session.id, tty=tty, terminal=terminal_facts() if tty else None))
    finally:
        if rm and not ended:  # something failed on the way (and is being reported): clean up quietly
            from mc.errors import McError

            with contextlib.suppress(McError):
                backend.close([session.id], kill=True)
        elif connect and not quiet and run is None:
            render.say(f"session {session.id} keeps running: {_mc()} session connect {session.id} | "
                       f"{_mc()} session close {session.id}")
    return rc


def _mc() -> str:
    name = context.remote_name()
    return f"mc -r {name}" if name else "mc"


def terminal_facts() -> TerminalFacts:
    """This terminal, for a command run on it in a session (the engine never reads a terminal)."""
    from mc.engine.models import TerminalFacts
    from mc.term.size import terminal_size

    size = terminal_size() or (0, 0)
    return TerminalFacts(os.environ.get("TERM") or "xterm-256color", size[0], size[1])


def finished(session_id: str, result: ExecResult) -> int:
    """A command's exit code as mc's; after a detach, how to come back."""
    if result.detached:
        render.say(f"\r\ndetached from session {session_id} ({_mc()} session connect {session_id})")
    return result.code


def _new_spec(**kwargs: Any) -> SessionSpec:
    from mc.engine.models import SessionSpec

    return SessionSpec(**kwargs)


@app.command
def create(
    *,
    driver: Annotated[str | None, Parameter(alias="-d")] = None,
    project: Annotated[str | None, Parameter(alias="-p")] = None,
    mount: Annotated[str | None, Parameter(alias="-m")] = None,
    network: Annotated[list[str] | None, Parameter(name=["--network", "-n"], negative="")] = None,
    env: Annotated[list[str] | None, Parameter(name=["--env", "-e"], negative="")] = None,
    volume: Annotated[list[str] | None, Parameter(name=["--volume", "-v"], negative="")] = None,
    port: Annotated[list[str] | None, Parameter(negative="")] = None,
    name: str = "",
    run: str | None = None,
    connect: bool | None = None,
    rm: bool = False,
    cpus: str = "",
    memory: str = "",
    pids_limit: int = 0,
    ssh: bool = False,
    ssh_key: str | None = None,
    model: str = "",
    mcp: Annotated[list[str] | None, Parameter(negative="")] = None,
    default_mcps: Annotated[bool, Parameter(negative="--no-default-mcps")] = True,
    allow_domain: Annotated[list[str] | None, Parameter(negative="")] = None,
    egress_exact: bool = False,
    ttl: str = "",
    idle_timeout: str = "",
    storage: str = "",
    output: Annotated[Output, Parameter(alias="-o")] = "table",
) -> int:
    """Create a session from a driver and connect to it (or run a command in it).

    Parameters
    ----------
    driver
        Driver name or directory (default: defaults.driver, goose).
    project
        Git URL to clone into /app (credentials from mc project add).
    mount
        Host directory to mount at /app (local mode).
    network
        Extra Docker network to join (repeatable); it must exist.
    env
        KEY=VALUE for the session (repeatable); secret-looking names never show in docker inspect.
    volume
        SRC:DST[:ro] to mount (repeatable).
    port
        Container port to publish on 127.0.0.1 (repeatable).
    name
        A name for the session (shown in list, usable instead of the id).
    run
        Shell command to run in the session; with --no-connect its output is streamed and mc exits
        with its exit code.
    connect
        Connect after creating (default: defaults.connect).
    rm
        Close the session when the command or connection ends.
    cpus
        CPU limit, e.g. 1.5.
    memory
        Memory limit, e.g. 4g.
    pids_limit
        Maximum number of processes (default: defaults.pids_limit).
    ssh
        Run an ssh server in the session with your public key; the port is published on loopback.
    ssh_key
        Public key for --ssh (default: ~/.ssh/id_ed25519.pub, id_ecdsa.pub or id_rsa.pub).
    model
        PROVIDER/MODEL for the driver's tool, e.g. anthropic/claude-sonnet-4-5 (default:
        defaults.model, where the driver takes that provider; mc driver info lists them).
    mcp
        An MCP server to attach (repeatable; see mc mcp add), besides defaults.mcps.
    default_mcps
        Attach defaults.mcps (--no-default-mcps: only the --mcp ones).
    allow_domain
        A name the session may reach (repeatable; *.example.com for its subdomains). With one, or
        with defaults.egress, the session's only way out is a proxy that lets through these names,
        defaults.egress, what its driver needs and its MCP servers' hosts, and nothing else.
    egress_exact
        Only the --allow-domain names and the MCP servers' hosts, not defaults.egress or what the
        driver needs (none: no egress at all).
    ttl
        Its lifetime (90s, 30m, 2h, 1d): it is closed then (mc session extend ID moves it).
    storage
        The most its own files may take, e.g. 10g (where the engine can enforce it; default:
        defaults.storage).
    idle_timeout
        Stop it after this long without activity (0: never; default: sessions.idle_timeout);
        mc session start brings it back.
    output
        table (talk on stderr) or json (the session as JSON on stdout).
    """
    from mc.engine import checks

    config = context.config()
    if connect is None:
        connect = bool(config.get("defaults.connect")) and output != "json"
    remote = context.remote_name() is not None
    if remote and (mount or volume):
        from mc.errors import InvalidArgument

        raise InvalidArgument("a local directory cannot be mounted into a remote session; use --project URL")
    driver = driver or config.get("defaults.driver") or "goose"
    spec = _new_spec(
        driver=driver,
        model=model,
        default_model=config.get("defaults.model") or "",
        mcps=list(mcp or []),
        default_mcps=list(config.get("defaults.mcps") or []) if default_mcps else [],
        allow_domains=list(allow_domain or []),
        egress_exact=egress_exact,
        name=name,
        project=project or "",
        mount=mount or "",
        networks=list(network or []),
        env=checks.parse_env(list(env or [])),
        volumes=[checks.parse_volume(v) for v in (volume or [])],
        ports=[checks.parse_port(p) for p in (port or [])],
        cpus=cpus,
        memory=memory,
        pids_limit=pids_limit,
        ssh=ssh,
        ssh_public_key=_ssh_public_key(ssh_key) if ssh else "",
        remove_on_exit=rm and run is not None,
        ttl=checks.parse_duration(ttl, "--ttl") if ttl else 0,
        idle_timeout=_idle_timeout(idle_timeout, remote, config),
        storage=storage,
    )
    return _create_and_attach(spec, connect=connect, run=run, rm=rm, output=output)


def _idle_timeout(value: str, remote: bool, config: Any) -> int | None:
    """--idle-timeout, else (locally) sessions.idle_timeout; None: the engine's default (mcd's)."""
    from mc.engine import checks

    if value:
        return checks.parse_duration(value, "--idle-timeout")
    configured = "" if remote else (config.get("sessions.idle_timeout") or "")
    return checks.parse_duration(configured, "sessions.idle_timeout") if configured else None


def quick(target: str | None) -> int:
    """Bare ``mc [DIR|URL]``: a session of the default driver, connected."""
    from mc.errors import InvalidArgument
    from mc.projects.urls import looks_like_git_url

    config = context.config()
    remote = context.remote_name() is not None
    mount = project = ""
    if target is None:
        if config.get("defaults.mount_local") and not remote:
            mount = os.getcwd()
    elif os.path.isdir(target):
        if remote:
            raise InvalidArgument(
                f"'{target}' is a local directory and cannot be mounted into a remote session; "
                "give a project URL instead (mc -r NAME git@host:owner/repo.git)"
            )
        mount = os.path.abspath(target)
    elif looks_like_git_url(target):
        project = target
    else:
        raise InvalidArgument(f"'{target}' is neither a directory nor a git URL, nor an mc command (see mc --help)")
    driver = config.get("defaults.driver") or "goose"
    spec = _new_spec(driver=driver, mount=mount, project=project, default_model=config.get("defaults.model") or "",
                     default_mcps=list(config.get("defaults.mcps") or []))
    return _create_and_attach(spec, connect=True, run=None, rm=False, output="table")


@app.command(name="list")
def list_(*, output: Annotated[Output, Parameter(alias="-o")] = "table") -> None:
    """List sessions.

    Parameters
    ----------
    output
        table or json (an array of objects with stable keys).
    """
    sessions = context.backend().sessions()
    if output == "json":
        render.emit_json([s.to_dict() for s in sessions])
        return
    rows = [
        (s.id, s.name if s.name != s.id else "", s.driver, s.project or s.mount, _status(s),
         s.ssh_command() or ", ".join(str(p) for p in s.ports), s.created.replace("T", " ").rstrip("Z"))
        for s in sessions
    ]
    style = context.config().get("ui.table_format") if sessions else "plain"
    render.emit_table(rows, ["id", "name", "driver", "project", "status", "ports", "created"],
                      "grid" if style == "grid" else "plain")


def _status(session: Session) -> str:
    if session.status in ("exited",) and session.exit_code is not None:
        return f"exited ({session.exit_code})"
    if session.deadline and session.status in ("running", "stopped"):
        from mc.engine.checks import format_duration

        return f"{session.status}, {format_duration(session.deadline - int(time.time()))} left"
    return session.status


@app.command
def show(session: str, *, output: Annotated[Output, Parameter(alias="-o")] = "table") -> None:
    """Show one session.

    Parameters
    ----------
    session
        Session id, unique id prefix, or name.
    output
        table or json.
    """
    found = context.backend().get(session)
    data = found.to_dict()
    if output == "json":
        render.emit_json(data)
        return
    data["logs"] = "docker (mc session logs)" + (f" and {found.logs}" if found.logs else "")
    from mc.engine.checks import format_duration

    data["deadline"] = (f"{_when(found.deadline)} ({format_duration(found.deadline - int(time.time()))} left; "
                        f"mc session extend {found.id} DURATION)") if found.deadline else "none"
    data["idle_timeout"] = (f"stops after {format_duration(found.idle_timeout)} without activity"
                            if found.idle_timeout else "never stops by itself")
    egress = found.egress
    data["egress"] = ("direct (no policy)" if egress is None else "any public name, through its proxy" if "*" in egress
                      else ", ".join(egress) + " (through its proxy)" if egress else "none (no way out)")
    render.emit_table([(k, v) for k, v in data.items()], ["field", "value"])


@app.command
def close(
    *sessions: str,
    all_: Annotated[bool, Parameter(name=["--all", "-a"], negative="")] = False,
    kill: Annotated[bool, Parameter(negative="")] = False,
    output: Annotated[Output, Parameter(alias="-o")] = "table",
) -> None:
    """Stop and remove sessions.

    Parameters
    ----------
    sessions
        Session ids (or unique prefixes, or names).
    all_
        Close every session.
    kill
        Kill at once instead of stopping gracefully.
    output
        table or json (the ids closed).
    """
    from mc.errors import InvalidArgument

    backend = context.backend()
    if all_ and sessions:
        raise InvalidArgument("give session ids or --all, not both")
    closed = backend.close_all(kill=kill) if all_ else backend.close(list(sessions), kill=kill)
    if output == "json":
        render.emit_json([s.id for s in closed])
        return
    for s in closed:
        render.say(f"closed {s.id}")
    if all_ and not closed:
        render.say("no sessions to close")


@app.command(name="stop")
def stop_sessions(
    *sessions: str,
    output: Annotated[Output, Parameter(alias="-o")] = "table",
) -> None:
    """Stop sessions and keep them: their files, mounts and persistent config stay; start brings them back.

    Parameters
    ----------
    sessions
        Session ids (or unique prefixes, or names).
    output
        table or json (the sessions stopped).
    """
    stopped = context.backend().stop(list(sessions))
    if output == "json":
        render.emit_json([s.to_dict() for s in stopped])
        return
    for s in stopped:
        render.say(f"stopped {s.id}")


@app.command
def extend(session: str, duration: str, *, output: Annotated[Output, Parameter(alias="-o")] = "table") -> None:
    """Let a session live longer (see create --ttl).

    Parameters
    ----------
    session
        Session id (or unique prefix, or name).
    duration
        How much longer: 90s, 30m, 2h, 1d (from now when its lifetime has passed).
    output
        table or json (the session).
    """
    from mc.engine import checks

    extended = context.backend().extend(session, checks.parse_duration(duration, "extend"))
    if output == "json":
        render.emit_json(extended.to_dict())
        return
    render.say(f"session {extended.id} now lives until {_when(extended.deadline)} "
               f"({checks.format_duration(extended.deadline - int(time.time()))} from now)")


def _ssh_options(found: Session) -> tuple[list[str], str]:
    """ssh's options for a session (through ``mc session port-forward --stdio``), and its login."""
    from mc.errors import Conflict

    if not found.ssh:
        raise Conflict(f"session {found.id} runs no ssh server (create it with --ssh)")
    login = "root" if found.user.startswith("0:") else "mc"
    return ["-o", f"ProxyCommand={_mc_argv()} session port-forward {found.id} 22 --stdio",
            "-o", f"UserKnownHostsFile={_known_hosts()}", "-o", "StrictHostKeyChecking=accept-new",
            "-o", f"HostKeyAlias=mc-{found.id}"], login


def _mc_argv() -> str:
    """This mc, as a shell word list (for a ProxyCommand), with the remote it talks to."""
    import shlex

    if getattr(sys, "frozen", False):  # the single file, not the copy it unpacked (a cache may be cleared)
        exe = [os.path.abspath(os.environ.get("MC_SELF") or sys.executable)]
    else:
        exe = [sys.executable, "-m", "mc"]
    name = context.remote_name()
    return " ".join(shlex.quote(w) for w in [*exe, *(["-r", name] if name else ["-r", "local"])])


def _known_hosts() -> str:
    from mc.config.paths import data_dir

    path = data_dir() / "known_hosts"
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def _when(epoch: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


@app.command(name="port-forward")
def port_forward(
    session: str,
    ports: str,
    *,
    address: str = "127.0.0.1",
    stdio: bool = False,
) -> int:
    """Forward a local port to a port of a session (locally and through mcd), until Ctrl-C.

    Parameters
    ----------
    session
        Session id (or unique prefix, or name).
    ports
        LOCAL:REMOTE, or REMOTE for the same port here (LOCAL 0: any free port).
    address
        The local address to listen on.
    stdio
        No listener: this command's stdin and stdout are one connection (ssh's ProxyCommand).
    """
    from mc.errors import InvalidArgument
    from mc.term import forward

    local_text, _, remote_text = ports.rpartition(":")
    try:
        remote = int(remote_text)
        local = int(local_text) if local_text else remote
        if not 0 < remote < 65536 or not 0 <= local < 65536:
            raise ValueError
    except ValueError:
        raise InvalidArgument(f"port-forward {ports!r}: expected LOCAL:REMOTE or REMOTE (ports 1-65535)") from None
    backend = context.backend()
    found = backend.get(session)
    tunnel = backend.open_port(found.id, remote)  # nothing listens there: one line, before listening
    if stdio:
        forward.stdio(tunnel)
        return 0
    tunnel.close()
    try:
        server = forward.listen(address, local)
    except OSError as exc:
        raise InvalidArgument(f"cannot listen on {address}:{local}: {exc.strerror or exc}") from None
    bound = server.getsockname()[1]
    render.say(f"forwarding {address}:{bound} -> session {found.id} port {remote} (Ctrl-C to stop)")
    try:
        forward.serve(server, lambda: backend.open_port(found.id, remote), render.warning)
    except KeyboardInterrupt:
        pass
    return 0


@app.command
def ssh(session: str, *command: str, identity: str = "") -> int:
    """Open ssh to a session (created with --ssh) with your key, locally and through mcd.

    Parameters
    ----------
    session
        Session id (or unique prefix, or name).
    command
        A command to run instead of a login shell (its exit code is mc's).
    identity
        The private key to use (default: ssh's own choice, ~/.ssh/id_*).
    """
    found = context.backend().get(session)
    options, login = _ssh_options(found)
    if identity:
        options += ["-i", identity, "-o", "IdentitiesOnly=yes"]
    argv = ["ssh", *options, "-l", login, f"mc-{found.id}", *command]
    sys.stdout.flush()
    os.execvp(argv[0], argv)
    return 0  # not reached


@app.command(name="start")
def start_sessions(
    *sessions: str,
    no_wait: Annotated[bool, Parameter(negative="")] = False,
    output: Annotated[Output, Parameter(alias="-o")] = "table",
) -> None:
    """Start stopped sessions again (same ids); their init runs again.

    Parameters
    ----------
    sessions
        Session ids (or unique prefixes, or names).
    no_wait
        Return once started, without waiting for the init to finish.
    output
        table or json (the sessions started).
    """
    backend = context.backend()
    started = backend.start(list(sessions))
    if not no_wait:
        started = [backend.wait_ready(s.id) for s in started]
    if output == "json":
        render.emit_json([s.to_dict() for s in started])
        return
    for s in started:
        render.say(f"started {s.id}")


@app.command
def connect(
    session: str,
    *,
    new: Annotated[bool, Parameter(negative="")] = False,
    shell: str = "",
) -> int:
    """Open an interactive shell (or the driver's connect command) in a session.

    A shell whose terminal or connection went away without a detach waits sessions.shell_grace
    (mcd: the server's): connect resumes it, its recent screen replayed (it asks which when several
    wait).

    Parameters
    ----------
    session
        Session id, unique id prefix, or name.
    new
        Start a fresh shell even when one is waiting to be resumed.
    shell
        Resume this shell (an id `connect` printed or offered).
    """
    from mc.errors import InvalidArgument

    if new and shell:
        raise InvalidArgument("--new and --shell exclude each other")
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    backend = context.backend()
    if tty and not new and not shell:
        shell = _waiting_shell(backend, session)
    return finished(session, backend.connect(session, tty=tty, terminal=terminal_facts() if tty else None,
                                             resume=shell))


def _waiting_shell(backend: Backend, session: str) -> str:
    """The shell to resume: the only one waiting, or the one the user picks; "" for a new one."""
    waiting = [s for s in backend.shells(session) if s.waiting_since]
    if not waiting:
        return ""
    if len(waiting) == 1:
        render.say(f"resuming shell {waiting[0].id} (mc session connect {session} --new for a fresh one)")
        return waiting[0].id
    render.say("shells waiting to be resumed:")
    for i, s in enumerate(waiting, 1):
        idle = int(time.time() - s.waiting_since)
        render.say(f"  {i}) {s.id}  started {time.strftime('%H:%M:%S', time.localtime(s.started))}, "
                   f"left {idle}s ago, ends in {s.grace_left}s")
    render.say(f"  {len(waiting) + 1}) a new shell")
    while True:
        try:
            answer = input(f"resume which [1-{len(waiting) + 1}]? ").strip()
        except EOFError:
            return ""
        if answer.isdigit() and 1 <= int(answer) <= len(waiting) + 1:
            return waiting[int(answer) - 1].id if int(answer) <= len(waiting) else ""


@app.command(name="exec")
def exec_(
    session: str,
    *command: Annotated[str, Parameter(allow_leading_hyphen=True)],
    interactive: Annotated[bool, Parameter(name=["--interactive", "-i"], negative="")] = False,
    tty: Annotated[bool, Parameter(name=["--tty", "-t"], negative="")] = False,
) -> int:
    """Run a command in a running session; exits with its exit code.

    Parameters
    ----------
    session
        Session id, unique id prefix, or name.
    command
        The command and its arguments (put them after --).
    interactive
        Keep stdin open.
    tty
        Allocate a terminal.
    """
    from mc.errors import InvalidArgument

    if not command:
        raise InvalidArgument("give the command to run: mc session exec ID -- CMD ...")
    result = context.backend().exec(session, list(command), tty=tty, interactive=interactive,
                                    terminal=terminal_facts() if tty else None)
    return finished(session, result)


@app.command
def logs(
    session: str,
    *,
    follow: Annotated[bool, Parameter(name=["--follow", "-f"], negative="")] = False,
    tail: Annotated[int | None, Parameter(name=["--tail", "-n"])] = None,
    egress: bool = False,
) -> None:
    """Print a session's output, including its init script's.

    Parameters
    ----------
    session
        Session id, unique id prefix, or name.
    follow
        Keep printing as output arrives.
    tail
        Only the last N lines.
    egress
        What the session's egress proxy refused instead: a line per request (mc-egress-denied and
        the host, port, method and reason as JSON).
    """
    out = sys.stdout.buffer
    for chunk in context.backend().logs(session, follow=follow, tail=tail, egress=egress):
        out.write(chunk)
        out.flush()


def ssh_config() -> int:
    """Print an ssh config Host block for each session with an ssh server (local or -r REMOTE).

    ``mc ssh-config >> ~/.ssh/config`` (or an Include of a file of them), then ``ssh mc-ID``,
    ``scp FILE mc-ID:``, ``rsync`` and editors' remote-ssh work, through mc (and mcd)."""
    for found in context.backend().sessions():
        if not found.ssh or found.status != "running":
            continue
        options, login = _ssh_options(found)
        lines = [f"Host mc-{found.id}", f"    HostName mc-{found.id}", f"    User {login}"]
        lines += ["    " + " ".join(option.split("=", 1)) for option in options[1::2]]
        sys.stdout.write("\n".join(lines) + "\n\n")
    return 0


def stop() -> int:
    """Stop the current session (run inside a session)."""
    from mc.errors import InvalidArgument

    control = Path("/run/mc/control")
    if not control.exists():
        raise InvalidArgument("mc stop ends the session it runs in; on the host use mc session stop ID "
                              "(or close ID)")
    control.write_text("stop\n")
    return 0
