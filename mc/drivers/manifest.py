"""``mc-driver.yaml``: parse and validate, with errors naming the file, the field and what was expected."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mc.contract import APP_DIR, CONFIG_DIR, INCOMING_DIR, RUN_DIR, check_domain
from mc.errors import InvalidArgument

MANIFEST = "mc-driver.yaml"
DEFAULT_CONNECT = ["bash", "-l"]
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PROVIDER_RE = _NAME_RE
MCP_FORMATS = ("goose", "claude", "opencode")  # see mc.engine.mcpwire
# Where a persistent config cannot live: the project checkout and mc's own directories.
_NOT_PERSISTENT = (APP_DIR, CONFIG_DIR, RUN_DIR, INCOMING_DIR)


def valid_name(name: str) -> bool:
    return bool(_NAME_RE.match(name)) and name not in (".", "..")


def _plain_path(path: str) -> bool:
    """No '..' segment and none of the characters mc uses to pass the list to mc-init."""
    return ".." not in path.split("/") and not any(ch in path for ch in "|;\n\0")


@dataclass
class EnvVar:
    """An environment variable the driver declares."""

    name: str
    description: str = ""
    required: bool = False
    default: str | None = None
    sensitive: bool = False


@dataclass
class PersistentConfig:
    """A persistent config the driver declares."""

    source: str
    target: str
    type: str = "directory"
    description: str = ""
    import_skip: list[str] = field(default_factory=list)  # caches and history: `config import` leaves them
    # out unless asked (globs of paths inside a directory source)


@dataclass
class ModelSupport:
    """How the driver's tool is told which model to use: ``env`` values with ``{provider}`` and
    ``{model}`` filled in from ``--model PROVIDER/MODEL``; ``providers`` the ones it can use, each
    with the variable holding its API key ("" for none)."""

    env: dict[str, str] = field(default_factory=dict)
    providers: dict[str, str] = field(default_factory=dict)


@dataclass
class Telemetry:
    """How a driver's tool is told to export OpenTelemetry spans to mc's relay: variables besides
    the standard ``OTEL_*`` ones, and JSON merged into a variable that holds the tool's config."""

    env: dict[str, str] = field(default_factory=dict)
    config: dict[str, dict[str, Any]] = field(default_factory=dict)  # VARIABLE -> JSON object merged into it


@dataclass
class Manifest:
    """A parsed mc-driver.yaml."""

    name: str
    description: str = ""
    version: str = ""
    maintainer: str = ""
    pre_command: str = "/mc-init.sh"
    command: str = ""
    environment: list[EnvVar] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    volumes: list[dict[str, str]] = field(default_factory=list)
    persistent_configs: list[PersistentConfig] = field(default_factory=list)
    connect: list[str] = field(default_factory=lambda: list(DEFAULT_CONNECT))
    model: ModelSupport | None = None  # None: the tool takes no --model
    mcp: str = ""  # how the tool is told about MCP servers (mc.engine.mcpwire.FORMATS); "": it is not
    egress: list[str] = field(default_factory=list)  # names the tool needs (its model APIs, its registry),
    # added to a session's egress policy unless the caller says --egress-exact
    telemetry: Telemetry | None = field(default_factory=lambda: Telemetry())  # None: the tool exports no
    # OpenTelemetry (telemetry: false); else how it is told to, besides the standard OTEL_* variables

    def env_spec(self, name: str) -> EnvVar | None:
        return next((e for e in self.environment if e.name == name), None)


class _Checker:
    def __init__(self, path: Path | str) -> None:
        self.path = path

    def fail(self, where: str, expected: str, got: Any) -> InvalidArgument:
        shown = "nothing" if got is None else repr(got)
        return InvalidArgument(f"{self.path}: {where}: expected {expected}, got {shown}")

    def string(self, data: dict, key: str, where: str, required: bool = False, default: str = "") -> str:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(f"{where}{key}", "a string", None)
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(f"{where}{key}", "a string", value)
        return str(value)

    def boolean(self, data: dict, key: str, where: str) -> bool:
        value = data.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(f"{where}{key}", "true or false", value)
        return value

    def mapping(self, value: Any, where: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, "a mapping", value)
        return value

    def sequence(self, data: dict, key: str) -> list:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, "a list", value)
        return value


