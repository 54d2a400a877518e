"""A stand-in for Langfuse's OTLP endpoint (``/api/public/otel/v1/traces``), for tests: it speaks
OTLP/HTTP as documented, decodes with the official OpenTelemetry proto package, checks the Basic
auth of the project's key pair (401 otherwise, as Langfuse does) and keeps every span it takes.

Langfuse itself cannot be installed here; the clients under test (the Langfuse SDK in mc and mcd,
mc's OTLP relay) are the real ones.
"""

from __future__ import annotations

import base64
import gzip
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

PATH = "/api/public/otel/v1/traces"


@dataclass
class Span:
    name: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    start_ns: int
    end_ns: int

    @property
    def duration(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None


@dataclass
class OtlpReceiver:
    host: str
    public_key: str
    secret_key: str
    spans: list[Span] = field(default_factory=list)
    refused: int = 0
    requests: list[dict[str, str]] = field(default_factory=list)  # the headers of each request taken

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                want = "Basic " + base64.b64encode(f"{receiver.public_key}:{receiver.secret_key}".encode()).decode()
                if self.path != PATH or self.headers.get("Authorization") != want:
                    receiver.refused += 1
                    self.send_response(401 if self.path == PATH else 404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                req = ExportTraceServiceRequest()
                req.ParseFromString(body)
                with receiver.lock:
                    receiver.requests.append(dict(self.headers.items()))
                    for rs in req.resource_spans:
                        resource = {a.key: _value(a.value) for a in rs.resource.attributes}
                        for ss in rs.scope_spans:
                            for s in ss.spans:
                                receiver.spans.append(Span(s.name, {a.key: _value(a.value) for a in s.attributes},
                                                           resource, s.start_time_unix_nano, s.end_time_unix_nano))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer((self.host, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> list[Span]:
        """The spans that satisfy ``predicate``, once at least one has come (or [] at the deadline)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = [s for s in self.spans if predicate(s)]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
