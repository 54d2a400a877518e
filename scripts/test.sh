#!/usr/bin/env bash
# Set up and run the tests, static checks first.
#   scripts/test.sh              everything: the Docker engine, PostgreSQL and the OIDC provider are set
#                                up, then every test runs in parallel against them
#   scripts/test.sh unit         the static checks and tests/unit only (no engine; seconds)
#   scripts/test.sh [unit] ARGS  extra arguments go to pytest (-k config, a test file, ...)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=all
if [ "${1:-}" = unit ]; then
    mode=unit
    shift
fi
if [ "$mode" = unit ]; then
    bash scripts/setup.sh --python-only
    bash scripts/ensure-services.sh --static-only
else
    bash scripts/setup.sh
    bash scripts/ensure-services.sh  # PostgreSQL and the OIDC provider the integration tests start
fi
# shellcheck source=/dev/null # written by setup.sh
. .venv/mc-env
export PATH="$PWD/.venv/bin:$PATH"

# Static checks: lint, types, the layering contracts, and every shell script of the repository.
.venv/bin/ruff check mc mcd tests scripts build
.venv/bin/mypy
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
mapfile -t shell_scripts < <(git ls-files | while read -r f; do
    case "$f" in *.sh | .ci/run) echo "$f" ;; *) head -c 64 "$f" 2>/dev/null | grep -qE '^#!.*(ba)?sh' && echo "$f" ;; esac
done)
shellcheck -x "${shell_scripts[@]}"

if [ "$mode" = unit ]; then
    exec .venv/bin/python -m pytest -n "${MC_TEST_WORKERS:-4}" -q tests/unit "$@"
fi
# Build the driver every test uses once, before the parallel run (later builds are cache hits),
# and beside it bring up the Docker Swarm the cluster tests share (tests/swarm_harness.py: three
# Docker-in-Docker nodes and a registry, a few seconds once its images exist), down at the end.
swarm_dir=$(mktemp -d /tmp/mc-swarm-XXXXXX)
swarm_down() { .venv/bin/python -m tests.swarm_harness down "$swarm_dir" || true; rm -rf "$swarm_dir"; }
trap swarm_down EXIT
.venv/bin/python -m tests.swarm_harness up "$swarm_dir" &
swarm_up=$!
.venv/bin/python -m mc driver build base >/dev/null
wait "$swarm_up"
export MC_TEST_SWARM=$swarm_dir

# Debian's dockerd 20.10 can deadlock in libnetwork when containers come and go quickly
# (moby/moby#42545, fixed in later engines): from then on every container start, stop and network
# call hangs, and so would this run, until CI's limit. Watch the engine while the tests run and
# stop them with the engine's goroutine dump when it no longer answers.
engine_answers() { timeout 60 docker network ls >/dev/null 2>&1; }

# Every test owns what it creates (its own owner label, config dir, users), so they run in parallel;
# shared builds (driver images, binaries) are serialised by file locks.
setsid .venv/bin/python -m pytest -n "${MC_TEST_WORKERS:-4}" -q "$@" &
tests=$!
trap 'kill -INT -- "-$tests" 2>/dev/null' INT TERM
strikes=0
while kill -0 "$tests" 2>/dev/null; do
    sleep 15 & wait $! || true
    if ! kill -0 "$tests" 2>/dev/null || engine_answers; then
        strikes=0
    elif [ $((strikes += 1)) -ge 3 ]; then
        pkill -USR1 -x dockerd || true  # dockerd writes its goroutines under /var/run/docker
        echo "test: the Docker engine stopped answering (see the goroutine dump under /var/run/docker);" \
             "stopping the tests. Restart dockerd before the next run." >&2
        kill -TERM -- "-$tests" 2>/dev/null || true
        sleep 5
        kill -KILL -- "-$tests" 2>/dev/null || true
        wait "$tests" || true
        exit 1
    fi
done
wait "$tests"
