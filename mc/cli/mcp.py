"""mc mcp: MCP servers to attach to sessions (stored encrypted; header values masked)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from cyclopts import App, Parameter

from mc.cli import context, render
from mc.cli.render import Output

if TYPE_CHECKING:
    from mc.mcp.servers import McpServer

app = App(name="mcp", help="MCP servers to attach to sessions (--mcp NAME).")


@app.command
def add(
    name: str,
    url: str | None = None,
    *,
    transport: str = "streamable-http",
    header: Annotated[list[str] | None, Parameter(negative="", allow_leading_hyphen=True)] = None,
    image: str | None = None,
    command: str | None = None,
    env: Annotated[list[str] | None, Parameter(name=["--env", "-e"], negative="")] = None,
    port: int = 0,
    path: str = "/mcp",
    replace: bool = False,
    output: Annotated[Output, Parameter(alias="-o")] = "table",
) -> None:
    """Add an MCP server: a remote one (its URL), or one that runs in a container beside each
    session that attaches it (--image; a stdio server is bridged to streamable HTTP). It is attached
    only to sessions that name it (--mcp NAME, or defaults.mcps).

    Parameters
    ----------
    name
        A short name: lowercase letters, digits and '-'.
    url
        The remote server's endpoint, e.g. https://mcp.example.com/mcp.
    transport
        streamable-http (default) or sse.
    header
        KEY=VALUE sent with every request to a remote server (repeatable); values are secrets, never
        shown. KEY=- reads the value from stdin (keeps it out of the process list).
    image
        Image of a server that runs beside each session, on its network, with its limits; removed
        with the session.
    command
        The image's command instead of its own (as docker run's COMMAND: the entrypoint stays).
    env
        KEY=VALUE for the container server (repeatable); secret-looking names are masked.
    port
        The container server's streamable HTTP port; without it the server speaks stdio and mc
        bridges it to streamable HTTP.
    path
        The container server's endpoint path (default /mcp).
    replace
        Replace a server of the same name.
    output
        table or json.
    """
    from mc.mcp.servers import McpServer, parse_pairs, split_command

    headers = parse_pairs(list(header or []), "--header")
    for key, value in headers.items():
        if value == "-":
            headers[key] = _stdin_line()
    server = McpServer(name=name, url=url or "", transport=transport, headers=headers, image=image or "",
                       command=split_command(command) if command else [], env=parse_pairs(list(env or []), "-e"),
                       port=port, path=path)
    added = context.backend().mcp_add(server, replace=replace)
    if output == "json":
        render.emit_json(added.to_dict())
    else:
        render.say(f"MCP server {added.name} added ({_where(added)}); attach it with --mcp {added.name}")


@app.command(name="list")
def list_(*, output: Annotated[Output, Parameter(alias="-o")] = "table") -> None:
    """List your MCP servers (header values and secret variables masked).

    Parameters
    ----------
    output
        table or json.
    """
    servers = context.backend().mcp_list()
    if output == "json":
        render.emit_json([s.to_dict() for s in servers])
        return
    defaults = set(context.config().get("defaults.mcps") or [])
    render.emit_table([(s.name, s.kind, _where(s), s.transport if s.url else "", ", ".join(s.headers),
                        "yes" if s.name in defaults else "") for s in servers],
                      ["name", "kind", "endpoint", "transport", "headers", "default"])


@app.command
def show(name: str, *, output: Annotated[Output, Parameter(alias="-o")] = "table") -> None:
    """Show one MCP server (header values and secret variables masked).

    Parameters
    ----------
    name
        The server's name.
    output
        table or json.
    """
    server = context.backend().mcp_get(name)
    if output == "json":
        render.emit_json(server.to_dict())
        return
    hidden = {"owner", "path"} if server.url else {"owner", "transport"}
    rows = [(k, _shown(v)) for k, v in server.to_dict().items() if k not in hidden and v not in ("", [], {}, 0)]
    render.emit_table(rows, ["field", "value"])


@app.command
def remove(name: str) -> None:
    """Remove an MCP server (sessions that run keep theirs until they end).

    Parameters
    ----------
    name
        The server's name.
    """
    server = context.backend().mcp_remove(name)
    render.say(f"MCP server {server.name} removed")


def _where(server: McpServer) -> str:
    if server.url:
        return server.url
    return f"{server.image}, " + (f"port {server.port}" if server.port else "stdio, bridged")


def _shown(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        import shlex

        return shlex.join(value)
    return str(value)


def _stdin_line() -> str:
    import sys

    return sys.stdin.readline().rstrip("\n")
