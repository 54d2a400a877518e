"""MCP servers in sessions, against a real MCP server (the official Python SDK) on a Docker network:
each MCP-capable tool reports the server configured and, where it can check one without an LLM
key, connected with the header it needs; the header's value never shows where it must not."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import build_test_image, containers_of, docker

pytestmark = pytest.mark.engine
HERE = Path(__file__).resolve().parent.parent / "mcpserver"
TOKEN = "mcp-SENTINEL-7f3a9c2e1b"


@pytest.fixture
def mcp_server(engine):
    """The test MCP server (bearer token required) on a network of its own; yields (network, URL)."""
    suffix = os.urandom(3).hex()
    net, name = f"mc-mcptest-{suffix}", f"mcpserver-{suffix}"
    docker("network", "create", net)
    docker("run", "-d", "--name", name, "--network", net, "--pull=never", "-e", f"MCP_TOKEN={TOKEN}",
           "-e", "MCP_MARKER=marker-from-remote", build_test_image(HERE, "mcpserver"))
    for _ in range(150):
        if "Uvicorn running" in docker("logs", name, check=False, stderr=True):
            break
        time.sleep(0.1)
    try:
        yield net, f"http://{name}:8000/mcp"
    finally:
        attached = docker("network", "inspect", "--format", "{{range .Containers}}{{.Name}} {{end}}", net,
                          check=False).split()
        docker("rm", "-f", "-v", name, *attached, check=False)
        docker("network", "rm", net)


# How each tool says it has the server, and that it connected (with the header it needs)
MCP_READBACK = {
    "claude-code": ("claude mcp list", ["tools: ", "Connected"]),
    "opencode": ("opencode mcp list", ["tools", "connected"]),
    # goose doctor loads the extensions (a failure is a warning line) and then waits on the model:
    # read it until the extensions are ready
    "goose": ("goose info -v; (timeout 120 goose doctor </dev/null >/tmp/doctor 2>&1 &); "
              "for _ in $(seq 600); do grep -q 'extensions ready' /tmp/doctor && break; sleep 0.2; done; "
              "cat /tmp/doctor; pkill goose; true", ["uri: http://mcpserver-", "extensions ready"]),
}


@pytest.mark.parametrize("driver", list(MCP_READBACK))
def test_each_tool_reports_the_mcp_server_connected(docker_mc, mcp_server, driver):
    mc = docker_mc
    net, url = mcp_server
    mc.ok("mcp", "add", "tools", url, "--header", f"Authorization=Bearer {TOKEN}")
    command, expected = MCP_READBACK[driver]
    extra = ["-e", "OPENAI_API_KEY=none", "--model", "openai/gpt-4o"] if driver == "goose" else []
    proc = mc.run("session", "create", "--driver", driver, "--mcp", "tools", "--network", net, *extra,
                  "--no-connect", "--rm", "--run", command, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for text in expected:
        assert text in proc.stdout, proc.stdout[-3000:]
    assert "Failed to start extension" not in proc.stdout and "Failed to connect" not in proc.stdout
    assert TOKEN not in proc.stderr


@pytest.mark.parametrize("driver,failed", [("claude-code", "Failed to connect"),
                                           ("goose", "Failed to start extension 'tools'")])
def test_a_wrong_header_is_what_the_tool_reports(docker_mc, mcp_server, driver, failed):
    """The check above can fail: the same server with a wrong token is reported as not connected."""
    mc = docker_mc
    net, url = mcp_server
    mc.ok("mcp", "add", "tools", url, "--header", "Authorization=Bearer wrong")
    extra = ["-e", "OPENAI_API_KEY=none", "--model", "openai/gpt-4o"] if driver == "goose" else []
    proc = mc.run("session", "create", "--driver", driver, "--mcp", "tools", "--network", net, *extra,
                  "--no-connect", "--rm", "--run", MCP_READBACK[driver][0])
    assert failed in proc.stdout, proc.stdout[-3000:]


def test_header_values_stay_secret(docker_mc, mcp_server):
    """A header's value is in no list, no show, no docker inspect, no log and no process argument."""
    mc = docker_mc
    net, url = mcp_server
    mc.ok("mcp", "add", "tools", url, "--header", f"Authorization=Bearer {TOKEN}")
    listed = mc.ok("mcp", "list") + mc.ok("mcp", "list", "-o", "json") + mc.ok("mcp", "show", "tools")
    assert TOKEN not in listed and "Authorization" in listed
    assert TOKEN not in mc.ok("config", "list")
    assert TOKEN not in (Path(mc.env["XDG_DATA_HOME"]) / "mc" / "mcp.json").read_text()  # encrypted at rest
    for driver in MCP_READBACK:
        session = json.loads(mc.ok("session", "create", "--driver", driver, "--mcp", "tools", "--network", net,
                                   "--no-connect", "-o", "json", timeout=1800))
        sid = session["id"]
        mc.ok("session", "exec", sid, "true")  # the driver's init has written the tool's config
        assert TOKEN not in docker("inspect", session["container"])
        assert TOKEN not in docker("logs", session["container"], stderr=True)
        assert TOKEN not in docker("exec", session["container"], "ps", "-eo", "args")
        mc.ok("session", "close", sid)


