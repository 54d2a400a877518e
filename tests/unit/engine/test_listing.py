"""Sessions from recorded `docker ps` output, and which session a reference names."""

from __future__ import annotations

import json

import pytest

from mc.engine.models import Port, Session
from mc.engine.scope import Scope
from mc.engine.sessions import resolve_ref, session_from_row
from mc.errors import Conflict, InvalidArgument, NotFound
from tests.fakes import recorded, versions


@pytest.mark.parametrize("version", versions(), ids=lambda p: p.name)
def test_every_state_from_recorded_ps(version):
    rows = [json.loads(line) for line in recorded("ps.jsonl", version).splitlines()]
    expected = json.loads(recorded("ps.expected.json", version))
    sessions = {s.id: s for s in map(session_from_row, rows)}
    assert {sid: s.status for sid, s in sessions.items()} == expected
    web = next(s for s in sessions.values() if s.name == "web")
    assert [p.container_port for p in web.ports] == [8080, 9000]
    assert all(p.host_ip == "127.0.0.1" and p.host_port > 1024 for p in web.ports)
    assert web.connect == ["bash", "-l"] and web.user == "0:0"
    failed = next(s for s in sessions.values() if s.status == "failed")
    assert failed.exit_code == 97 and failed.mount


def test_ports_in_every_form_docker_prints():
    row = {"state": "running", "ports": "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp, :::22->22/tcp, 127.0.0.1:5/udp"}
    assert session_from_row(row).ports == [Port(22, "::", 22), Port(80, "0.0.0.0", 8080), Port(80, "::", 8080)]


def _s(sid: str, owner: str = "alice", name: str = "") -> Session:
    return Session(id=sid, name=name or sid, driver="base", status="running", container=f"mc-{sid}", owner=owner)


SESSIONS = [_s("aa11bb22", name="web"), _s("aa11cc33"), _s("bb22cc44", "bob", name="aa11bb22"), _s("cc33dd44", "bob")]


def test_ids_prefixes_and_names():
    alice = Scope.user("alice")
    assert resolve_ref(SESSIONS, "aa11bb22", alice).id == "aa11bb22"
    assert resolve_ref(SESSIONS, "mc-aa11cc33", alice).id == "aa11cc33"
    assert resolve_ref(SESSIONS, "web", alice).id == "aa11bb22"
    assert resolve_ref(SESSIONS, "aa11c", alice).id == "aa11cc33"
    with pytest.raises(Conflict, match="aa11bb22, aa11cc33"):
        resolve_ref(SESSIONS, "aa11", alice)
    with pytest.raises(InvalidArgument):
        resolve_ref(SESSIONS, "", alice)
    with pytest.raises(InvalidArgument):
        resolve_ref(SESSIONS, "x\x1b[2J", alice)


def test_another_users_session_does_not_exist_for_you():
    alice = Scope.user("alice")
    for ref in ("cc33dd44", "cc33", "mc-cc33dd44"):
        with pytest.raises(NotFound, match="no session"):
            resolve_ref(SESSIONS, ref, alice)


def test_an_exact_id_beats_a_name_someone_chose():
    # bob named his session after alice's id: an admin giving that id still gets alice's session
    admin = Scope.user("carol", admin=True)
    assert resolve_ref(SESSIONS, "aa11bb22", admin).id == "aa11bb22"
    assert resolve_ref(SESSIONS, "cc33", admin).owner == "bob"  # admins see every session by id
    with pytest.raises(NotFound):
        resolve_ref(SESSIONS, "web", admin)  # names are their owner's own


def test_scopes():
    alice, old = Scope.user("alice"), Scope.user("sub-7", aliases=("alice",))
    assert old.owns(SESSIONS[0]) and old.volume_owner == "alice" and old.listing_owners() == ("sub-7", "alice")
    assert Scope.user("carol", admin=True).listing_owners() is None
    assert Scope.user("carol", admin=True).own_owners() == ("carol",)
    assert Scope.system().own_owners() is None and Scope.local("me").owns(SESSIONS[3])
    assert not alice.sees(SESSIONS[3]) and alice.project_owner() == "alice"
    assert Scope.local("me").project_owner() is None
