"""A docker that answers from recordings of the real one (tests/fixtures/docker, made by
scripts/record-docker.py), for unit tests of the engine without an engine."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from mc.docker import Docker, DockerError
from mc.docker.runner import Attached

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "docker"


def versions() -> list[Path]:
    """Every Docker version recordings exist for."""
    return sorted(p for p in FIXTURES.iterdir() if p.is_dir())


def recorded(name: str, version: Path | None = None) -> str:
    return ((version or versions()[-1]) / name).read_text()


class FakeDocker(Docker):
    """``on(*argv prefix, ...)`` says what a command answers (the last matching rule wins; anything
    else succeeds with no output); ``calls`` holds every command run, with its stdin."""

    def __init__(self) -> None:
        super().__init__(binary="docker")
        self.calls: list[tuple[list[str], bytes | None]] = []
        self.rules: list[tuple[tuple[str, ...], int, str, str, int]] = []

    def on(self, *prefix: str, stdout: str = "", stderr: str = "", rc: int = 0, times: int = -1) -> FakeDocker:
        self.rules.append((prefix, rc, stdout, stderr, times))
        return self

    def _answer(self, args: tuple[str, ...], input: bytes | None) -> tuple[int, str, str]:
        self.calls.append((list(args), input))
        for i in range(len(self.rules) - 1, -1, -1):
            prefix, r, o, e, times = self.rules[i]
            if tuple(args[:len(prefix)]) == prefix and times != 0:
                if times > 0:
                    self.rules[i] = (prefix, r, o, e, times - 1)
                return r, o, e
        return 0, "", ""

    def run(self, *args: str, input: bytes | None = None, timeout: float | None = None,
            check: bool = True) -> subprocess.CompletedProcess[bytes]:
        rc, out, err = self._answer(args, input)
        if check and rc != 0:
            raise DockerError(self.argv(*args), rc, err)
        return subprocess.CompletedProcess(self.argv(*args), rc, out.encode(), err.encode())

    def attached(self, *args: str, stdin: Any = None, marker: bytes = b"", tee: Any = None) -> Attached:
        """A command on our terminal: its exit code, and docker's own error from a rule's stderr
        (its stdout to ``tee``)."""
        rc, out, err = self._answer(args, None)
        if tee is not None and out:
            tee(out.encode() if isinstance(out, str) else out)
        return Attached(code=rc, docker_error=err if err.startswith("Error response from daemon") else "")

    def popen(self, *args: str, extra_env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.Popen[bytes]:
        raise AssertionError(f"a unit test started a docker process: docker {' '.join(args)}")

    def commands(self) -> list[list[str]]:
        return [argv for argv, _ in self.calls]

    def verbs(self) -> list[str]:
        """The first word of each command run, e.g. ['ps', 'run']."""
        return [argv[0] for argv, _ in self.calls]
