#!/usr/bin/env bash
# Install what the tests need beyond Python: PostgreSQL (a throw-away cluster per test run), the
# OIDC provider (the npm package oidc-provider, in tests/oidc/node_modules) and shellcheck.
# Idempotent and quick when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "ensure-services: install PostgreSQL (apt-get install postgresql) and run again" >&2
        exit 1
    fi
    echo "ensure-services: installing postgresql" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi

if ! command -v shellcheck >/dev/null 2>&1; then
    echo "ensure-services: installing shellcheck" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null
fi

if [ -f tests/oidc/package.json ] && [ ! -d tests/oidc/node_modules/oidc-provider ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "ensure-services: installing nodejs and npm" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    fi
    echo "ensure-services: installing the OIDC provider for tests" >&2
    (cd tests/oidc && npm ci --no-audit --no-fund --silent)
fi
