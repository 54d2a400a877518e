"""The schema of ``config.yaml``: every key, its type, its default.

Keys are dotted paths (``services.openai.api_key``). Users may drop the ``services.`` prefix
(``openai.api_key``). ``remote.endpoints`` is managed by ``mc remote``.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass
from typing import Any

from mc.errors import InvalidArgument


@dataclass(frozen=True)
class Key:
    """One key of the user config: its dotted path, type, default and help."""

    path: str
    type: builtins.type  # str, bool, int, list
    default: Any
    help: str
    item_type: builtins.type = str  # for lists

    @property
    def secret(self) -> bool:
        return is_secret_name(self.path.rsplit(".", 1)[-1])


_SECRET_RE = re.compile(r"key|secret|token|password", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    """Names that hold secrets (``*key*``, ``*secret*``, ``*token*``) are masked everywhere."""
    return bool(_SECRET_RE.search(name))


KEYS: dict[str, Key] = {
    k.path: k
    for k in [
        Key("defaults.driver", str, "goose", "driver used when none is given"),
        Key("defaults.model", str, "", "PROVIDER/MODEL for sessions whose driver takes that provider (--model)"),
        Key("defaults.mcps", list, [], "MCP servers (mc mcp add) attached to every session whose driver takes them"),
        Key("defaults.egress", list, [], "names sessions may reach, through an egress proxy ([]: no policy, "
            "direct egress; *: any public name, through the proxy; *.example.com: its subdomains)"),
        Key("defaults.connect", bool, True, "connect after creating a session"),
        Key("defaults.mount_local", bool, True, "bare 'mc' mounts the current directory at /app"),
        Key("defaults.networks", list, [], "networks every session joins (besides docker.network)"),
        Key("defaults.volumes", list, [], "volumes (SRC:DST[:ro]) every local session mounts"),
        Key("defaults.ports", list, [], "container ports every session publishes on loopback", int),
        Key("defaults.cpus", str, "", "CPU limit of a session (e.g. 2 or 1.5); empty: none"),
        Key("defaults.memory", str, "", "memory limit of a session (e.g. 4g); empty: none"),
        Key("defaults.pids_limit", int, 4096, "maximum number of processes in a session"),
        Key("defaults.storage", str, "", "the most a session's own files may take (e.g. 10g), where the engine "
            "can enforce it; empty: none"),
        Key("services.langfuse.url", str, "", "Langfuse project that gets a trace of each connect/run/exec and "
            "the tools' spans (never the session's keys); empty: none"),
        Key("services.langfuse.public_key", str, "", "Langfuse public key"),
        Key("services.langfuse.secret_key", str, "", "Langfuse secret key (stays on this machine)"),
        Key("services.openai.api_key", str, "", "OpenAI API key (OPENAI_API_KEY)"),
        Key("services.anthropic.api_key", str, "", "Anthropic API key (ANTHROPIC_API_KEY)"),
        Key("services.openrouter.api_key", str, "", "OpenRouter API key (OPENROUTER_API_KEY)"),
        Key("services.google.api_key", str, "", "Google API key (GOOGLE_API_KEY)"),
        Key("sessions.idle_timeout", str, "", "stop a session after this long without activity (30m, 2h; "
            "0 or empty: never); create --idle-timeout overrides"),
        Key("sessions.shell_grace", str, "5m", "how long a connect's shell whose terminal went away without a "
            "detach waits to be resumed (at most 1d; 0: it ends with its terminal)"),
        Key("logging.fluentd.url", str, "", "Fluentd collector every session's output also goes to "
            "(host:port, tcp://host:port or unix:///path); empty: none"),
        Key("logging.fluentd.tag", str, "", "its tag: letters, digits, . _ - and {session} {owner} {driver} "
            "{project} (default mc.{session})"),
        Key("docker.network", str, "mc-network", "network every session joins (created if missing)"),
        Key("docker.egress_network", str, "mc-egress", "network egress proxies go out by (created if missing, "
            "with no traffic between its members)"),
        Key("docker.egress_ca_certs", list, [], "CA certificates egress proxies trust for the servers they reach "
            "(besides the system's and docker.extra_ca_certs)"),
        Key("docker.socket", str, "", "Docker socket path; empty: DOCKER_HOST / docker context"),
        Key("docker.extra_ca_certs", list, [], "CA certificates (files or dirs) added to driver builds"),
        Key("remote.default", str, "", "remote used when -r is not given; empty: local mode"),
        Key("ui.colors", bool, True, "colors in terminal output"),
        Key("ui.verbose", bool, False, "verbose output"),
        Key("ui.table_format", str, "grid", "table style: grid or plain"),
    ]
}

# Sections whose content is managed by dedicated commands, not `config set`.
MANAGED = {"remote.endpoints": "mc remote add|remove"}


def resolve(name: str) -> Key:
    """Find the key for a full or simplified name, or fail listing the valid ones."""
    if name in KEYS:
        return KEYS[name]
    if f"services.{name}" in KEYS:
        return KEYS[f"services.{name}"]
    for prefix, command in MANAGED.items():
        if name == prefix or name.startswith(prefix + "."):
            raise InvalidArgument(f"'{name}' is managed with '{command}'")
    raise InvalidArgument(f"unknown config key '{name}'; valid keys: {', '.join(KEYS)}")


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def parse_value(key: Key, raw: str) -> Any:
    """Turn the text a user typed into a value of the key's type."""
    if key.type is bool:
        low = raw.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise InvalidArgument(f"{key.path} must be true or false, not '{raw}'")
    if key.type is int:
        try:
            return int(raw)
        except ValueError:
            raise InvalidArgument(f"{key.path} must be an integer, not '{raw}'") from None
    if key.type is list:
        items = [i.strip() for i in raw.split(",") if i.strip()]
        return [parse_item(key, i) for i in items]
    return raw


def parse_item(key: Key, raw: str) -> Any:
    if key.item_type is int:
        try:
            return int(raw)
        except ValueError:
            raise InvalidArgument(f"{key.path} items must be integers, not '{raw}'") from None
    return raw


def check_stored(key: Key, value: Any, where: str) -> Any:
    """Validate a value read from the file; wrong types name the file and key."""
    ok = {
        bool: lambda v: isinstance(v, bool),
        int: lambda v: isinstance(v, int) and not isinstance(v, bool),
        list: lambda v: isinstance(v, list),
        str: lambda v: isinstance(v, str | int | float) and not isinstance(v, bool),
    }[key.type](value)
    if not ok:
        raise InvalidArgument(f"{where}: {key.path} must be {key.type.__name__}, not {value!r}")
    return str(value) if key.type is str else value
