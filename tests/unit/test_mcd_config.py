"""mcd's configuration as an operator sees it."""

from __future__ import annotations

import pytest

from mcd.main import check_config


def test_check_config_masks_every_secret(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PG_PASSWORD", "S3cretPw")
    cfg = tmp_path / "mc-service.yaml"
    cfg.write_text(
        "database: {url: 'postgresql://mcd:${PG_PASSWORD}@db.internal/mcd'}\n"
        "projects: {storage: {type: encrypted, key: 'k' }}\n"
        "auth: {issuer: 'https://idp.example/', client_id: mc, client_secret: 'hush-hush'}\n"
    )
    assert check_config(str(cfg)) == 0
    out = capsys.readouterr().out
    assert "S3cretPw" not in out and "hush-hush" not in out
    assert "postgresql://mcd:********@db.internal/mcd" in out


@pytest.mark.parametrize("value", ["https://u:p@host/x", "postgresql://a:b@c/d"])
def test_url_passwords_are_masked_anywhere(value):
    from mcd.main import masked

    assert ":********@" in masked({"anything": value})["anything"]
