"""stdout is data, stderr is talk: tables for people, stable JSON for programs."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, Literal

from mc.term.text import printable

Output = Literal["table", "json"]


def say(message: str) -> None:
    """Talk to the user (stderr), never mixed into data on stdout."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def warning(message: str) -> None:
    """Something the user should know although the command goes on (the engine's ``warn``)."""
    say(f"mc: warning: {message}")


def progress(line: str) -> None:
    """A line of progress output (a driver build), passed through to stderr as it comes."""
    sys.stderr.write(line if line.endswith("\n") else line + "\n")
    sys.stderr.flush()


def emit_json(value: Any) -> None:
    import json

    sys.stdout.write(json.dumps(value, indent=2, sort_keys=False, default=str) + "\n")


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str], style: str = "plain") -> str:
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))
    if style == "grid":
        sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

        def line(r: Sequence[str]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

        out = [sep, line(list(headers)), sep.replace("-", "=")]
        out += [line(r) for r in cells]
        out.append(sep)
        return "\n".join(out) + "\n"

    def plain(r: Sequence[str]) -> str:
        return "   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()

    return "\n".join([plain([h.upper() for h in headers]), *(plain(r) for r in cells)]) + "\n"


def emit_table(rows: Sequence[Sequence[Any]], headers: Sequence[str], style: str = "plain") -> None:
    sys.stdout.write(table(rows, headers, style))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    return printable(str(value))
