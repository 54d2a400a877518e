"""mc project: git projects and their credentials (stored encrypted)."""

from __future__ import annotations

from typing import Annotated

from cyclopts import App, Parameter

from mc.cli import context, render
from mc.cli.render import Output

app = App(name="project", help="Git projects and their credentials.")


@app.command
def add(
    url: str,
    *,
    ssh_key: str | None = None,
    token: Annotated[str | None, Parameter(allow_leading_hyphen=True)] = None,
    username: str = "",
    name: str = "",
    output: Annotated[Output, Parameter(alias="-o")] = "table",
) -> None:
    """Add a project with the credentials sessions clone and push with.

    Parameters
    ----------
    url
        github.com/owner/repo, git@host:owner/repo.git, https://... or ssh://...
    ssh_key
        Private key file (a deploy key without passphrase).
    token
        Access token for https; '-' reads it from stdin (keeps it out of the process list).
    username
        User name sent with the token (default x-access-token).
    name
        A short name for the project.
    output
        table or json.
    """
    from mc.errors import InvalidArgument

    if ssh_key and token:
        raise InvalidArgument("give either --ssh-key or --token, not both")
    project = context.backend().project_add(
        url,
        ssh_key=_read_key_file(ssh_key) if ssh_key else None,
        token=_read_token(token) if token is not None else None,
        name=name,
        username=username,
    )
    if output == "json":
        render.emit_json(project.to_dict())
    else:
        detail = f" ({project.auth_type} {project.fingerprint})" if project.auth_type != "none" else ""
        render.say(f"project {project.id} added{detail}")


@app.command(name="list")
def list_(*, output: Annotated[Output, Parameter(alias="-o")] = "table") -> None:
    """List projects (auth type and key fingerprint, never the secret).

    Parameters
    ----------
    output
        table or json.
    """
    projects = context.backend().project_list()
    if output == "json":
        render.emit_json([p.to_dict() for p in projects])
        return
    render.emit_table([(p.id, p.name, p.url, p.auth_type, p.fingerprint) for p in projects],
                      ["id", "name", "url", "auth", "fingerprint"])


@app.command
def show(url: str, *, output: Annotated[Output, Parameter(alias="-o")] = "table") -> None:
    """Show one project.

    Parameters
    ----------
    url
        Any URL form of the project.
    output
        table or json.
    """
    project = context.backend().project_get(url)
    if output == "json":
        render.emit_json(project.to_dict())
        return
    render.emit_table(list(project.to_dict().items()), ["field", "value"])


@app.command
def remove(url: str) -> None:
    """Remove a project and its credentials.

    Parameters
    ----------
    url
        Any URL form of the project.
    """
    project = context.backend().project_remove(url)
    render.say(f"project {project.id} removed")


def _read_token(value: str) -> str:
    """``--token -`` reads the token from stdin (keeps it out of the process list)."""
    import sys

    if value == "-":
        return sys.stdin.readline().strip()
    return value


def _read_key_file(path: str) -> bytes:
    from pathlib import Path

    from mc.errors import InvalidArgument, NotFound

    p = Path(path).expanduser()
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"--ssh-key {path}: no such file") from None
    except OSError as exc:
        raise InvalidArgument(f"--ssh-key {path}: {exc.strerror}") from None
    if b"PRIVATE KEY" not in data:
        hint = " (that is the public key; give the private one)" if data.startswith(b"ssh-") else ""
        raise InvalidArgument(f"--ssh-key {path}: not a private key{hint}")
    return data
