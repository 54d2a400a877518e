"""The generated gRPC code is committed; it must be exactly what scripts/gen-proto.sh makes now."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_matches_protos(tmp_path):
    subprocess.run(["bash", str(ROOT / "scripts" / "gen-proto.sh"), str(tmp_path)], check=True,
                   env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"}, cwd=ROOT)
    generated = sorted(p.relative_to(tmp_path) for p in (tmp_path / "mc" / "api").rglob("*") if p.is_file())
    committed = sorted(p.relative_to(ROOT) for p in (ROOT / "mc" / "api").rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts)
    assert generated == committed, "run scripts/gen-proto.sh"
    for rel in generated:
        assert (tmp_path / rel).read_bytes() == (ROOT / rel).read_bytes(), f"{rel} drifted: run scripts/gen-proto.sh"


def test_every_field_and_message_is_documented():
    for proto in (ROOT / "proto" / "mc" / "api" / "v1").glob("*.proto"):
        lines = proto.read_text().splitlines()
        for i, line in enumerate(lines):
            text = line.strip()
            declares = text.startswith(("message ", "enum ", "service ", "rpc ")) or (
                "=" in text and text.endswith(";") and not text.startswith(("syntax", "package", "option", "//")))
            if declares:
                above = lines[i - 1].strip() if i else ""
                assert above.startswith("//"), f"{proto.name}:{i + 1} undocumented: {text}"
