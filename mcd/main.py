"""``mcd``: the daemon's command line (cyclopts) and its error boundary."""

from __future__ import annotations

import logging
import re
import sys
from typing import Annotated, Any

from cyclopts import App, Parameter

from mc import __version__

app = App(name="mcd", help="The mc daemon: runs sessions for remote users over gRPC.", version=__version__,
          help_format="plaintext", help_formatter="plain", result_action="return_value")


@app.command
def serve(*, config: Annotated[str | None, Parameter(alias="-c")] = None, debug: bool = False) -> int:
    """Serve until SIGTERM (which drains running calls first).

    Parameters
    ----------
    config
        Path of mc-service.yaml (default: a unix socket and SQLite, single user).
    debug
        Log at debug level.
    """
    from mcd.config import load
    from mcd.server import Daemon

    cfg = load(config)
    level = logging.DEBUG if debug else getattr(logging, cfg.log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s mcd %(levelname)s %(message)s")
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # an operator's view of a stuck mcd: kill -USR1
    Daemon(cfg).serve_forever()
    return 0


@app.command(name="check-config")
def check_config(config: str) -> int:
    """Validate mc-service.yaml and print the effective settings (secrets masked).

    Parameters
    ----------
    config
        Path of mc-service.yaml.
    """
    from dataclasses import asdict

    from mcd.config import load

    for key, value in masked(asdict(load(config))).items():
        print(f"{key}: {value}")
    return 0


SECRET_WORDS = ("key", "secret", "token", "password")


def masked(value: Any, name: str = "") -> Any:
    """Settings as they may be shown: secret values masked, and the password of any URL."""
    if isinstance(value, dict):
        return {k: masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, name) for v in value]
    if isinstance(value, str) and value:
        if any(word in name.lower() for word in SECRET_WORDS):
            return "********"
        return re.sub(r"(://[^:/@\s]*:)[^@/\s]*@", r"\1********@", value)
    return value


def main() -> None:
    from cyclopts.exceptions import CycloptsError

    from mc.errors import McError

    try:
        result = app(sys.argv[1:], exit_on_error=False, print_error=False)
    except CycloptsError as exc:
        sys.stderr.write(f"mcd: error: {' '.join(str(exc).split())}\n")
        sys.exit(2)
    except McError as exc:
        sys.stderr.write(f"mcd: error: {exc}\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(result if isinstance(result, int) and not isinstance(result, bool) else 0)


if __name__ == "__main__":
    main()
