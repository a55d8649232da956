"""The send path in depth: ranges, opaque upgrades, data chunks, the fragment cache, completion and failure.

Spec §2.2 (HttpSendHttpResponse, HttpSendResponseEntityBody, the fragment-cache functions), §3.4, §5.9,
reliability §1.1 (MS15-034) and §2.3 (send flags); decisions in docs/decisions/0007-send-path.md. The seed page's
own sentences are in test_seed_send_entity_body.py; these tests pin down what those sentences leave to the
implementation, with responses parsed by h11 (strict_client.py) or checked byte for byte on a raw socket.
"""

from __future__ import annotations

import ctypes
import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from httpsys.win32 import *

from .harness import RawClient, Server, make_response, memory_chunk, read_body, receive, wait
from .strict_client import Reply, StrictClient

MORE = HTTP_SEND_RESPONSE_FLAG_MORE_DATA
RANGES = HTTP_SEND_RESPONSE_FLAG_PROCESS_RANGES
ENTITY = bytes(range(100))  # the 100-byte resource of reliability §1.1
RESET = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # SO_LINGER {on, 0}: close() sends a reset


@pytest.fixture
def strict() -> Iterator[Callable[[int], StrictClient]]:
    clients: list[StrictClient] = []

    def factory(port: int) -> StrictClient:
        c = StrictClient(port)
        clients.append(c)
        return c

    yield factory
    for c in clients:
        c.close()


@pytest.fixture
def data_file() -> Iterator[Any]:
    with tempfile.TemporaryFile() as f:
        f.write(b"0123456789abcdefghij")
        f.flush()
        yield f


def respond(server: Server, request_id: int, response: object, flags: int = 0) -> tuple[int, int]:
    sent = ctypes.c_ulong()
    code = HttpSendHttpResponse(server.queue, request_id, flags, response, None, sent, None, 0, None, None)
    return code, sent.value


def entity_body(
    server: Server, request_id: int, chunks: list[HTTP_DATA_CHUNK], flags: int = 0
) -> tuple[int, int]:
    sent = ctypes.c_ulong()
    code = HttpSendResponseEntityBody(
        server.queue, request_id, flags, len(chunks), chunks, sent, None, 0, None, None
    )
    return code, sent.value


def file_chunk(handle: object, offset: int = 0, length: int = HTTP_BYTE_RANGE_TO_EOF) -> HTTP_DATA_CHUNK:
    return HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromFileHandle,
        FromFileHandle=HTTP_DATA_CHUNK_FROM_FILE_HANDLE(HTTP_BYTE_RANGE(offset, length), handle),
    )


def fragment_chunk(name: str) -> HTTP_DATA_CHUNK:
    return HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromFragmentCache,
        FromFragmentCache=HTTP_DATA_CHUNK_FROM_FRAGMENT_CACHE(pFragmentName=name),
    )


def fragment_ex_chunk(name: str, offset: int, length: int) -> HTTP_DATA_CHUNK:
    return HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromFragmentCacheEx,
        FromFragmentCacheEx=HTTP_DATA_CHUNK_FROM_FRAGMENT_CACHE_EX(HTTP_BYTE_RANGE(offset, length), name),
    )


def trailers_chunk(*fields: tuple[bytes, bytes]) -> HTTP_DATA_CHUNK:
    headers = [HTTP_UNKNOWN_HEADER(pName=n, pRawValue=v) for n, v in fields]
    return HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkTrailers, Trailers=HTTP_DATA_CHUNK_TRAILERS(len(headers), headers)
    )


def ranged(
    server: Server,
    c: StrictClient,
    range_value: bytes,
    entity: bytes | list[HTTP_DATA_CHUNK] = ENTITY,
    known: dict[int, bytes] | None = None,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> tuple[Reply, int]:
    """A GET with `Range: range_value` answered with the full entity and PROCESS_RANGES."""
    c.request(b"GET", b"/r", [(b"Range", range_value), *(extra or [])])
    request_id = receive(server.queue).RequestId
    response = make_response(known={HttpHeaderContentType: b"text/plain", **(known or {})})
    chunks = entity if isinstance(entity, list) else [memory_chunk(entity)]
    response.pEntityChunks = chunks
    response.EntityChunkCount = len(chunks)
    code, sent = respond(server, request_id, response, RANGES)
    assert code == NO_ERROR
    return c.reply(), sent


# ----- PROCESS_RANGES: reliability §1.1 (MS15-034) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("range_value", "status", "content_range", "body"),
    [
        (b"bytes=0-18446744073709551615", 206, b"bytes 0-99/100", ENTITY),
        (b"bytes=18-18446744073709551615", 206, b"bytes 18-99/100", ENTITY[18:]),
        (b"bytes=18446744073709551615-", 416, b"bytes */100", b""),
        (b"bytes=100-", 416, b"bytes */100", b""),
        (b"bytes=-0", 416, b"bytes */100", b""),
        (b"bytes=-18446744073709551616", 206, b"bytes 0-99/100", ENTITY),
        (b"bytes=5-3", 200, None, ENTITY),
        (b"bytes=0-99999999999999999999999999999999999999", 206, b"bytes 0-99/100", ENTITY),
        (b"bytes=99-99", 206, b"bytes 99-99/100", ENTITY[99:]),
        (b"bytes=-1", 206, b"bytes 99-99/100", ENTITY[99:]),
    ],
)
def test_absurd_and_edge_ranges_are_answered_as_reliability_1_1_requires(
    server: Server, strict, range_value: bytes, status: int, content_range: bytes | None, body: bytes
) -> None:
    c = strict(server.port)
    reply, sent = ranged(server, c, range_value)
    assert (reply.status, reply.header(b"Content-Range"), reply.body) == (status, content_range, body)
    assert reply.header(b"Content-Length") == b"%d" % len(body)
    assert sent == len(reply.raw) and not reply.closed
    if status == 416:
        assert reply.header(b"Content-Type") is None  # no entity follows


