"""HttpReceiveHttpRequest: pending receives, buffer sizing, request ids, and every HTTP_REQUEST field (§6 F 61-79)."""

from __future__ import annotations

import ctypes
import socket
import threading
import time

import pytest

from httpsys.win32 import *

from .harness import RawClient, Server, known_value, receive, respond, unknown_headers, wait


def receive_into(queue: int, request: HTTP_REQUEST_V1, length: int, request_id: int = 0, flags: int = 0):
    got = ctypes.c_ulong(0xDEAD)
    code = HttpReceiveHttpRequest(queue, request_id, flags, request, length, got, None)
    return code, got.value


def test_null_id_receive_pends_until_a_request_arrives(server: Server, client) -> None:
    ov = OVERLAPPED()
    request = HTTP_REQUEST_V2()
    assert HttpReceiveHttpRequest(server.queue, HTTP_NULL_ID, 0, request, 4096, None, ov) == ERROR_IO_PENDING
    time.sleep(0.05)
    assert ov.Internal == ERROR_IO_PENDING
    client(server.port).get("/", server.port)
    ok, _, nbytes = wait(server.queue, ov)
    assert ok and request.RequestId and nbytes > 0


def test_synchronous_receive_blocks_only_the_calling_thread(server: Server, client) -> None:
    result: list[tuple[int, int]] = []
    request = HTTP_REQUEST_V2()
    thread = threading.Thread(target=lambda: result.append(receive_into(server.queue, request, 4096)))
    thread.start()
    time.sleep(0.1)
    assert result == [] and thread.is_alive()
    client(server.port).get("/", server.port)
    thread.join(5)
    assert result and result[0][0] == NO_ERROR and request.RequestId


def test_pending_receives_complete_in_fifo_order_one_request_each(server: Server, client) -> None:
    first, second = OVERLAPPED(), OVERLAPPED()
    r1, r2 = HTTP_REQUEST_V2(), HTTP_REQUEST_V2()
    assert HttpReceiveHttpRequest(server.queue, 0, 0, r1, 4096, None, first) == ERROR_IO_PENDING
    assert HttpReceiveHttpRequest(server.queue, 0, 0, r2, 4096, None, second) == ERROR_IO_PENDING
    client(server.port).get("/one", server.port)
    assert wait(server.queue, first)[0]
    time.sleep(0.05)
    assert second.Internal == ERROR_IO_PENDING
    client(server.port).get("/two", server.port)
    assert wait(server.queue, second)[0]
    assert (r1.pRawUrl, r2.pRawUrl) == (b"/one", b"/two")


def test_buffer_smaller_than_v1_is_insufficient_buffer_and_keeps_the_request(server: Server, client) -> None:
    client(server.port).get("/kept", server.port)
    time.sleep(0.1)
    request = HTTP_REQUEST_V2()
    assert receive_into(server.queue, request, 847) == (ERROR_INSUFFICIENT_BUFFER, 0)
    assert request.RequestId == 0
    assert receive_into(server.queue, request, 0) == (ERROR_INSUFFICIENT_BUFFER, 0)
    code, _ = receive_into(server.queue, request, 16384)
    assert code == NO_ERROR and request.pRawUrl == b"/kept"


def test_too_small_buffer_is_more_data_with_ids_and_the_exact_size(server: Server, client) -> None:
    c = client(server.port)
    c.get("/needs-room", server.port, b"X-Padding: " + b"p" * 300 + b"\r\n")
    time.sleep(0.1)
    request = HTTP_REQUEST_V2()
    code, needed = receive_into(server.queue, request, 864)
    assert code == ERROR_MORE_DATA and needed > 864
    assert request.RequestId and request.ConnectionId
    assert request.pRawUrl is None and request.Verb == 0 and request.Headers.UnknownHeaderCount == 0
    request_id = request.RequestId
    assert receive_into(server.queue, request, needed - 1, request_id) == (ERROR_MORE_DATA, needed)
    assert receive_into(server.queue, request, needed, request_id) == (NO_ERROR, needed)
    assert request.RequestId == request_id and request.pRawUrl == b"/needs-room"
    respond(server.queue, request_id)
    assert c.recv_response()[0] == b"HTTP/1.1 200 OK"


