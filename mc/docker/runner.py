"""Run docker: argv lists, timeouts, one error type."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from mc import errors
from mc.docker.errors import classify, first_line

# what docker (not the command) says on stderr when an attached command never ran
DAEMON_ERRORS = (b"Error response from daemon:", b"docker: Error response from daemon:", b"unable to upgrade to tcp")

DEFAULT_TIMEOUT = 60.0


class DockerError(errors.McError):
    """A docker command failed. ``str()`` is a one-line, user-facing message."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        self.category, self.reason = classify(stderr)
        self.exit_code = self.category.exit_code
        self.kind = self.category.kind
        detail = first_line(stderr) or self.reason
        super().__init__(f"docker {_subcommand(argv)}: {detail}".replace(" :", ":"))

    def is_a(self, cls: type[errors.McError]) -> bool:
        return issubclass(self.category, cls)


def _subcommand(argv: Sequence[str]) -> str:
    """The docker command's own name, past the engine options (``-H tcp://... --tlsverify ...``)."""
    rest = list(argv[1:])
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option in ("-H", "--host", "-c", "--context", "--config") and rest:
            rest.pop(0)
    return rest[0] if rest else ""


@dataclass(frozen=True)
class Tls:
    """A client's mutual-TLS material for a remote engine (file paths)."""

    ca: str
    cert: str
    key: str


@dataclass
class Attached:
    """How a command run on our terminal ended."""

    code: int = 0
    detached: bool = False
    docker_error: str = ""  # docker's own error: the command never ran
    marked: list[str] = field(default_factory=list)  # stderr lines with the caller's marker (not shown)


