"""Langfuse: mc's own trace of each exec and run (the real Langfuse SDK), and the tools' spans through
mc's OTLP relay (the real relay image), received by a stand-in for Langfuse's OTLP endpoint
(tests/otlp_receiver.py) that checks the project's key pair. The receiver listens on the gateway of
a network of the test's own, where both mc (on the host) and the relay (in a container) reach it.
Through mcd too, with its audit events to a Fluentd receiver."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import time

import pytest

from tests.conftest import docker
from tests.otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.engine

PUBLIC = "pk-lf-test"
SENTINEL = f"sk-lf-SENTINEL{secrets.token_hex(6)}"  # the secret key: must show up nowhere
BUILTIN = ("base", "goose", "claude-code", "opencode", "aider")
TOOL_TELEMETRY = {"claude-code": {"CLAUDE_CODE_ENABLE_TELEMETRY": "1", "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA": "1"}}


@pytest.fixture(scope="module")
def gateway(engine: None) -> str:
    """A network of this worker's; its gateway address is where the stand-in Langfuse listens."""
    name = f"mc-test-langfuse-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    subprocess.run(["docker", "network", "create", name], capture_output=True)
    return docker("network", "inspect", name, "-f", "{{(index .IPAM.Config 0).Gateway}}").strip()


@pytest.fixture
def langfuse(gateway: str, docker_mc):
    receiver = OtlpReceiver(gateway, PUBLIC, SENTINEL)
    relays: list[str] = []
    receiver.relays = relays  # type: ignore[attr-defined]
    docker_mc.ok("config", "set", "services.langfuse.url", receiver.url)
    docker_mc.ok("config", "set", "services.langfuse.public_key", PUBLIC)
    docker_mc.ok("config", "set", "services.langfuse.secret_key", SENTINEL)
    yield receiver
    receiver.close()
    from mc.engine.logfwd import Langfuse
    from mc.engine.telemetry import relay_for

    relays.append(relay_for(Langfuse(receiver.url, PUBLIC, SENTINEL), "", "").name)  # local mode's
    if relays:
        subprocess.run(["docker", "rm", "-f", *set(relays)], capture_output=True)


