"""mcd as an OAuth 2 / OIDC client of its provider (Authentik, or any compliant provider).

Standard discovery (``/.well-known/openid-configuration``); authorization code with PKCE S256 and
a one-time state; refresh; revocation (RFC 7009); device authorization grant (RFC 8628); access
tokens verified locally: signature from the provider's JWKS, issuer, audience (mcd's client id),
expiry. oauthlib builds and parses the OAuth messages; requests carries them; PyJWT checks JWTs.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlparse

from mc.errors import Conflict, InvalidArgument, PermissionDenied, Unauthenticated, Unavailable
from mcd.config import AuthConfig
from mcd.identity import Identity

STATE_TTL = 600
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]


class Authenticator:
    def __init__(self, cfg: AuthConfig) -> None:
        import requests

        self.cfg = cfg
        self.http = requests.Session()
        if cfg.ca_cert:
            self.http.verify = cfg.ca_cert
        self.audience = cfg.audience or cfg.client_id
        issuer = urlparse(cfg.issuer)
        if issuer.scheme == "http":
            if issuer.hostname not in ("127.0.0.1", "::1", "localhost"):
                raise InvalidArgument(f"auth.issuer {cfg.issuer}: use https (plain http only on loopback)")
            os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # oauthlib's switch for a loopback provider
        self._discovery: dict[str, Any] | None = None
        self._discovered_at = 0.0
        self._keys: dict[str, Any] = {}
        self._keys_at = 0.0
        self._states: dict[str, tuple[str, str, float]] = {}
        self._lock = threading.Lock()

    # -- provider metadata -------------------------------------------------------------------
    def _get(self, url: str) -> dict[str, Any]:
        try:
            resp = self.http.get(url, timeout=10)
            resp.raise_for_status()
            return resp.json()
        except Exception as exc:
            raise Unavailable(f"the identity provider is unreachable ({type(exc).__name__})") from None

    def discovery(self) -> dict[str, Any]:
        if self._discovery is None or time.monotonic() - self._discovered_at > 3600:
            self._discovery = self._get(f"{self.cfg.issuer}/.well-known/openid-configuration")
            self._discovered_at = time.monotonic()
        return self._discovery

    def _endpoint(self, name: str) -> str:
        url = self.discovery().get(name)
        if not url:
            raise Conflict(f"the identity provider does not offer {name}")
        return str(url)

    def _signing_key(self, kid: str | None) -> Any:
        import jwt

        if kid not in self._keys and time.monotonic() - self._keys_at > 30:
            jwks = jwt.PyJWKSet.from_dict(self._get(self._endpoint("jwks_uri")))
            self._keys = {k.key_id: k for k in jwks.keys}
            self._keys_at = time.monotonic()
        key = self._keys.get(kid) if kid else next(iter(self._keys.values()), None)
        if key is None:
            raise Unauthenticated("access token signed with an unknown key")
        return key

    # -- verification ----------------------------------------------------------------------------
    def verify(self, token: str) -> Identity:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("malformed access token: log in again with mc -r REMOTE auth") from None
        key = self._signing_key(header.get("kid"))
        try:
            claims = jwt.decode(token, key, algorithms=ALGORITHMS, audience=self.audience,
                                issuer=self.discovery().get("issuer", self.cfg.issuer),
                                options={"require": ["exp", "iss", "aud"]}, leeway=5)
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("access token expired: log in again with mc -r REMOTE auth") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("access token is for another audience than this mcd") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("access token from another issuer") from None
        except jwt.PyJWTError:
            raise Unauthenticated("access token rejected (bad signature or claims)") from None
        user = str(claims.get(self.cfg.user_claim) or claims.get("sub") or "")
        if not user:
            raise Unauthenticated("access token names no user")
        groups = claims.get(self.cfg.groups_claim) or []
        admin = bool(self.cfg.admin_group) and self.cfg.admin_group in groups
        return Identity(user, admin, max(0, int(claims["exp"] - time.time())))

    # -- flows ---------------------------------------------------------------------------------
    def _client(self) -> Any:
        from oauthlib.oauth2 import WebApplicationClient

        return WebApplicationClient(self.cfg.client_id)

    def login(self, redirect_uri: str) -> tuple[str, str]:
        parsed = urlparse(redirect_uri)
        if parsed.scheme != "http" or parsed.hostname not in ("127.0.0.1", "::1", "localhost"):
            raise InvalidArgument("redirect_uri must be a loopback http URL (RFC 8252)")
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
            self._states = {s: v for s, v in self._states.items() if v[2] > now}
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
            tokens["user"] = self.verify(tokens["access_token"]).user
        return tokens

    def callback(self, code: str, state: str) -> dict[str, Any]:
        with self._lock:
            entry = self._states.pop(state, None)
        if entry is None or entry[2] < time.monotonic():
            raise InvalidArgument("unknown, used or expired login state: start the login again")
        verifier, redirect_uri, _ = entry
        body = self._client().prepare_request_body(code=code, redirect_uri=redirect_uri, code_verifier=verifier,
                                                   include_client_id=not self.cfg.client_secret)
        return self._token_request(body)

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        if not refresh_token:
            raise InvalidArgument("no refresh token")
        body = self._client().prepare_refresh_body(refresh_token=refresh_token,
                                                   include_client_id=not self.cfg.client_secret)
        return self._token_request(body)

    def logout(self, refresh_token: str, access_token: str) -> None:
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
        try:
            resp = self.http.post(self._endpoint("device_authorization_endpoint"), data=data, timeout=15,
                                  auth=(self.cfg.client_id, self.cfg.client_secret) if self.cfg.client_secret else None)
            resp.raise_for_status()
            return resp.json()
        except Conflict:
            raise
        except Exception as exc:
            raise Unavailable(f"device authorization failed ({type(exc).__name__})") from None

    def poll_device(self, device_code: str) -> dict[str, Any]:
        from urllib.parse import urlencode

        data = {"grant_type": DEVICE_GRANT, "device_code": device_code}
        if not self.cfg.client_secret:
            data["client_id"] = self.cfg.client_id
        return self._token_request(urlencode(data))
