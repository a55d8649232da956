"""The driver's response cache filled from the asyncio face: `respond(cache=...)`, `send_file(cache=...)` and
`RequestQueue.flush_cache`, on real sockets.

Proof that the driver answered is the application's own count of the requests it was given (and the driver's
cache counters), never timing. A wrong policy is an `InvalidParameterError` (ERROR_INVALID_PARAMETER) when it is
made, and a wrong argument a `TypeError` before anything is sent, so the request can still be answered.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import DAEMON_MODE, RawClient, counted_since
from ports import free_port

import httpsys
from httpsys._transport.embedded import new_event_loop
from httpsys.errors import HttpSysError, InvalidParameterError

Handler = Callable[[httpsys.Request, int], Awaitable[None]]
TEXT = {"Content-Type": "text/plain"}


class AioServer:
    """A request queue on `http://127.0.0.1:PORT/` served by `handler(request, n)` (n counts the requests the
    application was given), on a driver hosted by an event loop in a background thread."""

    def __init__(self, handler: Handler) -> None:
        self.port = free_port()
        self.handler = handler
        self.seen: list[str] = []
        self.errors: list[BaseException] = []
        self.loop = new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.session: httpsys.ServerSession | None = None
        self.queue: httpsys.RequestQueue | None = None
        self.run(self._start())

    def run(self, coro: Awaitable[Any]) -> Any:
        async def wrapped() -> Any:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(10)

    async def _start(self) -> None:
        session = self.session = httpsys.ServerSession()
        queue = self.queue = session.request_queue()
        # in daemon mode the counts are the daemon's since this test began (tests/integration/conftest.py)
        self.baseline = session.transport.statistics() if DAEMON_MODE else {}
        group = session.url_group()
        group.add_url(f"http://127.0.0.1:{self.port}/")
        group.bind(queue)
        self.loop.create_task(self._serve(queue))

    async def _serve(self, queue: httpsys.RequestQueue) -> None:
        async for request in queue:
            self.seen.append(f"{request.method} {request.path}")
            self.loop.create_task(self._handle(request, len(self.seen)))

    async def _handle(self, request: httpsys.Request, n: int) -> None:
        try:
            await self.handler(request, n)
        except Exception as exc:  # recorded for the test to look at
            self.errors.append(exc)

    @property
    def driver(self) -> Any:
        assert self.session is not None
        return self.session.transport.driver  # type: ignore[attr-defined]

    def stats(self) -> dict[str, int]:
        assert self.session is not None
        return counted_since(self.baseline, self.session.transport.statistics())

    def advance_clock(self, seconds: float) -> None:
        """Move the driver's monotonic clock forward (TimeToLive is measured on it)."""
        driver = self.driver

        def shift() -> None:
            real = driver.clock
            driver.clock = lambda: real() + seconds

        self.loop.call_soon_threadsafe(shift)
        self.run(asyncio.sleep(0))

    def close(self) -> None:
        async def stop() -> None:
            assert self.session is not None
            transport = self.session.transport
            self.session.close()
            transport.close()  # type: ignore[attr-defined]

        self.run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], AioServer]]:
    made: list[AioServer] = []

    def factory(handler: Handler) -> AioServer:
        server = AioServer(handler)
        made.append(server)
        return server

    yield factory
    for server in made:
        server.close()


