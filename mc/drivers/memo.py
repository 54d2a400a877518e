"""Remember what was computed from files (a driver's parsed manifest, its content hash) until any
of those files changes (size or mtime). Spares `mc session create` the YAML parser and re-hashing
the driver directory on every run."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from mc.config.paths import cache_dir


def stamp(paths: Iterable[Path]) -> list[list[Any]]:
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append([str(p), st.st_size, st.st_mtime_ns])
        except FileNotFoundError:
            out.append([str(p), -1, 0])
    return out


def remember(kind: str, key: str, files: Iterable[Path], compute: Callable[[], Any]) -> Any:
    import hashlib

    name = hashlib.sha1(f"{kind}\0{key}".encode()).hexdigest()[:20]
    path = cache_dir() / "memo" / f"{kind}-{name}.json"
    current = stamp(files)
    try:
        saved = json.loads(path.read_text())
        if saved.get("stamp") == current:
            return saved["value"]
    except (OSError, ValueError):
        pass
    value = compute()
    try:
        from mc.config.atomic import write_atomic

        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps({"stamp": current, "value": value}).encode(), 0o644)
    except OSError:
        pass  # a read-only cache only costs speed
    return value


def walk(directory: Path) -> list[Path]:
    """Every file of a driver directory, and every symbolic link (to a file or a directory) as such."""
    found = []
    for root, dirs, files in os.walk(directory, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in (".git", "__pycache__"))
        found += [Path(root) / d for d in dirs if (Path(root) / d).is_symlink()]
        found += [Path(root) / f for f in sorted(files)]
    return found
