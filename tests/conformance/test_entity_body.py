"""HttpReceiveRequestEntityBody: reads, EOF, FILL_BUFFER, chunked bodies, 100-continue, timer (§6 G 80-87)."""

from __future__ import annotations

import ctypes
import time

from httpsys.win32 import *

from .harness import RawClient, Server, read_all, respond, wait


def post_head(c: RawClient, port: int, length: int | None, extra: bytes = b"") -> None:
    framing = b"Transfer-Encoding: chunked\r\n" if length is None else b"Content-Length: %d\r\n" % length
    c.send(f"POST / HTTP/1.1\r\nHost: localhost:{port}\r\n".encode() + framing + extra + b"\r\n")


def read(queue: int, request_id: int, size: int, flags: int = 0, buffer: object = None) -> tuple[int, bytes]:
    target = buffer if buffer is not None else bytearray(size)
    got = ctypes.c_ulong(0xDEAD)
    code = HttpReceiveRequestEntityBody(queue, request_id, flags, target, size, got, None)
    return code, bytes(memoryview(target).cast("B")[: got.value]) if code == NO_ERROR else bytes(got.value)


def test_null_id_is_connection_invalid_and_a_bad_handle_invalid_handle(server: Server) -> None:
    got = ctypes.c_ulong()
    assert HttpReceiveRequestEntityBody(server.queue, HTTP_NULL_ID, 0, bytearray(4), 4, got, None) == (
        ERROR_CONNECTION_INVALID
    )
    assert HttpReceiveRequestEntityBody(0xBAD0, 5, 0, bytearray(4), 4, got, None) == ERROR_INVALID_HANDLE


def test_reads_return_at_most_the_buffer_and_the_rest_follows_in_order(server: Server, client) -> None:
    c = client(server.port)
    post_head(c, server.port, 5)
    c.send(b"abcde")
    request = server.receive()
    time.sleep(0.05)
    assert read(server.queue, request.RequestId, 2) == (NO_ERROR, b"ab")
    assert read(server.queue, request.RequestId, 1) == (NO_ERROR, b"c")
    assert read(server.queue, request.RequestId, 2) == (NO_ERROR, b"de")
    assert read(server.queue, request.RequestId, 2) == (ERROR_HANDLE_EOF, b"")


def test_end_of_body_is_handle_eof_synchronously_even_with_an_overlapped(server: Server, client) -> None:
    client(server.port).get("/", server.port)
    request = server.receive()
    got = ctypes.c_ulong(0xDEAD)
    assert HttpReceiveRequestEntityBody(server.queue, request.RequestId, 0, bytearray(8), 8, got, None) == (
        ERROR_HANDLE_EOF
    )
    assert got.value == 0
    port = CreateIoCompletionPort(server.queue, None, 1, 0)
    ov = OVERLAPPED()
    assert HttpReceiveRequestEntityBody(server.queue, request.RequestId, 0, bytearray(8), 8, None, ov) == (
        ERROR_HANDLE_EOF
    )
    nbytes, key, out = ctypes.c_ulong(), ctypes.c_size_t(), LPOVERLAPPED()
    assert GetQueuedCompletionStatus(port, nbytes, key, out, 50) is False and GetLastError() == WAIT_TIMEOUT
    CloseHandle(port)


def test_after_the_response_the_request_id_is_connection_invalid(server: Server, client) -> None:
    c = client(server.port)
    post_head(c, server.port, 3)
    c.send(b"abc")
    request = server.receive()
    respond(server.queue, request.RequestId)
    assert read(server.queue, request.RequestId, 8)[0] == ERROR_CONNECTION_INVALID


def test_a_pending_read_completes_when_body_bytes_arrive(server: Server, client) -> None:
    c = client(server.port)
    post_head(c, server.port, 4)
    request = server.receive()
    buffer = bytearray(16)
    ov = OVERLAPPED()
    code = HttpReceiveRequestEntityBody(server.queue, request.RequestId, 0, buffer, 16, None, ov)
    assert code == ERROR_IO_PENDING
    c.send(b"late")
    ok, _, nbytes = wait(server.queue, ov)
    assert ok and buffer[:nbytes] == b"late"


