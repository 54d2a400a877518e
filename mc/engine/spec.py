"""Parsing and checking what users type for sessions: -e, -v, --port, names."""

from __future__ import annotations

import os
import re

from mc.contract import ENV_NAME, MAX_ENV, MAX_ENV_NAME, MAX_ENV_TOTAL, MAX_ENV_VALUE, RESERVED_PREFIX
from mc.engine.models import Volume
from mc.errors import InvalidArgument

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


def _shown(text: str, limit: int = 40) -> str:
    """A caller's text in a message: printable, short."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text[:limit])
    return repr(clean + ("..." if len(text) > limit else ""))


def check_env(env: dict[str, str]) -> dict[str, str]:
    """The engine's check of a caller's environment (the CLI's parsing is not enough: mcd takes any
    map from the wire). Names are variable names outside MC_*, values carry no NUL, sizes are bounded."""
    if len(env) > MAX_ENV:
        raise InvalidArgument(f"-e: at most {MAX_ENV} variables")
    total = 0
    for key, value in env.items():
        if len(key) > MAX_ENV_NAME or not ENV_NAME.match(key):
            raise InvalidArgument(f"-e {_shown(key)}: not a variable name (letters, digits, '_')")
        if key.startswith(RESERVED_PREFIX):
            raise InvalidArgument(f"-e {key}: names starting with {RESERVED_PREFIX} are reserved for mc")
        if "\0" in value:
            raise InvalidArgument(f"-e {key}: the value contains a NUL byte")
        if len(value) > MAX_ENV_VALUE:
            raise InvalidArgument(f"-e {key}: the value is longer than {MAX_ENV_VALUE // 1024} KiB")
        total += len(key) + len(value)
    if total > MAX_ENV_TOTAL:
        raise InvalidArgument(f"-e: the variables are larger than {MAX_ENV_TOTAL // 1024} KiB in all")
    return env


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


def check_name(name: str) -> str:
    if name and not _NAME.match(name):
        raise InvalidArgument(
            f"--name {name!r}: use letters, digits, '_', '.', '-' (start with a letter or digit)"
        )
    return name


def check_memory(value: str) -> str:
    if value and not re.match(r"^\d+(\.\d+)?[bkmgBKMG]?$", value):
        raise InvalidArgument(f"--memory {value!r}: expected a size like 512m or 4g")
    return value


def check_cpus(value: str) -> str:
    if value:
        try:
            if float(value) <= 0:
                raise ValueError
        except ValueError:
            raise InvalidArgument(f"--cpus {value!r}: expected a positive number like 1.5") from None
    return value
