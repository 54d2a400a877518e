"""A throw-away PostgreSQL server for tests and benchmarks (Debian's postgresql package)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.mcd_harness import free_port


@dataclass
class Postgres:
    url: str
    ctl: list[str]  # pg_ctl with this cluster's options

    def stop(self) -> None:
        subprocess.run([*self.ctl, "-m", "immediate", "stop"], check=True, capture_output=True)

    def start(self) -> None:
        subprocess.run([*self.ctl, "start"], check=True, capture_output=True)


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.getuid() == 0 else argv


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """A throw-away PostgreSQL cluster on 127.0.0.1 (the server runs as the postgres user)."""
    bindir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
    base = Path(tempfile.mkdtemp(prefix="mc-pg-"))  # outside pytest's 0700 tree: the server runs as postgres
    data = base / "data"
    if os.getuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    port = free_port()
    subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "mcd", "--auth=trust", "-E", "UTF8"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(data.parent / "log"),
                                 "-o", f"-h 127.0.0.1 -p {port} -k {data.parent}", "start"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "mcd", "mcd"]),
                   check=True, capture_output=True)
    ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(data.parent / "log"),
           "-o", f"-h 127.0.0.1 -p {port} -k {data.parent}"]
    try:
        yield Postgres(f"postgresql://mcd@127.0.0.1:{port}/mcd", _as_postgres(ctl))
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
