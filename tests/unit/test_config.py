"""User configuration: schema, simplified names, types, masking, ${VAR}, 0600, atomic concurrent writes."""

from __future__ import annotations

import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor

import yaml

SENTINEL = "sk-SENTINEL-3f9a2b7c1d"


def test_defaults(mc):
    data = json.loads(mc.ok("config", "list", "--output", "json"))
    assert data["defaults.driver"] == "goose"
    assert data["defaults.connect"] is True
    assert data["defaults.mount_local"] is True
    assert data["defaults.networks"] == []
    assert data["docker.network"] == "mc-network"
    assert mc.ok("config", "get", "defaults.driver").strip() == "goose"


def test_set_get_with_simplified_names_and_file_modes(mc):
    mc.ok("config", "set", "langfuse.url", "https://langfuse.example")
    mc.ok("config", "set", "defaults.driver", "base")
    assert mc.ok("config", "get", "services.langfuse.url").strip() == "https://langfuse.example"
    assert mc.ok("config", "get", "langfuse.url").strip() == "https://langfuse.example"
    stored = yaml.safe_load(mc.config_file.read_text())
    assert stored["services"]["langfuse"]["url"] == "https://langfuse.example"
    assert stored["defaults"]["driver"] == "base"
    assert stat.S_IMODE(mc.config_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(mc.config_file.parent.stat().st_mode) == 0o700


def test_unknown_key_lists_valid_keys(mc):
    proc = mc.run("config", "set", "nope.key", "x")
    assert proc.returncode == 2
    assert "unknown config key 'nope.key'" in proc.stderr and "defaults.driver" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_types_are_checked(mc):
    assert mc.run("config", "set", "defaults.connect", "maybe").returncode == 2
    mc.ok("config", "set", "defaults.connect", "false")
    assert yaml.safe_load(mc.config_file.read_text())["defaults"]["connect"] is False
    mc.ok("config", "set", "defaults.networks", "a, b")
    assert yaml.safe_load(mc.config_file.read_text())["defaults"]["networks"] == ["a", "b"]
    assert mc.run("config", "set", "defaults.pids_limit", "lots").returncode == 2
    assert mc.run("config", "port", "add", "http").returncode == 2


def test_secrets_masked_everywhere_unless_asked(mc):
    mc.ok("config", "set", "openai.api_key", SENTINEL)
    for args in (["config", "list"], ["config", "list", "-o", "json"], ["config", "get", "openai.api_key"]):
        proc = mc.run(*args)
        assert proc.returncode == 0
        assert SENTINEL not in proc.stdout + proc.stderr
        assert "********" in proc.stdout
    assert SENTINEL in mc.ok("config", "get", "openai.api_key", "--show-secrets")
    assert SENTINEL in mc.ok("config", "list", "--show-secrets")
    # a failing command with the secret in the file never echoes it
    proc = mc.run("config", "set", "openai.nope", "x")
    assert SENTINEL not in proc.stdout + proc.stderr


def test_env_references_are_expanded_on_read_never_written(mc):
    mc.ok("config", "set", "anthropic.api_key", "${MY_TEST_KEY}")
    env = {**mc.env, "MY_TEST_KEY": "from-env"}
    mc.env = env
    assert mc.ok("config", "get", "anthropic.api_key", "--show-secrets").strip() == "from-env"
    assert "${MY_TEST_KEY}" in mc.config_file.read_text()
    assert "from-env" not in mc.config_file.read_text()


def test_malformed_file_names_file_and_line(mc):
    mc.config_file.parent.mkdir(parents=True)
    mc.config_file.write_text("defaults:\n  driver: goose\n  networks: [a,\n")
    proc = mc.run("config", "list")
    assert proc.returncode == 2
    assert str(mc.config_file) in proc.stderr and "line" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_wrong_type_in_file_is_named(mc):
    mc.config_file.parent.mkdir(parents=True)
    mc.config_file.write_text("defaults:\n  connect: sometimes\n")
    proc = mc.run("config", "get", "defaults.connect")
    assert proc.returncode == 2 and "defaults.connect" in proc.stderr and str(mc.config_file) in proc.stderr


def test_network_volume_port_defaults(mc, tmp_path):
    mc.ok("config", "network", "add", "teamnet")
    mc.ok("config", "network", "add", "dbnet")
    assert mc.ok("config", "network", "list").split() == ["teamnet", "dbnet"]
    mc.ok("config", "network", "remove", "teamnet")
    assert mc.ok("config", "network", "list").split() == ["dbnet"]
    assert mc.run("config", "network", "remove", "teamnet").returncode == 3
    mc.ok("config", "volume", "add", f"{tmp_path}:/data:ro")
    assert mc.run("config", "volume", "add", "/does/not/exist:/x").returncode == 2
    mc.ok("config", "port", "add", "8080")
    assert json.loads(mc.ok("config", "port", "list", "-o", "json")) == [8080]


def test_reset_keeps_remotes(mc):
    mc.config_file.parent.mkdir(parents=True)
    mc.config_file.write_text(yaml.safe_dump({"defaults": {"driver": "aider"},
                                              "remote": {"endpoints": {"prod": {"url": "unix:///x"}}}}))
    mc.ok("config", "reset")
    assert mc.ok("config", "get", "defaults.driver").strip() == "goose"
    assert yaml.safe_load(mc.config_file.read_text())["remote"]["endpoints"]["prod"]["url"] == "unix:///x"


def test_twenty_concurrent_writers_all_survive(mc):
    def set_key(i: int):
        if i % 2:
            return mc.run("config", "network", "add", f"net{i}")
        keys = ["defaults.driver", "langfuse.url", "openai.api_key", "anthropic.api_key", "openrouter.api_key",
                "google.api_key", "defaults.cpus", "defaults.memory", "ui.table_format", "docker.network"]
        return mc.run("config", "set", keys[i // 2], f"value{i}")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(set_key, range(20)))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results if r.returncode]
    data = yaml.safe_load(mc.config_file.read_text())
    assert sorted(data["defaults"]["networks"]) == sorted(f"net{i}" for i in range(1, 20, 2))
    assert data["services"]["openai"]["api_key"] == "value4"
    assert data["docker"]["network"] == "value18"
    assert not [p for p in os.listdir(mc.config_file.parent) if p.endswith(".tmp")]


def test_a_secret_can_be_set_from_stdin(mc):
    mc.ok("config", "set", "anthropic.api_key", "-", input=SENTINEL + "\n")
    assert mc.ok("config", "get", "anthropic.api_key", "--show-secrets").strip() == SENTINEL
    assert SENTINEL not in mc.ok("config", "list")
