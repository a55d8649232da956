"""The raw ASGI application every ASGI server in the benchmark runs (uvicorn, granian, hypercorn, httpsys.asgi).

Responsibility: answer the benchmark routes with plain ASGI messages and no framework, so that the servers, not
the application, are compared. It must not use server-specific extensions.

Routes: GET / -> "Hello, world!"; POST /echo -> the body back; GET /stream -> 100 body messages of 1 KiB;
GET /big.bin -> the file named by $BENCH_FILE in 64 KiB body messages (read on the event loop: the file is in the
page cache, so each read is a memory copy).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HELLO_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"13")],
}
HELLO_BODY: Message = {"type": "http.response.body", "body": b"Hello, world!"}
STREAM_PIECE = b"x" * 1024
STREAM_COUNT = 100
STREAM_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"application/octet-stream"),
        (b"content-length", str(len(STREAM_PIECE) * STREAM_COUNT).encode()),
    ],
}
NOT_FOUND_START: Message = {
    "type": "http.response.start",
    "status": 404,
    "headers": [(b"content-length", b"0")],
}
EMPTY_BODY: Message = {"type": "http.response.body", "body": b""}
FILE_PATH = os.environ.get("BENCH_FILE", "")
FILE_CHUNK = 64 * 1024


async def lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def echo(receive: Receive, send: Send) -> None:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(parts)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/octet-stream"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def stream(send: Send) -> None:
    await send(STREAM_START)
    more = {"type": "http.response.body", "body": STREAM_PIECE, "more_body": True}
    for _ in range(STREAM_COUNT - 1):
        await send(more)
    await send({"type": "http.response.body", "body": STREAM_PIECE})


async def big_file(send: Send) -> None:
    size = os.path.getsize(FILE_PATH)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/octet-stream"),
                (b"content-length", str(size).encode()),
            ],
        }
    )
    with open(FILE_PATH, "rb") as f:
        while True:
            chunk = f.read(FILE_CHUNK)
            more = len(chunk) == FILE_CHUNK
            await send({"type": "http.response.body", "body": chunk, "more_body": more})
            if not more:
                return


async def app(scope: Message, receive: Receive, send: Send) -> None:
    kind = scope["type"]
    if kind == "http":
        path = scope["path"]
        if path == "/":
            await send(HELLO_START)
            await send(HELLO_BODY)
        elif path == "/echo":
            await echo(receive, send)
        elif path == "/stream":
            await stream(send)
        elif path == "/big.bin" and FILE_PATH:
            await big_file(send)
        else:
            await send(NOT_FOUND_START)
            await send(EMPTY_BODY)
    elif kind == "lifespan":
        await lifespan(receive, send)