def request(
    port: int, path: str = "/page", method: str = "GET", extra: str = ""
) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """One request on a fresh connection: (status line, headers, body); HEAD reads no body."""
    client = RawClient(port)
    try:
        client.send(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode())
        if method == "HEAD":
            head = client.recv_until(b"\r\n\r\n")
            lines = head[:-4].split(b"\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(b":") for ln in lines[1:])}
            return lines[0], headers, b""
        return client.recv_response()
    finally:
        client.close()


def numbered(policy: httpsys.CachePolicy | None) -> Handler:
    """A handler whose body names the request number, sent with `policy`."""

    async def handler(req: httpsys.Request, n: int) -> None:
        await req.respond(200, TEXT, b"answer %d" % n, cache=policy)

    return handler


# ----------------------------------------------------------------------------------------------- respond
def test_respond_with_time_to_live_is_answered_by_the_driver_afterwards(
    serve: Callable[[Handler], AioServer],
) -> None:
    server = serve(numbered(httpsys.CachePolicy.time_to_live(60)))
    bodies = [request(server.port)[2] for _ in range(5)]
    assert bodies == [b"answer 1"] * 5
    assert server.seen == ["GET /page"]
    stats = server.stats()
    assert stats["cache_stores"] == 1 and stats["cache_hits"] == 4
    # another URL is its own entry
    assert request(server.port, "/other")[2] == b"answer 2"
    assert server.seen == ["GET /page", "GET /other"]


def test_head_after_a_cached_get_is_answered_from_the_entry(serve: Callable[[Handler], AioServer]) -> None:
    server = serve(numbered(httpsys.CachePolicy.time_to_live(60)))
    request(server.port)
    status, headers, _ = request(server.port, method="HEAD")
    assert status == b"HTTP/1.1 200 OK" and headers[b"content-length"] == b"8"
    assert server.seen == ["GET /page"]


@pytest.mark.embedded_only("inside")
def test_time_to_live_expiry_sends_the_request_to_the_application_again(
    serve: Callable[[Handler], AioServer],
) -> None:
    server = serve(numbered(httpsys.CachePolicy.time_to_live(5)))
    assert request(server.port)[2] == b"answer 1"
    assert request(server.port)[2] == b"answer 1"
    server.advance_clock(6.0)
    assert request(server.port)[2] == b"answer 2"
    assert request(server.port)[2] == b"answer 2"  # stored again, with the new answer
    assert server.seen == ["GET /page", "GET /page"]
    assert server.stats()["cache_expired"] == 1


def test_user_invalidates_lasts_until_the_queue_flushes_the_url(
    serve: Callable[[Handler], AioServer],
) -> None:
    server = serve(numbered(httpsys.CachePolicy.user_invalidates()))
    request(server.port, "/news/a")
    request(server.port, "/news/b")
    assert [request(server.port, p)[2] for p in ("/news/a", "/news/b")] == [b"answer 1", b"answer 2"]
    queue = server.queue
    assert queue is not None
    queue.flush_cache(f"http://+:{server.port}/news/a")
    assert request(server.port, "/news/a")[2] == b"answer 3"
    assert request(server.port, "/news/b")[2] == b"answer 2"  # not below /news/a
    queue.flush_cache(f"http://127.0.0.1:{server.port}/news/", recursive=True)
    assert [request(server.port, p)[2] for p in ("/news/a", "/news/b")] == [b"answer 4", b"answer 5"]
    assert server.stats()["cache_flushed"] == 3


def test_no_policy_and_nocache_are_not_stored(serve: Callable[[Handler], AioServer]) -> None:
    server = serve(numbered(httpsys.CachePolicy.nocache()))
    assert [request(server.port)[2] for _ in range(2)] == [b"answer 1", b"answer 2"]
    server2 = serve(numbered(None))
    assert [request(server2.port)[2] for _ in range(2)] == [b"answer 1", b"answer 2"]
    assert server.stats()["cache_stores"] == 0 and server2.stats()["cache_stores"] == 0


def test_a_post_with_a_policy_is_answered_but_not_stored(serve: Callable[[Handler], AioServer]) -> None:
    server = serve(numbered(httpsys.CachePolicy.time_to_live(60)))
    extra = "Content-Length: 0\r\n"
    assert request(server.port, method="POST", extra=extra)[2] == b"answer 1"
    assert request(server.port, method="POST", extra=extra)[2] == b"answer 2"
    stats = server.stats()
    assert stats["cache_stores"] == 0 and stats["cache_rejected"] == 2


# ----------------------------------------------------------------------------------------------- send_file
@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "small.txt").write_bytes(b"small file, first version\n")
    (tmp_path / "big.bin").write_bytes(bytes(i % 251 for i in range(300_000)))  # > UriMaxUriBytes
    return tmp_path


def file_handler(root: Path, policy: httpsys.CachePolicy | None) -> Handler:
    async def handler(req: httpsys.Request, n: int) -> None:
        path = root / req.path.lstrip("/")
        await req.send_file(str(path), 200, TEXT, process_ranges=True, cache=policy)

    return handler


@pytest.mark.embedded_only("inside")
def test_send_file_with_a_policy_is_read_once_and_served_from_the_cache(
    serve: Callable[[Handler], AioServer], files: Path
) -> None:
    server = serve(file_handler(files, httpsys.CachePolicy.time_to_live(30)))
    first = request(server.port, "/small.txt")
    assert first[2] == b"small file, first version\n"
    (files / "small.txt").write_bytes(b"small file, SECOND version\n")
    assert request(server.port, "/small.txt")[2] == b"small file, first version\n"  # TTL bounds staleness
    assert server.seen == ["GET /small.txt"]
    server.advance_clock(31.0)
    assert request(server.port, "/small.txt")[2] == b"small file, SECOND version\n"
    assert server.seen == ["GET /small.txt", "GET /small.txt"]


