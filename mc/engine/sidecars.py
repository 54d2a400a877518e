"""MCP servers in containers beside a session: started before it (so its tool finds them), on its
network, with its limits and hardening, and removed with it.

A server's secret-named variables are a file copied in before the start (never ``-e``, so never in
``docker inspect``), which a small ``/bin/sh`` prelude reads into the environment and removes before
it execs the image's own command. A server that speaks stdio gets a bridge container (an image mc
builds: drivers/_images/mcp-bridge) serving it as streamable HTTP; the server's stdin and stdout are two FIFOs in a
volume of the bridge's, so the server runs from its own image, untouched.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Iterable

from mc.docker import Docker, DockerError
from mc.docker.errors import ImageMissing, NetworkMissing, first_line
from mc.engine import labels
from mc.engine.environment import dir_tar
from mc.engine.networks import ensure_network
from mc.engine.plan import EgressProxy, McpSidecar, SessionPlan
from mc.errors import InvalidArgument, McError

IO_DIR = "/run/mc-mcp-io"  # the FIFO pair of a stdio server: "in" (its stdin) and "out" (its stdout)
ENV_DIR = "/run/mc-mcp"  # the secret variables' file, read and removed by the prelude
PRELUDE = f"""\
if [ -f {ENV_DIR}/env ]; then set -a; . {ENV_DIR}/env; set +a; rm -f {ENV_DIR}/env; fi
if [ -d {IO_DIR} ]; then
  i=0; while [ ! -p {IO_DIR}/out ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
  exec "$@" <{IO_DIR}/in >{IO_DIR}/out
fi
exec "$@"
"""
PULL_TIMEOUT = 600.0
PROXY_DIR = "/run/mc-egress"  # the egress proxy's files: keys.json, upstream-ca.pem


HelperImage = Callable[[str, bool], str]  # (name, build) -> the tag of one of mc's own images (built with build)


def start(docker: Docker, plan: SessionPlan, helper_image: HelperImage) -> Callable[[], None]:
    """Start the egress proxy (in the background) and every MCP server of the plan; returns what
    waits for the proxy (raising its failure). On any failure what was started is removed."""
    wait: Callable[[], None] = lambda: None  # noqa: E731
    proxy = plan.egress
    if proxy is not None:
        wait = _background(lambda: _start_proxy(docker, plan, proxy, lambda build: helper_image("egress-proxy", build)),
                           "mc-egress-proxy")
    try:
        for car in plan.sidecars:
            _start(docker, plan, car, lambda: helper_image("mcp-bridge", True))
    except BaseException:
        settle(wait)
        remove(docker, [plan.session_id])
        raise
    return wait


def start_relay(docker: Docker, plan: SessionPlan, helper_image: HelperImage) -> Callable[[], str]:
    """Join the OTLP relay to the session's network (making it first if need be), in the
    background; returns what waits for it: "" or why the tool's spans will not reach Langfuse (a
    warning: telemetry never fails a session)."""
    relay = plan.relay
    if relay is None:
        return lambda: ""
    from mc.engine.telemetry import ensure_relay

    wait = _background(lambda: ensure_relay(docker, relay, (plan.network,),
                                            lambda build: helper_image("otlp-relay", build)), "mc-otlp-relay")

    def done() -> str:
        try:
            wait()
        except Exception as exc:
            return f"{exc}: the tool's spans will not reach Langfuse"
        return ""

    return done


def _background(work: Callable[[], None], name: str) -> Callable[[], None]:
    """Run ``work`` in a thread; the returned function waits for it and raises what it raised."""
    import threading

    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the waiter
            failure.append(exc)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()

    def wait() -> None:
        thread.join()
        if failure:
            raise failure[0]

    return wait


def settle(wait: Callable[[], None]) -> None:
    """Wait for a background start, whatever its outcome (the first failure is the one reported)."""
    try:
        wait()
    except BaseException:
        pass


def remove(docker: Docker, session_ids: Iterable[str]) -> None:
    """Remove the sidecars (and bridges, and their volumes) of these sessions."""
    wanted = set(session_ids)
    if not wanted:
        return
    ids = [cid for cid, sid in _labelled(docker, ["ps", "-a"], "{{.ID}}") if sid in wanted]
    if ids:
        docker.run("rm", "-f", "-v", *ids, check=False, timeout=60)
    # a bridge's volume is anonymous, but `rm -v` keeps it while the server (--volumes-from) still
    # uses it, and then the server's removal does not count it as its own: remove it by its label
    volumes = [name for name, sid in _labelled(docker, ["volume", "ls"], "{{.Name}}") if sid in wanted]
    if volumes:
        docker.run("volume", "rm", "-f", *volumes, check=False, timeout=60)


def _labelled(docker: Docker, listing: list[str], key: str) -> list[tuple[str, str]]:
    """(``key``, session) of every container or volume with an ``mc.sidecar-of`` label. One listing
    and a filter here: docker ANDs repeated label filters."""
    label = labels.SIDECAR_OF
    args = [*listing, "--filter", f"label={label}", "--format", f'{key} {{{{.Label "{label}"}}}}']
    for _ in range(3):  # docker ps can fail while containers are being removed around it
        proc = docker.run(*args, check=False, timeout=30)
        if proc.returncode == 0:
            break
    rows = [line.split() for line in proc.stdout.decode().splitlines()]
    return [(row[0], row[1]) for row in rows if len(row) == 2]


def remove_orphans(docker: Docker, live: set[str], instance: str = "") -> list[str]:
    """Remove the sidecars whose session is gone (removed behind mc's back); the session ids.
    ``live``: the sessions that exist, and those being made (their sidecars start first)."""
    listing = ["ps", "-a", *(["--filter", f"label={labels.INSTANCE}={instance}"] if instance else [])]
    gone = sorted({sid for _, sid in _labelled(docker, listing, "{{.ID}}") if sid not in live})
    remove(docker, gone)
    return gone


def _start(docker: Docker, plan: SessionPlan, car: McpSidecar, bridge_image: Callable[[], str]) -> None:
    base = plan.sidecar_args()
    io: list[str] = []
    if car.bridge:
        volume = (f"type=volume,destination={IO_DIR},volume-label={labels.SIDECAR_OF}={plan.session_id},"
                  f"volume-label={labels.OWNER}={plan.owner}")  # anonymous: removed with the bridge
        docker.run("run", "-d", "--name", car.bridge, "--hostname", car.bridge, *base, "--mount", volume,
                   bridge_image(), timeout=120)
        io = ["--volumes-from", car.bridge]
    argv = ["create", "--name", car.container, "--hostname", car.container, *base, *io]
    for key, value in car.env.items():
        argv += ["-e", f"{key}={value}"]
    if car.secret_env or car.bridge:
        program = _program(docker, car)
        argv += ["--entrypoint", "/bin/sh", car.image, "-c", PRELUDE, "mc-mcp", *program]
    else:
        argv += [car.image, *car.command]
    try:
        docker.run(*argv, timeout=PULL_TIMEOUT)
        if car.secret_env:
            text = "".join(f"{k}={shlex.quote(v)}\n" for k, v in car.secret_env.items()).encode()
            docker.run("cp", "-", f"{car.container}:/", input=dir_tar(ENV_DIR, {"env": text}, 0o777, 0o644))
        docker.run("start", car.container)
    except DockerError as exc:
        raise McError(f"MCP server {car.name}: {first_line(exc.stderr) or exc}") from None


def _start_proxy(docker: Docker, plan: SessionPlan, proxy: EgressProxy, image_of: Callable[[bool], str]) -> None:
    """The session's egress proxy: run on the session's internal network (so its name resolves
    there at once: the session's init waits until it answers) with its policy (names, not secrets)
    in its environment, then joined to mc's egress network, its way out and where the session's
    ports are published; it forwards them to the session. ``image_of(build)``: its image's tag
    (built first with ``build``: asked when docker has no such image)."""
    files = _proxy_files(proxy)
    argv = ["--name", proxy.container, "--hostname", proxy.container, *plan.sidecar_args(),
            "--sysctl", "net.ipv4.ip_unprivileged_port_start=0", "-e", f"MC_EGRESS_SESSION={plan.container}",
            "-e", f"MC_EGRESS_POLICY={proxy.policy.to_json().decode()}"]
    for port in proxy.ports:
        argv += ["-p", f"127.0.0.1::{port}"]
    command = [str(port) for port in proxy.ports]
    image = image_of(False)
    try:
        for attempt in range(3):  # its image and networks are made when missing (no call when they exist)
            try:
                if files:  # the keys it holds: a file copied in before the start, read and removed by it
                    docker.run("create", *argv, "--pull=never", image, *command, timeout=60)
                    docker.run("cp", "-", f"{proxy.container}:/", input=dir_tar(PROXY_DIR, files, 0o777, 0o644))
                    docker.run("start", proxy.container)
                else:
                    docker.run("run", "-d", *argv, "--pull=never", image, *command, timeout=60)
                break
            except DockerError as exc:
                docker.run("rm", "-f", proxy.container, check=False)
                if attempt < 2 and exc.is_a(ImageMissing):
                    image = image_of(True)
                elif attempt < 2 and exc.is_a(NetworkMissing):
                    ensure_network(docker, plan.network, plan.network_owner, internal=True)
                else:
                    raise
        for network in dict.fromkeys((proxy.network, *proxy.networks)):
            try:
                docker.run("network", "connect", network, proxy.container)
            except DockerError as exc:
                if network != proxy.network or not exc.is_a(NetworkMissing):
                    raise
                ensure_network(docker, network, isolated=True)
                docker.run("network", "connect", network, proxy.container)
    except DockerError as exc:
        raise McError(f"egress proxy: {first_line(exc.stderr) or exc}") from None


def _proxy_files(proxy: EgressProxy) -> dict[str, bytes]:
    """What the proxy is given in a file: the keys it holds, the CAs it trusts upstream."""
    from pathlib import Path

    files: dict[str, bytes] = {}
    if proxy.keys:
        files["keys.json"] = proxy.keys_json()
    if proxy.upstream_ca:
        try:
            files["upstream-ca.pem"] = b"\n".join(Path(p).read_bytes() for p in proxy.upstream_ca)
        except OSError as exc:
            raise McError(f"egress proxy: CA certificate {exc.filename}: {exc.strerror}") from None
    return files


def _program(docker: Docker, car: McpSidecar) -> list[str]:
    """The image's entrypoint and command (``--command`` instead of the latter), to exec after the prelude."""
    fmt = "{{json .Config.Entrypoint}}\t{{json .Config.Cmd}}"
    for attempt in range(2):
        try:
            out = docker.run("image", "inspect", "--format", fmt, car.image, timeout=30).stdout.decode()
            break
        except DockerError as exc:
            if attempt or not exc.is_a(ImageMissing):
                raise McError(f"MCP server {car.name}: image {car.image}: {first_line(exc.stderr)}") from None
            try:
                docker.run("pull", car.image, timeout=PULL_TIMEOUT)
            except DockerError as pull:
                raise McError(f"MCP server {car.name}: image {car.image} is not here and cannot be pulled: "
                              f"{first_line(pull.stderr)}") from None
    entry_text, _, cmd_text = out.strip().partition("\t")
    entry, cmd = json.loads(entry_text) or [], json.loads(cmd_text) or []
    program = [*entry, *(car.command or cmd)]
    if not program:
        raise InvalidArgument(f"MCP server {car.name}: image {car.image} has no command; add the server with --command")
    return [str(word) for word in program]
