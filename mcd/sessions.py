"""The engine's sessions as mcd serves them: plus the record of sessions whose container vanished
("gone"), kept in the database until their owner closes them.

Labels stay the truth: ``reconcile`` mirrors every container of this mcd at start, and the engine's
events keep the mirror current (a container removed behind mcd's back shows as gone within seconds).
A session created with ``--rm`` is removed by mcd when its command ends or its client goes away
(see the session servicer); one left stopped by a crash is removed at the next start.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable

from mc.contract import EXPIRED_EXIT
from mc.engine.backend import Warn
from mc.engine.local import EventStream, LocalBackend
from mc.engine.models import Session, SessionSpec
from mc.engine.scope import Scope
from mc.engine.sessions import resolve_ref
from mc.errors import InvalidArgument, McError, NotFound
from mcd.store.db import Database, now

log = logging.getLogger("mcd")
MAX_REFS = 256


class TrackedSessions:
    def __init__(self, engine: LocalBackend, db: Database,
                 on_engine: Callable[[bool], None] = lambda up: None) -> None:
        self.engine = engine
        self.db = db
        self.on_engine = on_engine  # told when the engine is reached again (True) or lost (False)
        self._stopping = threading.Event()
        self._events: EventStream | None = None
        self._since = ""

    # -- what callers do ---------------------------------------------------------------------------
    def create(self, scope: Scope, spec: SessionSpec, still_wanted: Callable[[], bool] = lambda: True,
               warn: Warn | None = None) -> Session:
        """Create a session; if its caller went away meanwhile (it never learns the id), remove it."""
        engine = self.engine.scoped(scope)
        self.db.hold_replica()  # (after a database outage: alive again for the other replicas)
        session = engine.create(spec, warn=warn)
        if not still_wanted():
            engine.remove([session], kill=True)
            raise McError("the call was cancelled; the session was removed")
        self.db.upsert_session(session)
        return session

    def _gone(self, scope: Scope) -> list[Session]:
        rows = self.db.gone_sessions(scope.listing_owners())
        return [Session(id=r["id"], name=r["name"], driver=r["driver"], status="gone", project=r["project"],
                        created=r["created"], container=r["container"], owner=r["owner"]) for r in rows]

    def sessions(self, scope: Scope) -> list[Session]:
        return self._made(self.engine.scoped(scope).sessions()) + self._gone(scope)

    def _made(self, live: list[Session]) -> list[Session]:
        """The sessions, without those a replica that has since died left half-made (on a cluster,
        a service still marked as being made by a replica whose lock is free): those are removed."""
        makers = {s.creating for s in live if s.creating and s.creating != self.db.replica}
        dead = {m for m in makers if not self.db.replica_alive(m)}
        if not dead:
            return live
        abandoned = [s for s in live if s.creating in dead]
        try:
            self._close(abandoned, kill=True)
            log.info(json.dumps({"event": "sessions left half-made by a gone replica removed",
                                 "sessions": [s.id for s in abandoned], "replicas": sorted(dead)}))
        except McError as exc:
            log.warning(json.dumps({"event": "removing half-made sessions failed", "error": str(exc)}))
        return [s for s in live if s.creating not in dead]

    def get(self, scope: Scope, ref: str) -> Session:
        try:
            return self.engine.scoped(scope).get(ref)
        except NotFound:
            return resolve_ref(self._gone(scope), ref, scope)

    def close(self, scope: Scope, refs: list[str], *, kill: bool = False) -> list[Session]:
        if not refs:
            raise InvalidArgument("give session ids to close, or all")
        if len(refs) > MAX_REFS:
            raise InvalidArgument(f"at most {MAX_REFS} sessions at once")
        everything = self.sessions(scope)
        chosen = {s.id: s for s in (resolve_ref(everything, ref, scope) for ref in dict.fromkeys(refs))}
        self._close(list(chosen.values()), kill)
        return list(chosen.values())

    def close_all(self, scope: Scope, *, kill: bool = False) -> list[Session]:
        own = scope.own_owners()
        sessions = [s for s in self.sessions(scope) if own is None or s.owner in own]
        self._close(sessions, kill)
        return sessions

    def _close(self, sessions: list[Session], kill: bool) -> None:
        live = [s for s in sessions if s.status != "gone"]
        for s in live:
            self.db.closing(s.owner, s.id)  # a crash before the forget below: the restart forgets it
        self.engine.remove(live, kill=kill)
        for s in sessions:
            self.db.forget(s.owner, s.id)
        for owner in {s.owner for s in live}:
            self.engine.prune_owner_network(owner)

    def stop_sessions(self, scope: Scope, refs: list[str]) -> list[Session]:
        return self.engine.scoped(scope).stop(refs)

    def start_sessions(self, scope: Scope, refs: list[str]) -> list[Session]:
        return self.engine.scoped(scope).start(refs)

    def extend(self, scope: Scope, ref: str, seconds: int) -> Session:
        return self.engine.scoped(scope).extend(ref, seconds)

    def end(self, session: Session) -> None:
        """Remove a session created for one command (--rm), now that the command is over."""
        with contextlib.suppress(McError):
            self._close([session], kill=True)

    # -- the mirror ------------------------------------------------------------------------------
    def reconcile(self) -> bool:
        """Mirror every mc container, mark the vanished ones gone, and remove stopped --rm ones.
        False when the engine could not be listed."""
        listed_at = now()
        self._since = self._since or f"{time.time():.6f}"  # the events thread picks up from here
        try:
            live = self._made(self.engine.scoped(Scope.system()).sessions())
        except McError as exc:
            log.warning(json.dumps({"event": "reconcile failed", "error": str(exc)}))
            return False
        try:
            went = self.db.reconcile(live, listed_at)
            if went:
                log.info(json.dumps({"event": "reconciled", "gone": went}))
            leftovers = [s for s in live if s.status == "expired"
                         or (s.remove_on_exit and s.status in ("stopped", "failed", "exited"))]
            if leftovers:
                self._close(leftovers, kill=True)
            orphans = self.engine.prune_sidecars(live)
            if orphans:
                log.info(json.dumps({"event": "MCP servers of gone sessions removed", "sessions": orphans}))
        except McError as exc:
            log.warning(json.dumps({"event": "reconcile failed", "error": str(exc)}))
        return True

    def follow(self) -> None:
        """Follow the engine's events in a thread, reconnecting (and reconciling) after an engine restart;
        and where they do not tell when a session ends (a cluster), reconcile every ``sweep_every``."""
        self._since = self._since or f"{time.time():.6f}"
        threading.Thread(target=self._follow, name="docker-events", daemon=True).start()
        if self.engine.sweep_every:
            threading.Thread(target=self._sweep, name="mcd-sweep", daemon=True).start()

    def _sweep(self) -> None:
        while not self._stopping.wait(self.engine.sweep_every):
            self.reconcile()

    def _follow(self) -> None:
        while not self._stopping.is_set():
            events = self.engine.events(since=self._since)
            self._events = events
            try:
                for event in events:
                    if self._stopping.is_set():
                        return
                    if event.time_ns:
                        self._since = f"{event.time_ns // 1_000_000_000}.{event.time_ns % 1_000_000_000:09d}"
                    if event.action == "die" and event.exit_code == EXPIRED_EXIT:
                        self._expired(event.session_id)
                    if event.action == "destroy":
                        try:
                            if self._still_there(event.session_id):
                                continue
                            self.db.mark_gone(event.owner, event.session_id)
                            self.engine.remove_sidecars([event.session_id])  # its MCP servers go with it
                        except McError as exc:
                            log.warning(json.dumps({"event": "recording a removal failed", "error": str(exc)}))
            except McError as exc:
                log.warning(json.dumps({"event": "no docker events", "error": str(exc)}))
            if self._stopping.is_set():
                return
            log.warning(json.dumps({"event": "engine lost"}))  # its event stream ended
            self.on_engine(False)
            while not self._stopping.wait(1):  # try again every second, and catch up
                if self.reconcile():
                    log.info(json.dumps({"event": "engine reached"}))
                    self.on_engine(True)
                    break

    def _still_there(self, session_id: str) -> bool:
        """A destroy may be of an earlier container of the session's name (a create retried after
        making its network), replayed from before a restart or seen while the new one starts: the
        session is gone only when the engine has no container of it now."""
        try:
            self.engine.scoped(Scope.system()).get(session_id)
        except NotFound:
            return False
        return True

    def _expired(self, session_id: str) -> None:
        """A session whose lifetime ended (its init ended it): close it."""
        try:
            session = self.engine.scoped(Scope.system()).get(session_id)
            self._close([session], kill=True)
            log.info(json.dumps({"event": "lifetime ended", "session": session_id, "owner": session.owner}))
        except McError as exc:
            log.warning(json.dumps({"event": "closing an expired session failed", "error": str(exc)}))

    def stop(self) -> None:
        self._stopping.set()
        if self._events is not None:
            self._events.close()
