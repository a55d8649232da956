"""Overlapped I/O on request queue handles: events, GetOverlappedResult, completion ports, cancellation (§2.0, §6 A 5, 7, 8)."""

from __future__ import annotations

import asyncio
import ctypes
import threading
import time

from httpsys.win32 import *

from .harness import Server, create_queue, respond, wait


def pending_receive(queue: int, ov: OVERLAPPED, request: HTTP_REQUEST_V2 | None = None) -> HTTP_REQUEST_V2:
    request = request or HTTP_REQUEST_V2()
    assert HttpReceiveHttpRequest(queue, HTTP_NULL_ID, 0, request, 16384, None, ov) == ERROR_IO_PENDING
    assert ov.Internal == ERROR_IO_PENDING
    return request


def test_receive_with_an_overlapped_pends_then_signals_its_event(server: Server, client) -> None:
    event = CreateEvent(None, True, False, None)
    ov = OVERLAPPED(hEvent=event)
    request = pending_receive(server.queue, ov)
    assert WaitForSingleObject(event, 50) == WAIT_TIMEOUT
    client(server.port).get("/x", server.port)
    assert WaitForSingleObject(event, 5000) == WAIT_OBJECT_0
    assert ov.Internal == NO_ERROR and ov.InternalHigh > 864
    nbytes = ctypes.c_ulong()
    assert GetOverlappedResult(server.queue, ov, nbytes, False) is True
    assert nbytes.value == ov.InternalHigh
    assert request.RequestId and request.pRawUrl == b"/x"
    assert respond(server.queue, request.RequestId)[0] == NO_ERROR
    CloseHandle(event)


def test_get_overlapped_result_without_wait_on_a_pending_receive_is_io_incomplete(server: Server) -> None:
    ov = OVERLAPPED()
    pending_receive(server.queue, ov)
    nbytes = ctypes.c_ulong()
    assert GetOverlappedResult(server.queue, ov, nbytes, False) is False
    assert GetLastError() == ERROR_IO_INCOMPLETE
    assert HasOverlappedIoCompleted(ov) is False
    assert CancelIoEx(server.queue, ov) is True


def test_get_overlapped_result_with_wait_blocks_until_completion(server: Server, client) -> None:
    ov = OVERLAPPED()
    request = pending_receive(server.queue, ov)
    peer = client(server.port)
    threading.Timer(0.1, lambda: peer.get("/", server.port)).start()
    nbytes = ctypes.c_ulong()
    assert GetOverlappedResult(server.queue, ov, nbytes, True) is True
    assert nbytes.value > 0 and request.RequestId


def test_completion_port_returns_the_key_and_the_overlapped_object(server: Server, client) -> None:
    port = CreateIoCompletionPort(server.queue, None, 0xC0FFEE, 0)
    assert port
    ov = OVERLAPPED()
    request = pending_receive(server.queue, ov)
    nbytes, key, got = ctypes.c_ulong(), ctypes.c_size_t(), LPOVERLAPPED()
    assert GetQueuedCompletionStatus(port, nbytes, key, got, 20) is False
    assert GetLastError() == WAIT_TIMEOUT and got.value is None
    client(server.port).get("/", server.port)
    assert GetQueuedCompletionStatus(port, nbytes, key, got, 5000) is True
    assert key.value == 0xC0FFEE and got.value is ov and nbytes.value == ov.InternalHigh
    assert request.RequestId
    # An immediately successful overlapped send also posts its completion.
    send_ov = OVERLAPPED()
    sent = HttpSendHttpResponse(
        server.queue,
        request.RequestId,
        0,
        HTTP_RESPONSE_V2(StatusCode=200),
        None,
        None,
        None,
        0,
        send_ov,
        None,
    )
    assert sent in (NO_ERROR, ERROR_IO_PENDING)
    assert GetQueuedCompletionStatus(port, nbytes, key, got, 5000) is True
    assert got.value is send_ov and send_ov.Internal == NO_ERROR and nbytes.value > 0
    CloseHandle(port)


def test_cancel_io_ex_aborts_one_pending_receive_with_zero_bytes(server: Server) -> None:
    port = CreateIoCompletionPort(server.queue, None, 5, 0)
    first, second = OVERLAPPED(), OVERLAPPED()
    pending_receive(server.queue, first)
    pending_receive(server.queue, second)
    assert CancelIoEx(server.queue, first) is True
    nbytes, key, got = ctypes.c_ulong(), ctypes.c_size_t(), LPOVERLAPPED()
    assert GetQueuedCompletionStatus(port, nbytes, key, got, 5000) is False
    assert GetLastError() == ERROR_OPERATION_ABORTED and got.value is first and nbytes.value == 0
    assert first.Internal == ERROR_OPERATION_ABORTED and first.InternalHigh == 0
    assert second.Internal == ERROR_IO_PENDING
    assert CancelIoEx(server.queue, first) is False and GetLastError() == ERROR_NOT_FOUND
    assert CancelIo(server.queue) is True
    ok, error, _ = wait(server.queue, second)
    assert not ok and error == ERROR_OPERATION_ABORTED
    CloseHandle(port)


def test_cancel_io_ex_aborts_a_blocked_synchronous_receive(server: Server) -> None:
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(
            HttpReceiveHttpRequest(server.queue, 0, 0, HTTP_REQUEST_V2(), 4096, ctypes.c_ulong(), None)
        )
    )
    thread.start()
    time.sleep(0.1)
    assert CancelIoEx(server.queue, None) is True
    thread.join(5)
    assert result == [ERROR_OPERATION_ABORTED]


