"""mcd's database (SQLite here; tests/integration/test_postgres.py runs PostgreSQL): the schema
upgrade, the mirror of the labels, and the carry-over of owners to the provider's subjects."""

from __future__ import annotations

import json
import sqlite3

from mc.engine.models import Session
from mc.projects.crypto import generate_key
from mcd.identity import Identity
from mcd.projects import DatabaseProjects
from mcd.store.db import Database, now
from mcd.users import Users

V1 = [
    """CREATE TABLE sessions (id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
       driver TEXT NOT NULL DEFAULT '', project TEXT NOT NULL DEFAULT '', container TEXT NOT NULL DEFAULT '',
       created TEXT NOT NULL DEFAULT '', gone INTEGER NOT NULL DEFAULT 0, updated TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE projects (owner TEXT NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL,
       updated TEXT NOT NULL DEFAULT '', PRIMARY KEY (owner, id))""",
    """CREATE TABLE audit (ts TEXT NOT NULL, owner TEXT NOT NULL, method TEXT NOT NULL,
       target TEXT NOT NULL DEFAULT '', code TEXT NOT NULL)""",
]


def _session(sid: str, owner: str) -> Session:
    return Session(id=sid, name=sid, driver="base", status="running", container=f"mc-{sid}", owner=owner)


def test_the_mirror_marks_vanished_sessions_gone_and_forgets_what_mcd_was_closing(tmp_path):
    db = Database(path=str(tmp_path / "mcd.db"))
    a, b, c = _session("aaaa0001", "alice"), _session("bbbb0002", "bob"), _session("cccc0003", "alice")
    for s in (a, b, c):
        db.upsert_session(s)
    db.closing("alice", c.id)  # mcd died between docker rm and forgetting it
    assert db.reconcile([a]) == 1
    assert [r["id"] for r in db.gone_sessions(None)] == [b.id]
    assert db.gone_sessions(("alice",)) == []
    # ids are per owner: bob's gone row is untouched by the same id of alice's
    db.upsert_session(_session(b.id, "alice"))
    assert [r["owner"] for r in db.gone_sessions(None)] == ["bob"]


def test_a_session_recorded_while_the_engine_was_listed_is_not_marked_gone(tmp_path):
    """mcd answers calls while its start-up reconcile runs: a create that lands between the
    engine's listing and the mirror's write is missing from the listing, yet alive."""
    db = Database(path=str(tmp_path / "mcd.db"))
    old, new = _session("aaaa0001", "alice"), _session("bbbb0002", "alice")
    db.upsert_session(old)
    with db.write() as tx:  # written before the listing began
        tx("UPDATE sessions SET updated = '2000-01-01T00:00:00Z' WHERE id = ?", (old.id,))
    listed_at = now()
    db.upsert_session(new)  # the create, after the listing
    assert db.reconcile([], listed_at) == 1
    assert [r["id"] for r in db.gone_sessions(None)] == [old.id]
    # a replica listing it alive after all: the same mirror, however often it is written
    for _ in range(2):
        assert db.reconcile([old, new], now()) == 0
    assert db.gone_sessions(None) == []


def test_a_version_1_database_is_upgraded_and_its_owners_claimed_once(tmp_path):
    path = tmp_path / "mcd.db"
    key = generate_key()
    conn = sqlite3.connect(path)
    for statement in V1:
        conn.execute(statement)
    conn.execute("INSERT INTO sessions (id, owner, gone) VALUES ('dead0001', 'alice', 1)")
    conn.commit()
    conn.close()
    db = Database(path=str(path))
    projects = DatabaseProjects(db, key, tmp_path / "project.key")
    projects.for_owner("alice").add("github.com/alice/private", token="tok-alice", owner="alice")
    users = Users(db, projects, multi_user_keys=True)

    scope = users.scope(Identity("sub-123", name="alice"))
    assert scope.owner == "sub-123" and scope.aliases == ("alice",)
    assert [p.id for p in projects.for_owner("sub-123").projects()] == ["github.com/alice/private"]
    assert projects.for_owner("sub-123").access("github.com/alice/private").secret == "tok-alice"
    assert projects.for_owner("alice").projects() == []
    assert [r["owner"] for r in db.gone_sessions(None)] == ["sub-123"]
    # nobody else can claim the name later, and the first claim holds after a restart
    assert users.scope(Identity("sub-999", name="alice")).aliases == ()
    assert Users(Database(path=str(path)), projects, True).scope(Identity("sub-123", name="alice")).aliases == (
        "alice",)
    columns = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(audit)")]
    assert "detail" in columns


def test_a_new_database_has_no_one_to_carry_over(tmp_path):
    db = Database(path=str(tmp_path / "mcd.db"))
    projects = DatabaseProjects(db, generate_key(), tmp_path / "k")
    assert Users(db, projects, True).scope(Identity("sub-1", name="alice")).aliases == ()
    assert db.instance() == Database(path=str(tmp_path / "mcd.db")).instance()
    assert json.loads(json.dumps(db.gone_sessions(None))) == []


def test_a_persistent_config_in_the_vault_is_encrypted_and_bound_to_its_owner_and_name(tmp_path):
    from mc.errors import McError
    from mcd.projects import DatabaseConfigs

    db = Database(path=str(tmp_path / "mcd.db"))
    vault = DatabaseConfigs(DatabaseProjects(db, generate_key(), tmp_path / "key"))
    archive = b"tar bytes: SENTINEL-CONFIG-1 " * 100
    assert vault.load("alice", "mc-config-1") is None
    vault.save("alice", "mc-config-1", archive)
    vault.save("alice", "mc-config-1", archive + b"again")  # one row per owner and name
    assert vault.load("alice", "mc-config-1") == archive + b"again"
    [(record,)] = db.query("SELECT record FROM configs")
    assert b"SENTINEL" not in record.encode()
    db.query("UPDATE configs SET owner = 'bob'")  # a record moved to another owner does not open
    try:
        vault.load("bob", "mc-config-1")
        raise AssertionError("a moved record opened")
    except McError:
        pass


def test_a_reconcile_that_listed_before_a_close_does_not_bring_the_session_back(tmp_path):
    """A sweep (of this replica or another) lists the engine, a close removes the session and its
    row, then the sweep writes what it listed: the closed session must not come back, later shown
    as gone. Closed rows are kept a while for that, then purged."""
    db = Database(path=str(tmp_path / "mcd.db"))
    s, other = _session("aaaa0001", "alice"), _session("bbbb0002", "alice")
    db.upsert_session(s)
    db.upsert_session(other)
    listed_at, live = now(), [s, other]  # the sweep's listing
    db.closing("alice", s.id)  # the close, meanwhile
    db.forget("alice", s.id)
    assert db.reconcile(live, listed_at) == 0  # the sweep writes what it listed
    assert db.reconcile([other]) == 0  # the next one: s is not reported gone
    assert db.gone_sessions(None) == []
    db.query("UPDATE sessions SET updated = '2000-01-01T00:00:00Z' WHERE id = ?", (s.id,))
    db.forget("alice", other.id)
    assert db.query("SELECT id FROM sessions") == [(other.id,)]  # the old closed row purged