def test_defaults_and_refusals(docker_mc, mcp_server):
    mc = docker_mc
    net, url = mcp_server
    mc.ok("mcp", "add", "tools", url)
    mc.ok("config", "set", "defaults.mcps", "tools,gone")
    # a default attaches where the driver takes MCP servers, and is a warning elsewhere
    proc = mc.run("session", "create", "--driver", "opencode", "--network", net, "--no-connect", "--rm",
                  "--run", "opencode debug config")
    assert proc.returncode == 0 and url in proc.stdout, proc.stderr
    assert "defaults.mcps names 'gone'" in proc.stderr
    proc = mc.run("session", "create", "--driver", "opencode", "--no-default-mcps", "--no-connect", "--rm",
                  "--run", "opencode debug config")
    assert proc.returncode == 0 and url not in proc.stdout
    proc = mc.run("session", "create", "--driver", "aider", "--no-connect", "--rm", "--run", "true")
    assert proc.returncode == 0 and "aider does not take MCP servers" in proc.stderr
    # --mcp is a demand: one line, exit != 0, nothing created
    for args, message in [(["--driver", "aider", "--mcp", "tools"], "driver aider does not take MCP servers"),
                          (["--driver", "goose", "--mcp", "nope"], "no MCP server 'nope'"),
                          (["--driver", "goose", "--mcp", "Bad Name"], "MCP server name")]:
        proc = mc.run("session", "create", *args, "--no-connect")
        assert proc.returncode != 0 and proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
    for args, message in [(["bad", "ftp://host/mcp"], "expected http(s)://"),
                          (["bad", "http://host/mcp", "--header", "NoEquals"], "expected KEY=VALUE"),
                          (["bad", "http://u:p@host/mcp"], "credentials in the URL"),
                          (["bad", "http://host/mcp", "--transport", "ws"], "--transport"),
                          (["tools", "http://host/mcp"], "exists")]:
        proc = mc.run("mcp", "add", *args)
        assert proc.returncode != 0 and proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
    assert [s["name"] for s in json.loads(mc.ok("mcp", "list", "-o", "json"))] == ["tools"]
    assert containers_of(mc.owner) == []
    info = json.loads(mc.ok("driver", "info", "aider", "-o", "json"))
    assert info["mcp"] == "" and json.loads(mc.ok("driver", "info", "goose", "-o", "json"))["mcp"] == "goose"
    mc.ok("mcp", "remove", "tools")
    assert mc.run("mcp", "show", "tools").returncode == 3


