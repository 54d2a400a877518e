"""Callers as the engine sees them: a Scope keyed by the provider's subject.

Owners used to be keyed by the display name (``preferred_username``), which a provider may let
people change, or give to someone new. They are keyed by ``sub`` now. Records from before (the
database names them in ``legacy_owners`` after the upgrade) are carried over to the first subject
that logs in with that name, once: its projects are re-encrypted under the subject, its gone
sessions moved, and its running sessions and config volumes stay reachable under the old name (a
scope alias). Nobody can claim that name afterwards.
"""

from __future__ import annotations

import threading

from mc.engine.scope import Scope
from mcd.identity import Identity
from mcd.projects import DatabaseProjects
from mcd.store.db import Database


class Users:
    def __init__(self, db: Database, projects: DatabaseProjects, multi_user_keys: bool) -> None:
        self.db = db
        self.projects = projects
        self.keyed_by_subject = multi_user_keys  # with auth; a socket's owner is just its name
        self._legacy: dict[str, str] = {}
        self._lock = threading.Lock()

    def scope(self, who: Identity) -> Scope:
        if not self.keyed_by_subject:
            return Scope.user(who.user, who.admin)
        with self._lock:
            legacy = self._legacy.get(who.user)
            if legacy is None:
                legacy = self.db.claim(who.user, who.display, self._rekey)
                self._legacy[who.user] = legacy
        return Scope.user(who.user, who.admin, (legacy,) if legacy else ())

    def _rekey(self, old: str, new: str) -> None:
        self.projects.rekey(old, new)
        self.db.rekey_rows(old, new)
