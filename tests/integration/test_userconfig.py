"""mc driver config import: the user's own tool configuration, copied into a project's (or a
directory's) persistent config, read by the tool in the next session; locally and through mcd."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import docker

pytestmark = pytest.mark.engine

# the user's own file, what the tool reads back in a session, and what must stay behind
TOOL_CONFIG = {
    "opencode": (".config/opencode/opencode.json", '{"model": "openai/gpt-imported"}',
                 "opencode debug config", '"model": "openai/gpt-imported"'),
    "goose": (".config/goose/config.yaml", "GOOSE_PROVIDER: openai\nGOOSE_MODEL: gpt-imported\n",
              "goose info -v", "GOOSE_MODEL: gpt-imported"),
    "claude-code": (".claude/settings.json", '{"model": "opus-imported"}',
                    "cat ~/.claude/settings.json", "opus-imported"),
}


@pytest.mark.parametrize("driver", list(TOOL_CONFIG))
def test_the_users_own_config_reaches_the_tool(docker_mc, tmp_path, driver):
    mc = docker_mc
    rel, content, command, expected = TOOL_CONFIG[driver]
    home = Path(mc.env["HOME"])
    (home / rel).parent.mkdir(parents=True, exist_ok=True)
    (home / rel).write_text(content)
    (home / ".claude" / "projects").mkdir(parents=True, exist_ok=True)
    (home / ".claude" / "projects" / "history.jsonl").write_text("old conversation")
    work = tmp_path / "work"
    work.mkdir()
    out = json.loads(mc.ok("driver", "config", "import", driver, "--mount", str(work), "-o", "json"))
    assert out["files"] >= 1 and out["into"] == str(work)
    proc = mc.run("session", "create", "--driver", driver, "--mount", str(work), "--no-connect", "--rm",
                  "--run", f"{command}; stat -L -c '%a %U' ~/{rel}; ls ~/.claude/projects 2>&1 || true",
                  timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert expected in proc.stdout, proc.stdout[-3000:]
    assert "600 " in proc.stdout and "history.jsonl" not in proc.stdout


def test_nothing_to_import_and_bad_targets_are_one_line_errors(docker_mc, tmp_path):
    mc = docker_mc
    proc = mc.run("driver", "config", "import", "opencode", "--mount", str(tmp_path))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "nothing to import" in proc.stderr
    proc = mc.run("driver", "config", "import", "base", "--mount", str(tmp_path))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    proc = mc.run("driver", "config", "import", "opencode", "--mount", str(tmp_path / "missing"))
    assert proc.returncode != 0 and proc.stderr.count("\n") == 1


def test_import_through_mcd_fills_the_users_project_volume(docker_mc, tmp_path):
    from tests.mcd_harness import start_mcd

    mc = docker_mc
    home = Path(mc.env["HOME"])
    (home / ".config" / "opencode").mkdir(parents=True)
    (home / ".config" / "opencode" / "opencode.json").write_text('{"model": "openai/gpt-imported"}')
    (home / ".local" / "share" / "opencode" / "storage").mkdir(parents=True)
    (home / ".local" / "share" / "opencode" / "auth.json").write_text('{"openai": "login"}')
    (home / ".local" / "share" / "opencode" / "storage" / "session.json").write_text("history")
    before = set(docker("volume", "ls", "-q").split())
    daemon = start_mcd(tmp_path, mc.env)
    ours: list[str] = []
    try:
        mc.ok("remote", "add", "t", daemon.url)
        proc = mc.run("-r", "t", "driver", "config", "import", "opencode")
        assert proc.returncode == 2 and "--project" in proc.stderr
        out = json.loads(mc.ok("-r", "t", "driver", "config", "import", "opencode", "--project",
                               "https://git.example.com/team/app.git", "-o", "json", timeout=1800))
        assert out["into"] == "git.example.com/team/app" and out["files"] == 2
        listing = ""
        for volume in set(docker("volume", "ls", "-q", "--filter", "label=mc.owner").split()) - before:
            found = docker("run", "--rm", "--network", "none", "-v", f"{volume}:/c", "debian:bookworm-slim",
                           "find", "/c", "-type", "f", "-printf", "%P %m %U\\n", check=False)
            if "opencode/config/opencode.json" in found:
                ours.append(volume)
                listing += found
        assert "opencode/config/opencode.json 600 1000" in listing, listing
        assert "opencode/data/auth.json 600 1000" in listing and "session.json" not in listing
    finally:
        daemon.stop()
        for volume in ours:
            docker("volume", "rm", volume, check=False)
