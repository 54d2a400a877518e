"""mc config: read and change the user configuration (~/.config/mc/config.yaml).

No `from __future__ import annotations` here: the list sub-apps annotate with closure values."""


from typing import TYPE_CHECKING, Annotated, Any

from cyclopts import App, Parameter

from mc.cli import render
from mc.cli.render import Output

if TYPE_CHECKING:
    from mc.config.store import Config

app = App(name="config", help="Read and change the user configuration.")


def _store() -> "type[Config]":
    from mc.config.store import Config

    return Config


@app.command(name="list")
def list_(
    *,
    output: Annotated[Output, Parameter(alias="-o")] = "table",
    show_secrets: bool = False,
) -> None:
    """Show every setting and its effective value (secrets masked).

    Parameters
    ----------
    output
        table or json.
    show_secrets
        Print secret values instead of masking them.
    """
    config = _store().load()
    items = dict(config.items(show_secrets=show_secrets))
    if output == "json":
        render.emit_json(items)
        return
    render.emit_table([(k, _show(v)) for k, v in items.items()], ["key", "value"])


@app.command
def get(key: str, *, show_secrets: bool = False, output: Annotated[Output, Parameter(alias="-o")] = "table") -> None:
    """Print one setting (full or short name, e.g. openai.api_key).

    Parameters
    ----------
    key
        The setting's name.
    show_secrets
        Print a secret value instead of masking it.
    output
        table or json.
    """
    from mc.config import schema
    from mc.config.store import MASK

    config = _store().load()
    spec = schema.resolve(key)
    value = config.get(key)
    if spec.secret and value and not show_secrets:
        value = MASK
    if output == "json":
        render.emit_json({spec.path: value})
    else:
        print(_show(value))


@app.command(name="set")
def set_(key: str, value: Annotated[str, Parameter(allow_leading_hyphen=True)]) -> None:
    """Change one setting. Lists take comma-separated values; bools true/false.

    Parameters
    ----------
    key
        The setting's name, e.g. defaults.driver or openai.api_key.
    value
        The new value; may reference the environment as ${VAR}. "-" reads it from stdin (keeps a
        secret out of the process list and the shell history).
    """
    import sys

    from mc.config import schema

    spec = schema.resolve(key)
    if value == "-":
        value = sys.stdin.readline().rstrip("\n")
    _store().set(key, value)
    render.say(f"{spec.path} set")


@app.command
def reset() -> None:
    """Reset every setting to its default (configured remotes are kept)."""
    _store().reset()
    render.say("configuration reset to defaults")


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _list_commands(noun: str, key: str, item_help: str) -> App:
    """``mc config NOUN list|add|remove`` over one list-valued key."""
    sub = App(name=noun, help=f"Default {noun}s every session gets ({key}).")

    @sub.command(name="list")
    def list_items(*, output: Annotated[Output, Parameter(alias="-o")] = "table") -> None:
        """List the defaults."""
        items = _store().load().get(key)
        if output == "json":
            render.emit_json(items)
        else:
            for item in items:
                print(item)

    @sub.command
    def add(item: Annotated[str, Parameter(help=item_help)]) -> None:
        """Add a default."""
        from mc.config import schema

        value = schema.parse_item(schema.resolve(key), item)
        validate = _VALIDATORS.get(noun)
        if validate:
            validate(item)

        def change(data: dict[str, Any]) -> None:
            from mc.config.store import dig, put

            current = list(dig(data, key) or [])
            if value not in current:
                current.append(value)
            put(data, key, current)

        _store().update(change)
        render.say(f"added {item} to {key}")

    @sub.command
    def remove(item: Annotated[str, Parameter(help=item_help)]) -> None:
        """Remove a default."""
        from mc.config import schema
        from mc.errors import NotFound

        value = schema.parse_item(schema.resolve(key), item)
        missing = []

        def change(data: dict[str, Any]) -> None:
            from mc.config.store import dig, put

            current = list(dig(data, key) or [])
            if value not in current:
                missing.append(item)
                return
            current.remove(value)
            put(data, key, current)

        _store().update(change)
        if missing:
            raise NotFound(f"{item} is not in {key}")
        render.say(f"removed {item} from {key}")

    return sub


def _check_volume(spec: str) -> None:
    from mc.engine.checks import parse_volume

    parse_volume(spec)


def _check_port(spec: str) -> None:
    from mc.engine.checks import parse_port

    parse_port(spec)


_VALIDATORS = {"volume": _check_volume, "port": _check_port}

app.command(_list_commands("network", "defaults.networks", "Docker network name."))
app.command(_list_commands("volume", "defaults.volumes", "SRC:DST[:ro] (SRC a host path or volume name)."))
app.command(_list_commands("port", "defaults.ports", "Container port to publish on loopback."))
