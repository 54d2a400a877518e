"""Record what the real docker says, for the unit tests' FakeDocker (tests/fakes.py).

    .venv/bin/python scripts/record-docker.py      writes tests/fixtures/docker/<server version>/

It makes a few sessions in every state mc tells apart (running with published ports, stopped by
`mc stop`, failed init, exited with another code, just created), records `docker ps` in mc's
LIST_FORMAT for them, and the stderr of the errors mc classifies. Run it again when Docker changes;
the unit tests use every version directory they find.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mc.engine.sessions import LIST_FORMAT  # noqa: E402


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def mc(*args: str, env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-m", "mc", *args], capture_output=True, text=True, env=env,
                          check=False, cwd=ROOT).stdout


def main() -> None:
    version = docker("version", "--format", "{{.Server.Version}}").stdout.strip()
    out = ROOT / "tests" / "fixtures" / "docker" / version
    out.mkdir(parents=True, exist_ok=True)
    owner = f"record-{secrets.token_hex(3)}"
    env = {**os.environ, "MC_OWNER": owner, "PYTHONPATH": str(ROOT)}
    broken = Path(f"/tmp/{owner}-broken")
    (broken / ".mc").mkdir(parents=True)
    (broken / ".mc" / "init.sh").write_text("exit 5\n")
    try:
        create = ["session", "create", "--driver", "base", "--no-connect", "-o", "json"]
        running = json.loads(mc(*create, "--name", "web", "--port", "8080", "--port", "9000", env=env))
        stopped = json.loads(mc(*create, env=env))
        mc("session", "exec", stopped["id"], "--", "mc", "stop", env=env)
        failed = json.loads(mc(*create, "--mount", str(broken), env=env))
        exited = json.loads(mc(*create, env=env))
        docker("kill", exited["container"], check=False)  # SIGKILL: exit code 137, neither stopped nor failed
        docker("create", "--name", f"mc-{owner}", "--label", "mc.session=0000beef", "--label", f"mc.owner={owner}",
               "--label", "mc.name=fresh", "--label", "mc.driver=base", "--pull=never", "debian:bookworm-slim", "true")
        time.sleep(3)
        ps = docker("ps", "-a", "--no-trunc", "--filter", "label=mc.session", "--filter", f"label=mc.owner={owner}",
                    "--format", LIST_FORMAT).stdout
        (out / "ps.jsonl").write_text(ps.replace(owner, "recorded"))
        expected = {running["id"]: "running", stopped["id"]: "stopped", failed["id"]: "failed",
                    exited["id"]: "exited", "0000beef": "created"}
        (out / "ps.expected.json").write_text(json.dumps(expected, indent=1) + "\n")
        errors = {
            "no_such_container": docker("rm", "mc-feedf00d", check=False).stderr,
            "network_missing": docker("network", "inspect", "mc-no-such-net", check=False).stderr,
            "image_missing": docker("create", "--pull=never", "mc-driver-none:000000000000", check=False).stderr,
            "name_conflict": docker("create", "--name", running["container"], "--pull=never", "debian:bookworm-slim",
                                    check=False).stderr,
            "not_running": docker("exec", stopped["container"], "true", check=False).stderr,
            "start_network_missing": _start_without_network(),
        }
        for name, text in errors.items():
            (out / f"stderr_{name}.txt").write_text(text)
        print(f"recorded docker {version} into {out.relative_to(ROOT)}")
    finally:
        ids = docker("ps", "-aq", "--filter", f"label=mc.owner={owner}").stdout.split()
        if ids:
            docker("rm", "-f", *ids, check=False)
        subprocess.run(["rm", "-rf", str(broken)], check=False)


def _start_without_network() -> str:
    """`docker create` takes a network that does not exist; `start` says so."""
    name = f"mc-rec-{secrets.token_hex(3)}"
    docker("create", "--name", name, "--network", f"{name}-net", "--pull=never", "debian:bookworm-slim", "true")
    try:
        return docker("start", name, check=False).stderr
    finally:
        docker("rm", "-f", name, check=False)


if __name__ == "__main__":
    main()
