"""Where mc keeps its files (platformdirs, so XDG_* variables are honoured)."""

from __future__ import annotations

import os
from pathlib import Path


def config_dir() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("mc", appauthor=False))


def data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("mc", appauthor=False))


def cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("mc", appauthor=False))


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by the user only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path
