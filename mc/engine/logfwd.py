"""Where a session's output goes besides docker's own log: a Fluentd collector, through Docker's
own ``fluentd`` log driver (no tailer of ours). Pure: the checks and the ``docker create`` options.

The driver runs asynchronously (``fluentd-async``): a collector that is down when a session starts,
or goes away mid-session, never fails, blocks or slows it. The driver keeps up to
``fluentd-buffer-limit`` lines and delivers them when the collector is back (each acknowledged, so
none in flight is lost with a connection), and drops what is beyond that. Docker's own copy keeps
everything: ``mc session logs`` reads it as before (Docker's "dual logging"). Docker splits lines
longer than 16 KiB into several records.

A Langfuse project gets mc's own traces of what runs in a session (``mc.engine.traces``) and, through
mc's OTLP relay (``mc.engine.telemetry``), the spans of the session's tool.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mc.errors import InvalidArgument

DEFAULT_TAG = "mc.{session}"
FIELDS = ("session", "owner", "driver", "project")  # in the tag as {name}; every record carries them
BUFFER_LINES = 1_048_576  # the driver's own buffer while the collector is away
_HOST_PORT = re.compile(r"^(?:tcp://|http://)?([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$")
_TAG = re.compile(r"^[A-Za-z0-9_.{}-]{1,128}$")


@dataclass(frozen=True)
class Fluentd:
    """A Fluentd (forward protocol) collector: ``tcp://host:port`` or ``unix:///path``."""

    address: str
    tag: str = DEFAULT_TAG

    def options(self, labels: dict[str, str]) -> list[str]:
        """``docker create`` options that send the session's output there, with its fields."""
        from mc.engine import labels as names

        values = {"session": labels.get(names.SESSION, ""), "owner": labels.get(names.OWNER, ""),
                  "driver": labels.get(names.DRIVER, ""), "project": labels.get(names.PROJECT, "")}
        tag = self.tag
        for key, value in values.items():
            tag = tag.replace("{" + key + "}", re.sub(r"[^A-Za-z0-9_.-]", "_", value) or "-")
        fields = ",".join((names.SESSION, names.OWNER, names.DRIVER, names.PROJECT))
        return ["--log-driver", "fluentd", "--log-opt", f"fluentd-address={self.address}",
                "--log-opt", "fluentd-async=true", "--log-opt", f"fluentd-buffer-limit={BUFFER_LINES}",
                "--log-opt", "fluentd-request-ack=true",  # what was in flight when it went away is sent again
                "--log-opt", f"tag={tag}", "--log-opt", f"labels={fields}"]


def check_fluentd(url: str, tag: str = "", where: str = "logging.fluentd") -> Fluentd:
    """A collector's address as Docker's driver takes it (``http://host:port``, as the spec writes
    it, is the same TCP address); one clear error naming ``where``."""
    url = url.strip()
    if url.startswith("unix://"):
        if not url.startswith("unix:///") or len(url) > 1024 or not url.isprintable():
            raise InvalidArgument(f"{where}.url {url!r}: expected unix:///absolute/path")
        address = url
    else:
        m = _HOST_PORT.match(url)
        if not m or not 0 < int(m.group(2)) < 65536:
            raise InvalidArgument(f"{where}.url {url!r}: expected host:port, tcp://host:port or unix:///path")
        address = f"tcp://{m.group(1)}:{m.group(2)}"
    tag = tag or DEFAULT_TAG
    unknown = sorted(set(re.findall(r"{([^}]*)}", tag)) - set(FIELDS))
    if not _TAG.match(tag) or unknown:
        raise InvalidArgument(f"{where}.tag {tag!r}: expected letters, digits, '.', '_', '-' and "
                              f"{', '.join('{' + f + '}' for f in FIELDS)}")
    return Fluentd(address, tag)


@dataclass(frozen=True)
class Langfuse:
    """A Langfuse project: its URL and key pair. The secret key never enters a session, an argv or a
    log line (``repr`` leaves it out)."""

    url: str
    public_key: str
    secret_key: str = field(repr=False)

    @property
    def otlp_traces(self) -> str:
        """Langfuse's OTLP/HTTP endpoint for traces."""
        return f"{self.url}/api/public/otel/v1/traces"


_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d{1,5})?(?:/[A-Za-z0-9._~/-]*)?$")


def check_langfuse(url: str, public_key: str, secret_key: str, where: str = "services.langfuse") -> Langfuse:
    """A Langfuse project from its URL and keys; one clear error naming the field (never its value
    for the secret key)."""
    url = url.strip().rstrip("/")
    if not _URL.match(url) or len(url) > 512:
        raise InvalidArgument(f"{where}.url {url[:80]!r}: expected an http(s)://host[:port][/path] URL")
    for name, value in (("public_key", public_key), ("secret_key", secret_key)):
        if not value or len(value) > 256 or not value.isprintable() or any(c.isspace() for c in value):
            raise InvalidArgument(f"{where}.{name}: expected a key (printable, no spaces, at most 256 characters)")
    return Langfuse(url, public_key, secret_key)
