"""MCP servers: definitions checked, stored encrypted and masked; each tool's form rendered; the plan
puts header values only into the session's secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mc import contract
from mc.drivers import manifest
from mc.drivers.registry import Driver
from mc.engine import mcpwire
from mc.engine.models import SessionSpec
from mc.engine.plan import plan_session
from mc.engine.scope import Scope
from mc.engine.settings import EngineSettings
from mc.errors import Conflict, InvalidArgument, NotFound
from mc.mcp.servers import MASK, McpServer, check_server, parse_pairs
from mc.mcp.store import McpStore
from mc.projects.crypto import Cipher, generate_key, parse_keys
from mc.projects.store import FileRecords

SECRET = "mcp-UNIT-SENTINEL-4b1d"
TOOLS = McpServer("tools", url="https://mcp.example.com/mcp", headers={"Authorization": f"Bearer {SECRET}"})
SSE = McpServer("events", url="http://events:9000/sse", transport="sse")


def tool_driver(fmt: str, model: str = "") -> Driver:
    text = f"name: t\nmcp: {{format: {fmt}}}\n" if fmt else "name: t\nmcp: false\n"
    return Driver("t", Path("/d/t"), "builtin", manifest.parse(yaml.safe_load(text + model), "mc-driver.yaml"))


def plan(fmt: str, servers: tuple[McpServer, ...], spec: SessionSpec | None = None, model: str = ""):
    return plan_session(spec or SessionSpec(driver="t"), tool_driver(fmt, model), "img", EngineSettings(),
                        Scope.local("me"), session_id="0123abcd", created="2026-01-02T03:04:05Z", version="1",
                        mcps=servers)


@pytest.mark.parametrize("server,message", [
    (McpServer("Bad", url="https://h/mcp"), "MCP server name"),
    (McpServer("x" * 32, url="https://h/mcp"), "MCP server name"),
    (McpServer("x", url="file:///etc/passwd"), "expected http(s)://"),
    (McpServer("x", url="https://u:p@h/mcp"), "credentials in the URL"),
    (McpServer("x", url="https://h:99999/mcp"), "bad port"),
    (McpServer("x", url="https://h/mcp", headers={"A B": "1"}), "not an HTTP header name"),
    (McpServer("x", url="https://h/mcp", headers={"A": "x" * 9000}), "at most 8 KiB"),
    (McpServer("x", url="https://h/mcp", headers={f"H{i}": "1" for i in range(33)}), "at most 32 headers"),
    (McpServer("x", url="https://h/mcp", port=80), "are for --image servers"),
    (McpServer("x"), "either a URL or --image"),
    (McpServer("x", url="https://h/mcp", image="i"), "either a URL or --image"),
    (McpServer("x", image="bad image"), "not an image reference"),
    (McpServer("x", image="i", env={"MC_ID": "1"}), "MC_* name"),
    (McpServer("x", image="i", port=70000), "expected a port number"),
    (McpServer("x", image="i", path="mcp"), "absolute URL path"),
])
def test_bad_definitions_are_one_line_errors(server, message):
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        check_server(server)


def test_pairs_need_an_equals_sign():
    assert parse_pairs(["A=b=c", "E="], "--header") == {"A": "b=c", "E": ""}
    with pytest.raises(InvalidArgument, match="--header 'Authorization': expected KEY=VALUE"):
        parse_pairs(["Authorization"], "--header")


def test_the_store_encrypts_and_masks(tmp_path):
    store = McpStore(FileRecords(tmp_path / "mcp.json", "MCP store"), Cipher(parse_keys(generate_key(), "k")))
    store.add(TOOLS)
    store.add(McpServer("box", image="img:1", env={"API_TOKEN": SECRET, "LEVEL": "3"}, port=8000))
    assert SECRET not in (tmp_path / "mcp.json").read_text()
    assert store.get("tools").headers["Authorization"] == f"Bearer {SECRET}"
    masked = [s.masked() for s in store.servers()]
    assert SECRET not in repr(masked) and masked[0].env == {"API_TOKEN": MASK, "LEVEL": "3"}
    with pytest.raises(Conflict):
        store.add(TOOLS)
    store.remove("tools")
    with pytest.raises(NotFound, match="no MCP server 'tools'"):
        store.get("tools")


def test_goose_entries_carry_the_headers_in_the_secrets_file():
    p = plan("goose", (TOOLS, SSE))
    entries = yaml.safe_load("extensions:\n" + p.secret_files[contract.MCP_FILE].decode())["extensions"]
    assert entries["tools"]["type"] == "streamable_http" and entries["tools"]["uri"] == TOOLS.url
    assert entries["tools"]["headers"] == {"Authorization": f"Bearer {SECRET}"}
    assert entries["events"]["type"] == "sse" and "headers" not in entries["events"]
    assert p.env["MC_MCP_FILE"] == f"{contract.SECRETS_DIR}/{contract.MCP_FILE}"
    assert SECRET not in " ".join(p.create_args())


def test_claude_gets_references_and_the_values_stay_private():
    p = plan("claude", (TOOLS, SSE))
    lines = dict(line.split("\t") for line in p.secret_files[contract.MCP_FILE].decode().splitlines())
    tools = json.loads(lines["tools"])
    assert tools == {"type": "http", "url": TOOLS.url, "headers": {"Authorization": "${MCP_HEADER_0}"}}
    assert json.loads(lines["events"]) == {"type": "sse", "url": SSE.url}
    assert f"MCP_HEADER_0=Bearer {SECRET}".encode() in p.secret_files[contract.ENV_FILE]
    assert SECRET not in " ".join(p.create_args())
    with pytest.raises(InvalidArgument, match="-e MCP_HEADER_0"):
        plan("claude", (TOOLS,), SessionSpec(driver="t", env={"MCP_HEADER_0": "mine"}))


def test_opencode_merges_with_the_model_and_goes_private_with_a_header():
    model = ("model:\n  env: {OPENCODE_CONFIG_CONTENT: '{\"model\": \"{provider}/{model}\"}'}\n"
             "  providers: {openai: ''}\n")
    p = plan("opencode", (SSE,), SessionSpec(driver="t", model="openai/gpt-4.1"), model=model)
    config = json.loads(p.env[mcpwire.OPENCODE_VAR])  # no header: plain
    assert config["model"] == "openai/gpt-4.1" and config["mcp"]["events"]["url"] == SSE.url
    p = plan("opencode", (TOOLS,), SessionSpec(driver="t", model="openai/gpt-4.1"), model=model)
    assert mcpwire.OPENCODE_VAR not in p.env and SECRET not in " ".join(p.create_args())
    env = p.secret_files[contract.ENV_FILE].decode()
    config = json.loads(env.split(f"{mcpwire.OPENCODE_VAR}=", 1)[1].split("\0", 1)[0])
    assert config["model"] == "openai/gpt-4.1" and config["mcp"]["tools"]["headers"]["Authorization"].endswith(SECRET)
    with pytest.raises(InvalidArgument, match="both set opencode's config"):
        plan("opencode", (TOOLS,), SessionSpec(driver="t", env={mcpwire.OPENCODE_VAR: "{}"}))


def test_a_driver_without_mcp_refuses_and_the_manifest_says_so():
    with pytest.raises(InvalidArgument, match="driver t does not take MCP servers"):
        plan("", (TOOLS,))
    assert tool_driver("").manifest.mcp == "" and tool_driver("claude").manifest.mcp == "claude"
    with pytest.raises(InvalidArgument, match="mcp: expected false, or format"):
        manifest.parse({"name": "t", "mcp": {"format": "vscode"}}, "mc-driver.yaml")
    with pytest.raises(InvalidArgument, match="at most 16 MCP servers"):
        plan("goose", tuple(McpServer(f"s{i}", url="https://h/mcp") for i in range(17)))


def test_servers_in_containers_become_sidecars_on_the_session_network():
    boxed = McpServer("boxed", image="srv:1", env={"LEVEL": "3", "API_TOKEN": SECRET}, port=9000, path="/rpc")
    piped = McpServer("piped", image="srv:1", command=["stdio"])
    p = plan("claude", (TOOLS, boxed, piped))
    by_name = {c.name: c for c in p.sidecars}
    assert by_name["boxed"].url == "http://mc-0123abcd-mcp-boxed:9000/rpc" and not by_name["boxed"].bridge
    assert by_name["boxed"].env == {"LEVEL": "3"} and by_name["boxed"].secret_env == {"API_TOKEN": SECRET}
    assert by_name["piped"].bridge == "mc-0123abcd-mcp-piped-bridge"
    assert by_name["piped"].url == "http://mc-0123abcd-mcp-piped-bridge:8000/mcp"
    assert p.env["MC_MCP_WAIT"] == "mc-0123abcd-mcp-boxed:9000 mc-0123abcd-mcp-piped-bridge:8000"
    assert p.labels["mc.mcps"] == "tools,boxed,piped"
    args = p.sidecar_args()
    assert args[args.index("--network") + 1] == p.network and "no-new-privileges" in args
    assert args[args.index("--cap-drop") + 1] == "ALL" and "mc.sidecar-of=0123abcd" in args
    assert SECRET not in " ".join(args)
    lines = dict(line.split("\t") for line in p.secret_files[contract.MCP_FILE].decode().splitlines())
    assert json.loads(lines["piped"])["url"] == by_name["piped"].url


def test_through_mcd_only_listed_images_run_as_servers():
    from mc.errors import PermissionDenied

    remote = EngineSettings(host_access=False, mcp_images=("registry.example.com/mcp/*",))
    servers = (McpServer("ok", image="registry.example.com/mcp/search:1", port=80),)
    plan_session(SessionSpec(driver="t"), tool_driver("goose"), "img", remote, Scope.user("u"), session_id="1",
                 created="", version="1", mcps=servers)
    with pytest.raises(PermissionDenied, match=r"sessions\.mcp_images"):
        plan_session(SessionSpec(driver="t"), tool_driver("goose"), "img", remote, Scope.user("u"), session_id="1",
                     created="", version="1", mcps=(McpServer("bad", image="docker.io/evil:1", port=80),))