def test_after_more_data_the_request_is_only_retrievable_by_its_id(server: Server, client) -> None:
    client(server.port).get("/only-by-id", server.port, b"X-Padding: " + b"p" * 300 + b"\r\n")
    time.sleep(0.1)
    request = HTTP_REQUEST_V2()
    code, needed = receive_into(server.queue, request, 900)
    assert code == ERROR_MORE_DATA
    ov = OVERLAPPED()
    other = HTTP_REQUEST_V2()
    assert HttpReceiveHttpRequest(server.queue, 0, 0, other, 16384, None, ov) == ERROR_IO_PENDING
    time.sleep(0.1)
    assert ov.Internal == ERROR_IO_PENDING  # the NULL-id receive does not see it
    assert receive_into(server.queue, request, needed, request.RequestId)[0] == NO_ERROR
    assert CancelIoEx(server.queue, ov)


def test_overlapped_more_data_completes_with_the_needed_size(server: Server, client) -> None:
    client(server.port).get("/x", server.port, b"X-Padding: " + b"p" * 300 + b"\r\n")
    ov = OVERLAPPED()
    request = HTTP_REQUEST_V2()
    code = HttpReceiveHttpRequest(server.queue, 0, 0, request, 870, None, ov)
    assert code in (ERROR_IO_PENDING, ERROR_MORE_DATA)
    ok, error, nbytes = wait(server.queue, ov)
    assert not ok and error == ERROR_MORE_DATA and nbytes > 870 and request.RequestId


def test_bogus_or_answered_ids_are_connection_invalid_at_once(server: Server, client) -> None:
    request = HTTP_REQUEST_V2()
    assert receive_into(server.queue, request, 4096, 0xBAD)[0] == ERROR_CONNECTION_INVALID
    assert HttpReceiveHttpRequest(server.queue, 0xBAD, 0, request, 4096, None, OVERLAPPED()) == (
        ERROR_CONNECTION_INVALID
    )
    client(server.port).get("/", server.port)
    answered = server.receive()
    respond(server.queue, answered.RequestId)
    assert receive_into(server.queue, request, 4096, answered.RequestId)[0] == ERROR_CONNECTION_INVALID


def test_receive_argument_validation(server: Server) -> None:
    got = ctypes.c_ulong()
    request = HTTP_REQUEST_V2()
    assert HttpReceiveHttpRequest(server.queue, 0, 0x4, request, 4096, got, None) == ERROR_INVALID_PARAMETER
    assert (
        HttpReceiveHttpRequest(server.queue, 0, 0, bytearray(4096), 4096, got, None)
        == ERROR_INVALID_PARAMETER
    )
    assert HttpReceiveHttpRequest(server.queue, 0, 0, None, 4096, got, None) == ERROR_INVALID_PARAMETER
    assert HttpReceiveHttpRequest(server.queue, 0, 0, request, "4096", got, None) == ERROR_INVALID_PARAMETER
    assert HttpReceiveHttpRequest(server.queue, 0, 0, request, 4096, None, None) == ERROR_INVALID_PARAMETER
    assert HttpReceiveHttpRequest(server.queue, 0, 0, request, 4096, "bytes", None) == ERROR_INVALID_PARAMETER


