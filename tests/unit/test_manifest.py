"""mc-driver.yaml validation and the Dockerfile rewrite."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from mc.drivers import manifest
from mc.drivers.build import rewrite_dockerfile
from mc.errors import InvalidArgument

ROOT = Path(__file__).resolve().parents[2]

SPEC_EXAMPLE = """
name: goose
description: Goose with MCP servers
version: 1.0.0
maintainer: team@monadical.com

init:
  pre_command: /mc-init.sh
  command: /entrypoint.sh

environment:
  - name: MCP_HOST
    description: MCP server host
    required: true
    default: http://localhost:8000

  - name: GOOSE_ID
    description: Goose instance ID
    required: false

  # Project environment variables
  - name: MC_PROJECT_URL
    description: Project repository URL
    required: false

  - name: MC_PROJECT_TYPE
    description: Project repository type (git, svn, etc.)
    required: false
    default: git

  - name: MC_GIT_SSH_KEY
    description: SSH key for Git authentication
    required: false
    sensitive: true

  - name: MC_GIT_TOKEN
    description: Token for Git authentication
    required: false
    sensitive: true

ports:
  - 8000  # Main application
  - 22    # SSH server

volumes:
  - mountPath: /app
    description: Application directory

persistent_configs:
  - source: "/app/.goose"        # Path in container
    target: "/mc-config/goose"   # Path in persistent storage
    type: "directory"            # directory or file
    description: "Goose memory and configuration"
