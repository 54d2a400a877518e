"""The contract: the same session tests against local mode and against mcd (in-process, a real
``mcd serve`` process on a unix socket, one on TLS with OIDC auth, and one placing sessions on a
Docker Swarm cluster). A feature is done when every backend passes; what a cluster does not offer
yet is a clear error there, checked as such."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from mc.docker import Docker
from mc.engine.local import LocalBackend
from mc.engine.models import SessionSpec
from mc.engine.scope import Scope
from mc.engine.settings import EngineSettings
from mc.errors import Conflict, InvalidArgument, McError, NotFound
from tests.mcd_harness import McdProcess, free_port, mcd_env, remove_containers, write_config

pytestmark = pytest.mark.engine
TOKEN = "ghp_CONTRACTSENTINEL42"
# The network the error test names is one mcd lets sessions join (so it answers "does not exist",
# as local mode does, rather than "not allowed").
CONTRACT_SESSIONS = {"networks": ["mc-contract-missing"]}


@pytest.fixture(scope="module")
def tls_mcd(engine, tmp_path_factory):
    """mcd as a process on TLS with OIDC auth, and a way to log in a throw-away user."""
    import grpc

    from mc.api.v1 import auth_pb2, auth_pb2_grpc
    from tests.conftest import make_env
    from tests.oidc_harness import Browser, Provider, self_signed

    tmp = tmp_path_factory.mktemp("tls")
    provider = Provider(access_ttl=3600)
    cert, key = self_signed(tmp)
    port = free_port()
    config = write_config(tmp / "mcd", sessions=CONTRACT_SESSIONS, server={"host": "127.0.0.1", "port": port,
                                               "tls": {"cert": str(cert), "key": str(key)}},
                          auth={"issuer": provider.issuer, "client_id": "mc-service",
                                "client_secret": "mc-service-secret"})
    env = mcd_env({**make_env(tmp).env, **{k: v for k, v in os.environ.items() if k == "MC_EXTRA_CA_CERTS"}})
    proc = McdProcess(config, env, tmp / "mcd" / "mcd.sock", tmp / "mcd.log").start()
    target = f"127.0.0.1:{port}"

    def login(user: str) -> str:
        channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(cert.read_bytes()))
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        redirect = "http://127.0.0.1:9/callback"
        start = stub.Login(auth_pb2.LoginRequest(redirect_uri=redirect), timeout=10)
        code, state = Browser(user).authorize_code(start.authorization_url, redirect)
        tokens = stub.Callback(auth_pb2.CallbackRequest(code=code, state=state), timeout=10)
        channel.close()
        return tokens.access_token

    yield f"grpcs://{target}", str(cert), login
    proc.stop()
    provider.stop()


def _inspect(container: str) -> str:
    import subprocess

    return subprocess.run(["docker", "inspect", container], capture_output=True, text=True).stdout


@pytest.fixture(params=["local", "mcd-inprocess", "mcd-process", "mcd-tls", "mcd-swarm"])
def backend(request, engine, tmp_path, monkeypatch):
    owner = f"test-{secrets.token_hex(4)}"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", os.environ.get("MC_TEST_CACHE", "/tmp/mc-test-cache"))
    monkeypatch.setenv("MC_OWNER", owner)
    if Path("/usr/local/share/ca-certificates").is_dir():
        monkeypatch.setenv("MC_EXTRA_CA_CERTS", "/usr/local/share/ca-certificates")
    kind = request.param
    stop = None
    inspect = _inspect
    if kind == "mcd-swarm":
        from mc.remote.client import RemoteBackend
        from tests.conftest import driver_image_on_manager, swarm_config

        _, cluster = request.getfixturevalue("swarm")
        env = mcd_env(dict(os.environ))
        driver_image_on_manager(cluster, env)
        sections = swarm_config(cluster)
        sections["sessions"].update(CONTRACT_SESSIONS)
        config = write_config(tmp_path / "mcd", **sections)
        proc = McdProcess(config, env, tmp_path / "mcd" / "mcd.sock", tmp_path / "mcd.log").start()
        be = RemoteBackend("swarm", proc.url)
        stop = proc.stop

        def inspect(container: str) -> str:  # on the node that runs it
            return "".join(cluster.docker(n, "inspect", container, check=False).stdout for n in cluster.workers)

        def remove_services() -> None:
            ids = cluster.docker(cluster.manager, "service", "ls", "-q", "--filter", f"label=mc.owner={owner}").stdout
            if ids.split():
                cluster.docker(cluster.manager, "service", "rm", *ids.split(), check=False)
        request.addfinalizer(remove_services)
    elif kind == "local":
        be = LocalBackend(Docker(), EngineSettings(uid=1000, gid=1000), Scope.local(owner))
    elif kind == "mcd-inprocess":
        from mc.remote.client import RemoteBackend
        from mcd.config import load
        from mcd.server import Daemon

        env = mcd_env(dict(os.environ))
        monkeypatch.setenv("PROJECT_ENCRYPTION_KEY", env["PROJECT_ENCRYPTION_KEY"])
        daemon = Daemon(load(str(write_config(tmp_path / "mcd", sessions=CONTRACT_SESSIONS))))
        daemon.start()
        be = RemoteBackend("inproc", daemon.addresses[0])
        stop = daemon.stop
    elif kind == "mcd-tls":
        from mc.remote.client import RemoteBackend

        url, cert, login = request.getfixturevalue("tls_mcd")
        owner = f"contract-{secrets.token_hex(4)}"  # the token's user owns the sessions
        token = login(owner)
        be = RemoteBackend("tls", url, cert, token=lambda: token)
    else:
        from mc.remote.client import RemoteBackend

        config = write_config(tmp_path / "mcd", sessions=CONTRACT_SESSIONS)
        proc = McdProcess(config, mcd_env(dict(os.environ)), tmp_path / "mcd" / "mcd.sock",
                          tmp_path / "mcd.log").start()
        be = RemoteBackend("process", proc.url)
        stop = proc.stop
    be.test_kind, be.test_inspect = kind, inspect  # (for the tests that look behind the backend)
    yield be
    remove_containers(owner)
    if stop:
        stop()


def test_session_lifecycle(backend, capfd):
    s = backend.create(SessionSpec(driver="base", name="c-life"))
    assert s.status == "running" and s.driver == "base" and len(s.id) == 8
    assert backend.get(s.id[:6]).id == s.id
    assert backend.get("c-life").id == s.id
    assert [x.id for x in backend.sessions()] == [s.id]
    backend.wait_ready(s.id)
    capfd.readouterr()
    assert backend.run(s.id, "echo contract-out; echo contract-err >&2; exit 5").code == 5
    out, err = capfd.readouterr()
    assert "contract-out" in out and "contract-err" in err
    assert backend.exec(s.id, ["sh", "-c", "exit 7"], tty=False, interactive=False).code == 7
    assert backend.shells(s.id) == []  # no connect dropped: nothing to resume
    logs = b"".join(backend.logs(s.id))
    assert b"session ready" in logs
    assert b"".join(backend.logs(s.id, tail=1)).strip() == b"[mc-init] session ready"
    closed = backend.close([s.id])
    assert [c.id for c in closed] == [s.id]
    with pytest.raises(NotFound):
        backend.get(s.id)
    assert backend.sessions() == []


def test_stop_and_start_keep_the_sessions_files_and_secrets(backend, capfd):
    s = backend.create(SessionSpec(driver="base", env={"KEPT_SECRET": "kept-value-1"}))
    backend.wait_ready(s.id)
    if backend.test_kind == "mcd-swarm":
        for verb in (backend.stop, backend.start):
            with pytest.raises(InvalidArgument, match="not available on a cluster"):
                verb([s.id])
        return
    assert backend.run(s.id, "echo kept-file >~/kept.txt").code == 0
    assert [x.status for x in backend.stop([s.id])] == ["stopped"]
    assert backend.get(s.id).status == "stopped"
    with pytest.raises(Conflict, match=r"is not running \(stopped\)"):
        backend.run(s.id, "true")
    assert [x.status for x in backend.start([s.id[:6]])] == ["running"]
    assert backend.wait_ready(s.id).id == s.id
    capfd.readouterr()
    assert backend.run(s.id, 'cat ~/kept.txt; printf "%s\\n" "$KEPT_SECRET"').code == 0
    out, _ = capfd.readouterr()
    assert out == "kept-file\nkept-value-1\n"
    with pytest.raises(Conflict, match="already running"):
        backend.start([s.id])
    with pytest.raises(NotFound):
        backend.stop(["nosuchsession"])
    with pytest.raises(InvalidArgument, match="give session ids"):
        backend.start([])


def test_errors_are_the_same_types(backend):
    with pytest.raises(NotFound, match="unknown driver 'nope'"):
        backend.create(SessionSpec(driver="nope"))
    with pytest.raises(NotFound, match="no session 'feedf00d'"):
        backend.close(["feedf00d"])
    with pytest.raises(InvalidArgument, match="--port"):
        backend.create(SessionSpec(driver="base", ports=[0]))
    with pytest.raises(NotFound, match="network 'mc-contract-missing'"):
        backend.create(SessionSpec(driver="base", networks=["mc-contract-missing"]))
    with pytest.raises(NotFound, match="no session 'feedf00d'"):
        backend.shells("feedf00d")
    assert backend.sessions() == []


def test_secrets_through_env_stay_out_of_inspect(backend, capfd):

    s = backend.create(SessionSpec(driver="base", env={"MY_API_KEY": TOKEN, "PLAIN": "shown"}))
    backend.wait_ready(s.id)
    capfd.readouterr()
    assert backend.run(s.id, 'echo "$MY_API_KEY/$PLAIN"').code == 0
    assert f"{TOKEN}/shown" in capfd.readouterr().out
    inspect = backend.test_inspect(s.container)
    assert s.id in inspect  # (it is the session's container)
    assert TOKEN not in inspect and "PLAIN=shown" not in inspect


@pytest.mark.parametrize("env", [
    {"X_TOKEN=$(id>/tmp/pwned)#": "v"},
    {"Y_SECRET\nid >/tmp/pwned\nZ": "w"},
    {"MC_UID": "0"},
    {"MC_GID": "0"},
    {"": "x"},
    {"OK": "nul\0byte"},
])
def test_env_is_checked_by_the_engine(backend, env):
    """Keys are variable names outside MC_* whichever door they come through (mcd takes any map)."""
    with pytest.raises(InvalidArgument, match="-e"):
        backend.create(SessionSpec(driver="base", env=env))
    assert backend.sessions() == []


def test_env_values_are_data_not_code(backend, capfd):
    payload = {"A_TOKEN": "$(touch /tmp/pwned-a)", "B": "`touch /tmp/pwned-b`\nC=1; touch /tmp/pwned-c",
               "D_KEY": "it's \"quoted\" \\ and $HOME"}
    s = backend.create(SessionSpec(driver="base", env=payload))
    backend.wait_ready(s.id)
    capfd.readouterr()
    assert backend.run(s.id, 'printf "%s|" "$A_TOKEN" "$B" "$D_KEY"; ls /tmp/pwned-* 2>/dev/null | wc -l').code == 0
    out = capfd.readouterr().out
    assert out.startswith("|".join(payload.values()) + "|") and out.rstrip().endswith("0")


def test_close_all(backend):
    for _ in range(2):
        backend.create(SessionSpec(driver="base"))
    assert len(backend.close_all(kill=True)) == 2
    assert backend.sessions() == []


def test_drivers(backend):
    names = {d.name for d in backend.drivers()}
    assert {"base", "goose", "claude-code", "opencode", "aider"} <= names
    goose = backend.driver("goose")
    assert any(e.name == "MCP_HOST" and e.required for e in goose.environment)
    with pytest.raises(NotFound):
        backend.driver("nope")


def test_projects(backend):
    p = backend.project_add("https://github.com/hello/private.git", token=TOKEN)
    assert p.id == "github.com/hello/private" and p.auth_type == "token" and p.fingerprint.startswith("sha256:")
    assert backend.project_get("git@github.com:hello/private.git").id == p.id
    assert [x.id for x in backend.project_list()] == [p.id]
    with pytest.raises(InvalidArgument):
        backend.project_add("github.com/hello/private", token="other")
    backend.project_remove("github.com/hello/private")
    assert backend.project_list() == []
    with pytest.raises(NotFound):
        backend.project_get("github.com/hello/private")


def test_mcp_servers(backend):
    """MCP definitions: stored per caller, secret values masked in every answer, every field checked
    by the engine (whatever the client let through), --mcp checked before anything is made."""
    from mc.mcp.servers import MASK, McpServer

    server = McpServer("tools", url="https://mcp.example.com/mcp", headers={"Authorization": f"Bearer {TOKEN}"})
    added = backend.mcp_add(server)
    assert added.headers == {"Authorization": MASK} and added.kind == "remote"
    assert [s.name for s in backend.mcp_list()] == ["tools"]
    assert TOKEN not in repr(backend.mcp_list()) + repr(backend.mcp_get("tools"))
    with pytest.raises(McError):
        backend.mcp_add(server)  # exists
    backend.mcp_add(McpServer("tools", url="https://other.example.com/mcp"), replace=True)
    assert backend.mcp_get("tools").url == "https://other.example.com/mcp"
    for bad in (McpServer("Bad Name", url="https://h/mcp"), McpServer("x", url="ftp://h/mcp"),
                McpServer("x", url="https://h/mcp", headers={"Bad Header": "1"}),
                McpServer("x", url="https://h/mcp", headers={"X": "a\nb"}),
                McpServer("x", url="https://h/mcp", transport="ws"), McpServer("x"),
                McpServer("x", image="img", env={"MC_X": "1"})):
        with pytest.raises(InvalidArgument):
            backend.mcp_add(bad)
    with pytest.raises(InvalidArgument, match="does not take MCP servers"):
        backend.create(SessionSpec(driver="base", mcps=["tools"]))
    with pytest.raises(NotFound, match="no MCP server 'nope'"):
        backend.create(SessionSpec(driver="goose", mcps=["nope"]))
    assert backend.mcp_remove("tools").name == "tools"
    assert backend.mcp_list() == []
    with pytest.raises(NotFound):
        backend.mcp_get("tools")


def test_config_import_checks_the_archive_in_the_engine(backend, tmp_path):
    """The archive is checked where it is unpacked, whatever the client sent."""
    import io
    import tarfile

    from mc.drivers.userconfig import Source, pack

    conf = tmp_path / "home" / ".config" / "opencode"
    conf.mkdir(parents=True)
    (conf / "opencode.json").write_text("{}")
    packed = pack([Source("~/.config/opencode", "/mc-config/opencode/config")], tmp_path / "home")
    url = f"https://git.example.com/contract/{secrets.token_hex(3)}.git"
    done = backend.config_import("opencode", packed.archive, project=url)
    assert done.files == 1 and done.into.startswith("git.example.com/contract/")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        evil = tarfile.TarInfo("opencode/config/../../../etc/cron.d/x")
        evil.size = 1
        tar.addfile(evil, io.BytesIO(b"x"))
    with pytest.raises(InvalidArgument, match="not inside"):
        backend.config_import("opencode", buf.getvalue(), project=url)
    with pytest.raises(InvalidArgument, match=r"not inside|keeps no configuration"):  # another driver's
        backend.config_import("base", packed.archive, project=url)