def test_ms15_034_crash_pair_twice_on_one_connection_keeps_working(server: Server, strict) -> None:
    c = strict(server.port)
    # the first request primed the kernel cache of an unpatched HTTP.sys, the second crashed it
    for _ in range(2):
        reply, _ = ranged(server, c, b"bytes=18-18446744073709551615")
        assert reply.status == 206 and reply.body == ENTITY[18:]
    c.get()
    request_id = receive(server.queue).RequestId
    assert respond(server, request_id, make_response(body=b"alive"))[0] == NO_ERROR
    assert c.reply().body == b"alive"


def test_a_range_number_with_thousands_of_digits_never_fails_the_server(server: Server, strict) -> None:
    c = strict(server.port)
    reply, _ = ranged(server, c, b"bytes=" + b"9" * 5000 + b"-")
    assert reply.status in (200, 416)
    reply, _ = ranged(server, c, b"bytes=0-" + b"1" * 5000)
    assert reply.status in (200, 206) and reply.body == ENTITY


def test_several_ranges_become_multipart_byteranges(server: Server, strict) -> None:
    c = strict(server.port)
    reply, sent = ranged(server, c, b"bytes=0-1, 10-12,-2")
    assert reply.status == 206 and reply.header(b"Content-Range") is None
    content_type = reply.header(b"Content-Type")
    assert content_type is not None
    match = re.fullmatch(rb"multipart/byteranges; boundary=([0-9A-Za-z'()+_,\-./:=?]{1,70})", content_type)
    assert match is not None
    boundary = match.group(1)
    expected = (
        b"".join(
            b"\r\n--"
            + boundary
            + b"\r\nContent-Type: text/plain\r\nContent-Range: bytes %d-%d/100\r\n\r\n" % (a, b)
            + ENTITY[a : b + 1]
            for a, b in ((0, 1), (10, 12), (98, 99))
        )
        + b"\r\n--"
        + boundary
        + b"--\r\n"
    )
    assert reply.body == expected and reply.header(b"Content-Length") == b"%d" % len(expected)
    assert sent == len(reply.raw)


def test_overlapping_and_adjacent_ranges_are_coalesced(server: Server, strict) -> None:
    c = strict(server.port)
    reply, _ = ranged(server, c, b"bytes=0-5,3-8,9-9")
    assert (reply.status, reply.header(b"Content-Range"), reply.body) == (206, b"bytes 0-9/100", ENTITY[:10])


def test_ranges_are_cut_from_file_chunks_and_memory_chunks_alike(server: Server, strict, data_file) -> None:
    c = strict(server.port)
    chunks = [memory_chunk(b"MEM-"), file_chunk(data_file), memory_chunk(b"-END")]
    reply, _ = ranged(server, c, b"bytes=2-9", chunks)
    assert (reply.status, reply.body) == (206, b"M-012345")
    assert reply.header(b"Content-Range") == b"bytes 2-9/28"
    reply, _ = ranged(
        server, c, b"bytes=5-6,20-25", [file_chunk(data_file.fileno()), memory_chunk(b"KLMNOPQR")]
    )
    assert reply.status == 206 and reply.body.count(b"\r\n\r\n56\r\n--") == 1
    assert reply.body.count(b"Content-Range: bytes 20-25/28\r\n\r\nKLMNOP\r\n--") == 1


@pytest.mark.parametrize(("if_range", "status"), [(b'"v1"', 206), (b'"v2"', 200), (b'W/"v1"', 200)])
def test_if_range_needs_a_strong_etag_match(server: Server, strict, if_range: bytes, status: int) -> None:
    c = strict(server.port)
    reply, _ = ranged(
        server, c, b"bytes=0-3", known={HttpHeaderEtag: b'"v1"'}, extra=[(b"If-Range", if_range)]
    )
    assert reply.status == status and reply.header(b"ETag") == b'"v1"'


