"""HttpSendResponseEntityBody, sentence by sentence of its documentation page (the seed), plus data-chunk types."""

from __future__ import annotations

import ctypes
import os
import socket
import tempfile

import pytest

from httpsys.win32 import *

from .harness import RawClient, Server, free_port, memory_chunk, read_all, receive, respond, send_body, wait


def started(server: Server, c: RawClient, headers: dict[int, bytes] | None = None, status: int = 200) -> int:
    """A request whose response headers went out with MORE_DATA; returns its id."""
    c.get("/", server.port)
    request = server.receive()
    code, _ = respond(
        server.queue,
        request.RequestId,
        flags=HTTP_SEND_RESPONSE_FLAG_MORE_DATA,
        status=status,
        known=headers or {},
    )
    assert code == NO_ERROR
    return request.RequestId


def send(queue: int, request_id: int, chunks: list[HTTP_DATA_CHUNK], flags: int = 0, **kwargs: object) -> int:
    sent = kwargs.pop("BytesSent", ctypes.c_ulong())
    return HttpSendResponseEntityBody(queue, request_id, flags, len(chunks), chunks, sent, **kwargs)


# ----- RequestQueueHandle ------------------------------------------------------------------------------------


def test_works_on_a_queue_from_http_create_http_handle_too(initialized: None, client) -> None:
    handle = ctypes.c_void_p()
    assert HttpCreateHttpHandle(handle, 0) == NO_ERROR
    port = free_port()
    assert HttpAddUrl(handle.value, f"http://+:{port}/", None) == NO_ERROR
    c = client(port)
    c.get("/", port)
    request = receive(handle.value)
    code, _ = respond(
        handle.value,
        request.RequestId,
        flags=HTTP_SEND_RESPONSE_FLAG_MORE_DATA,
        known={HttpHeaderContentLength: b"2"},
    )
    assert code == NO_ERROR
    assert send_body(handle.value, request.RequestId, b"v1")[0] == NO_ERROR
    assert c.recv_response()[2] == b"v1"
    assert CloseHandle(handle.value)


def test_an_invalid_handle_is_invalid_handle(server: Server) -> None:
    assert send(0xBAD0, 1, []) == ERROR_INVALID_HANDLE


# ----- RequestId ---------------------------------------------------------------------------------------------


def test_request_id_cannot_be_null_and_must_be_live(server: Server, client) -> None:
    assert send(server.queue, HTTP_NULL_ID, [memory_chunk(b"x")]) == ERROR_CONNECTION_INVALID
    assert send(server.queue, 0xDEADBEEF, [memory_chunk(b"x")]) == ERROR_CONNECTION_INVALID
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderContentLength: b"1"})
    assert send(server.queue, request_id, [memory_chunk(b"x")]) == NO_ERROR
    assert send(server.queue, request_id, [memory_chunk(b"y")]) == ERROR_CONNECTION_INVALID  # final send done


# ----- Flags ---------------------------------------------------------------------------------------------------


def test_disconnect_closes_the_connection_and_delimits_a_body_without_length(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c)
    assert (
        send(server.queue, request_id, [memory_chunk(b"part1-")], HTTP_SEND_RESPONSE_FLAG_MORE_DATA)
        == NO_ERROR
    )
    assert (
        send(server.queue, request_id, [memory_chunk(b"part2")], HTTP_SEND_RESPONSE_FLAG_DISCONNECT)
        == NO_ERROR
    )
    data = c.recv_all()
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"content-length" not in head.lower()
    assert body == b"part1-part2"  # then the server closed


def test_disconnect_overrides_keep_alive(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderContentLength: b"2"})
    assert (
        send(server.queue, request_id, [memory_chunk(b"ok")], HTTP_SEND_RESPONSE_FLAG_DISCONNECT) == NO_ERROR
    )
    assert c.recv_response()[2] == b"ok"
    assert c.closed_by_peer() == "eof"


