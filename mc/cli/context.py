"""Per-invocation state set by the global options (``-r/--remote``, ``--debug``), and the one place
the CLI builds its engine from the user's configuration.

Commands ask this module for the backend instead of building one, so local and remote mode share
every command.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import socket

    from mc.config.store import Config
    from mc.engine.backend import Backend
    from mc.engine.logfwd import Fluentd, Langfuse
    from mc.engine.models import ExecResult
    from mc.engine.settings import EngineSettings

remote: str | None = None
debug: bool = False
_config: Config | None = None
_backend: Backend | None = None


def reset() -> None:
    """Forget this invocation's state (in-process tests run several invocations)."""
    global remote, debug, _config, _backend
    remote, debug, _config, _backend = None, False, None, None


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


def settings_from_config(config: Config) -> EngineSettings:
    from mc.config.envmap import SERVICE_ENV
    from mc.engine.settings import EngineSettings, Limits

    return EngineSettings(
        network=config.get("docker.network") or "mc-network",
        default_networks=tuple(config.get("defaults.networks") or ()),
        default_volumes=tuple(config.get("defaults.volumes") or ()),
        default_ports=tuple(config.get("defaults.ports") or ()),
        service_env={env: config.get(key) for key, env in SERVICE_ENV.items() if config.get(key)},
        extra_ca=tuple(config.get("docker.extra_ca_certs") or ()),
        uid=os.getuid(),
        gid=os.getgid(),
        default_driver=config.get("defaults.driver") or "goose",
        limits=Limits(config.get("defaults.cpus") or "", config.get("defaults.memory") or "",
                      config.get("defaults.pids_limit") or 4096, config.get("defaults.storage") or ""),
        egress=tuple(config.get("defaults.egress") or ()) or None,
        egress_network=config.get("docker.egress_network") or "mc-egress",
        egress_ca=tuple(config.get("docker.egress_ca_certs") or ()),
        fluentd=_fluentd(config),
        langfuse=_langfuse(config),
        shell_grace=_shell_grace(config),
    )


def _shell_grace(config: Config) -> int:
    from mc.engine.checks import parse_duration
    from mc.engine.settings import MAX_SHELL_GRACE

    seconds = parse_duration(config.get("sessions.shell_grace") or "0", "sessions.shell_grace")
    if seconds > MAX_SHELL_GRACE:
        from mc.errors import InvalidArgument

        raise InvalidArgument(f"sessions.shell_grace: at most 1d, got {seconds}s")
    return seconds


def _screen(sock: socket.socket, *, size: tuple[int, int] | None, resume: bool) -> ExecResult:
    from mc.term.shellclient import drive

    return drive(sock, size=size, resume=resume)


def _langfuse(config: Config) -> Langfuse | None:
    url = config.get("services.langfuse.url") or ""
    if not url:
        return None
    from mc.engine.logfwd import check_langfuse

    return check_langfuse(url, config.get("services.langfuse.public_key") or "",
                          config.get("services.langfuse.secret_key") or "")


def _fluentd(config: Config) -> Fluentd | None:
    url = config.get("logging.fluentd.url") or ""
    if not url:
        return None
    from mc.engine.logfwd import check_fluentd

    return check_fluentd(url, config.get("logging.fluentd.tag") or "")


def backend() -> Backend:
    """The session engine for this invocation: local docker, or an mcd remote."""
    global _backend
    if _backend is None:
        name = remote_name()
        if name:
            from mc.remote.client import RemoteBackend

            _backend = RemoteBackend.from_config(config(), name)
        else:
            from mc.config.owner import default_owner
            from mc.docker import Docker
            from mc.engine.local import LocalBackend
            from mc.engine.scope import Scope

            _backend = LocalBackend(Docker(config().get("docker.socket"), debug=debug),
                                    settings_from_config(config()), Scope.local(default_owner()), screen=_screen)
    return _backend
