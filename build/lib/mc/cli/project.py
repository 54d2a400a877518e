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
    from mc.projects.store import read_key_file, read_token

    if ssh_key and token:
        raise InvalidArgument("give either --ssh-key or --token, not both")
    project = context.backend().project_add(
        url,
        ssh_key=read_key_file(ssh_key) if ssh_key else None,
        token=read_token(token) if token is not None else None,
        name=name,
        username=username,
    )
    if output == "json":
        render.emit_json(project.public())
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
        render.emit_json([p.public() for p in projects])
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
        render.emit_json(project.public())
        return
    render.emit_table([(k, v) for k, v in project.public().items()], ["field", "value"])


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
