#!/usr/bin/env bash
# Regenerate the Python code of the gRPC API (mc/api/v1) from proto/. The generated code is
# committed; tests/unit/test_proto.py fails when it drifts from the protos.
#   scripts/gen-proto.sh [OUTDIR]   (default: the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.}
py=${PYTHON:-.venv/bin/python}
mkdir -p "$out/mc/api/v1"
"$py" -m grpc_tools.protoc -I proto --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
    proto/mc/api/v1/*.proto
touch "$out/mc/api/__init__.py" "$out/mc/api/v1/__init__.py"
