#!/bin/bash
# Connect: start goose when a provider is configured, then leave the user in the session shell.
if [ -n "${GOOSE_PROVIDER:-}" ] || grep -qs GOOSE_PROVIDER "$HOME/.config/goose/config.yaml"; then
    goose session
    echo "goose exited; this is the session shell (exit to leave, 'goose session' to restart)"
else
    echo "goose has no provider yet: set a key on the host (mc config set anthropic.api_key ...)"
    echo "or run 'goose configure' here. This is the session shell."
fi
exec bash -l
