"""Command-line front door: thin commands that parse, make one engine call and render."""

from __future__ import annotations

import sys


def main() -> None:
    """Console-script entry point for ``mc``.

    ``mc --help`` and ``mc --version`` are answered before the CLI framework is imported.
    """
    import os

    if os.environ.get("MC_SHELL_HOST"):  # a local shell's holder process (mc.engine.shellhost)
        from mc.engine.shellhost import host_main

        host_main()
        return
    argv = sys.argv[1:]
    if argv in (["--help"], ["-h"]):
        from mc.cli.roothelp import render

        sys.stdout.write(render())
        return
    if argv == ["--version"]:
        from mc import __version__

        sys.stdout.write(f"{__version__}\n")
        return
    from mc.cli.main import main as full_main

    full_main()
