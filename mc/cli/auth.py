"""mc -r NAME auth: log in to a remote (OIDC), check the login, log out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from cyclopts import App, Parameter

from mc.cli import context, render
from mc.cli.render import Output

if TYPE_CHECKING:
    from mc.remote.client import RemoteBackend

app = App(name="auth", help="Log in to a remote (OAuth 2 / OIDC).")


def _remote() -> RemoteBackend:
    from mc.errors import InvalidArgument

    if context.remote_name() is None:
        raise InvalidArgument("auth is for remotes: mc -r NAME auth")
    from mc.remote.client import RemoteBackend

    backend = context.backend()
    assert isinstance(backend, RemoteBackend)
    return backend


@app.default
def login(*, device: bool = False) -> None:
    """Log in: opens your browser (the provider redirects back to 127.0.0.1), or --device.

    Parameters
    ----------
    device
        Show a URL and a code to enter on any device instead of opening a browser here.
    """
    from mc.auth.login import browser_login, device_login
    from mc.auth.tokens import TokenStore

    backend = _remote()
    tokens = device_login(backend.auth) if device else browser_login(backend.auth)
    TokenStore(backend.name).save(tokens)
    render.say(f"logged in to {backend.name} as {tokens.get('user') or '?'}")


@app.command
def status(*, output: Annotated[Output, Parameter(alias="-o")] = "table") -> None:
    """Who you are on the remote, and for how long the login is valid.

    Parameters
    ----------
    output
        table or json.
    """
    from mc.auth.tokens import TokenStore

    backend = _remote()
    stored = TokenStore(backend.name).load()
    who = backend.whoami()
    data = {"remote": backend.name, "user": who.name, "subject": who.user, "admin": who.admin,
            "expires_in": who.expires_in, "logged_in": bool(stored),
            "refresh_token": bool(stored and stored.get("refresh_token"))}
    if output == "json":
        render.emit_json(data)
        return
    valid = f", access token valid {who.expires_in}s" if who.expires_in else ""
    print(f"{backend.name}: {render.printable(who.name)}{' (admin)' if who.admin else ''}{valid}")


@app.command
def logout() -> None:
    """Revoke the login at the provider and forget the tokens here."""
    from mc.auth.tokens import TokenStore

    backend = _remote()
    store = TokenStore(backend.name)
    tokens = store.load()
    if tokens:
        backend.auth.logout(tokens.get("refresh_token", ""), tokens.get("access_token", ""))
    store.delete()
    render.say(f"logged out of {backend.name}" + ("" if tokens else " (was not logged in)"))
