"""How a session's tool is told about its MCP servers: pure rendering, per the driver's
``mcp.format`` (its manifest), of the endpoints the session reaches.

- ``goose``: extension entries for ``~/.config/goose/config.yaml``, one file the driver's init
  merges in (goose has no way to name a secret in a header, so the file carries the values; it is
  in the session's secrets directory, and goose's own config file is the user's, 0600);
- ``claude``: ``NAME<TAB>JSON`` lines for ``claude mcp add-json -s user``; header values are
  ``${MCP_HEADER_<n>}`` references that Claude Code expands from the session's private environment,
  so its config file (often a persistent one) never holds them;
- ``opencode``: the ``mcp`` section of ``OPENCODE_CONFIG_CONTENT`` (merged with the model's), a
  private variable when a header is set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

OPENCODE_VAR = "OPENCODE_CONFIG_CONTENT"


@dataclass(frozen=True)
class Endpoint:
    """An MCP server as the session reaches it."""

    name: str
    url: str
    transport: str = "streamable-http"  # or sse
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Wiring:
    """What the plan adds to the session for its MCP servers."""

    env: dict[str, str] = field(default_factory=dict)  # container environment (no secrets)
    private: dict[str, str] = field(default_factory=dict)  # into the secrets file's environment
    file: bytes = b""  # the secrets directory's ``mcp`` file, for the driver's init


def wire(fmt: str, endpoints: list[Endpoint], env: dict[str, str]) -> Wiring:
    """``env``: the variables the session has so far (the model's may hold opencode's config)."""
    if fmt == "goose":
        return Wiring(file=_goose(endpoints).encode())
    if fmt == "claude":
        return _claude(endpoints)
    if fmt == "opencode":
        return _opencode(endpoints, env.get(OPENCODE_VAR, ""))
    raise ValueError(f"unknown MCP format {fmt!r}")


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is one)."""
    return json.dumps(text)


def _goose(endpoints: list[Endpoint]) -> str:
    lines = []
    for e in endpoints:
        lines += [f"  {e.name}:", "    enabled: true",
                  f"    type: {'sse' if e.transport == 'sse' else 'streamable_http'}",
                  f"    name: {_q(e.name)}", f"    description: {_q('MCP server ' + e.name + ' (mc)')}",
                  f"    uri: {_q(e.url)}", "    timeout: 300"]
        if e.headers:
            lines.append("    headers:")
            lines += [f"      {_q(k)}: {_q(v)}" for k, v in e.headers.items()]
    return "\n".join(lines) + "\n"


def _claude(endpoints: list[Endpoint]) -> Wiring:
    wiring = Wiring()
    lines = []
    for e in endpoints:
        headers = {}
        for key, value in e.headers.items():
            var = f"MCP_HEADER_{len(wiring.private)}"
            wiring.private[var] = value
            headers[key] = "${" + var + "}"
        entry: dict[str, object] = {"type": "sse" if e.transport == "sse" else "http", "url": e.url}
        if headers:
            entry["headers"] = headers
        lines.append(f"{e.name}\t{json.dumps(entry)}")
    wiring.file = ("\n".join(lines) + "\n").encode()
    return wiring


def _opencode(endpoints: list[Endpoint], current: str) -> Wiring:
    config = json.loads(current) if current else {}
    config["mcp"] = {e.name: {"type": "remote", "url": e.url, "enabled": True,
                              **({"headers": dict(e.headers)} if e.headers else {})} for e in endpoints}
    text = json.dumps(config)
    if any(e.headers for e in endpoints):
        return Wiring(private={OPENCODE_VAR: text})
    return Wiring(env={OPENCODE_VAR: text})