def test_more_data_continues_and_a_call_without_it_ends_the_response(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderContentLength: b"6"})
    assert (
        send(server.queue, request_id, [memory_chunk(b"foo")], HTTP_SEND_RESPONSE_FLAG_MORE_DATA) == NO_ERROR
    )
    head = c.recv_until(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\ncontent-length: 6\r\n" in head.lower()
    assert c.recv_exact(3) == b"foo"  # the MORE_DATA send went out ...
    assert c.closed_by_peer(0.2) == "open" and c.buf == b""  # ... and the response goes on: nothing more yet
    assert send(server.queue, request_id, [memory_chunk(b"bar")]) == NO_ERROR
    assert c.recv_exact(3) == b"bar" and c.buf == b""  # the client got exactly "foobar"
    # The call without MORE_DATA ended the response: the next request on this connection gets its own response.
    c.get("/", server.port)
    request = server.receive()
    assert request.RequestId != request_id
    assert respond(server.queue, request.RequestId, b"next")[0] == NO_ERROR
    status, _, body = c.recv_response()
    assert (status, body) == (b"HTTP/1.1 200 OK", b"next")
    assert send(server.queue, request_id, [memory_chunk(b"late")]) == ERROR_CONNECTION_INVALID  # it is spent


def test_buffer_data_and_nagling_flags_are_accepted(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderContentLength: b"4"})
    flags = HTTP_SEND_RESPONSE_FLAG_MORE_DATA | HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA
    assert send(server.queue, request_id, [memory_chunk(b"ab")], flags) == NO_ERROR
    assert send(
        server.queue, request_id, [memory_chunk(b"c")], flags | HTTP_SEND_RESPONSE_FLAG_ENABLE_NAGLING
    ) == (NO_ERROR)
    assert (
        send(server.queue, request_id, [memory_chunk(b"d")], HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA) == NO_ERROR
    )
    assert c.recv_response()[2] == b"abcd"


def test_opaque_is_invalid_parameter_unless_the_status_was_101(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderContentLength: b"1"})
    assert send(server.queue, request_id, [memory_chunk(b"x")], HTTP_SEND_RESPONSE_FLAG_OPAQUE) == (
        ERROR_INVALID_PARAMETER
    )
    assert send(server.queue, request_id, [memory_chunk(b"x")]) == NO_ERROR


def test_opaque_after_a_101_turns_the_connection_into_a_byte_pipe(server: Server, client) -> None:
    c = client(server.port)
    c.send(
        f"GET /ws HTTP/1.1\r\nHost: localhost:{server.port}\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\n".encode()
    )
    request = server.receive()
    response = HTTP_RESPONSE_V2(StatusCode=101, pReason=b"Switching Protocols")
    response.Headers.KnownHeaders[HttpHeaderUpgrade] = HTTP_KNOWN_HEADER(pRawValue=b"raw")
    response.Headers.pUnknownHeaders = [HTTP_UNKNOWN_HEADER(pName=b"Connection", pRawValue=b"Upgrade")]
    flags = (
        HTTP_SEND_RESPONSE_FLAG_OPAQUE
        | HTTP_SEND_RESPONSE_FLAG_MORE_DATA
        | HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA
    )
    sent = ctypes.c_ulong()
    assert HttpSendHttpResponse(
        server.queue, request.RequestId, flags, response, None, sent, None, 0, None, None
    ) == (NO_ERROR)
    assert c.recv_until(b"\r\n\r\n").startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert send(
        server.queue, request.RequestId, [memory_chunk(b"ping")], HTTP_SEND_RESPONSE_FLAG_MORE_DATA
    ) == (NO_ERROR)
    assert c.recv_exact(4) == b"ping"
    c.send(b"pong")
    buffer = bytearray(16)
    got = ctypes.c_ulong()
    assert HttpReceiveRequestEntityBody(server.queue, request.RequestId, 0, buffer, 16, got, None) == NO_ERROR
    assert buffer[: got.value] == b"pong"