def test_a_416_keeps_the_application_headers_but_not_content_type(server: Server, strict) -> None:
    c = strict(server.port)
    known = {HttpHeaderEtag: b'"tag"', HttpHeaderCacheControl: b"max-age=60"}
    reply, _ = ranged(server, c, b"bytes=500-", known=known)
    assert reply.status == 416 and reply.reason == b"Requested Range Not Satisfiable"
    assert reply.header(b"ETag") == b'"tag"' and reply.header(b"Cache-Control") == b"max-age=60"
    assert reply.header(b"Content-Type") is None


def test_process_ranges_with_more_data_leaves_the_response_as_sent(server: Server, strict) -> None:
    c = strict(server.port)
    c.request(b"GET", b"/", [(b"Range", b"bytes=0-1")])
    request_id = receive(server.queue).RequestId
    response = make_response(body=b"abc", known={HttpHeaderContentLength: b"6"})
    assert respond(server, request_id, response, RANGES | MORE)[0] == NO_ERROR
    assert entity_body(server, request_id, [memory_chunk(b"def")], RANGES)[0] == NO_ERROR
    reply = c.reply()
    assert (reply.status, reply.body) == (200, b"abcdef")  # the entity was not whole in one call


def test_a_request_without_range_gets_the_full_entity(server: Server, strict) -> None:
    c = strict(server.port)
    c.get()
    request_id = receive(server.queue).RequestId
    assert respond(server, request_id, make_response(body=ENTITY), RANGES)[0] == NO_ERROR
    reply = c.reply()
    assert (reply.status, reply.body, reply.header(b"Content-Range")) == (200, ENTITY, None)


def test_a_close_delimited_body_closes_the_connection_even_without_disconnect(server: Server, strict) -> None:
    c = strict(server.port)
    c.get()
    request_id = receive(server.queue).RequestId
    code, _ = respond(server, request_id, make_response(), MORE)  # no Content-Length, no Transfer-Encoding
    assert code == NO_ERROR
    assert entity_body(server, request_id, [memory_chunk(b"forgot DISCONNECT")])[0] == NO_ERROR
    reply = c.reply()
    assert reply.header(b"Connection") == b"close" and reply.body == b"forgot DISCONNECT" and reply.closed
    assert c.server_closed()


# ----- OPAQUE ----------------------------------------------------------------------------------------------------


def upgrade(
    server: Server, c: RawClient, tail: bytes = b"", flags: int = HTTP_SEND_RESPONSE_FLAG_OPAQUE
) -> int:
    c.send(b"GET /up HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: bytes\r\n\r\n" + tail)
    request_id = receive(server.queue).RequestId
    response = HTTP_RESPONSE_V2(StatusCode=101, pReason=b"Switching Protocols")
    response.Headers.KnownHeaders[HttpHeaderUpgrade] = HTTP_KNOWN_HEADER(pRawValue=b"bytes")
    response.Headers.pUnknownHeaders = [HTTP_UNKNOWN_HEADER(pName=b"Connection", pRawValue=b"Upgrade")]
    code, sent = respond(server, request_id, response, flags)
    assert code == NO_ERROR
    head = c.recv_until(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n") and len(head) == sent
    assert b"Content-Length" not in head and b"Connection: close" not in head
    return request_id


def test_opaque_alone_keeps_the_request_open_more_data_is_implied(server: Server, client) -> None:
    c = client(server.port)
    request_id = upgrade(server, c)
    assert entity_body(server, request_id, [memory_chunk(b"still here")], MORE) == (NO_ERROR, 10)
    assert c.recv_exact(10) == b"still here"


def test_opaque_with_disconnect_is_refused_like_disconnect_with_more_data(server: Server, client) -> None:
    c = client(server.port)
    c.send(b"GET /up HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: bytes\r\n\r\n")
    request_id = receive(server.queue).RequestId
    response = HTTP_RESPONSE_V2(StatusCode=101, pReason=b"Switching Protocols")
    flags = HTTP_SEND_RESPONSE_FLAG_OPAQUE | HTTP_SEND_RESPONSE_FLAG_DISCONNECT
    assert respond(server, request_id, response, flags)[0] == ERROR_INVALID_PARAMETER


def test_bytes_sent_right_behind_the_upgrade_request_are_entity_body(server: Server, client) -> None:
    c = client(server.port)
    request_id = upgrade(server, c, tail=b"\x00early\xffbytes")
    assert read_body(server.queue, request_id) == (NO_ERROR, b"\x00early\xffbytes")


def test_opaque_carries_a_megabyte_each_way_byte_exact(server: Server, client) -> None:
    c = client(server.port)
    request_id = upgrade(server, c)
    up, down = os.urandom(1 << 20), os.urandom(1 << 20)
    sender = threading.Thread(target=c.sock.sendall, args=(up,))
    sender.start()
    received = bytearray()
    while len(received) < len(up):
        code, data = read_body(server.queue, request_id)
        assert code == NO_ERROR
        received += data
    sender.join(5)
    assert bytes(received) == up
    reader_out: list[bytes] = []
    reader = threading.Thread(target=lambda: reader_out.append(c.recv_exact(len(down), 10)))
    reader.start()
    assert entity_body(server, request_id, [memory_chunk(down)], MORE) == (NO_ERROR, len(down))
    reader.join(10)
    assert reader_out == [down]


def test_after_the_client_half_closes_the_server_may_still_send_then_closes(server: Server, client) -> None:
    c = client(server.port)
    request_id = upgrade(server, c)
    c.sock.shutdown(socket.SHUT_WR)
    assert read_body(server.queue, request_id)[0] == ERROR_HANDLE_EOF
    assert read_body(server.queue, request_id)[0] == ERROR_HANDLE_EOF  # and it stays at EOF
    assert entity_body(server, request_id, [memory_chunk(b"last words")], MORE)[0] == NO_ERROR
    assert entity_body(server, request_id, [])[0] == NO_ERROR  # the final send ends the stream
    assert c.recv_exact(10) == b"last words"
    assert c.closed_by_peer() == "eof"
    assert entity_body(server, request_id, [memory_chunk(b"x")])[0] == ERROR_CONNECTION_INVALID


def test_a_reset_fails_the_pending_opaque_read_and_later_sends(server: Server, client) -> None:
    c = client(server.port)
    request_id = upgrade(server, c)
    ov = OVERLAPPED()
    buffer = bytearray(64)
    assert HttpReceiveRequestEntityBody(server.queue, request_id, 0, buffer, 64, None, ov) == ERROR_IO_PENDING
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET)
    c.close()
    ok, error, _ = wait(server.queue, ov)
    assert not ok and error == ERROR_CONNECTION_INVALID
    assert entity_body(server, request_id, [memory_chunk(b"x")], MORE)[0] == ERROR_CONNECTION_INVALID


