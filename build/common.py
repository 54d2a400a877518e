"""Shared settings of the PyInstaller specs (mc.spec, mcd.spec)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VERSION = re.search(r'__version__ = "([^"]+)"', (ROOT / "mc" / "__init__.py").read_text()).group(1)

# Registered by import path (cyclopts lazy loading) or imported inside functions: PyInstaller cannot
# see the string registrations, so list every command module and the generated API explicitly.
HIDDEN_MC = [
    "mc.cli.main", "mc.cli.session", "mc.cli.config", "mc.cli.driver", "mc.cli.project", "mc.cli.remote",
    "mc.cli.auth", "mc.remote.client", "mc.engine.local", "mc.engine.attach", "mc.auth.login", "mc.auth.tokens",
    "mc.api.v1.common_pb2", "mc.api.v1.session_pb2", "mc.api.v1.session_pb2_grpc", "mc.api.v1.driver_pb2",
    "mc.api.v1.driver_pb2_grpc", "mc.api.v1.project_pb2", "mc.api.v1.project_pb2_grpc", "mc.api.v1.auth_pb2",
    "mc.api.v1.auth_pb2_grpc", "yaml", "platformdirs", "cryptography.hazmat.primitives.ciphers.aead",
    "pkgutil",  # grpc's compiled core imports it
]
HIDDEN_MCD = [
    *HIDDEN_MC, "mcd.main", "mcd.server", "mcd.config", "mcd.oidc", "mcd.servicers.session",
    "mcd.servicers.driver", "mcd.servicers.project", "mcd.servicers.auth", "mcd.store.db",
    "grpc_health.v1.health", "grpc_reflection.v1alpha.reflection", "jwt", "oauthlib.oauth2", "requests",
]

# Never used at run time: leaving them out shrinks what the one-file binary unpacks on every start.
EXCLUDES = [
    "tkinter", "_tkinter", "unittest", "pydoc", "pydoc_data", "lib2to3", "distutils", "setuptools",
    "pkg_resources", "xmlrpc", "idlelib", "turtledemo", "turtle", "test", "pytest", "pexpect", "grpc_tools",
    "PyInstaller", "IPython", "numpy", "ensurepip", "venv", "curses", "readline", "doctest", "multiprocessing",
    "sqlite3.test", "tomllib", "mcd_tests",
]
EXCLUDES_MC = [*EXCLUDES, "mcd", "psycopg", "psycopg_binary", "sqlite3", "_sqlite3", "grpc_reflection",
               "grpc_health", "jwt"]

DATAS = [(str(ROOT / "drivers"), "drivers")]
