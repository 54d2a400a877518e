#!/usr/bin/env bash
# Set up and run the whole test suite against the real Docker engine.
#   scripts/test.sh            everything
#   scripts/test.sh -k config  extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/ensure-services.sh  # PostgreSQL and the OIDC provider the integration tests start
# shellcheck source=/dev/null # written by setup.sh
. .venv/mc-env
export PATH="$PWD/.venv/bin:$PATH"

.venv/bin/ruff check mc mcd tests scripts build
# every shell script of the repository (by name or by its #! line)
mapfile -t shell_scripts < <(git ls-files | while read -r f; do
    case "$f" in *.sh | .ci/run) echo "$f" ;; *) head -c 64 "$f" 2>/dev/null | grep -qE '^#!.*(ba)?sh' && echo "$f" ;; esac
done)
shellcheck -x "${shell_scripts[@]}"
# Build the driver every test uses once, before the parallel run (later builds are cache hits).
.venv/bin/python -m mc driver build base >/dev/null
# Every test owns what it creates (its own owner label, config dir, users), so they run in parallel;
# shared builds (driver images, binaries) are serialised by file locks.
exec .venv/bin/python -m pytest -n "${MC_TEST_WORKERS:-4}" -q "$@"