def test_closing_the_queue_handle_aborts_its_pending_receives(initialized: None) -> None:
    queue = create_queue()
    port = CreateIoCompletionPort(queue, None, 9, 0)
    event = CreateEvent(None, True, False, None)
    ov = OVERLAPPED(hEvent=event)
    pending_receive(queue, ov)
    result: list[int] = []
    blocked = threading.Thread(
        target=lambda: result.append(
            HttpReceiveHttpRequest(queue, 0, 0, HTTP_REQUEST_V2(), 4096, ctypes.c_ulong())
        )
    )
    blocked.start()
    time.sleep(0.1)
    assert HttpCloseRequestQueue(queue) == NO_ERROR
    assert WaitForSingleObject(event, 5000) == WAIT_OBJECT_0
    assert ov.Internal == ERROR_OPERATION_ABORTED
    nbytes, key, got = ctypes.c_ulong(), ctypes.c_size_t(), LPOVERLAPPED()
    assert GetQueuedCompletionStatus(port, nbytes, key, got, 5000) is False
    assert GetLastError() == ERROR_OPERATION_ABORTED and key.value == 9 and got.value is ov
    blocked.join(5)
    assert result == [ERROR_OPERATION_ABORTED]
    CloseHandle(port)
    CloseHandle(event)


def test_close_handle_on_the_queue_aborts_pending_receives_too(initialized: None) -> None:
    queue = create_queue()
    ov = OVERLAPPED()
    pending_receive(queue, ov)
    assert CloseHandle(queue) is True
    nbytes = ctypes.c_ulong()
    assert GetOverlappedResult(queue, ov, nbytes, True) is False
    assert GetLastError() == ERROR_OPERATION_ABORTED


def test_immediate_errors_post_no_completion(server: Server) -> None:
    port = CreateIoCompletionPort(server.queue, None, 1, 0)
    event = CreateEvent(None, True, False, None)
    ov = OVERLAPPED(hEvent=event)
    code = HttpReceiveHttpRequest(server.queue, 0xBAD, 0, HTTP_REQUEST_V2(), 4096, None, ov)
    assert code == ERROR_CONNECTION_INVALID
    code = HttpReceiveRequestEntityBody(server.queue, 0xBAD, 0, bytearray(8), 8, None, ov)
    assert code == ERROR_CONNECTION_INVALID
    nbytes, key, got = ctypes.c_ulong(), ctypes.c_size_t(), LPOVERLAPPED()
    assert GetQueuedCompletionStatus(port, nbytes, key, got, 50) is False and GetLastError() == WAIT_TIMEOUT
    assert WaitForSingleObject(event, 0) == WAIT_TIMEOUT
    assert ov.Internal == ERROR_CONNECTION_INVALID  # not left pending: GetOverlappedResult cannot hang
    CloseHandle(port)
    CloseHandle(event)


def test_immediate_success_returns_no_error_and_still_posts_a_completion(server: Server, client) -> None:
    port = CreateIoCompletionPort(server.queue, None, 3, 0)
    client(server.port).get("/", server.port)
    time.sleep(0.2)  # the request is queued before the receive
    ov = OVERLAPPED()
    request = HTTP_REQUEST_V2()
    assert HttpReceiveHttpRequest(server.queue, 0, 0, request, 4096, None, ov) == NO_ERROR
    assert request.RequestId and ov.Internal == NO_ERROR
    nbytes, key, got = ctypes.c_ulong(), ctypes.c_size_t(), LPOVERLAPPED()
    assert GetQueuedCompletionStatus(port, nbytes, key, got, 5000) is True and got.value is ov
    # FILE_SKIP_COMPLETION_PORT_ON_SUCCESS suppresses the packet of an immediate success.
    assert SetFileCompletionNotificationModes(server.queue, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS) is True
    client(server.port).get("/", server.port)
    time.sleep(0.2)
    ov2 = OVERLAPPED()
    assert HttpReceiveHttpRequest(server.queue, 0, 0, HTTP_REQUEST_V2(), 4096, None, ov2) == NO_ERROR
    assert GetQueuedCompletionStatus(port, nbytes, key, got, 50) is False and GetLastError() == WAIT_TIMEOUT
    CloseHandle(port)


def test_bytes_holder_with_an_overlapped_is_written_only_when_the_call_does_not_pend(
    server: Server, client
) -> None:
    got = ctypes.c_ulong(0xAAAA)
    ov = OVERLAPPED()
    assert HttpReceiveHttpRequest(server.queue, 0, 0, HTTP_REQUEST_V2(), 4096, got, ov) == ERROR_IO_PENDING
    assert got.value == 0xAAAA
    client(server.port).get("/", server.port)
    ok, _, nbytes = wait(server.queue, ov)
    assert ok and nbytes > 0 and got.value == 0xAAAA


def test_wait_overlapped_bridges_to_asyncio(server: Server, client) -> None:
    ov = OVERLAPPED()
    request = pending_receive(server.queue, ov)
    peer = client(server.port)

    async def main() -> tuple[int, int]:
        asyncio.get_running_loop().call_later(0.05, lambda: peer.get("/", server.port))
        return await asyncio.wait_for(wait_overlapped(ov), 5)

    code, nbytes = asyncio.run(main())
    assert code == NO_ERROR and nbytes == ov.InternalHigh and request.RequestId


def test_overlapped_must_be_an_overlapped_object(server: Server) -> None:
    assert HttpReceiveHttpRequest(server.queue, 0, 0, HTTP_REQUEST_V2(), 4096, None, object()) == (
        ERROR_INVALID_PARAMETER
    )
    assert HttpWaitForDemandStart(server.queue, "ov") == ERROR_INVALID_PARAMETER
