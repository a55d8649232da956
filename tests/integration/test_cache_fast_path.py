"""The response cache's fast path on real sockets (decision 0008): a request answered from the cache, sent again
alone in one read on an idle connection, is answered without parsing, cooking or routing it again - and exactly as
the normal path would answer it, whatever changed in between.

`cache_fast_hits` (driver statistics) counts the answers the fast path gave; `cache_remembered` how many request
byte strings it knows. A request on a new connection always takes the normal path once (the connection is not yet
bound to the URL group the remembered request was routed to).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import RawClient, Server, Waiter

from httpsys._core import logformat as lf
from httpsys._core.canned import format_http_date
from httpsys._core.records import CachePolicy, MemoryChunk
from httpsys._core.response import RESPONSE_HEADER_IDS, ResponseSpec
from httpsys._core.status import Win32Error
from httpsys._core.timers import TimeoutLimits
from httpsys._engine.driver import _DATA_PATH, Driver

OK = int(Win32Error.NO_ERROR)
CT = RESPONSE_HEADER_IDS[b"content-type"]
BODY = b"Hello, World!"
PROP_LOGGING = 1
PROP_QOS = 2
PROP_TIMEOUTS = 3
PROP_QUEUE_LENGTH = 4
PROP_STATE = 5
PROP_VERBOSITY = 6
_DATE = re.compile(rb"Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n")


def get(port: int, path: str = "/hello", extra: str = "", method: str = "GET", version: str = "1.1") -> bytes:
    return f"{method} {path} HTTP/{version}\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode()


def prime(server: Server, path: str = "/hello", policy: int = 1, seconds: int = 0) -> None:
    """One GET answered by the application with a cache policy (on its own connection)."""
    client = RawClient(server.port)
    client.send(get(server.port, path))
    request = server.receive()
    spec = ResponseSpec(status=200, reason=b"OK", known={CT: [b"text/plain"]}, unknown=[])
    waiter = Waiter()
    server.transport.send_response(
        server.queue,
        request.request_id,
        0,
        spec,
        [MemoryChunk(BODY)],
        CachePolicy(policy, seconds),
        None,
        waiter,
    )
    assert waiter.wait()[0] == OK
    assert client.recv_response()[2] == BODY
    client.close()


def exchange(client: RawClient, request: bytes) -> bytes:
    """Send one request and return its whole response (a Content-Length body, or none for HEAD)."""
    client.send(request)
    head = client.recv_until(b"\r\n\r\n")
    if request.startswith(b"HEAD "):
        return head
    length = int(re.search(rb"Content-Length: (\d+)\r\n", head).group(1))  # type: ignore[union-attr]
    return head + client.recv_exact(length)


def counts(server: Server) -> tuple[int, int]:
    """(cache_fast_hits, cache_remembered)."""
    stats = server.transport.statistics()
    return stats["cache_fast_hits"], stats["cache_remembered"]


def warmed(server: Server, path: str = "/hello", extra: str = "") -> RawClient:
    """A connection whose request for `path` was answered from the cache once and is now remembered."""
    client = RawClient(server.port)
    assert exchange(client, get(server.port, path, extra)).startswith(b"HTTP/1.1 2")
    assert counts(server)[1] >= 1
    return client


def set_wall_clock(server: Server, value: float) -> None:
    driver = server.transport.driver
    server.transport._call(lambda: setattr(driver, "wall_clock", lambda: value))


# ------------------------------------------------------------------------------------------ the fast path
def test_repeated_request_is_answered_by_the_fast_path(server: Server) -> None:
    prime(server)
    client = RawClient(server.port)
    for _ in range(5):
        assert exchange(client, get(server.port)).endswith(b"\r\n\r\n" + BODY)
    stats = server.transport.statistics()
    assert stats["cache_fast_hits"] == 4  # the first request on the connection took the normal path
    assert stats["cache_hits"] == 5
    assert stats["cache_remembered"] == 1
    assert len(server.seen) == 1


@pytest.mark.embedded_only("inside")
def test_fast_answer_is_byte_identical_to_the_normal_answer(server: Server) -> None:
    prime(server)
    set_wall_clock(server, 1795568400.5)
    client = RawClient(server.port)
    normal = exchange(client, get(server.port))
    fast = exchange(client, get(server.port))
    assert counts(server)[0] == 1
    assert fast == normal  # the same second: the same bytes, Date included


@pytest.mark.embedded_only("inside")
def test_fast_answer_carries_a_fresh_date(server: Server) -> None:
    prime(server)
    set_wall_clock(server, 1795568400.5)
    client = RawClient(server.port)
    normal = exchange(client, get(server.port))
    set_wall_clock(server, 1795568400.5 + 3601)
    fast = exchange(client, get(server.port))
    assert counts(server)[0] == 1
    assert b"Date: " + format_http_date(1795568400.5 + 3601) + b"\r\n" in fast
    assert _DATE.sub(b"", fast) == _DATE.sub(b"", normal)


def test_head_gets_the_head_only_on_the_fast_path(server: Server) -> None:
    prime(server)
    client = RawClient(server.port)
    head_request = get(server.port, method="HEAD")
    normal = exchange(client, head_request)
    for _ in range(2):
        fast = exchange(client, head_request)
        assert _DATE.sub(b"", fast) == _DATE.sub(b"", normal)
        assert b"Content-Length: 13\r\n" in fast
    assert counts(server)[0] == 2
    # nothing followed the heads: the next GET's response starts right at the next byte
    assert exchange(client, get(server.port)).endswith(b"\r\n\r\n" + BODY)


def test_range_on_a_cached_entry_is_cut_on_every_fast_answer(server: Server) -> None:
    prime(server)
    client = RawClient(server.port)
    request = get(server.port, extra="Range: bytes=7-11\r\n")
    answers = [exchange(client, request) for _ in range(3)]
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 206 Partial Content\r\n")
        assert b"Content-Range: bytes 7-11/13\r\n" in answer and answer.endswith(b"\r\n\r\nWorld")
    assert counts(server)[0] == 2


def test_pipelined_pair_takes_the_normal_path(server: Server) -> None:
    prime(server)
    client = warmed(server)
    for _ in range(2):
        client.send(get(server.port) * 2)  # two requests in one read: neither is remembered as that read
        for _ in range(2):
            status, _headers, body = client.recv_response()
            assert (status, body) == (b"HTTP/1.1 200 OK", BODY)
    assert counts(server) == (0, 1)
    assert exchange(client, get(server.port)).endswith(BODY)  # alone again: fast
    assert counts(server)[0] == 1


def test_connection_bound_to_another_url_group_is_not_served_by_the_fast_path(server: Server) -> None:
    transport = server.transport
    code, other = transport.create_url_group(server.session)
    assert code == OK
    assert transport.set_group_property(other, 7, server.queue) == OK
    assert transport.add_url(other, f"http://+:{server.port}/other/", 7) == OK
    prime(server)
    warmed(server).close()
    client = RawClient(server.port)
    client.send(get(server.port, "/other/x"))  # this connection's group is now the other one
    request = server.receive()
    server.respond(request.request_id, body=b"other")
    assert client.recv_response()[2] == b"other"
    assert exchange(client, get(server.port)).endswith(BODY)
    assert counts(server)[0] == 0  # the remembered request was routed to the first group
    assert exchange(client, get(server.port)).endswith(BODY)
    assert counts(server)[0] == 1


@pytest.mark.parametrize(
    "request_bytes",
    [
        lambda port: get(port, version="1.0", extra="Connection: keep-alive\r\n"),
        lambda port: get(port, extra="Expect: 100-continue\r\n"),
        lambda port: get(port, extra="Content-Length: 0\r\nAuthorization: Basic eA==\r\n"),
    ],
    ids=["http-1.0", "expect", "authorization"],
)
def test_requests_that_could_behave_differently_are_not_remembered(
    server: Server, request_bytes: Callable[[int], bytes]
) -> None:
    prime(server)
    client = RawClient(server.port)
    data = request_bytes(server.port)
    for _ in range(2):
        client.send(data)
        if b"Authorization" in data:
            request = server.receive()
            server.respond(request.request_id, body=b"private")
        client.recv_response()
    assert counts(server) == (0, 0)


def test_closing_request_is_not_remembered(server: Server) -> None:
    prime(server)
    client = RawClient(server.port)
    client.send(get(server.port, extra="Connection: close\r\n"))
    assert client.recv_all().endswith(BODY)
    assert counts(server) == (0, 0)


# ------------------------------------------------------------------------------ the state is respected
def test_flush_sends_the_next_identical_request_to_the_application(server: Server) -> None:
    prime(server)
    client = warmed(server)
    assert server.transport.flush_cache(server.queue, f"http://+:{server.port}/hello", False) == OK
    assert counts(server)[1] == 0
    client.send(get(server.port))
    request = server.receive()
    server.respond(request.request_id, body=b"fresh")
    assert client.recv_response()[2] == b"fresh"
    assert counts(server)[0] == 0


@pytest.mark.embedded_only("inside")
def test_ttl_expiry_sends_the_next_identical_request_to_the_application(server: Server) -> None:
    prime(server, policy=2, seconds=5)
    client = warmed(server)
    assert exchange(client, get(server.port)).endswith(BODY)
    assert counts(server)[0] == 1
    driver = server.transport.driver
    real_clock = driver.clock
    server.transport._call(lambda: setattr(driver, "clock", lambda: real_clock() + 6.0))
    client.send(get(server.port))
    request = server.receive()
    server.respond(request.request_id, body=b"after ttl")
    assert client.recv_response()[2] == b"after ttl"
    stats = server.transport.statistics()
    assert stats["cache_fast_hits"] == 1 and stats["cache_expired"] == 1


def test_removed_url_answers_not_found(server: Server) -> None:
    assert server.transport.add_url(server.group, f"http://+:{server.port}/other/", 8) == OK
    prime(server)
    client = warmed(server)
    assert server.transport.remove_url(server.group, server.url, False) == OK
    client.send(get(server.port))
    assert client.recv_all().startswith(b"HTTP/1.1 404 ")
    assert counts(server)[0] == 0


def test_a_new_more_specific_url_takes_the_route_away(server: Server) -> None:
    transport = server.transport
    prime(server, "/sub/x")
    client = warmed(server, "/sub/x")
    code, unbound = transport.create_url_group(server.session)
    assert code == OK
    assert transport.add_url(unbound, f"http://+:{server.port}/sub/", 9) == OK  # a group with no queue
    client.send(get(server.port, "/sub/x"))
    assert client.closed_by_peer() == "reset"  # 503 with Basic verbosity: the normal path's answer
    assert counts(server)[0] == 0


def test_disabled_url_group_answers_503(server: Server) -> None:
    transport = server.transport
    assert transport.set_queue_property(server.queue, PROP_VERBOSITY, 1) == OK  # a 503 page, not a reset
    prime(server)
    client = warmed(server)
    assert transport.set_group_property(server.group, PROP_STATE, False) == OK
    client.send(get(server.port))
    assert client.recv_all().startswith(b"HTTP/1.1 503 ")
    assert counts(server)[0] == 0


def test_disabled_queue_answers_503(server: Server) -> None:
    transport = server.transport
    assert transport.set_queue_property(server.queue, PROP_VERBOSITY, 1) == OK
    prime(server)
    client = warmed(server)
    assert transport.set_queue_property(server.queue, PROP_STATE, 1) == OK
    client.send(get(server.port))
    assert client.recv_all().startswith(b"HTTP/1.1 503 ")
    assert counts(server)[0] == 0


def test_queue_shutdown_takes_the_normal_path_at_once(server: Server) -> None:
    prime(server)
    client = warmed(server)
    assert server.transport.shutdown_request_queue(server.queue) == OK
    assert counts(server)[1] == 0
    assert exchange(client, get(server.port)).endswith(BODY)  # what the normal path answers after a shutdown
    assert counts(server)[0] == 0


def test_closed_queue_resets_the_next_identical_request(server: Server) -> None:
    prime(server)
    client = warmed(server)
    assert server.transport.close_request_queue(server.queue) == OK
    client.send(get(server.port))
    assert client.closed_by_peer() == "reset"  # no queue bound any more: 503 with Basic verbosity
    assert counts(server)[0] == 0


@pytest.mark.embedded_only("inside")
def test_logging_turned_on_logs_every_cached_answer(server: Server, tmp_path: Path) -> None:
    transport = server.transport
    prime(server)
    client = warmed(server)
    info: dict[str, Any] = {
        "present": True,
        "format": lf.LOGGING_TYPE_W3C,
        "directory": str(tmp_path),
        "fields": lf.FIELD_METHOD | lf.FIELD_URI_STEM | lf.FIELD_STATUS,
        "rollover_type": lf.ROLLOVER_DAILY,
        "rollover_size": 0,
        "flags": lf.FLAG_USE_UTF8_CONVERSION,
        "software_name": None,
    }
    assert transport.set_session_property(server.session, PROP_LOGGING, info) == OK
    for _ in range(3):
        assert exchange(client, get(server.port)).endswith(BODY)
    assert counts(server) == (0, 0)  # logged requests are never remembered
    logs = transport.driver.logs
    assert logs is not None and logs.flush()  # type: ignore[attr-defined]
    lines = [
        line
        for path in tmp_path.iterdir()
        for line in path.read_bytes().split(b"\r\n")
        if line and not line.startswith(b"#")
    ]
    assert lines == [b"GET /hello 200"] * 3


def test_new_idle_timeout_applies_to_fast_answers(server: Server) -> None:
    prime(server)
    client = warmed(server)
    limits = TimeoutLimits(idle_connection=1)
    assert server.transport.set_group_property(server.group, PROP_TIMEOUTS, limits) == OK
    for _ in range(4):  # answers 0.4 s apart keep re-arming the 1 s idle timer
        assert exchange(client, get(server.port)).endswith(BODY)
        time.sleep(0.4)
    assert counts(server)[0] == 3
    start = time.monotonic()
    assert client.closed_by_peer(3.0) == "reset"
    assert time.monotonic() - start <= 1.5


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.transport.set_session_property(
            s.session, PROP_TIMEOUTS, TimeoutLimits(idle_connection=50)
        ),
        lambda s: s.transport.set_group_property(s.group, PROP_QOS, (1, 1000)),
        lambda s: s.transport.set_queue_property(s.queue, PROP_QUEUE_LENGTH, 500),
        lambda s: s.transport.create_url_group(s.session)[0],
        lambda s: s.transport.create_server_session((2, 0))[0],
        lambda s: s.transport.create_request_queue(None, 0, False)[0],
        lambda s: s.transport.flush_cache(s.queue, f"http://+:{s.port}/nothing-here", False),
        lambda s: s.transport.add_fragment(s.queue, f"http://+:{s.port}/frag", b"x", CachePolicy(1, 0)),
    ],
    ids=[
        "session-timeouts",
        "group-qos",
        "queue-length",
        "new-group",
        "new-session",
        "new-queue",
        "flush",
        "frag",
    ],
)
def test_every_state_change_forgets_the_remembered_requests(
    server: Server, change: Callable[[Server], int]
) -> None:
    prime(server)
    client = warmed(server)
    assert change(server) == OK
    assert counts(server)[1] == 0
    assert exchange(client, get(server.port)).endswith(BODY)  # the normal path, which remembers it again
    assert counts(server) == (0, 1)


def test_every_public_driver_method_is_data_path_or_a_state_change() -> None:
    """A new public Driver method must be classified: listed in _DATA_PATH or decorated @_state_change."""
    public = {name for name, member in vars(Driver).items() if not name.startswith("_") and callable(member)}
    assert public >= _DATA_PATH  # no stale names in the list
    for name in public - _DATA_PATH:
        assert getattr(getattr(Driver, name), "forgets_requests", False), name
    for name in _DATA_PATH:
        assert not getattr(getattr(Driver, name), "forgets_requests", False), name
