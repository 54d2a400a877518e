"""Browser logins: the cookie names a record held here, never a token.

A login through the provider (code + PKCE, mcd as its confidential client) gives tokens; mcd keeps
them in a record and hands the browser only a random id in an HttpOnly, Secure, SameSite=Lax cookie
(Lax: the provider's redirect back to the callback is a cross-site navigation). The record gives the
caller's identity, refreshing the access token with the provider when it nears its end, so a group
change or a disabled account reaches the browser within one access token's lifetime. Logout ends the
record and revokes the tokens at the provider. Bounds: ``MAX_LOGINS`` records (the oldest goes
first), ``LIFETIME`` seconds each, whatever the provider's refresh tokens allow.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from mc.errors import McError, Unauthenticated
from mcd.identity import Identity

COOKIE = "mc_login"
LIFETIME = 12 * 3600
MAX_LOGINS = 10_000
REFRESH_BEFORE = 15  # seconds before the access token's expiry


@dataclass
class Login:
    who: Identity
    access_token: str
    refresh_token: str
    created: float
    lock: threading.Lock = field(default_factory=threading.Lock)


def _key(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


class WebLogins:
    def __init__(self, auth: Any) -> None:
        self.auth = auth  # mcd.oidc.Authenticator
        self._lock = threading.Lock()
        self._logins: OrderedDict[str, Login] = OrderedDict()

    def create(self, tokens: dict[str, Any]) -> tuple[str, Identity]:
        """A record for these tokens: (the cookie's value, who logged in)."""
        who = self.auth.verify(tokens["access_token"])
        cookie = secrets.token_urlsafe(32)
        login = Login(who, tokens["access_token"], tokens.get("refresh_token", ""), time.time())
        with self._lock:
            while len(self._logins) >= MAX_LOGINS:
                self._logins.popitem(last=False)
            self._logins[_key(cookie)] = login
        return cookie, who

    def _get(self, cookie: str) -> Login:
        if not cookie or len(cookie) > 128:
            raise Unauthenticated("not logged in")
        with self._lock:
            login = self._logins.get(_key(cookie))
            if login is not None and time.time() > login.created + LIFETIME:
                del self._logins[_key(cookie)]
                login = None
        if login is None:
            raise Unauthenticated("not logged in, or the login ended")
        return login

    def identity(self, cookie: str) -> Identity:
        """Who this cookie's login is, its access token refreshed first when it nears its end."""
        login = self._get(cookie)
        with login.lock:
            if login.who.expires_at and time.time() > login.who.expires_at - REFRESH_BEFORE:
                if not login.refresh_token:
                    self.end(cookie)
                    raise Unauthenticated("the login expired: log in again")
                try:
                    tokens = self.auth.refresh(login.refresh_token)
                    who = self.auth.verify(tokens["access_token"])
                except McError:
                    self.end(cookie, revoke=False)
                    raise Unauthenticated("the login expired: log in again") from None
                if who.user != login.who.user:
                    self.end(cookie)
                    raise Unauthenticated("the login changed hands: log in again")
                login.who, login.access_token = who, tokens["access_token"]
                login.refresh_token = tokens.get("refresh_token") or login.refresh_token
            return login.who

    def end(self, cookie: str, revoke: bool = True) -> None:
        """Logout: the record goes, its tokens are revoked at the provider (best effort)."""
        with self._lock:
            login = self._logins.pop(_key(cookie), None) if cookie and len(cookie) <= 128 else None
        if login is not None and revoke:
            with contextlib.suppress(McError):
                self.auth.logout(login.refresh_token, login.access_token)
