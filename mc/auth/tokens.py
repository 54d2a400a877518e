"""Tokens of each remote, encrypted at rest, refreshed before they expire.

Storage: ``<config dir>/tokens/NAME`` holds one AES-GCM sealed JSON document (see
mc.projects.crypto). The key comes from the OS keyring when one is available, else from
``<data dir>/token.key`` (0600), kept apart from the config directory. This protects tokens in
backups, synced dotfiles and accidental `cat`s of the config; it does not protect them from
malware running as you, which can read the key file as easily as mc does.

Refresh happens under a file lock: a process that waited for the lock re-reads the store and uses
the tokens another process just got, so a rotated refresh token is never used twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from mc.config.atomic import locked, write_atomic
from mc.config.paths import config_dir, data_dir, private_dir
from mc.errors import Unauthenticated

REFRESH_MARGIN = 30  # seconds before expiry (a quarter of the lifetime for short-lived tokens)


def _fresh(tokens: dict[str, Any]) -> bool:
    margin = min(REFRESH_MARGIN, 0.25 * float(tokens.get("lifetime") or REFRESH_MARGIN * 4))
    return float(tokens.get("expires_at", 0)) - time.time() > margin


def _keyring_key() -> str | None:
    try:
        import keyring
        from keyring.backends import fail

        if isinstance(keyring.get_keyring(), fail.Keyring):
            return None
        key = keyring.get_password("mc", "token-key")
        if not key:
            from mc.projects.crypto import generate_key

            key = generate_key()
            keyring.set_password("mc", "token-key", key)
        return key
    except Exception:  # no keyring module or no usable backend
        return None


def _cipher() -> Any:
    from mc.projects.crypto import Cipher, parse_keys

    key = _keyring_key()
    if key:
        return Cipher(parse_keys(key, "keyring"))
    return Cipher.from_env_or_file("MC_TOKEN_KEY", data_dir() / "token.key")


class TokenStore:
    def __init__(self, remote: str) -> None:
        self.remote = remote
        self.path = config_dir() / "tokens" / remote

    def load(self) -> dict[str, Any] | None:
        try:
            sealed = self.path.read_text().strip()
        except FileNotFoundError:
            return None
        return json.loads(_cipher().decrypt(sealed, f"tokens:{self.remote}", str(self.path)))

    def save(self, tokens: dict[str, Any]) -> None:
        private_dir(self.path.parent)
        data = dict(tokens)
        if "expires_in" in data:
            data["lifetime"] = int(data.pop("expires_in") or 0)
            data["expires_at"] = time.time() + data["lifetime"]
        write_atomic(self.path, _cipher().encrypt(json.dumps(data).encode(), f"tokens:{self.remote}").encode())

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)

    def lock(self) -> Any:
        private_dir(self.path.parent)
        return locked(self.path)


def token_provider(name: str, endpoint: dict[str, Any],
                   refresh: Callable[[str], dict[str, Any]] | None = None) -> Callable[[], str]:
    """A callable giving a valid access token for the remote ('' when not logged in)."""
    store = TokenStore(name)

    def current() -> str:
        tokens = store.load()
        if not tokens:
            return ""
        if _fresh(tokens) or refresh is None:
            return str(tokens.get("access_token", ""))
        with store.lock():
            tokens = store.load() or {}
            if _fresh(tokens):
                return str(tokens.get("access_token", ""))  # another mc refreshed meanwhile
            if not tokens.get("refresh_token"):
                raise Unauthenticated(f"the login to '{name}' expired: mc -r {name} auth")
            try:
                fresh = refresh(tokens["refresh_token"])
            except Unauthenticated:
                raise Unauthenticated(f"the login to '{name}' expired: mc -r {name} auth") from None
            if not fresh.get("refresh_token"):
                fresh["refresh_token"] = tokens["refresh_token"]
            store.save(fresh)
            return str(fresh["access_token"])

    return current


def forget(name: str) -> None:
    """Drop a remote's stored tokens."""
    TokenStore(name).delete()
