"""HttpSendHttpResponse on the wire, byte for byte (spec §2.2, §3.3, §5.3, §5.4; §6 H 89-93, 96-97, 107-109).

Every response is read back through h11 as a strict client (tests/conformance/strict_client.py) and, where the
order and spelling of lines matter, compared byte-exactly with the head HTTP.sys writes: the status line (always
HTTP/1.1), known headers in HTTP_HEADER_ID order with Server at its index, unknown headers in the given order, the
generated Date, `Connection: close` when the connection closes, and the automatic Content-Length last.
"""

from __future__ import annotations

import ctypes
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime

import pytest

from httpsys.win32 import *

from .harness import Server, make_response, memory_chunk
from .strict_client import DATE_LINE, Reply, StrictClient

SERVER_LINE = b"Server: Microsoft-HTTPAPI/2.0\r\n"


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


def send(server: Server, request_id: int, response: object, flags: int = 0) -> tuple[int, int]:
    sent = ctypes.c_ulong()
    code = HttpSendHttpResponse(server.queue, request_id, flags, response, None, sent, None, 0, None, None)
    return code, sent.value


def exchange(
    server: Server,
    c: StrictClient,
    response: object,
    flags: int = 0,
    headers: list[tuple[bytes, bytes]] | None = None,
    method: bytes = b"GET",
) -> tuple[Reply, int]:
    """One request from `c`, answered with `response` in a single call; (reply, BytesSent)."""
    c.request(method, b"/", headers)
    request = server.receive()
    code, sent = send(server, request.RequestId, response, flags)
    assert code == NO_ERROR
    return c.reply(), sent


def date_of(reply: Reply) -> bytes:
    match = DATE_LINE.search(reply.head)
    assert match is not None, reply.head
    return match.group(0)


def expected_head(reply: Reply, status_line: bytes, before: list[bytes], after: list[bytes]) -> bytes:
    """The head HTTP.sys writes: status line, `before` lines, the generated Date, `after` lines, blank line."""
    return status_line + b"".join(before) + date_of(reply) + b"".join(after) + b"\r\n"


# ----- status line ---------------------------------------------------------------------------------------------


def test_status_line_is_http_1_1_even_when_the_response_version_says_otherwise(
    server: Server, strict
) -> None:
    c = strict(server.port)
    response = make_response(status=203, reason=b"Non-Authoritative Information", body=b"")
    response.Version = HTTP_VERSION(2, 0)
    reply, _ = exchange(server, c, response)
    assert reply.http_version == b"1.1" and reply.status == 203
    assert reply.head.startswith(b"HTTP/1.1 203 Non-Authoritative Information\r\n")


def test_status_line_is_http_1_1_for_an_http_1_0_request(server: Server, client) -> None:
    c = client(server.port)
    c.send(b"GET / HTTP/1.0\r\n\r\n")
    request = server.receive()
    response = make_response(body=b"x")
    response.Version = HTTP_VERSION_1_0
    assert send(server, request.RequestId, response)[0] == NO_ERROR
    assert c.recv_all().startswith(b"HTTP/1.1 200 OK\r\n")


def test_empty_reason_keeps_the_space_after_the_code(server: Server, strict) -> None:
    c = strict(server.port)
    reply, _ = exchange(server, c, HTTP_RESPONSE_V2(StatusCode=999))
    assert reply.status == 999 and reply.reason == b""
    assert reply.head == expected_head(reply, b"HTTP/1.1 999 \r\n", [SERVER_LINE], [b"Content-Length: 0\r\n"])


@pytest.mark.parametrize(
    "reason", [b"tab\there", b"del\x7f", b"caf\xe9", b"split\r\nX-Injected: 1", b"nul\x00"]
)
def test_reason_must_be_printable_ascii(server: Server, strict, reason: bytes) -> None:
    c = strict(server.port)
    c.get()
    request_id = server.receive().RequestId
    assert (
        send(server, request_id, HTTP_RESPONSE_V2(StatusCode=200, pReason=reason))[0]
        == ERROR_INVALID_PARAMETER
    )
    assert send(server, request_id, HTTP_RESPONSE_V2(StatusCode=200, pReason=b"Fine ~!"))[0] == NO_ERROR
    assert c.reply().reason == b"Fine ~!"