"""


def test_spec_example_parses_once_its_persistent_source_leaves_app():
    with pytest.raises(InvalidArgument, match=r"persistent_configs\[0\]\.source: expected a path outside /app"):
        manifest.parse(yaml.safe_load(SPEC_EXAMPLE), "mc-driver.yaml")
    m = manifest.parse(yaml.safe_load(SPEC_EXAMPLE.replace('"/app/.goose"', '"~/.goose"')), "mc-driver.yaml")
    assert m.name == "goose" and m.command == "/entrypoint.sh" and m.ports == [8000, 22]
    assert m.env_spec("MCP_HOST").required and m.env_spec("MCP_HOST").default == "http://localhost:8000"
    assert m.env_spec("MC_GIT_TOKEN").sensitive
    assert m.persistent_configs[0].target == "/mc-config/goose"
    assert m.connect == ["bash", "-l"]


@pytest.mark.parametrize("name", ["base", "goose", "aider", "claude-code", "opencode"])
def test_builtin_manifests_are_valid(name):
    m = manifest.load(ROOT / "drivers" / name)
    assert m.name == name and m.description
    assert (m.model is None) is (name == "base")  # every agent's tool takes --model


def test_a_model_section_survives_the_memo(tmp_path):
    d = tmp_path / "tool"
    d.mkdir()
    (d / "Dockerfile").write_text("FROM debian:bookworm-slim\n")
    (d / manifest.MANIFEST).write_text("name: tool\nmodel:\n  env: {TOOL_MODEL: '{provider}:{model}'}\n"
                                       "  providers: {anthropic: ANTHROPIC_API_KEY, ollama: }\n")
    for _ in range(2):  # parsed, then remembered
        m = manifest.load(d)
        assert m.model == manifest.ModelSupport({"TOOL_MODEL": "{provider}:{model}"},
                                                {"anthropic": "ANTHROPIC_API_KEY", "ollama": ""})


@pytest.mark.parametrize(("section", "expected"), [
    ("", manifest.Telemetry()),  # the standard OTEL_* variables only
    ("telemetry: false\n", None),
    ("telemetry:\n  env: {TOOL_OTEL: '1'}\n  config: {TOOL_CONFIG: {experimental: {otel: true}}}\n",
     manifest.Telemetry({"TOOL_OTEL": "1"}, {"TOOL_CONFIG": {"experimental": {"otel": True}}})),
])
def test_a_telemetry_section_survives_the_memo(tmp_path, section, expected):
    d = tmp_path / "tool"
    d.mkdir()
    (d / "Dockerfile").write_text("FROM debian:bookworm-slim\n")
    (d / manifest.MANIFEST).write_text(f"name: tool\n{section}")
    for _ in range(2):  # parsed, then remembered
        assert manifest.load(d).telemetry == expected


def test_the_builtin_drivers_say_how_their_tools_export_telemetry():
    assert manifest.load(ROOT / "drivers" / "aider").telemetry is None  # aider has none
    assert manifest.load(ROOT / "drivers" / "claude-code").telemetry.env["CLAUDE_CODE_ENABLE_TELEMETRY"] == "1"
    opencode = manifest.load(ROOT / "drivers" / "opencode").telemetry
    assert opencode.config["OPENCODE_CONFIG_CONTENT"] == {"experimental": {"openTelemetry": True}}


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("name: x\ntelemetry: yes-please", "telemetry", "a mapping"),
        ("name: x\ntelemetry:\n  env: {BAD-NAME: '1'}", "telemetry.env.BAD-NAME", "a variable name"),
        ("name: x\ntelemetry:\n  config: {CFG: not-a-mapping}", "telemetry.config.CFG", "a mapping"),
        ("description: no name", "name", "a string"),
        ("name: Bad Name", "name", "lowercase"),
        ("name: x\nports: [80, http]", "ports[1]", "a port number"),
        ("name: x\nports: 80", "ports", "a list"),
        ("name: x\nenvironment:\n  - description: nameless", "environment[0].name", "a string"),
        ("name: x\nenvironment:\n  - name: A\n    required: maybe", "environment[0].required", "true or false"),
        ("name: x\npersistent_configs:\n  - source: /a\n    target: /elsewhere",
         "persistent_configs[0].target", "/mc-config/"),
        ("name: x\npersistent_configs:\n  - source: /a\n    target: /mc-config/a\n    type: socket",
         "persistent_configs[0].type", "directory or file"),
        ("name: x\npersistent_configs:\n  - source: /app\n    target: /mc-config/a",
         "persistent_configs[0].source", "outside /app"),
        ("name: x\npersistent_configs:\n  - source: ~/../../app/x\n    target: /mc-config/a",
         "persistent_configs[0].source", "an absolute path or ~/path"),
        ("name: x\npersistent_configs:\n  - source: /run/mc/x\n    target: /mc-config/a",
         "persistent_configs[0].source", "outside"),
        ("name: x\npersistent_configs:\n  - source: ~/a|b\n    target: /mc-config/a",
         "persistent_configs[0].source", "an absolute path"),
        ("name: x\npersistent_configs:\n  - source: ~/a\n    target: /mc-config/../etc",
         "persistent_configs[0].target", "/mc-config/"),
        ("name: x\ninit: /start.sh", "init", "a mapping"),
        ("name: x\nconnect:\n  command: 5", "connect.command", "a command"),
        ("name: x\nflavour: spicy", "flavour", "one of"),
        ("name: x\nmodel: anthropic", "model", "a mapping"),
        ("name: x\nmodel:\n  env: {M: x}\n  providers: {a: A_KEY}", "model.env", "{model}"),
        ("name: x\nmodel:\n  env: {MC_UID: '{model}'}\n  providers: {a: A_KEY}", "model.env", "not MC_*"),
        ("name: x\nmodel:\n  env: {M: '{model}'}", "model.providers", "a mapping"),
        ("name: x\nmodel:\n  env: {M: '{model}'}\n  providers: {Bad Name: K}", "model.providers", "provider names"),
        ("name: x\nmodel:\n  env: {M: '{model}'}\n  providers: {a: 'not a var'}", "model.providers.a",
         "the variable of its API key"),
        ("name: x\nmodel:\n  env: {M: '{model}'}\n  providers: {a: K}\n  default: a/b", "model.default",
         "env or providers"),
    ],
)
def test_broken_manifests_name_file_field_and_expectation(text, field, expected):
    with pytest.raises(InvalidArgument) as err:
        manifest.parse(yaml.safe_load(text), "/drivers/x/mc-driver.yaml")
    message = str(err.value)
    assert message.startswith(f"/drivers/x/mc-driver.yaml: {field}: expected")
    assert expected in message


def test_invalid_yaml_names_line(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm-slim\n")
    (tmp_path / "mc-driver.yaml").write_text("name: x\nports: [1,\n")
    with pytest.raises(InvalidArgument, match=r"mc-driver.yaml: line \d+"):
        manifest.load(tmp_path)


def test_plain_dockerfile_gets_defaults(tmp_path):
    d = tmp_path / "My_Tool"
    d.mkdir()
    (d / "Dockerfile").write_text("FROM debian:bookworm-slim\n")
    m = manifest.load(d)
    assert m.name == "my_tool" and m.connect == ["bash", "-l"] and m.environment == []


def test_rewrite_adds_ca_after_every_from_and_init_at_the_end():
    text = "FROM debian:bookworm-slim AS fetch\nRUN echo a\nFROM debian:bookworm-slim\nRUN echo b\n"
    out = rewrite_dockerfile(text, with_ca=True)
    lines = out.splitlines()
    froms = [i for i, ln in enumerate(lines) if ln.startswith("FROM")]
    assert len(froms) == 2
    for i in froms:
        assert lines[i + 1].startswith("COPY .mc/ca/") and "NODE_EXTRA_CA_CERTS=" in lines[i + 2]
    assert lines[-2] == 'ENTRYPOINT ["/mc-init.sh"]'
    assert "COPY .mc/ca/" not in rewrite_dockerfile(text, with_ca=False)
    assert re.search(r"PIP_CERT=\S+ REQUESTS_CA_BUNDLE=", out)