def test_request_fields_are_exactly_those_of_http_sys(server: Server, client) -> None:
    c = client(server.port)
    raw = f"GET /foobar?a=b HTTP/1.1\r\nHost: localhost:{server.port}\r\n\r\n".encode()
    c.send(raw)
    request = HTTP_REQUEST_V2()
    code, nbytes = receive_into(server.queue, request, 4096)
    assert code == NO_ERROR
    host = f"localhost:{server.port}"
    full = f"http://{host}/foobar?a=b"
    assert request.Flags == 0
    assert request.ConnectionId != 0 and request.RequestId != 0
    assert request.UrlContext == server.context
    assert request.Version == HTTP_VERSION_1_1
    assert request.Verb == HttpVerbGET
    assert (request.UnknownVerbLength, request.pUnknownVerb) == (0, None)
    assert (request.RawUrlLength, request.pRawUrl) == (11, b"/foobar?a=b")
    cooked = request.CookedUrl
    assert cooked.pFullUrl == full and cooked.FullUrlLength == 2 * len(full)
    assert cooked.pHost == host and cooked.HostLength == 2 * len(host)
    assert cooked.pAbsPath == "/foobar" and cooked.AbsPathLength == 14
    assert cooked.pQueryString == "?a=b" and cooked.QueryStringLength == 8
    assert full.startswith("http://" + cooked.pHost) and cooked.pAbsPath in full
    local, remote = request.Address.pLocalAddress, request.Address.pRemoteAddress
    assert isinstance(local, SOCKADDR_IN) and isinstance(remote, SOCKADDR_IN)
    assert local.sin_family == remote.sin_family == socket.AF_INET
    assert local.to_address() == ("127.0.0.1", server.port)
    assert local.sin_port == socket.htons(server.port)
    assert remote.to_address() == c.sock.getsockname()
    headers = request.Headers
    assert headers.KnownHeaders[HttpHeaderHost] == HTTP_KNOWN_HEADER(len(host), host.encode())
    assert sum(1 for h in headers.KnownHeaders if h.pRawValue is not None) == 1
    assert (headers.UnknownHeaderCount, headers.pUnknownHeaders) == (0, None)
    assert (headers.TrailerCount, headers.pTrailers) == (0, None)
    assert request.BytesReceived == len(raw)
    assert (request.EntityChunkCount, request.pEntityChunks) == (0, None)
    assert request.RawConnectionId == 0 and request.pSslInfo is None
    assert (request.RequestInfoCount, request.pRequestInfo) == (0, None)
    assert nbytes > sizeof(HTTP_REQUEST_V2)


def test_a_v1_request_buffer_is_filled_with_the_v1_layout(server: Server, client) -> None:
    client(server.port).get("/v1", server.port)
    request = HTTP_REQUEST_V1()
    code, nbytes = receive_into(server.queue, request, 4096)
    assert code == NO_ERROR and request.pRawUrl == b"/v1"
    client(server.port).get("/v2", server.port)
    request2 = HTTP_REQUEST_V2()
    code, nbytes2 = receive_into(server.queue, request2, 4096)
    assert code == NO_ERROR and nbytes2 == nbytes + 16  # the same request, 16 bytes more in the V2 layout


def test_query_string_pointer_is_null_without_a_query(server: Server, client) -> None:
    client(server.port).get("/plain", server.port)
    request = server.receive()
    assert request.CookedUrl.pQueryString is None and request.CookedUrl.QueryStringLength == 0


def test_unknown_verbs_are_reported_as_http_verb_unknown(server: Server, client) -> None:
    client(server.port).send(f"XYZZY / HTTP/1.1\r\nHost: localhost:{server.port}\r\n\r\n".encode())
    request = server.receive()
    assert request.Verb == HttpVerbUnknown
    assert (request.UnknownVerbLength, request.pUnknownVerb) == (5, b"XYZZY")


def test_known_headers_by_index_and_unknown_headers_in_order(server: Server, client) -> None:
    client(server.port).send(
        f"GET / HTTP/1.1\r\nHost: localhost:{server.port}\r\nQux: foo baz\r\nUser-Agent: tester\r\n"
        "X-Empty:\r\nAccept: a\r\nAccept: b\r\nZz: z\r\nIf-Match:\r\n\r\n".encode()
    )
    request = server.receive()
    assert known_value(request, HttpHeaderUserAgent) == b"tester"
    assert known_value(request, HttpHeaderAccept) == b"a, b"  # duplicates merged
    empty = request.Headers.KnownHeaders[HttpHeaderIfMatch]
    assert (empty.RawValueLength, empty.pRawValue) == (0, b"")  # present but empty
    assert request.Headers.KnownHeaders[HttpHeaderCookie].pRawValue is None  # absent
    assert unknown_headers(request) == [(b"Qux", b"foo baz"), (b"X-Empty", b""), (b"Zz", b"z")]
    first = request.Headers.pUnknownHeaders[0]
    assert (first.NameLength, first.RawValueLength) == (3, 7)


