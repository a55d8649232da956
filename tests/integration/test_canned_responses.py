"""HTTP.sys's own responses from the wire: byte-exact, counted, logged with their HTTPERR reason, then close.

Spec §5.2 and §6 items 120-129: every canned response is the §5.2 template (header order Content-Type, Server,
Date, Connection: close, Content-Length), the connection ends in a FIN after it, the application never sees the
request, `statistics()` counts it as `canned_<status>` and the error log carries the reason.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import pytest
from conftest import RawClient, Server, httperr_events

from httpsys._core.settings import DriverSettings

_DATE = re.compile(rb"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT")

PROP_QUEUE_LENGTH = 4
PROP_VERBOSITY = 6
PROP_BINDING = 7


def expected_body(status: int, title: str, heading: str, message: str) -> bytes:
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
        f"<HTML><HEAD><TITLE>{title}</TITLE>\r\n"
        '<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
        f"<BODY><h2>{heading}</h2>\r\n"
        f"<hr><p>HTTP Error {status}. {message}</p>\r\n"
        "</BODY></HTML>\r\n"
    ).encode("ascii")


# name: (status, title, heading, message, captured body length or None when the spec has no capture)
CANNED = {
    "generic": (400, "Bad Request", "Bad Request", "The request is badly formed.", 311),
    "verb": (400, "Bad Request", "Bad Request - Invalid Verb", "The request verb is invalid.", 326),
    "url": (400, "Bad Request", "Bad Request - Invalid URL", "The request URL is invalid.", 324),
    "header": (
        400,
        "Bad Request",
        "Bad Request - Invalid Header",
        "The request has an invalid header name.",
        339,
    ),
    "hostname": (
        400,
        "Bad Request",
        "Bad Request - Invalid Hostname",
        "The request hostname is invalid.",
        334,
    ),
    "too_long": (
        400,
        "Bad Request",
        "Bad Request - Request Too Long",
        "The size of the request headers is too long.",
        346,
    ),
    "field": (
        400,
        "Bad Request",
        "Bad Request - Header Field Too Long",
        "A request header field is too long.",
        342,
    ),
    "414": (414, "Request URL Too Long", "Request URL Too Long", "The request URL is too long.", 329),
    "404": (404, "Not Found", "Not Found", "The requested resource is not found.", 315),
    "411": (
        411,
        "Length Required",
        "Length Required",
        "The request must be chunked or have a content length.",
        344,
    ),
    "501": (
        501,
        "Not Implemented",
        "Not Implemented",
        "The request transfer encoding type is not supported.",
        None,
    ),
    "505": (
        505,
        "Version Not Supported",
        "Version Not Supported",
        "The request HTTP version is not supported.",
        None,
    ),
    "503": (503, "Service Unavailable", "Service Unavailable", "The service is unavailable.", 326),
}


def assert_canned(data: bytes, name: str) -> None:
    """`data` is exactly one canned response `name` (any valid Date) and nothing else."""
    status, title, heading, message, length = CANNED[name]
    body = expected_body(status, title, heading, message)
    if length is not None:
        assert len(body) == length
    head = (
        b"HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=us-ascii\r\nServer: Microsoft-HTTPAPI/2.0\r\nDate: "
        % (status, title.encode())
    )
    tail = b"\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    assert data.startswith(head), data[:200]
    assert data.endswith(tail), data[-400:]
    assert _DATE.fullmatch(data[len(head) : len(data) - len(tail)]), data


def exchange(port: int, raw: bytes) -> bytes:
    """Send `raw`, read until the server closes; the close must be a FIN (the response is not lost)."""
    client = RawClient(port)
    try:
        client.send(raw)
        data = client.recv_until(b"\r\n\r\n")
        rest = client.recv_all()
        assert client.closed_by_peer(1.0) == "eof"
        return data + rest
    finally:
        client.close()


def assert_unseen_and_logged(server: Server, status: int, reason: str, count: int = 1) -> None:
    stats = server.transport.statistics()
    assert stats.get(f"canned_{status}", 0) == count
    assert stats["requests_in_flight"] == 0
    assert stats["queued"] == 0
    events = httperr_events(server, count)
    assert [e[0] for e in events] == [reason] * count
    assert [e[1] for e in events] == [status] * count


GENERIC_400 = {
    "missing_host_on_1_1": b"GET / HTTP/1.1\r\n\r\n",
    "empty_host": b"GET / HTTP/1.1\r\nHost:\r\n\r\n",
    "two_host_headers": b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "bad_version_token": b"GET / HTTP/1.1.1\r\nHost: a\r\n\r\n",
    "lowercase_version_token": b"GET / http/1.1\r\nHost: a\r\n\r\n",
    "garbage_request_line": b"\x01\x02garbage\r\n\r\n",
    "garbage_with_space": b"\x7f\x01 / HTTP/1.1\r\nHost: a\r\n\r\n",
    "nul_in_header_value": b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n",
    "header_line_without_colon": b"GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n",
    "colon_only_header_line": b"GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n",
    "version_0_9": b"GET / HTTP/0.9\r\nHost: a\r\n\r\n",
    "content_length_with_transfer_encoding": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
    ),
    "duplicate_content_length": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "negative_content_length": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
    "overflowing_content_length": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
}


@pytest.mark.parametrize("raw", GENERIC_400.values(), ids=GENERIC_400.keys())
def test_malformed_request_gets_generic_400_then_close(server: Server, raw: bytes) -> None:
    assert_canned(exchange(server.port, raw), "generic")
    assert_unseen_and_logged(server, 400, "BadRequest")


INVALID_VERB = {
    "lowercase_known_verb": b"get / HTTP/1.1\r\nHost: a\r\n\r\n",
    "separator_in_verb": b"GE(T / HTTP/1.1\r\nHost: a\r\n\r\n",
    "slash_in_verb": b"GET/ / HTTP/1.1\r\nHost: a\r\n\r\n",
}


@pytest.mark.parametrize("raw", INVALID_VERB.values(), ids=INVALID_VERB.keys())
def test_invalid_verb_gets_400_invalid_verb(server: Server, raw: bytes) -> None:
    assert_canned(exchange(server.port, raw), "verb")
    assert_unseen_and_logged(server, 400, "Verb")


INVALID_HEADER = {
    "separator_in_header_name": b"GET / HTTP/1.1\r\nHost: a\r\nX(a: b\r\n\r\n",
    "space_before_colon": b"GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n",
    "control_character_in_value": b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01c\r\n\r\n",
}


@pytest.mark.parametrize("raw", INVALID_HEADER.values(), ids=INVALID_HEADER.keys())
def test_invalid_header_gets_400_invalid_header(server: Server, raw: bytes) -> None:
    assert_canned(exchange(server.port, raw), "header")
    assert_unseen_and_logged(server, 400, "Header")


def test_unknown_token_verb_is_delivered_to_the_application(server: Server) -> None:
    client = RawClient(server.port)
    client.send(b"XYZZY /u HTTP/1.1\r\nHost: a\r\n\r\n")
    request = server.receive()
    assert request.method == b"XYZZY"
    assert request.raw_url == b"/u"
    server.respond(request.request_id, body=b"ok")
    status, _headers, body = client.recv_response()
    assert (status, body) == (b"HTTP/1.1 200 OK", b"ok")
    client.close()


def test_unknown_verb_pipelined_after_a_get_in_one_send_is_delivered(server: Server) -> None:
    client = RawClient(server.port)
    client.send(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nXYZZY /2 HTTP/1.1\r\nHost: a\r\n\r\n")
    first = server.receive()
    assert (first.method, first.raw_url) == (b"GET", b"/1")
    server.respond(first.request_id, body=b"one")
    second = server.receive()
    assert (second.method, second.raw_url) == (b"XYZZY", b"/2")
    assert second.connection_id == first.connection_id
    server.respond(second.request_id, body=b"two")
    assert client.recv_response()[2] == b"one"
    assert client.recv_response()[2] == b"two"
    assert server.transport.statistics().get("canned_400", 0) == 0
    client.close()


def test_unknown_verb_split_across_sends_is_delivered(server: Server) -> None:
    client = RawClient(server.port)
    client.send(b"XYZ")
    client.send(b"ZY /s HTTP/1.1\r\nHost: a\r\n\r\n")
    request = server.receive()
    assert request.method == b"XYZZY"
    server.respond(request.request_id)
    assert client.recv_response()[0] == b"HTTP/1.1 200 OK"
    client.close()


INVALID_URL = {
    "bad_escape": b"GET /a%zzb HTTP/1.1\r\nHost: a\r\n\r\n",
    "path_above_root": b"GET /../x HTTP/1.1\r\nHost: a\r\n\r\n",
}


@pytest.mark.parametrize("raw", INVALID_URL.values(), ids=INVALID_URL.keys())
def test_invalid_url_gets_400_invalid_url(server: Server, raw: bytes) -> None:
    assert_canned(exchange(server.port, raw), "url")
    assert_unseen_and_logged(server, 400, "URL")


def test_host_with_a_space_gets_400_invalid_hostname(server: Server) -> None:
    assert_canned(exchange(server.port, b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), "hostname")
    assert_unseen_and_logged(server, 400, "Hostname")


def test_host_matching_no_explicit_registration_gets_400_invalid_hostname(
    make: Callable[..., Server],
) -> None:
    server = make()
    port = server.port
    assert server.transport.add_url(server.group, f"http://example.com:{port}/", 7) == 0
    assert server.transport.remove_url(server.group, server.url, False) == 0
    raw = b"GET / HTTP/1.1\r\nHost: other.example:%d\r\n\r\n" % port
    assert_canned(exchange(port, raw), "hostname")
    assert_unseen_and_logged(server, 400, "Hostname")


def test_head_longer_than_max_request_bytes_gets_400_request_too_long(make: Callable[..., Server]) -> None:
    server = make(DriverSettings(max_request_bytes=256, max_field_length=256))
    headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 60) for i in range(5))
    raw = b"GET / HTTP/1.1\r\nHost: a\r\n" + headers + b"\r\n"
    assert_canned(exchange(server.port, raw), "too_long")
    assert_unseen_and_logged(server, 400, "RequestLength")


def test_header_longer_than_max_field_length_gets_400_header_field_too_long(
    make: Callable[..., Server],
) -> None:
    server = make(DriverSettings(max_field_length=100, max_request_bytes=4096))
    raw = b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + b"v" * 120 + b"\r\n\r\n"
    assert_canned(exchange(server.port, raw), "field")
    assert_unseen_and_logged(server, 400, "FieldLength")


def test_url_longer_than_max_field_length_gets_414(make: Callable[..., Server]) -> None:
    server = make(DriverSettings(max_field_length=100, max_request_bytes=4096))
    raw = b"GET /" + b"a" * 120 + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    assert_canned(exchange(server.port, raw), "414")
    assert_unseen_and_logged(server, 414, "URL_Length")


def test_unmatched_path_on_a_known_host_gets_404(make: Callable[..., Server]) -> None:
    server = make(path="/app/")
    assert_canned(exchange(server.port, b"GET /other HTTP/1.1\r\nHost: a\r\n\r\n"), "404")
    assert_unseen_and_logged(server, 404, "NotFound")


@pytest.mark.parametrize("verb", [b"POST", b"PUT"])
def test_body_verb_without_length_gets_411(server: Server, verb: bytes) -> None:
    assert_canned(exchange(server.port, verb + b" / HTTP/1.1\r\nHost: a\r\n\r\n"), "411")
    assert_unseen_and_logged(server, 411, "LengthRequired")


@pytest.mark.parametrize("coding", [b"gzip", b"garbage", b"chunked, chunked", b"gzip, chunked"])
def test_unknown_transfer_encoding_gets_501(server: Server, coding: bytes) -> None:
    raw = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: " + coding + b"\r\n\r\n"
    assert_canned(exchange(server.port, raw), "501")
    assert_unseen_and_logged(server, 501, "N/I")


@pytest.mark.parametrize("version", [b"2.0", b"3.0"])
def test_http_2_or_3_version_over_http1_framing_gets_505(server: Server, version: bytes) -> None:
    assert_canned(exchange(server.port, b"GET / HTTP/" + version + b"\r\nHost: a\r\n\r\n"), "505")
    assert_unseen_and_logged(server, 505, "Version_N/S")


def fill_queue(server: Server) -> RawClient:
    """Queue length 1, one request waiting in it (nobody receives)."""
    assert server.transport.set_queue_property(server.queue, PROP_QUEUE_LENGTH, 1) == 0
    waiting = RawClient(server.port)
    waiting.send(b"GET /wait HTTP/1.1\r\nHost: a\r\n\r\n")
    for _ in range(200):
        if server.transport.statistics()["queued"] == 1:
            break
        threading.Event().wait(0.01)
    assert server.transport.statistics()["queued"] == 1
    return waiting


def test_full_queue_with_limited_verbosity_gets_503(server: Server) -> None:
    assert server.transport.set_queue_property(server.queue, PROP_VERBOSITY, 1) == 0
    waiting = fill_queue(server)
    assert_canned(exchange(server.port, b"GET /more HTTP/1.1\r\nHost: a\r\n\r\n"), "503")
    stats = server.transport.statistics()
    assert stats["canned_503"] == 1
    assert stats["queued"] == 1
    assert [e[0] for e in httperr_events(server, 1)] == ["QueueFull"]
    # the waiting request is still delivered
    request = server.receive()
    assert request.raw_url == b"/wait"
    server.respond(request.request_id)
    assert waiting.recv_response()[0] == b"HTTP/1.1 200 OK"
    waiting.close()


def test_full_queue_with_basic_verbosity_resets_the_connection(server: Server) -> None:
    waiting = fill_queue(server)
    client = RawClient(server.port)
    client.send(b"GET /more HTTP/1.1\r\nHost: a\r\n\r\n")
    assert client.closed_by_peer(2.0) == "reset"
    assert client.buf == b""
    stats = server.transport.statistics()
    assert stats.get("canned_503", 0) == 0
    assert stats["QueueFull"] == 1
    assert [e[0] for e in httperr_events(server, 1)] == ["QueueFull"]
    client.close()
    waiting.close()


def test_request_for_an_unbound_group_resets_with_basic_verbosity(server: Server) -> None:
    assert server.transport.set_group_property(server.group, PROP_BINDING, None) == 0
    client = RawClient(server.port)
    client.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert client.closed_by_peer(2.0) == "reset"
    assert server.transport.statistics()["requests_in_flight"] == 0
    assert len(httperr_events(server, 1)) == 1
    client.close()


def test_request_for_an_unbound_group_gets_503_with_limited_default_verbosity(
    make: Callable[..., Server],
) -> None:
    from httpsys._core.verbosity import Verbosity503

    server = make(DriverSettings(default_503_verbosity=Verbosity503.LIMITED))
    assert server.transport.set_group_property(server.group, PROP_BINDING, None) == 0
    assert_canned(exchange(server.port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), "503")
    assert server.transport.statistics()["canned_503"] == 1


def test_bare_lf_line_endings_and_lws_after_request_line_are_accepted(server: Server) -> None:
    client = RawClient(server.port)
    client.send(b"GET /lf HTTP/1.1\nHost: a\nX-A: 1\n\n")
    request = server.receive()
    assert request.raw_url == b"/lf"
    assert (b"X-A", b"1") in request.headers
    server.respond(request.request_id)
    assert client.recv_response()[0] == b"HTTP/1.1 200 OK"
    client.close()


def test_each_canned_response_is_counted_and_logged(server: Server) -> None:
    for raw in (
        b"get / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\n\r\n",
    ):
        exchange(server.port, raw)
    stats = server.transport.statistics()
    assert stats["canned_400"] == 2
    assert stats["canned_411"] == 1
    assert [e[0] for e in httperr_events(server, 3)] == ["Verb", "BadRequest", "LengthRequired"]
    assert stats["Verb"] == stats["BadRequest"] == stats["LengthRequired"] == 1


def test_duplicate_transfer_encoding_chunked_headers_get_501(server: Server) -> None:
    raw = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert_canned(exchange(server.port, raw), "501")
    assert_unseen_and_logged(server, 501, "N/I")


def test_whitespace_led_line_after_the_request_line_is_discarded_not_merged(server: Server) -> None:
    client = RawClient(server.port)
    client.send(b"GET /lws HTTP/1.1\r\n X-Smuggled: 1\r\nHost: a\r\n\r\n")
    request = server.receive()
    assert request.raw_url == b"/lws"
    assert request.headers == [(b"Host", b"a")]
    server.respond(request.request_id)
    assert client.recv_response()[0] == b"HTTP/1.1 200 OK"
    client.close()


def test_empty_lines_before_the_request_line_are_ignored(server: Server) -> None:
    client = RawClient(server.port)
    client.send(b"\r\n\r\nGET /e HTTP/1.1\r\nHost: a\r\n\r\n")
    request = server.receive()
    assert request.raw_url == b"/e"
    server.respond(request.request_id)
    assert client.recv_response()[0] == b"HTTP/1.1 200 OK"
    client.close()


def test_obs_fold_in_headers_is_rejected(server: Server) -> None:
    data = exchange(server.port, b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n  folded\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert server.transport.statistics()["canned_400"] == 1
