"""The ``mc`` entry point and its one error boundary.

Every expected failure is an :class:`mc.errors.McError`; here it becomes one line on stderr
(``mc: error: ...``) and the documented exit code. Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import sys

from cyclopts import App
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


def split_globals(argv: list[str]) -> tuple[str | None, bool, list[str]]:
    """Take the global options (``-r/--remote NAME``, ``--debug``) from the front of the command line.

    They are parsed here rather than by a cyclopts meta app: it is the same contract as docker's
    (global options before the command), and it spares every invocation a second parse.
    """
    remote: str | None = None
    debug = False
    rest = list(argv)
    while rest:
        head = rest[0]
        if head == "--debug":
            debug = True
            rest.pop(0)
        elif head in ("-r", "--remote"):
            if len(rest) < 2 or rest[1].startswith("-"):
                raise CycloptsError(msg=f"{head} needs a remote name (see mc remote list)")
            remote = rest[1]
            del rest[:2]
        elif head.startswith("--remote="):
            remote = head.split("=", 1)[1]
            rest.pop(0)
        elif head.startswith("-r") and len(head) > 2:
            remote = head[2:]
            rest.pop(0)
        else:
            break
    return remote, debug, rest


def run(argv: list[str]) -> int:
    """Run one ``mc`` invocation; return its exit code."""
    try:
        context.remote, context.debug, tokens = split_globals(argv)
        result = app(tokens, exit_on_error=False, print_error=False)
    except CycloptsError as exc:
        message = str(exc).strip().splitlines()
        _fail(" ".join(m.strip() for m in message if m.strip()) or "invalid command line")
        return EXIT_USAGE
    except McError as exc:
        if context.debug:
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
        if context.debug:
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