# ----- data chunks: FromFileHandle -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "length", "expected"),
    [
        (0, HTTP_BYTE_RANGE_TO_EOF, b"0123456789abcdefghij"),
        (10, HTTP_BYTE_RANGE_TO_EOF, b"abcdefghij"),
        (20, HTTP_BYTE_RANGE_TO_EOF, b""),
        (3, 4, b"3456"),
        (0, 0, b""),
        (19, 1, b"j"),
    ],
)
def test_file_handle_byte_ranges(
    server: Server, strict, data_file, offset: int, length: int, expected: bytes
) -> None:
    c = strict(server.port)
    c.get()
    request_id = receive(server.queue).RequestId
    response = HTTP_RESPONSE_V2(
        StatusCode=200, pReason=b"OK", pEntityChunks=[file_chunk(data_file, offset, length)]
    )
    assert respond(server, request_id, response)[0] == NO_ERROR
    reply = c.reply()
    assert reply.body == expected and reply.header(b"Content-Length") == b"%d" % len(expected)


@pytest.mark.parametrize(("offset", "length"), [(21, HTTP_BYTE_RANGE_TO_EOF), (15, 6), (0, 21), (2**63, 1)])
def test_file_byte_ranges_outside_the_file_are_invalid_parameter(
    server: Server, client, data_file, offset: int, length: int
) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request_id = receive(server.queue).RequestId
    response = HTTP_RESPONSE_V2(
        StatusCode=200, pReason=b"OK", pEntityChunks=[file_chunk(data_file, offset, length)]
    )
    assert respond(server, request_id, response)[0] == ERROR_INVALID_PARAMETER
    assert respond(server, request_id, make_response(body=b"ok"))[0] == NO_ERROR


@pytest.mark.parametrize("handle", ["fd", "file object", "os.open fd"])
def test_file_handle_may_be_a_descriptor_or_a_file_object(server: Server, strict, handle: str) -> None:
    c = strict(server.port)
    with tempfile.NamedTemporaryFile() as f:
        f.write(b"file contents")
        f.flush()
        fd = os.open(f.name, os.O_RDONLY) if handle == "os.open fd" else -1
        try:
            value: object = {"fd": f.fileno(), "file object": f, "os.open fd": fd}[handle]
            c.get()
            request_id = receive(server.queue).RequestId
            response = HTTP_RESPONSE_V2(StatusCode=200, pReason=b"OK", pEntityChunks=[file_chunk(value)])
            assert respond(server, request_id, response)[0] == NO_ERROR
        finally:
            if fd >= 0:
                os.close(fd)
    assert c.reply().body == b"file contents"


