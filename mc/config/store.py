"""Load and save ``config.yaml``: 0600, atomic (temp file + rename), serialised by a lock."""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mc.config import schema
from mc.config.paths import config_dir, private_dir
from mc.errors import InvalidArgument

_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MASK = "********"


def expand(value: Any) -> Any:
    """Expand ``${ENV_VAR}`` references (unset variables become empty)."""
    if isinstance(value, str):
        return _VAR_RE.sub(lambda m: os.environ.get(m.group(1), ""), value)
    if isinstance(value, list):
        return [expand(v) for v in value]
    return value


def _dig(data: dict, path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _put(data: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


class Config:
    """The user configuration as stored, with typed, expanded access."""

    def __init__(self, data: dict[str, Any], path: Path) -> None:
        self.data = data
        self.path = path

    @staticmethod
    def default_path() -> Path:
        return config_dir() / "config.yaml"

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        path = path or cls.default_path()
        try:
            text = path.read_text()
        except FileNotFoundError:
            return cls({}, path)
        except OSError as exc:
            raise InvalidArgument(f"cannot read {path}: {exc.strerror}") from None
        return cls(_parse(text, path), path)

    # -- reading ---------------------------------------------------------------------------
    def stored(self, name: str) -> Any:
        """The value as written in the file (no expansion), or the default."""
        key = schema.resolve(name)
        value = _dig(self.data, key.path)
        if value is None:
            return copy.deepcopy(key.default)
        return schema.check_stored(key, value, str(self.path))

    def get(self, name: str) -> Any:
        """The effective value: stored or default, with ``${VAR}`` expanded."""
        return expand(self.stored(name))

    def items(self, show_secrets: bool = False) -> Iterator[tuple[str, Any]]:
        """Every key with its effective value; secrets masked unless asked for."""
        for path, key in schema.KEYS.items():
            value = self.get(path)
            if key.secret and value and not show_secrets:
                value = MASK
            yield path, value

    def endpoints(self) -> dict[str, dict[str, Any]]:
        found = _dig(self.data, "remote.endpoints")
        return found if isinstance(found, dict) else {}

    # -- writing ---------------------------------------------------------------------------
    @classmethod
    def update(cls, change: Callable[[dict[str, Any]], None], path: Path | None = None) -> Config:
        """Apply ``change`` to the stored data under the lock, and write atomically."""
        from mc.config.atomic import locked

        path = path or cls.default_path()
        private_dir(path.parent)
        with locked(path):
            current = cls.load(path)
            change(current.data)
            _write(path, current.data)
            return current

    @classmethod
    def set(cls, name: str, raw: str, path: Path | None = None) -> Any:
        key = schema.resolve(name)
        value = schema.parse_value(key, raw)
        cls.update(lambda data: _put(data, key.path, value), path)
        return value

    @classmethod
    def reset(cls, path: Path | None = None) -> None:
        """Back to defaults: everything but the remotes (those are removed with mc remote)."""

        def change(data: dict[str, Any]) -> None:
            endpoints = _dig(data, "remote.endpoints")
            data.clear()
            if endpoints:
                _put(data, "remote.endpoints", endpoints)

        cls.update(change, path)


def put(data: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path inside raw config data (for commands that edit sections)."""
    _put(data, path, value)


def dig(data: dict[str, Any], path: str) -> Any:
    return _dig(data, path)


def _parse(text: str, path: Path) -> dict[str, Any]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path} line {mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise InvalidArgument(f"{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidArgument(f"{path}: expected a mapping at the top level")
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    import yaml

    from mc.config.atomic import write_atomic

    write_atomic(path, yaml.safe_dump(data, default_flow_style=False, sort_keys=False).encode())
