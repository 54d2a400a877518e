"""Per-invocation state set by the global options (``-r/--remote``, ``--debug``).

Commands ask this module for the backend instead of building one, so local and remote mode share
every command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mc.config.store import Config
    from mc.engine.backend import Backend

remote: str | None = None
debug: bool = False
_config: Config | None = None
_backend: Backend | None = None


def config() -> Config:
    """The user configuration, loaded once per invocation."""
    global _config
    if _config is None:
        from mc.config.store import Config

        _config = Config.load()
    return _config


def remote_name() -> str | None:
    """The remote selected by ``-r NAME``, else ``remote.default``; None means local mode.

    ``-r local`` forces local mode when a default remote is configured.
    """
    if remote is not None:
        return None if remote in ("", "local") else remote
    return config().get("remote.default") or None


def backend() -> Backend:
    """The session engine for this invocation: local docker, or an mcd remote."""
    global _backend
    if _backend is None:
        name = remote_name()
        if name:
            from mc.remote.client import RemoteBackend

            _backend = RemoteBackend.from_config(config(), name)
        else:
            from mc.engine.local import LocalBackend

            _backend = LocalBackend.from_config(config())
    return _backend