@pytest.mark.embedded_only("inside")  # counts os.sendfile calls of the in-process driver
def test_file_chunks_go_out_through_sendfile(server: Server, strict, monkeypatch) -> None:
    through_sendfile = [0]
    real = os.sendfile

    def counting(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        sent = real(out_fd, in_fd, offset, count)
        through_sendfile[0] += sent
        return sent

    monkeypatch.setattr(os, "sendfile", counting)
    payload = os.urandom(3 * 1024 * 1024)
    with tempfile.TemporaryFile() as f:
        f.write(payload)
        f.flush()
        c = strict(server.port)
        c.get()
        request_id = receive(server.queue).RequestId
        assert (
            respond(
                server,
                request_id,
                make_response(known={HttpHeaderContentLength: b"%d" % (len(payload) + 3)}),
                MORE,
            )[0]
            == NO_ERROR
        )
        chunks = [file_chunk(f, 0, 1024 * 1024), memory_chunk(b"mem"), file_chunk(f, 1024 * 1024)]
        assert entity_body(server, request_id, chunks) == (NO_ERROR, len(payload) + 3)
        reply = c.reply(10)
    assert reply.body == payload[: 1 << 20] + b"mem" + payload[1 << 20 :]
    assert through_sendfile[0] == len(payload)  # every file byte zero-copy, none through user space


def test_a_descriptor_that_is_not_open_is_invalid_handle(server: Server, client) -> None:
    fd = 1 << 20  # above any descriptor this process has open (a closed number may be reused at once)
    with pytest.raises(OSError):
        os.fstat(fd)
    c = client(server.port)
    c.get("/", server.port)
    request_id = receive(server.queue).RequestId
    response = HTTP_RESPONSE_V2(StatusCode=200, pReason=b"OK", pEntityChunks=[file_chunk(fd)])
    assert respond(server, request_id, response)[0] == ERROR_INVALID_HANDLE


# ----- data chunks: the fragment cache ---------------------------------------------------------------------------


def add_fragment(
    server: Server,
    name: str,
    chunk: HTTP_DATA_CHUNK,
    policy: int = HttpCachePolicyUserInvalidates,
    seconds: int = 0,
) -> int:
    return HttpAddFragmentToCache(server.queue, name, chunk, HTTP_CACHE_POLICY(policy, seconds), None)


def read_fragment(
    server: Server, name: str, byte_range: HTTP_BYTE_RANGE | None = None, size: int = 256
) -> tuple[int, bytes, int]:
    buffer = bytearray(size)
    nbytes = ctypes.c_ulong()
    code = HttpReadFragmentFromCache(server.queue, name, byte_range, buffer, size, nbytes, None)
    return code, bytes(buffer[: nbytes.value]) if code == NO_ERROR else b"", nbytes.value


def test_fragment_added_is_read_back_whole_or_by_range(server: Server) -> None:
    name = f"http://+:{server.port}/frag/page"
    assert add_fragment(server, name, memory_chunk(b"<header>fragment</header>")) == NO_ERROR
    assert read_fragment(server, name)[:2] == (NO_ERROR, b"<header>fragment</header>")
    assert read_fragment(server, name, HTTP_BYTE_RANGE(8, 8))[:2] == (NO_ERROR, b"fragment")
    assert read_fragment(server, name, HTTP_BYTE_RANGE(8, HTTP_BYTE_RANGE_TO_EOF))[1] == b"fragment</header>"
    assert read_fragment(server, name, size=4) == (ERROR_MORE_DATA, b"", 25)  # the size needed


def test_fragment_from_a_file_chunk_is_cached(server: Server, data_file) -> None:
    name = f"http://+:{server.port}/frag/file"
    assert add_fragment(server, name, file_chunk(data_file, 10, 5)) == NO_ERROR
    assert read_fragment(server, name)[1] == b"abcde"


def test_a_file_handle_response_with_a_cache_policy_is_answered_from_the_cache(
    server: Server, strict, data_file
) -> None:
    c = strict(server.port)
    c.get(b"/cached")
    request_id = receive(server.queue).RequestId
    response = HTTP_RESPONSE_V2(
        StatusCode=200, pReason=b"OK", pEntityChunks=[memory_chunk(b"<"), file_chunk(data_file, 10, 5)]
    )
    policy = HTTP_CACHE_POLICY(HttpCachePolicyTimeToLive, 60)
    sent = ctypes.c_ulong()
    assert HttpSendHttpResponse(server.queue, request_id, 0, response, policy, sent, None, 0, None, None) == (
        NO_ERROR
    )
    assert c.reply().body == b"<abcde"
    data_file.seek(10)
    data_file.write(b"XXXXX")  # the driver read the region once, when it stored the response
    data_file.flush()
    c.get(b"/cached")
    assert c.reply().body == b"<abcde"
    c.get(b"/other")  # the next request the application sees is this one: /cached never reached the queue
    assert receive(server.queue).pRawUrl == b"/other"


def test_fragments_are_sent_whole_or_by_range_and_overwritten(server: Server, strict) -> None:
    name = f"http://+:{server.port}/frag/x"
    assert add_fragment(server, name, memory_chunk(b"version-1")) == NO_ERROR
    c = strict(server.port)
    c.get()
    request_id = receive(server.queue).RequestId
    response = HTTP_RESPONSE_V2(
        StatusCode=200, pReason=b"OK", pEntityChunks=[fragment_chunk(name), fragment_ex_chunk(name, 8, 1)]
    )
    assert respond(server, request_id, response)[0] == NO_ERROR
    assert c.reply().body == b"version-11"
    assert add_fragment(server, name, memory_chunk(b"version-2")) == NO_ERROR  # overwrite
    c.get()
    request_id = receive(server.queue).RequestId
    assert respond(server, request_id, response)[0] == NO_ERROR
    assert c.reply().body == b"version-22"


def test_a_flushed_fragment_is_path_not_found_for_sends_and_reads(server: Server, strict) -> None:
    name = f"http://+:{server.port}/frag/gone"
    assert add_fragment(server, name, memory_chunk(b"soon gone")) == NO_ERROR
    assert HttpFlushResponseCache(server.queue, name, 0, None) == NO_ERROR
    assert read_fragment(server, name)[0] == ERROR_PATH_NOT_FOUND
    c = strict(server.port)
    c.get()
    request_id = receive(server.queue).RequestId
    response = HTTP_RESPONSE_V2(StatusCode=200, pReason=b"OK", pEntityChunks=[fragment_chunk(name)])
    assert respond(server, request_id, response)[0] == ERROR_PATH_NOT_FOUND
    assert respond(server, request_id, make_response(body=b"fallback"), MORE)[0] == NO_ERROR
    assert entity_body(server, request_id, [fragment_ex_chunk(name, 0, 1)])[0] == ERROR_PATH_NOT_FOUND
    assert entity_body(server, request_id, [])[0] == NO_ERROR
    assert c.reply().body == b"fallback"


def test_recursive_flush_removes_descendants_and_a_plain_flush_only_the_name(server: Server) -> None:
    base = f"http://+:{server.port}/tree/"
    for leaf in ("a", "b/c"):
        assert add_fragment(server, base + leaf, memory_chunk(leaf.encode())) == NO_ERROR
    assert HttpFlushResponseCache(server.queue, base, 0, None) == NO_ERROR
    assert read_fragment(server, base + "a")[1] == b"a"  # not a descendant-flush
    assert HttpFlushResponseCache(server.queue, base, HTTP_FLUSH_RESPONSE_FLAG_RECURSIVE, None) == NO_ERROR
    assert read_fragment(server, base + "a")[0] == ERROR_PATH_NOT_FOUND
    assert read_fragment(server, base + "b/c")[0] == ERROR_PATH_NOT_FOUND
    assert HttpFlushResponseCache(server.queue, base, 0x2, None) == ERROR_INVALID_PARAMETER


def test_a_time_to_live_fragment_expires(server: Server) -> None:
    name = f"http://+:{server.port}/frag/ttl"
    assert add_fragment(server, name, memory_chunk(b"brief"), HttpCachePolicyTimeToLive, 1) == NO_ERROR
    assert read_fragment(server, name)[1] == b"brief"
    time.sleep(1.1)
    assert read_fragment(server, name)[0] == ERROR_PATH_NOT_FOUND


def test_fragment_names_must_lie_under_a_prefix_of_the_queue(server: Server) -> None:
    assert (
        add_fragment(server, f"http://+:{server.port + 1}/x", memory_chunk(b"x")) == ERROR_INVALID_PARAMETER
    )
    assert add_fragment(server, "not a url", memory_chunk(b"x")) == ERROR_INVALID_PARAMETER
    no_policy = HttpAddFragmentToCache(
        server.queue, f"http://+:{server.port}/x", memory_chunk(b"x"), None, None
    )
    assert no_policy == ERROR_INVALID_PARAMETER  # the cache policy is required


# ----- data chunks: Trailers -------------------------------------------------------------------------------------


def test_trailers_end_an_application_chunked_response_in_one_call(server: Server, strict) -> None:
    c = strict(server.port)
    c.get()
    request_id = receive(server.queue).RequestId
    response = make_response(known={HttpHeaderTransferEncoding: b"chunked", HttpHeaderTrailer: b"X-Digest"})
    response.pEntityChunks = [memory_chunk(b"5\r\nhello\r\n"), trailers_chunk((b"X-Digest", b"sha-256=abc"))]
    response.EntityChunkCount = 2
    code, sent = respond(server, request_id, response)
    assert code == NO_ERROR
    reply = c.reply()
    assert reply.body == b"hello" and reply.trailers == [(b"X-Digest", b"sha-256=abc")]
    assert reply.raw.endswith(b"\r\n\r\n5\r\nhello\r\n0\r\nX-Digest: sha-256=abc\r\n\r\n")
    assert sent == len(reply.raw)


def test_trailers_with_automatic_chunking(server: Server, strict) -> None:
    c = strict(server.port)
    c.get()
    request_id = receive(server.queue).RequestId
    assert (
        respond(server, request_id, make_response(), MORE | HTTP_SEND_RESPONSE_FLAG_AUTOMATIC_CHUNKING)[0]
        == 0
    )
    assert entity_body(server, request_id, [memory_chunk(b"abc"), memory_chunk(b"de")], MORE)[0] == NO_ERROR
    assert entity_body(server, request_id, [trailers_chunk((b"X-A", b"1"), (b"X-B", b""))])[0] == NO_ERROR
    reply = c.reply()
    assert reply.body == b"abcde" and reply.trailers == [(b"X-A", b"1"), (b"X-B", b"")]
    assert reply.raw.endswith(b"5\r\nabcde\r\n0\r\nX-A: 1\r\nX-B: \r\n\r\n")


def test_trailers_on_a_content_length_response_are_dropped(server: Server, strict) -> None:
    c = strict(server.port)
    c.get()
    request_id = receive(server.queue).RequestId
    response = make_response()
    response.pEntityChunks = [memory_chunk(b"plain"), trailers_chunk((b"X-Lost", b"1"))]
    assert respond(server, request_id, response)[0] == NO_ERROR
    reply = c.reply()
    assert reply.body == b"plain" and reply.header(b"Content-Length") == b"5" and b"X-Lost" not in reply.raw


@pytest.mark.parametrize(
    "name", [b"Content-Length", b"Transfer-Encoding", b"Host", b"Set-Cookie", b"Bad Name"]
)
def test_forbidden_or_malformed_trailer_fields_are_invalid_parameter(
    server: Server, client, name: bytes
) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request_id = receive(server.queue).RequestId
    assert (
        respond(server, request_id, make_response(known={HttpHeaderTransferEncoding: b"chunked"}), MORE)[0]
        == 0
    )
    assert entity_body(server, request_id, [trailers_chunk((name, b"1"))])[0] == ERROR_INVALID_PARAMETER
    assert entity_body(server, request_id, [memory_chunk(b"0\r\n\r\n")])[0] == NO_ERROR


def test_a_trailers_chunk_that_is_not_the_last_chunk_is_invalid_parameter(server: Server, client) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request_id = receive(server.queue).RequestId
    assert (
        respond(server, request_id, make_response(known={HttpHeaderTransferEncoding: b"chunked"}), MORE)[0]
        == 0
    )
    chunks = [trailers_chunk((b"X-A", b"1")), memory_chunk(b"0\r\n\r\n")]
    assert entity_body(server, request_id, chunks)[0] == ERROR_INVALID_PARAMETER


def test_a_trailers_chunk_on_a_send_that_is_not_the_final_one_is_invalid_parameter(
    server: Server, client
) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request_id = receive(server.queue).RequestId
    assert (
        respond(server, request_id, make_response(known={HttpHeaderTransferEncoding: b"chunked"}), MORE)[0]
        == 0
    )
    chunks = [memory_chunk(b"2\r\nok\r\n"), trailers_chunk((b"X-A", b"1"))]
    assert entity_body(server, request_id, chunks, MORE)[0] == ERROR_INVALID_PARAMETER


# ----- synchronous sends: handed over, bounded, never hanging ----------------------------------------------------


def test_a_synchronous_send_returns_once_its_data_is_handed_to_the_socket(server: Server, client) -> None:
    c = client(server.port)  # reads nothing: 1 MiB still fits in the socket buffers
    c.get("/", server.port)
    request_id = receive(server.queue).RequestId
    started_at = time.monotonic()
    code, sent = respond(server, request_id, make_response(body=b"h" * (1 << 20)))
    assert code == NO_ERROR and sent > 1 << 20
    assert time.monotonic() - started_at < 1.0
    assert c.recv_response()[2] == b"h" * (1 << 20)


def test_min_send_rate_bounds_a_send_to_a_client_that_never_reads(server: Server, client) -> None:
    limits = HTTP_TIMEOUT_LIMIT_INFO(Flags=HTTP_PROPERTY_FLAGS(1), MinSendRate=1_000_000)
    assert (
        HttpSetUrlGroupProperty(server.group, HttpServerTimeoutsProperty, limits, sizeof(limits)) == NO_ERROR
    )
    c = client(server.port)
    c.get("/", server.port)
    request_id = receive(server.queue).RequestId
    started_at = time.monotonic()
    code, sent = respond(server, request_id, make_response(body=b"s" * (64 << 20)))
    elapsed = time.monotonic() - started_at
    assert (code, sent) == (ERROR_CONNECTION_INVALID, 0)
    assert 1.5 < elapsed < 10  # max(2 s, pending / MinSendRate), not forever
    outcome = c.closed_by_peer(1)
    while outcome == "data":  # the part of the response the client's buffer took before the abort
        outcome = c.closed_by_peer(1)
    assert outcome == "reset"  # then the connection was reset, not closed as if the response were complete


def test_a_send_after_the_client_reset_fails_at_once(server: Server, client) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request_id = receive(server.queue).RequestId
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET)
    c.close()
    time.sleep(0.1)
    started_at = time.monotonic()
    assert respond(server, request_id, make_response(body=b"x" * 100_000)) == (ERROR_CONNECTION_INVALID, 0)
    assert time.monotonic() - started_at < 1.0


