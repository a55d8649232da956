"""The raw RSGI application for granian's RSGI interface (Rust server, Python application).

Responsibility: answer the benchmark routes through RSGI's protocol object; the same routes as bench_asgi.py
except the file. It must not do more Python work per request than the ASGI application does.
"""

from __future__ import annotations

from typing import Any

HELLO_HEADERS = [("content-type", "text/plain")]
OCTET_HEADERS = [("content-type", "application/octet-stream")]
STREAM_PIECE = b"x" * 1024
STREAM_COUNT = 100
STREAM_HEADERS = [*OCTET_HEADERS, ("content-length", str(len(STREAM_PIECE) * STREAM_COUNT))]


async def app(scope: Any, proto: Any) -> None:
    path = scope.path
    if path == "/":
        proto.response_bytes(200, HELLO_HEADERS, b"Hello, world!")
    elif path == "/echo":
        body = await proto()
        proto.response_bytes(200, OCTET_HEADERS, body)
    elif path == "/stream":
        transport = proto.response_stream(200, STREAM_HEADERS)
        for _ in range(STREAM_COUNT):
            await transport.send_bytes(STREAM_PIECE)
    else:
        proto.response_empty(404, [])