@pytest.mark.parametrize("status", [0, 99, 1000, 65535])
def test_status_codes_outside_100_to_999_are_invalid_parameter(server: Server, strict, status: int) -> None:
    c = strict(server.port)
    c.get()
    request_id = server.receive().RequestId
    assert (
        send(server, request_id, HTTP_RESPONSE_V2(StatusCode=status, pReason=b"X"))[0]
        == ERROR_INVALID_PARAMETER
    )
    assert (
        send(server, request_id, make_response(status=100 if status < 100 else 599, reason=b"X"))[0]
        == NO_ERROR
    )


# ----- header order, Server, Date ------------------------------------------------------------------------------


def test_known_headers_in_id_order_then_unknown_then_date_then_content_length(server: Server, strict) -> None:
    c = strict(server.port)
    response = make_response(
        body=b"hello",
        known={
            HttpHeaderWwwAuthenticate: b"Basic realm=x",
            HttpHeaderVary: b"Accept",
            HttpHeaderEtag: b'"v1"',
            HttpHeaderContentType: b"text/plain",
            HttpHeaderCacheControl: b"no-store",
        },
        unknown=[(b"X-Second", b"2"), (b"x-first", b"1")],
    )
    reply, sent = exchange(server, c, response)
    assert reply.head == expected_head(
        reply,
        b"HTTP/1.1 200 OK\r\n",
        [
            b"Cache-Control: no-store\r\n",
            b"Content-Type: text/plain\r\n",
            b'ETag: "v1"\r\n',
            SERVER_LINE,  # HttpHeaderServer (26) sits between ETag (22) and Vary (28)
            b"Vary: Accept\r\n",
            b"WWW-Authenticate: Basic realm=x\r\n",
            b"X-Second: 2\r\n",
            b"x-first: 1\r\n",  # unknown names keep their case and order
        ],
        [b"Content-Length: 5\r\n"],
    )
    assert reply.body == b"hello" and sent == len(reply.raw)


def test_default_server_header_is_microsoft_httpapi_2_0(server: Server, strict) -> None:
    c = strict(server.port)
    reply, _ = exchange(server, c, make_response(body=b""))
    assert reply.values(b"Server") == [b"Microsoft-HTTPAPI/2.0"]
    assert reply.head == expected_head(
        reply, b"HTTP/1.1 200 OK\r\n", [SERVER_LINE], [b"Content-Length: 0\r\n"]
    )


def test_application_server_value_gets_the_httpapi_suffix(server: Server, strict) -> None:
    c = strict(server.port)
    reply, _ = exchange(server, c, make_response(body=b"", known={HttpHeaderServer: b"Kestrel/8.0"}))
    assert reply.values(b"Server") == [b"Kestrel/8.0 Microsoft-HTTPAPI/2.0"]


@pytest.mark.parametrize("where", ["known", "unknown"])
def test_date_is_always_generated_and_the_application_value_replaced(
    server: Server, strict, where: str
) -> None:
    c = strict(server.port)
    stale = b"Thu, 01 Jan 1970 00:00:00 GMT"
    response = (
        make_response(body=b"", known={HttpHeaderDate: stale})
        if where == "known"
        else make_response(body=b"", unknown=[(b"Date", stale)])
    )
    before = time.time()
    reply, _ = exchange(server, c, response)
    assert len(reply.values(b"Date")) == 1 and stale not in reply.raw
    when = parsedate_to_datetime(reply.header(b"Date").decode()).timestamp()  # type: ignore[union-attr]
    assert before - 2 <= when <= time.time() + 1


# ----- Connection: close ---------------------------------------------------------------------------------------


