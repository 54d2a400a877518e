"""Egress policies: which names a session may reach, and how its plan changes (pure, no engine)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from mc import contract
from mc.drivers import manifest
from mc.drivers.registry import Driver
from mc.engine import egress, labels
from mc.engine.models import SessionSpec
from mc.engine.plan import owner_network, plan_session
from mc.engine.scope import Scope
from mc.engine.settings import EngineSettings
from mc.errors import InvalidArgument, PermissionDenied
from mc.mcp.servers import McpServer

TOOL = "name: t\nmcp: {format: goose}\negress: [api.example.com, '*.registry.example.org']\n"


def driver(text: str = TOOL) -> Driver:
    return Driver("t", Path("/d/t"), "builtin", manifest.parse(yaml.safe_load(text), "mc-driver.yaml"))


def plan(spec: SessionSpec, settings: EngineSettings | None = None, mcps: tuple[McpServer, ...] = ()):
    return plan_session(spec, driver(), "img", settings or EngineSettings(), Scope.local("me"),
                        session_id="0123abcd", created="2026-01-02T03:04:05Z", version="1", mcps=mcps)


@pytest.mark.parametrize("value,expected", [
    ("Example.COM.", "example.com"), ("*.example.com", "*.example.com"), ("a-b.c1.io", "a-b.c1.io")])
def test_names_are_normalised(value, expected):
    assert egress.check_domain(value) == expected


@pytest.mark.parametrize("value", ["10.0.0.1", "[::1]", "*.10.0.0.1", "", "a..b", "-a.b", "a_b.c", "ex ample.com",
                                   "*", "a.*.b", "x" * 64 + ".com", "http://example.com"])
def test_what_is_not_a_name_is_refused(value):
    with pytest.raises(InvalidArgument, match="--allow-domain"):
        egress.check_domain(value)


def test_no_policy_unless_asked():
    assert egress.decide([], False, None, True, ("api.example.com",), ()) == (None, [])


def test_the_callers_names_the_drivers_and_the_mcp_hosts():
    policy, warnings = egress.decide(["a.example.com"], False, None, True, ("api.example.com",), ("mcp.example.net",))
    assert policy == egress.EgressPolicy(("a.example.com", "api.example.com", "mcp.example.net")) and not warnings


def test_exact_is_only_the_callers_names():
    policy, _ = egress.decide([], True, ("conf.example.com",), True, ("api.example.com",), ())
    assert policy == egress.EgressPolicy(())
    assert policy.label == "-"
    policy, _ = egress.decide([], True, None, True, ("api.example.com",), ("mcp.example.net",))
    assert policy == egress.EgressPolicy(("mcp.example.net",))  # its MCP servers are part of its world


def test_a_configured_list_applies_to_every_session():
    policy, _ = egress.decide([], False, ("conf.example.com",), True, (), ())
    assert policy is not None and policy.domains == ("conf.example.com",)


def test_any_means_any_public_name_through_the_proxy():
    policy, _ = egress.decide(["a.example.com"], False, ("*",), False, (), ())
    assert policy == egress.EgressPolicy((), open=True) and policy.label == "*"


def test_an_operator_list_cannot_be_widened():
    base = ("*.example.com", "git.example.org")
    policy, warnings = egress.decide(["api.example.com"], False, base, False, ("api.other.com",), ())
    assert policy is not None and policy.domains == base  # covered by the wildcard: nothing new
    assert warnings == ["api.other.com left out of the session's egress: this server's policy does not allow it"]
    with pytest.raises(PermissionDenied, match=r"evil\.test"):
        egress.decide(["evil.test"], False, base, False, (), ())
    with pytest.raises(PermissionDenied, match=r"\*.example.org"):
        egress.decide(["*.example.org"], True, base, False, (), ())  # wider than git.example.org


def test_counts_are_bounded():
    with pytest.raises(InvalidArgument, match="at most 64"):
        egress.decide([f"h{i}.example.com" for i in range(65)], False, None, True, (), ())


def test_covers():
    assert egress.covers(("*.example.com",), "a.b.example.com")
    assert not egress.covers(("*.example.com",), "example.com")
    assert not egress.covers(("*.example.com",), "badexample.com")
    assert egress.covers(("*.example.com",), "*.a.example.com")
    assert not egress.covers(("a.example.com",), "*.a.example.com")


def test_a_session_with_a_policy_is_on_an_internal_network_behind_its_proxy():
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBuJq0J9QmM0Cm0ZQ5uYVq1y2YdM+0NfVJ1mW0Kc3Yq9 u@h"
    p = plan(SessionSpec(driver="t", allow_domains=["github.com"], ports=["8080"], ssh=True, ssh_public_key=key))
    assert p.egress is not None and p.network_internal and p.network == "mc-network-internal"
    assert p.egress.container == "mc-0123abcd-egress" and p.egress.network == "mc-egress"
    assert p.egress.policy.domains == ("github.com", "api.example.com", "*.registry.example.org")
    assert p.egress.ports == (22, 8080) and p.ports == ()  # published on the proxy, forwarded to the session
    args = p.create_args()
    assert "-p" not in args and args[args.index("--network") + 1] == "mc-network-internal"
    assert "timeout:1" in args and "attempts:1" in args  # names outside the session's network fail fast
    assert p.env["HTTPS_PROXY"] == p.env["http_proxy"] == "http://mc-0123abcd-egress:3128"
    assert p.env["NODE_USE_ENV_PROXY"] == "1" and p.env["MC_EGRESS_PROXY"] == "mc-0123abcd-egress:3128"
    assert p.labels[labels.EGRESS] == "github.com,api.example.com,*.registry.example.org"
    assert p.extra_networks == () and p.egress.networks == ()
    proxy = p.sidecar_args()
    assert proxy[proxy.index("--network") + 1] == "mc-network-internal" and "ALL" in proxy
    assert json.loads(p.egress.policy.to_json()) == {"open": False, "domains": list(p.egress.policy.domains)}


def test_no_policy_no_proxy():
    p = plan(SessionSpec(driver="t", ports=["8080"]))
    assert p.egress is None and p.network == "mc-network" and p.ports == (8080,)
    assert labels.EGRESS not in p.labels and "HTTPS_PROXY" not in p.env


def test_mcp_servers_stay_reachable_under_a_policy():
    remote = McpServer("docs", url="https://mcp.example.net/mcp")
    boxed = McpServer("box", image="img/box", port=8000)
    literal = McpServer("raw", url="http://10.1.2.3:9000/mcp")
    p = plan(SessionSpec(driver="t", allow_domains=["github.com"]), mcps=(remote, boxed, literal))
    assert p.egress is not None and "mcp.example.net" in p.egress.policy.domains
    assert "mc-0123abcd-mcp-box" in p.env["NO_PROXY"].split(",")  # its sidecar: direct, on the session's network
    assert any("10.1.2.3" in w for w in p.warnings)


def test_through_mcd_each_owner_has_an_internal_network_and_the_operator_sets_the_ceiling():
    mcd = EngineSettings(host_access=False, network_per_owner=True, egress=("*.example.com",), egress_widen=False)
    p = plan_session(SessionSpec(driver="t"), driver(), "img", mcd, Scope.local("alice"), session_id="0123abcd",
                     created="t", version="1")
    assert p.network == owner_network(mcd, "alice", internal=True) != owner_network(mcd, "bob", internal=True)
    assert p.network.endswith("-internal") and p.egress is not None
    assert p.egress.policy.domains == ("*.example.com",)  # the driver's api.example.com is within it
    assert any("registry.example.org" in w for w in p.warnings)
    with pytest.raises(PermissionDenied):
        plan_session(SessionSpec(driver="t", allow_domains=["evil.test"]), driver(), "img", mcd, Scope.local("alice"),
                     session_id="0123abcd", created="t", version="1")


def test_a_manifest_lists_names_only():
    with pytest.raises(InvalidArgument, match="egress: expected domain names"):
        manifest.parse(yaml.safe_load("name: t\negress: [10.0.0.1]\n"), "mc-driver.yaml")


def test_the_proxy_matches_names_as_the_engine_does():
    """The addon (drivers/_images/egress-proxy/mc_egress.py) holds its own copy of the rule; its
    ``refusal`` must agree with ``covers`` (mitmproxy itself is not needed to check that)."""
    source = (Path(contract.__file__).parents[1] / "drivers/_images/egress-proxy/mc_egress.py").read_text()
    start, end = source.index("def _address"), source.index("class Egress")
    namespace: dict = {}
    prelude = "import ipaddress, json\nfrom pathlib import Path\nKEYS = Path('/nonexistent')\n"
    exec(prelude + source[start:end], namespace)  # our own file
    refusal = namespace["refusal"]
    domains = ("github.com", "*.example.com")
    for host, allowed in [("github.com", True), ("api.github.com", False), ("a.example.com", True),
                          ("example.com", False), ("allowed.test.evil.test", False), ("GitHub.com.", True),
                          ("10.0.0.1", False), ("[::1]", False)]:
        assert (refusal(host, False, domains) == "") is allowed, host
        assert egress.covers(domains, host.lower().rstrip(".")) is allowed or egress.is_address(host), host
    assert refusal("93.184.215.14", True, ()) == ""  # open: a public address
    assert refusal("10.0.0.1", True, ()) and refusal("127.0.0.1", True, ()) and refusal("169.254.169.254", True, ())
    assert sys.version_info >= (3, 11)


def test_api_keys_stay_out_of_a_session_with_a_policy():
    key = "sk-ant-api03-" + "S" * 40
    settings = EngineSettings(service_env={"ANTHROPIC_API_KEY": key, "LANGFUSE_URL": "https://lf.example.com"},
                              egress_ca=("/etc/corp-ca.pem",))
    spec = SessionSpec(driver="t", allow_domains=["github.com"], env={"OPENAI_API_KEY": "sk-proj-" + "O" * 30})
    p = plan_session(spec, driver(), "img", settings, Scope.local("me"), session_id="0123abcd", created="t",
                     version="1", salt=b"s" * 16)
    assert p.egress is not None and p.egress.upstream_ca == ("/etc/corp-ca.pem",)
    swaps = {k.name: k for k in p.egress.keys}
    assert set(swaps) == {"ANTHROPIC_API_KEY", "OPENAI_API_KEY"}
    anthropic = swaps["ANTHROPIC_API_KEY"]
    assert anthropic.value == key and anthropic.domains == ("api.anthropic.com",)
    assert anthropic.placeholder.startswith("sk-ant-api03-") and len(anthropic.placeholder) == len(key)
    assert swaps["OPENAI_API_KEY"].placeholder.startswith("sk-proj-")
    secrets = p.secret_files[contract.ENV_FILE]
    assert key.encode() not in secrets and anthropic.placeholder.encode() in secrets
    assert b"https://lf.example.com" in secrets  # not a provider's key: as before
    assert key not in " ".join(p.create_args()) and p.env["SSL_CERT_FILE"] == contract.CA_BUNDLE
    assert p.env["MC_EGRESS_CA"] == "1" and json.loads(p.egress.keys_json())[0]["value"] == key
    other = plan_session(spec, driver(), "img", settings, Scope.local("me"), session_id="0123abcd", created="t",
                         version="1", salt=b"t" * 16)
    assert other.egress is not None and other.egress.keys[0].placeholder != anthropic.placeholder
    # without a policy the key is the session's, as before
    plain = plan_session(SessionSpec(driver="t"), driver(), "img", settings, Scope.local("me"), session_id="x",
                         created="t", version="1")
    assert key.encode() in plain.secret_files[contract.ENV_FILE] and "MC_EGRESS_CA" not in plain.env


def test_extra_networks_are_the_proxys_under_a_policy():
    p = plan(SessionSpec(driver="t", allow_domains=["db.team"], networks=["team"]))
    assert p.extra_networks == () and p.egress is not None and p.egress.networks == ("team",)
    assert plan(SessionSpec(driver="t", networks=["team"])).extra_networks == ("team",)
