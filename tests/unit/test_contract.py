"""The session contract is spelled once per side: mc/contract.py and drivers/mc-lib.sh agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from mc import contract

ROOT = Path(__file__).resolve().parents[2]
LIB = (ROOT / "drivers" / "mc-lib.sh").read_text()


def _shell(name: str) -> str:
    m = re.search(rf"^\s*{name}=(\S+)$", LIB, re.MULTILINE)
    assert m, f"{name} is not set in drivers/mc-lib.sh"
    return m.group(1).replace("$MC_RUN", contract.RUN_DIR)


def test_paths_and_exit_code_agree():
    assert _shell("MC_RUN") == contract.RUN_DIR
    assert _shell("MC_INCOMING") == contract.INCOMING_DIR
    assert _shell("MC_SECRETS_READY") == contract.SECRETS_READY
    assert _shell("MC_SECRETS") == contract.SECRETS_DIR
    assert int(_shell("MC_FAILED_EXIT")) == contract.FAILED_EXIT
    assert int(_shell("MC_EXPIRED_EXIT")) == contract.EXPIRED_EXIT
    assert _shell("MC_STATE") == contract.STATE_DIR
    assert _shell("MC_DEADLINE_FILE").replace("$MC_STATE", contract.STATE_DIR) == contract.DEADLINE_FILE
    assert f"$MC_SECRETS/{contract.ENV_FILE}" in LIB


def test_shared_files_exist_and_ship_in_the_wheel():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = data["tool"]["setuptools"]["data-files"]["share/mc/drivers"]
    for name, target in contract.SHARED_FILES.items():
        assert (ROOT / "drivers" / name).is_file()
        assert f"drivers/{name}" in shipped
        assert target.startswith("/")
    assert contract.SHARED_FILES["mc-lib.sh"] == "/usr/local/lib/mc/lib.sh"
    for script in ("mc-init.sh", "mc-exec"):
        assert ". /usr/local/lib/mc/lib.sh" in (ROOT / "drivers" / script).read_text()


def test_env_file_is_nul_separated_records():
    assert contract.env_file({"A": "1", "B": "x\ny=$(z)"}) == b"A=1\0B=x\ny=$(z)\0"
