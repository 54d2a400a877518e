"""Authenticated encryption of stored values (AES-256-GCM), with key ids for rotation.

A value is stored as ``mc1.<key id>.<nonce>.<ciphertext>`` (base64url parts). Every value gets a
fresh 96-bit nonce; the record's id is bound as associated data, so a ciphertext moved to another
record fails to decrypt. The first key encrypts; every key decrypts (rotation: put the new key
first, keep the old one until everything was rewritten).
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from mc.errors import InvalidArgument, McError

PREFIX = "mc1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_key() -> str:
    return _b64(os.urandom(32))


def parse_keys(text: str, source: str) -> list[bytes]:
    """Keys separated by commas or newlines, each 32 bytes in base64url."""
    keys = []
    for part in text.replace(",", "\n").split():
        try:
            key = _unb64(part.strip())
        except (ValueError, TypeError):
            key = b""
        if len(key) != 32:
            raise InvalidArgument(f"{source}: each key must be 32 bytes in base64url (generate one with "
                                  "python3 -c 'import secrets,base64;print(base64.urlsafe_b64encode("
                                  "secrets.token_bytes(32)).decode())')")
        keys.append(key)
    if not keys:
        raise InvalidArgument(f"{source}: no encryption key")
    return keys


def _create_key_file(key_file: Path) -> None:
    """Write a new key atomically (a reader never sees a half-written file); a parallel first use
    that wins the race is fine: its key is the one."""
    import tempfile

    key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=key_file.parent, prefix=".key-")  # 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(generate_key() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, key_file)  # fails if another process created it first
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"mc-key-id" + key).hexdigest()[:8]


class Cipher:
    def __init__(self, keys: list[bytes]) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._keys = {key_id(k): AESGCM(k) for k in keys}
        self._primary = key_id(keys[0])

    @classmethod
    def from_env_or_file(cls, env_var: str, key_file: Path) -> Cipher:
        """Keys from the environment variable, else from a 0600 key file (created on first use)."""
        if os.environ.get(env_var):
            return cls(parse_keys(os.environ[env_var], env_var))
        if not key_file.exists():
            _create_key_file(key_file)
        mode = key_file.stat().st_mode & 0o777
        if mode & 0o077:
            raise McError(f"{key_file} is readable by others (mode {mode:o}); chmod 600 it")
        text = key_file.read_text()
        if not text.strip():
            raise McError(f"{key_file} is empty (an interrupted write?): restore it from a backup, or remove it "
                          "and add your projects again")
        return cls(parse_keys(text, str(key_file)))

    def encrypt(self, plaintext: bytes, aad: str) -> str:
        nonce = os.urandom(12)
        sealed = self._keys[self._primary].encrypt(nonce, plaintext, aad.encode())
        return f"{PREFIX}.{self._primary}.{_b64(nonce)}.{_b64(sealed)}"

    def decrypt(self, token: str, aad: str, where: str) -> bytes:
        from cryptography.exceptions import InvalidTag

        parts = token.split(".")
        if len(parts) != 4 or parts[0] != PREFIX:
            raise McError(f"{where}: not an encrypted value (corrupted store)")
        aead = self._keys.get(parts[1])
        if aead is None:
            raise McError(f"{where}: encrypted with key {parts[1]}, which is not configured")
        try:
            return aead.decrypt(_unb64(parts[2]), _unb64(parts[3]), aad.encode())
        except (InvalidTag, ValueError):
            raise McError(f"{where}: failed authentication (the store was altered or the key is wrong)") from None