def test_headers_read_after_the_buffer_is_reused_are_those_of_their_own_request(
    server: Server, client
) -> None:
    # The header table and addresses are built when first read (decision 0023, amendment 3): holding on to a
    # request's Headers across the next receive into the same buffer still reads that request's headers.
    request = HTTP_REQUEST_V2()
    first_client = client(server.port)
    first_client.send(
        f"GET /a HTTP/1.1\r\nHost: localhost:{server.port}\r\nUser-Agent: first\r\nX-A: 1\r\n\r\n".encode()
    )
    assert receive_into(server.queue, request, 4096)[0] == NO_ERROR
    first_headers, first_address = request.Headers, request.Address
    second_client = client(server.port)
    second_client.send(
        f"GET /b HTTP/1.1\r\nHost: localhost:{server.port}\r\nUser-Agent: second\r\n\r\n".encode()
    )
    assert receive_into(server.queue, request, 4096)[0] == NO_ERROR
    assert request.pRawUrl == b"/b" and request.Headers is not first_headers
    assert first_headers.KnownHeaders[HttpHeaderUserAgent].pRawValue == b"first"
    assert [(h.pName, h.pRawValue) for h in first_headers.pUnknownHeaders] == [(b"X-A", b"1")]
    assert request.Headers.KnownHeaders[HttpHeaderUserAgent].pRawValue == b"second"
    assert request.Headers.pUnknownHeaders is None and request.Headers.UnknownHeaderCount == 0
    assert first_address.pRemoteAddress.to_address() == first_client.sock.getsockname()
    assert request.Address.pRemoteAddress.to_address() == second_client.sock.getsockname()


def test_header_values_are_trimmed_of_surrounding_whitespace(server: Server, client) -> None:
    client(server.port).send(
        f"GET / HTTP/1.1\r\nHost: localhost:{server.port}\r\nQux: foo baz \r\nUser-Agent:  t \r\n\r\n".encode()
    )
    request = server.receive()
    assert unknown_headers(request) == [(b"Qux", b"foo baz")]
    assert known_value(request, HttpHeaderUserAgent) == b"t"


def test_same_connection_same_connection_id_new_request_id(server: Server, client) -> None:
    a = client(server.port)
    a.get("/1", server.port)
    r1 = server.receive()
    respond(server.queue, r1.RequestId)
    a.recv_response()
    a.get("/2", server.port)
    r2 = server.receive()
    respond(server.queue, r2.RequestId)
    b = client(server.port)
    b.get("/3", server.port)
    r3 = server.receive()
    assert r1.ConnectionId == r2.ConnectionId != r3.ConnectionId
    assert len({r1.RequestId, r2.RequestId, r3.RequestId}) == 3


def test_pipelined_request_waits_for_the_first_response(server: Server, client) -> None:
    c = client(server.port)
    c.send(
        f"GET /a HTTP/1.1\r\nHost: x:{server.port}\r\n\r\nGET /b HTTP/1.1\r\nHost: x:{server.port}\r\n\r\n".encode()
    )
    first = server.receive()
    assert first.pRawUrl == b"/a"
    ov = OVERLAPPED()
    second = HTTP_REQUEST_V2()
    assert HttpReceiveHttpRequest(server.queue, 0, 0, second, 4096, None, ov) == ERROR_IO_PENDING
    time.sleep(0.2)
    assert ov.Internal == ERROR_IO_PENDING
    respond(server.queue, first.RequestId)
    assert wait(server.queue, ov)[0] and second.pRawUrl == b"/b"
    assert second.ConnectionId == first.ConnectionId


