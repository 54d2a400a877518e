"""Commands in process against a recording backend: what each one asks the engine, and what it
shows. (The real engine behind them is tested in tests/integration and tests/contract.)"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from mc.cli import context
from mc.cli.main import run
from mc.engine.models import DriverInfo, ExecResult, Session, SessionSpec
from mc.errors import McError


@dataclass
class RecordingBackend:
    calls: list[tuple[str, Any]] = field(default_factory=list)
    run_fails: bool = False
    result: ExecResult = field(default_factory=lambda: ExecResult(0))
    warnings: list[str] = field(default_factory=list)  # what the engine's plan would warn of

    def create(self, spec: SessionSpec, *, progress: Any = None, warn: Any = None) -> Session:
        self.calls.append(("create", spec))
        for w in self.warnings:
            warn(w)
        return Session(id="0123abcd", name="0123abcd", driver=spec.driver, status="running", owner="me")

    def driver(self, name: str) -> DriverInfo:
        return DriverInfo(name, "", "", "builtin", "", "img")

    def run(self, ref: str, command: str, *, end_session: bool = False) -> ExecResult:
        self.calls.append(("run", (ref, command, end_session)))
        if self.run_fails:
            raise McError("session 0123abcd failed to start: git clone failed")
        return self.result

    def run_once(self, spec: SessionSpec, command: str, *, progress: Any = None, warn: Any = None) -> ExecResult:
        self.calls.append(("run_once", (spec, command)))
        if self.run_fails:
            raise McError("session 0123abcd failed to start: git clone failed")
        return self.result

    def exec(self, ref: str, command: list[str], **kw: Any) -> ExecResult:
        self.calls.append(("exec", (ref, command, kw)))
        return self.result

    def close(self, refs: list[str], *, kill: bool = False) -> list[Session]:
        self.calls.append(("close", (refs, kill)))
        return []

    def sessions(self) -> list[Session]:
        return [Session(id="0123abcd", name="web", driver="base", status="running", created="2026-01-02T03:04:05Z",
                        project="github.com/a/b")]


@pytest.fixture
def backend(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    context.reset()
    fake = RecordingBackend()
    monkeypatch.setattr(context, "backend", lambda: fake)
    yield fake
    context.reset()


def test_rm_with_run_is_one_engine_call(backend, capsys):
    code = run(["session", "create", "--driver", "base", "--no-connect", "--rm", "--run", "make test", "-e", "A=1"])
    assert code == 0 and [k for k, _ in backend.calls] == ["run_once"]
    spec, command = backend.calls[0][1]
    assert command == "make test" and spec.env == {"A": "1"}


def test_a_failed_start_is_one_line(backend, capsys):
    backend.run_fails = True
    assert run(["session", "create", "--driver", "base", "--no-connect", "--rm", "--run", "true"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["mc: error: session 0123abcd failed to start: git clone failed"]


def test_run_without_rm_keeps_the_session(backend, capsys):
    assert run(["session", "create", "--driver", "base", "--no-connect", "--run", "true"]) == 0
    assert [k for k, _ in backend.calls] == ["create", "run"] and backend.calls[1][1] == ("0123abcd", "true", False)


def test_the_commands_exit_code_is_mcs(backend):
    backend.result = ExecResult(42)
    assert run(["session", "exec", "0123abcd", "--", "false"]) == 42


def test_a_detach_says_how_to_come_back(backend, capsys):
    backend.result = ExecResult(0, detached=True)
    assert run(["session", "exec", "0123abcd", "-it", "--", "bash"]) == 0
    assert "mc session connect 0123abcd" in capsys.readouterr().err


def test_list_as_a_table_and_as_json(backend, capsys):
    assert run(["session", "list"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[1]  # ui.table_format grid (the default): a rule, then the header
    assert [c.strip() for c in header.strip("|").split("|")] == ["id", "name", "driver", "project", "status", "ports",
                                                                  "created"]
    assert "0123abcd" in out and "github.com/a/b" in out
    assert run(["session", "list", "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data[0]) >= {"id", "name", "driver", "project", "status", "ports", "created", "owner"}


def test_bad_input_never_reaches_the_engine(backend, capsys):
    assert run(["session", "create", "--driver", "base", "-e", "1BAD=x", "--no-connect"]) == 2
    assert run(["session", "create", "--driver", "base", "--port", "http", "--no-connect"]) == 2
    assert backend.calls == []
    assert all(line.startswith("mc: error: ") for line in capsys.readouterr().err.strip().splitlines())


def test_a_warning_of_the_engine_is_one_line_and_the_session_is_made(backend, capsys):
    backend.warnings = ["OPENAI_API_KEY is not set: goose needs it, or a login of its own, to use openai"]
    assert run(["session", "create", "--driver", "goose", "--no-connect", "--model", "openai/gpt-4o"]) == 0
    assert backend.calls[0][1].model == "openai/gpt-4o"
    assert "mc: warning: OPENAI_API_KEY is not set" in capsys.readouterr().err


def test_the_default_model_goes_to_the_engine_as_a_preference(backend, capsys):
    assert run(["config", "set", "defaults.model", "anthropic/claude-sonnet-4-5"]) == 0
    assert run(["session", "create", "--driver", "goose", "--no-connect"]) == 0
    assert run(["session", "create", "--driver", "goose", "--no-connect", "--model", "openai/o3"]) == 0
    assert [(spec.model, spec.default_model) for _, spec in backend.calls] == \
        [("", "anthropic/claude-sonnet-4-5"), ("openai/o3", "anthropic/claude-sonnet-4-5")]
