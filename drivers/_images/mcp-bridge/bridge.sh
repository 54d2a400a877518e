#!/bin/sh
# mc's MCP bridge: make the FIFO pair the server's container opens (its stdin is "in", its stdout
# "out"), then serve them as one stdio MCP server over streamable HTTP on port 8000.
# One upstream for every client: the FIFO pair is one stdio connection.
set -eu
io=/run/mc-mcp-io
for f in in out; do
    [ -p "$io/$f" ] || mkfifo -m 0666 "$io/$f"
done
exec /opt/mcp-proxy/bin/mcp-proxy --host 0.0.0.0 --port 8000 -- sh -c "cat $io/out & exec cat >$io/in"
