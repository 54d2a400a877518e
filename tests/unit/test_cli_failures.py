"""Failures a user meets before any session exists: one line each, the documented exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.mcd_harness import mcd_env, write_config


def test_engine_down_is_one_line(mc):
    env = {**mc.env, "DOCKER_HOST": "unix:///tmp/no-such-docker.sock"}
    mc.env = env
    proc = mc.run("session", "list")
    assert proc.returncode == 5
    assert proc.stderr.startswith("mc: error: ") and len(proc.stderr.strip().splitlines()) == 1


def test_missing_docker_binary_is_one_line(mc):
    mc.env = {**mc.env, "MC_DOCKER": "/nonexistent/docker"}
    proc = mc.run("session", "list")
    assert proc.returncode == 5 and "was not found" in proc.stderr


def test_unknown_remote_and_dead_socket(mc, tmp_path):
    proc = mc.run("-r", "nope", "session", "list")
    assert proc.returncode == 3 and "no remote 'nope'" in proc.stderr
    mc.ok("remote", "add", "dead", f"unix://{tmp_path}/none.sock")
    proc = mc.run("-r", "dead", "session", "list")
    assert proc.returncode == 3 and "no mcd socket" in proc.stderr
    assert mc.run("remote", "add", "bad", "http://x").returncode == 2
    assert json.loads(mc.ok("remote", "list", "-o", "json"))[0]["name"] == "dead"
    mc.ok("remote", "remove", "dead")
    assert mc.run("remote", "remove", "dead").returncode == 3


def test_config_errors_are_one_line(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("server:\n  port: 3000\n")
    proc = subprocess.run([*mcd_cmd(), "serve", "--config", str(cfg)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert proc.returncode == 2 and proc.stderr.startswith("mcd: error: ") and "tls" in proc.stderr


def mcd_cmd() -> list[str]:
    import sys

    return [sys.executable, "-m", "mcd"]


def test_tcp_listener_requires_auth_and_tls(tmp_path):
    cfg = write_config(tmp_path / "x", server={"port": 3999, "tls": {"cert": "a", "key": "b"}})
    proc = subprocess.run([sys.executable, "-m", "mcd", "serve", "--config", str(cfg)], capture_output=True,
                          text=True, env=mcd_env({"PATH": "/usr/bin:/bin"}))
    assert proc.returncode == 2 and "requires an auth section" in proc.stderr
