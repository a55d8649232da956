"""Request entity bodies from the wire (spec §5.1 step 6, §5.5, §5.10, §6 items 81-87, 110).

Content-Length and chunked bodies reach the application byte-exact through HttpReceiveRequestEntityBody in the
order sent, short reads return what has arrived, ERROR_HANDLE_EOF comes only on the call after the last byte,
`100 Continue` is sent when the application first reads, unread bodies are drained for the next keep-alive
request, and a slow reader holds the sender back (bounded buffering).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable

import pytest
from conftest import RawClient, Server, Waiter

from httpsys._core.settings import DriverSettings
from httpsys._core.status import Win32Error

OK = int(Win32Error.NO_ERROR)
EOF = int(Win32Error.ERROR_HANDLE_EOF)
GONE = int(Win32Error.ERROR_CONNECTION_INVALID)
MORE_ENTITY_BODY_EXISTS = 0x1
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def post(path: bytes, extra: bytes = b"") -> bytes:
    return b"POST " + path + b" HTTP/1.1\r\nHost: a\r\n" + extra + b"\r\n"


def start_read(server: Server, request_id: int, size: int = 65536, fill: bool = False) -> Waiter:
    waiter = Waiter()
    server.transport.receive_body(server.queue, request_id, size, fill, 0, waiter)
    return waiter


def nothing_arrives(client: RawClient, seconds: float) -> bool:
    return client.closed_by_peer(seconds) == "open" and client.buf == b""


def test_content_length_body_is_read_in_pieces_then_eof(server: Server) -> None:
    client = RawClient(server.port)
    client.send(post(b"/", b"Content-Length: 10\r\n") + b"0123456789")
    request = server.receive()
    assert request.flags & MORE_ENTITY_BODY_EXISTS
    pieces = [server.read_body(request.request_id, 3) for _ in range(4)]
    assert pieces == [(OK, b"012"), (OK, b"345"), (OK, b"678"), (OK, b"9")]
    assert server.read_body(request.request_id, 3) == (EOF, b"")
    assert server.read_body(request.request_id, 3) == (EOF, b"")
    server.respond(request.request_id)
    assert client.recv_response()[0] == b"HTTP/1.1 200 OK"
    client.close()


def test_short_read_returns_what_has_arrived(server: Server) -> None:
    client = RawClient(server.port)
    client.send(post(b"/", b"Content-Length: 10\r\n") + b"0123")
    request = server.receive()
    assert server.read_body(request.request_id, 100) == (OK, b"0123")
    pending = start_read(server, request.request_id, 100)
    assert not pending.event.wait(0.2)  # waits for data, does not report EOF early
    client.send(b"456789")
    assert pending.wait() == (OK, b"456789")
    assert server.read_body(request.request_id, 100) == (EOF, b"")
    server.respond(request.request_id)
    client.close()


def test_fill_buffer_read_waits_for_a_full_buffer_or_the_end(server: Server) -> None:
    client = RawClient(server.port)
    client.send(post(b"/", b"Content-Length: 10\r\n") + b"01")
    request = server.receive()
    pending = start_read(server, request.request_id, 6, fill=True)
    assert not pending.event.wait(0.2)
    client.send(b"2345")
    assert pending.wait() == (OK, b"012345")
    pending = start_read(server, request.request_id, 6, fill=True)
    client.send(b"6789")
    assert pending.wait() == (OK, b"6789")
    assert server.read_body(request.request_id, 6, fill=True) == (EOF, b"")
    server.respond(request.request_id)
    client.close()


def test_request_without_body_reads_eof_at_once(server: Server) -> None:
    client = RawClient(server.port)
    client.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    request = server.receive()
    assert not request.flags & MORE_ENTITY_BODY_EXISTS
    assert server.read_body(request.request_id) == (EOF, b"")
    server.respond(request.request_id)
    client.close()


def test_body_read_after_the_response_is_connection_invalid(server: Server) -> None:
    client = RawClient(server.port)
    client.send(post(b"/", b"Content-Length: 3\r\n") + b"abc")
    request = server.receive()
    server.respond(request.request_id)
    client.recv_response()
    assert server.read_body(request.request_id) == (GONE, b"")
    client.close()


def test_chunked_body_is_dechunked(server: Server) -> None:
    client = RawClient(server.port)
    client.send(post(b"/", b"Transfer-Encoding: chunked\r\n") + b"5\r\nhello\r\n")
    request = server.receive()
    assert (b"Transfer-Encoding", b"chunked") in request.headers
    assert request.flags & MORE_ENTITY_BODY_EXISTS
    client.send(b"1\r\n \r\nA\r\n0123456789\r\n0\r\n\r\n")
    assert server.read_all(request.request_id) == b"hello 0123456789"
    server.respond(request.request_id, body=b"ok")
    assert client.recv_response()[2] == b"ok"
    client.close()


def test_chunk_extensions_are_accepted_and_dropped(server: Server) -> None:
    client = RawClient(server.port)
    body = b'3;name=value\r\nabc\r\n2;flag;q="x y"\r\nde\r\n0;last\r\n\r\n'
    client.send(post(b"/", b"Transfer-Encoding: chunked\r\n") + body)
    request = server.receive()
    assert server.read_all(request.request_id) == b"abcde"
    server.respond(request.request_id)
    assert client.recv_response()[0] == b"HTTP/1.1 200 OK"
    client.close()


def test_chunk_size_line_with_bare_lf_is_rejected(server: Server) -> None:
    client = RawClient(server.port)
    client.send(post(b"/", b"Transfer-Encoding: chunked\r\n") + b"3\nabc\r\n0\r\n\r\n")
    status, headers, _body = client.recv_response()
    assert status == b"HTTP/1.1 400 Bad Request"
    assert headers[b"connection"] == b"close"
    assert client.closed_by_peer(2.0) == "eof"
    stats = server.transport.statistics()
    assert stats["canned_400"] == 1
    assert stats["requests_in_flight"] == stats["queued"] == 0
    client.close()


def test_chunk_data_without_crlf_after_it_is_rejected(server: Server) -> None:
    client = RawClient(server.port)
    client.send(post(b"/", b"Transfer-Encoding: chunked\r\n") + b"3\r\nabc\n0\r\n\r\n")
    assert client.recv_response()[0] == b"HTTP/1.1 400 Bad Request"
    assert client.closed_by_peer(2.0) == "eof"
    client.close()


def test_malformed_chunk_after_delivery_fails_the_pending_read(server: Server) -> None:
    client = RawClient(server.port)
    client.send(post(b"/", b"Transfer-Encoding: chunked\r\n"))
    request = server.receive()
    pending = start_read(server, request.request_id)
    client.send(b"zz\r\n")
    code, data = pending.wait()
    assert (code, data) == (GONE, b"")
    assert client.recv_response()[0] == b"HTTP/1.1 400 Bad Request"
    assert client.closed_by_peer(2.0) == "eof"
    client.close()


def test_bare_lf_head_with_chunked_body_needs_crlf_in_the_framing(server: Server) -> None:
    client = RawClient(server.port)
    client.send(b"POST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\r\nabc\r\n0\r\n\r\n")
    request = server.receive()
    assert server.read_all(request.request_id) == b"abc"
    server.respond(request.request_id)
    assert client.recv_response()[0] == b"HTTP/1.1 200 OK"
    # the next head may use bare LF again
    client.send(b"GET /2 HTTP/1.1\nHost: a\n\n")
    second = server.receive()
    assert second.raw_url == b"/2"
    server.respond(second.request_id)
    assert client.recv_response()[0] == b"HTTP/1.1 200 OK"
    client.close()


def test_expect_100_continue_is_sent_when_the_app_first_reads(server: Server) -> None:
    client = RawClient(server.port)
    client.send(post(b"/", b"Content-Length: 5\r\nExpect: 100-continue\r\n"))
    request = server.receive()
    assert nothing_arrives(client, 0.2)
    pending = start_read(server, request.request_id)
    assert client.recv_exact(len(CONTINUE)) == CONTINUE
    client.send(b"hello")
    assert pending.wait() == (OK, b"hello")
    assert server.read_body(request.request_id) == (EOF, b"")
    server.respond(request.request_id, body=b"done")
    status, _headers, body = client.recv_response()
    assert (status, body) == (b"HTTP/1.1 200 OK", b"done")
    assert client.closed_by_peer(0.2) == "open"
    client.close()


def test_expect_100_continue_is_sent_once_for_many_reads(server: Server) -> None:
    client = RawClient(server.port)
    client.send(post(b"/", b"Content-Length: 4\r\nExpect: 100-continue\r\n"))
    request = server.receive()
    pending = start_read(server, request.request_id, 2)
    assert client.recv_exact(len(CONTINUE)) == CONTINUE
    client.send(b"ab")
    assert pending.wait() == (OK, b"ab")
    pending = start_read(server, request.request_id, 2)
    client.send(b"cd")
    assert pending.wait() == (OK, b"cd")
    server.respond(request.request_id, body=b"x")
    status, _headers, body = client.recv_response()
    assert (status, body) == (b"HTTP/1.1 200 OK", b"x")
    client.close()


def test_no_100_continue_when_the_app_responds_without_reading_and_the_connection_closes(
    server: Server,
) -> None:
    client = RawClient(server.port)
    client.send(post(b"/", b"Content-Length: 5\r\nExpect: 100-continue\r\n"))
    request = server.receive()
    server.respond(request.request_id, status=413, reason=b"Too Large", body=b"no")
    data = client.recv_all(3.0)
    assert data.startswith(b"HTTP/1.1 413 Too Large\r\n")
    assert b"100 Continue" not in data
    assert data.endswith(b"\r\n\r\nno")
    client.close()


def test_unread_body_is_drained_for_the_next_request(server: Server) -> None:
    client = RawClient(server.port)
    client.send(post(b"/1", b"Content-Length: 5\r\n") + b"abcde" + b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
    first = server.receive()
    server.respond(first.request_id, body=b"1")
    second = server.receive()
    assert second.raw_url == b"/2"
    assert second.connection_id == first.connection_id
    server.respond(second.request_id, body=b"2")
    assert [client.recv_response()[2] for _ in range(2)] == [b"1", b"2"]
    client.close()


def test_body_arriving_after_the_response_is_drained(server: Server) -> None:
    client = RawClient(server.port)
    client.send(post(b"/1", b"Content-Length: 100000\r\n") + b"x" * 1000)
    first = server.receive()
    server.respond(first.request_id, body=b"1")
    assert client.recv_response()[2] == b"1"
    client.send(b"y" * 99000)
    client.send(b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
    second = server.receive()
    assert second.raw_url == b"/2"
    assert server.read_body(second.request_id) == (EOF, b"")
    server.respond(second.request_id, body=b"2")
    assert client.recv_response()[2] == b"2"
    client.close()


def test_unread_chunked_body_is_drained_for_the_next_request(server: Server) -> None:
    client = RawClient(server.port)
    client.send(post(b"/1", b"Transfer-Encoding: chunked\r\n") + b"3\r\nabc\r\n")
    first = server.receive()
    server.respond(first.request_id, body=b"1")
    assert client.recv_response()[2] == b"1"
    client.send(b"2\r\nde\r\n0\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
    second = server.receive()
    assert second.raw_url == b"/2"
    server.respond(second.request_id, body=b"2")
    assert client.recv_response()[2] == b"2"
    client.close()


@pytest.mark.embedded_only("inside")
def test_large_body_arrives_byte_exact_with_bounded_buffering(make: Callable[..., Server]) -> None:
    settings = DriverSettings()
    server = make(settings)
    size = 8 * 1024 * 1024
    payload = os.urandom(size)
    client = RawClient(server.port, timeout=20)
    sender_error: list[BaseException] = []

    def send() -> None:
        try:
            client.send(post(b"/upload", b"Content-Length: %d\r\n" % size) + payload)
        except BaseException as exc:
            sender_error.append(exc)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    request = server.receive()
    live = server.transport.driver.requests[request.request_id]
    digest = hashlib.sha256()
    received = 0
    peak = 0
    reads = 0
    while True:
        peak = max(peak, live.body_buffered)
        code, data = server.read_body(request.request_id, 64 * 1024)
        if code == EOF:
            break
        assert code == OK
        digest.update(data)
        received += len(data)
        reads += 1
        if reads % 8 == 0:
            time.sleep(0.005)  # a slow reader: the sender must wait for it
    assert received == size
    assert digest.digest() == hashlib.sha256(payload).digest()
    assert peak <= settings.body_buffer + 256 * 1024, peak
    sender.join(5)
    assert not sender_error
    server.respond(request.request_id, body=b"stored")
    assert client.recv_response(10)[2] == b"stored"
    client.close()


def test_malformed_chunk_while_draining_closes_the_connection(server: Server) -> None:
    client = RawClient(server.port)
    client.send(post(b"/", b"Transfer-Encoding: chunked\r\n") + b"3\r\nabc\r\n")
    request = server.receive()
    server.respond(request.request_id, body=b"early")
    assert client.recv_response()[2] == b"early"
    client.send(b"zz\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
    assert client.closed_by_peer(1.0) in ("eof", "reset")
    assert server.transport.statistics()["queued"] == 0
    client.close()