def test_mcp_servers_through_mcd(docker_mc, mcp_server, tmp_path):
    """The same through mcd: definitions stored server-side, encrypted; --mcp checked by its engine."""
    from tests.mcd_harness import start_mcd

    mc = docker_mc
    net, url = mcp_server
    daemon = start_mcd(tmp_path, mc.env, sessions={"networks": [net], "mcp_images": ["mc-test-mcpserver:*"]})
    try:
        mc.ok("remote", "add", "t", daemon.url)
        mc.ok("-r", "t", "mcp", "add", "tools", url, "--header", "Authorization=-", input=f"Bearer {TOKEN}\n")
        listed = mc.ok("-r", "t", "mcp", "list") + mc.ok("-r", "t", "mcp", "show", "tools", "-o", "json")
        assert "tools" in listed and TOKEN not in listed
        assert "tools" not in mc.ok("mcp", "list")  # not the local store
        # and a stdio server in a container, beside the session on the owner's network; only images
        # the operator lists run as MCP servers
        proc = mc.run("-r", "t", "mcp", "add", "evil", "--image", "debian:bookworm-slim", "--port", "80")
        assert proc.returncode != 0 and "sessions.mcp_images" in proc.stderr, proc.stderr
        mc.ok("-r", "t", "mcp", "add", "piped", "--image", build_test_image(HERE, "mcpserver"), "--command", "stdio")
        proc = mc.run("-r", "t", "session", "create", "--driver", "opencode", "--mcp", "tools", "--mcp", "piped",
                      "--network", net, "--no-connect", "--rm", "--run", "opencode mcp list", timeout=1800)
        assert proc.returncode == 0 and proc.stdout.count("connected") == 2, proc.stdout + proc.stderr
        for _ in range(100):  # mcd closes an --rm session (and its servers) as its command ends
            if not docker("ps", "-aq", "--filter", f"label=mc.owner={mc.owner}").split():
                break
            time.sleep(0.1)
        assert docker("ps", "-aq", "--filter", f"label=mc.owner={mc.owner}").split() == []
        for path in (tmp_path / "mcd").rglob("*"):
            if path.is_file():
                assert TOKEN.encode() not in path.read_bytes(), path
        bad = mc.run("-r", "t", "session", "create", "--driver", "aider", "--mcp", "tools", "--no-connect")
        assert bad.returncode == 2 and bad.stderr.splitlines()[-1] == \
            "mc: error: driver aider does not take MCP servers (--mcp tools)"
        assert mc.run("-r", "t", "mcp", "add", "x", "http://h/mcp", "--header", "Bad Name=1").returncode == 2
        mc.ok("-r", "t", "mcp", "remove", "tools")
        assert mc.run("-r", "t", "mcp", "show", "tools").returncode == 3
    finally:
        daemon.stop()


def _sidecars(session_id: str) -> list[str]:
    return docker("ps", "-aq", "--filter", f"label=mc.sidecar-of={session_id}").split()


@pytest.mark.parametrize("driver", list(MCP_READBACK))
def test_servers_in_containers_beside_the_session(docker_mc, driver):
    """A server with a port, and a stdio one through the bridge, run beside the session on its
    network with its hardening; the tool reaches both; a secret variable reaches the server but not
    docker inspect; everything goes with the session."""
    mc = docker_mc
    image = build_test_image(HERE, "mcpserver")
    mc.ok("mcp", "add", "boxed", "--image", image, "--port", "8000", "-e", "MCP_MARKER=boxed",
          "-e", f"SERVICE_TOKEN={TOKEN}")
    mc.ok("mcp", "add", "piped", "--image", image, "--command", "stdio")
    extra = ["-e", "OPENAI_API_KEY=none", "--model", "openai/gpt-4o"] if driver == "goose" else []
    names = ["boxed", "piped"]
    session = json.loads(mc.ok("session", "create", "--driver", driver, *(f"--mcp={n}" for n in names), *extra,
                               "--no-connect", "-o", "json", timeout=1800))
    sid = session["id"]
    cars = _sidecars(sid)
    assert len(cars) == len(names) + (len(names) - 1)  # each server, and piped's bridge
    out = mc.ok("session", "exec", sid, "--", "bash", "-lc", MCP_READBACK[driver][0], timeout=300)
    for name in names:
        assert name in out, out[-3000:]
    if driver != "goose":
        assert out.count("onnected") >= len(names) and "Failed" not in out, out[-3000:]
    else:
        assert "Failed to start extension" not in out and "extensions ready" in out, out[-3000:]
    boxed = f"{session['container']}-mcp-boxed"
    assert TOKEN not in docker("inspect", *cars)
    assert TOKEN in docker("exec", boxed, "sh", "-c", "cat /proc/[0-9]*/environ | tr '\\0' '\\n'")
    assert docker("exec", boxed, "ls", "/run/mc-mcp").strip() == ""  # the file was read and removed
    facts = json.loads(docker("inspect", boxed))[0]["HostConfig"]
    assert facts["CapDrop"] == ["ALL"] and "no-new-privileges" in facts["SecurityOpt"] and facts["PidsLimit"] > 0
    assert facts["NetworkMode"] == json.loads(docker("inspect", session["container"]))[0]["HostConfig"]["NetworkMode"]
    mc.ok("session", "close", sid)
    assert _sidecars(sid) == []


