"""The response cache on real sockets (spec §5.8, §6 K 135-137): answered by the driver, never by the application.

The driver gets a `ResponseCache` directly (the lead wires it into Driver.__init__); the application stores a
response by sending it with an HTTP_CACHE_POLICY, and later GET/HEAD requests for the URL are answered without a
receive ever completing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from conftest import RawClient, Server, Waiter, make_server

from httpsys._core.records import CachePolicy, MemoryChunk, RequestSnapshot
from httpsys._core.response import RESPONSE_HEADER_IDS, ResponseSpec
from httpsys._core.response_cache import ResponseCache
from httpsys._core.status import Win32Error

# daemon mode: it installs its own ResponseCache into the in-process driver (tests/conftest.py)
pytestmark = pytest.mark.embedded_only("inside")

OK = int(Win32Error.NO_ERROR)
CT = RESPONSE_HEADER_IDS[b"content-type"]
BODY = b"Hello, World!"
_DATE = re.compile(rb"Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n")


@pytest.fixture
def cached() -> Iterator[tuple[Server, ResponseCache]]:
    transport, server = make_server()
    cache = ResponseCache()
    transport._call(lambda: setattr(transport.driver, "response_cache", cache))
    try:
        yield server, cache
    finally:
        transport.close()


def send_cached(
    server: Server, request_id: int, body: bytes = BODY, policy: int = 1, seconds: int = 0, status: int = 200
) -> None:
    spec = ResponseSpec(status=status, reason=b"OK", known={CT: [b"text/plain"]}, unknown=[])
    waiter = Waiter()
    server.transport.send_response(
        server.queue, request_id, 0, spec, [MemoryChunk(body)], CachePolicy(policy, seconds), None, waiter
    )
    code, _n = waiter.wait()
    assert code == OK


def get(port: int, path: str = "/hello", extra: str = "", method: str = "GET", version: str = "1.1") -> bytes:
    return f"{method} {path} HTTP/{version}\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode()


def prime(server: Server, path: str = "/hello", **kwargs: int) -> bytes:
    """One GET answered by the application with a cache policy; returns the wire response."""
    client = RawClient(server.port)
    client.send(get(server.port, path))
    request = server.receive()
    send_cached(server, request.request_id, **kwargs)
    status, _headers, body = client.recv_response()
    assert status == b"HTTP/1.1 200 OK" and body == BODY
    client.close()
    return body


def stats(server: Server, cache: ResponseCache) -> dict[str, int]:
    return server.transport._call(cache.stats)


def no_request_waiting(server: Server) -> None:
    """Prove the application was not offered anything: a receive parks instead of completing."""
    waiter = Waiter()
    server.transport.receive_request(server.queue, 0, 0, None, True, 0, waiter)
    assert not waiter.event.wait(0.2), "a request reached the application"
    assert server.transport.cancel_io(server.queue, None)
    assert waiter.wait()[0] == int(Win32Error.ERROR_OPERATION_ABORTED)


def test_application_sees_one_request_out_of_many(cached: tuple[Server, ResponseCache]) -> None:
    server, cache = cached
    prime(server)
    clients = [RawClient(server.port) for _ in range(5)]
    for client in clients:
        client.send(get(server.port) * 20)  # 20 pipelined requests per connection
    for client in clients:
        for _ in range(20):
            status, headers, body = client.recv_response()
            assert (status, body) == (b"HTTP/1.1 200 OK", BODY)
            assert headers[b"content-type"] == b"text/plain"
        client.close()
    assert len(server.seen) == 1
    no_request_waiting(server)
    counts = stats(server, cache)
    assert counts["cache_hits"] == 100
    assert counts["cache_entries"] == 1
    assert server.transport.statistics()["cache_hits"] == 100


def test_hit_is_the_stored_response_with_a_fresh_date(cached: tuple[Server, ResponseCache]) -> None:
    server, _cache = cached
    client = RawClient(server.port)
    client.send(get(server.port))
    request = server.receive()
    send_cached(server, request.request_id)
    original = client.recv_until(b"\r\n\r\n") + client.recv_exact(len(BODY))
    client.send(get(server.port))
    replay = client.recv_until(b"\r\n\r\n") + client.recv_exact(len(BODY))
    assert _DATE.sub(b"", replay) == _DATE.sub(b"", original)
    assert len(_DATE.findall(replay)) == 1


def test_head_is_answered_from_the_get_entry(cached: tuple[Server, ResponseCache]) -> None:
    server, _cache = cached
    prime(server)
    client = RawClient(server.port)
    client.send(get(server.port, method="HEAD") + get(server.port))
    head = client.recv_until(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Content-Length: 13\r\n" in head
    status, _headers, body = client.recv_response()  # the next response follows the HEAD head directly
    assert (status, body) == (b"HTTP/1.1 200 OK", BODY)
    assert len(server.seen) == 1


def test_flush_then_the_next_request_reaches_the_application(cached: tuple[Server, ResponseCache]) -> None:
    server, cache = cached
    prime(server)
    assert server.transport.flush_cache(server.queue, f"http://+:{server.port}/hello", False) == OK
    assert stats(server, cache)["cache_entries"] == 0
    client = RawClient(server.port)
    client.send(get(server.port))
    request = server.receive()
    assert request.abs_path == "/hello"
    server.respond(request.request_id, body=b"fresh")
    assert client.recv_response()[2] == b"fresh"


def test_recursive_flush_removes_descendants(cached: tuple[Server, ResponseCache]) -> None:
    server, cache = cached
    for path in ("/dir/a", "/dir/b/c", "/other"):
        prime(server, path)
    assert stats(server, cache)["cache_entries"] == 3
    assert server.transport.flush_cache(server.queue, f"http://127.0.0.1:{server.port}/dir/", True) == OK
    assert stats(server, cache)["cache_entries"] == 1
    assert server.transport._call(lambda: cache.entry(f"http://127.0.0.1:{server.port}/other")) is not None


def test_ttl_expiry_sends_the_request_to_the_application(cached: tuple[Server, ResponseCache]) -> None:
    server, _cache = cached
    transport = server.transport
    prime(server, policy=2, seconds=5)
    client = RawClient(server.port)
    client.send(get(server.port))
    assert client.recv_response()[2] == BODY  # still fresh
    driver = transport.driver
    real_clock = driver.clock
    transport._call(lambda: setattr(driver, "clock", lambda: real_clock() + 6.0))
    client.send(get(server.port))
    request = server.receive()
    server.respond(request.request_id, body=b"after ttl")
    assert client.recv_response()[2] == b"after ttl"
    assert len(server.seen) == 2


def test_range_request_is_cut_from_the_cached_entry(cached: tuple[Server, ResponseCache]) -> None:
    server, _cache = cached
    prime(server)
    client = RawClient(server.port)
    client.send(get(server.port, extra="Range: bytes=7-11\r\n"))
    status, headers, body = client.recv_response()
    assert status == b"HTTP/1.1 206 Partial Content"
    assert headers[b"content-range"] == b"bytes 7-11/13"
    assert body == b"World"
    assert len(server.seen) == 1


def test_http10_without_keep_alive_is_answered_then_closed(cached: tuple[Server, ResponseCache]) -> None:
    server, _cache = cached
    prime(server)
    client = RawClient(server.port)
    client.send(get(server.port, version="1.0"))
    raw = client.recv_all()
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: close\r\n" in raw and raw.endswith(BODY)


def test_authorized_request_goes_to_the_application(cached: tuple[Server, ResponseCache]) -> None:
    server, _cache = cached
    prime(server)
    client = RawClient(server.port)
    client.send(get(server.port, extra="Authorization: Basic Zm9vOmJhcg==\r\n"))
    request = server.receive()
    server.respond(request.request_id, body=b"private")
    assert client.recv_response()[2] == b"private"


def test_uncacheable_response_is_sent_but_not_stored(cached: tuple[Server, ResponseCache]) -> None:
    server, cache = cached
    client = RawClient(server.port)
    client.send(get(server.port, "/q?x=1"))
    request = server.receive()
    send_cached(server, request.request_id)
    assert client.recv_response()[2] == BODY
    counts = stats(server, cache)
    assert counts["cache_entries"] == 0 and counts["cache_rejected"] == 1


def test_cache_serves_concurrent_clients_while_the_application_is_busy(
    cached: tuple[Server, ResponseCache],
) -> None:
    server, _cache = cached
    prime(server)
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            client = RawClient(server.port)
            for _ in range(50):
                client.send(get(server.port))
                assert client.recv_response()[2] == BODY
            client.close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    # meanwhile the application handles another URL
    other = RawClient(server.port)
    other.send(get(server.port, "/slow"))
    request: RequestSnapshot = server.receive()
    assert request.abs_path == "/slow"
    server.respond(request.request_id, body=b"slow")
    assert other.recv_response()[2] == b"slow"
    for t in threads:
        t.join(10)
    assert not errors
    assert [snap.abs_path for snap in server.seen] == ["/hello", "/slow"]


def test_disabled_cache_never_answers() -> None:
    transport, server = make_server()
    try:
        cache = ResponseCache(enabled=False)
        transport._call(lambda: setattr(transport.driver, "response_cache", cache))
        prime(server)
        client = RawClient(server.port)
        client.send(get(server.port))
        request = server.receive()
        server.respond(request.request_id, body=b"app")
        assert client.recv_response()[2] == b"app"
    finally:
        transport.close()
