#!/bin/bash
# goose driver: pick a provider from the configured API keys unless one is set already.
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
echo "goose driver ready: $(goose --version 2>/dev/null | head -n 1)"
