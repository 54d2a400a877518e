"""Parsing and checking what users type for sessions: -e, -v, --port, names."""

from __future__ import annotations

import os
import re

from mc.engine.models import Volume
from mc.errors import InvalidArgument

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")
_VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


def parse_env(items: list[str]) -> dict[str, str]:
    """``-e KEY=VALUE`` (or ``-e KEY`` to pass the host's value)."""
    env: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not _ENV_NAME.match(key):
            raise InvalidArgument(f"-e {key!r}: expected KEY=VALUE with KEY a variable name")
        if not sep:
            if key not in os.environ:
                raise InvalidArgument(f"-e {key}: no '=' and {key} is not set in your environment")
            value = os.environ[key]
        env[key] = value
    return env


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
