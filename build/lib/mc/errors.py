"""Domain errors and the exit codes they map to.

Every failure a user can cause is one of these. The CLI boundary (mc.cli.main) turns them into a
single ``mc: error: ...`` line and the exit code; the gRPC boundary maps them to status codes.
"""

from __future__ import annotations

# Exit codes (documented in README.md). A command run in a session (connect, exec, --run)
# returns that command's own exit code instead.
EXIT_OK = 0
EXIT_FAILURE = 1  # something went wrong that is not one of the kinds below
EXIT_USAGE = 2  # bad input: unknown option, malformed value, invalid manifest
EXIT_NOT_FOUND = 3  # unknown session, driver, project, network, remote
EXIT_CONFLICT = 4  # state does not allow it: session not running, name taken
EXIT_UNAVAILABLE = 5  # docker missing, engine or remote unreachable
EXIT_AUTH = 6  # not logged in, token rejected, permission denied
EXIT_INTERRUPTED = 130


class McError(Exception):
    """Base of every expected failure. ``str(err)`` is the one line shown to the user."""

    exit_code = EXIT_FAILURE
    kind = "failure"


class InvalidArgument(McError):
    exit_code = EXIT_USAGE
    kind = "invalid_argument"


class NotFound(McError):
    exit_code = EXIT_NOT_FOUND
    kind = "not_found"


class Conflict(McError):
    exit_code = EXIT_CONFLICT
    kind = "conflict"


class Unavailable(McError):
    exit_code = EXIT_UNAVAILABLE
    kind = "unavailable"


class Unauthenticated(McError):
    exit_code = EXIT_AUTH
    kind = "unauthenticated"


class PermissionDenied(McError):
    exit_code = EXIT_AUTH
    kind = "permission_denied"


ERROR_KINDS: dict[str, type[McError]] = {
    cls.kind: cls
    for cls in (McError, InvalidArgument, NotFound, Conflict, Unavailable, Unauthenticated, PermissionDenied)
}
