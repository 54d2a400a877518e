"""Projects, MCP servers and (on a cluster) sessions' persistent configs in mcd: encrypted records
in the database, one service key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mc.mcp.store import McpStore
from mc.projects.crypto import Cipher, parse_keys
from mc.projects.store import ProjectAccess, ProjectStore
from mcd.store.db import Database, DbRecords, now


class DatabaseProjects:
    """``for_owner(owner)`` is that user's project store; ``rekey`` moves a user's records to a new
    owner key (re-encrypted: the owner is inside each record too)."""

    def __init__(self, db: Database, key: str, key_file: Path) -> None:
        self.db = db
        self._key, self._key_file = key, key_file
        self._cipher: Cipher | None = None

    def cipher(self) -> Cipher:
        if self._cipher is None:
            if self._key:
                self._cipher = Cipher(parse_keys(self._key, "projects.storage.key"))
            else:
                self._cipher = Cipher.from_env_or_file("PROJECT_ENCRYPTION_KEY", self._key_file)
        return self._cipher

    def for_owner(self, owner: str) -> ProjectStore:
        return ProjectStore(DbRecords(self.db, owner), self.cipher(), f"database {self.db.where}")

    def access(self, owner: str, url: str) -> ProjectAccess | None:
        return self.for_owner(owner).access(url)

    def rekey(self, old: str, new: str) -> None:
        source, target = DbRecords(self.db, old), DbRecords(self.db, new)
        cipher = self.cipher()
        moved: dict[str, str] = {}
        for pid, token in source.load().items():
            record: dict[str, Any] = json.loads(cipher.decrypt(token, pid, f"project {pid}"))
            record["owner"] = new
            moved[pid] = cipher.encrypt(json.dumps(record).encode(), pid)
        target.transact(lambda records: records.update(moved))
        source.transact(lambda records: [records.pop(pid, None) for pid in moved])


class DatabaseMcps:
    """``for_owner(owner)`` is that user's MCP store, under the same service key as projects."""

    def __init__(self, projects: DatabaseProjects) -> None:
        self.projects = projects

    def for_owner(self, owner: str) -> McpStore:
        return McpStore(DbRecords(self.projects.db, owner, "mcps"), self.projects.cipher(),
                        f"database {self.projects.db.where}")


class DatabaseConfigs:
    """The persistent configs of sessions on a cluster (``swarm.ConfigVault``), kept between sessions
    whatever node runs the next one: a tar archive per owner and name, compressed, then encrypted
    under the service key with both in its associated data (a record moved to another row fails)."""

    def __init__(self, projects: DatabaseProjects) -> None:
        self.projects = projects

    def load(self, owner: str, name: str) -> bytes | None:
        import gzip

        rows = self.projects.db.query("SELECT record FROM configs WHERE owner = ? AND id = ?", (owner, name))
        if not rows:
            return None
        return gzip.decompress(self.projects.cipher().decrypt(rows[0][0], f"config\0{owner}\0{name}",
                                                              f"persistent config {name}"))

    def save(self, owner: str, name: str, archive: bytes) -> None:
        import gzip

        record = self.projects.cipher().encrypt(gzip.compress(archive, 6), f"config\0{owner}\0{name}")
        with self.projects.db.write() as tx:
            tx("DELETE FROM configs WHERE owner = ? AND id = ?", (owner, name))
            tx("INSERT INTO configs (owner, id, record, updated) VALUES (?, ?, ?, ?)", (owner, name, record, now()))
