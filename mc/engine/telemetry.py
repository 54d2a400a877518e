"""The tools' own telemetry, to Langfuse without Langfuse's keys in the session.

A session's tool exports OpenTelemetry spans (OTLP over HTTP) to mc's relay, a container beside the
sessions (``drivers/_images/otlp-relay``): one per engine and Langfuse project, on mc's egress
network and on the networks of the sessions it serves (``http://RELAY:4318``). Each session carries
a token, signed by mc, naming its session, owner, driver and project (``x-mc-session`` in
``OTEL_EXPORTER_OTLP_HEADERS``); the relay checks the signature and that the request comes from that
session's own address (Docker's DNS names the container behind an address), stamps those fields
on every span (``langfuse.session.id``, ``langfuse.user.id``: a span cannot claim another session)
and sends the spans to Langfuse's OTLP endpoint with the key pair, which only it holds. Bound to its
sender, the token is no secret: it is plain container environment, so a session without secrets
of its own still starts with one ``docker run -d``.

The signing key is derived from the Langfuse secret key and the installation, so the engine (a new
``mc`` process each time) and the relay agree on it without storing one.
Pure but for ``ensure_relay`` (the plan takes the rest).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mc.errors import McError

if TYPE_CHECKING:
    from mc.docker import Docker
    from mc.drivers.manifest import Telemetry
    from mc.engine.logfwd import Langfuse

PORT = 4318
TOKEN_HEADER = "x-mc-session"
RELAY_LABEL = "mc.otlp-relay"  # on the relay: the installation it serves ("" locally)
CONFIG_DIR = "/run/mc-otlp"
HEADERS_VAR = "OTEL_EXPORTER_OTLP_HEADERS"
# The relay's program: a new revision is a new relay (a running one is not changed under its sessions).
# tests/unit/engine/test_telemetry.py holds the hash of drivers/_images/otlp-relay it stands for.
REVISION = "1"


@dataclass(frozen=True)
class Relay:
    """The OTLP relay a session's tool exports to."""

    name: str  # its container, and its name on the sessions' networks
    instance: str
    egress_network: str  # its way out
    config: bytes = field(repr=False)  # relay.json: Langfuse's URL and keys, the token key (copied in)
    key: bytes = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.name}:{PORT}"

    def token(self, session: str, owner: str, driver: str, project: str) -> str:
        """What the session sends in ``x-mc-session``: its fields and mc's signature of them."""
        raw = json.dumps({"session": session, "owner": owner, "driver": driver, "project": project},
                         separators=(",", ":"), sort_keys=True).encode()
        sig = hmac.new(self.key, raw, hashlib.sha256).digest()
        return f"{_b64(raw)}.{_b64(sig)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def relay_for(langfuse: Langfuse, instance: str, egress_network: str) -> Relay:
    """The relay of this Langfuse project and installation (another key pair: another relay)."""
    ident = hashlib.sha256("\0".join((REVISION, langfuse.url, langfuse.public_key, langfuse.secret_key, instance))
                           .encode()).hexdigest()[:12]
    key = hmac.new(langfuse.secret_key.encode(), f"mc-otlp-relay-v1\0{instance}".encode(), hashlib.sha256).digest()
    config = json.dumps({"url": langfuse.url, "public_key": langfuse.public_key,
                         "secret_key": langfuse.secret_key, "key": key.hex()}).encode()
    return Relay(f"mc-otlp-{ident}", instance, egress_network, config, key)


def session_env(relay: Relay, support: Telemetry, token: str, service: str, env: dict[str, str],
                private: dict[str, str]) -> None:
    """Point the session's tool at the relay: the standard OTLP variables (traces only: Langfuse
    takes no metrics or logs), the driver's own switches, JSON merged into its config variable, the
    token. What the caller set with ``-e`` is left as it is (headers of their own keep ours beside
    them, private): a caller's own OTLP endpoint means no relay for that session."""
    if "OTEL_EXPORTER_OTLP_ENDPOINT" in private or "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" in private:
        return
    wanted = {"OTEL_EXPORTER_OTLP_ENDPOINT": relay.url, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
              "OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none",
              "OTEL_SERVICE_NAME": service, **support.env}
    for name, value in wanted.items():
        if name not in private:
            env[name] = value
    header = f"{TOKEN_HEADER}={token}"
    if HEADERS_VAR in private:
        private[HEADERS_VAR] = ",".join(filter(None, (private[HEADERS_VAR], header)))
    else:
        env[HEADERS_VAR] = header
    for name, extra in support.config.items():
        where = private if name in private else env
        try:
            current = json.loads(where[name]) if where.get(name) else {}
        except ValueError:
            continue  # not JSON: the caller's own; leave it
        if isinstance(current, dict):
            where[name] = json.dumps(_merge(current, extra))


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def ensure_relay(docker: Docker, relay: Relay, networks: tuple[str, ...], image_of: Callable[[bool], str]) -> None:
    """The relay is on ``networks`` (a session's): joined when it runs, made and started first when it
    does not exist (its way out is mc's egress network). Two creates at once make it once."""
    from mc.docker import DockerError
    from mc.docker.errors import ContainerMissing, first_line

    try:
        for network in networks:
            try:
                _join(docker, network, relay.name)
            except DockerError as exc:
                if not exc.is_a(ContainerMissing):
                    raise
                _make(docker, relay, image_of)
                _join(docker, network, relay.name)
    except DockerError as exc:
        raise McError(f"OTLP relay: {first_line(exc.stderr) or exc}") from None


def _join(docker: Docker, network: str, container: str) -> None:
    """Join a session's network; a new session's network may still be in the making beside us."""
    import time

    from mc.docker import DockerError
    from mc.docker.errors import NetworkMissing

    deadline = time.monotonic() + 15
    while True:
        try:
            docker.run("network", "connect", network, container)
            return
        except DockerError as exc:
            if "already exists" in exc.stderr:
                return
            if not exc.is_a(NetworkMissing) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _make(docker: Docker, relay: Relay, image_of: Callable[[bool], str]) -> None:
    """Create the relay, copy its configuration in (never argv, never its environment), start it.
    It stays (restarted with the engine) for the sessions to come; one for a key pair no longer
    configured is removed by hand (``docker rm -f``, label ``mc.otlp-relay``)."""
    from mc.docker import DockerError
    from mc.docker.errors import ImageMissing
    from mc.engine.environment import dir_tar
    from mc.engine.networks import ensure_network, host_lock

    argv = ["--name", relay.name, "--hostname", relay.name, "--network", relay.egress_network, "--label",
            f"{RELAY_LABEL}={relay.instance}", "--restart", "unless-stopped", "--init", "--security-opt",
            "no-new-privileges", "--cap-drop", "ALL", "--pids-limit", "128", "--memory", "256m"]
    image = image_of(False)
    with host_lock():  # (create does not check the network, start would fail; parallel mc would make two)
        if docker.run("network", "inspect", "--format", "{{.Id}}", relay.egress_network, check=False).returncode:
            ensure_network(docker, relay.egress_network, isolated=True)
    for attempt in range(3):
        try:
            docker.run("create", *argv, "--pull=never", image, timeout=60)
            break
        except DockerError as exc:
            if "is already in use" in exc.stderr:
                return  # another create made it
            if attempt < 2 and exc.is_a(ImageMissing):
                image = image_of(True)
            else:
                raise
    try:
        docker.run("cp", "-", f"{relay.name}:/", input=dir_tar(CONFIG_DIR, {"relay.json": relay.config}, 0o755, 0o644))
        docker.run("start", relay.name)
    except BaseException:
        docker.run("rm", "-f", relay.name, check=False)
        raise
