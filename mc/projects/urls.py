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


MAX_URL = 2048


def redact(url: str) -> str:
    """A URL as it may be shown: printable, without any password in it, not too long."""
    url = re.sub(r"://[^@/]*:[^@/]*@", "://***@", url)
    url = re.sub(r"^[^@/:]*:[^@/]*@", "***@", url)
    shown = "".join(ch if ch.isprintable() else "?" for ch in url[:200])
    return shown + ("..." if len(url) > 200 else "")


def _check(url: str, user: str | None, path: str) -> None:
    if user and ":" in user:
        raise InvalidArgument(f"'{redact(url)}': a password in the URL would be shown and stored in clear; "
                              "give the URL without it and the token with mc project add URL --token -")
    if any(not ch.isprintable() or ch.isspace() or ch in "\\\"'`$;|&<>" for ch in path):
        raise InvalidArgument(f"'{redact(url)}': the repository path has characters git URLs do not use")


def parse(url: str) -> tuple[str, str, str, str]:
    """(scheme, host, port, path) of any accepted form; scheme '' for bare and scp-like forms.

    URLs with a password in them are refused (it would be echoed, logged, labelled and written to
    .git/config), and so are paths with control characters or shell and terminal specials.
    """
    url = url.strip()
    if len(url) > MAX_URL:
        raise InvalidArgument(f"'{redact(url)}': longer than {MAX_URL} characters")
    if m := _URL.match(url):
        scheme = m.group("scheme").lower()
        if scheme not in ("http", "https", "ssh", "git", "file"):
            raise InvalidArgument(f"'{redact(url)}': unsupported URL scheme '{scheme}'")
        _check(url, m.group("user"), m.group("path") or "")
        return scheme, (m.group("host") or "").lower(), m.group("port") or "", _clean(m.group("path") or "")
    if m := _BARE.match(url):
        _check(url, None, m.group("path"))
        return "", m.group("host").lower(), m.group("port") or "", _clean(m.group("path"))
    if (m := _SCP.match(url)) and "/" not in m.group("host"):
        _check(url, m.group("user"), m.group("path"))
        return "ssh", m.group("host").lower(), "", _clean(m.group("path"))
    raise InvalidArgument(f"'{redact(url)}' is not a git URL (try host/owner/repo, git@host:owner/repo.git or "
                          "https://...)")


def normalize(url: str) -> str:
    """The project id: host/path, without user, port, scheme or .git."""
    scheme, host, _port, path = parse(url)
    if not path:
        raise InvalidArgument(f"'{redact(url)}' names no repository")
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
