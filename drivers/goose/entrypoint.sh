#!/bin/bash
# goose driver: pick a provider from the configured API keys unless one is set already, and put the
# session's MCP servers (--mcp) into goose's extensions.
config="$HOME/.config/goose/config.yaml"
mkdir -p "$(dirname "$config")"
if [ ! -s "$config" ] && [ -z "${GOOSE_PROVIDER:-}" ]; then
    provider="" model=""
    if [ -n "${ANTHROPIC_API_KEY:-}" ]; then provider=anthropic model=claude-sonnet-4-5
    elif [ -n "${OPENAI_API_KEY:-}" ]; then provider=openai model=gpt-4o
    elif [ -n "${OPENROUTER_API_KEY:-}" ]; then provider=openrouter model=anthropic/claude-sonnet-4.5
    elif [ -n "${GOOGLE_API_KEY:-}" ]; then provider=google model=gemini-2.5-pro
    fi
    if [ -n "$provider" ]; then
        printf 'GOOSE_PROVIDER: %s\nGOOSE_MODEL: %s\n' "$provider" "${GOOSE_MODEL:-$model}" >"$config"
        echo "goose: provider $provider"
    fi
fi

# MCP servers: MC_MCP_FILE holds extension entries (two-space indented, as goose writes them).
# Entries mc put in before (named in .mc-mcp) are replaced; the user's own are kept.
state="$HOME/.config/goose/.mc-mcp"
mcp_file=${MC_MCP_FILE:-}
[ -f "$mcp_file" ] || mcp_file=/dev/null
if [ -s "$mcp_file" ] || [ -s "$state" ]; then
    touch "$config"
    chmod 0600 "$config"
    drop=$(cat "$state" 2>/dev/null; sed -n 's/^  \([a-z0-9-]*\):$/\1/p' "$mcp_file")
    awk -v drop="$drop" -v entries="$mcp_file" -v some="$([ -s "$mcp_file" ] && echo 1)" '
        BEGIN { n = split(drop, names, "\n"); for (i = 1; i <= n; i++) gone[names[i]] = 1 }
        function add() { while ((getline line < entries) > 0) print line; done = 1 }
        /^extensions:/ { if (some) { print "extensions:"; add() } else { print; done = 1 }; inext = 1; next }
        /^[^ ]/ { inext = 0 }
        inext && /^  [^ ]/ { name = $1; sub(/:$/, "", name); skip = (name in gone) }
        inext && skip { next }
        { print }
        END { if (!done && some) { print "extensions:"; add() } }
    ' "$config" >"$config.mc-new" && mv "$config.mc-new" "$config"
    sed -n 's/^  \([a-z0-9-]*\):$/\1/p' "$mcp_file" >"$state"
    [ -s "$state" ] && echo "goose: MCP servers $(paste -sd, "$state")"
fi
echo "goose driver ready: $(goose --version 2>/dev/null | head -n 1)"
