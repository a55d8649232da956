"""Registry limits on the wire with short settings (spec §5.6, §6 items 127-128; reliability §2.1, §2.5).

MaxFieldLength bounds one header line (name, ": ", value, CRLF) and the raw URL; MaxRequestBytes bounds the
request line plus all header lines plus the blank line; UrlSegmentMaxLength / UrlSegmentMaxCount bound the cooked
path. A value at the limit passes, one byte over gets the canned response, logged with its HTTPERR reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from conftest import RawClient, Server

from httpsys._core.canonical import UrlSettings
from httpsys._core.settings import DriverSettings


def serve_one(server: Server, raw: bytes) -> bytes:
    """Send one request the application answers with its raw URL; return the response body."""
    client = RawClient(server.port)
    try:
        client.send(raw)
        request = server.receive(timeout=5)
        server.respond(request.request_id, body=b"ok")
        status, _headers, body = client.recv_response()
        assert status == b"HTTP/1.1 200 OK"
        return body
    finally:
        client.close()


def rejected(server: Server, raw: bytes) -> tuple[bytes, bytes]:
    """Send a request the driver must refuse: (status line, h2 heading) and the connection closes."""
    client = RawClient(server.port)
    try:
        client.send(raw)
        status, headers, body = client.recv_response()
        assert headers[b"connection"] == b"close"
        assert client.closed_by_peer(2.0) == "eof"
        heading = body.split(b"<h2>")[1].split(b"</h2>")[0]
        return status, heading
    finally:
        client.close()


def request_with_header(value_len: int, name: bytes = b"X-F") -> bytes:
    return b"GET / HTTP/1.1\r\nHost: a\r\n" + name + b": " + b"v" * value_len + b"\r\n\r\n"


def reasons(server: Server) -> list[str]:
    return [record[1] for record in server.transport.driver.error_log]


# ----------------------------------------------------------------------------------------- MaxFieldLength
def test_header_line_at_max_field_length_is_accepted(make: Callable[..., Server]) -> None:
    server = make(DriverSettings(max_field_length=100, max_request_bytes=4096))
    # "X-F: " + value + CRLF == 100 bytes
    assert serve_one(server, request_with_header(100 - 7)) == b"ok"


def test_header_line_over_max_field_length_is_header_field_too_long(make: Callable[..., Server]) -> None:
    server = make(DriverSettings(max_field_length=100, max_request_bytes=4096))
    status, heading = rejected(server, request_with_header(100 - 6))
    assert (status, heading) == (b"HTTP/1.1 400 Bad Request", b"Bad Request - Header Field Too Long")
    assert reasons(server) == ["FieldLength"]


def test_url_at_max_field_length_is_accepted(make: Callable[..., Server]) -> None:
    server = make(DriverSettings(max_field_length=100, max_request_bytes=4096))
    assert serve_one(server, b"GET /" + b"u" * 99 + b" HTTP/1.1\r\nHost: a\r\n\r\n") == b"ok"


def test_url_over_max_field_length_is_414(make: Callable[..., Server]) -> None:
    server = make(DriverSettings(max_field_length=100, max_request_bytes=4096))
    status, heading = rejected(server, b"GET /" + b"u" * 100 + b" HTTP/1.1\r\nHost: a\r\n\r\n")
    assert (status, heading) == (b"HTTP/1.1 414 Request URL Too Long", b"Request URL Too Long")
    assert reasons(server) == ["URL_Length"]


def test_url_over_max_field_length_split_across_sends_is_414(make: Callable[..., Server]) -> None:
    server = make(DriverSettings(max_field_length=100, max_request_bytes=4096))
    client = RawClient(server.port)
    client.send(b"GET /" + b"u" * 60)
    time.sleep(0.05)
    client.send(b"u" * 60 + b" HTTP/1.1\r\nHost: a\r\n\r\n")
    assert client.recv_response()[0] == b"HTTP/1.1 414 Request URL Too Long"
    client.close()


def test_max_field_length_is_lowered_to_max_request_bytes(make: Callable[..., Server]) -> None:
    server = make(DriverSettings(max_field_length=16384, max_request_bytes=300))
    assert server.transport.driver.settings.max_field_length == 300
    status, _heading = rejected(server, b"GET /" + b"u" * 300 + b" HTTP/1.1\r\nHost: a\r\n\r\n")
    assert status == b"HTTP/1.1 414 Request URL Too Long"


# ----------------------------------------------------------------------------------------- MaxRequestBytes
def head_of_size(size: int) -> bytes:
    base = b"GET / HTTP/1.1\r\nHost: a\r\nX-P: \r\n\r\n"
    pad = size - len(base)
    assert pad >= 0
    return b"GET / HTTP/1.1\r\nHost: a\r\nX-P: " + b"p" * pad + b"\r\n\r\n"


def test_head_at_max_request_bytes_is_accepted(make: Callable[..., Server]) -> None:
    server = make(DriverSettings(max_request_bytes=256, max_field_length=256))
    raw = head_of_size(256)
    assert len(raw) == 256
    assert serve_one(server, raw) == b"ok"


def test_head_over_max_request_bytes_is_request_too_long(make: Callable[..., Server]) -> None:
    server = make(DriverSettings(max_request_bytes=256, max_field_length=256))
    base = b"GET / HTTP/1.1\r\nHost: a\r\nX-P: \r\nX-Q: \r\n\r\n"
    pad = 257 - len(base)
    raw = b"GET / HTTP/1.1\r\nHost: a\r\nX-P: %s\r\nX-Q: %s\r\n\r\n" % (
        b"p" * (pad // 2),
        b"q" * (pad - pad // 2),
    )
    assert len(raw) == 257  # every line is well under MaxFieldLength, the head is one byte over
    status, heading = rejected(server, raw)
    assert (status, heading) == (b"HTTP/1.1 400 Bad Request", b"Bad Request - Request Too Long")
    assert reasons(server) == ["RequestLength"]


def test_many_small_headers_over_max_request_bytes_are_request_too_long(make: Callable[..., Server]) -> None:
    server = make(DriverSettings(max_request_bytes=256, max_field_length=256))
    raw = b"GET / HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-%02d: v\r\n" % i for i in range(40)) + b"\r\n"
    _status, heading = rejected(server, raw)
    assert heading == b"Bad Request - Request Too Long"


def test_unfinished_head_growing_past_max_request_bytes_is_refused_before_it_ends(
    make: Callable[..., Server],
) -> None:
    server = make(DriverSettings(max_request_bytes=256, max_field_length=256))
    client = RawClient(server.port)
    client.send(b"GET / HTTP/1.1\r\nHost: a\r\n")
    for i in range(4):
        time.sleep(0.03)
        client.send(b"X-%d: %s\r\n" % (i, b"v" * 90))
    status, _headers, body = client.recv_response()
    assert status == b"HTTP/1.1 400 Bad Request"
    assert b"Request Too Long" in body
    assert client.closed_by_peer(2.0) == "eof"
    client.close()


# ----------------------------------------------------------------------------------------- URL segments
@pytest.fixture
def segment_server(make: Callable[..., Server]) -> Server:
    url = UrlSettings(url_segment_max_length=10, url_segment_max_count=4)
    return make(DriverSettings(url=url))


def test_segment_at_url_segment_max_length_is_accepted(segment_server: Server) -> None:
    assert serve_one(segment_server, b"GET /aaaaaaaaaa/b HTTP/1.1\r\nHost: a\r\n\r\n") == b"ok"


def test_segment_over_url_segment_max_length_is_invalid_url(segment_server: Server) -> None:
    status, heading = rejected(segment_server, b"GET /aaaaaaaaaaa/b HTTP/1.1\r\nHost: a\r\n\r\n")
    assert (status, heading) == (b"HTTP/1.1 400 Bad Request", b"Bad Request - Invalid URL")
    assert reasons(segment_server) == ["URL"]


def test_segment_length_counts_decoded_characters(segment_server: Server) -> None:
    # ten characters written with escapes: 30 raw bytes, 10 cooked characters
    assert serve_one(segment_server, b"GET /" + b"%61" * 10 + b" HTTP/1.1\r\nHost: a\r\n\r\n") == b"ok"


def test_segment_length_does_not_apply_to_the_query(segment_server: Server) -> None:
    assert serve_one(segment_server, b"GET /a?" + b"q" * 50 + b" HTTP/1.1\r\nHost: a\r\n\r\n") == b"ok"


def test_segments_at_url_segment_max_count_are_accepted(segment_server: Server) -> None:
    assert serve_one(segment_server, b"GET /a/b/c/d HTTP/1.1\r\nHost: a\r\n\r\n") == b"ok"


def test_segments_over_url_segment_max_count_are_invalid_url(segment_server: Server) -> None:
    status, heading = rejected(segment_server, b"GET /a/b/c/d/e HTTP/1.1\r\nHost: a\r\n\r\n")
    assert (status, heading) == (b"HTTP/1.1 400 Bad Request", b"Bad Request - Invalid URL")
    assert reasons(segment_server) == ["URL"]


def test_default_limits_accept_a_260_character_segment_and_refuse_261(server: Server) -> None:
    assert serve_one(server, b"GET /" + b"s" * 260 + b" HTTP/1.1\r\nHost: a\r\n\r\n") == b"ok"
    _status, heading = rejected(server, b"GET /" + b"s" * 261 + b" HTTP/1.1\r\nHost: a\r\n\r\n")
    assert heading == b"Bad Request - Invalid URL"
