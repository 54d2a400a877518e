"""mcd with its state in a real PostgreSQL server (a throw-away cluster on 127.0.0.1)."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.mcd_harness import McdProcess, free_port, mcd_env, write_config

pytestmark = pytest.mark.engine


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.getuid() == 0 else argv


@pytest.fixture
def postgres():
    bindir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
    base = Path(tempfile.mkdtemp(prefix="mc-pg-"))  # outside pytest's 0700 tree: the server runs as postgres
    data = base / "data"
    if os.getuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    port = free_port()
    subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "mcd", "--auth=trust", "-E", "UTF8"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(data.parent / "log"),
                                 "-o", f"-h 127.0.0.1 -p {port} -k {data.parent}", "start"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "mcd", "mcd"]),
                   check=True, capture_output=True)
    ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(data.parent / "log"),
           "-o", f"-h 127.0.0.1 -p {port} -k {data.parent}"]
    yield Postgres(f"postgresql://mcd@127.0.0.1:{port}/mcd", _as_postgres(ctl))
    subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                   capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


@dataclass
class Postgres:
    url: str
    ctl: list[str]  # pg_ctl with this cluster's options

    def stop(self) -> None:
        subprocess.run([*self.ctl, "-m", "immediate", "stop"], check=True, capture_output=True)

    def start(self) -> None:
        subprocess.run([*self.ctl, "start"], check=True, capture_output=True)


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
        subprocess.run(["docker", "rm", "-f", s["container"]], check=True, capture_output=True)
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
