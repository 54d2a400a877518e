"""mcd as an OAuth 2 / OIDC client of its provider (Authentik, or any compliant provider).

Standard discovery (``/.well-known/openid-configuration``); authorization code with PKCE S256 and
a one-time state; refresh; revocation (RFC 7009); device authorization grant (RFC 8628); access
tokens verified locally: signature from the provider's JWKS, issuer, audience (mcd's client id),
expiry. oauthlib builds and parses the OAuth messages; requests carries them; PyJWT checks JWTs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import urlparse

from mc.errors import Conflict, InvalidArgument, McError, PermissionDenied, Unauthenticated, Unavailable
from mcd.config import AuthConfig
from mcd.identity import Identity

log = logging.getLogger("mcd")


def token_digest(token: str) -> str:
    """How mcd remembers a token without keeping it."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]

STATE_TTL = 600
MAX_STATES = 1000  # logins in progress; the oldest goes first when full
MAX_TOKEN = 16 * 1024  # bytes of any token a caller sends
DISCOVERY_TTL = 3600
JWKS_RETRY = 30  # seconds between fetches for an unknown key id
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
# RFC 8252 loopback redirect, as mc's login listener makes it
_REDIRECT = re.compile(r"^http://(127\.0\.0\.1|\[::1\]|localhost):\d{1,5}/callback$")
# An ID token is not an access token, even with the same audience: an access token is typed at+jwt
# (RFC 9068) or carries what only access tokens do (scope, client id, token id), and no ID token claim.
_ID_TOKEN_CLAIMS = ("nonce", "at_hash", "c_hash")
_ACCESS_TOKEN_CLAIMS = ("scope", "scp", "client_id", "jti")


