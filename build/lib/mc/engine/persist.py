"""Per-project persistent configuration directories (mounted at /mc-config)."""

from __future__ import annotations

from pathlib import Path

from mc.config.paths import data_dir


def project_key_hash(key: str) -> str:
    """Hash of a project id (normalised git URL) or of an absolute local path."""
    import hashlib

    return hashlib.sha256(key.encode()).hexdigest()[:16]


def project_config_dir(key: str, root: Path | None = None) -> Path:
    return (root or data_dir()) / "projects" / project_key_hash(key) / "config"
