"""The wire: dataclasses <-> protobuf both ways, domain errors <-> status codes both ways."""

from __future__ import annotations

import grpc
import pytest

from mc import errors
from mc.docker import DockerError
from mc.engine.models import DriverInfo, EnvVarInfo, PersistentConfigInfo, Port, ProjectInfo, Session, SessionSpec
from mc.remote import convert
from mc.remote.status import from_status, to_status


def test_session_round_trip():
    s = Session(id="0123abcd", name="web", driver="goose", status="failed", project="github.com/a/b", created="t",
                exit_code=97, ports=[Port(8080, "127.0.0.1", 32768)], container="mc-0123abcd", owner="alice",
                ssh=True)
    back = convert.session_from_pb(convert.session_to_pb(s))
    assert back == Session(**{**s.__dict__, "user": "", "connect": [], "mount": ""})
    for status in ("created", "running", "stopped", "failed", "exited", "gone"):
        assert convert.session_from_pb(convert.session_to_pb(Session("x", "x", "b", status))).status == status
    assert convert.session_from_pb(convert.session_to_pb(Session("x", "x", "b", "paused"))).status == "other"


def test_a_spec_from_the_wire_never_carries_host_paths():
    spec = SessionSpec(driver="base", name="n", project="p", networks=["a"], env={"K": "v"}, ports=[1], cpus="1",
                       memory="1g", pids_limit=9, ssh=True, ssh_public_key="ssh-ed25519 A", remove_on_exit=True,
                       mount="/home/me", model="anthropic/claude-sonnet-4-5")
    back = convert.spec_from_pb(convert.spec_to_pb(spec))
    assert back.mount == "" and back.volumes == []
    assert back == SessionSpec(**{**spec.__dict__, "mount": ""})


def test_driver_and_project_round_trips():
    d = DriverInfo("goose", "d", "1", "builtin", "/x", "img", True, [EnvVarInfo("A", "a", True, "1", False)], [22],
                   [PersistentConfigInfo("~/.g", "/mc-config/g", "directory", "g")], ["anthropic", "openai"])
    assert convert.driver_from_pb(convert.driver_to_pb(d)) == DriverInfo(**{**d.__dict__, "path": ""})
    p = ProjectInfo("h/a/b", "https://h/a/b.git", "b", "token", "", "sha256:1", "bot", "alice")
    assert convert.project_from_pb(convert.project_to_pb(p)) == p


@pytest.mark.parametrize("cls", [errors.InvalidArgument, errors.NotFound, errors.Conflict, errors.Unavailable,
                                 errors.Unauthenticated, errors.PermissionDenied, errors.McError])
def test_every_error_class_survives_the_wire(cls):
    err = from_status(to_status(cls("why")), "why")
    assert type(err) is cls and str(err) == "why" and err.exit_code == cls.exit_code


def test_docker_errors_map_by_their_category_and_timeouts_are_unavailable():
    assert to_status(DockerError(["docker", "rm"], 1, "No such container: x")) == grpc.StatusCode.NOT_FOUND
    assert isinstance(from_status(grpc.StatusCode.DEADLINE_EXCEEDED, "slow"), errors.Unavailable)
