#!/usr/bin/env bash
# The browser terminal's JavaScript (xterm.js and its fit addon) from the npm registry, as locked in
# mcd/web/assets/package-lock.json, copied into mcd/web/static/vendor (not committed), where mcd
# serves it from and the wheel, the mcd binary and the mcd image take it. Quick when up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
assets=mcd/web/assets
vendor=mcd/web/static/vendor
stamp="$vendor/.lock-sha256"
want="$(sha256sum "$assets/package-lock.json" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "build-web: npm is missing (apt-get install nodejs npm)" >&2
        exit 1
    fi
    echo "build-web: installing nodejs and npm" >&2
    compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null || apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
(cd "$assets" && npm ci --no-audit --no-fund --silent --ignore-scripts)
mkdir -p "$vendor"
cp "$assets/node_modules/@xterm/xterm/lib/xterm.js" "$assets/node_modules/@xterm/xterm/css/xterm.css" \
   "$assets/node_modules/@xterm/addon-fit/lib/addon-fit.js" "$vendor/"
echo "$want" >"$stamp"
echo "build-web: $vendor ready" >&2