def post(c: RawClient, port: int, body: bytes, path: str = "/", send_body: bool = True) -> None:
    head = f"POST {path} HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    c.send(head + (body if send_body else b""))


def test_a_request_with_a_body_and_no_copy_flag_reports_more_entity_body(server: Server, client) -> None:
    post(client(server.port), server.port, b"hello")
    request = server.receive()
    assert request.Flags & HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS
    assert (request.EntityChunkCount, request.pEntityChunks) == (0, None)
    assert known_value(request, HttpHeaderContentLength) == b"5"


def test_copy_body_copies_the_available_body_into_one_memory_chunk(server: Server, client) -> None:
    post(client(server.port), server.port, b"hello world")
    time.sleep(0.1)
    request = server.receive(flags=HTTP_RECEIVE_REQUEST_FLAG_COPY_BODY)
    assert request.EntityChunkCount == 1
    chunk = request.pEntityChunks[0]
    assert chunk.DataChunkType == HttpDataChunkFromMemory
    assert bytes(chunk.FromMemory.pBuffer) == b"hello world" and chunk.FromMemory.BufferLength == 11
    assert not request.Flags & HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS
    got = ctypes.c_ulong()
    code = HttpReceiveRequestEntityBody(server.queue, request.RequestId, 0, bytearray(16), 16, got, None)
    assert (code, got.value) == (ERROR_HANDLE_EOF, 0)


def test_copy_body_with_a_small_buffer_fills_it_and_leaves_the_rest(server: Server, client) -> None:
    body = b"0123456789" * 50
    post(client(server.port), server.port, body)
    time.sleep(0.1)
    request = HTTP_REQUEST_V2()
    code, base = receive_into(server.queue, request, 16384, flags=0)
    assert code == NO_ERROR
    respond(server.queue, request.RequestId)
    post(client(server.port), server.port, body)
    time.sleep(0.1)
    size = base + 64 + 100
    code, nbytes = receive_into(server.queue, request, size, flags=HTTP_RECEIVE_REQUEST_FLAG_COPY_BODY)
    assert code == NO_ERROR and nbytes == size
    copied = bytes(request.pEntityChunks[0].FromMemory.pBuffer)
    assert 0 < len(copied) < len(body) and body.startswith(copied)
    assert request.Flags & HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS


def test_flush_body_waits_for_and_copies_the_entire_body(server: Server, client) -> None:
    c = client(server.port)
    post(c, server.port, b"A" * 1000, send_body=False)
    time.sleep(0.1)
    ov = OVERLAPPED()
    request = HTTP_REQUEST_V2()
    code = HttpReceiveHttpRequest(
        server.queue, 0, HTTP_RECEIVE_REQUEST_FLAG_FLUSH_BODY, request, 16384, None, ov
    )
    assert code in (NO_ERROR, ERROR_IO_PENDING)
    c.send(b"A" * 400)
    time.sleep(0.05)
    c.send(b"A" * 600)
    assert wait(server.queue, ov)[0]
    data = b"".join(bytes(ch.FromMemory.pBuffer) for ch in request.pEntityChunks[: request.EntityChunkCount])
    assert data == b"A" * 1000
    assert not request.Flags & HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS


def test_plain_http_requests_carry_no_request_info(server: Server, client) -> None:
    client(server.port).get("/", server.port)
    assert server.receive().RequestInfoCount == 0


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
def test_ipv6_connections_report_sockaddr_in6(server: Server) -> None:
    try:
        c = RawClient(server.port, host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback")
    try:
        c.send(f"GET / HTTP/1.1\r\nHost: [::1]:{server.port}\r\n\r\n".encode())
        request = receive(server.queue)
        local = request.Address.pLocalAddress
        assert isinstance(local, SOCKADDR_IN6) and local.sin6_family == socket.AF_INET6
        assert local.to_address()[:2] == ("::1", server.port)
        assert request.CookedUrl.pHost == f"[::1]:{server.port}"
    finally:
        c.close()
