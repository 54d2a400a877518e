"""Who owns what this machine's user creates: ``MC_OWNER`` (tests, shared accounts), else the login name."""

from __future__ import annotations

import os


def default_owner() -> str:
    if os.environ.get("MC_OWNER"):
        return os.environ["MC_OWNER"]
    try:
        import pwd

        return os.environ.get("USER") or pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())
