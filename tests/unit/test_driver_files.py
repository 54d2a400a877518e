"""Driver directories: what a user registers or builds can never reach outside what they meant."""

from __future__ import annotations

import pytest

from mc.drivers import registry
from mc.drivers.build import check_links
from mc.errors import InvalidArgument, NotFound


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    config = tmp_path / "config" / "mc"
    (config / "drivers").mkdir(parents=True)
    (config / "config.yaml").write_text("defaults: {}\n")
    (config / "project.key").write_text("key\n")
    return config


@pytest.mark.parametrize("name", ["..", "", ".", "../mc", "a/b"])
def test_driver_remove_never_leaves_the_drivers_directory(home, name):
    with pytest.raises(InvalidArgument):
        registry.remove(name)
    assert (home / "config.yaml").exists() and (home / "project.key").exists()


def test_driver_remove_unlinks_only_links(home, tmp_path):
    real = home / "drivers" / "real"
    real.mkdir()
    (real / "Dockerfile").write_text("FROM x\n")
    with pytest.raises(InvalidArgument, match="not a driver registered"):
        registry.remove("real")
    assert (real / "Dockerfile").exists()
    target = tmp_path / "mine"
    target.mkdir()
    (target / "Dockerfile").write_text("FROM debian:bookworm-slim\n")
    registry.add(str(target), "mine")
    registry.remove("mine")
    assert (target / "Dockerfile").exists() and not (home / "drivers" / "mine").exists()
    with pytest.raises(NotFound):
        registry.remove("mine")


def test_links_out_of_a_driver_are_refused(tmp_path):
    d = tmp_path / "sneaky"
    d.mkdir()
    (d / "Dockerfile").write_text("FROM debian:bookworm-slim\nCOPY loot /loot\n")
    secret = tmp_path / "ssh"
    secret.mkdir()
    (secret / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (d / "inside.txt").write_text("ok\n")
    (d / "alias").symlink_to("inside.txt")
    driver = registry.resolve(str(d))
    check_links(driver)  # a link inside the driver is fine
    (d / "loot").symlink_to(secret)
    with pytest.raises(InvalidArgument, match="links outside the driver directory"):
        check_links(registry.resolve(str(d)))
