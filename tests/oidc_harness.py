"""A real OIDC provider for tests (tests/oidc/server.js) and a headless 'browser' for its pages."""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
import subprocess
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import requests

OIDC_DIR = Path(__file__).resolve().parent / "oidc"


class Provider:
    def __init__(self, access_ttl: int = 60) -> None:
        if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=OIDC_DIR, check=True)
        self.proc = subprocess.Popen(["node", "server.js"], cwd=OIDC_DIR, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True,
                                     env={"PATH": "/usr/local/bin:/usr/bin:/bin", "PORT": "0",
                                          "ACCESS_TTL": str(access_ttl)})
        line = self.proc.stdout.readline()
        self.issuer = json.loads(line)["issuer"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def token_for_other_audience(self) -> str:
        resp = requests.post(f"{self.issuer}/token", data={"grant_type": "client_credentials", "scope": "mc"},
                             auth=("other-app", "other-app-secret"), timeout=10)
        resp.raise_for_status()
        return resp.json()["access_token"]


def _form(html: str, base: str) -> tuple[str, dict[str, str]]:
    m = re.search(r'<form[^>]*action="([^"]*)"', html)
    assert m, f"no form on the page: {html[:300]}"
    fields = {n: unescape(v) for n, v in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html)}
    return urljoin(base, unescape(m.group(1))), fields


class Browser:
    """Fills the provider's login, consent and device pages like a person would."""

    def __init__(self, user: str, password: str | None = None) -> None:
        self.http = requests.Session()
        self.user = user
        self.password = password if password is not None else f"{user}-password"

    def _through(self, resp: requests.Response) -> requests.Response:
        for _ in range(10):
            if "/interaction/" not in resp.url:
                return resp
            action, fields = _form(resp.text, resp.url)
            if action.endswith("/login"):
                fields.update(login=self.user, password=self.password)
            resp = self.http.post(action, data=fields, timeout=15)
            if resp.status_code == 401:
                raise PermissionError("the provider refused the password")
        return resp

    def authorize(self, url: str) -> requests.Response:
        """Open the authorization URL and log in; the final redirect reaches mc's loopback listener."""
        return self._through(self.http.get(url, timeout=15))

    def authorize_code(self, url: str, redirect_prefix: str) -> tuple[str, str]:
        """Log in and stop at the redirect back to the client: (code, state), no listener needed."""
        from urllib.parse import parse_qs, urlparse

        resp = self.http.get(url, timeout=15, allow_redirects=False)
        for _ in range(20):
            location = resp.headers.get("location", "")
            if location.startswith(redirect_prefix):
                query = parse_qs(urlparse(location).query)
                return query["code"][0], query["state"][0]
            if location:
                resp = self.http.get(urljoin(resp.url, location), timeout=15, allow_redirects=False)
                continue
            action, fields = _form(resp.text, resp.url)
            if action.endswith("/login"):
                fields.update(login=self.user, password=self.password)
            resp = self.http.post(action, data=fields, timeout=15, allow_redirects=False)
        raise AssertionError("the provider never redirected back")

    def device(self, verification_uri: str, user_code: str) -> requests.Response:
        page = self.http.get(verification_uri, timeout=15)
        action, fields = _form(page.text, page.url)
        fields["user_code"] = user_code
        resp = self.http.post(action, data=fields, timeout=15)
        if 'name="confirm"' in resp.text:
            action, fields = _form(resp.text, resp.url)
            resp = self.http.post(action, data=fields, timeout=15)
        return self._through(resp)


def self_signed(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mcd test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host)),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "mcd.pem", directory / "mcd.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path