def test_fill_buffer_keeps_reading_until_the_buffer_is_full(server: Server, client) -> None:
    c = client(server.port)
    post_head(c, server.port, 10)
    c.send(b"01234")
    request = server.receive()
    buffer = bytearray(10)
    ov = OVERLAPPED()
    flags = HTTP_RECEIVE_REQUEST_ENTITY_BODY_FLAG_FILL_BUFFER
    code = HttpReceiveRequestEntityBody(server.queue, request.RequestId, flags, buffer, 10, None, ov)
    assert code in (NO_ERROR, ERROR_IO_PENDING)
    time.sleep(0.1)
    c.send(b"56789")
    ok, _, nbytes = wait(server.queue, ov)
    assert ok and nbytes == 10 and bytes(buffer) == b"0123456789"


def test_chunked_request_bodies_are_dechunked(server: Server, client) -> None:
    c = client(server.port)
    post_head(c, server.port, None)
    c.send(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    request = server.receive()
    assert request.Headers.KnownHeaders[HttpHeaderTransferEncoding].pRawValue == b"chunked"
    assert read_all(server.queue, request.RequestId) == b"hello world"


def test_expect_100_continue_is_sent_when_the_app_first_reads(server: Server, client) -> None:
    c = client(server.port)
    post_head(c, server.port, 3, b"Expect: 100-continue\r\n")
    request = server.receive()
    assert c.closed_by_peer(0.2) == "open"  # nothing sent before the application reads
    ov = OVERLAPPED()
    buffer = bytearray(8)
    assert (
        HttpReceiveRequestEntityBody(server.queue, request.RequestId, 0, buffer, 8, None, ov)
        == ERROR_IO_PENDING
    )
    assert c.recv_until(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    c.send(b"abc")
    ok, _, nbytes = wait(server.queue, ov)
    assert ok and buffer[:nbytes] == b"abc"


def test_entity_body_timer_aborts_a_stalled_upload(server: Server, client) -> None:
    limits = HTTP_TIMEOUT_LIMIT_INFO(Flags=HTTP_PROPERTY_FLAGS(1), EntityBody=1)
    assert (
        HttpSetUrlGroupProperty(server.group, HttpServerTimeoutsProperty, limits, sizeof(limits)) == NO_ERROR
    )
    c = client(server.port)
    post_head(c, server.port, 10)
    c.send(b"abc")
    request = server.receive()
    assert read(server.queue, request.RequestId, 10) == (NO_ERROR, b"abc")
    started = time.monotonic()
    code, _ = read(server.queue, request.RequestId, 10)
    assert code not in (NO_ERROR, ERROR_HANDLE_EOF)
    assert 0.5 < time.monotonic() - started < 5
    assert c.closed_by_peer() in ("reset", "eof")


def test_entity_buffer_kinds_and_length_rules(server: Server, client) -> None:
    c = client(server.port)
    post_head(c, server.port, 12)
    c.send(b"abcdefghijkl")
    request = server.receive()
    time.sleep(0.05)
    rid = request.RequestId
    got = ctypes.c_ulong()
    assert (
        HttpReceiveRequestEntityBody(server.queue, rid, 0, bytearray(4), 5, got, None)
        == ERROR_INVALID_PARAMETER
    )
    assert (
        HttpReceiveRequestEntityBody(server.queue, rid, 0, bytearray(4), 0, got, None)
        == ERROR_INVALID_PARAMETER
    )
    assert (
        HttpReceiveRequestEntityBody(server.queue, rid, 0, b"read-only", 4, got, None)
        == ERROR_INVALID_PARAMETER
    )
    assert HttpReceiveRequestEntityBody(server.queue, rid, 0x10, bytearray(4), 4, got, None) == (
        ERROR_INVALID_PARAMETER
    )
    assert (
        HttpReceiveRequestEntityBody(server.queue, rid, 0, bytearray(4), 4, None, None)
        == ERROR_INVALID_PARAMETER
    )
    big = bytearray(b"." * 8)
    assert read(server.queue, rid, 3, buffer=big) == (NO_ERROR, b"abc")
    assert big == b"abc....."  # a length below the buffer size is honoured
    array = (ctypes.c_char * 4)()
    assert read(server.queue, rid, 4, buffer=array) == (NO_ERROR, b"defg")
    view = memoryview(bytearray(5))
    assert read(server.queue, rid, 5, buffer=view) == (NO_ERROR, b"hijkl")
