"""A session's environment and secret files: which value goes where (the container contract)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from mc import contract
from mc.errors import InvalidArgument

if TYPE_CHECKING:
    from mc.drivers.manifest import Manifest
    from mc.projects.store import ProjectAccess

MAX_VALUE = contract.MAX_ENV_VALUE
MAX_TOTAL = contract.MAX_ENV_TOTAL


def _shown(text: str, limit: int = 40) -> str:
    """A caller's text in a message: printable, short."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text[:limit])
    return repr(clean + ("..." if len(text) > limit else ""))


def check_env(env: Mapping[str, str]) -> None:
    """A caller's variables: names outside MC_*, values without NUL, sizes bounded. The engine
    checks them whichever door they came through (mcd takes any map from the wire)."""
    if len(env) > contract.MAX_ENV:
        raise InvalidArgument(f"-e: at most {contract.MAX_ENV} variables")
    total = 0
    for key, value in env.items():
        if len(key) > contract.MAX_ENV_NAME or not contract.ENV_NAME.match(key):
            raise InvalidArgument(f"-e {_shown(key)}: not a variable name (letters, digits, '_')")
        if key.startswith(contract.RESERVED_PREFIX):
            raise InvalidArgument(f"-e {key}: names starting with {contract.RESERVED_PREFIX} are reserved for mc")
        if "\0" in value:
            raise InvalidArgument(f"-e {key}: the value contains a NUL byte")
        if len(value) > MAX_VALUE:
            raise InvalidArgument(f"-e {key}: the value is longer than {MAX_VALUE // 1024} KiB")
        total += len(key) + len(value)
    if total > MAX_TOTAL:
        raise InvalidArgument(f"-e: the variables are larger than {MAX_TOTAL // 1024} KiB in all")


def split_environment(manifest: Manifest, service_env: Mapping[str, str],
                      user_env: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(container environment, private environment): driver defaults < configured services < -e.

    What the user gives, and every sensitive default, is private: it goes to the secrets file and
    reaches only the session user's processes. The driver's plain defaults are container
    environment. MC_* names are mc's and never come from a manifest or a caller.
    """
    check_env(user_env)
    plain: dict[str, str] = {}
    private: dict[str, str] = {}
    for var in manifest.environment:
        if var.default is not None and not var.name.startswith(contract.RESERVED_PREFIX):
            (private if var.sensitive else plain)[var.name] = var.default
    for name, value in {**service_env, **user_env}.items():
        plain.pop(name, None)
        private[name] = value
    missing = [v.name for v in manifest.environment if v.required and v.name not in plain and v.name not in private
               and not v.name.startswith(contract.RESERVED_PREFIX)]
    if missing:
        raise InvalidArgument(f"driver '{manifest.name}' requires {', '.join(missing)}: pass -e {missing[0]}=VALUE")
    return plain, private


def project_environment(access: ProjectAccess) -> tuple[dict[str, str], dict[str, bytes]]:
    """(container environment, secret files) that let mc-init clone a project, and only from its host."""
    from mc.projects.urls import parse

    scheme, host, port, _ = parse(access.clone_url)
    env = {"MC_PROJECT_URL": access.clone_url, "MC_PROJECT_TYPE": "git", "MC_GIT_PROTOCOL": scheme or "ssh",
           "MC_GIT_HOST": host, "MC_GIT_PORT": port}
    files: dict[str, bytes] = {}
    if access.auth_type == "ssh":
        key = access.secret if access.secret.endswith("\n") else access.secret + "\n"
        files[contract.GIT_SSH_KEY_FILE] = key.encode()
        env["MC_GIT_SSH_KEY"] = f"{contract.SECRETS_DIR}/{contract.GIT_SSH_KEY_FILE}"
    elif access.auth_type == "token":
        files[contract.GIT_TOKEN_FILE] = access.secret.encode()
        env["MC_GIT_TOKEN"] = f"{contract.SECRETS_DIR}/{contract.GIT_TOKEN_FILE}"
        env["MC_GIT_USER"] = access.username or "x-access-token"
    return env, files


def secrets_tar(files: Mapping[str, bytes], gid: int) -> bytes:
    """The secrets for ``docker cp``: into INCOMING_DIR, which mc-init moves to the /run/mc tmpfs."""
    return dir_tar(contract.INCOMING_DIR, files, 0o750, 0o640, gid)


def dir_tar(directory: str, files: Mapping[str, bytes], dir_mode: int, file_mode: int, gid: int = 0) -> bytes:
    """A tar for ``docker cp - CONTAINER:/``: ``directory`` with ``files`` in it (never argv)."""
    import io
    import tarfile
    import time

    top = directory.lstrip("/")
    now = time.time()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(top)
        info.type, info.mode, info.gid, info.mtime = tarfile.DIRTYPE, dir_mode, gid, now
        tar.addfile(info)
        for name, content in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size, info.mode, info.gid, info.mtime = len(content), file_mode, gid, now
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()
