"""mc's egress policy as a mitmproxy addon.

The policy (``MC_EGRESS_POLICY``) is ``{"open": bool, "domains": [...]}``. A domain is a
name (``example.com``: that name only) or a wildcard (``*.example.com``: its subdomains). With a
list, only those names are let through, by name: an IP address literal is refused, and so is a name
that is not on the list even when it shares an address with one that is. Open: any name, but never
an address that is not public (the host, other containers, the cloud's metadata service), checked
on the address the name resolves to, which is then the one connected to.

A refusal answers 403 with a message that names the host and how to allow it, and is written to
stdout as one line: ``mc-egress-denied {json}`` (``mc session logs ID --egress`` reads them).

API keys (``/run/mc-egress/keys.json``, read at each start: placeholder, value, domains) stay
here: the session has only the placeholders. TLS to a key's domains is intercepted with this
proxy's own CA (made when it starts, so one per session; the session fetches its certificate from
http://mitm.it), and the placeholder is replaced by the key in the request's headers and URL, in
HTTPS requests to those domains only. Every other TLS connection passes through untouched, so
anywhere else a request carries the placeholder, never the key.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import sys
import time
from pathlib import Path

from mitmproxy import http, tls
from mitmproxy.proxy import layer, layers, server_hooks

KEYS = Path("/run/mc-egress/keys.json")
MARK = "mc-egress-denied"


def load_policy() -> tuple[bool, tuple[str, ...]]:
    """The policy from MC_EGRESS_POLICY (names only: no secret)."""
    data = json.loads(os.environ["MC_EGRESS_POLICY"])
    return bool(data.get("open")), tuple(str(d).lower().rstrip(".") for d in data.get("domains", []))


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def refusal(host: str, is_open: bool, domains: tuple[str, ...]) -> str:
    """Why ``host`` may not be reached ("" when it may)."""
    name = host.lower().rstrip(".")
    address = _address(name)
    if address is not None:
        if is_open and address.is_global:
            return ""
        if is_open:
            return f"{host} is not a public address"
        return f"{host}: an IP address is not allowed in this session, only the names it allows"
    if is_open:
        return ""
    for domain in domains:
        if name == domain or (domain.startswith("*.") and name.endswith(domain[1:])):
            return ""
    return f"{name} is not allowed in this session"


def load_keys(path: Path = KEYS) -> list[tuple[str, str, tuple[str, ...]]]:
    """The keys this proxy holds, from a file copied in before its first start (kept, in this
    container only, for its next start: a stopped session's proxy is started again with it)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    return [(k["placeholder"], k["value"], tuple(d.lower() for d in k["domains"])) for k in data]


class Egress:
    def __init__(self) -> None:
        self.open, self.domains = load_policy()
        self.keys = load_keys()
        self.intercepted = {d for _, _, domains in self.keys for d in domains}

    def _deny(self, flow: http.HTTPFlow, reason: str) -> None:
        host = flow.request.host
        hint = "" if _address(host) is not None else f" (allow it: mc session create --allow-domain {host})"
        flow.response = http.Response.make(
            403, f"mc egress: {reason}{hint}\n".encode(), {"Content-Type": "text/plain"})
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "host": host,
                  "port": flow.request.port, "method": flow.request.method, "reason": reason}
        print(f"{MARK} {json.dumps(record)}", flush=True, file=sys.stdout)

    def http_connect(self, flow: http.HTTPFlow) -> None:
        reason = refusal(flow.request.host, self.open, self.domains)
        if reason:
            self._deny(flow, reason)

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is None:
            reason = refusal(flow.request.host, self.open, self.domains)
            if reason:
                self._deny(flow, reason)
                return
        host = flow.request.pretty_host.lower().rstrip(".")
        if flow.request.scheme != "https":
            return  # never a key in clear text
        for placeholder, value, domains in self.keys:
            if host not in domains:
                continue
            for name in list(flow.request.headers.keys()):
                values = flow.request.headers.get_all(name)
                if any(placeholder in v for v in values):
                    flow.request.headers.set_all(name, [v.replace(placeholder, value) for v in values])
            if placeholder in flow.request.path:
                flow.request.path = flow.request.path.replace(placeholder, value)

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        """A tunnel to another port than the web's (ssh, say) is passed through as it is, also when
        the server speaks first (mitmproxy would wait for the client to tell the protocol)."""
        address = nextlayer.context.server.address
        if nextlayer.layer is None and address and address[1] not in (80, 443):
            nextlayer.layer = layers.TCPLayer(nextlayer.context, ignore=True)

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        """Intercept only the APIs of the keys held here; the rest goes through untouched."""
        sni = (data.client_hello.sni or "").lower().rstrip(".")
        if sni not in self.intercepted:
            data.ignore_connection = True

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        """Open policy: connect to the address the name resolves to, and only when it is public."""
        if not self.open or data.server.address is None:
            return
        host, port = data.server.address
        if _address(host) is not None:
            return  # checked as a literal
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            data.server.error = f"cannot resolve {host}: {exc}"
            return
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        if not addresses or not all(a.is_global for a in addresses):
            data.server.error = f"{host} does not resolve to a public address"
            print(f"{MARK} " + json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                           "host": host, "port": port, "method": "CONNECT",
                                           "reason": data.server.error}), flush=True)
            return
        data.server.address = (str(addresses[0]), port)


addons = [Egress()]