class Docker:
    """A handle on one Docker engine (honours DOCKER_HOST, the context, and a socket path)."""

    def __init__(self, socket: str = "", binary: str | None = None, debug: bool = False) -> None:
        self.binary = binary or os.environ.get("MC_DOCKER") or "docker"
        self.env: dict[str, str] | None = None
        self.options: tuple[str, ...] = ()  # global options before the command (a remote engine's)
        if socket and not os.environ.get("DOCKER_HOST"):
            host = socket if "://" in socket else f"unix://{socket}"
            self.env = {**os.environ, "DOCKER_HOST": host}
        self.debug = debug

    @classmethod
    def remote(cls, host: str, tls: Tls, binary: str | None = None, debug: bool = False) -> Docker:
        """The engine at ``host`` (tcp://HOST:PORT) over mutual TLS: the client verifies the engine's
        certificate against ``tls.ca`` and proves itself with ``tls.cert``/``tls.key``."""
        docker = cls(binary=binary, debug=debug)
        docker.options = ("-H", host, "--tlsverify", f"--tlscacert={tls.ca}", f"--tlscert={tls.cert}",
                          f"--tlskey={tls.key}")
        return docker

    @property
    def host(self) -> str:
        """The engine's address when it is not the default one (for what runs docker on its own)."""
        if self.options:
            return self.options[1]
        return (self.env or {}).get("DOCKER_HOST", "")

    # -- plumbing --------------------------------------------------------------------------
    def argv(self, *args: str) -> list[str]:
        return [self.binary, *self.options, *args]

    def _trace(self, argv: Sequence[str]) -> None:
        if self.debug:
            sys.stderr.write("+ " + " ".join(argv) + "\n")

    def _missing(self) -> errors.Unavailable:
        return errors.Unavailable(
            f"the '{self.binary}' command was not found; install Docker (scripts/ensure-engine.sh does)"
        )

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run one docker command to completion and capture its output."""
        argv = self.argv(*args)
        self._trace(argv)
        try:
            proc = subprocess.run(
                argv, input=input, capture_output=True, timeout=timeout, env=self.env,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        except FileNotFoundError:
            raise self._missing() from None
        except subprocess.TimeoutExpired:
            raise errors.Unavailable(f"docker {args[0]} did not answer within {timeout:.0f}s") from None
        if check and proc.returncode != 0:
            raise DockerError(argv, proc.returncode, proc.stderr.decode(errors="replace"))
        return proc

    def text(self, *args: str, timeout: float | None = DEFAULT_TIMEOUT) -> str:
        return self.run(*args, timeout=timeout).stdout.decode(errors="replace")

    def json_lines(self, *args: str, timeout: float | None = DEFAULT_TIMEOUT) -> list[Any]:
        """Run a command printing one JSON document per line; return them parsed."""
        import json

        out = self.text(*args, timeout=timeout)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def attached(self, *args: str, stdin: Any = None, marker: bytes = b"",
                 tee: Callable[[bytes], None] | None = None) -> Attached:
        """Run a command on our terminal (``exec``, ``run`` without -d, ``start -a``).

        docker's stderr is relayed line by line so that mc can tell what docker itself said from
        what the command printed: a detach (Ctrl-P Ctrl-Q) is reported as "read escape sequence"
        with exit code 1, a daemon error ("Error response from daemon: ...", or the CLI's own "unable to
        upgrade" when the container ended between the exec's creation and its start) means the command
        never ran, and lines starting with ``marker`` are kept for the caller instead of shown.
        ``tee`` (not for a tty) also gets what the command prints, as it is shown.
        """
        proc = self.popen(*args, stdin=stdin, stderr=subprocess.PIPE,
                          stdout=subprocess.PIPE if tee is not None else None)
        result = Attached()
        assert proc.stderr is not None
        out = sys.stderr.buffer
        pump = None
        if tee is not None:
            pump = threading.Thread(target=_relay, args=(proc.stdout, sys.stdout.buffer, tee), daemon=True)
            pump.start()
        while True:
            try:
                line = proc.stderr.readline()
            except KeyboardInterrupt:  # the terminal's ^C goes to the session (docker passes it on)
                continue
            if not line:
                break
            if line.strip() == b"read escape sequence":
                result.detached = True
            elif line.startswith(DAEMON_ERRORS):
                result.docker_error = result.docker_error or line.decode(errors="replace")
            elif marker and line.startswith(marker):
                result.marked.append(line[len(marker):].decode(errors="replace").strip())
            elif result.docker_error and line.startswith(b"See 'docker "):
                continue
            else:
                out.write(line)
                out.flush()
                if tee is not None:
                    tee(line)
        if pump is not None:
            pump.join()
        while True:
            try:
                result.code = proc.wait()
                break
            except KeyboardInterrupt:
                continue
        if result.detached:
            result.code = 0
        return result

    def popen(self, *args: str, extra_env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.Popen[bytes]:
        argv = self.argv(*args)
        self._trace(argv)
        env = {**(self.env or os.environ), **extra_env} if extra_env else self.env
        try:
            return subprocess.Popen(argv, env=env, **kwargs)
        except FileNotFoundError:
            raise self._missing() from None

    def stream(self, *args: str) -> Stream:
        """A command's stdout (stderr merged) in chunks as it arrives; ``close()`` kills it."""
        proc = self.popen(*args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return Stream(proc, self.argv(*args))

class Stream:
    """The output of a running docker command. Iterate for chunks (<= 64 KiB); close() ends it."""

    def __init__(self, proc: subprocess.Popen[bytes], argv: list[str]) -> None:
        self.proc = proc
        self.argv = argv
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        stdout = self.proc.stdout
        assert isinstance(stdout, io.BufferedReader)
        try:
            while chunk := stdout.read1(65536):
                yield chunk
            rc = self.proc.wait()
            if rc != 0 and not self.closed:
                raise DockerError(self.argv, rc, "")
        finally:
            self.close()

    def close(self) -> None:
        self.closed = True
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _relay(source: IO[bytes] | None, sink: IO[bytes], tee: Callable[[bytes], None]) -> None:
    """Copy a command's output to ours as it comes, and hand each chunk to ``tee``."""
    assert source is not None
    fd = source.fileno()
    while chunk := os.read(fd, 65536):
        try:
            sink.write(chunk)
            sink.flush()
        except (BrokenPipeError, ValueError):
            pass
        tee(chunk)
