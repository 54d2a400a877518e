"""Placeholder replaced by the encrypted project store."""

from __future__ import annotations


class ProjectStore:
    @staticmethod
    def exists() -> bool:
        return False