class Authenticator:
    """mcd's side of OIDC. Access tokens are checked locally against the provider's keys, so an
    outage of the provider degrades instead of stopping mcd: tokens issued before it keep working
    until they expire (discovery and keys are kept and used stale), while logins and refreshes fail
    with "the identity provider is unreachable"."""

    def __init__(self, cfg: AuthConfig) -> None:
        import requests

        self.cfg = cfg
        self.http = requests.Session()
        if cfg.ca_cert:
            self.http.verify = cfg.ca_cert
        self.audience = cfg.audience or cfg.client_id
        # the configured issuer, with or without its trailing slash (providers differ; Authentik's has one)
        self.issuers = (cfg.issuer, cfg.issuer + "/")
        issuer = urlparse(cfg.issuer)
        if issuer.scheme == "http":
            if issuer.hostname not in ("127.0.0.1", "::1", "localhost"):
                raise InvalidArgument(f"auth.issuer {cfg.issuer}: use https (plain http only on loopback)")
            os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # oauthlib's switch for a loopback provider
        self._discovery: dict[str, Any] | None = None
        self._discovered_at = 0.0
        self._keys: dict[str, Any] = {}
        self._keys_at = 0.0
        self._states: OrderedDict[str, tuple[str, str, float]] = OrderedDict()
        self._revoked: dict[str, float] = {}  # access token digest -> its expiry (logged out through mcd)
        self._lock = threading.Lock()
        self.web_redirect = ""  # the web app's callback, https://HOST:PORT/auth/callback (mcd.web)

    # -- provider metadata -------------------------------------------------------------------
    def _get(self, url: str) -> dict[str, Any]:
        try:
            resp = self.http.get(url, timeout=10)
            resp.raise_for_status()
            data = resp.json()
        except Exception as exc:
            raise Unavailable(f"the identity provider is unreachable ({type(exc).__name__})") from None
        if not isinstance(data, dict):
            raise Unavailable("the identity provider answered something that is not a JSON object")
        return data

    def discovery(self) -> dict[str, Any]:
        """The provider's metadata, refreshed hourly; a stale copy is used while it is unreachable."""
        if self._discovery is None or time.monotonic() - self._discovered_at > DISCOVERY_TTL:
            try:
                found = self._get(f"{self.cfg.issuer}/.well-known/openid-configuration")
            except Unavailable:
                if self._discovery is None:
                    raise
                log.warning("the identity provider is unreachable; using its metadata from before")
                self._discovered_at = time.monotonic() - DISCOVERY_TTL + 60  # try again in a minute
                return self._discovery
            if str(found.get("issuer", "")).rstrip("/") != self.cfg.issuer:  # cfg.issuer has no trailing /
                raise Unavailable(f"the identity provider says its issuer is {found.get('issuer')!r}, "
                                  f"not {self.cfg.issuer!r} (auth.issuer)")
            self._discovery, self._discovered_at = found, time.monotonic()
        return self._discovery

    def _endpoint(self, name: str) -> str:
        url = self.discovery().get(name)
        if not url:
            raise Conflict(f"the identity provider does not offer {name}")
        return str(url)

    def _signing_key(self, kid: str | None) -> Any:
        import jwt

        if (kid not in self._keys or not self._keys) and time.monotonic() - self._keys_at > JWKS_RETRY:
            self._keys_at = time.monotonic()
            try:
                jwks = jwt.PyJWKSet.from_dict(self._get(self._endpoint("jwks_uri")))
                self._keys = {k.key_id or "": k for k in jwks.keys}
            except Unavailable:
                if not self._keys:
                    raise
                log.warning("the identity provider is unreachable; using its keys from before")
            except jwt.PyJWTError:
                log.warning("the identity provider's keys could not be read")
        key = self._keys.get(kid) if kid else next(iter(self._keys.values()), None)
        if key is None:
            raise Unauthenticated("access token signed with an unknown key")
        return key

    # -- verification ----------------------------------------------------------------------------
    def verify(self, token: str) -> Identity:
        import jwt

        if not token or len(token) > MAX_TOKEN:
            raise Unauthenticated("malformed access token: log in again with mc -r REMOTE auth")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("malformed access token: log in again with mc -r REMOTE auth") from None
        key = self._signing_key(header.get("kid"))
        try:
            claims = jwt.decode(token, key, algorithms=ALGORITHMS, audience=self.audience, issuer=self.issuers,
                                options={"require": ["exp", "iss", "aud", "sub"]}, leeway=5)
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("access token expired: log in again with mc -r REMOTE auth") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("access token is for another audience than this mcd") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("access token from another issuer") from None
        except jwt.PyJWTError:
            raise Unauthenticated("access token rejected (bad signature or claims)") from None
        typed = str(header.get("typ", "")).lower() in ("at+jwt", "application/at+jwt")
        if any(c in claims for c in _ID_TOKEN_CLAIMS) or not (typed or any(c in claims for c in _ACCESS_TOKEN_CLAIMS)):
            raise Unauthenticated("that is an ID token, not an access token")
        digest = token_digest(token)
        if digest in self._revoked:
            raise Unauthenticated("this login was ended (mc auth logout): log in again with mc -r REMOTE auth")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > 255 or not subject.isprintable():
            raise Unauthenticated("access token names no valid subject")
        name = claims.get(self.cfg.user_claim)
        if not isinstance(name, str) or not name.isprintable() or len(name) > 255:
            name = subject
        groups = claims.get(self.cfg.groups_claim) or []
        if isinstance(groups, str):  # some providers flatten a single group: still an exact match
            groups = [groups]
        admin = bool(self.cfg.admin_group) and isinstance(groups, list) and any(
            isinstance(g, str) and g == self.cfg.admin_group for g in groups)
        return Identity(subject, admin, float(claims["exp"]), name, digest)

    def revoked(self, digest: str) -> bool:
        return digest in self._revoked

    # -- flows ---------------------------------------------------------------------------------
    def _client(self) -> Any:
        from oauthlib.oauth2 import WebApplicationClient

        return WebApplicationClient(self.cfg.client_id)

    def login(self, redirect_uri: str) -> tuple[str, str]:
        """Start a code + PKCE login: (the provider's URL to send the browser to, the state). The
        redirect is mc's loopback listener (RFC 8252), or mcd's own web page (``web_redirect``)."""
        web = bool(self.web_redirect) and redirect_uri == self.web_redirect
        if not web and (len(redirect_uri) > 64 or not _REDIRECT.match(redirect_uri)):
            raise InvalidArgument("redirect_uri must be http://127.0.0.1:PORT/callback (a loopback listener, RFC 8252)")
        client = self._client()
        verifier = client.create_code_verifier(64)
        challenge = client.create_code_challenge(verifier, "S256")
        state = secrets.token_urlsafe(24)
        url = client.prepare_request_uri(
            self._endpoint("authorization_endpoint"), redirect_uri=redirect_uri, scope=self.cfg.scopes, state=state,
            code_challenge=challenge, code_challenge_method="S256", prompt="consent",
        )
        with self._lock:
            now = time.monotonic()
            while self._states and next(iter(self._states.values()))[2] <= now:  # oldest first: same TTL
                self._states.popitem(last=False)
            while len(self._states) >= MAX_STATES:
                self._states.popitem(last=False)
            self._states[state] = (verifier, redirect_uri, now + STATE_TTL)
        return url, state

    def _token_request(self, body: str) -> dict[str, Any]:
        from oauthlib.oauth2 import OAuth2Error

        try:
            resp = self.http.post(self._endpoint("token_endpoint"), data=body, timeout=15,
                                  auth=(self.cfg.client_id, self.cfg.client_secret) if self.cfg.client_secret else None,
                                  headers={"Content-Type": "application/x-www-form-urlencoded",
                                           "Accept": "application/json"})
        except Exception as exc:
            raise Unavailable(f"the identity provider is unreachable ({type(exc).__name__})") from None
        try:
            tokens = dict(self._client().parse_request_body_response(resp.text, scope=None))
        except OAuth2Error as exc:
            if exc.error in ("authorization_pending", "slow_down"):
                raise Conflict(exc.error) from None
            if exc.error in ("access_denied", "expired_token"):
                raise PermissionDenied(f"login refused by the identity provider: {exc.error}") from None
            raise Unauthenticated(f"the identity provider refused: {exc.error}") from None
        except Exception:
            raise Unavailable(f"the identity provider answered {resp.status_code} without tokens") from None
        if tokens.get("access_token"):
            tokens["user"] = self.verify(tokens["access_token"]).display
        return tokens

    def callback(self, code: str, state: str) -> dict[str, Any]:
        if len(code) > MAX_TOKEN or len(state) > 64:
            raise InvalidArgument("unknown, used or expired login state: start the login again")
        with self._lock:
            entry = self._states.pop(state, None)
        if entry is None or entry[2] < time.monotonic():
            raise InvalidArgument("unknown, used or expired login state: start the login again")
        verifier, redirect_uri, _ = entry
        body = self._client().prepare_request_body(code=code, redirect_uri=redirect_uri, code_verifier=verifier,
                                                   include_client_id=not self.cfg.client_secret)
        return self._token_request(body)

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        if not refresh_token or len(refresh_token) > MAX_TOKEN:
            raise InvalidArgument("no refresh token")
        body = self._client().prepare_refresh_body(refresh_token=refresh_token,
                                                   include_client_id=not self.cfg.client_secret)
        return self._token_request(body)

    def logout(self, refresh_token: str, access_token: str) -> None:
        """Revoke at the provider, and end here what the access token opened: its streams and any
        further call with it (mcd checks tokens itself, so the provider's revocation alone would not
        reach them)."""
        if len(refresh_token) > MAX_TOKEN or len(access_token) > MAX_TOKEN:
            raise InvalidArgument("token too long")
        if access_token:
            try:
                expires = self.verify(access_token).expires_at
            except McError:
                expires = 0.0
            if expires:
                with self._lock:
                    now = time.time()
                    self._revoked = {d: e for d, e in self._revoked.items() if e > now}
                    self._revoked[token_digest(access_token)] = expires
        endpoint = self._endpoint("revocation_endpoint")
        for token, hint in ((refresh_token, "refresh_token"), (access_token, "access_token")):
            if not token:
                continue
            data = {"token": token, "token_type_hint": hint}
            if not self.cfg.client_secret:
                data["client_id"] = self.cfg.client_id
            try:
                self.http.post(endpoint, data=data, timeout=15,
                               auth=(self.cfg.client_id, self.cfg.client_secret) if self.cfg.client_secret else None)
            except Exception as exc:
                raise Unavailable(f"the identity provider is unreachable ({type(exc).__name__})") from None

    def start_device(self) -> dict[str, Any]:
        data = {"scope": " ".join(self.cfg.scopes)}
        if not self.cfg.client_secret:
            data["client_id"] = self.cfg.client_id
        import requests

        endpoint = self._endpoint("device_authorization_endpoint")
        try:
            resp = self.http.post(endpoint, data=data, timeout=15,
                                  auth=(self.cfg.client_id, self.cfg.client_secret) if self.cfg.client_secret else None)
        except requests.RequestException as exc:
            raise Unavailable(f"the identity provider is unreachable ({type(exc).__name__})") from None
        try:
            resp.raise_for_status()
            found = resp.json()
        except Exception as exc:
            raise Unavailable(f"device authorization failed ({type(exc).__name__})") from None
        if not isinstance(found, dict) or not found.get("device_code") or not found.get("user_code"):
            raise Unavailable("device authorization failed (the provider sent no codes)")
        return found

    def poll_device(self, device_code: str) -> dict[str, Any]:
        """The tokens; Conflict("authorization_pending" or "slow_down") until the user approved."""
        from urllib.parse import urlencode

        if not device_code or len(device_code) > MAX_TOKEN:
            raise InvalidArgument("no device code")
        data = {"grant_type": DEVICE_GRANT, "device_code": device_code}
        if not self.cfg.client_secret:
            data["client_id"] = self.cfg.client_id
        return self._token_request(urlencode(data))