def test_a_pending_synchronous_send_fails_promptly_when_the_client_resets(server: Server, client) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request_id = receive(server.queue).RequestId
    assert respond(server, request_id, make_response(), MORE)[0] == NO_ERROR
    result: list[tuple[int, int]] = []
    sender = threading.Thread(
        target=lambda: result.append(entity_body(server, request_id, [memory_chunk(b"p" * (64 << 20))], MORE))
    )
    sender.start()
    sender.join(0.3)
    assert sender.is_alive()
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET)
    c.close()
    sender.join(5)
    assert not sender.is_alive() and result == [(ERROR_CONNECTION_INVALID, 0)]
    assert entity_body(server, request_id, [], 0)[0] == ERROR_CONNECTION_INVALID


def test_a_client_half_close_after_its_request_counts_as_a_disconnect(server: Server, strict) -> None:
    """Decision (docs/decisions/0002 #18): a FIN from the client is its disconnect, as HTTP.sys reports it to
    HttpWaitForDisconnect; the request it left behind can no longer be answered."""
    c = strict(server.port)
    c.get()
    request_id_holder: list[int] = []
    try:
        request_id_holder.append(receive(server.queue, timeout=2).RequestId)
    finally:
        c.sock.shutdown(socket.SHUT_WR)
    deadline = time.monotonic() + 5
    code = NO_ERROR
    while code == NO_ERROR and time.monotonic() < deadline:
        code = respond(server, request_id_holder[0], make_response(body=b"answer"))[0]
        time.sleep(0.02)
    assert code == ERROR_CONNECTION_INVALID


