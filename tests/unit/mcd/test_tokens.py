"""mcd's token checks and login state, against keys made here (the provider itself is tested in
tests/integration/test_auth.py)."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mc.errors import InvalidArgument, Unauthenticated, Unavailable
from mcd import oidc
from mcd.config import AuthConfig

ISSUER = "http://127.0.0.1:1/application/o/mc"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWK = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key())), "kid": "k1", "use": "sig"}
DISCOVERY = {"issuer": ISSUER + "/", "jwks_uri": "http://127.0.0.1:1/jwks",
             "authorization_endpoint": "http://127.0.0.1:1/auth", "token_endpoint": "http://127.0.0.1:1/token",
             "revocation_endpoint": "http://127.0.0.1:1/revoke"}


@pytest.fixture
def auth(monkeypatch):
    a = oidc.Authenticator(AuthConfig(issuer=ISSUER, client_id="mc-service", admin_group="mc-admins"))
    provider = {"up": True}

    def get(url: str) -> dict:
        if not provider["up"]:
            raise Unavailable("the identity provider is unreachable (ConnectionError)")
        return {"keys": [JWK]} if url.endswith("/jwks") else DISCOVERY

    monkeypatch.setattr(a, "_get", get)
    a.provider = provider  # type: ignore[attr-defined]
    return a


def token(typ: str | None = "at+jwt", kid: str = "k1", **claims) -> str:
    body = {"iss": ISSUER + "/", "aud": "mc-service", "sub": "sub-1", "exp": time.time() + 60,
            "preferred_username": "alice", "scope": "openid", "groups": ["users"], **claims}
    body = {k: v for k, v in body.items() if v is not None}
    headers = {"kid": kid, **({"typ": typ} if typ else {})}
    return jwt.encode(body, KEY, algorithm="RS256", headers=headers)


def test_the_owner_is_the_subject_and_the_name_is_for_display(auth):
    who = auth.verify(token())
    assert (who.user, who.name, who.admin) == ("sub-1", "alice", False) and who.expires_in > 50
    assert auth.verify(token(preferred_username=["x"])).display == "sub-1"  # not a string: not a name
    with pytest.raises(Unauthenticated, match="rejected"):
        auth.verify(token(sub=None))


@pytest.mark.parametrize(("groups", "admin"), [(["mc-admins"], True), ("mc-admins", True), ("not-mc-admins", False),
                                               (["not-mc-admins", "users"], False), ([["mc-admins"]], False),
                                               ({"mc-admins": 1}, False)])
def test_group_membership_is_an_exact_match(auth, groups, admin):
    assert auth.verify(token(groups=groups)).admin is admin


def test_an_id_token_is_refused(auth):
    with pytest.raises(Unauthenticated, match="ID token"):
        auth.verify(token(typ=None, scope=None))
    with pytest.raises(Unauthenticated, match="ID token"):
        auth.verify(token(nonce="n"))
    assert auth.verify(token(typ="JWT", scope=None, jti="j")).user == "sub-1"  # an access token by its claims


def test_other_issuers_audiences_and_expired_tokens(auth):
    with pytest.raises(Unauthenticated, match="issuer"):
        auth.verify(token(iss="http://127.0.0.1:2/evil"))
    with pytest.raises(Unauthenticated, match="audience"):
        auth.verify(token(aud="other"))
    with pytest.raises(Unauthenticated, match="expired"):
        auth.verify(token(exp=time.time() - 60))
    with pytest.raises(Unauthenticated, match="malformed"):
        auth.verify("x" * (oidc.MAX_TOKEN + 1))


def test_a_provider_outage_keeps_known_tokens_working(auth):
    good = token()
    assert auth.verify(good).user == "sub-1"
    auth.provider["up"] = False
    auth._discovered_at -= oidc.DISCOVERY_TTL + 1  # an hour later, the provider still down
    auth._keys_at -= oidc.JWKS_RETRY + 1
    assert auth.verify(good).user == "sub-1"
    with pytest.raises(Unauthenticated, match="unknown key"):
        auth.verify(token(kid="rotated"))
    with pytest.raises(Unavailable):
        auth.refresh("r")


def test_login_state_is_bounded_and_redirects_are_loopback_only(auth):
    for bad in ("https://evil.example/callback", "http://127.0.0.1:80/" + "A" * 3_000_000, "http://10.0.0.1:9/callback",
                "http://127.0.0.1:9/other"):
        with pytest.raises(InvalidArgument):
            auth.login(bad)
    for i in range(oidc.MAX_STATES + 50):
        auth.login(f"http://127.0.0.1:{1000 + i % 60000}/callback")
    assert len(auth._states) == oidc.MAX_STATES


def test_logout_ends_the_token_here_too(auth, monkeypatch):
    monkeypatch.setattr(auth.http, "post", lambda *a, **kw: None)
    t = token()
    auth.logout("", t)
    with pytest.raises(Unauthenticated, match="ended"):
        auth.verify(t)
    assert auth.revoked(oidc.token_digest(t))
