"""mcd's audit events (create, connect, exec with its exit code, close, login, ...) to a Fluentd
collector under the tag ``mcd.audit``, besides the database's audit table.

Sent with the official Fluentd client (``fluent-logger``) in its asynchronous mode: a bounded queue
that drops its oldest events when the collector stays away, so a collector that is down never
blocks or fails a call. The events name no secret: who, what, which session or project, how it
ended.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mc.engine.logfwd import Fluentd

TAG = "mcd"  # events are "mcd.audit"
QUEUE = 10_000
log = logging.getLogger("mcd.audit")

# The event a call is, by its method (the servicer may say better: connect or exec, login).
EVENTS = {"SessionService/Create": "create", "SessionService/Close": "close", "SessionService/Stop": "stop",
          "SessionService/Start": "start", "SessionService/Extend": "extend",
          "SessionService/Forward": "forward", "SessionService/Attach": "attach",
          "SessionService/Logs": "logs", "SessionService/WaitReady": "wait", "SessionService/Get": "show",
          "AuthService/Callback": "login", "AuthService/PollDevice": "login", "AuthService/Logout": "logout",
          "ProjectService/Add": "project add", "ProjectService/Update": "project update",
          "ProjectService/Remove": "project remove", "McpService/Add": "mcp add", "McpService/Remove": "mcp remove"}


class AuditForward:
    """Hands audit events to the collector; ``close`` sends what is queued (at most a few seconds)."""

    def __init__(self, fluentd: Fluentd, instance: str) -> None:
        from fluent import asyncsender

        host, port = fluentd.address, 0
        if host.startswith("tcp://"):
            host, _, number = host[len("tcp://"):].rpartition(":")
            host, port = host.strip("[]"), int(number)
        self.instance = instance
        self.sender = asyncsender.FluentSender(TAG, host=host, port=port, timeout=3.0, queue_maxsize=QUEUE,
                                               queue_circular=True, nanosecond_precision=True)

    def __call__(self, user: str, method: str, target: str, code: str, detail: str,
                 event: str = "", exit_code: int | None = None) -> None:
        short = method.removeprefix("/mc.api.v1.")
        record: dict[str, Any] = {"event": event or EVENTS.get(short, short), "user": user, "method": short,
                                  "target": target, "code": code, "detail": detail, "instance": self.instance,
                                  "time": time.time()}
        if exit_code is not None:
            record["exit_code"] = exit_code
        if not self.sender.emit("audit", record):
            log.debug("audit event not queued: %s", self.sender.last_error)

    def close(self) -> None:
        try:
            self.sender.close()
        except Exception as exc:  # a collector that is away is not mcd's failure
            log.warning("audit forwarding: %s", type(exc).__name__)
