"""mc's own XDG lookup gives exactly what platformdirs gives."""

from __future__ import annotations

import pytest
from platformdirs import user_cache_dir, user_config_dir, user_data_dir

from mc.config import paths


@pytest.mark.parametrize("xdg", [None, "/tmp/xdg-test", "relative/ignored", ""])
def test_same_answer_as_platformdirs(monkeypatch, xdg):
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        if xdg is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, xdg)
    assert str(paths.config_dir()) == user_config_dir("mc", appauthor=False)
    assert str(paths.data_dir()) == user_data_dir("mc", appauthor=False)
    assert str(paths.cache_dir()) == user_cache_dir("mc", appauthor=False)
