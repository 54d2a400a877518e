"""Who is asking: one value instead of flags. The engine files every session under an owner (the
``mc.owner`` label); a scope says whose sessions and projects a call may see and touch.

- ``Scope.local(owner)``: local mode, one user: lists show their sessions (``MC_OWNER`` or the
  login name), and any mc session on the engine may be given by its id (docker access is root).
- ``Scope.user(owner, admin)``: a user of mcd; they see and touch their own sessions only. An
  admin also sees every user's sessions in lists and may act on one given by its id; ``close --all``
  and names still mean their own. Another user's session is "not found", never "not yours".
- ``Scope.system()``: mcd itself (reconcile, cleanup): everything.

``aliases`` are other owner keys that are the same person's: the display name a user was filed
under before mcd keyed owners by the provider's subject (see mcd.users).
"""

from __future__ import annotations

from dataclasses import dataclass

from mc.engine.models import Session


@dataclass(frozen=True)
class Scope:
    """Who is asking (see the module docstring)."""

    owner: str
    admin: bool = False
    multi_user: bool = False
    aliases: tuple[str, ...] = ()

    @classmethod
    def local(cls, owner: str) -> Scope:
        return cls(owner)

    @classmethod
    def user(cls, owner: str, admin: bool = False, aliases: tuple[str, ...] = ()) -> Scope:
        return cls(owner, admin, True, aliases)

    @classmethod
    def system(cls) -> Scope:
        return cls("", True, True)

    @property
    def owners(self) -> tuple[str, ...]:
        return (self.owner, *self.aliases)

    @property
    def volume_owner(self) -> str:
        """The key persistent-config volumes are named by: the oldest one, so they stay the user's."""
        return self.aliases[0] if self.aliases else self.owner

    def owns(self, session: Session) -> bool:
        return not self.multi_user or session.owner in self.owners

    def sees(self, session: Session) -> bool:
        return self.admin or self.owns(session)

    def listing_owners(self) -> tuple[str, ...] | None:
        """Owners whose sessions a listing shows; None for everyone's."""
        return None if self.admin else self.owners

    def own_owners(self) -> tuple[str, ...] | None:
        """Owners whose sessions are this caller's own (close --all); None for everyone's (system)."""
        return self.owners if self.owner else None

    def project_owner(self) -> str | None:
        """Whose projects a call sees: the caller's with several users, all of them locally."""
        return self.owner if self.multi_user else None
