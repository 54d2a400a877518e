"""The session plan: every rule about a new session, without docker, in milliseconds."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mc import contract
from mc.drivers import manifest
from mc.drivers.registry import Driver
from mc.engine import labels
from mc.engine.models import SessionSpec, Volume
from mc.engine.plan import owner_network, plan_session
from mc.engine.scope import Scope
from mc.engine.settings import EngineSettings, Limits
from mc.errors import InvalidArgument, PermissionDenied
from mc.projects.store import ProjectAccess

SENTINEL = "sk-PLAN-SENTINEL-91c2"
MANIFEST = """
name: tool
environment:
  - {name: PLAIN_DEFAULT, default: shown}
  - {name: SECRET_DEFAULT, default: hidden-default, sensitive: true}
  - {name: MC_PROJECT_TYPE, default: svn}
connect: {command: tool-start}
persistent_configs:
  - {source: "~/.tool", target: /mc-config/tool/home}
"""
LOCAL = EngineSettings(uid=1000, gid=1000, service_env={"ANTHROPIC_API_KEY": SENTINEL})
REMOTE = EngineSettings(uid=1000, gid=1000, host_access=False, limits=Limits("2", "1g", 256), limits_are_caps=True,
                        allowed_networks=("team-db",), network_per_owner=True, instance="i-1")


def driver(text: str = MANIFEST) -> Driver:
    return Driver("tool", Path("/drivers/tool"), "builtin", manifest.parse(yaml.safe_load(text), "mc-driver.yaml"))


def plan(spec: SessionSpec, settings: EngineSettings = LOCAL, scope: Scope | None = None, **kw):
    return plan_session(spec, driver(), "mc-driver-tool:abc", settings, scope or Scope.local("me"),
                        session_id="0123abcd", created="2026-01-02T03:04:05Z", version="9.9", **kw)


def test_a_plain_session():
    p = plan(SessionSpec(driver="tool"))
    assert p.container == "mc-0123abcd" and p.image == "mc-driver-tool:abc" and p.network == "mc-network"
    assert p.labels[labels.OWNER] == "me" and p.labels[labels.CONNECT] == '["tool-start"]'
    assert p.env["MC_UID"] == "1000" and p.env["PLAIN_DEFAULT"] == "shown"
    args = p.create_args()
    assert args[-1] == "mc-driver-tool:abc"
    for flag in ("--init", "no-new-privileges", "--pull=never"):
        assert flag in args
    assert args[args.index("--cap-drop") + 1] == "ALL" and "SYS_ADMIN" not in args
    assert "--mount" in args and f"type=tmpfs,destination={contract.RUN_DIR},tmpfs-mode=0755" in args


def test_what_the_user_gives_is_private_and_never_in_argv():
    p = plan(SessionSpec(driver="tool", env={"MY_TOKEN": SENTINEL + "x", "PLAIN": "also-private"}))
    args = " ".join(p.create_args())
    assert SENTINEL not in args and "also-private" not in args and "hidden-default" not in args
    env_file = p.secret_files[contract.ENV_FILE]
    for value in (SENTINEL, SENTINEL + "x", "also-private", "hidden-default"):
        assert f"={value}\0".encode() in env_file
    # -e beats the configured services, which beat the driver's defaults
    p = plan(SessionSpec(driver="tool", env={"ANTHROPIC_API_KEY": "mine", "PLAIN_DEFAULT": "changed"}))
    assert b"ANTHROPIC_API_KEY=mine\0" in p.secret_files[contract.ENV_FILE] and "PLAIN_DEFAULT" not in p.env
    # mc's own names never come from a manifest
    assert "MC_PROJECT_TYPE" not in plan(SessionSpec(driver="tool")).env


@pytest.mark.parametrize("env", [{"MC_UID": "0"}, {"X=$(id)": "v"}, {"A\nB": "v"}, {"OK": "a\0b"},
                                 {f"V{i}": "x" for i in range(300)}, {"BIG": "x" * (200 * 1024)}])
def test_bad_env_is_refused(env):
    with pytest.raises(InvalidArgument, match="-e"):
        plan(SessionSpec(driver="tool", env=env))


def test_required_variables():
    d = driver("name: tool\nenvironment:\n  - {name: NEEDED, required: true}\n")
    with pytest.raises(InvalidArgument, match="requires NEEDED"):
        plan_session(SessionSpec(driver="tool"), d, "img", LOCAL, Scope.local("me"), session_id="1", created="",
                     version="")


def test_remote_sessions_never_reach_the_host():
    user = Scope.user("alice")
    with pytest.raises(InvalidArgument, match="local directory"):
        plan(SessionSpec(driver="tool", mount="/home/alice"), REMOTE, user)
    with pytest.raises(InvalidArgument, match="host paths"):
        plan(SessionSpec(driver="tool", volumes=[Volume("mcd-state", "/x")]), REMOTE, user)
    p = plan(SessionSpec(driver="tool"), REMOTE, user, default_volumes=(Volume("/etc", "/host-etc"),))
    assert "/etc:/host-etc" not in p.create_args()  # the configured defaults are local mode's
    for net in ("host", "none", "container:abc", "bridge"):
        with pytest.raises(InvalidArgument, match="not allowed for a remote session"):
            plan(SessionSpec(driver="tool", networks=[net]), REMOTE, user)
    with pytest.raises(PermissionDenied, match=r"sessions\.networks"):
        plan(SessionSpec(driver="tool", networks=["someone-elses-backend"]), REMOTE, user)
    assert plan(SessionSpec(driver="tool", networks=["team-db"]), REMOTE, user).extra_networks == ("team-db",)


def test_limits_are_maxima_for_remote_callers():
    user = Scope.user("alice")
    p = plan(SessionSpec(driver="tool"), REMOTE, user)
    assert (p.pids_limit, p.cpus, p.memory) == (256, "2", "1g")
    p = plan(SessionSpec(driver="tool", pids_limit=100, cpus="0.5", memory="512m"), REMOTE, user)
    assert (p.pids_limit, p.cpus, p.memory) == (100, "0.5", "512m")
    for ask in ({"pids_limit": 4294967295}, {"pids_limit": 257}, {"cpus": "64"}, {"memory": "512g"},
                {"memory": "1.5g"}):
        with pytest.raises((PermissionDenied, InvalidArgument)):
            plan(SessionSpec(driver="tool", **ask), REMOTE, user)
    # locally the configured values are defaults, not caps
    local = EngineSettings(limits=Limits("1", "1g", 100))
    assert plan(SessionSpec(driver="tool", pids_limit=5000, memory="8g"), local).pids_limit == 5000


@pytest.mark.parametrize("value", ["lots", "-1", "1e9", "0", "2;rm"])
def test_limit_formats(value):
    with pytest.raises(InvalidArgument):
        plan(SessionSpec(driver="tool", cpus=value))
    with pytest.raises(InvalidArgument):
        plan(SessionSpec(driver="tool", memory=value + "x"))


def test_each_owner_has_a_network_of_their_own():
    a, b = plan(SessionSpec(driver="tool"), REMOTE, Scope.user("alice")), plan(SessionSpec(driver="tool"), REMOTE,
                                                                                Scope.user("bob"))
    assert a.network != b.network and a.network.startswith("mc-network-") and a.network_owner == "alice"
    assert owner_network(REMOTE, "alice") == a.network
    assert plan(SessionSpec(driver="tool")).network == "mc-network"  # locally: one shared network


def test_persistent_config_locally_a_directory_remotely_a_volume_per_user_and_project():
    project = ProjectAccess("example.org/team/app", "https://example.org/team/app.git")
    local = plan(SessionSpec(driver="tool", project="x"), project=project, persist_root=Path("/data"))
    assert local.persist_dir is not None and str(local.persist_dir).startswith("/data/projects/")
    assert f"{local.persist_dir}:/mc-config" in local.create_args()
    remote = plan(SessionSpec(driver="tool", project="x"), REMOTE, Scope.user("alice"), project=project)
    volume = next(m for m in remote.mounts if m.target == "/mc-config")
    assert volume.source.startswith("mc-config-") and volume.owner_label == "alice" and remote.persist_dir is None
    other = plan(SessionSpec(driver="tool", project="x"), REMOTE, Scope.user("bob"), project=project)
    assert next(m for m in other.mounts if m.target == "/mc-config").source != volume.source
    # a user carried over from before subjects keeps the volumes of their old name
    old = plan(SessionSpec(driver="tool", project="x"), REMOTE, Scope.user("sub-1", aliases=("alice",)),
               project=project)
    assert next(m for m in old.mounts if m.target == "/mc-config").source == volume.source


def test_project_credentials_are_files_and_only_for_the_projects_host():
    token = ProjectAccess("git.example/a/b", "https://git.example:8443/a/b.git", "token", SENTINEL, "bot")
    p = plan(SessionSpec(driver="tool", project="x"), project=token)
    assert p.secret_files[contract.GIT_TOKEN_FILE] == SENTINEL.encode() and SENTINEL not in " ".join(p.create_args())
    assert (p.env["MC_GIT_PROTOCOL"], p.env["MC_GIT_HOST"], p.env["MC_GIT_PORT"]) == ("https", "git.example", "8443")
    assert p.env["MC_GIT_TOKEN"] == f"{contract.SECRETS_DIR}/{contract.GIT_TOKEN_FILE}"
    key = ProjectAccess("git.example/a/b", "git@git.example:a/b.git", "ssh", "-----BEGIN KEY-----")
    p = plan(SessionSpec(driver="tool", project="x"), project=key)
    assert p.secret_files[contract.GIT_SSH_KEY_FILE].endswith(b"\n") and p.env["MC_GIT_PROTOCOL"] == "ssh"


def test_labels_say_whose_and_which_server():
    p = plan(SessionSpec(driver="tool", name="web", remove_on_exit=True), REMOTE, Scope.user("alice"))
    assert p.labels[labels.OWNER] == "alice" and p.labels[labels.INSTANCE] == "i-1" and p.labels[labels.REMOVE] == "1"
    assert p.hostname == "web"
    assert labels.INSTANCE not in plan(SessionSpec(driver="tool")).labels


@pytest.mark.parametrize("name", ["--privileged", "a b", "x" * 64, "../x"])
def test_names_cannot_become_flags_or_paths(name):
    with pytest.raises(InvalidArgument, match="--name"):
        plan(SessionSpec(driver="tool", name=name))


def test_ports_and_ssh():
    p = plan(SessionSpec(driver="tool", ports=[8080, 8080, 22], ssh=True, ssh_public_key="ssh-ed25519 AAAA x"))
    assert p.ports == (22, 8080) and "SYS_CHROOT" in p.caps and p.env["MC_SSH_AUTHORIZED_KEY"] == "ssh-ed25519 AAAA x"
    with pytest.raises(InvalidArgument, match="--port"):
        plan(SessionSpec(driver="tool", ports=[70000]))
    with pytest.raises(InvalidArgument, match="--ssh"):
        plan(SessionSpec(driver="tool", ssh=True, ssh_public_key="-----BEGIN OPENSSH PRIVATE KEY-----"))
    with pytest.raises(InvalidArgument, match="at most"):
        plan(SessionSpec(driver="tool", ports=list(range(1000, 1100))))


MODEL_TOOL = MANIFEST + """
model:
  env: {TOOL_PROVIDER: "{provider}", TOOL_CONFIG: '{"model": "{provider}/{model}"}'}
  providers: {anthropic: ANTHROPIC_API_KEY, openai: OPENAI_API_KEY, ollama: }
