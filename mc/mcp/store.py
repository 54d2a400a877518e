"""The MCP store: a user's server definitions, each record encrypted at rest like a project's.

Locally the records live in ``<data dir>/mcp.json``, encrypted with the project key
(``<config dir>/project.key`` or ``MC_PROJECT_ENCRYPTION_KEY``); mcd keeps them per user in its
database under its service key. The record id (``mcp:NAME``) is bound to each ciphertext.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from mc.config.paths import config_dir, data_dir
from mc.errors import Conflict, InvalidArgument, NotFound
from mc.mcp.servers import MAX_SERVERS, McpServer, check_name, check_server
from mc.projects.crypto import Cipher
from mc.projects.store import KEY_ENV, FileRecords, RecordSource

PREFIX = "mcp:"


class McpStore:
    def __init__(self, source: RecordSource, cipher: Cipher, where: str = "MCP store") -> None:
        self.source = source
        self.cipher = cipher
        self.where = where

    @staticmethod
    def path() -> Path:
        return data_dir() / "mcp.json"

    @classmethod
    def default(cls) -> McpStore:
        cipher = Cipher.from_env_or_file(KEY_ENV, config_dir() / "project.key")
        return cls(FileRecords(cls.path(), "MCP store"), cipher, str(cls.path()))

    def _decode(self, rid: str, token: str) -> McpServer:
        return McpServer(**json.loads(self.cipher.decrypt(token, rid, f"{self.where}: {rid}")))

    def servers(self) -> list[McpServer]:
        return [self._decode(rid, token) for rid, token in sorted(self.source.load().items())]

    def get(self, name: str) -> McpServer:
        rid = PREFIX + check_name(name)
        token = self.source.load().get(rid)
        if token is None:
            raise NotFound(f"no MCP server '{name}' (see mc mcp list)")
        return self._decode(rid, token)

    def add(self, server: McpServer, *, replace: bool = False) -> McpServer:
        check_server(server)
        rid = PREFIX + server.name
        token = self.cipher.encrypt(json.dumps(asdict(server)).encode(), rid)

        def change(records: dict[str, str]) -> None:
            if rid in records and not replace:
                raise Conflict(f"MCP server '{server.name}' exists; remove it first or add it with --replace")
            if rid not in records and len(records) >= MAX_SERVERS:
                raise InvalidArgument(f"at most {MAX_SERVERS} MCP servers; remove one first")
            records[rid] = token

        self.source.transact(change)
        return server

    def remove(self, name: str) -> McpServer:
        server = self.get(name)
        self.source.transact(lambda records: records.pop(PREFIX + server.name, None))
        return server
