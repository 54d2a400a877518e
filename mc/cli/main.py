"""The ``mc`` entry point and its one error boundary.

Every expected failure is an :class:`mc.errors.McError`; here it becomes one line on stderr
(``mc: error: ...``) and the documented exit code. Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import sys
from typing import Annotated

from cyclopts import App, Parameter
from cyclopts.exceptions import CycloptsError

from mc import __version__
from mc.cli import context
from mc.cli.roothelp import ABOUT, SUBAPPS
from mc.errors import EXIT_INTERRUPTED, EXIT_USAGE, McError

app = App(
    name="mc",
    help=ABOUT,
    version=__version__,
    help_format="plaintext",
    help_formatter="plain",
    version_format="plaintext",
    result_action="return_value",
)
for _name, (_path, _help) in SUBAPPS.items():
    app.command(_path, name=_name, help=_help)


@app.default
def shorthand(target: str | None = None) -> int:
    """Create a session with the default driver and connect to it.

    Parameters
    ----------
    target
        A directory to mount at /app, or a git URL to clone into /app.
    """
    from mc.cli.session import quick

    return quick(target)


@app.meta.default
def _meta(
    *tokens: Annotated[str, Parameter(show=False, allow_leading_hyphen=True)],
    remote: Annotated[str | None, Parameter(name=["-r", "--remote"], help="Run on this mcd remote.")] = None,
    debug: Annotated[bool, Parameter(help="Show tracebacks and docker commands.", negative="")] = False,
) -> int:
    context.remote = remote
    context.debug = debug
    return app(tokens, exit_on_error=False, print_error=False)


def run(argv: list[str]) -> int:
    """Run one ``mc`` invocation; return its exit code."""
    debug = "--debug" in argv[: argv.index("--") if "--" in argv else len(argv)]
    try:
        result = app.meta(argv, exit_on_error=False, print_error=False)
    except CycloptsError as exc:
        message = str(exc).strip().splitlines()
        _fail(" ".join(m.strip() for m in message if m.strip()) or "invalid command line")
        return EXIT_USAGE
    except McError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        _fail(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:
        if debug:
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return 1
    if isinstance(result, bool) or result is None:
        return 0
    return result if isinstance(result, int) else 0


def _fail(message: str) -> None:
    sys.stderr.write(f"mc: error: {message}\n")
    sys.stderr.flush()


def main() -> None:
    code = run(sys.argv[1:])
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    sys.exit(code)
