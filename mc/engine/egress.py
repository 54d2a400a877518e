"""A session's egress policy: which names it may reach, decided before anything is made. Pure.

A session with a policy sits on an internal Docker network (no route out, so nothing leaks when
the proxy is missing, and no start-up window) whose only way out is its egress proxy (a container
of mc's, on that network and on mc's egress network) that lets through the names the policy
allows. Names match exactly (``example.com``) or as subdomains (``*.example.com``); address
literals never match a name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from mc import contract
from mc.contract import is_address
from mc.errors import InvalidArgument, PermissionDenied

__all__ = ["EgressPolicy", "check_domain", "covers", "decide", "is_address"]


def check_domain(value: str) -> str:
    """A name or ``*.name`` a caller allows, lowercased; one clear error otherwise."""
    try:
        return contract.check_domain(value)
    except ValueError as exc:
        raise InvalidArgument(f"--allow-domain {exc}") from None

MAX_DOMAINS = 64
OPEN = "*"  # in settings and labels: any public name, through the proxy
PROXY_PORT = 3128


@dataclass(frozen=True)
class EgressPolicy:
    """What the proxy lets through: any public name (``open``), or these names."""

    domains: tuple[str, ...]
    open: bool = False

    def to_json(self) -> bytes:
        return json.dumps({"open": self.open, "domains": list(self.domains)}).encode()

    @property
    def label(self) -> str:
        """The session's ``mc.egress`` label: the names, ``*`` when open, ``-`` for none."""
        return OPEN if self.open else ",".join(self.domains) or "-"


def covers(patterns: tuple[str, ...], domain: str) -> bool:
    """Whether ``domain`` (a name or a wildcard) is within ``patterns``."""
    name = domain[2:] if domain.startswith("*.") else domain
    for pattern in patterns:
        if pattern in (OPEN, domain):
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


def decide(allow: list[str], exact: bool, default: tuple[str, ...] | None, widen: bool,
           driver_domains: tuple[str, ...], mcp_hosts: tuple[str, ...]) -> tuple[EgressPolicy | None, list[str]]:
    """The session's policy (None: no policy, direct egress) and warnings.

    ``default``: the configured list (None: no policy unless the caller gives names; ``("*",)``:
    every session through the proxy, any public name). ``widen``: whether a caller may allow names
    beyond ``default``. The hosts of the session's MCP servers are added, and unless ``exact`` the
    driver's own needs (its model API, its registry); where the operator does not let callers widen,
    those outside the list are left out with a warning, and a name the caller gives is an error."""
    if len(allow) > MAX_DOMAINS:
        raise InvalidArgument(f"--allow-domain: at most {MAX_DOMAINS} names")
    asked = [check_domain(d) for d in allow]
    if default is None and not asked and not exact:
        return None, []
    base = tuple(d if d == OPEN else check_domain(d) for d in default or ())
    if OPEN in base and not exact:
        return EgressPolicy((), open=True), []
    warnings: list[str] = []
    if not widen and default is not None:
        for domain in asked:
            if not covers(base, domain):
                raise PermissionDenied(f"--allow-domain {domain}: this server's egress policy does not allow it")
    names: list[str] = []
    for domain in [*(() if exact else base), *asked]:
        if not covers(tuple(names), domain):
            names.append(domain)
    for domain in (*(() if exact else driver_domains), *mcp_hosts):  # its MCP servers are part of its world
        if covers(tuple(names), domain):
            continue
        if not widen and default is not None and not covers(base, domain):
            warnings.append(f"{domain} left out of the session's egress: this server's policy does not allow it")
            continue
        names.append(domain)
    if len(names) > MAX_DOMAINS:
        raise InvalidArgument(f"egress: at most {MAX_DOMAINS} names in a session ({len(names)} here)")
    return EgressPolicy(tuple(names)), warnings
