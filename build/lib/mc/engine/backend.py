"""The Backend interface: everything a front door (CLI, mcd) can do to sessions and drivers.

``LocalBackend`` implements it over the docker CLI; ``RemoteBackend`` implements it again over gRPC
to an ``mcd`` whose servicers forward to a ``LocalBackend``. Commands only ever see this protocol.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from mc.engine.models import DriverInfo, Session, SessionSpec


class Backend(Protocol):
    # sessions ------------------------------------------------------------------------------
    def create(self, spec: SessionSpec, *, quiet: bool = False) -> Session:
        """Create and start a session; builds the driver image on first use."""

    def list(self) -> list[Session]:
        """Every session (of this owner, for mcd)."""

    def get(self, ref: str) -> Session:
        """A session by id, unique id prefix, or name."""

    def close(self, refs: list[str], *, kill: bool = False) -> list[Session]:
        """Stop and remove sessions; returns what was closed."""

    def close_all(self, *, kill: bool = False) -> list[Session]:
        """Close every session (of this owner)."""

    def wait_ready(self, ref: str) -> Session:
        """Block until the session's init finished; raise with the reason when it failed."""

    def logs(self, ref: str, *, follow: bool = False, tail: int | None = None) -> Iterator[bytes]:
        """The session's output (init script included), as it arrives."""

    def exec(self, ref: str, command: list[str], *, tty: bool, interactive: bool) -> int:
        """Run a command in the session attached to this terminal; its exit code."""

    def connect(self, ref: str) -> int:
        """Interactive session shell (or the driver's connect command); its exit code."""

    def run(self, ref: str, command: str) -> int:
        """Run a shell command line in the session, output streamed; its exit code."""

    # drivers -------------------------------------------------------------------------------
    def drivers(self) -> list[DriverInfo]:
        """Every available driver."""

    def driver(self, name: str) -> DriverInfo:
        """One driver's details."""
