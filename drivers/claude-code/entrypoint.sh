#!/bin/bash
# claude-code driver: put the session's MCP servers (--mcp) into Claude Code's user config.
# MC_MCP_FILE has one "NAME<TAB>JSON" line per server; header values in the JSON are ${MCP_HEADER_<n>}
# references, which Claude Code expands from the session's environment when it connects, so
# ~/.claude.json (often a persistent config) never holds them. Servers mc added before are removed.
state="$HOME/.claude/.mc-mcp"
if [ -s "$state" ]; then
    while read -r name; do claude mcp remove -s user "$name" >/dev/null 2>&1; done <"$state"
fi
rm -f "$state"
if [ -s "${MC_MCP_FILE:-}" ]; then
    mkdir -p "$HOME/.claude"
    if [ ! -s "$HOME/.claude.json" ]; then
        # a fresh home: write the file at once (claude adds its own keys on first start)
        servers=""
        while IFS=$'\t' read -r name json; do
            servers+="${servers:+,}\"$name\":$json"
            echo "$name" >>"$state"
        done <"$MC_MCP_FILE"
        printf '{"mcpServers":{%s}}\n' "$servers" >"$HOME/.claude.json"
        chmod 0600 "$HOME/.claude.json"
    else
        while IFS=$'\t' read -r name json; do
            claude mcp remove -s user "$name" >/dev/null 2>&1
            claude mcp add-json -s user "$name" "$json" >/dev/null && echo "$name" >>"$state"
        done <"$MC_MCP_FILE"
    fi
    echo "claude-code: MCP servers $(paste -sd, "$state")"
fi
echo "claude-code driver ready: $(claude --version 2>/dev/null | head -n 1)"
