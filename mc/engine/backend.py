"""The Backend interface: everything a front door (the CLI, mcd) can do to sessions, drivers and
projects.

``LocalBackend`` implements it over the docker CLI; ``RemoteBackend`` implements it again over gRPC
to an ``mcd`` whose servicers forward to a ``LocalBackend``. Commands only ever see this protocol,
and mypy checks both implementations against it (see the end of local.py and remote/client.py).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from mc.engine.models import (
    ConfigImport,
    DriverInfo,
    ExecResult,
    ProjectInfo,
    Session,
    SessionSpec,
    ShellInfo,
    TerminalFacts,
)

if TYPE_CHECKING:
    from mc.engine.forward import Tunnel
    from mc.mcp.servers import McpServer

Progress = Callable[[str], None]  # lines of progress (a driver build) for whoever shows them
Warn = Callable[[str], None]  # what the caller should know: it works, but probably not as meant


class Backend(Protocol):
    # sessions ------------------------------------------------------------------------------
    def create(self, spec: SessionSpec, *, progress: Progress | None = None, warn: Warn | None = None) -> Session:
        """Create and start a session; builds the driver image on first use."""

    def sessions(self) -> builtins.list[Session]:
        """Every session the caller sees."""

    def get(self, ref: str) -> Session:
        """A session by id, unique id prefix, or name."""

    def close(self, refs: builtins.list[str], *, kill: bool = False) -> builtins.list[Session]:
        """Stop and remove sessions; returns what was closed."""

    def close_all(self, *, kill: bool = False) -> builtins.list[Session]:
        """Close every session of the caller's own."""

    def stop(self, refs: builtins.list[str]) -> builtins.list[Session]:
        """Stop sessions and keep them (their filesystem, mounts, persistent config); ``start`` brings
        them back."""

    def start(self, refs: builtins.list[str]) -> builtins.list[Session]:
        """Start stopped sessions again (same ids; their init runs again: see ``wait_ready``)."""

    def extend(self, ref: str, seconds: int) -> Session:
        """Move a session's deadline later, within the configured maximum lifetime."""

    def open_port(self, ref: str, port: int) -> Tunnel:
        """One TCP connection to a port of a running session (port-forward, ssh)."""

    def wait_ready(self, ref: str) -> Session:
        """Block until the session's init finished; raise with the reason when it failed."""

    def logs(self, ref: str, *, follow: bool = False, tail: int | None = None, egress: bool = False
             ) -> Iterable[bytes]:
        """The session's output (init script included), as it arrives; ``egress``: what its egress
        proxy refused instead."""

    def exec(self, ref: str, command: builtins.list[str], *, tty: bool, interactive: bool,
             terminal: TerminalFacts | None = None, end_session: bool = False) -> ExecResult:
        """Run a command in the session on this terminal. With ``end_session`` the session is
        closed when the command ends, whatever happens to the caller (``--rm``)."""

    def connect(self, ref: str, *, tty: bool, terminal: TerminalFacts | None = None, resume: str = "") -> ExecResult:
        """The session's interactive command (the driver's connect command) on this terminal; with
        ``resume``, that shell of the caller's, waiting since its client went away."""

    def shells(self, ref: str) -> builtins.list[ShellInfo]:
        """The caller's resumable shells in a session, oldest first."""

    def run(self, ref: str, command: str, *, end_session: bool = False) -> ExecResult:
        """Run a shell command line in the session, output streamed, no terminal."""

    def run_once(self, spec: SessionSpec, command: str, *, progress: Progress | None = None,
                 warn: Warn | None = None) -> ExecResult:
        """A session for one shell command (``create --rm --run``): output streamed, no terminal,
        removed when the command ends; a failed start raises with its reason."""

    # drivers -------------------------------------------------------------------------------
    def drivers(self) -> builtins.list[DriverInfo]:
        """Every available driver."""

    def driver(self, name: str) -> DriverInfo:
        """One driver's details."""

    def build_driver(self, name: str, *, no_cache: bool = False, progress: Progress | None = None) -> str:
        """Build a driver's image (when its content changed); its tag."""

    def push_driver(self, name: str, ref: str, *, progress: Progress | None = None) -> str:
        """Publish a driver's image to a registry as ``ref`` (its manifest in its labels); its digest."""

    def pull_driver(self, ref: str, name: str = "", *, progress: Progress | None = None) -> DriverInfo:
        """Pull a driver image from a registry and add it as a driver (``name``, else its manifest's)."""

    def config_import(self, driver: str, archive: bytes, *, project: str = "", mount: str = "") -> ConfigImport:
        """Put a user's own configuration of the driver's tool (``mc.drivers.userconfig.pack``) into
        the persistent config of a project or a mounted directory."""

    def prune_images(self) -> builtins.list[str]:
        """Remove images of previous driver versions no session uses; what was removed."""

    # projects ------------------------------------------------------------------------------
    def project_add(self, url: str, *, ssh_key: bytes | None = None, token: str | None = None, name: str = "",
                    username: str = "", replace: bool = False) -> ProjectInfo:
        """Store a project and its credential (``replace``: update an existing one)."""

    def project_list(self) -> builtins.list[ProjectInfo]:
        """The caller's projects (never their secrets)."""

    def project_get(self, url: str) -> ProjectInfo:
        """One project, by any of its URL forms."""

    def project_remove(self, url: str) -> ProjectInfo:
        """Forget a project and its credential."""

    # MCP servers ---------------------------------------------------------------------------
    def mcp_add(self, server: McpServer, *, replace: bool = False) -> McpServer:
        """Store an MCP server definition of the caller's (secrets included); returned masked."""

    def mcp_list(self) -> builtins.list[McpServer]:
        """The caller's MCP servers, masked."""

    def mcp_get(self, name: str) -> McpServer:
        """One MCP server of the caller's, masked."""

    def mcp_remove(self, name: str) -> McpServer:
        """Forget an MCP server of the caller's."""
