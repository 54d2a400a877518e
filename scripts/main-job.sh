#!/usr/bin/env bash
# The main job, end to end on a fresh machine: set up, then start a real session of the default
# driver (goose) with this repository mounted at /app, let it do its work there, and show it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck source=/dev/null # written by setup.sh
. .venv/mc-env
export PATH="$PWD/.venv/bin:$PATH"

echo "== mc session create (default driver, this directory mounted at /app)" >&2
# shellcheck disable=SC2016 # the script runs in the session
mc session create --mount . --no-connect --rm --run '
    set -e
    echo "agent:   $(goose --version)"
    echo "user:    $(id -un) ($(id -u):$(id -g)), working in $PWD"
    echo "project: $(git -C /app log --oneline -1 2>/dev/null || echo "not a git checkout") ($(ls /app | wc -l) entries)"
    goose info | sed "s/^/goose:   /"
    mkdir -p "$MC_DRIVER_CONFIG_DIR" && date -u +%FT%TZ >>"$MC_DRIVER_CONFIG_DIR/runs"
    echo "runs of this project kept in $MC_DRIVER_CONFIG_DIR: $(wc -l <"$MC_DRIVER_CONFIG_DIR/runs")"
'
echo "== done: the session was closed (--rm); mc session list shows what is left" >&2
mc session list
