"""CancelIoEx / CancelIo on a pending send (spec §2.0 cancellation, applied to HttpSendHttpResponse)."""

from __future__ import annotations

import socket
import time

from httpsys.win32 import *

from .harness import Server, make_response, wait


def _stalled_client(port: int) -> socket.socket:
    """A client that asks for a response and then never reads, so a large send pends."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    return sock


def test_cancel_io_ex_on_a_pending_send_completes_it_with_operation_aborted_and_resets(
    server: Server,
) -> None:
    sock = _stalled_client(server.port)
    try:
        request = server.receive()
        ov = OVERLAPPED()
        response = make_response(body=b"x" * (32 << 20))
        code = HttpSendHttpResponse(
            server.queue, request.RequestId, 0, response, None, None, None, 0, ov, None
        )
        assert code == ERROR_IO_PENDING
        time.sleep(0.1)
        assert CancelIoEx(server.queue, ov)
        ok, error, nbytes = wait(server.queue, ov)
        assert (ok, error, nbytes) == (False, ERROR_OPERATION_ABORTED, 0)
        # the request is gone with its connection
        again = make_response(body=b"late")
        assert (
            HttpSendResponseEntityBody(
                server.queue, request.RequestId, 0, 1, again.pEntityChunks, None, None, 0, OVERLAPPED(), None
            )
            == ERROR_CONNECTION_INVALID
        )
        sock.settimeout(5)
        received = 0
        try:
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
        except ConnectionResetError:
            pass
        assert received < 32 << 20  # the response was cut, never completed
    finally:
        sock.close()


def test_cancel_io_ex_on_a_completed_send_finds_nothing(server: Server) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        request = server.receive()
        ov = OVERLAPPED()
        code = HttpSendHttpResponse(
            server.queue, request.RequestId, 0, make_response(body=b"ok"), None, None, None, 0, ov, None
        )
        assert code in (NO_ERROR, ERROR_IO_PENDING)
        ok, _error, _n = wait(server.queue, ov)
        assert ok
        assert not CancelIoEx(server.queue, ov)
        assert GetLastError() == ERROR_NOT_FOUND
    finally:
        sock.close()
