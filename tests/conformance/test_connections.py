"""Connections: wait for disconnect, cancel request, keep-alive rules, timers (§6 I 112-116)."""

from __future__ import annotations

import ctypes
import threading
import time

from httpsys.win32 import *

from .harness import Server, read_body, respond, wait


def test_wait_for_disconnect_completes_when_the_client_closes(server: Server, client) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request = server.receive()
    ov = OVERLAPPED()
    assert HttpWaitForDisconnect(server.queue, request.ConnectionId, ov) == ERROR_IO_PENDING
    time.sleep(0.05)
    assert ov.Internal == ERROR_IO_PENDING
    c.close()
    ok, error, nbytes = wait(server.queue, ov)
    assert ok and error == NO_ERROR and nbytes == 0


def test_wait_for_disconnect_ex_completes_after_a_disconnect_response(server: Server, client) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request = server.receive()
    ov = OVERLAPPED()
    assert HttpWaitForDisconnectEx(server.queue, request.ConnectionId, 0, ov) == ERROR_IO_PENDING
    assert (
        respond(server.queue, request.RequestId, b"bye", flags=HTTP_SEND_RESPONSE_FLAG_DISCONNECT)[0]
        == NO_ERROR
    )
    assert wait(server.queue, ov)[0]
    assert (
        HttpWaitForDisconnectEx(server.queue, request.ConnectionId, 1, OVERLAPPED())
        == ERROR_INVALID_PARAMETER
    )


def test_wait_for_disconnect_on_a_closed_connection_completes_at_once(server: Server, client) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request = server.receive()
    respond(server.queue, request.RequestId, flags=HTTP_SEND_RESPONSE_FLAG_DISCONNECT)
    c.recv_response()
    assert c.closed_by_peer() == "eof"
    time.sleep(0.05)
    assert HttpWaitForDisconnect(server.queue, request.ConnectionId, None) == NO_ERROR
    assert HttpWaitForDisconnect(server.queue, 0, None) == ERROR_CONNECTION_INVALID


def test_synchronous_wait_for_disconnect_blocks_until_the_close(server: Server, client) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request = server.receive()
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(HttpWaitForDisconnect(server.queue, request.ConnectionId))
    )
    thread.start()
    time.sleep(0.1)
    assert result == []
    c.close()
    thread.join(5)
    assert result == [NO_ERROR]


def test_pending_disconnect_waits_can_be_cancelled(server: Server, client) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request = server.receive()
    ov = OVERLAPPED()
    assert HttpWaitForDisconnect(server.queue, request.ConnectionId, ov) == ERROR_IO_PENDING
    assert CancelIoEx(server.queue, ov)
    ok, error, _ = wait(server.queue, ov)
    assert not ok and error == ERROR_OPERATION_ABORTED


def test_cancel_http_request_closes_the_connection_and_fails_pending_reads(server: Server, client) -> None:
    c = client(server.port)
    c.send(f"POST / HTTP/1.1\r\nHost: localhost:{server.port}\r\nContent-Length: 10\r\n\r\n".encode())
    request = server.receive()
    ov = OVERLAPPED()
    assert HttpReceiveRequestEntityBody(server.queue, request.RequestId, 0, bytearray(10), 10, None, ov) == (
        ERROR_IO_PENDING
    )
    assert HttpCancelHttpRequest(server.queue, request.RequestId, None) == NO_ERROR
    ok, error, _ = wait(server.queue, ov)
    assert not ok and error != NO_ERROR
    assert c.closed_by_peer() in ("reset", "eof")
    assert respond(server.queue, request.RequestId)[0] == ERROR_CONNECTION_INVALID
    assert HttpCancelHttpRequest(server.queue, request.RequestId, None) == ERROR_CONNECTION_INVALID
    assert HttpCancelHttpRequest(server.queue, HTTP_NULL_ID, None) == ERROR_CONNECTION_INVALID


def test_cancel_http_request_with_an_overlapped_completes_it(server: Server, client) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request = server.receive()
    port = CreateIoCompletionPort(server.queue, None, 11, 0)
    ov = OVERLAPPED()
    assert HttpCancelHttpRequest(server.queue, request.RequestId, ov) == NO_ERROR
    nbytes, key, got = ctypes.c_ulong(), ctypes.c_size_t(), LPOVERLAPPED()
    assert GetQueuedCompletionStatus(port, nbytes, key, got, 5000) is True and got.value is ov
    assert HttpCancelHttpRequest(server.queue, 0xBAD, OVERLAPPED()) == ERROR_CONNECTION_INVALID
    CloseHandle(port)


def test_http11_keeps_the_connection_open_unless_the_client_says_close(server: Server, client) -> None:
    c = client(server.port)
    c.get("/", server.port)
    respond(server.queue, server.receive().RequestId, b"1")
    assert c.recv_response()[2] == b"1"
    assert c.closed_by_peer(0.2) == "open"
    c.get("/", server.port, b"Connection: close\r\n")
    respond(server.queue, server.receive().RequestId, b"2")
    _, headers, body = c.recv_response()
    assert body == b"2" and headers[b"connection"] == b"close"
    assert c.closed_by_peer() == "eof"


def test_http10_closes_unless_keep_alive_with_a_length(server: Server, client) -> None:
    c = client(server.port)
    c.send(b"GET / HTTP/1.0\r\n\r\n")
    respond(server.queue, server.receive().RequestId, b"a")
    assert c.recv_response()[2] == b"a"
    assert c.closed_by_peer() == "eof"
    k = client(server.port)
    k.send(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
    respond(server.queue, server.receive().RequestId, b"b")
    assert k.recv_response()[2] == b"b"
    assert k.closed_by_peer(0.2) == "open"


def test_request_queue_timer_drops_requests_nobody_receives(server: Server, client) -> None:
    limits = HTTP_TIMEOUT_LIMIT_INFO(Flags=HTTP_PROPERTY_FLAGS(1), RequestQueue=1)
    assert (
        HttpSetUrlGroupProperty(server.group, HttpServerTimeoutsProperty, limits, sizeof(limits)) == NO_ERROR
    )
    c = client(server.port)
    c.get("/", server.port)
    started = time.monotonic()
    assert c.closed_by_peer(5) in ("reset", "eof")
    assert 0.5 < time.monotonic() - started < 4


def test_zero_timeouts_mean_the_defaults(server: Server, client) -> None:
    zeros = HTTP_TIMEOUT_LIMIT_INFO(Flags=HTTP_PROPERTY_FLAGS(1))
    assert HttpSetServerSessionProperty(server.session, HttpServerTimeoutsProperty, zeros, 20) == NO_ERROR
    assert HttpSetUrlGroupProperty(server.group, HttpServerTimeoutsProperty, zeros, 20) == NO_ERROR
    c = client(server.port)
    c.get("/", server.port)
    request = server.receive()
    time.sleep(0.3)
    assert read_body(server.queue, request.RequestId)[0] == ERROR_HANDLE_EOF
    assert respond(server.queue, request.RequestId, b"alive")[0] == NO_ERROR
    assert c.recv_response()[2] == b"alive"
