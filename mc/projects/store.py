"""The project store: git projects and their credentials, each record encrypted at rest.

Locally the records live in ``<data dir>/projects.json`` and the key in ``<config dir>/project.key``
(0600, apart from the data) unless ``MC_PROJECT_ENCRYPTION_KEY`` is set. mcd keeps the same
records in its database (``RecordSource``), encrypted with the service key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from mc.config.atomic import locked, write_atomic
from mc.config.paths import config_dir, data_dir, private_dir
from mc.errors import InvalidArgument, McError, NotFound
from mc.projects.crypto import Cipher
from mc.projects.urls import clone_url, normalize

KEY_ENV = "MC_PROJECT_ENCRYPTION_KEY"


@dataclass
class Project:
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
        """What list/show print: never the secret."""
        data = asdict(self)
        del data["secret"]
        return data


class RecordSource(Protocol):
    """Where encrypted records live: id -> ciphertext."""

    def load(self) -> dict[str, str]: ...

    def transact(self, change: Any) -> None: ...


class FileRecords:
    """Records in one JSON file, rewritten atomically under a lock."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            raise McError(f"{self.path}: not a valid project store (corrupted JSON)") from None
        records = data.get("records") if isinstance(data, dict) else None
        if not isinstance(records, dict):
            raise McError(f"{self.path}: not a valid project store")
        return records

    def transact(self, change: Any) -> None:
        private_dir(self.path.parent)
        with locked(self.path):
            records = self.load()
            change(records)
            write_atomic(self.path, json.dumps({"version": 1, "records": records}, indent=1).encode())


def ssh_key_details(private_key: bytes, source: str) -> tuple[str, str]:
    """(public key line, SHA256 fingerprint as ssh-keygen prints it) of an OpenSSH/PEM private key."""
    from cryptography.hazmat.primitives import serialization

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

    def list(self, owner: str | None = None) -> list[Project]:
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
    def credentials(self, url: str) -> tuple[str, Any] | None:
        """(URL to clone, Credentials as files) for a stored project, or None when unknown."""
        from mc.contract import GIT_SSH_KEY_FILE, GIT_TOKEN_FILE, SECRETS_DIR
        from mc.engine.local import Credentials

        project = self.find(url)
        if project is None:
            return None
        creds = Credentials()
        if project.auth_type == "ssh":
            secret = project.secret if project.secret.endswith("\n") else project.secret + "\n"
            creds.files[GIT_SSH_KEY_FILE] = secret.encode()
            creds.env["MC_GIT_SSH_KEY"] = f"{SECRETS_DIR}/{GIT_SSH_KEY_FILE}"
        elif project.auth_type == "token":
            creds.files[GIT_TOKEN_FILE] = project.secret.encode()
            creds.env["MC_GIT_TOKEN"] = f"{SECRETS_DIR}/{GIT_TOKEN_FILE}"
            creds.env["MC_GIT_USER"] = project.username or "x-access-token"
        # the given URL wins when it is a full URL (the user chose ssh or https explicitly)
        given = clone_url(url, project.auth_type)
        return (given if "://" in url or "@" in url else project.url), creds


def read_token(value: str) -> str:
    """``--token -`` reads the token from stdin (keeps it out of the process list)."""
    import sys

    if value == "-":
        return sys.stdin.readline().strip()
    return value


def read_key_file(path: str) -> bytes:
    p = Path(path).expanduser()
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"--ssh-key {path}: no such file") from None
    except OSError as exc:
        raise InvalidArgument(f"--ssh-key {path}: {exc.strerror}") from None
    if b"PRIVATE KEY" not in data:
        hint = " (that is the public key; give the private one)" if data.startswith(b"ssh-") else ""
        raise InvalidArgument(f"--ssh-key {path}: not a private key{hint}")
    return data
