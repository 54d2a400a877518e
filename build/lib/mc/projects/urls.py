"""Git URL forms -> one normalised project id.

``github.com/hello/private``, ``git@github.com:hello/private.git``,
``https://github.com/hello/private(.git)`` and ``ssh://git@github.com/hello/private.git`` all
name the project ``github.com/hello/private``.
"""

from __future__ import annotations

import re

from mc.errors import InvalidArgument

_SCP = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+):(?!//)(?P<path>.+)$")
_URL = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?:(?P<user>[^@/]+)@)?(?P<host>[^/:]+)(?::(?P<port>\d+))?"
                  r"(?P<path>/.*)?$", re.IGNORECASE)
_BARE = re.compile(r"^(?P<host>[a-z0-9.-]+\.[a-z]{2,}|localhost)(?::(?P<port>\d+))?/(?P<path>.+)$", re.IGNORECASE)


def _clean(path: str) -> str:
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[:-4]
    return path.rstrip("/")


def parse(url: str) -> tuple[str, str, str, str]:
    """(scheme, host, port, path) of any accepted form; scheme '' for bare and scp-like forms."""
    url = url.strip()
    if m := _URL.match(url):
        scheme = m.group("scheme").lower()
        if scheme not in ("http", "https", "ssh", "git", "file"):
            raise InvalidArgument(f"'{url}': unsupported URL scheme '{scheme}'")
        return scheme, (m.group("host") or "").lower(), m.group("port") or "", _clean(m.group("path") or "")
    if m := _BARE.match(url):
        return "", m.group("host").lower(), m.group("port") or "", _clean(m.group("path"))
    if (m := _SCP.match(url)) and "/" not in m.group("host"):
        return "ssh", m.group("host").lower(), "", _clean(m.group("path"))
    raise InvalidArgument(f"'{url}' is not a git URL (try host/owner/repo, git@host:owner/repo.git or https://...)")


def normalize(url: str) -> str:
    """The project id: host/path, without user, port, scheme or .git."""
    scheme, host, _port, path = parse(url)
    if not path:
        raise InvalidArgument(f"'{url}' names no repository")
    if scheme == "file":
        return f"file/{path}"
    return f"{host}/{path}"


def looks_like_git_url(text: str) -> bool:
    if text.startswith(("/", "./", "../", "~")) or text in (".", ".."):
        return False
    try:
        parse(text)
    except InvalidArgument:
        return False
    return True


def clone_url(url: str, auth: str = "") -> str:
    """A URL git can clone. A bare ``host/owner/repo`` becomes ssh when a key is used, else https."""
    scheme, host, port, path = parse(url)
    if scheme:
        return url.strip()
    if auth == "ssh":
        return f"git@{host}:{path}.git" if not port else f"ssh://git@{host}:{port}/{path}.git"
    return f"https://{host}{':' + port if port else ''}/{path}.git"