def test_connection_close_is_added_when_the_request_asked_to_close(server: Server, strict) -> None:
    c = strict(server.port)
    reply, _ = exchange(server, c, make_response(body=b"bye"), headers=[(b"Connection", b"close")])
    assert reply.head == expected_head(
        reply, b"HTTP/1.1 200 OK\r\n", [SERVER_LINE], [b"Connection: close\r\n", b"Content-Length: 3\r\n"]
    )
    assert c.server_closed()


def test_connection_close_is_added_when_disconnect_is_passed(server: Server, strict) -> None:
    c = strict(server.port)
    reply, _ = exchange(server, c, make_response(body=b"bye"), flags=HTTP_SEND_RESPONSE_FLAG_DISCONNECT)
    assert reply.values(b"Connection") == [b"close"] and reply.closed
    assert c.server_closed()


def test_connection_close_for_an_http_1_0_request_without_keep_alive(server: Server, client) -> None:
    c = client(server.port)
    c.send(b"GET / HTTP/1.0\r\n\r\n")
    request = server.receive()
    assert send(server, request.RequestId, make_response(body=b"ten"))[0] == NO_ERROR
    data = c.recv_all()
    assert b"\r\nConnection: close\r\nContent-Length: 3\r\n\r\nten" in data  # and then EOF


