"""SQLite (default; WAL, ``BEGIN IMMEDIATE`` for writes) or PostgreSQL, behind one small class.

Containers' labels stay the truth about sessions; the ``sessions`` table mirrors them so mcd can
report a session whose container was removed behind its back (``gone``) until it is closed.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mc.errors import Unavailable

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL DEFAULT '', driver TEXT NOT NULL DEFAULT '',
        project TEXT NOT NULL DEFAULT '', container TEXT NOT NULL DEFAULT '', created TEXT NOT NULL DEFAULT '',
        gone INTEGER NOT NULL DEFAULT 0, updated TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE IF NOT EXISTS projects (
        owner TEXT NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL, updated TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (owner, id))""",
    """CREATE TABLE IF NOT EXISTS audit (
        ts TEXT NOT NULL, owner TEXT NOT NULL, method TEXT NOT NULL, target TEXT NOT NULL DEFAULT '',
        code TEXT NOT NULL)""",
]


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Database:
    """One connection guarded by a lock; SQL is written with ``?`` placeholders for both engines."""

    def __init__(self, path: str = "", url: str = "") -> None:
        self._lock = threading.RLock()
        self.kind = "postgres" if url else "sqlite"
        if url:
            try:
                import psycopg
            except ImportError:
                raise Unavailable("database.url needs psycopg: pip install 'mc[postgres]'") from None
            try:
                self._conn: Any = psycopg.connect(url, autocommit=True)
            except psycopg.OperationalError as exc:
                raise Unavailable(f"cannot connect to PostgreSQL: {str(exc).strip().splitlines()[0]}") from None
            self.where = url.split("@")[-1]
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA busy_timeout=30000")
            os.chmod(path, 0o600)
            self.where = path
        with self.write() as tx:
            for statement in SCHEMA:
                tx(statement)

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.kind == "postgres" else sql

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            cur = self._conn.execute(self._sql(sql), params)
            return list(cur.fetchall())

    @contextmanager
    def write(self) -> Iterator[Callable[..., Any]]:
        """A write transaction (SQLite: BEGIN IMMEDIATE, so writers never deadlock on upgrade)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE" if self.kind == "sqlite" else "BEGIN")
            try:
                yield lambda sql, params=(): self._conn.execute(self._sql(sql), params)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- sessions ------------------------------------------------------------------------------
    def upsert_session(self, s: Any) -> None:
        with self.write() as tx:
            tx("DELETE FROM sessions WHERE id = ?", (s.id,))
            tx("INSERT INTO sessions (id, owner, name, driver, project, container, created, gone, updated) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
               (s.id, s.owner, s.name, s.driver, s.project, s.container, s.created, now()))

    def reconcile(self, live: list[Any]) -> int:
        """Mirror the engine: every live session present, every other one gone. Returns how many went."""
        ids = {s.id for s in live}
        for s in live:
            self.upsert_session(s)
        known = self.query("SELECT id FROM sessions WHERE gone = 0")
        went = [row[0] for row in known if row[0] not in ids]
        with self.write() as tx:
            for sid in went:
                tx("UPDATE sessions SET gone = 1, updated = ? WHERE id = ?", (now(), sid))
        return len(went)

    def mark_gone(self, session_id: str) -> None:
        with self.write() as tx:
            tx("UPDATE sessions SET gone = 1, updated = ? WHERE id = ?", (now(), session_id))

    def forget(self, session_id: str) -> None:
        with self.write() as tx:
            tx("DELETE FROM sessions WHERE id = ?", (session_id,))

    def gone_sessions(self, owner: str | None) -> list[dict[str, str]]:
        sql = "SELECT id, owner, name, driver, project, container, created FROM sessions WHERE gone = 1"
        rows = self.query(sql + (" AND owner = ?" if owner is not None else "") + " ORDER BY created",
                          (owner,) if owner is not None else ())
        keys = ("id", "owner", "name", "driver", "project", "container", "created")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    # -- audit ---------------------------------------------------------------------------------
    def audit(self, owner: str, method: str, target: str, code: str) -> None:
        with self.write() as tx:
            tx("INSERT INTO audit (ts, owner, method, target, code) VALUES (?, ?, ?, ?, ?)",
               (now(), owner, method, target[:200], code))


class DbRecords:
    """A project RecordSource over the ``projects`` table, scoped to one owner."""

    def __init__(self, db: Database, owner: str) -> None:
        self.db = db
        self.owner = owner

    def load(self) -> dict[str, str]:
        return dict(self.db.query("SELECT id, record FROM projects WHERE owner = ?", (self.owner,)))

    def transact(self, change: Callable[[dict[str, str]], Any]) -> None:
        with self.db.write() as tx:
            rows = self.db.query("SELECT id, record FROM projects WHERE owner = ?", (self.owner,))
            before = dict(rows)
            after = dict(before)
            change(after)
            for pid in before.keys() - after.keys():
                tx("DELETE FROM projects WHERE owner = ? AND id = ?", (self.owner, pid))
            for pid, record in after.items():
                if before.get(pid) != record:
                    tx("DELETE FROM projects WHERE owner = ? AND id = ?", (self.owner, pid))
                    tx("INSERT INTO projects (owner, id, record, updated) VALUES (?, ?, ?, ?)",
                       (self.owner, pid, record, now()))
