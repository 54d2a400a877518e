"""mc's OTLP relay (see the Dockerfile). Standard library and the OpenTelemetry proto package only.

Configuration (copied in by mc before the start, never in the container's environment):
``{"url": LANGFUSE_URL, "public_key": ..., "secret_key": ..., "key": HEX}``; ``key`` checks the
``x-mc-session`` header a session sends: ``BASE64URL(JSON fields).BASE64URL(HMAC-SHA256)``, mc's
statement of the session's id, owner, driver and project. It is taken only from that session's own
address (Docker's DNS names the container an address belongs to), so it is no bearer secret: the
same header from anywhere else is refused.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import hmac
import io
import json
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

MAX_BODY = 8 * 1024 * 1024  # one export request, after decompression
TOKEN_HEADER = "x-mc-session"
# what a span may not say about itself: mc says which session and user it belongs to
OWNED = {"langfuse.session.id", "session.id", "langfuse.user.id", "user.id"}
CONFIG: dict[str, str] = {}


def log(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def session_of(token: str) -> dict[str, str] | None:
    """The session fields a valid token carries, or None."""
    try:
        body, sig = token.strip().split(".", 1)
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        want = hmac.new(bytes.fromhex(CONFIG["key"]), raw, hashlib.sha256).digest()
        if not hmac.compare_digest(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)), want):
            return None
        fields = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
        return None
    return fields


_names: dict[str, tuple[float, str]] = {}
_names_lock = threading.Lock()


def container_at(address: str) -> str:
    """The container that has this address on a network the relay shares with it ("" if none),
    as Docker's embedded DNS names it (``NAME.NETWORK``); remembered for a few seconds."""
    now = time.monotonic()
    with _names_lock:
        cached = _names.get(address)
    if cached and now - cached[0] < 5:
        return cached[1]
    try:
        name = socket.gethostbyaddr(address)[0].split(".", 1)[0]
    except OSError:
        name = ""
    with _names_lock:
        if len(_names) > 4096:
            _names.clear()
        _names[address] = (now, name)
    return name


def stamp(request: ExportTraceServiceRequest, session: dict[str, str]) -> int:
    """Every span gets the session's Langfuse session and user and mc's fields; what the tool said
    its own session was is kept as ``tool.session.id``. Returns the number of spans."""
    ours = {"langfuse.session.id": session["session"], "session.id": session["session"],
            "langfuse.user.id": session["owner"], "user.id": session["owner"],
            "mc.session": session["session"], "mc.driver": session["driver"], "mc.project": session["project"]}
    count = 0
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                kept = []
                for kv in span.attributes:
                    if kv.key == "session.id" and kv.value.string_value:
                        kept.append(KeyValue(key="tool.session.id", value=kv.value))
                    elif kv.key not in OWNED and not kv.key.startswith("mc."):
                        kept.append(kv)
                del span.attributes[:]
                span.attributes.extend(kept)
                for key, value in ours.items():
                    span.attributes.add(key=key).value.string_value = value
                count += 1
    return count


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mc-otlp-relay"

    def log_message(self, format: str, *args: object) -> None:  # one JSON line per event instead
        pass

    def answer(self, code: int, text: str = "", content_type: str = "text/plain") -> None:
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.answer(200 if self.path == "/health" else 404, "ok\n" if self.path == "/health" else "")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or -1)
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            return self.answer(413 if length > MAX_BODY else 411, "body too large or without a length\n")
        body = self.rfile.read(length)
        path = self.path.split("?", 1)[0]
        if path in ("/v1/metrics", "/v1/logs"):  # Langfuse takes traces only: accepted, not kept
            return self.answer(200, "", "application/x-protobuf")
        if path != "/v1/traces":
            return self.answer(404, "only /v1/traces, /v1/metrics and /v1/logs\n")
        session = session_of(self.headers.get(TOKEN_HEADER, ""))
        if session is None:
            log("refused", reason="no valid session token", peer=self.client_address[0])
            return self.answer(401, "a session token is required (mc sets OTEL_EXPORTER_OTLP_HEADERS)\n")
        sender = container_at(self.client_address[0])
        if sender != f"mc-{session['session']}":
            log("refused", reason="another session's token", peer=self.client_address[0], sender=sender)
            return self.answer(403, "this session token is not the sending session's\n")
        try:
            if self.headers.get("Content-Encoding", "").lower() == "gzip":
                with gzip.GzipFile(fileobj=io.BytesIO(body)) as unzipped:
                    body = unzipped.read(MAX_BODY + 1)
                if len(body) > MAX_BODY:
                    return self.answer(413, "body too large\n")
            request = ExportTraceServiceRequest()
            if self.headers.get("Content-Type", "").startswith("application/json"):
                json_format.Parse(body, request, ignore_unknown_fields=True)
            else:
                request.ParseFromString(body)
        except (DecodeError, json_format.ParseError, OSError, EOFError, ValueError):
            return self.answer(400, "not an OTLP trace export\n")
        spans = stamp(request, session)
        code = forward(request.SerializeToString())
        log("forwarded" if code < 300 else "upstream-refused", session=session["session"], spans=spans, status=code)
        self.answer(200 if code < 300 else 502, "" if code < 300 else f"langfuse answered {code}\n",
                    "application/x-protobuf")


def forward(data: bytes) -> int:
    auth = base64.b64encode(f"{CONFIG['public_key']}:{CONFIG['secret_key']}".encode()).decode()
    req = urllib.request.Request(CONFIG["url"].rstrip("/") + "/api/public/otel/v1/traces", data=data, method="POST",
                                 headers={"Content-Type": "application/x-protobuf", "Authorization": f"Basic {auth}",
                                          "User-Agent": "mc-otlp-relay"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError) as exc:
        log("upstream-unreachable", error=type(exc).__name__)
        return 599


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        CONFIG.update(json.load(f))
    server = ThreadingHTTPServer(("0.0.0.0", 4318), Handler)
    server.daemon_threads = True
    log("listening", port=4318, upstream=CONFIG["url"])
    server.serve_forever()


if __name__ == "__main__":
    main()