def _otlp_request(name: str, claimed_session: str) -> str:
    """An OTLP trace export (protobuf, base64) of one span that claims a session of its own."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    req = ExportTraceServiceRequest()
    span = req.resource_spans.add().scope_spans.add().spans.add()
    span.name, span.trace_id, span.span_id = name, secrets.token_bytes(16), secrets.token_bytes(8)
    span.start_time_unix_nano, span.end_time_unix_nano = 1_700_000_000_000_000_000, 1_700_000_001_000_000_000
    for key in ("session.id", "langfuse.session.id"):
        attr = span.attributes.add()
        attr.key, attr.value.string_value = key, claimed_session
    return base64.b64encode(req.SerializeToString()).decode()


# How the session's tool exports: to OTEL_EXPORTER_OTLP_ENDPOINT with OTEL_EXPORTER_OTLP_HEADERS
# (bash's /dev/tcp: every driver image has bash; none is sure to have curl).
POST = r"""
body=$(mktemp); echo "$1" | base64 -d >"$body"; len=$(stat -c %s "$body")
host=${OTEL_EXPORTER_OTLP_ENDPOINT#http://}; headers=${2:-$OTEL_EXPORTER_OTLP_HEADERS}
exec 3<>"/dev/tcp/${host%:*}/${host##*:}"
{ printf 'POST /v1/traces HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-protobuf\r\n' "$host"
  printf 'Content-Length: %s\r\nConnection: close\r\n%s\r\n\r\n' "$len" "${headers/=/: }"; cat "$body"; } >&3
head -n 1 <&3
"""


def _post_span(mc, sid: str, name: str, headers: str = "", remote: tuple[str, ...] = ()) -> str:
    out = mc.ok(*remote, "session", "exec", sid, "--", "bash", "-c", POST, "post", _otlp_request(name, "forged"),
                headers)
    return out.strip().splitlines()[-1]


def _env(mc, sid: str, remote: tuple[str, ...] = ()) -> dict[str, str]:
    out = mc.ok(*remote, "session", "exec", sid, "--", "env")
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_each_exec_and_run_is_one_trace_in_the_sessions_langfuse_session(docker_mc, langfuse):
    mc = docker_mc
    s = json.loads(mc.ok("session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    assert mc.ok("session", "exec", s["id"], "--", "sh", "-c", "echo first") == "first\n"
    r = mc.run("session", "exec", s["id"], "--", "sh", "-c", "echo second; exit 3")
    assert r.returncode == 3 and r.stdout == "second\n"
    once = mc.run("session", "create", "--driver", "base", "--rm", "--run", "echo once; exit 4")
    assert once.returncode == 4

    execs = langfuse.wait_for(lambda sp: sp.name == "mc exec" and sp.attributes.get("session.id") == s["id"])
    runs = langfuse.wait_for(lambda sp: sp.name == "mc run")
    execs = langfuse.wait_for(lambda sp: sp.name == "mc exec" and sp.attributes.get("session.id") == s["id"]
                              ) if len(execs) < 2 else execs
    assert len(execs) == 2 and len(runs) == 1, [sp.name for sp in langfuse.spans]
    meta = "langfuse.observation.metadata."
    by_code = {sp.attributes[meta + "exit_code"]: sp for sp in execs}
    assert set(by_code) == {"0", "3"}
    first, second = by_code["0"], by_code["3"]
    assert first.attributes["user.id"] == mc.owner and first.attributes["langfuse.trace.metadata.driver"] == '"base"'
    assert first.attributes["langfuse.observation.input"] == "sh -c echo first"
    assert first.attributes["langfuse.observation.output"] == "first\n"
    assert second.attributes["langfuse.observation.level"] == "ERROR"
    assert second.attributes["langfuse.observation.output"] == "second\n"
    assert float(second.attributes[meta + "duration_s"]) > 0
    run = runs[0]
    assert run.attributes["langfuse.observation.input"] == "echo once; exit 4"
    assert run.attributes[meta + "exit_code"] == "4" and run.attributes["langfuse.observation.output"] == "once\n"
    assert run.attributes["session.id"] != s["id"] and run.attributes["user.id"] == mc.owner
    assert langfuse.refused == 0  # the key pair was right every time
    shown = mc.ok("session", "show", s["id"])
    assert f"langfuse {langfuse.url}" in shown


@pytest.mark.parametrize("driver", BUILTIN)
def test_the_tools_spans_reach_langfuse_through_the_relay_stamped_with_their_session(docker_mc, langfuse,
                                                                                    driver):
    mc = docker_mc
    s = json.loads(mc.ok("session", "create", "--driver", driver, "--no-connect", "-o", "json"))
    env = _env(mc, s["id"])
    assert SENTINEL not in json.dumps(env)
    if driver == "aider":  # no OpenTelemetry in aider: nothing points it anywhere
        assert not any(k.startswith("OTEL_") for k in env), env
        return
    endpoint = env["OTEL_EXPORTER_OTLP_ENDPOINT"]
    langfuse.relays.append(endpoint.split("//")[1].split(":")[0])
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf" and env["OTEL_TRACES_EXPORTER"] == "otlp"
    for name, value in TOOL_TELEMETRY.get(driver, {}).items():
        assert env[name] == value
    if driver == "opencode":
        assert json.loads(env["OPENCODE_CONFIG_CONTENT"])["experimental"]["openTelemetry"] is True

    assert _post_span(mc, s["id"], f"tool span {driver}").startswith("HTTP/1.1 200")
    spans = langfuse.wait_for(lambda sp: sp.name == f"tool span {driver}")
    assert len(spans) == 1
    attrs = spans[0].attributes
    assert attrs["langfuse.session.id"] == attrs["session.id"] == s["id"]  # not what the span claimed
    assert attrs["langfuse.user.id"] == attrs["user.id"] == mc.owner
    assert attrs["mc.driver"] == driver and attrs["tool.session.id"] == "forged"

    # a token that is not mc's (another session's fields, any signature) is refused at the relay
    token = env["OTEL_EXPORTER_OTLP_HEADERS"].split("=", 1)[1]
    body, sig = token.split(".")
    fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**fields, "owner": "someone-else"}).encode()).decode().rstrip("=")
    assert _post_span(mc, s["id"], "forged span", f"x-mc-session={forged}.{sig}").startswith("HTTP/1.1 401")
    assert not langfuse.wait_for(lambda sp: sp.name == "forged span", timeout=1)


def test_a_session_under_an_egress_policy_reaches_the_relay(docker_mc, langfuse):
    mc = docker_mc
    s = json.loads(mc.ok("session", "create", "--driver", "base", "--no-connect", "--allow-domain", "example.com",
                         "-o", "json"))
    env = _env(mc, s["id"])
    langfuse.relays.append(env["OTEL_EXPORTER_OTLP_ENDPOINT"].split("//")[1].split(":")[0])
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"].split("//")[1].split(":")[0] in env["NO_PROXY"].split(",")
    assert _post_span(mc, s["id"], "behind a policy").startswith("HTTP/1.1 200")
    spans = langfuse.wait_for(lambda sp: sp.name == "behind a policy")
    assert spans and spans[0].attributes["session.id"] == s["id"]


def test_a_sessions_token_is_good_only_from_that_session(docker_mc, langfuse):
    """The token is plain container environment (so a session without secrets starts with one
    `docker run`): the relay takes it only from its own session's address."""
    mc = docker_mc
    a, b = (json.loads(mc.ok("session", "create", "--driver", "base", "--no-connect", "-o", "json"))
            for _ in range(2))
    a_env = _env(mc, a["id"])
    langfuse.relays.append(a_env["OTEL_EXPORTER_OTLP_ENDPOINT"].split("//")[1].split(":")[0])
    assert _post_span(mc, b["id"], "borrowed", a_env["OTEL_EXPORTER_OTLP_HEADERS"]).startswith("HTTP/1.1 403")
    assert _post_span(mc, a["id"], "own").startswith("HTTP/1.1 200")
    assert langfuse.wait_for(lambda sp: sp.name == "own")
    assert not [sp for sp in langfuse.spans if sp.name == "borrowed"]


def test_the_secret_key_is_in_no_session_argv_inspect_or_log(docker_mc, langfuse):
    mc = docker_mc
    s = json.loads(mc.ok("session", "create", "--driver", "base", "--no-connect", "-o", "json"))
    relay = _env(mc, s["id"])["OTEL_EXPORTER_OTLP_ENDPOINT"].split("//")[1].split(":")[0]
    langfuse.relays.append(relay)
    assert _post_span(mc, s["id"], "sentinel check").startswith("HTTP/1.1 200")
    assert langfuse.wait_for(lambda sp: sp.name == "sentinel check")
    inside = mc.ok("session", "exec", s["id"], "--", "bash", "-c",
                   "cat /proc/1/environ; env; find /run/mc -type f -exec cat {} + 2>/dev/null; ps -eo args")
    assert SENTINEL not in inside
    for container in (f"mc-{s['id']}", relay):
        assert SENTINEL not in docker("inspect", container)
        logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
        assert SENTINEL not in logs.stdout + logs.stderr
    assert SENTINEL not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert SENTINEL not in mc.ok("config", "list")
    assert langfuse.refused == 0


def test_through_mcd_traces_spans_and_audit_events(docker_mc, langfuse, tmp_path):
    from tests.forward_receiver import Receiver
    from tests.mcd_harness import start_mcd

    mc = docker_mc
    collector = Receiver().start()
    daemon = start_mcd(tmp_path, mc.env, logging={"providers": [
        {"type": "fluentd", "url": f"tcp://127.0.0.1:{collector.port}"},
        {"type": "langfuse", "url": langfuse.url, "public_key": PUBLIC, "secret_key": SENTINEL}]})
    remote = ("-r", "t")
    try:
        mc.ok("remote", "add", "t", daemon.url)
        s = json.loads(mc.ok(*remote, "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
        assert mc.ok(*remote, "session", "exec", s["id"], "--", "sh", "-c", "echo remote") == "remote\n"
        assert mc.run(*remote, "session", "exec", s["id"], "--", "sh", "-c", "exit 5").returncode == 5
        env = _env(mc, s["id"], remote)
        langfuse.relays.append(env["OTEL_EXPORTER_OTLP_ENDPOINT"].split("//")[1].split(":")[0])
        assert _post_span(mc, s["id"], "remote tool span", remote=remote).startswith("HTTP/1.1 200")
        mc.ok(*remote, "session", "close", s["id"])

        tool = langfuse.wait_for(lambda sp: sp.name == "remote tool span")
        assert tool and tool[0].attributes["session.id"] == s["id"]
        owner = tool[0].attributes["user.id"]
        execs = langfuse.wait_for(lambda sp: sp.name == "mc exec" and sp.attributes.get("session.id") == s["id"]
                                  and sp.attributes.get("langfuse.observation.metadata.exit_code") == "5")
        assert execs and execs[0].attributes["user.id"] == owner
        first = langfuse.wait_for(lambda sp: sp.attributes.get("langfuse.observation.output") == "remote\n")
        assert first and first[0].attributes["session.id"] == s["id"]

        def audit() -> list[dict]:
            return [r for t, r in collector.records if t == "mcd.audit"]

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(r["event"] == "close" for r in audit()):
            time.sleep(0.1)
        events = audit()
        assert {"create", "exec", "close"} <= {r["event"] for r in events}, events
        failed = [r for r in events if r["event"] == "exec" and r.get("exit_code") == 5]
        assert failed and failed[0]["target"] == s["id"] and failed[0]["user"] == owner
        assert all(SENTINEL not in json.dumps(r) for r in events)
        assert SENTINEL not in (tmp_path / "mcd.log").read_text()
    finally:
        daemon.stop()
        collector.stop()
