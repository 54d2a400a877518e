"""gRPC channels to mcd: ``unix:///path`` or ``grpcs://host:port`` (TLS, optionally a pinned CA)."""

from __future__ import annotations

from pathlib import Path

import grpc

from mc.errors import InvalidArgument, NotFound

CLIENT_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", 8 * 1024 * 1024),
]


def check_url(url: str) -> str:
    if url.startswith("unix://") and len(url) > len("unix://"):
        return url
    if url.startswith("grpcs://") and ":" in url[len("grpcs://"):]:
        return url
    raise InvalidArgument(f"remote URL '{url}': use unix:///path/to/mcd.sock or grpcs://host:port")


def open_channel(url: str, ca_cert: str = "") -> grpc.Channel:
    check_url(url)
    if url.startswith("unix://"):
        path = url[len("unix://"):]
        if not Path(path).exists():
            raise NotFound(f"no mcd socket at {path} (is mcd serve running?)")
        return grpc.insecure_channel(f"unix:{path}", options=CLIENT_OPTIONS)
    target = url[len("grpcs://"):].rstrip("/")
    root = Path(ca_cert).read_bytes() if ca_cert else None
    return grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=root), options=CLIENT_OPTIONS)
