#!/usr/bin/env bash
# Install what the tests need beyond Python: PostgreSQL (a throw-away cluster per test run), the
# OIDC provider (the npm package oidc-provider, in tests/oidc/node_modules), the browser the web
# tests drive (Debian's chromium; Playwright's own download does not reach this far) and shellcheck.
# Idempotent and quick when everything is there.
# --static-only: shellcheck alone (what `scripts/test.sh unit` needs).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "ensure-services: install $* (apt-get install $*) and run again" >&2
        exit 1
    fi
    echo "ensure-services: installing $*" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

command -v shellcheck >/dev/null 2>&1 || apt_install shellcheck
[ "${1:-}" = --static-only ] && exit 0

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt_install postgresql
fi

if [ -f tests/oidc/package.json ] && [ ! -d tests/oidc/node_modules/oidc-provider ]; then
    command -v npm >/dev/null 2>&1 || apt_install nodejs npm
    echo "ensure-services: installing the OIDC provider for tests" >&2
    (cd tests/oidc && npm ci --no-audit --no-fund --silent)
fi

command -v chromium >/dev/null 2>&1 || apt_install chromium
