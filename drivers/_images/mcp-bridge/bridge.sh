#!/bin/bash
# mc's MCP bridge: make the FIFO pair the server's container opens (its stdin is "in", its stdout
# "out"); mcp-proxy holds that one stdio connection and serves it on 127.0.0.1:8001; supergateway
# serves the session on port 8000, each MCP session through an mcp-proxy client of its own.
set -eu
io=/run/mc-mcp-io
for f in in out; do
    [ -p "$io/$f" ] || mkfifo -m 0666 "$io/$f"
done
/opt/mcp-proxy/bin/mcp-proxy --host 127.0.0.1 --port 8001 -- sh -c "cat $io/out & exec cat >$io/in" &
upstream=$!
until (exec 3<>/dev/tcp/127.0.0.1/8001) 2>/dev/null; do
    kill -0 "$upstream" 2>/dev/null || { echo "mc-mcp-bridge: the stdio server's proxy ended" >&2; exit 1; }
    sleep 0.1
done
exec /opt/gateway/bin/node /opt/gateway/node_modules/supergateway/dist/index.js --stateful \
    --stdio "/opt/mcp-proxy/bin/mcp-proxy --transport streamablehttp http://127.0.0.1:8001/mcp" \
    --outputTransport streamableHttp --port 8000
