"""The only code that runs the ``docker`` binary.

Argv lists built as data (never a shell), a timeout on every call, JSON output parsed into typed
models, one error type (:class:`DockerError`) classified from stderr in one table.
"""

from mc.docker.runner import Docker, DockerError

__all__ = ["Docker", "DockerError"]
