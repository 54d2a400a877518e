"""SQLite (default; WAL, ``BEGIN IMMEDIATE`` for writes) or PostgreSQL, behind one small class.

Containers' labels stay the truth about sessions; the ``sessions`` table mirrors them so mcd can
report a session whose container was removed behind its back (``gone``) until it is closed. The
database also holds what Docker cannot: projects and MCP servers (encrypted records), the audit trail, and which
provider subject claimed which owner name from before owners were keyed by subject.

PostgreSQL goes through a small connection pool: a broken connection (a restart, a failover) is
replaced on the next call, connecting and every statement have timeouts, and calls do not queue
behind one global lock. A database that cannot be reached is ``Unavailable``, never an internal error.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from mc.errors import Unavailable

SCHEMA_VERSION = 2
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS sessions (
        owner TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL DEFAULT '', driver TEXT NOT NULL DEFAULT '',
        project TEXT NOT NULL DEFAULT '', container TEXT NOT NULL DEFAULT '', created TEXT NOT NULL DEFAULT '',
        gone INTEGER NOT NULL DEFAULT 0, closing INTEGER NOT NULL DEFAULT 0, updated TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (owner, id))""",
    """CREATE TABLE IF NOT EXISTS projects (
        owner TEXT NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL, updated TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (owner, id))""",
    """CREATE TABLE IF NOT EXISTS mcps (
        owner TEXT NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL, updated TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (owner, id))""",
    """CREATE TABLE IF NOT EXISTS audit (
        ts TEXT NOT NULL, owner TEXT NOT NULL, method TEXT NOT NULL, target TEXT NOT NULL DEFAULT '',
        code TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE IF NOT EXISTS users (
        subject TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', legacy TEXT NOT NULL DEFAULT '',
        first_seen TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE IF NOT EXISTS legacy_owners (name TEXT PRIMARY KEY)""",
    """CREATE TABLE IF NOT EXISTS configs (
        owner TEXT NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL, updated TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (owner, id))""",
]


CLOSED = 2  # a session row's ``closing`` once mcd closed it: kept a while, so that a reconcile that
# listed the engine before the close does not bring the row back (then purged)
CLOSED_KEPT = 600  # seconds
REPLICA_LOCKS = 0x6D63  # the advisory lock class ("mc") of live mcd replicas, keyed by replica id


