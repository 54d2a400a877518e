"""mcd with its state in a real PostgreSQL server (a throw-away cluster on 127.0.0.1)."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.mcd_harness import McdProcess, mcd_env, write_config

pytestmark = pytest.mark.engine


def test_mcd_state_in_postgres_survives_restart(docker_mc, postgres, tmp_path):
    mc = docker_mc
    config = write_config(tmp_path / "mcd", database={"url": postgres.url})
    env = mcd_env({**mc.env, "HOME": str(tmp_path)})
    daemon = McdProcess(config, env, tmp_path / "mcd" / "mcd.sock", tmp_path / "mcd.log").start()
    try:
        mc.ok("remote", "add", "pg", daemon.url)
        s = json.loads(mc.ok("-r", "pg", "session", "create", "--driver", "base", "--no-connect", "-o", "json"))
        mc.ok("-r", "pg", "project", "add", "github.com/hello/pg", "--token", "-", input="pg-secret-token\n")
        daemon.stop()
        daemon.start()
        assert [x["id"] for x in json.loads(mc.ok("-r", "pg", "session", "list", "-o", "json"))] == [s["id"]]
        assert "github.com/hello/pg" in mc.ok("-r", "pg", "project", "list")
        import psycopg

        with psycopg.connect(postgres.url) as conn:
            rows = conn.execute("SELECT id, owner FROM sessions").fetchall()
            assert (s["id"], mc.owner) in rows
            records = conn.execute("SELECT record FROM projects").fetchall()
            assert records and all("pg-secret-token" not in r[0] for r in records)
            audit = conn.execute("SELECT method FROM audit").fetchall()
            assert ("/mc.api.v1.SessionService/Create",) in audit
        # a container removed behind mcd's back is reported gone from the PostgreSQL record
        subprocess.run(["docker", "rm", "-f", "-v", s["container"]], check=True, capture_output=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            listed = json.loads(mc.ok("-r", "pg", "session", "list", "-o", "json"))
            if listed and listed[0]["status"] == "gone":
                break
            time.sleep(0.2)
        assert listed[0]["status"] == "gone"
    finally:
        daemon.stop()


def test_mcd_rides_out_a_postgresql_restart(docker_mc, postgres, tmp_path):
    """A database outage is "unavailable" while it lasts, never an internal error, and mcd works
    again once the database is back, without a restart of its own."""
    mc = docker_mc
    config = write_config(tmp_path / "mcd", database={"url": postgres.url})
    daemon = McdProcess(config, mcd_env({**mc.env, "HOME": str(tmp_path)}), tmp_path / "mcd" / "mcd.sock",
                        tmp_path / "mcd.log").start()
    try:
        mc.ok("remote", "add", "pg", daemon.url)
        mc.ok("-r", "pg", "project", "add", "github.com/hello/before", "--token", "-", input="t1\n")
        postgres.stop()
        started = time.monotonic()
        proc = mc.run("-r", "pg", "project", "list")
        assert proc.returncode == 5 and "database is unreachable" in proc.stderr, proc.stderr
        assert time.monotonic() - started < 30
        postgres.start()
        deadline = time.monotonic() + 30
        while (proc := mc.run("-r", "pg", "project", "list")).returncode != 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "github.com/hello/before" in proc.stdout, proc.stderr
        mc.ok("-r", "pg", "project", "add", "github.com/hello/after", "--token", "-", input="t2\n")
    finally:
        daemon.stop()


def test_a_replica_is_alive_while_its_process_holds_the_database(postgres):
    """Replicas tell a live one from a dead one by its advisory lock, which PostgreSQL frees when
    the process goes, however it goes (here: its connection closed; in test_swarm: SIGKILL)."""
    from mcd.store.db import Database

    a, b = Database(url=postgres.url), Database(url=postgres.url)
    try:
        a.hold_replica("replica-a")
        b.hold_replica("replica-b")
        assert b.replica_alive("replica-a") and a.replica_alive("replica-b")
        assert not b.replica_alive("replica-c")
        assert b.replica_alive("replica-a")  # asking does not take the lock away
        a.close()
        assert not b.replica_alive("replica-a")
        postgres.stop()  # an outage takes the lock away; the next create holds it again
        postgres.start()
        b.hold_replica()
        c = Database(url=postgres.url)
        try:
            assert c.replica_alive("replica-b")
        finally:
            c.close()
    finally:
        b.close()


def test_a_closed_session_stays_closed_against_a_sweep_listed_before_it(postgres):
    """The mirror's upsert on PostgreSQL: a row closed after a sweep listed the engine is not
    brought back by that sweep (tests/unit/mcd/test_database.py has the same on SQLite)."""
    from mc.engine.models import Session
    from mcd.store.db import Database, now

    db = Database(url=postgres.url)
    try:
        s = Session(id="aaaa0001", name="a", driver="base", status="running", container="mc-aaaa0001", owner="pg")
        fresh = Session(id="cccc0003", name="c", driver="base", status="running", container="mc-cccc0003", owner="pg")
        db.upsert_session(s)
        listed_at = now()
        db.closing("pg", s.id)
        db.forget("pg", s.id)
        assert db.reconcile([s, fresh], listed_at) == 0  # fresh: unknown, mirrored
        assert db.reconcile([fresh]) == 0 and db.gone_sessions(None) == []
        assert db.reconcile([]) == 1 and [r["id"] for r in db.gone_sessions(None)] == [fresh.id]
    finally:
        db.close()
