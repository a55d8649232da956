"""Keep-alive and pipelining on the wire (spec §5.1, §5.4, §6 items 73, 101, 114, 115; reliability §4.5).

One connection carries many requests (same ConnectionId, new RequestId each); HTTP/1.1 persists unless the client
or the application asks to close; HTTP/1.0 closes unless it asked for Keep-Alive and the response is
length-delimited; pipelined requests are delivered one at a time and answered in order; a malformed one ends the
connection after the answers to those before it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from conftest import RawClient, Server, Waiter

from httpsys._core.records import RequestSnapshot
from httpsys._core.settings import DriverSettings
from httpsys._core.status import Win32Error

OK = int(Win32Error.NO_ERROR)
DISCONNECT = 0x1
MORE_DATA = 0x2


def get(path: bytes, extra: bytes = b"", version: bytes = b"1.1") -> bytes:
    return b"GET " + path + b" HTTP/" + version + b"\r\nHost: a\r\n" + extra + b"\r\n"


def head_lines(client: RawClient) -> list[bytes]:
    return client.recv_until(b"\r\n\r\n")[:-4].split(b"\r\n")


def start_receive(server: Server) -> Waiter:
    waiter = Waiter()
    server.transport.receive_request(server.queue, 0, 0, None, True, 0, waiter)
    return waiter


def received(waiter: Waiter, timeout: float = 5.0) -> RequestSnapshot:
    code, snap, _n = waiter.wait(timeout)
    assert code == OK
    assert isinstance(snap, RequestSnapshot)
    return snap


def wait_for(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


# ------------------------------------------------------------------------------------------------ keep-alive
def test_http11_connection_is_persistent_by_default(server: Server) -> None:
    client = RawClient(server.port)
    client.send(get(b"/1"))
    first = server.receive()
    server.respond(first.request_id, body=b"one")
    lines = head_lines(client)
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert not any(line.lower().startswith(b"connection:") for line in lines)
    assert client.recv_exact(3) == b"one"
    client.send(get(b"/2"))
    second = server.receive()
    assert second.connection_id == first.connection_id
    assert second.request_id != first.request_id
    server.respond(second.request_id, body=b"two")
    assert client.recv_response()[2] == b"two"
    assert client.closed_by_peer(0.2) == "open"
    client.close()


def test_client_connection_close_closes_after_the_response(server: Server) -> None:
    client = RawClient(server.port)
    client.send(get(b"/", b"Connection: close\r\n"))
    request = server.receive()
    server.respond(request.request_id, body=b"bye")
    status, headers, body = client.recv_response()
    assert (status, body) == (b"HTTP/1.1 200 OK", b"bye")
    assert headers[b"connection"] == b"close"
    assert client.closed_by_peer(2.0) == "eof"
    client.close()


def test_http10_closes_by_default(server: Server) -> None:
    client = RawClient(server.port)
    client.send(get(b"/", version=b"1.0"))
    request = server.receive()
    assert request.version == (1, 0)
    server.respond(request.request_id, body=b"x")
    status, headers, _body = client.recv_response()
    assert status == b"HTTP/1.1 200 OK"
    assert headers[b"connection"] == b"close"
    assert client.closed_by_peer(2.0) == "eof"
    client.close()


def test_http10_keep_alive_with_length_delimited_response_persists(server: Server) -> None:
    client = RawClient(server.port)
    client.send(get(b"/1", b"Connection: Keep-Alive\r\n", b"1.0"))
    first = server.receive()
    server.respond(first.request_id, body=b"one")
    status, headers, body = client.recv_response()
    assert (status, body, headers[b"content-length"]) == (b"HTTP/1.1 200 OK", b"one", b"3")
    assert headers[b"connection"] == b"keep-alive"  # the only way an HTTP/1.0 client learns it stays open
    client.send(get(b"/2", b"Connection: Keep-Alive\r\n", b"1.0"))
    second = server.receive()
    assert second.connection_id == first.connection_id
    server.respond(second.request_id, body=b"two")
    assert client.recv_response()[2] == b"two"
    client.close()


def test_http10_keep_alive_with_close_delimited_response_closes(server: Server) -> None:
    client = RawClient(server.port)
    client.send(get(b"/", b"Connection: Keep-Alive\r\n", b"1.0"))
    request = server.receive()
    assert server.respond(request.request_id, flags=MORE_DATA)[0] == OK
    assert server.send_body(request.request_id, b"streamed")[0] == OK
    data = client.recv_all(3.0)
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"content-length" not in head.lower()
    assert body == b"streamed"
    client.close()


def test_disconnect_flag_closes_after_the_response(server: Server) -> None:
    client = RawClient(server.port)
    client.send(get(b"/"))
    request = server.receive()
    server.respond(request.request_id, body=b"x", flags=DISCONNECT)
    status, headers, body = client.recv_response()
    assert (status, body) == (b"HTTP/1.1 200 OK", b"x")
    assert headers[b"connection"] == b"close"
    assert client.closed_by_peer(2.0) == "eof"
    client.close()


def test_more_data_response_without_length_is_close_delimited(server: Server) -> None:
    client = RawClient(server.port)
    client.send(get(b"/"))
    request = server.receive()
    assert server.respond(request.request_id, flags=MORE_DATA)[0] == OK
    assert server.send_body(request.request_id, b"part1-", MORE_DATA)[0] == OK
    assert server.send_body(request.request_id, b"part2")[0] == OK
    data = client.recv_all(3.0)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert b"Connection: close" in lines
    assert not any(line.lower().startswith((b"content-length", b"transfer-encoding")) for line in lines)
    assert body == b"part1-part2"
    client.close()


def test_app_connection_close_header_closes(server: Server) -> None:
    client = RawClient(server.port)
    client.send(get(b"/"))
    request = server.receive()
    server.respond(request.request_id, body=b"x", unknown=[(b"Connection", b"close")])
    assert client.recv_response()[2] == b"x"
    assert client.closed_by_peer(2.0) == "eof"
    client.close()


# ------------------------------------------------------------------------------------------------ pipelining
def test_pipelined_requests_are_delivered_one_at_a_time_and_answered_in_order(server: Server) -> None:
    client = RawClient(server.port)
    client.send(get(b"/1") + get(b"/2") + get(b"/3"))
    first = server.receive()
    assert first.raw_url == b"/1"
    pending = start_receive(server)
    assert not pending.event.wait(0.3), "second request delivered before the first was answered"
    assert client.closed_by_peer(0.01) == "open"  # no response yet: nothing is answered out of order
    server.respond(first.request_id, body=b"1")
    second = received(pending)
    assert second.raw_url == b"/2"
    assert second.connection_id == first.connection_id
    pending = start_receive(server)
    assert not pending.event.wait(0.3)
    server.respond(second.request_id, body=b"2")
    third = received(pending)
    assert third.raw_url == b"/3"
    server.respond(third.request_id, body=b"3")
    assert [client.recv_response()[2] for _ in range(3)] == [b"1", b"2", b"3"]
    assert len({first.request_id, second.request_id, third.request_id}) == 3
    client.close()


def test_pipelined_request_after_a_malformed_one_gets_nothing(server: Server) -> None:
    client = RawClient(server.port)
    client.send(get(b"/1") + get(b"/2") + b"get /3 HTTP/1.1\r\nHost: a\r\n\r\n" + get(b"/4"))
    first = server.receive()
    server.respond(first.request_id, body=b"1")
    second = server.receive()
    assert second.raw_url == b"/2"
    assert server.transport.statistics().get("canned_400", 0) == 0  # not before the earlier responses
    server.respond(second.request_id, body=b"2")
    assert client.recv_response()[2] == b"1"
    assert client.recv_response()[2] == b"2"
    status, headers, _body = client.recv_response()
    assert status == b"HTTP/1.1 400 Bad Request"
    assert headers[b"connection"] == b"close"
    assert client.closed_by_peer(2.0) == "eof"
    stats = server.transport.statistics()
    assert stats["canned_400"] == 1
    assert stats["queued"] == 0
    assert stats["requests_in_flight"] == 0
    assert [s.raw_url for s in server.seen] == [b"/1", b"/2"]
    client.close()


def test_connection_close_on_a_pipelined_request_discards_the_later_ones(server: Server) -> None:
    client = RawClient(server.port)
    client.send(get(b"/1", b"Connection: close\r\n") + get(b"/2"))
    first = server.receive()
    server.respond(first.request_id, body=b"1")
    assert client.recv_response()[2] == b"1"
    assert client.closed_by_peer(2.0) == "eof"
    stats = server.transport.statistics()
    assert stats["queued"] == 0
    assert stats["requests_in_flight"] == 0
    client.close()


def test_an_unanswered_request_blocks_later_responses_without_reset(server: Server) -> None:
    client = RawClient(server.port)
    client.send(get(b"/slow") + get(b"/probe"))
    slow = server.receive()
    assert slow.raw_url == b"/slow"
    assert client.closed_by_peer(0.4) == "open"
    assert client.buf == b""
    server.respond(slow.request_id, body=b"slow")
    probe = server.receive()
    server.respond(probe.request_id, body=b"probe")
    assert [client.recv_response()[2] for _ in range(2)] == [b"slow", b"probe"]
    client.close()


def test_parse_ahead_bound_stops_reading_but_everything_is_answered(make: Callable[..., Server]) -> None:
    server = make(DriverSettings(pipeline_depth=2))
    client = RawClient(server.port)
    count = 8
    for i in range(count):
        client.send(get(b"/%d" % i))
        time.sleep(0.01)
    driver = server.transport.driver
    wait_for(lambda: len(driver.connections) == 1)
    conn = next(iter(driver.connections.values()))
    wait_for(lambda: conn._reading_paused)
    time.sleep(0.05)
    assert len(conn.pipeline) == 3  # depth 2 ahead of the current one; the rest waits in the socket
    done = threading.Event()

    def serve() -> None:
        for _ in range(count):
            request = server.receive()
            server.respond(request.request_id, body=request.raw_url)
        done.set()

    threading.Thread(target=serve, daemon=True).start()
    assert [client.recv_response()[2] for _ in range(count)] == [b"/%d" % i for i in range(count)]
    assert done.wait(5)
    assert len({s.connection_id for s in server.seen}) == 1
    client.close()


def test_many_pipelined_requests_in_one_send_are_all_answered_in_order(server: Server) -> None:
    client = RawClient(server.port)
    count = 40
    client.send(b"".join(get(b"/%d" % i) for i in range(count)))
    for _ in range(count):
        request = server.receive()
        server.respond(request.request_id, body=request.raw_url)
    assert [client.recv_response()[2] for _ in range(count)] == [b"/%d" % i for i in range(count)]
    client.close()


def test_pipelined_bare_lf_requests_are_parsed(server: Server) -> None:
    client = RawClient(server.port)
    client.send(b"GET /1 HTTP/1.1\nHost: a\n\nGET /2 HTTP/1.1\nHost: a\n\n")
    for expected in (b"/1", b"/2"):
        request = server.receive()
        assert request.raw_url == expected
        server.respond(request.request_id, body=expected)
    assert [client.recv_response()[2] for _ in range(2)] == [b"/1", b"/2"]
    client.close()