def test_http_1_0_keep_alive_with_a_length_delimited_response_stays_open(server: Server, client) -> None:
    c = client(server.port)
    c.send(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
    assert send(server, server.receive().RequestId, make_response(body=b"one"))[0] == NO_ERROR
    status, headers, body = c.recv_response()
    assert status == b"HTTP/1.1 200 OK" and headers[b"connection"] == b"keep-alive" and body == b"one"
    c.send(b"GET / HTTP/1.0\r\n\r\n")  # the same connection carries a second request
    assert send(server, server.receive().RequestId, make_response(body=b"two"))[0] == NO_ERROR
    assert c.recv_response()[2] == b"two"


def test_application_connection_close_is_kept_not_doubled_and_closes(server: Server, strict) -> None:
    c = strict(server.port)
    reply, _ = exchange(server, c, make_response(body=b"x", unknown=[(b"Connection", b"close")]))
    assert reply.values(b"Connection") == [b"close"]
    assert c.server_closed()


def test_connection_close_when_an_expect_100_continue_body_is_left_unread(server: Server, client) -> None:
    c = client(server.port)
    c.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n")
    request_id = server.receive().RequestId
    code, _ = send(server, request_id, make_response(status=417, reason=b"Expectation Failed", body=b"no"))
    assert code == NO_ERROR
    _, headers, body = c.recv_response()
    assert body == b"no" and c.closed_by_peer() == "eof"  # the connection closes ...
    assert headers.get(b"connection") == b"close"  # ... so the head must say so (spec §5.3 rule 4)


def test_keep_alive_response_has_no_connection_header_and_serves_the_next_request(
    server: Server, strict
) -> None:
    c = strict(server.port)
    first, _ = exchange(server, c, make_response(body=b"1"))
    assert first.header(b"Connection") is None and not first.closed
    second, _ = exchange(server, c, make_response(body=b"2"))
    assert second.body == b"2"


# ----- Content-Length ------------------------------------------------------------------------------------------


def test_automatic_content_length_is_the_sum_of_every_chunk_of_one_call(server: Server, strict) -> None:
    c = strict(server.port)
    with tempfile.TemporaryFile() as f:
        f.write(b"FILEDATA")
        f.flush()
        response = HTTP_RESPONSE_V2(StatusCode=200, pReason=b"OK")
        response.pEntityChunks = [
            memory_chunk(b"mem-"),
            HTTP_DATA_CHUNK(
                DataChunkType=HttpDataChunkFromFileHandle,
                FromFileHandle=HTTP_DATA_CHUNK_FROM_FILE_HANDLE(
                    HTTP_BYTE_RANGE(0, HTTP_BYTE_RANGE_TO_EOF), f
                ),
            ),
            memory_chunk(b"-end"),
        ]
        reply, sent = exchange(server, c, response)
    assert reply.header(b"Content-Length") == b"16" and reply.body == b"mem-FILEDATA-end"
    assert reply.names()[-1] == b"Content-Length"  # generated last
    assert sent == len(reply.raw)


def test_no_chunks_give_content_length_0(server: Server, strict) -> None:
    c = strict(server.port)
    reply, _ = exchange(server, c, HTTP_RESPONSE_V2(StatusCode=200, pReason=b"OK"))
    assert reply.header(b"Content-Length") == b"0" and reply.body == b""


@pytest.mark.parametrize("status", [204, 304])
def test_no_automatic_content_length_on_204_and_304(server: Server, strict, status: int) -> None:
    c = strict(server.port)
    reply, _ = exchange(server, c, make_response(status=status, reason=b"X"))
    assert reply.header(b"Content-Length") is None and reply.status == status


def test_more_data_gets_no_automatic_content_length(server: Server, strict) -> None:
    c = strict(server.port)
    c.get()
    request_id = server.receive().RequestId
    code, head_bytes = send(server, request_id, make_response(body=b"abc"), HTTP_SEND_RESPONSE_FLAG_MORE_DATA)
    assert code == NO_ERROR
    sent = ctypes.c_ulong()
    assert (
        HttpSendResponseEntityBody(
            server.queue,
            request_id,
            HTTP_SEND_RESPONSE_FLAG_DISCONNECT,
            1,
            [memory_chunk(b"def")],
            sent,
            None,
            0,
            None,
            None,
        )
        == NO_ERROR
    )
    reply = c.reply()
    assert reply.header(b"Content-Length") is None and reply.header(b"Transfer-Encoding") is None
    assert reply.body == b"abcdef"  # close-delimited, as h11 reads it
    assert reply.head == expected_head(
        reply, b"HTTP/1.1 200 OK\r\n", [SERVER_LINE], [b"Connection: close\r\n"]
    )
    assert head_bytes == len(reply.head) + 3 and sent.value == 3


def test_application_content_length_is_kept_verbatim_and_the_body_not_truncated(
    server: Server, client
) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request_id = server.receive().RequestId
    response = make_response(body=b"12345", known={HttpHeaderContentLength: b"0003"})
    code, sent = send(server, request_id, response)
    assert code == NO_ERROR
    data = c.recv_all(0.5)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\nContent-Length: 0003\r\nServer: ")
    assert head.count(b"Content-Length") == 1
    assert body == b"12345" and sent == len(data)  # all five bytes went out


def test_an_unknown_content_length_header_suppresses_the_automatic_one(server: Server, strict) -> None:
    c = strict(server.port)
    reply, _ = exchange(server, c, make_response(body=b"abcd", unknown=[(b"content-length", b"4")]))
    assert reply.values(b"Content-Length") == [b"4"] and reply.body == b"abcd"


# ----- empty values, injection, names --------------------------------------------------------------------------


def test_an_empty_known_header_is_omitted_and_an_empty_unknown_header_is_sent(server: Server, strict) -> None:
    c = strict(server.port)
    response = make_response(body=b"", unknown=[(b"X-Empty", b"")])
    response.Headers.KnownHeaders[HttpHeaderCacheControl] = HTTP_KNOWN_HEADER(0, b"")
    response.Headers.KnownHeaders[HttpHeaderExpires] = HTTP_KNOWN_HEADER(0, None)
    reply, _ = exchange(server, c, response)
    assert reply.head == expected_head(
        reply, b"HTTP/1.1 200 OK\r\n", [SERVER_LINE, b"X-Empty: \r\n"], [b"Content-Length: 0\r\n"]
    )


@pytest.mark.parametrize(
    "response",
    [
        lambda: make_response(known={HttpHeaderLocation: b"/a\r\nSet-Cookie: evil=1"}),
        lambda: make_response(known={HttpHeaderContentType: b"text/plain\nX: y"}),
        lambda: make_response(unknown=[(b"X-Value", b"a\x00b")]),
        lambda: make_response(unknown=[(b"X Space", b"v")]),
        lambda: make_response(unknown=[(b"X-Colon:", b"v")]),
        lambda: make_response(unknown=[(b"X-\xc3\xa9", b"v")]),
    ],
    ids=["known-crlf", "known-lf", "unknown-nul", "name-space", "name-colon", "name-non-ascii"],
)
def test_header_injection_and_bad_names_are_invalid_parameter(server: Server, strict, response) -> None:
    c = strict(server.port)
    c.get()
    request_id = server.receive().RequestId
    assert send(server, request_id, response())[0] == ERROR_INVALID_PARAMETER
    assert send(server, request_id, make_response(body=b"clean"))[0] == NO_ERROR
    assert c.reply().body == b"clean"


# ----- chunk count, multiple known headers, BytesSent ---------------------------------------------------------


def test_at_most_100_entity_chunks_in_http_response(server: Server, strict) -> None:
    c = strict(server.port)
    c.get()
    request_id = server.receive().RequestId
    too_many = HTTP_RESPONSE_V2(StatusCode=200, pReason=b"OK", pEntityChunks=[memory_chunk(b"x")] * 101)
    assert send(server, request_id, too_many)[0] == ERROR_INVALID_PARAMETER
    exactly = HTTP_RESPONSE_V2(StatusCode=200, pReason=b"OK", pEntityChunks=[memory_chunk(b"y")] * 100)
    assert send(server, request_id, exactly)[0] == NO_ERROR
    assert c.reply().body == b"y" * 100


def test_multiple_known_headers_give_one_line_per_value_in_order(server: Server, strict) -> None:
    c = strict(server.port)
    response = make_response(body=b"", known={HttpHeaderSetCookie: b"a=1"})
    more = HTTP_MULTIPLE_KNOWN_HEADERS(
        HeaderId=HttpHeaderSetCookie,
        KnownHeaderCount=2,
        KnownHeaders=[HTTP_KNOWN_HEADER(pRawValue=b"b=2; Path=/"), HTTP_KNOWN_HEADER(pRawValue=b"c=3")],
    )
    response.pResponseInfo = [
        HTTP_RESPONSE_INFO(HttpResponseInfoTypeMultipleKnownHeaders, sizeof(more), more)
    ]
    response.ResponseInfoCount = 1
    reply, _ = exchange(server, c, response)
    assert reply.head == expected_head(
        reply,
        b"HTTP/1.1 200 OK\r\n",
        [SERVER_LINE, b"Set-Cookie: a=1\r\n", b"Set-Cookie: b=2; Path=/\r\n", b"Set-Cookie: c=3\r\n"],
        [b"Content-Length: 0\r\n"],
    )


def test_www_authenticate_schemes_are_ordered_negotiate_ntlm_digest_basic(server: Server, strict) -> None:
    c = strict(server.port)
    response = make_response(status=401, reason=b"Unauthorized", body=b"")
    schemes = [
        HTTP_KNOWN_HEADER(pRawValue=v)
        for v in (b'Basic realm="r"', b'Digest realm="r"', b"NTLM", b"Negotiate")
    ]
    more = HTTP_MULTIPLE_KNOWN_HEADERS(HttpHeaderWwwAuthenticate, 0, 4, schemes)
    response.pResponseInfo = [
        HTTP_RESPONSE_INFO(HttpResponseInfoTypeMultipleKnownHeaders, sizeof(more), more)
    ]
    response.ResponseInfoCount = 1
    reply, _ = exchange(server, c, response)
    assert reply.values(b"WWW-Authenticate") == [
        b"Negotiate",
        b"NTLM",
        b'Digest realm="r"',
        b'Basic realm="r"',
    ]


def test_bytes_sent_is_the_exact_size_of_what_the_call_wrote(server: Server, strict) -> None:
    c = strict(server.port)
    body = os.urandom(3000)
    reply, sent = exchange(
        server, c, make_response(body=body, known={HttpHeaderContentType: b"application/x"})
    )
    assert reply.body == body and sent == len(reply.raw) == len(reply.head) + len(body)