def test_disconnect_with_more_data_is_refused(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c)
    both = HTTP_SEND_RESPONSE_FLAG_DISCONNECT | HTTP_SEND_RESPONSE_FLAG_MORE_DATA
    assert send(server.queue, request_id, [memory_chunk(b"x")], both) == ERROR_INVALID_PARAMETER


def test_unknown_flags_and_goaway_without_disconnect_are_invalid_parameter(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderContentLength: b"1"})
    assert send(server.queue, request_id, [], 0x10000) == ERROR_INVALID_PARAMETER
    assert send(server.queue, request_id, [], HTTP_SEND_RESPONSE_FLAG_GOAWAY) == ERROR_INVALID_PARAMETER
    goaway = HTTP_SEND_RESPONSE_FLAG_GOAWAY | HTTP_SEND_RESPONSE_FLAG_DISCONNECT
    assert send(server.queue, request_id, [memory_chunk(b"z")], goaway) == NO_ERROR
    assert c.recv_response()[2] == b"z"
    assert c.closed_by_peer() == "eof"


# ----- EntityChunkCount / EntityChunks -------------------------------------------------------------------------


def test_entity_chunk_count_cannot_exceed_9999(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c)
    chunks = [memory_chunk(b"")] * 10000
    sent = ctypes.c_ulong()
    assert HttpSendResponseEntityBody(
        server.queue, request_id, 0, 10000, chunks, sent, None, 0, None, None
    ) == (ERROR_INVALID_PARAMETER)
    many = [memory_chunk(b"x")] * 9999
    code = HttpSendResponseEntityBody(
        server.queue, request_id, HTTP_SEND_RESPONSE_FLAG_DISCONNECT, 9999, many, sent, None, 0, None, None
    )
    assert code == NO_ERROR and sent.value == 9999


def test_the_count_says_how_many_chunks_of_the_array_are_sent(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderContentLength: b"3"})
    chunks = [memory_chunk(b"abc"), memory_chunk(b"IGNORED")]
    sent = ctypes.c_ulong()
    assert HttpSendResponseEntityBody(server.queue, request_id, 0, 3, chunks, sent, None, 0, None, None) == (
        ERROR_INVALID_PARAMETER
    )
    assert HttpSendResponseEntityBody(server.queue, request_id, 0, 1, None, sent, None, 0, None, None) == (
        ERROR_INVALID_PARAMETER
    )
    assert (
        HttpSendResponseEntityBody(server.queue, request_id, 0, 1, chunks, sent, None, 0, None, None)
        == NO_ERROR
    )
    assert sent.value == 3
    assert c.recv_response()[2] == b"abc"


def test_zero_chunks_finish_the_response(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderContentLength: b"2"})
    assert (
        send(server.queue, request_id, [memory_chunk(b"hi")], HTTP_SEND_RESPONSE_FLAG_MORE_DATA) == NO_ERROR
    )
    sent = ctypes.c_ulong(9)
    assert (
        HttpSendResponseEntityBody(server.queue, request_id, 0, 0, None, sent, None, 0, None, None)
        == NO_ERROR
    )
    assert sent.value == 0
    assert c.recv_response()[2] == b"hi"


def test_bytes_are_written_raw_without_chunk_framing(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderTransferEncoding: b"chunked"})
    assert send(
        server.queue, request_id, [memory_chunk(b"3\r\nabc\r\n")], HTTP_SEND_RESPONSE_FLAG_MORE_DATA
    ) == (NO_ERROR)
    assert send(server.queue, request_id, [memory_chunk(b"0\r\n\r\n")]) == NO_ERROR
    c.recv_until(b"\r\n\r\n")
    assert c.recv_until(b"0\r\n\r\n") == b"3\r\nabc\r\n0\r\n\r\n"


