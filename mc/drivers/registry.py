"""Find drivers: built-in ones shipped with mc, the user's, or a directory given as a path."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from mc.config.paths import config_dir
from mc.contract import SHARED_FILES
from mc.drivers import manifest as manifest_mod
from mc.drivers.manifest import Manifest
from mc.errors import InvalidArgument, NotFound

__all__ = ["SHARED_FILES", "Driver", "builtin_dir", "resolve"]


@dataclass
class Driver:
    """A driver found on disk: its name, manifest and where it comes from."""

    name: str
    path: Path  # its directory ("" for a driver that is an image)
    source: str  # builtin | user | path | image
    manifest: Manifest
    image: str = ""  # a registry reference: the driver is this image as it is (pulled, never built)


def builtin_dir() -> Path:
    """Where the built-in drivers are: a PyInstaller bundle, a source checkout, or an install."""
    candidates = []
    if os.environ.get("MC_BUILTIN_DRIVERS"):
        candidates.append(Path(os.environ["MC_BUILTIN_DRIVERS"]))
    if getattr(sys, "frozen", False):
        candidates.append(Path(getattr(sys, "_MEIPASS", "")) / "drivers")
    candidates.append(Path(__file__).resolve().parents[2] / "drivers")
    candidates.append(Path(sys.prefix) / "share" / "mc" / "drivers")
    for path in candidates:
        if (path / "mc-init.sh").is_file():
            return path
    raise NotFound("the built-in drivers are missing from this installation of mc")


def user_dir() -> Path:
    return config_dir() / "drivers"


def _is_driver(path: Path) -> bool:
    return (path / "Dockerfile").is_file()


def _entries() -> dict[str, tuple[Path, str]]:
    found: dict[str, tuple[Path, str]] = {}
    base = builtin_dir()
    for child in sorted(base.iterdir()):
        if child.is_dir() and _is_driver(child):
            found[child.name] = (child, "builtin")
    udir = user_dir()
    if udir.is_dir():
        for child in sorted(udir.iterdir()):
            if _is_driver(child):
                found[child.name] = (child.resolve(), "user")
    return found


def names() -> list[str]:
    return sorted(_entries())


def _load(path: Path, source: str) -> Driver:
    m = manifest_mod.load(path)
    return Driver(m.name, path, source, m)


def resolve(ref: str) -> Driver:
    """A driver by name, or by path when ``ref`` looks like one (contains '/' or starts with '.')."""
    if "/" in ref or ref.startswith((".", "~")):
        path = Path(ref).expanduser().resolve()
        if not path.is_dir():
            raise NotFound(f"driver directory {path} does not exist")
        if not _is_driver(path):
            raise InvalidArgument(f"{path}: a driver needs a Dockerfile")
        return _load(path, "path")
    entries = _entries()
    if ref not in entries:
        raise NotFound(f"unknown driver '{ref}'; available: {', '.join(sorted(entries))}")
    path, source = entries[ref]
    return _load(path, source)


def all_drivers() -> list[Driver]:
    return [_load(path, source) for path, source in _entries().values()]


def add(path_str: str, name: str | None = None) -> Driver:
    """Register a driver directory under the user's config dir (a symlink, so edits apply)."""
    path = Path(path_str).expanduser().resolve()
    if not path.is_dir() or not _is_driver(path):
        raise InvalidArgument(f"{path}: not a driver directory (it needs a Dockerfile)")
    driver = _load(path, "user")
    name = name or driver.name
    if not manifest_mod.valid_name(name):
        raise InvalidArgument(f"'{name}': a driver name is lowercase letters, digits, '-', '_' or '.'")
    link = user_dir() / name
    if link.exists() or link.is_symlink():
        raise InvalidArgument(f"a user driver named '{name}' already exists ({link})")
    user_dir().mkdir(parents=True, exist_ok=True)
    link.symlink_to(path, target_is_directory=True)
    driver.name = name
    return driver


IMAGE_SUFFIX = ".image"  # user_dir()/NAME.image holds the reference of a driver pulled from a registry


def user_images() -> dict[str, str]:
    """The user's drivers that are images (``mc driver pull``): name -> reference."""
    udir = user_dir()
    if not udir.is_dir():
        return {}
    return {p.name[:-len(IMAGE_SUFFIX)]: p.read_text().strip() for p in sorted(udir.glob(f"*{IMAGE_SUFFIX}"))
            if manifest_mod.valid_name(p.name[:-len(IMAGE_SUFFIX)])}


def add_image(name: str, ref: str) -> None:
    """Register a driver that is an image under the user's config dir."""
    if not manifest_mod.valid_name(name):
        raise InvalidArgument(f"'{name}': a driver name is lowercase letters, digits, '-', '_' or '.'")
    if (user_dir() / name).exists() or (user_dir() / name).is_symlink():
        raise InvalidArgument(f"a user driver named '{name}' already exists ({user_dir() / name})")
    user_dir().mkdir(parents=True, exist_ok=True)
    (user_dir() / f"{name}{IMAGE_SUFFIX}").write_text(ref + "\n")


def remove(name: str) -> None:
    """Unregister a driver added with ``add``: remove its link, never a directory."""
    if not manifest_mod.valid_name(name):
        raise InvalidArgument(f"'{name}' is not a driver name")
    link = user_dir() / name
    image = user_dir() / f"{name}{IMAGE_SUFFIX}"
    if image.is_file():
        image.unlink()
        return
    if not link.is_symlink():
        if link.exists():
            raise InvalidArgument(f"{link} is a directory, not a driver registered with mc driver add; "
                                  "remove it yourself if you mean to")
        raise NotFound(f"no user driver named '{name}'")
    link.unlink()
