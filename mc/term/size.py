"""The size of the terminal mc runs in (without importing the attach machinery)."""

from __future__ import annotations

import os


def terminal_size() -> tuple[int, int] | None:
    """(rows, cols) of the first of stdout, stdin, stderr that is a terminal."""
    for fd in (1, 0, 2):
        try:
            size = os.get_terminal_size(fd)
        except OSError:
            continue
        if size.lines and size.columns:
            return size.lines, size.columns
    return None
