"""What ``mc --help`` says, kept apart so it prints without importing the CLI framework.

``mc --help`` is the first thing people type and must feel instant. cyclopts renders help through
rich, which alone costs about as much as importing cyclopts; the root help is static, so mc prints
it from this table, which is also what registers the sub-apps (tests/unit/test_cli.py checks the
two agree).
"""

from __future__ import annotations

ABOUT = (
    "Run AI coding agents in throw-away containers.\n\n"
    "mc            create a session with the default driver and connect\n"
    "mc DIR        ... with DIR mounted at /app (mc . for the current directory)\n"
    "mc URL        ... with the git project URL cloned into /app"
)

# name -> (import path of the command, one-line help)
SUBAPPS: dict[str, tuple[str, str]] = {
    "session": ("mc.cli.session:app", "Create, list, connect to, run in and close sessions."),
    "config": ("mc.cli.config:app", "Read and change the user configuration."),
    "driver": ("mc.cli.driver:app", "List, inspect, build and add drivers (container templates)."),
    "project": ("mc.cli.project:app", "Git projects and their credentials."),
    "mcp": ("mc.cli.mcp:app", "MCP servers to attach to sessions."),
    "remote": ("mc.cli.remote:app", "mcd servers that run sessions for you."),
    "auth": ("mc.cli.auth:app", "Log in to a remote (OAuth 2 / OIDC)."),
    "ssh-config": ("mc.cli.session:ssh_config", "ssh config Host blocks for sessions with ssh (ssh mc-ID)."),
    "stop": ("mc.cli.session:stop", "Stop the current session (run inside a session)."),
}

GLOBAL_OPTIONS: list[tuple[str, str]] = [
    ("-r, --remote NAME", "Run on this mcd remote (see mc remote list)."),
    ("--debug", "Show tracebacks and the docker commands mc runs."),
    ("--version", "Print the version and exit."),
    ("-h, --help", "Print this help and exit."),
]


def render() -> str:
    width = max(len(n) for n in [*SUBAPPS, *(o for o, _ in GLOBAL_OPTIONS)]) + 2
    lines = ["Usage: mc [OPTIONS] [COMMAND | DIR | URL]", "", ABOUT, "", "Commands:"]
    lines += [f"  {name.ljust(width)}{help_}" for name, (_, help_) in SUBAPPS.items()]
    lines += ["", "Options:"]
    lines += [f"  {opt.ljust(width)}{help_}" for opt, help_ in GLOBAL_OPTIONS]
    lines += ["", "Run 'mc COMMAND --help' for a command's options."]
    return "\n".join(lines) + "\n"
