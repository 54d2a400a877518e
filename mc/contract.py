"""The session contract: what the engine and the container side (drivers/mc-lib.sh, mc-init.sh,
mc-exec) agree on. One home for the paths, file names, variable names and exit codes; a unit test
checks that drivers/mc-lib.sh spells them the same way.

How a value reaches a session:
- mc's own facts (``MC_*``) and the driver's non-secret defaults are container environment (``-e``);
- everything a user gives (``-e``, service keys from the config) and every secret goes into
  ``secrets/env`` (KEY=VALUE records separated by NUL bytes) and the credential files, copied into
  ``INCOMING_DIR`` before the start and copied by mc-init into the ``RUN_DIR`` tmpfs. ``INCOMING_DIR``
  is an anonymous volume of the session's (never in an export or commit of its container), kept,
  root's only, so that a stopped session's next start has them; it goes with the container. That
  file is read, never sourced, and only processes of the session user see its values.
"""

from __future__ import annotations

import re

APP_DIR = "/app"
CONFIG_DIR = "/mc-config"
RUN_DIR = "/run/mc"  # a tmpfs: ready, failed, control, secrets/
INCOMING_DIR = "/run/mc-incoming"  # where `docker cp` puts the secrets before the start
SECRETS_READY = ".ready"  # on a cluster, the last file copied into INCOMING_DIR: mc-init waits for it
SECRETS_DIR = f"{RUN_DIR}/secrets"
ENV_FILE = "env"
GIT_SSH_KEY_FILE = "git_ssh_key"
GIT_TOKEN_FILE = "git_token"
CA_BUNDLE = f"{RUN_DIR}/ca-bundle.pem"  # with an egress proxy holding keys: the trusted CAs and its own
MCP_FILE = "mcp"  # the session's MCP servers in its tool's form (mc.engine.mcpwire), for the driver's init
FAILED_EXIT = 97  # mc-init.sh's exit code when a start step fails
EXPIRED_EXIT = 98  # mc-init.sh's exit code when the session's lifetime ended (it is then closed)
STATE_DIR = "/var/lib/mc"  # in the container's layer (kept while stopped): initialized, deadline
DEADLINE_FILE = f"{STATE_DIR}/deadline"  # the end of the session's lifetime, Unix seconds (mc session extend)
EXEC = "/usr/local/bin/mc-exec"
SIGNAL = "/usr/local/bin/mc-signal"

# Files mc adds to every driver image: name in drivers/ -> path in the image.
SHARED_FILES = {
    "mc-init.sh": "/mc-init.sh",
    "mc-lib.sh": "/usr/local/lib/mc/lib.sh",
    "mc-exec": EXEC,
    "mc-git-credential": "/usr/local/bin/mc-git-credential",
    "mc-signal": SIGNAL,
    "mc-incontainer": "/usr/local/bin/mc",
    "mc-proxy-connect": "/usr/local/bin/mc-proxy-connect",
}

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_PREFIX = "MC_"  # names that belong to mc; a user cannot set them
MAX_ENV = 256  # variables a caller may pass
MAX_ENV_NAME = 256
MAX_ENV_VALUE = 128 * 1024
MAX_ENV_TOTAL = 1024 * 1024


def env_file(values: dict[str, str]) -> bytes:
    """``secrets/env``: NUL-separated KEY=VALUE records (names and values already checked)."""
    return b"".join(f"{k}={v}".encode() + b"\0" for k, v in values.items())


# Egress policies name hosts; the proxy (drivers/_images/egress-proxy/mc_egress.py) matches them the
# same way: a name exactly, ``*.name`` its subdomains, an address never.
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def is_address(host: str) -> bool:
    """An IP address literal (brackets allowed), not a name."""
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def check_domain(value: str) -> str:
    """A name or ``*.name``, lowercased; ValueError with the reason otherwise (an address is not a name)."""
    domain = value.strip().lower().rstrip(".")
    name = domain[2:] if domain.startswith("*.") else domain
    if is_address(name):
        raise ValueError(f"{value}: give a name, not an address")
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        raise ValueError(f"{value!r}: expected a domain name like example.com or *.example.com")
    return domain