def test_automatic_chunking_frames_each_call(server: Server, client) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request = server.receive()
    flags = HTTP_SEND_RESPONSE_FLAG_MORE_DATA | HTTP_SEND_RESPONSE_FLAG_AUTOMATIC_CHUNKING
    assert respond(server.queue, request.RequestId, flags=flags)[0] == NO_ERROR
    assert send(
        server.queue, request.RequestId, [memory_chunk(b"abc")], HTTP_SEND_RESPONSE_FLAG_MORE_DATA
    ) == (NO_ERROR)
    assert send(server.queue, request.RequestId, []) == NO_ERROR
    head = c.recv_until(b"\r\n\r\n").lower()
    assert b"transfer-encoding: chunked" in head
    assert c.recv_until(b"0\r\n\r\n") == b"3\r\nabc\r\n0\r\n\r\n"


# ----- BytesSent, Reserved1, Reserved2, LogData ------------------------------------------------------------------


def test_bytes_sent_counts_the_body_bytes_of_the_call(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderContentLength: b"6"})
    sent = ctypes.c_ulong()
    chunks = [memory_chunk(b"foo"), memory_chunk(b"bar")]
    assert (
        HttpSendResponseEntityBody(server.queue, request_id, 0, 2, chunks, sent, None, 0, None, None)
        == NO_ERROR
    )
    assert sent.value == 6
    assert c.recv_response()[2] == b"foobar"


def test_synchronous_call_needs_bytes_sent(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderContentLength: b"1"})
    chunk = [memory_chunk(b"x")]
    assert HttpSendResponseEntityBody(server.queue, request_id, 0, 1, chunk, None, None, 0, None, None) == (
        ERROR_INVALID_PARAMETER
    )
    assert HttpSendResponseEntityBody(server.queue, request_id, 0, 1, chunk, "x", None, 0, None, None) == (
        ERROR_INVALID_PARAMETER
    )
    ov = OVERLAPPED()
    code = HttpSendResponseEntityBody(server.queue, request_id, 0, 1, chunk, None, None, 0, ov, None)
    assert code in (NO_ERROR, ERROR_IO_PENDING)
    ok, _, nbytes = wait(server.queue, ov)
    assert ok and nbytes == 1


def test_reserved_parameters_must_be_null_and_zero(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderContentLength: b"1"})
    chunk = [memory_chunk(b"x")]
    sent = ctypes.c_ulong()
    assert HttpSendResponseEntityBody(server.queue, request_id, 0, 1, chunk, sent, b"r", 0, None, None) == (
        ERROR_INVALID_PARAMETER
    )
    assert HttpSendResponseEntityBody(server.queue, request_id, 0, 1, chunk, sent, None, 1, None, None) == (
        ERROR_INVALID_PARAMETER
    )
    assert (
        HttpSendResponseEntityBody(server.queue, request_id, 0, 1, chunk, sent, None, 0, None, None)
        == NO_ERROR
    )


def test_log_data_takes_http_log_fields_data(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderContentLength: b"1"})
    sent = ctypes.c_ulong()
    chunk = [memory_chunk(b"x")]
    assert HttpSendResponseEntityBody(server.queue, request_id, 0, 1, chunk, sent, None, 0, None, b"log") == (
        ERROR_INVALID_PARAMETER
    )
    log = HTTP_LOG_FIELDS_DATA(
        Base=HTTP_LOG_DATA(HttpLogDataTypeFields),
        UriStem="/",
        Method=b"GET",
        ProtocolStatus=200,
        ServerPort=80,
    )
    assert (
        HttpSendResponseEntityBody(server.queue, request_id, 0, 1, chunk, sent, None, 0, None, log)
        == NO_ERROR
    )
    assert c.recv_response()[2] == b"x"


# ----- Overlapped and return values ----------------------------------------------------------------------------