def test_a_session_for_one_command_takes_its_servers_with_it(docker_mc):
    mc = docker_mc
    image = build_test_image(HERE, "mcpserver")
    mc.ok("mcp", "add", "piped", "--image", image, "--command", "stdio")
    proc = mc.run("session", "create", "--driver", "opencode", "--mcp", "piped", "--no-connect", "--rm",
                  "--run", "opencode mcp list", timeout=1800)
    assert proc.returncode == 0 and "connected" in proc.stdout, proc.stdout + proc.stderr
    assert docker("ps", "-aq", "--filter", f"label=mc.owner={mc.owner}").split() == []
    assert docker("volume", "ls", "-q", "--filter", f"label=mc.owner={mc.owner}").split() == []  # the bridge's
    # an image that is not there and cannot be pulled: one line, nothing left
    mc.ok("mcp", "add", "ghost", "--image", "mc-test-no-such-image:1", "--port", "8000")
    proc = mc.run("session", "create", "--driver", "opencode", "--mcp", "ghost", "--no-connect")
    assert proc.returncode != 0 and proc.stderr.splitlines()[-1].startswith("mc: error: MCP server ghost: "), \
        proc.stderr
    assert docker("ps", "-aq", "--filter", f"label=mc.owner={mc.owner}").split() == []


def test_mcd_removes_the_servers_of_a_session_removed_behind_its_back(docker_mc, tmp_path):
    from tests.mcd_harness import start_mcd

    mc = docker_mc
    daemon = start_mcd(tmp_path, mc.env, sessions={"mcp_images": ["mc-test-mcpserver:*"]})
    try:
        mc.ok("remote", "add", "t", daemon.url)
        mc.ok("-r", "t", "mcp", "add", "boxed", "--image", build_test_image(HERE, "mcpserver"), "--port", "8000")
        session = json.loads(mc.ok("-r", "t", "session", "create", "--driver", "opencode", "--mcp", "boxed",
                                   "--no-connect", "-o", "json", timeout=1800))
        assert len(_sidecars(session["id"])) == 1
        docker("rm", "-f", "-v", session["container"])
        for _ in range(100):
            if not _sidecars(session["id"]):
                break
            time.sleep(0.1)
        assert _sidecars(session["id"]) == []
    finally:
        daemon.stop()


def test_closing_several_sessions_removes_all_their_servers_and_volumes(docker_mc):
    mc = docker_mc
    mc.ok("mcp", "add", "piped", "--image", build_test_image(HERE, "mcpserver"), "--command", "stdio")
    ids = [json.loads(mc.ok("session", "create", "--driver", "opencode", "--mcp", "piped", "--no-connect",
                            "-o", "json", timeout=1800))["id"] for _ in range(2)]
    assert all(len(_sidecars(sid)) == 2 for sid in ids)
    mc.ok("session", "close", "--all")
    for sid in ids:
        assert _sidecars(sid) == []
        assert docker("volume", "ls", "-q", "--filter", f"label=mc.sidecar-of={sid}").split() == []


@pytest.mark.parametrize("driver", ["claude-code", "opencode"])
def test_mcp_servers_stay_reachable_under_an_egress_policy(docker_mc, mcp_server, driver):
    """With a policy the server's host is allowed by itself, and its network (--network) is the
    proxy's: the tool reaches the server through the proxy."""
    mc = docker_mc
    net, url = mcp_server
    mc.ok("mcp", "add", "tools", url, "--header", f"Authorization=Bearer {TOKEN}")
    command, expected = MCP_READBACK[driver]
    host = url.split("/")[2].split(":")[0]
    probe = f"(echo > /dev/tcp/{host}/8000) 2>/dev/null && echo direct-open || echo direct-closed"
    proc = mc.run("session", "create", "--driver", driver, "--mcp", "tools", "--network", net, "--egress-exact",
                  "--no-connect", "--rm", "--run", f"{command}; {probe}", timeout=1800)
    assert proc.returncode == 0 or "direct-closed" in proc.stdout, proc.stderr[-3000:]
    for text in expected:
        assert text in proc.stdout, proc.stdout[-3000:]
    assert "direct-closed" in proc.stdout  # only through the proxy