def parse(data: Any, path: Path | str, default_name: str = "") -> Manifest:
    """Validate manifest data (already loaded from YAML)."""
    c = _Checker(path)
    if data is None:
        data = {}
    data = c.mapping(data, "top level")
    known = {"name", "description", "version", "maintainer", "init", "environment", "ports",
             "volumes", "persistent_configs", "connect", "model", "mcp", "egress", "telemetry"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise c.fail(unknown[0], f"one of {', '.join(sorted(known))}", unknown[0])
    name = c.string(data, "name", "", required=not default_name, default=default_name)
    if not _NAME_RE.match(name):
        raise c.fail("name", "lowercase letters, digits, '-', '_' or '.'", name)
    m = Manifest(
        name=name,
        description=c.string(data, "description", ""),
        version=c.string(data, "version", ""),
        maintainer=c.string(data, "maintainer", ""),
    )
    init = data.get("init")
    if init is not None:
        init = c.mapping(init, "init")
        m.pre_command = c.string(init, "pre_command", "init.", default=m.pre_command)
        m.command = c.string(init, "command", "init.", default="")
    for i, item in enumerate(c.sequence(data, "environment")):
        where = f"environment[{i}]."
        item = c.mapping(item, f"environment[{i}]")
        var = EnvVar(
            name=c.string(item, "name", where, required=True),
            description=c.string(item, "description", where),
            required=c.boolean(item, "required", where),
            default=None if item.get("default") is None else c.string(item, "default", where),
            sensitive=c.boolean(item, "sensitive", where),
        )
        if not _ENV_NAME_RE.match(var.name):
            raise c.fail(f"{where}name", "an environment variable name", var.name)
        m.environment.append(var)
    for i, port in enumerate(c.sequence(data, "ports")):
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise c.fail(f"ports[{i}]", "a port number 1-65535", port)
        m.ports.append(port)
    for i, vol in enumerate(c.sequence(data, "volumes")):
        vol = c.mapping(vol, f"volumes[{i}]")
        mount = c.string(vol, "mountPath", f"volumes[{i}].", required=True)
        if not mount.startswith("/"):
            raise c.fail(f"volumes[{i}].mountPath", "an absolute path", mount)
        m.volumes.append({"mountPath": mount, "description": c.string(vol, "description", "")})
    for i, item in enumerate(c.sequence(data, "persistent_configs")):
        where = f"persistent_configs[{i}]."
        item = c.mapping(item, f"persistent_configs[{i}]")
        pc = PersistentConfig(
            source=c.string(item, "source", where, required=True),
            target=c.string(item, "target", where, required=True),
            type=c.string(item, "type", where, default="directory"),
            description=c.string(item, "description", where),
            import_skip=[str(g) for g in c.sequence(item, "import_skip")],
        )
        for glob in pc.import_skip:
            if not glob or glob.startswith("/") or not _plain_path(glob):
                raise c.fail(f"{where}import_skip", "globs of relative paths", glob)
        if pc.type not in ("directory", "file"):
            raise c.fail(f"{where}type", "directory or file", pc.type)
        if not pc.target.startswith(f"{CONFIG_DIR}/") or not _plain_path(pc.target):
            raise c.fail(f"{where}target", f"a path under {CONFIG_DIR}/", pc.target)
        if not (pc.source.startswith("/") or pc.source.startswith("~/")) or not _plain_path(pc.source):
            raise c.fail(f"{where}source", "an absolute path or ~/path", pc.source)
        if any(pc.source == p or pc.source.startswith(p + "/") for p in _NOT_PERSISTENT):
            # /app is the user's checkout (a mounted host directory, or the clone's target)
            raise c.fail(f"{where}source", f"a path outside {', '.join(_NOT_PERSISTENT)} (e.g. ~/.tool)",
                         pc.source)
        m.persistent_configs.append(pc)
    connect = data.get("connect")
    if connect is not None:
        connect = c.mapping(connect, "connect")
        command = connect.get("command")
        if isinstance(command, str) and command.strip():
            m.connect = shlex.split(command)
        elif isinstance(command, list) and command and all(isinstance(x, str) for x in command):
            m.connect = list(command)
        else:
            raise c.fail("connect.command", "a command (string or list of strings)", command)
    if data.get("model") is not None:
        m.model = _model(c, c.mapping(data["model"], "model"))
    mcp = data.get("mcp")
    if mcp is not None and mcp is not False:
        fmt = c.mapping(mcp, "mcp").get("format")
        if set(mcp) != {"format"} or fmt not in MCP_FORMATS:
            raise c.fail("mcp", f"false, or format: one of {', '.join(MCP_FORMATS)}", mcp)
        m.mcp = fmt
    for domain in c.sequence(data, "egress"):
        try:
            m.egress.append(check_domain(str(domain)))
        except ValueError:
            raise c.fail("egress", "domain names (example.com, *.example.com)", domain) from None
    telemetry = data.get("telemetry")
    if telemetry is False:
        m.telemetry = None
    elif telemetry is not None:
        m.telemetry = _telemetry(c, c.mapping(telemetry, "telemetry"))
    return m


def _telemetry(c: _Checker, data: dict) -> Telemetry:
    if set(data) - {"env", "config"}:
        raise c.fail("telemetry", "false, or a mapping with env and config", sorted(data))
    env = c.mapping(data.get("env") or {}, "telemetry.env")
    config = c.mapping(data.get("config") or {}, "telemetry.config")
    for name, value in env.items():
        if not isinstance(value, str) or not _ENV_NAME_RE.match(str(name)):
            raise c.fail(f"telemetry.env.{name}", "a variable name and a string value", value)
    for name, value in config.items():
        if not isinstance(value, dict) or not _ENV_NAME_RE.match(str(name)):
            raise c.fail(f"telemetry.config.{name}", "a variable name and a mapping (merged into its JSON)", value)
    return Telemetry(dict(env), dict(config))


def _model(c: _Checker, data: dict) -> ModelSupport:
    unknown = sorted(set(data) - {"env", "providers"})
    if unknown:
        raise c.fail(f"model.{unknown[0]}", "env or providers", unknown[0])
    support = ModelSupport()
    for name in c.mapping(data.get("env"), "model.env"):
        if not isinstance(name, str) or not _ENV_NAME_RE.match(name) or name.startswith("MC_"):
            raise c.fail("model.env", "environment variable names (not MC_*)", name)
        support.env[name] = c.string(data["env"], name, "model.env.", required=True)
    if not support.env or not any("{model}" in v for v in support.env.values()):
        raise c.fail("model.env", "a variable whose value has {model}", data.get("env"))
    for name, key in c.mapping(data.get("providers"), "model.providers").items():
        if not isinstance(name, str) or not _PROVIDER_RE.match(name):
            raise c.fail("model.providers", "provider names (lowercase letters, digits, '-', '_', '.')", name)
        if key is not None and not (isinstance(key, str) and (key == "" or _ENV_NAME_RE.match(key))):
            raise c.fail(f"model.providers.{name}", "the variable of its API key, or nothing", key)
        support.providers[name] = key or ""
    if not support.providers:
        raise c.fail("model.providers", "at least one provider", None)
    return support


def load(directory: Path) -> Manifest:
    """Load ``DIR/mc-driver.yaml``; a directory with only a Dockerfile gets defaults.

    The parsed manifest is remembered until the file changes (see mc.drivers.memo).
    """
    from dataclasses import asdict

    from mc.drivers.memo import remember

    if not (directory / "Dockerfile").is_file():
        raise InvalidArgument(f"{directory}: a driver needs a Dockerfile")
    data = remember("manifest", str(directory), [directory / MANIFEST], lambda: asdict(_load(directory)))
    return from_dict(data)


def from_dict(data: dict[str, Any]) -> Manifest:
    nested = ("environment", "persistent_configs", "model", "telemetry")
    m = Manifest(**{k: v for k, v in data.items() if k not in nested})
    m.environment = [EnvVar(**e) for e in data.get("environment", [])]
    m.persistent_configs = [PersistentConfig(**p) for p in data.get("persistent_configs", [])]
    if data.get("model"):
        m.model = ModelSupport(**data["model"])
    telemetry = data.get("telemetry", {})
    m.telemetry = None if telemetry is None else Telemetry(**telemetry)
    return m


def _load(directory: Path) -> Manifest:
    path = directory / MANIFEST
    default_name = re.sub(r"[^a-z0-9_.-]", "-", directory.name.lower()).strip("-.")
    if not path.exists():
        return parse({}, path, default_name=default_name or "custom")
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "top level"
        raise InvalidArgument(f"{path}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    return parse(data, path)
