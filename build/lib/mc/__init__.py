"""mc: run AI coding agents in throw-away containers."""

__version__ = "0.1.0"
