"""Shared settings of the PyInstaller specs (mc.spec, mcd.spec)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VERSION = re.search(r'__version__ = "([^"]+)"', (ROOT / "mc" / "__init__.py").read_text()).group(1)


def _modules(package: str) -> list[str]:
    """Every module of one of our packages, by name."""
    names = []
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


# Commands are registered by import path (cyclopts lazy loading) and most imports happen inside
# functions: PyInstaller cannot see them, so every module of ours is listed (derived from the tree,
# so a new module is never forgotten), plus the third-party ones imported lazily.
HIDDEN_MC = [
    *_modules("mc"), "yaml", "platformdirs", "cryptography.hazmat.primitives.ciphers.aead",
    "pkgutil",  # grpc's compiled core imports it
    "langfuse",  # mc's lifecycle traces (mc.engine.traces), only with Langfuse configured
]
HIDDEN_MCD = [
    *HIDDEN_MC, *_modules("mcd"), "grpc_health.v1.health", "grpc_reflection.v1alpha.reflection", "jwt",
    "oauthlib.oauth2", "requests", "psycopg_pool", "fluent.asyncsender", "aiohttp",
]

# Never used at run time: leaving them out shrinks what the one-file binary unpacks on every start.
EXCLUDES = [
    "tkinter", "_tkinter", "unittest", "pydoc", "pydoc_data", "lib2to3", "distutils", "setuptools",
    "pkg_resources", "xmlrpc", "idlelib", "turtledemo", "turtle", "test", "pytest", "pexpect", "grpc_tools",
    "PyInstaller", "IPython", "numpy", "ensurepip", "venv", "curses", "readline", "doctest", "multiprocessing",
    "sqlite3.test", "tomllib", "mcd_tests",
]
EXCLUDES_MC = [*EXCLUDES, "mcd", "psycopg", "psycopg_binary", "sqlite3", "_sqlite3", "grpc_reflection",
               "grpc_health", "jwt", "aiohttp"]

DATAS = [(str(ROOT / "drivers"), "drivers")]
# the web app's page and the JavaScript scripts/build-web.sh fetched (mcd.web serves them)
DATAS_MCD = [*DATAS, (str(ROOT / "mcd" / "web" / "static"), "mcd/web/static")]
