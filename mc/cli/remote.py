"""mc remote: the mcd servers this mc talks to (remote.endpoints in the config)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any

from cyclopts import App, Parameter

from mc.cli import render
from mc.cli.render import Output

app = App(name="remote", help="mcd servers that run sessions for you.")


@app.command
def add(name: str, url: str, *, ca_cert: str | None = None, default: bool = False) -> None:
    """Add a remote: unix:///path/to/mcd.sock or grpcs://host:port.

    Parameters
    ----------
    name
        A short name, used as mc -r NAME.
    url
        Where mcd listens.
    ca_cert
        PEM certificate to trust for this remote only (pins a self-signed server certificate).
    default
        Use this remote when -r is not given.
    """
    from mc.config.paths import config_dir, private_dir
    from mc.config.store import Config, dig, put
    from mc.errors import InvalidArgument, NotFound
    from mc.remote.channel import check_url

    check_url(url)
    if not name.replace("-", "").replace("_", "").isalnum() or name == "local":
        raise InvalidArgument(f"remote name '{name}': use letters, digits, '-' and '_' (not 'local')")
    if Config.load().endpoints().get(name):  # early, before copying a certificate
        raise InvalidArgument(f"a remote named '{name}' exists; remove it first")
    entry: dict[str, Any] = {"url": url, "auth_method": "oauth"}
    if ca_cert:
        source = Path(ca_cert).expanduser()
        if not source.is_file():
            raise NotFound(f"--ca-cert {ca_cert}: no such file")
        if b"BEGIN CERTIFICATE" not in source.read_bytes():
            raise InvalidArgument(f"--ca-cert {ca_cert}: not a PEM certificate")
        pinned = private_dir(config_dir() / "remotes") / f"{name}.pem"
        shutil.copyfile(source, pinned)
        pinned.chmod(0o600)
        entry["ca_cert"] = str(pinned)
    elif url.startswith("grpcs://"):
        entry["ca_cert"] = ""

    def change(data: dict[str, Any]) -> None:
        if dig(data, f"remote.endpoints.{name}"):  # again under the lock: a parallel add may have won
            raise InvalidArgument(f"a remote named '{name}' exists; remove it first")
        put(data, f"remote.endpoints.{name}", entry)
        if default:
            put(data, "remote.default", name)

    Config.update(change)
    render.say(f"remote '{name}' added ({url})")


@app.command(name="list")
def list_(*, output: Annotated[Output, Parameter(alias="-o")] = "table") -> None:
    """List the configured remotes.

    Parameters
    ----------
    output
        table or json.
    """
    from mc.config.store import Config

    config = Config.load()
    default = config.get("remote.default")
    rows = [{"name": n, "url": e.get("url", ""), "default": n == default, "ca_cert": e.get("ca_cert", "")}
            for n, e in sorted(config.endpoints().items())]
    if output == "json":
        render.emit_json(rows)
        return
    render.emit_table([(r["name"], r["url"], "*" if r["default"] else "", r["ca_cert"]) for r in rows],
                      ["name", "url", "default", "pinned cert"])


@app.command
def remove(name: str) -> None:
    """Remove a remote (and its pinned certificate and stored tokens).

    Parameters
    ----------
    name
        The remote's name.
    """
    from mc.config.store import Config, dig
    from mc.errors import NotFound

    missing: list[str] = []

    def change(data: dict[str, Any]) -> None:
        endpoints = dig(data, "remote.endpoints") or {}
        if name not in endpoints:
            missing.append(name)
            return
        entry = endpoints.pop(name)
        if entry.get("ca_cert"):
            Path(entry["ca_cert"]).unlink(missing_ok=True)
        if dig(data, "remote.default") == name:
            data["remote"]["default"] = ""

    Config.update(change)
    if missing:
        raise NotFound(f"no remote '{name}'")
    from mc.auth.tokens import forget

    forget(name)
    render.say(f"remote '{name}' removed")
