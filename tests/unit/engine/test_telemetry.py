"""Langfuse in a session's plan (pure): the tool pointed at mc's OTLP relay with a token of its
session, no Langfuse key anywhere in the session; and the relay's own checks (its program, run here
without a container)."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from mc.drivers import manifest
from mc.drivers.registry import Driver
from mc.engine import labels, telemetry
from mc.engine.logfwd import Langfuse, check_langfuse
from mc.engine.models import SessionSpec
from mc.engine.plan import plan_session
from mc.engine.scope import Scope
from mc.engine.settings import EngineSettings
from mc.errors import InvalidArgument

ROOT = Path(__file__).resolve().parents[3]
RELAY_DIR = ROOT / "drivers" / "_images" / "otlp-relay"
SECRET = "sk-lf-SENTINEL-unit"
LF = Langfuse("https://lf.example.com", "pk-lf-1", SECRET)
SETTINGS = EngineSettings(langfuse=LF)


def driver(text: str) -> Driver:
    return Driver("t", Path("/d/t"), "builtin", manifest.parse(yaml.safe_load(text), "mc-driver.yaml"))


def plan(text: str = "name: t\n", spec: SessionSpec | None = None, settings: EngineSettings = SETTINGS):
    return plan_session(spec or SessionSpec(), driver(text), "img", settings, Scope.local("alice"),
                        session_id="0123abcd", created="2026-01-02T03:04:05Z", version="1")


def relay_program():
    spec = importlib.util.spec_from_file_location("mc_otlp_relay", RELAY_DIR / "mc_otlp_relay.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_relay_revision_follows_its_program():
    """A changed relay must be a new relay (REVISION), or running ones keep the old program."""
    files = sorted(p for p in RELAY_DIR.iterdir() if p.is_file())  # (not the __pycache__ of the tests below)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()[:16]
    assert (telemetry.REVISION, digest) == ("1", "8d45a86f8c41cb64"), f"bump REVISION, then record {digest}"


def test_a_session_is_pointed_at_the_relay_with_a_token_of_its_own_and_no_langfuse_key():
    p = plan()
    relay = telemetry.relay_for(LF, "", "mc-egress")
    assert p.relay == relay and p.env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://{relay.name}:4318"
    assert p.env["OTEL_TRACES_EXPORTER"] == "otlp" and p.env["OTEL_METRICS_EXPORTER"] == "none"
    token = p.env["OTEL_EXPORTER_OTLP_HEADERS"].removeprefix("x-mc-session=")
    program = relay_program()
    program.CONFIG.update(json.loads(relay.config))
    assert program.session_of(token) == {"session": "0123abcd", "owner": "alice", "driver": "t", "project": ""}
    everything = json.dumps([p.env, p.labels, {k: v.decode() for k, v in p.secret_files.items()}, p.create_args()])
    assert SECRET not in everything and "pk-lf-1" not in everything
    assert not p.secret_files  # nothing private: still one `docker run -d`
    assert p.labels[labels.LOGS] == "langfuse https://lf.example.com (with the tool's spans)"


def test_no_relay_without_langfuse_or_for_a_tool_without_telemetry():
    assert plan(settings=EngineSettings()).relay is None
    p = plan("name: t\ntelemetry: false\n")
    assert p.relay is None and not any(k.startswith("OTEL_") for k in p.env)
    assert p.labels[labels.LOGS] == "langfuse https://lf.example.com"  # mc's own traces still


def test_the_drivers_switches_and_config_are_merged_and_the_callers_choices_kept():
    text = ("name: t\ntelemetry:\n  env: {TOOL_TELEMETRY: '1'}\n"
            "  config: {TOOL_CONFIG: {experimental: {otel: true}}}\n")
    spec = SessionSpec(env={"TOOL_CONFIG": json.dumps({"mcp": {"a": 1}, "experimental": {"x": 2}}),
                            "OTEL_SERVICE_NAME": "mine", "OTEL_EXPORTER_OTLP_HEADERS": "x-tenant=secret"})
    p = plan(text, spec)
    assert p.env["TOOL_TELEMETRY"] == "1" and "OTEL_SERVICE_NAME" not in p.env  # the caller's, private
    merged = next(v for v in _env_values(p) if v.startswith("{"))
    assert json.loads(merged) == {"mcp": {"a": 1}, "experimental": {"x": 2, "otel": True}}
    headers = next(v for v in _env_values(p) if v.startswith("x-tenant="))
    assert headers.startswith("x-tenant=secret,x-mc-session=") and "x-tenant" not in json.dumps(p.env)


def _env_values(p) -> list[str]:
    from mc import contract

    text = next(v for k, v in p.secret_files.items() if k == contract.ENV_FILE).decode()
    return [item.split("=", 1)[1] for item in text.split("\0") if "=" in item] + list(p.env.values())


def test_a_callers_own_endpoint_means_no_relay_for_that_session():
    p = plan(spec=SessionSpec(env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}))
    assert "OTEL_TRACES_EXPORTER" not in p.env and "OTEL_EXPORTER_OTLP_HEADERS" not in p.env


def test_another_key_pair_or_installation_is_another_relay_and_key():
    a = telemetry.relay_for(LF, "", "mc-egress")
    b = telemetry.relay_for(Langfuse(LF.url, LF.public_key, "sk-other"), "", "mc-egress")
    c = telemetry.relay_for(LF, "instance-2", "mc-egress")
    assert len({a.name, b.name, c.name}) == 3 and len({a.key, b.key, c.key}) == 3
    assert SECRET not in repr(a) and SECRET not in repr(LF)


def test_the_relay_takes_only_mcs_tokens_and_stamps_every_span():
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    relay = telemetry.relay_for(LF, "", "mc-egress")
    program = relay_program()
    program.CONFIG.update(json.loads(relay.config))
    token = relay.token("0123abcd", "alice", "goose", "git@example.com:a/b")
    fields = program.session_of(token)
    assert fields["owner"] == "alice"
    body, sig = token.split(".")
    other = base64.urlsafe_b64encode(json.dumps({**fields, "owner": "mallory"}).encode()).decode().rstrip("=")
    for bad in (f"{other}.{sig}", f"{body}.{sig[:-2]}AA", "", "x.y", body):
        assert program.session_of(bad) is None
    req = ExportTraceServiceRequest()
    for name in ("a", "b"):
        span = req.resource_spans.add().scope_spans.add().spans.add()
        span.name = name
        for key, value in (("session.id", "tool-own"), ("langfuse.user.id", "mallory"), ("mc.driver", "x"),
                           ("gen_ai.request.model", "m")):
            attr = span.attributes.add()
            attr.key, attr.value.string_value = key, value
    assert program.stamp(req, fields) == 2
    for rs in req.resource_spans:
        attrs = {a.key: a.value.string_value for a in rs.scope_spans[0].spans[0].attributes}
        assert attrs == {"tool.session.id": "tool-own", "gen_ai.request.model": "m", "langfuse.session.id": "0123abcd",
                         "session.id": "0123abcd", "langfuse.user.id": "alice", "user.id": "alice",
                         "mc.session": "0123abcd", "mc.driver": "goose", "mc.project": "git@example.com:a/b"}


@pytest.mark.parametrize(("url", "public", "secret", "field"), [
    ("ftp://lf.example.com", "pk", "sk", "url"), ("https://lf example.com", "pk", "sk", "url"),
    ("https://lf.example.com", "", "sk", "public_key"), ("https://lf.example.com", "pk", "s k", "secret_key")])
def test_a_bad_langfuse_setting_is_one_error_naming_the_field(url, public, secret, field):
    with pytest.raises(InvalidArgument, match=rf"services\.langfuse\.{field}") as err:
        check_langfuse(url, public, secret)
    assert "s k" not in str(err.value)


def test_the_url_is_kept_without_its_trailing_slash():
    assert check_langfuse("https://lf.example.com/base/", "pk", "sk").otlp_traces == \
        "https://lf.example.com/base/api/public/otel/v1/traces"