def test_asynchronous_send_completes_through_get_overlapped_result(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderContentLength: b"5"})
    ov = OVERLAPPED(hEvent=CreateEvent(None, True, False, None))
    code = HttpSendResponseEntityBody(
        server.queue, request_id, 0, 1, [memory_chunk(b"async")], None, None, 0, ov, None
    )
    assert code in (NO_ERROR, ERROR_IO_PENDING)
    assert WaitForSingleObject(ov.hEvent, 5000) == WAIT_OBJECT_0
    nbytes = ctypes.c_ulong()
    assert GetOverlappedResult(server.queue, ov, nbytes, True) and nbytes.value == 5
    assert c.recv_response()[2] == b"async"
    CloseHandle(ov.hEvent)


def test_a_second_send_while_one_is_pending_is_bad_command(server: Server, client) -> None:
    c = client(server.port)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    request_id = started(server, c)
    big = memory_chunk(b"z" * (32 * 1024 * 1024))
    ov = OVERLAPPED()
    flags = HTTP_SEND_RESPONSE_FLAG_MORE_DATA
    code = HttpSendResponseEntityBody(server.queue, request_id, flags, 1, [big], None, None, 0, ov, None)
    assert code == ERROR_IO_PENDING  # the client reads nothing: the send cannot finish
    assert send(server.queue, request_id, [memory_chunk(b"y")], flags) == ERROR_BAD_COMMAND
    c.close()
    ok, error, _ = wait(server.queue, ov)
    assert not ok and error != NO_ERROR


# ----- data chunk types ----------------------------------------------------------------------------------------


@pytest.fixture
def data_file():
    fd, path = tempfile.mkstemp()
    os.write(fd, b"0123456789")
    os.close(fd)
    with open(path, "rb") as f:
        yield f
    os.unlink(path)


def file_chunk(handle: object, offset: int = 0, length: int = HTTP_BYTE_RANGE_TO_EOF) -> HTTP_DATA_CHUNK:
    return HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromFileHandle,
        FromFileHandle=HTTP_DATA_CHUNK_FROM_FILE_HANDLE(HTTP_BYTE_RANGE(offset, length), handle),
    )


def test_file_handle_chunks_send_byte_ranges_of_files(server: Server, client, data_file) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderContentLength: b"17"})
    chunks = [file_chunk(data_file), file_chunk(data_file.fileno(), 2, 3), file_chunk(data_file, 6)]
    sent = ctypes.c_ulong()
    assert (
        HttpSendResponseEntityBody(server.queue, request_id, 0, 3, chunks, sent, None, 0, None, None)
        == NO_ERROR
    )
    assert sent.value == 17
    assert c.recv_response()[2] == b"0123456789" + b"234" + b"6789"


def test_bad_file_handles_and_ranges_fail(server: Server, client, data_file) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderContentLength: b"1"})
    assert send(server.queue, request_id, [file_chunk("nope")], HTTP_SEND_RESPONSE_FLAG_MORE_DATA) == (
        ERROR_INVALID_PARAMETER
    )
    assert (
        send(server.queue, request_id, [file_chunk(-1)], HTTP_SEND_RESPONSE_FLAG_MORE_DATA)
        == ERROR_INVALID_HANDLE
    )
    assert send(
        server.queue, request_id, [file_chunk(data_file, 5, 50)], HTTP_SEND_RESPONSE_FLAG_MORE_DATA
    ) == (ERROR_INVALID_PARAMETER)


def test_fragment_cache_chunks_send_cached_fragments(server: Server, client) -> None:
    name = f"http://+:{server.port}/fragments/one"
    policy = HTTP_CACHE_POLICY(HttpCachePolicyUserInvalidates, 0)
    assert HttpAddFragmentToCache(server.queue, name, memory_chunk(b"<fragment>"), policy, None) == NO_ERROR
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderContentLength: b"14"})
    whole = HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromFragmentCache,
        FromFragmentCache=HTTP_DATA_CHUNK_FROM_FRAGMENT_CACHE(0, name),
    )
    part = HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromFragmentCacheEx,
        FromFragmentCacheEx=HTTP_DATA_CHUNK_FROM_FRAGMENT_CACHE_EX(HTTP_BYTE_RANGE(1, 4), name),
    )
    sent = ctypes.c_ulong()
    assert HttpSendResponseEntityBody(
        server.queue, request_id, 0, 2, [whole, part], sent, None, 0, None, None
    ) == (NO_ERROR)
    assert c.recv_response()[2] == b"<fragment>frag"


