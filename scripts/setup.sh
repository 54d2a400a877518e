#!/usr/bin/env bash
# Set up everything mc needs on this machine: the Docker engine and base image
# (scripts/ensure-engine.sh) and a virtualenv in .venv with mc and its dev tools installed.
# Idempotent and quick when nothing changed. --python-only: the virtualenv alone (no engine).
set -euo pipefail
cd "$(dirname "$0")/.."

[ "${1:-}" = --python-only ] || bash scripts/ensure-engine.sh

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
# an editable install in compat mode: a plain path entry, not an import hook that every mc start pays for
stamp=.venv/.mc-installed
want=$( (sha256sum pyproject.toml; echo compat) | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log=.venv/pip-install.log
    if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip &&
           .venv/bin/python -m pip install --disable-pip-version-check -e '.[dev]' \
               --config-settings editable_mode=compat; } >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        echo "setup: installing the Python packages failed (full log: $log)" >&2
        exit 1
    fi
    echo "$want" >"$stamp"
fi

# Driver builds trust the CA certificates this machine trusts locally (TLS-intercepting proxies).
if [ -z "${MC_EXTRA_CA_CERTS:-}" ] && ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    echo "export MC_EXTRA_CA_CERTS=/usr/local/share/ca-certificates" >.venv/mc-env
else
    : >.venv/mc-env
fi
# The browser terminal's JavaScript, from the npm registry as locked (mcd serves it).
[ "${1:-}" = --python-only ] || bash scripts/build-web.sh
# Bytecode for mc's own modules, as a user's installation has it (PYTHONDONTWRITEBYTECODE would
# otherwise make every mc command compile its modules again).
.venv/bin/python -m compileall -q mc mcd >/dev/null
echo "setup: ready (.venv/bin/mc)" >&2
