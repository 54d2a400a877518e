"""Text that came from elsewhere (a server, a name someone chose), made safe to print on a terminal."""

from __future__ import annotations


def printable(text: str) -> str:
    """Control characters (escape sequences someone put in a name) shown as '?'."""
    return text if text.isprintable() else "".join(ch if ch.isprintable() else "?" for ch in text)
