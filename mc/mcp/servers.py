"""An MCP server definition: a remote server (URL) or one that runs in a container next to each
session that names it. Every field is checked here, where the CLI and mcd's wire meet the store.

Header values are secrets, and so are ``-e`` values whose names look secret (``*key*``,
``*token*``, ...): they reach a session only through its secrets file, and ``masked()`` hides them
from whoever lists the definitions.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from mc.config.schema import is_secret_name
from mc.contract import ENV_NAME
from mc.errors import InvalidArgument

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
TRANSPORTS = ("streamable-http", "sse")
_HEADER = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$")  # an HTTP token
_IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$")
MAX_SERVERS = 64  # per owner
MAX_PER_SESSION = 16
MAX_HEADERS = 32
MAX_ENV = 64
MAX_VALUE = 8 * 1024
MAX_URL = 2048
MAX_COMMAND = 4096
MASK = "********"


@dataclass
class McpServer:
    """A stored definition, secrets included (they leave the store only into a session)."""

    name: str
    url: str = ""  # remote: the endpoint
    transport: str = "streamable-http"
    headers: dict[str, str] = field(default_factory=dict)
    image: str = ""  # container: the image; a session starts its own copy
    command: list[str] = field(default_factory=list)  # container: instead of the image's command
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0  # container: where it serves streamable HTTP; 0: it speaks stdio (bridged)
    path: str = "/mcp"  # container with a port: the endpoint's path
    owner: str = ""

    @property
    def kind(self) -> str:
        return "container" if self.image else "remote"

    def masked(self) -> McpServer:
        """The definition as callers see it: header values and secret-named variables masked."""
        return replace(self, headers={k: MASK for k in self.headers},
                       env={k: MASK if is_secret_name(k) else v for k, v in self.env.items()})

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


def check_name(name: str) -> str:
    if not NAME.match(name or ""):
        raise InvalidArgument(f"MCP server name {name!r}: expected lowercase letters, digits and '-' "
                              "(at most 31, starting with a letter or digit)")
    return name


def parse_pairs(values: list[str], what: str) -> dict[str, str]:
    """``KEY=VALUE`` words (``--header``, ``-e``) into a mapping; a word without ``=`` is an error."""
    pairs: dict[str, str] = {}
    for word in values:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"{what} {word.split('=', 1)[0]!r}: expected KEY=VALUE")
        pairs[key] = value
    return pairs


def _check_value(value: str, where: str) -> None:
    if len(value) > MAX_VALUE or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidArgument(f"{where}: a value of at most {MAX_VALUE // 1024} KiB without control characters")


def check_server(server: McpServer) -> McpServer:
    """Every rule a definition must keep, whoever sent it."""
    check_name(server.name)
    if bool(server.url) == bool(server.image):
        raise InvalidArgument(f"MCP server {server.name}: give either a URL or --image")
    if server.transport not in TRANSPORTS:
        raise InvalidArgument(f"--transport {server.transport!r}: expected {' or '.join(TRANSPORTS)}")
    if len(server.headers) > MAX_HEADERS or len(server.env) > MAX_ENV:
        raise InvalidArgument(f"MCP server {server.name}: at most {MAX_HEADERS} headers and {MAX_ENV} variables")
    for key, value in server.headers.items():
        if not _HEADER.match(key):
            raise InvalidArgument(f"--header {key!r}: not an HTTP header name")
        _check_value(value, f"--header {key}")
    for key, value in server.env.items():
        if not ENV_NAME.match(key) or key.startswith("MC_"):
            raise InvalidArgument(f"-e {key!r}: not a variable name (or an MC_* name, which are mc's)")
        _check_value(value, f"-e {key}")
    if server.url:
        check_url(server.url)
        if server.command or server.env or server.port:
            raise InvalidArgument(f"MCP server {server.name}: --command, -e and --port are for --image servers")
    else:
        if not _IMAGE.match(server.image):
            raise InvalidArgument(f"--image {server.image!r}: not an image reference")
        if server.headers:
            raise InvalidArgument(f"MCP server {server.name}: --header is for remote servers (a URL)")
        if server.transport != "streamable-http":
            raise InvalidArgument(f"MCP server {server.name}: a container server is reached over streamable-http")
        if not 0 <= server.port <= 65535:
            raise InvalidArgument(f"--port {server.port}: expected a port number")
        if sum(len(w) + 1 for w in server.command) > MAX_COMMAND or len(server.command) > 256:
            raise InvalidArgument(f"--command: at most {MAX_COMMAND} characters")
        for word in server.command:
            _check_value(word, "--command")
        if not server.path.startswith("/") or len(server.path) > 256 or not server.path.isprintable() \
                or any(ch in server.path for ch in " ?#"):
            raise InvalidArgument(f"--path {server.path!r}: expected an absolute URL path")
    return server


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname \
            or any(ord(ch) <= 32 or ord(ch) == 127 for ch in url):
        raise InvalidArgument(f"MCP server URL {url!r}: expected http(s)://HOST[:PORT]/PATH")
    if parts.username or parts.password:
        raise InvalidArgument("MCP server URL: credentials in the URL would be shown; give them as "
                              "--header 'Authorization=Bearer ...'")
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise InvalidArgument(f"MCP server URL {url!r}: bad port") from None
    return url


def split_command(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError as exc:
        raise InvalidArgument(f"--command: {exc}") from None