def test_ranges_are_not_stored_but_a_cached_file_answers_them(
    serve: Callable[[Handler], AioServer], files: Path
) -> None:
    server = serve(file_handler(files, httpsys.CachePolicy.time_to_live(30)))
    status, _h, body = request(server.port, "/small.txt", extra="Range: bytes=0-4\r\n")
    assert (status, body) == (b"HTTP/1.1 206 Partial Content", b"small")
    assert server.stats()["cache_stores"] == 0  # a request with Range is never stored
    request(server.port, "/small.txt")
    status, headers, body = request(server.port, "/small.txt", extra="Range: bytes=6-9\r\n")
    assert (status, body) == (b"HTTP/1.1 206 Partial Content", b"file")
    assert headers[b"content-range"] == b"bytes 6-9/26"
    assert server.seen == ["GET /small.txt", "GET /small.txt"]  # the second range came from the cache


def test_a_file_above_uri_max_uri_bytes_is_sent_whole_and_not_stored(
    serve: Callable[[Handler], AioServer], files: Path
) -> None:
    server = serve(file_handler(files, httpsys.CachePolicy.time_to_live(30)))
    expected = (files / "big.bin").read_bytes()
    assert request(server.port, "/big.bin")[2] == expected
    assert request(server.port, "/big.bin")[2] == expected
    assert server.seen == ["GET /big.bin", "GET /big.bin"]
    stats = server.stats()
    assert stats["cache_stores"] == 0 and stats["cache_rejected"] == 2


# ----------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "make",
    [
        lambda: httpsys.CachePolicy(3),
        lambda: httpsys.CachePolicy(-1),
        lambda: httpsys.CachePolicy(2, -1),
        lambda: httpsys.CachePolicy(2, 1 << 32),
        lambda: httpsys.CachePolicy(1, 60),  # SecondsToLive belongs to TimeToLive
        lambda: httpsys.CachePolicy("2"),  # type: ignore[arg-type]
        lambda: httpsys.CachePolicy(True),
        lambda: httpsys.CachePolicy.time_to_live(1.5),  # type: ignore[arg-type]
        lambda: httpsys.CachePolicy.time_to_live(-5),
    ],
)
def test_a_wrong_policy_is_invalid_parameter_when_made(make: Callable[[], object]) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        make()
    assert caught.value.winerror == 87
    assert isinstance(caught.value, HttpSysError) and isinstance(caught.value, ValueError)


def test_policies_mirror_http_cache_policy() -> None:
    ttl = httpsys.CachePolicy.time_to_live(60)
    assert (ttl.policy, ttl.seconds_to_live) == (2, 60)  # HttpCachePolicyTimeToLive
    assert ttl == httpsys.CachePolicy(2, 60) and hash(ttl) == hash(httpsys.CachePolicy(2, 60))
    assert httpsys.CachePolicy.user_invalidates().policy == 1  # HttpCachePolicyUserInvalidates
    assert httpsys.CachePolicy.nocache().policy == 0  # HttpCachePolicyNocache
    assert repr(ttl) == "CachePolicy.time_to_live(60)"
    with pytest.raises(AttributeError):
        ttl.seconds_to_live = 5  # type: ignore[misc]


def test_a_wrong_cache_argument_is_a_type_error_and_the_request_can_still_be_answered(
    serve: Callable[[Handler], AioServer], files: Path
) -> None:
    caught: list[str] = []

    async def handler(req: httpsys.Request, n: int) -> None:
        for attempt in (
            lambda: req.respond(200, TEXT, b"x", cache=60),  # type: ignore[arg-type]
            lambda: req.send_file(str(files / "small.txt"), cache="ttl"),  # type: ignore[arg-type]
        ):
            try:
                await attempt()
            except TypeError as exc:
                caught.append(type(exc).__name__)
        await req.respond(200, TEXT, b"answered after all")

    server = serve(handler)
    assert request(server.port)[2] == b"answered after all"
    assert caught == ["TypeError", "TypeError"]
    assert server.errors == []


def test_flush_cache_with_a_non_string_prefix_is_a_type_error(
    serve: Callable[[Handler], AioServer],
) -> None:
    server = serve(numbered(None))
    queue = server.queue
    assert queue is not None
    with pytest.raises(TypeError):
        queue.flush_cache(8080)  # type: ignore[arg-type]


def test_the_same_bytes_reach_the_client_from_the_application_and_from_the_cache(
    serve: Callable[[Handler], AioServer],
) -> None:
    server = serve(numbered(httpsys.CachePolicy.time_to_live(60)))
    raw = []
    for _ in range(2):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(
            f"GET /page HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        sock.close()
        raw.append(data)
    strip = [b"\r\n".join(ln for ln in r.split(b"\r\n") if not ln.startswith(b"Date: ")) for r in raw]
    assert strip[0] == strip[1] and b"Connection: close" in raw[1]
    assert server.seen == ["GET /page"]
