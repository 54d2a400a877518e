"""The CLI skeleton: help, version, lazy imports, the one-line error boundary."""

from __future__ import annotations

import subprocess
import sys

from mc import __version__
from mc.cli.roothelp import SUBAPPS, render


def test_help_lists_every_sub_app(mc):
    out = mc.ok("--help")
    for name in ("session", "config", "driver", "project", "remote", "auth", "stop"):
        assert f"  {name} " in out
    assert "--remote" in out and "--debug" in out


def test_fast_help_matches_the_registered_commands():
    from mc.cli.main import app

    registered = {name for name in app if not name.startswith("-")}
    assert registered == set(SUBAPPS)
    assert all(name in render() for name in registered)


def test_version(mc):
    assert mc.ok("--version").strip() == __version__


def test_help_imports_no_heavy_modules(mc):
    for argv in (["--help"], ["session", "--help"], ["config", "--help"]):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "mc", *argv], env=mc.env,
                              capture_output=True, text=True, check=True)
        imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
        heavy = {m for m in imported if m.split(".")[0] in ("grpc", "cryptography", "yaml", "google")}
        assert not heavy, f"mc {' '.join(argv)} imported {sorted(heavy)}"
        assert "session" in proc.stdout or "Usage" in proc.stdout


def test_unknown_command_is_one_line_usage_error(mc):
    proc = mc.run("session", "frobnicate")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mc: error: ")


def test_unknown_option_is_one_line_usage_error(mc):
    proc = mc.run("config", "list", "--bogus")
    assert proc.returncode == 2
    assert proc.stderr.startswith("mc: error: ") and "bogus" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_not_a_dir_nor_url(mc):
    proc = mc.run("no-such-dir-or-command")
    assert proc.returncode == 2
    assert "neither a directory nor a git URL" in proc.stderr


def test_debug_shows_traceback(mc):
    mc.config_file.parent.mkdir(parents=True)
    mc.config_file.write_text("defaults: [\n")
    plain = mc.run("config", "list")
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    debug = mc.run("--debug", "config", "list")
    assert debug.returncode == 2 and "Traceback" in debug.stderr
