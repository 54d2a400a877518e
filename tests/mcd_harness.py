"""Start real mcd daemons for tests: in this process, or as a separate ``mcd serve`` process."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.conftest import ROOT, make_driver


def write_config(directory: Path, **sections: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "server": {"socket": str(directory / "mcd.sock")},
        "database": {"path": str(directory / "mcd.db")},
        "projects": {"storage": {"type": "encrypted", "key": "${PROJECT_ENCRYPTION_KEY}"}},
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key].update(value)
        else:
            config[key] = value
    path = directory / "mc-service.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def wait_for_socket(sock: Path, timeout: float, alive: Callable[[], bool], why: Callable[[], str]) -> None:
    """Until the socket exists and mcd behind it serves (or the process died, or time is up)."""
    deadline = time.monotonic() + timeout
    while not sock.exists():
        if not alive() or time.monotonic() > deadline:
            raise RuntimeError(f"mcd did not start:\n{why()}")
        time.sleep(0.05)
    wait_serving(f"unix:{sock}")


def wait_serving(target: str, credentials: grpc.ChannelCredentials | None = None, timeout: float = 30,
                 options: list | None = None) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        channel = (grpc.secure_channel(target, credentials, options=options or []) if credentials
                   else grpc.insecure_channel(target))
        try:
            status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2).status
            if status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.RpcError as exc:
            last = exc
        finally:
            channel.close()
        time.sleep(0.1)
    raise TimeoutError(f"mcd at {target} did not become ready: {last}")


@dataclass
class McdProcess:
    config: Path
    env: dict[str, str]
    socket: Path
    log: Path
    proc: subprocess.Popen | None = None
    command: tuple[str, ...] = (sys.executable, "-m", "mcd")  # or a built binary

    def start(self) -> McdProcess:
        handle = open(self.log, "ab")  # noqa: SIM115 - the daemon writes to it while it runs
        self.proc = subprocess.Popen([*self.command, "serve", "--config", str(self.config)],
                                     env=self.env, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)
        handle.close()
        proc = self.proc
        wait_for_socket(self.socket, 60, lambda: proc.poll() is None, lambda: self.log.read_text())
        return self

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # say where it hangs: its threads' stacks, then its log
            self.proc.send_signal(signal.SIGUSR1)
            time.sleep(1)
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"mcd did not end within 30 s of SIGTERM; its log:\n{self.log.read_text()[-12000:]}") \
                from None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"


def mcd_env(base: dict[str, str]) -> dict[str, str]:
    from mc.projects.crypto import generate_key

    env = dict(base)
    env.setdefault("PROJECT_ENCRYPTION_KEY", generate_key())
    env["PYTHONPATH"] = str(ROOT)
    return env


def remove_containers(owner: str) -> None:
    """Everything the owner's sessions left: containers, and the network mcd made for the owner."""
    from tests.conftest import remove_owned

    remove_owned(owner)


def start_mcd(tmp: Path, env: dict[str, str], **sections: Any) -> McdProcess:
    """An ``mcd serve`` process on a socket under ``tmp``, with these config sections."""
    config = write_config(tmp / "mcd", **sections)
    return McdProcess(config, mcd_env({**env, "HOME": str(tmp)}), tmp / "mcd" / "mcd.sock", tmp / "mcd.log").start()


def ticker_driver(tmp: Path) -> Path:
    """A driver whose sessions write ``tick N`` every 0.2 s for two minutes (for followed logs)."""
    ticks = "bash -c 'for i in $(seq 1 600); do echo tick $i; sleep 0.2; done &'"
    return make_driver(tmp, "ticker", f"name: ticker\ninit:\n  command: {ticks}\n")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
