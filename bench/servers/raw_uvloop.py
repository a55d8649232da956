"""Peer: a bare uvloop + httptools protocol server, the practical ceiling of a Python HTTP/1.1 server.

Responsibility: answer the benchmark routes with the least Python per request (prebuilt responses, one parser
callback object per connection). It must not be mistaken for a server: no limits, timers or error handling
beyond a 400 on a parse error.

usage: raw_uvloop.py PORT
Routes: GET / -> "Hello, world!"; POST /echo -> the body back; GET /stream -> 100 writes of 1 KiB.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

import httptools
import uvloop

HELLO = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!"
HELLO_CLOSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\n"
    b"Hello, world!"
)
STREAM_PIECE = b"x" * 1024
STREAM_COUNT = 100
STREAM_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % (
    len(STREAM_PIECE) * STREAM_COUNT
)
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class BenchProtocol(asyncio.Protocol):
    """One connection: feed bytes to httptools, answer in on_message_complete."""

    __slots__ = ("body", "parser", "transport", "url")

    def __init__(self) -> None:
        self.transport: Any = None  # uvloop's TCPTransport, not an asyncio.Transport subclass
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.write(BAD_REQUEST)
                self.transport.close()

    # httptools callbacks
    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        transport = self.transport
        if transport is None:
            return
        url, self.url = self.url, b""
        keep_alive = self.parser.should_keep_alive()
        if url == b"/":
            transport.write(HELLO if keep_alive else HELLO_CLOSE)
        elif url == b"/echo":
            body = b"".join(self.body)
            self.body.clear()
            transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n%s"
                % (len(body), body)
            )
        elif url == b"/stream":
            transport.write(STREAM_HEAD)
            for _ in range(STREAM_COUNT):
                transport.write(STREAM_PIECE)
        else:
            transport.write(NOT_FOUND)
        if not keep_alive:
            transport.close()


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(BenchProtocol, "127.0.0.1", port, backlog=4096, reuse_address=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print(f"raw_uvloop listening on 127.0.0.1:{port}", flush=True)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    uvloop.run(serve(int(sys.argv[1])))
