"""The local project store through the CLI: URL forms, credentials checks, encryption at rest."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

TOKEN = "ghp_SENTINELTOKEN0123456789abcdef"


def test_add_list_show_remove_and_url_forms(mc, tmp_path):
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    out = json.loads(mc.ok("project", "add", "github.com/hello/private", "--ssh-key", str(key), "-o", "json"))
    fp = subprocess.run(["ssh-keygen", "-lf", str(key)], capture_output=True, text=True).stdout.split()[1]
    assert out["fingerprint"] == fp and out["auth_type"] == "ssh" and "secret" not in out
    for form in ("git@github.com:hello/private.git", "https://github.com/hello/private",
                 "ssh://git@github.com/hello/private.git"):
        assert json.loads(mc.ok("project", "show", form, "-o", "json"))["id"] == "github.com/hello/private"
    assert mc.run("project", "add", "https://github.com/hello/private.git", "--token", "x").returncode == 2
    listing = mc.ok("project", "list")
    assert "github.com/hello/private" in listing and fp in listing and "PRIVATE" not in listing
    mc.ok("project", "remove", "git@github.com:hello/private")
    assert json.loads(mc.ok("project", "list", "-o", "json")) == []
    assert mc.run("project", "remove", "github.com/hello/private").returncode == 3


def test_bad_credentials_input(mc, tmp_path):
    pub = tmp_path / "k.pub"
    pub.write_text("ssh-ed25519 AAAA test\n")
    proc = mc.run("project", "add", "github.com/a/b", "--ssh-key", str(pub))
    assert proc.returncode == 2 and "public key" in proc.stderr
    assert mc.run("project", "add", "github.com/a/b", "--ssh-key", str(tmp_path / "none")).returncode == 3
    assert mc.run("project", "add", "not a url").returncode == 2
    key = tmp_path / "pp"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret-pass", "-f", str(key)], check=True)
    proc = mc.run("project", "add", "github.com/a/b", "--ssh-key", str(key))
    assert proc.returncode == 2 and "passphrase" in proc.stderr


def test_store_is_encrypted_and_fails_closed(mc):
    mc.ok("project", "add", "github.com/a/secret", "--token", "-", input=TOKEN + "\n")
    store = Path(mc.env["XDG_DATA_HOME"]) / "mc" / "projects.json"
    key_file = Path(mc.env["XDG_CONFIG_HOME"]) / "mc" / "project.key"
    raw = store.read_bytes()
    assert TOKEN.encode() not in raw and b"github.com/a/secret\":" in raw
    assert key_file.read_text().strip().encode() not in raw
    assert (key_file.stat().st_mode & 0o777) == 0o600 and (store.stat().st_mode & 0o777) == 0o600
    strings = subprocess.run(["strings", str(store)], capture_output=True, text=True).stdout
    assert TOKEN not in strings
    # one flipped byte in the ciphertext: a clear error, no data
    data = json.loads(raw)
    token = data["records"]["github.com/a/secret"]
    flipped = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    data["records"]["github.com/a/secret"] = flipped
    store.write_text(json.dumps(data))
    proc = mc.run("project", "list")
    assert proc.returncode == 1 and "failed authentication" in proc.stderr
    assert TOKEN not in proc.stdout + proc.stderr


def test_key_from_environment_and_rotation(mc):
    from mc.projects.crypto import generate_key

    old, new = generate_key(), generate_key()
    mc.env = {**mc.env, "MC_PROJECT_ENCRYPTION_KEY": old}
    mc.ok("project", "add", "github.com/a/rot", "--token", "-", input="tok-1\n")
    mc.env = {**mc.env, "MC_PROJECT_ENCRYPTION_KEY": f"{new},{old}"}
    assert "github.com/a/rot" in mc.ok("project", "list")
    mc.env = {**mc.env, "MC_PROJECT_ENCRYPTION_KEY": new}
    proc = mc.run("project", "list")
    assert proc.returncode == 1 and "not configured" in proc.stderr
