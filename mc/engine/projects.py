"""Where the engine finds projects: a store per owner (local mode: the user's file; mcd: records in
its database). The engine turns a project's credential into files in the session (environment.py);
callers only ever get ``ProjectInfo``, never the secret."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from mc.engine.models import ProjectInfo

if TYPE_CHECKING:
    from mc.mcp.store import McpStore
    from mc.projects.store import Project, ProjectAccess, ProjectStore


class ProjectSource(Protocol):
    def for_owner(self, owner: str) -> ProjectStore:
        """The store of ``owner``'s projects (created on first use)."""

    def access(self, owner: str, url: str) -> ProjectAccess | None:
        """What a session needs to clone ``url`` when ``owner`` stored it; None otherwise."""


class LocalProjects:
    """The local user's project file, opened only when a command needs it."""

    def __init__(self) -> None:
        self._store: ProjectStore | None = None

    def for_owner(self, owner: str) -> ProjectStore:
        if self._store is None:
            from mc.projects.store import ProjectStore

            self._store = ProjectStore.default()
        return self._store

    def access(self, owner: str, url: str) -> ProjectAccess | None:
        from mc.projects.store import ProjectStore

        if self._store is None and not ProjectStore.exists():
            return None  # nothing stored yet: no key file to create for a public clone
        return self.for_owner(owner).access(url)


class McpSource(Protocol):
    def for_owner(self, owner: str) -> McpStore:
        """The store of ``owner``'s MCP server definitions."""


class LocalMcps:
    """The local user's MCP file, opened only when a command needs it."""

    def __init__(self) -> None:
        self._store: McpStore | None = None

    def for_owner(self, owner: str) -> McpStore:
        if self._store is None:
            from mc.mcp.store import McpStore

            self._store = McpStore.default()
        return self._store


def info(project: Project) -> ProjectInfo:
    return ProjectInfo(id=project.id, url=project.url, name=project.name, auth_type=project.auth_type,
                       public_key=project.public_key, fingerprint=project.fingerprint, username=project.username,
                       owner=project.owner)
