#!/usr/bin/env bash
# Build the standalone binaries into dist/:
#   dist/mc          single file: the one-directory build, unpacked once per version (fast starts;
#                    see build/selfextract.py)
#   dist/mc-onefile  PyInstaller's own one-file mode (unpacks on every start; for comparison)
#   dist/mc-onedir/  the one-directory build
#   dist/mcd         the daemon, PyInstaller one file (it starts once and runs for days)
#   scripts/build-binaries.sh        build only what changed since the last build
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/pyinstaller ] || bash scripts/setup.sh
mapfile -t sources < <(git ls-files mc mcd drivers 2>/dev/null || find mc mcd drivers -type f)
stamp=$(cat pyproject.toml build/*.py build/*.spec "${sources[@]}" 2>/dev/null | sha256sum | cut -c1-16)
if [ -x dist/mc ] && [ -x dist/mcd ] && [ -x dist/mc-onefile ] && [ "$(cat dist/.stamp 2>/dev/null)" = "$stamp" ]; then
    echo "build-binaries: dist/ is up to date" >&2
    exit 0
fi
mkdir -p dist
exec 9>dist/.lock
flock 9  # one build at a time (parallel test workers)
if [ -x dist/mc ] && [ -x dist/mcd ] && [ -x dist/mc-onefile ] && [ "$(cat dist/.stamp 2>/dev/null)" = "$stamp" ]; then
    exit 0
fi
bash scripts/build-web.sh  # the browser terminal's JavaScript, which the mcd binary carries
work=build/work
export PYTHONOPTIMIZE=0
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath "$work/mc" build/mc.spec
mv -f dist/mc dist/mc-onefile
MC_ONEDIR=1 .venv/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath "$work/mc-onedir" build/mc.spec
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath "$work/mcd" build/mcd.spec
.venv/bin/python build/selfextract.py dist/mc-onedir dist/mc
echo "$stamp" >dist/.stamp
ls -la dist/mc dist/mc-onefile dist/mcd >&2
du -sh dist/mc-onedir >&2
