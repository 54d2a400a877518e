"""A real MCP server for the tests, built on the official MCP Python SDK.

`server.py http` serves streamable HTTP on $MCP_PORT (default 8000) at /mcp, and refuses a request
without `Authorization: Bearer $MCP_TOKEN` when MCP_TOKEN is set. `server.py stdio` speaks stdio.
Its one tool, `marker`, answers $MCP_MARKER, so a test can tell which server a tool reached.
"""

import os
import sys

from mcp.server.mcpserver import MCPServer

PORT = int(os.environ.get("MCP_PORT", "8000"))
server = MCPServer("mc-test")


@server.tool()
def marker() -> str:
    """The marker this server was started with."""
    return os.environ.get("MCP_MARKER", "mc-test-marker")


def _guarded(app, token: str):
    expected = f"Bearer {token}".encode()

    async def guarded(scope, receive, send):
        if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != expected:
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"unauthorized\n"})
            return
        await app(scope, receive, send)

    return guarded


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "http"
    if mode == "stdio":
        server.run("stdio")
        return
    import anyio
    import uvicorn

    app = server.streamable_http_app(host="0.0.0.0")
    token = os.environ.get("MCP_TOKEN")
    config = uvicorn.Config(_guarded(app, token) if token else app, host="0.0.0.0",
                            port=PORT, log_level="info")
    anyio.run(uvicorn.Server(config).serve)


if __name__ == "__main__":
    main()
