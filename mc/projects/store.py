"""The project store: git projects and their credentials, each record encrypted at rest.

Locally the records live in ``<data dir>/projects.json`` and the key in ``<config dir>/project.key``
(0600, apart from the data) unless ``MC_PROJECT_ENCRYPTION_KEY`` is set. mcd keeps the same
records in its database (``RecordSource``), encrypted with the service key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from mc.config.atomic import locked, write_atomic
from mc.config.paths import config_dir, data_dir, private_dir
from mc.errors import InvalidArgument, McError, NotFound
from mc.projects.crypto import Cipher
from mc.projects.urls import clone_url, normalize

KEY_ENV = "MC_PROJECT_ENCRYPTION_KEY"
MAX_KEY = 64 * 1024
MAX_TOKEN = 8 * 1024


@dataclass(frozen=True)
class ProjectAccess:
    """How a session reaches a project: where to clone from, and the credential (for the engine,
    which turns it into files in the session; never shown)."""

    id: str
    clone_url: str
    auth_type: str = "none"  # none | ssh | token
    secret: str = ""
    username: str = ""

    @classmethod
    def public(cls, url: str) -> ProjectAccess:
        """A project nobody stored: cloned without credentials."""
        return cls(normalize(url), clone_url(url))


@dataclass
class Project:
    """A stored project record, with its secret: it never leaves this module but as ProjectAccess
    (into a session) or as the public fields (``public()``)."""

    id: str  # normalised URL
    url: str  # what git clones
    name: str = ""
    auth_type: str = "none"  # none | ssh | token
    public_key: str = ""
    fingerprint: str = ""
    username: str = ""  # for token auth over https
    secret: str = ""  # the private key or the token; never leaves the store but into a session
    owner: str = ""

    def public(self) -> dict[str, Any]:
        """Every field but the secret."""
        data = asdict(self)
        del data["secret"]
        return data


class RecordSource(Protocol):
    """Where encrypted records live: id -> ciphertext."""

    def load(self) -> dict[str, str]: ...

    def transact(self, change: Callable[[dict[str, str]], Any]) -> None: ...


class FileRecords:
    """Records in one JSON file, rewritten atomically under a lock."""

    def __init__(self, path: Path, what: str = "project store") -> None:
        self.path = path
        self.what = what

    def load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            raise McError(f"{self.path}: not a valid {self.what} (corrupted JSON)") from None
        records = data.get("records") if isinstance(data, dict) else None
        if not isinstance(records, dict):
            raise McError(f"{self.path}: not a valid {self.what}")
        return records

    def transact(self, change: Callable[[dict[str, str]], Any]) -> None:
        private_dir(self.path.parent)
        with locked(self.path):
            records = self.load()
            change(records)
            write_atomic(self.path, json.dumps({"version": 1, "records": records}, indent=1).encode())


def ssh_key_details(private_key: bytes, source: str) -> tuple[str, str]:
    """(public key line, SHA256 fingerprint as ssh-keygen prints it) of an OpenSSH/PEM private key."""
    from cryptography.hazmat.primitives import serialization

    key: Any
    try:
        key = serialization.load_ssh_private_key(private_key, password=None)
    except TypeError:
        raise InvalidArgument(f"{source}: the key is protected by a passphrase; give mc an unencrypted key "
                              "(a deploy key made for this project)") from None
    except ValueError:
        try:
            key = serialization.load_pem_private_key(private_key, password=None)
        except (TypeError, ValueError):
            raise InvalidArgument(f"{source}: not an ssh private key") from None
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    blob = base64.b64decode(public.split()[1])
    fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return public.decode(), fingerprint


class ProjectStore:
    def __init__(self, source: RecordSource, cipher: Cipher, where: str = "project store") -> None:
        self.source = source
        self.cipher = cipher
        self.where = where

    @staticmethod
    def path() -> Path:
        return data_dir() / "projects.json"

    @staticmethod
    def exists() -> bool:
        return ProjectStore.path().exists()

    @classmethod
    def default(cls) -> ProjectStore:
        cipher = Cipher.from_env_or_file(KEY_ENV, config_dir() / "project.key")
        return cls(FileRecords(cls.path()), cipher, str(cls.path()))

    # -- records -------------------------------------------------------------------------------
    def _decode(self, pid: str, token: str) -> Project:
        raw = self.cipher.decrypt(token, pid, f"{self.where}: project {pid}")
        return Project(**json.loads(raw))

    def _encode(self, project: Project) -> str:
        return self.cipher.encrypt(json.dumps(asdict(project)).encode(), project.id)

    def projects(self, owner: str | None = None) -> list[Project]:
        projects = [self._decode(pid, tok) for pid, tok in sorted(self.source.load().items())]
        return [p for p in projects if owner is None or p.owner == owner]

    def find(self, url: str) -> Project | None:
        pid = normalize(url)
        token = self.source.load().get(pid)
        return self._decode(pid, token) if token else None

    def get(self, url: str) -> Project:
        found = self.find(url)
        if found is None:
            raise NotFound(f"no project '{normalize(url)}' (see mc project list)")
        return found

    def add(self, url: str, *, ssh_key: bytes | None = None, token: str | None = None, name: str = "",
            username: str = "", owner: str = "", replace: bool = False) -> Project:
        if ssh_key is not None and token is not None:
            raise InvalidArgument("give either --ssh-key or --token, not both")
        if len(name) > 128 or not name.isprintable() or len(username) > 128 or not username.isprintable():
            raise InvalidArgument("--name and --username are short printable words")
        if ssh_key is not None and len(ssh_key) > MAX_KEY:
            raise InvalidArgument(f"--ssh-key: larger than {MAX_KEY // 1024} KiB; is it a private key?")
        if token is not None and len(token) > MAX_TOKEN:
            raise InvalidArgument(f"--token: longer than {MAX_TOKEN // 1024} KiB")
        pid = normalize(url)
        project = Project(id=pid, url="", name=name or pid.rsplit("/", 1)[-1], owner=owner)
        if ssh_key is not None:
            project.public_key, project.fingerprint = ssh_key_details(ssh_key, "--ssh-key")
            project.auth_type, project.secret = "ssh", ssh_key.decode()
        elif token is not None:
            if not token.strip() or any(c.isspace() for c in token.strip()):
                raise InvalidArgument("--token: empty or contains whitespace")
            project.auth_type, project.secret = "token", token.strip()
            project.username = username or "x-access-token"
            project.fingerprint = "sha256:" + hashlib.sha256(project.secret.encode()).hexdigest()[:12]
        project.url = clone_url(url, project.auth_type)

        def change(records: dict[str, str]) -> None:
            if pid in records and not replace:
                raise InvalidArgument(f"project '{pid}' exists; remove it first or use mc project update")
            if replace:
                if pid not in records:
                    raise NotFound(f"no project '{pid}' (see mc project list)")
                if not name:  # an update keeps the name unless given a new one
                    project.name = self._decode(pid, records[pid]).name
            records[pid] = self._encode(project)

        self.source.transact(change)
        return project

    def remove(self, url: str, owner: str | None = None) -> Project:
        project = self.get(url)
        if owner is not None and project.owner != owner:
            raise NotFound(f"no project '{project.id}' (see mc project list)")
        self.source.transact(lambda records: records.pop(project.id, None))
        return project

    # -- sessions ------------------------------------------------------------------------------
    def access(self, url: str) -> ProjectAccess | None:
        """What a session needs to clone a stored project (its secret included), or None."""
        project = self.find(url)
        if project is None:
            return None
        # the given URL wins when it is a full URL (the user chose ssh or https explicitly)
        given = clone_url(url, project.auth_type)
        return ProjectAccess(project.id, given if "://" in url or "@" in url else project.url, project.auth_type,
                             project.secret, project.username)
