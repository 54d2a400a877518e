"""A user's own configuration of a driver's tool (``~/.claude``, ``~/.config/goose``, ...), packed
on their machine for ``mc driver config import`` and checked where it is unpacked.

The archive's paths are the persistent configs' targets under ``/mc-config`` (``claude-code/claude/
settings.json``), so it can only fill what the driver declares. Caches and history (the manifest's
``import_skip``) stay out unless asked; symbolic links, devices and sockets never go in; every file
is 0600 and every directory 0700 (credentials among them stay private).
"""

from __future__ import annotations

import fnmatch
import io
import os
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mc.contract import CONFIG_DIR
from mc.errors import InvalidArgument

MAX_ARCHIVE = 64 * 1024 * 1024
MAX_UPLOAD = 1536 * 1024  # through mcd: one message (the server takes at most 2 MiB)
MAX_FILES = 20_000


@dataclass(frozen=True)
class Source:
    """One persistent config as the packer needs it."""

    source: str  # ~/path on the user's machine (the same path as in the session)
    target: str  # /mc-config/...
    type: str = "directory"
    skip: tuple[str, ...] = ()


@dataclass
class Packed:
    """What went into the archive."""

    archive: bytes
    files: int
    size: int
    found: list[str]  # the sources that exist here
    skipped: int  # files and directories left out as caches or history


def _skipped(rel: str, globs: Iterable[str]) -> bool:
    first = rel.split("/", 1)[0]
    return any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(first, g) for g in globs)


def pack(sources: list[Source], home: Path, *, with_history: bool = False, limit: int = MAX_ARCHIVE) -> Packed:
    buf = io.BytesIO()
    files = size = skipped = 0
    found: list[str] = []

    def add(path: Path, name: str, directory: bool) -> None:
        nonlocal files, size
        info = tarfile.TarInfo(name)
        info.mtime = int(path.lstat().st_mtime)
        if directory:
            info.type, info.mode = tarfile.DIRTYPE, 0o700
            tar.addfile(info)
            return
        data = path.read_bytes()
        files += 1
        size += len(data)
        if files > MAX_FILES or size > limit:
            raise InvalidArgument(f"{path.parent}: more than {limit // (1024 * 1024)} MiB or {MAX_FILES} files; "
                                  "leave out history (no --with-history) or clean it up first")
        info.size, info.mode = len(data), 0o600
        tar.addfile(info, io.BytesIO(data))

    with tarfile.open(fileobj=buf, mode="w") as tar:
        for src in sources:
            if not src.source.startswith("~/"):
                continue
            local = home / src.source[2:]
            base = src.target[len(CONFIG_DIR) + 1:]
            if src.type == "file":
                if local.is_file() and not local.is_symlink():
                    found.append(src.source)
                    add(local, base, False)
                continue
            if not local.is_dir() or local.is_symlink():
                continue
            found.append(src.source)
            add(local, base, True)
            for root, dirs, names in os.walk(local):
                rel_root = os.path.relpath(root, local)
                for d in sorted(dirs):
                    rel = os.path.normpath(os.path.join(rel_root, d))
                    path = Path(root) / d
                    if path.is_symlink() or (not with_history and _skipped(rel, src.skip)):
                        skipped += not path.is_symlink()
                        dirs.remove(d)
                        continue
                    add(path, f"{base}/{rel}", True)
                for n in sorted(names):
                    rel = os.path.normpath(os.path.join(rel_root, n))
                    path = Path(root) / n
                    if not with_history and _skipped(rel, src.skip):
                        skipped += 1
                    elif path.is_file() and not path.is_symlink():
                        add(path, f"{base}/{rel}", False)
    return Packed(buf.getvalue(), files, size, found, skipped)


def checked_members(archive: bytes, targets: Iterable[str], uid: int, gid: int, limit: int = MAX_ARCHIVE,
                    *, lenient: bool = False, root: str = "") -> bytes:
    """The archive again, each member checked (under one of ``targets``, a plain file or directory,
    within the bounds) and owned by the session user: what the engine copies into /mc-config.
    ``lenient`` (a session's own /mc-config read back, its members under ``root``): what fails the
    check is left out instead."""
    roots = [t[len(CONFIG_DIR) + 1:] for t in targets]
    out = io.BytesIO()
    total = count = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as src, tarfile.open(fileobj=out, mode="w") as dst:
            for member in src:
                name = member.name.removeprefix(root) if lenient and root else member.name
                parts = name.split("/")
                if name.startswith("/") or ".." in parts or "" in parts or not any(
                        name == r or name.startswith(r + "/") for r in roots):
                    if lenient:
                        continue
                    raise InvalidArgument(f"config archive: {name!r} is not inside the driver's persistent configs")
                if not (member.isreg() or member.isdir()):
                    if lenient:
                        continue
                    raise InvalidArgument(f"config archive: {name!r} is not a plain file or directory")
                count += 1
                total += member.size
                if count > MAX_FILES or total > limit:
                    raise InvalidArgument(f"config archive: more than {limit // (1024 * 1024)} MiB or "
                                          f"{MAX_FILES} files")
                clean = tarfile.TarInfo(name)
                clean.type, clean.mtime, clean.uid, clean.gid = member.type, member.mtime, uid, gid
                clean.mode = 0o700 if member.isdir() else 0o600
                if member.isreg():
                    clean.size = member.size
                    dst.addfile(clean, src.extractfile(member))
                else:
                    dst.addfile(clean)
    except tarfile.TarError as exc:
        raise InvalidArgument(f"config archive: not a tar archive ({exc})") from None
    return out.getvalue()