def test_a_graceful_client_close_fails_the_next_send_with_connection_invalid(server: Server, client) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request_id = receive(server.queue).RequestId
    assert respond(server, request_id, make_response(), MORE)[0] == NO_ERROR
    c.sock.shutdown(socket.SHUT_RDWR)
    c.close()
    deadline = time.monotonic() + 5
    code = NO_ERROR
    while code == NO_ERROR and time.monotonic() < deadline:
        code = entity_body(server, request_id, [memory_chunk(b"y" * 4096)], MORE)[0]
    assert code == ERROR_CONNECTION_INVALID


# ----- overlapped sends ------------------------------------------------------------------------------------------


def test_an_overlapped_send_that_completes_at_once_still_posts_its_packet(server: Server, client) -> None:
    port = CreateIoCompletionPort(server.queue, None, 7, 0)
    c = client(server.port)
    c.get("/", server.port)
    request_id = receive(server.queue).RequestId
    ov = OVERLAPPED()
    sent = ctypes.c_ulong()
    code = HttpSendHttpResponse(
        server.queue, request_id, 0, make_response(body=b"now"), None, sent, None, 0, ov, None
    )
    assert code in (NO_ERROR, ERROR_IO_PENDING)
    nbytes, key, done = ctypes.c_ulong(), ctypes.c_size_t(), LPOVERLAPPED()
    for _ in range(3):  # the receive's packet comes first
        assert GetQueuedCompletionStatus(port, nbytes, key, done, 5000)
        if done.value is ov:
            break
    assert done.value is ov and key.value == 7 and nbytes.value == ov.InternalHigh > 3
    if code == NO_ERROR:
        assert sent.value == nbytes.value
    assert c.recv_response()[2] == b"now"
    CloseHandle(port)


