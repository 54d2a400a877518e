"""Checks of what callers ask for (names, limits, ports, volumes, commands), one message each.

The CLI parses with some of these (``-v`` against its own directory); the engine checks every field
again, because mcd takes the same requests from the wire."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from mc.contract import ENV_NAME
from mc.engine.models import Volume
from mc.errors import InvalidArgument, PermissionDenied

if TYPE_CHECKING:
    from mc.engine.settings import EngineSettings

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")
_VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


def parse_env(items: list[str]) -> dict[str, str]:
    """``-e KEY=VALUE`` (or ``-e KEY`` to pass the host's value)."""
    env: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not ENV_NAME.match(key):
            raise InvalidArgument(f"-e {key!r}: expected KEY=VALUE with KEY a variable name")
        if not sep:
            if key not in os.environ:
                raise InvalidArgument(f"-e {key}: no '=' and {key} is not set in your environment")
            value = os.environ[key]
        env[key] = value
    return env


MAX_DURATION = 366 * 86400  # the longest lifetime, idle timeout or extension anyone may ask for
_DURATION = re.compile(r"^(?:(\d{1,6})d)?(?:(\d{1,7})h)?(?:(\d{1,9})m)?(?:(\d{1,10})s?)?$")


def parse_duration(text: str, what: str) -> int:
    """``2h``, ``90m``, ``1h30m``, ``1d``, ``45s`` or plain seconds, as seconds; ``what`` names the
    option in the one-line error."""
    m = _DURATION.match(text.strip().lower())
    if not text.strip() or not m or not any(m.groups()):
        raise InvalidArgument(f"{what} {text!r}: expected a duration such as 90s, 30m, 2h, 1h30m or 1d")
    days, hours, minutes, seconds = (int(g or 0) for g in m.groups())
    return check_duration(days * 86400 + hours * 3600 + minutes * 60 + seconds, what, allow_zero=True)


def check_duration(seconds: int, what: str, *, allow_zero: bool = False) -> int:
    """A duration a caller gave (seconds), within 0 (when allowed) or 1 s and 366 days."""
    if not (0 if allow_zero else 1) <= seconds <= MAX_DURATION:
        raise InvalidArgument(f"{what}: expected {'0 or ' if allow_zero else ''}1s to 366d, got {seconds}s")
    return seconds


def format_duration(seconds: int) -> str:
    """``1h30m`` (``45s`` under a minute; days as ``1d2h``)."""
    if seconds < 60:
        return f"{max(seconds, 0)}s"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    text = (f"{days}d" if days else "") + (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text or "0s"


MAX_ARGS = 4096
MAX_COMMAND = 256 * 1024


def check_command(command: list[str]) -> list[str]:
    """A command to run in a session, as a caller sent it: no NUL bytes, bounded in count and size."""
    if len(command) > MAX_ARGS or sum(len(a) + 1 for a in command) > MAX_COMMAND:
        raise InvalidArgument(f"the command is longer than {MAX_ARGS} arguments or {MAX_COMMAND // 1024} KiB")
    if any("\0" in a for a in command):
        raise InvalidArgument("the command contains a NUL byte")
    return command


def parse_volume(spec: str, base: str | None = None) -> Volume:
    """``SRC:DST[:ro|rw]``; SRC is an existing host path or a named volume."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise InvalidArgument(f"-v {spec!r}: expected SRC:DST[:ro]")
    src, dst = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else "rw"
    if mode not in ("ro", "rw"):
        raise InvalidArgument(f"-v {spec!r}: mode must be ro or rw, not {mode!r}")
    if not dst.startswith("/"):
        raise InvalidArgument(f"-v {spec!r}: the container path {dst!r} must be absolute")
    if "/" in src or src.startswith((".", "~")):
        src = os.path.abspath(os.path.expanduser(os.path.join(base or os.getcwd(), src)))
        if not os.path.exists(src):
            raise InvalidArgument(f"-v {spec!r}: {src} does not exist")
    elif not _VOLUME_NAME.match(src):
        raise InvalidArgument(f"-v {spec!r}: {src!r} is neither a path nor a volume name")
    return Volume(src, dst, mode == "ro")


def parse_port(spec: str | int) -> int:
    try:
        port = int(spec)
    except (TypeError, ValueError):
        raise InvalidArgument(f"--port {spec!r}: expected a port number 1-65535") from None
    if not 1 <= port <= 65535:
        raise InvalidArgument(f"--port {spec}: expected a port number 1-65535")
    return port


_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def check_timestamp(value: str) -> str:
    """An RFC 3339 UTC time as docker prints it (``--since`` of logs)."""
    if not _TIMESTAMP.match(value):
        raise InvalidArgument(f"since {value[:40]!r}: expected an RFC 3339 UTC time like 2026-01-02T03:04:05.123Z")
    return value


def check_ssh_key(key: str) -> str:
    """An ssh public key line (what --ssh puts in authorized_keys)."""
    key = key.strip()
    if not key:
        raise InvalidArgument("--ssh needs a public key (~/.ssh/id_ed25519.pub or id_rsa.pub)")
    if len(key) > 16 * 1024 or "\n" in key or not key.startswith(("ssh-", "ecdsa-", "sk-")) or not key.isprintable():
        raise InvalidArgument("--ssh: not an ssh public key (one line, ssh-ed25519 AAAA...)")
    return key


_MODEL = re.compile(r"^([a-z0-9][a-z0-9_.-]{0,62})/([A-Za-z0-9][A-Za-z0-9_.:@/+-]{0,199})$")


def check_model(value: str) -> tuple[str, str]:
    """``PROVIDER/MODEL`` (the model may itself have slashes: openrouter/anthropic/claude-...)."""
    m = _MODEL.match(value)
    if not m:
        shown = value if len(value) <= 80 and value.isprintable() else value[:80].encode("unicode_escape").decode()
        raise InvalidArgument(f"--model {shown!r}: expected PROVIDER/MODEL, e.g. anthropic/claude-sonnet-4-5")
    return m.group(1), m.group(2)


def check_name(name: str) -> str:
    if name and not _NAME.match(name):
        raise InvalidArgument(
            f"--name {name!r}: use letters, digits, '_', '.', '-' (start with a letter or digit)"
        )
    return name


_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def memory_bytes(value: str, what: str = "--memory") -> int:
    """``512m``, ``4g``, ``1.5g`` (docker's units) in bytes."""
    m = re.match(r"^(\d{1,12})(\.\d{1,6})?([bkmgBKMG]?)$", value)
    if not m:
        raise InvalidArgument(f"{what} {value[:40]!r}: expected a size like 512m or 4g")
    return int(float(m.group(1) + (m.group(2) or "")) * _UNITS[m.group(3).lower()])


MIN_STORAGE = 256 * 1024**2  # below this a session's own image may not fit in its limit


def check_storage(value: str) -> str:
    """``--storage``: a size like 10g, at least 256m and at most 64t."""
    if value:
        size = memory_bytes(value, "--storage")
        if not MIN_STORAGE <= size <= 64 * 1024**4:
            raise InvalidArgument(f"--storage {value}: expected 256m to 64t")
    return value


def check_memory(value: str) -> str:
    if value:
        memory_bytes(value)
    return value


def cpu_count(value: str) -> float:
    try:
        cpus = float(value)
        if not 0 < cpus <= 1024 or len(value) > 12:
            raise ValueError
    except ValueError:
        raise InvalidArgument(f"--cpus {value[:40]!r}: expected a positive number like 1.5") from None
    return cpus


def check_cpus(value: str) -> str:
    if value:
        cpu_count(value)
    return value


def check_mcp_image(image: str, settings: EngineSettings) -> None:
    """Through mcd, an MCP server's image must be one the operator lists (``sessions.mcp_images``)."""
    import fnmatch

    if image and not settings.host_access and not any(fnmatch.fnmatchcase(image, p) for p in settings.mcp_images):
        raise PermissionDenied(f"image {image} is not one this server runs as an MCP server "
                               "(its operator lists them in sessions.mcp_images)")