"""


def model_plan(model: str, env: dict[str, str] | None = None, text: str = MODEL_TOOL, settings=LOCAL):
    return plan_session(SessionSpec(driver="tool", model=model, env=env or {}), driver(text), "img", settings,
                        Scope.local("me"), session_id="0123abcd", created="2026-01-02T03:04:05Z", version="9.9")


def test_a_model_reaches_the_tools_own_variables():
    p = model_plan("anthropic/claude-sonnet-4-5")
    assert p.env["TOOL_PROVIDER"] == "anthropic"
    assert p.env["TOOL_CONFIG"] == '{"model": "anthropic/claude-sonnet-4-5"}'
    assert p.warnings == ()  # the configured key is there (LOCAL's service_env)
    nested = model_plan("ollama/library/qwen3:8b")  # a model name may have slashes and tags
    assert nested.env["TOOL_CONFIG"] == '{"model": "ollama/library/qwen3:8b"}' and nested.warnings == ()


def test_a_provider_without_its_key_is_a_warning_not_an_error():
    p = model_plan("openai/gpt-4o")
    assert p.env["TOOL_PROVIDER"] == "openai"
    assert p.warnings == ("OPENAI_API_KEY is not set: tool needs it, or a login of its own, to use openai",)
    assert model_plan("openai/gpt-4o", env={"OPENAI_API_KEY": "k"}).warnings == ()


@pytest.mark.parametrize(("model", "text", "env", "message"), [
    ("anthropic/x", MANIFEST, None, "driver tool does not take --model"),
    ("mistral/large", MODEL_TOOL, None, "cannot use provider 'mistral' .it takes anthropic, ollama, openai."),
    ("claude-sonnet", MODEL_TOOL, None, "expected PROVIDER/MODEL"),
    ('anthropic/x", "evil": "1', MODEL_TOOL, None, "expected PROVIDER/MODEL"),
    ("anthropic/" + "m" * 300, MODEL_TOOL, None, "expected PROVIDER/MODEL"),
    ("anthropic/x", MODEL_TOOL, {"TOOL_PROVIDER": "openai"}, "--model and -e TOOL_PROVIDER both choose"),
])
def test_a_model_the_driver_cannot_take_is_one_clear_error(model, text, env, message):
    with pytest.raises(InvalidArgument, match=message):
        model_plan(model, env=env, text=text)


def test_a_default_model_yields_to_the_driver_and_to_e():
    text = MANIFEST + "model:\n  env: {TOOL_MODEL: '{provider}/{model}'}\n  providers: {anthropic: ANTHROPIC_API_KEY}\n"

    def plan_with(spec: SessionSpec):
        return plan_session(spec, driver(text), "img", LOCAL, Scope.local("me"), session_id="0123abcd",
                            created="", version="1")

    assert plan_with(SessionSpec(default_model="anthropic/opus")).env["TOOL_MODEL"] == "anthropic/opus"
    assert "TOOL_MODEL" not in plan_with(SessionSpec(default_model="openai/gpt-4o")).env  # not its provider
    mine = plan_with(SessionSpec(default_model="anthropic/opus", env={"TOOL_MODEL": "mine"}))
    assert "TOOL_MODEL" not in mine.env and b"TOOL_MODEL=mine" in mine.secret_files[contract.ENV_FILE]
    assert plan_with(SessionSpec(model="anthropic/x", default_model="anthropic/opus")).env["TOOL_MODEL"] == \
        "anthropic/x"
    with pytest.raises(InvalidArgument, match="both choose the model"):
        plan_with(SessionSpec(model="anthropic/x", env={"TOOL_MODEL": "mine"}))
    assert "TOOL_MODEL" not in plan(SessionSpec(default_model="anthropic/opus")).env  # a driver without models


def test_secrets_are_kept_in_a_volume_of_the_sessions_own_never_in_its_layer():
    p = plan(SessionSpec(driver="base", env={"TOKEN": "x"}))
    kept = [m for m in p.mounts if m.target == contract.INCOMING_DIR]
    assert len(kept) == 1 and kept[0].kind == "volume" and kept[0].source == ""  # anonymous: rm -v removes it
    assert kept[0].argv() == ["-v", contract.INCOMING_DIR]
    bare = plan_session(SessionSpec(), Driver("t", Path("/d/t"), "builtin", manifest.parse({"name": "t"}, "m")),
                        "img", EngineSettings(), Scope.local("me"), session_id="0123abcd",
                        created="2026-01-02T03:04:05Z", version="1")
    assert not bare.secret_files and all(m.target != contract.INCOMING_DIR for m in bare.mounts)