def test_a_pending_overlapped_send_fails_with_connection_invalid_when_the_client_resets(
    server: Server, client
) -> None:
    event = CreateEvent(None, True, False, None)
    c = client(server.port)
    c.get("/", server.port)
    request_id = receive(server.queue).RequestId
    ov = OVERLAPPED(hEvent=event)
    response = make_response(body=b"q" * (64 << 20))
    assert HttpSendHttpResponse(server.queue, request_id, 0, response, None, None, None, 0, ov, None) == (
        ERROR_IO_PENDING
    )
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET)
    c.close()
    assert WaitForSingleObject(event, 5000) == WAIT_OBJECT_0
    nbytes = ctypes.c_ulong()
    assert GetOverlappedResult(server.queue, ov, nbytes, False) is False
    assert GetLastError() == ERROR_CONNECTION_INVALID and nbytes.value == 0
    CloseHandle(event)


def test_overlapped_sends_in_sequence_report_each_byte_count(server: Server, client) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request_id = receive(server.queue).RequestId
    assert respond(server, request_id, make_response(known={HttpHeaderContentLength: b"15"}), MORE)[0] == 0
    counts = []
    for i, part in enumerate((b"a", b"bb", b"ccc", b"dddd", b"eeeee")):
        ov = OVERLAPPED()
        flags = 0 if i == 4 else MORE
        code = HttpSendResponseEntityBody(
            server.queue, request_id, flags, 1, [memory_chunk(part)], None, None, 0, ov, None
        )
        assert code in (NO_ERROR, ERROR_IO_PENDING)
        ok, _, nbytes = wait(server.queue, ov)
        assert ok
        counts.append(nbytes)
    assert counts == [1, 2, 3, 4, 5]
    assert c.recv_response()[2] == b"abbcccddddeeeee"