def now(ago: float = 0) -> str:
    """The time (``ago`` seconds back) as rows store it."""
    from datetime import timedelta

    return (datetime.now(UTC) - timedelta(seconds=ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


class SessionRow(Protocol):
    id: str
    owner: str
    name: str
    driver: str
    project: str
    container: str
    created: str


class Database:
    """SQL is written with ``?`` placeholders for both engines (no literal ``?`` in statements)."""

    def __init__(self, path: str = "", url: str = "") -> None:
        self.kind = "postgres" if url else "sqlite"
        self._lock = threading.RLock()  # SQLite: one connection shared by all threads
        self._pool: Any = None
        self._conn: Any = None
        self._holder: Any = None  # PostgreSQL: the connection holding this replica's lock
        self.replica = ""
        if url:
            self._open_postgres(url)
            self.where = url.split("@")[-1]
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA busy_timeout=30000")
            os.chmod(path, 0o600)
            self.where = path
        self._migrate()

    def _open_postgres(self, url: str) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise Unavailable("database.url needs psycopg: pip install 'mc[postgres]'") from None
        self._pg_errors: tuple[type[BaseException], ...] = (psycopg.OperationalError, psycopg.InterfaceError)
        self._url = url
        kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": 5, "keepalives": 1, "keepalives_idle": 30,
                  "keepalives_interval": 10, "keepalives_count": 3, "options": "-c statement_timeout=15000"}
        self._kwargs = kwargs
        pool = ConnectionPool(url, min_size=1, max_size=8, timeout=10, kwargs=kwargs,
                              check=ConnectionPool.check_connection, open=False)
        try:
            pool.open(wait=True, timeout=10)
        except Exception as exc:
            pool.close()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise Unavailable(f"cannot connect to PostgreSQL: {first}") from None
        self._pool = pool

    # -- plumbing ------------------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.kind == "postgres" else sql

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        if self._pool is None:
            with self._lock:
                yield self._conn
            return
        try:
            with self._pool.connection() as conn:
                yield conn
        except self._pg_errors as exc:
            raise Unavailable(f"the database is unreachable ({type(exc).__name__})") from None
        except Exception as exc:
            if type(exc).__name__ == "PoolTimeout":
                raise Unavailable("the database is unreachable (no connection within 10s)") from None
            raise

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._connection() as conn:
            return list(conn.execute(self._sql(sql), params).fetchall())

    @contextmanager
    def write(self) -> Iterator[Callable[..., Any]]:
        """A write transaction (SQLite: BEGIN IMMEDIATE, so writers never deadlock on upgrade)."""
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE" if self.kind == "sqlite" else "BEGIN")
            try:
                yield lambda sql, params=(): conn.execute(self._sql(sql), params)
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):  # the connection may be gone: the pool replaces it
                    conn.execute("ROLLBACK")
                raise

    # -- replicas ------------------------------------------------------------------------------
    def hold_replica(self, replica: str = "") -> None:
        """Be alive as ``replica`` (again, after an outage) for the other replicas: an advisory lock
        on a connection of its own, which PostgreSQL releases when this process dies, however it
        dies. SQLite serves one process, and a single engine needs no replica: nothing to hold."""
        self.replica = replica or self.replica
        if self._pool is None or not self.replica:
            return
        if self._holder is not None:
            try:
                self._holder.execute("SELECT 1")
                return
            except Exception:
                with contextlib.suppress(Exception):
                    self._holder.close()
                self._holder = None
        import psycopg

        try:
            holder = psycopg.connect(self._url, **self._kwargs)
            holder.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (REPLICA_LOCKS, self.replica))
        except self._pg_errors as exc:
            raise Unavailable(f"the database is unreachable ({type(exc).__name__})") from None
        self._holder = holder

    def replica_alive(self, replica: str) -> bool:
        """Whether the replica ``replica`` still runs (holds its lock)."""
        if replica == self.replica:
            return True
        if self._pool is None:
            return False  # (one process per SQLite file: another replica is an earlier run)
        with self.write() as tx:  # the lock, if free, is released again as the transaction ends
            return not tx("SELECT pg_try_advisory_xact_lock(?, hashtext(?))", (REPLICA_LOCKS, replica)).fetchone()[0]

    def close(self) -> None:
        if self._holder is not None:
            with contextlib.suppress(Exception):
                self._holder.close()
        if self._pool is not None:
            self._pool.close()
        else:
            with self._lock:
                self._conn.close()

    def _migrate(self) -> None:
        """Create the schema, or bring an older one up to date (version 1 keyed sessions by id alone
        and owners by their display name)."""
        with self.write() as tx:
            tx("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        version = self.query("SELECT value FROM meta WHERE key = 'schema'")
        had_tables = bool(self._tables() & {"sessions", "projects"})
        current = int(version[0][0]) if version else (1 if had_tables else SCHEMA_VERSION)
        with self.write() as tx:
            if current < 2:
                tx("ALTER TABLE sessions RENAME TO sessions_v1")
                tx("ALTER TABLE audit ADD COLUMN detail TEXT NOT NULL DEFAULT ''")
            for statement in SCHEMA:
                tx(statement)
            if current < 2:
                tx("INSERT INTO sessions (owner, id, name, driver, project, container, created, gone, updated) "
                   "SELECT owner, id, name, driver, project, container, created, gone, updated FROM sessions_v1")
                tx("DROP TABLE sessions_v1")
                # owners were display names: each may be claimed once by the subject who logs in with it
                tx("INSERT INTO legacy_owners (name) SELECT DISTINCT owner FROM projects "
                   "UNION SELECT DISTINCT owner FROM sessions")
            tx("DELETE FROM meta WHERE key = 'schema'")
            tx("INSERT INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))

    def _tables(self) -> set[str]:
        if self.kind == "sqlite":
            rows = self.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            rows = self.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return {r[0] for r in rows}

    def instance(self) -> str:
        """This installation's id (made once; replicas sharing the database share it)."""
        rows = self.query("SELECT value FROM meta WHERE key = 'instance'")
        if rows:
            return str(rows[0][0])
        import secrets

        with self.write() as tx:
            tx("INSERT INTO meta (key, value) SELECT 'instance', ? WHERE NOT EXISTS "
               "(SELECT 1 FROM meta WHERE key = 'instance')", (secrets.token_hex(6),))
        return str(self.query("SELECT value FROM meta WHERE key = 'instance'")[0][0])

    # -- sessions ------------------------------------------------------------------------------
    def upsert_session(self, s: SessionRow) -> None:
        with self.write() as tx:
            tx("DELETE FROM sessions WHERE owner = ? AND id = ?", (s.owner, s.id))
            tx("INSERT INTO sessions (owner, id, name, driver, project, container, created, gone, closing, updated) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?)",
               (s.owner, s.id, s.name, s.driver, s.project, s.container, s.created, now()))

    def reconcile(self, live: Sequence[SessionRow], listed_at: str = "") -> int:
        """Mirror the engine: every live session present, every other one gone (or forgotten, when
        mcd was closing it). Returns how many went. Rows written since ``listed_at`` (``now()`` taken
        before the engine was listed) are spared: a session created while the listing ran is not in
        it, yet lives."""
        keys = {(s.owner, s.id) for s in live}
        known = {(r[0], r[1]): bool(r[2]) for r in self.query("SELECT owner, id, closing, updated FROM sessions "
                                                              "WHERE gone = 0")
                 if not listed_at or r[3] < listed_at}
        with self.write() as tx:
            for s in live:  # (idempotent: another replica may be doing the same right now)
                if (s.owner, s.id) not in known:
                    tx("INSERT INTO sessions (owner, id, name, driver, project, container, created, gone, closing, "
                       "updated) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?) ON CONFLICT (owner, id) DO UPDATE SET gone = 0 "
                       f"WHERE sessions.closing < {CLOSED}",
                       (s.owner, s.id, s.name, s.driver, s.project, s.container, s.created, now()))
            went = [key for key in known if key not in keys]
            for (owner, sid) in went:
                if known[(owner, sid)]:
                    tx("DELETE FROM sessions WHERE owner = ? AND id = ?", (owner, sid))
                else:
                    tx("UPDATE sessions SET gone = 1, updated = ? WHERE owner = ? AND id = ?", (now(), owner, sid))
        return len([k for k in went if not known[k]])

    def mark_gone(self, owner: str, session_id: str) -> None:
        """The container vanished: a session mcd was not closing itself is shown as gone. An owner
        of "" (a cluster's service events name no owner) matches the id of any owner's."""
        with self.write() as tx:
            if owner:
                tx("UPDATE sessions SET gone = 1, updated = ? WHERE owner = ? AND id = ? AND closing = 0",
                   (now(), owner, session_id))
            else:
                tx("UPDATE sessions SET gone = 1, updated = ? WHERE id = ? AND closing = 0", (now(), session_id))

    def closing(self, owner: str, session_id: str) -> None:
        """mcd is about to remove the container: if it dies meanwhile, the restart forgets the row."""
        with self.write() as tx:
            tx("UPDATE sessions SET closing = 1 WHERE owner = ? AND id = ?", (owner, session_id))

    def forget(self, owner: str, session_id: str) -> None:
        """mcd closed it: marked closed (a reconcile listing from before the close, of this replica
        or another, must not bring it back); closed rows older than CLOSED_KEPT go."""
        with self.write() as tx:
            tx("UPDATE sessions SET closing = ?, gone = 0, updated = ? WHERE owner = ? AND id = ?",
               (CLOSED, now(), owner, session_id))
            tx("DELETE FROM sessions WHERE closing = ? AND updated < ?", (CLOSED, now(ago=CLOSED_KEPT)))

    def gone_sessions(self, owners: tuple[str, ...] | None) -> list[dict[str, str]]:
        """Gone sessions of these owners (None: everybody's)."""
        sql = "SELECT id, owner, name, driver, project, container, created FROM sessions WHERE gone = 1"
        params: tuple = ()
        if owners is not None:
            sql += " AND owner IN (" + ", ".join("?" for _ in owners) + ")"
            params = owners
        keys = ("id", "owner", "name", "driver", "project", "container", "created")
        return [dict(zip(keys, row, strict=True)) for row in self.query(sql + " ORDER BY created", params)]

    # -- audit ---------------------------------------------------------------------------------
    def audit(self, owner: str, method: str, target: str, code: str, detail: str = "") -> None:
        with self.write() as tx:
            tx("INSERT INTO audit (ts, owner, method, target, code, detail) VALUES (?, ?, ?, ?, ?, ?)",
               (now(), owner, method, target[:200], code, detail[:200]))

    # -- users ---------------------------------------------------------------------------------
    def claim(self, subject: str, name: str, rekey: Callable[[str, str], None]) -> str:
        """The owner name from before owners were keyed by subject that this subject carries on
        (''), recorded the first time a subject is seen: a name is claimed once, by the first
        subject that logs in with it, and its records are moved over by ``rekey(old, new)``."""
        rows = self.query("SELECT legacy FROM users WHERE subject = ?", (subject,))
        if rows:
            return str(rows[0][0])
        legacy = ""
        with self.write() as tx:
            if subject != name and self.query("SELECT name FROM legacy_owners WHERE name = ?", (name,)):
                tx("DELETE FROM legacy_owners WHERE name = ?", (name,))
                legacy = name
            tx("INSERT INTO users (subject, name, legacy, first_seen) VALUES (?, ?, ?, ?)",
               (subject, name, legacy, now()))
        if legacy:
            rekey(legacy, subject)
        return legacy

    def rekey_rows(self, old: str, new: str) -> None:
        """Sessions filed under an old owner name move to the subject (projects are re-encrypted
        by the project store, which owns their records)."""
        with self.write() as tx:
            tx("UPDATE sessions SET owner = ? WHERE owner = ?", (new, old))


class DbRecords:
    """A RecordSource (encrypted records by id) over one owner's rows of ``projects`` or ``mcps``."""

    def __init__(self, db: Database, owner: str, table: str = "projects") -> None:
        if table not in ("projects", "mcps"):
            raise ValueError(table)
        self.db = db
        self.owner = owner
        self.table = table

    def load(self) -> dict[str, str]:
        return dict(self.db.query(f"SELECT id, record FROM {self.table} WHERE owner = ?", (self.owner,)))

    def transact(self, change: Callable[[dict[str, str]], Any]) -> None:
        with self.db.write() as tx:
            if self.db.kind == "postgres":  # one writer per owner at a time (SQLite: BEGIN IMMEDIATE)
                tx("SELECT pg_advisory_xact_lock(hashtext(?))", (self.owner,))
            rows = tx(f"SELECT id, record FROM {self.table} WHERE owner = ?", (self.owner,)).fetchall()
            before = dict(rows)
            after = dict(before)
            change(after)
            for pid in before.keys() - after.keys():
                tx(f"DELETE FROM {self.table} WHERE owner = ? AND id = ?", (self.owner, pid))
            for pid, record in after.items():
                if before.get(pid) != record:
                    tx(f"DELETE FROM {self.table} WHERE owner = ? AND id = ?", (self.owner, pid))
                    tx(f"INSERT INTO {self.table} (owner, id, record, updated) VALUES (?, ?, ?, ?)",
                       (self.owner, pid, record, now()))