def test_a_missing_fragment_is_path_not_found(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderContentLength: b"1"})
    gone = HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromFragmentCache,
        FromFragmentCache=HTTP_DATA_CHUNK_FROM_FRAGMENT_CACHE(pFragmentName=f"http://+:{server.port}/gone"),
    )
    assert send(server.queue, request_id, [gone], HTTP_SEND_RESPONSE_FLAG_MORE_DATA) == ERROR_PATH_NOT_FOUND


def test_trailers_chunk_ends_a_chunked_response(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderTransferEncoding: b"chunked", HttpHeaderTrailer: b"X-Sum"})
    trailers = HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkTrailers,
        Trailers=HTTP_DATA_CHUNK_TRAILERS(1, [HTTP_UNKNOWN_HEADER(pName=b"X-Sum", pRawValue=b"42")]),
    )
    assert send(server.queue, request_id, [memory_chunk(b"2\r\nok\r\n"), trailers]) == NO_ERROR
    c.recv_until(b"\r\n\r\n")
    assert c.recv_until(b"\r\n\r\n") == b"2\r\nok\r\n0\r\nX-Sum: 42\r\n\r\n"


def test_forbidden_trailers_and_unknown_chunk_types_are_invalid_parameter(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderTransferEncoding: b"chunked"})
    bad = HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkTrailers,
        Trailers=HTTP_DATA_CHUNK_TRAILERS(1, [HTTP_UNKNOWN_HEADER(pName=b"Content-Length", pRawValue=b"1")]),
    )
    assert send(server.queue, request_id, [bad], HTTP_SEND_RESPONSE_FLAG_MORE_DATA) == ERROR_INVALID_PARAMETER
    assert send(server.queue, request_id, [HTTP_DATA_CHUNK(DataChunkType=HttpDataChunkMaximum)], 2) == (
        ERROR_INVALID_PARAMETER
    )
    assert send(server.queue, request_id, ["not a chunk"], 2) == ERROR_INVALID_PARAMETER


def test_memory_chunk_length_is_honoured_and_validated(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server, c, {HttpHeaderContentLength: b"6"})
    short = HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromMemory, FromMemory=HTTP_DATA_CHUNK_FROM_MEMORY(bytearray(b"abcdef"), 2)
    )
    too_long = HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromMemory, FromMemory=HTTP_DATA_CHUNK_FROM_MEMORY(b"abc", 4)
    )
    assert (
        send(server.queue, request_id, [too_long], HTTP_SEND_RESPONSE_FLAG_MORE_DATA)
        == ERROR_INVALID_PARAMETER
    )
    text = HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromMemory, FromMemory=HTTP_DATA_CHUNK_FROM_MEMORY("str")
    )
    assert (
        send(server.queue, request_id, [text], HTTP_SEND_RESPONSE_FLAG_MORE_DATA) == ERROR_INVALID_PARAMETER
    )
    ctypes_buffer = (ctypes.c_char * 4)(*b"wxyz")
    from_ctypes = HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromMemory, FromMemory=HTTP_DATA_CHUNK_FROM_MEMORY(ctypes_buffer)
    )
    assert send(server.queue, request_id, [short, from_ctypes]) == NO_ERROR
    assert c.recv_response()[2] == b"abwxyz"


def test_body_of_a_request_can_be_echoed(server: Server, client) -> None:
    c = client(server.port)
    c.send(f"POST / HTTP/1.1\r\nHost: localhost:{server.port}\r\nContent-Length: 4\r\n\r\necho".encode())
    request = server.receive()
    body = read_all(server.queue, request.RequestId)
    assert respond(server.queue, request.RequestId, body)[0] == NO_ERROR
    assert c.recv_response()[2] == b"echo"
