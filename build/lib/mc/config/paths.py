"""Where mc keeps its files: the platformdirs user directories of app ``mc``.

On Linux these are the XDG base directories, computed here directly (the same answer platformdirs
gives, tests/unit/test_paths.py checks it) because importing platformdirs costs more than the rest
of `mc session list`'s own imports. Other systems ask platformdirs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "mc"


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var, "").strip()
    base = Path(value) if value and os.path.isabs(value) else Path.home() / fallback
    return base / APP


def config_dir() -> Path:
    if sys.platform.startswith("linux"):
        return _xdg("XDG_CONFIG_HOME", ".config")
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP, appauthor=False))


def data_dir() -> Path:
    if sys.platform.startswith("linux"):
        return _xdg("XDG_DATA_HOME", ".local/share")
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP, appauthor=False))


def cache_dir() -> Path:
    if sys.platform.startswith("linux"):
        return _xdg("XDG_CACHE_HOME", ".cache")
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP, appauthor=False))


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by the user only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path
