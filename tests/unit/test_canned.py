"""Canned responses: byte-exact bodies and wire form of spec §5.2, HTTPERR reasons, the RFC 1123 date."""

from __future__ import annotations

import calendar

import pytest

from httpsys._core.canned import CannedResponse, RequestRejected, format_http_date, render_canned

DATE = b"Wed, 25 Nov 2026 01:00:00 GMT"

# (member, status, heading, body length) as captured from real HTTP.sys (spec §5.2)
VERIFIED = [
    (CannedResponse.BAD_REQUEST, 400, "Bad Request", 311),
    (CannedResponse.INVALID_VERB, 400, "Bad Request - Invalid Verb", 326),
    (CannedResponse.INVALID_URL, 400, "Bad Request - Invalid URL", 324),
    (CannedResponse.INVALID_HOSTNAME, 400, "Bad Request - Invalid Hostname", 334),
    (CannedResponse.INVALID_HEADER, 400, "Bad Request - Invalid Header", 339),
    (CannedResponse.REQUEST_TOO_LONG, 400, "Bad Request - Request Too Long", 346),
    (CannedResponse.HEADER_FIELD_TOO_LONG, 400, "Bad Request - Header Field Too Long", 342),
    (CannedResponse.URL_TOO_LONG, 414, "Request URL Too Long", 329),
    (CannedResponse.NOT_FOUND, 404, "Not Found", 315),
    (CannedResponse.LENGTH_REQUIRED, 411, "Length Required", 344),
    (CannedResponse.SERVICE_UNAVAILABLE, 503, "Service Unavailable", 326),
]


@pytest.mark.parametrize(
    ("kind", "status", "heading", "length"), VERIFIED, ids=lambda v: getattr(v, "name", "")
)
def test_body_has_the_captured_byte_length(
    kind: CannedResponse, status: int, heading: str, length: int
) -> None:
    assert kind.status == status
    assert kind.heading == heading
    assert len(kind.body) == length


def test_bad_request_body_is_byte_exact() -> None:
    assert CannedResponse.BAD_REQUEST.body == (
        b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
        b"<HTML><HEAD><TITLE>Bad Request</TITLE>\r\n"
        b'<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
        b"<BODY><h2>Bad Request</h2>\r\n"
        b"<hr><p>HTTP Error 400. The request is badly formed.</p>\r\n"
        b"</BODY></HTML>\r\n"
    )


def test_invalid_hostname_body_carries_title_heading_code_and_message() -> None:
    body = CannedResponse.INVALID_HOSTNAME.body
    assert b"<TITLE>Bad Request</TITLE>" in body
    assert b"<h2>Bad Request - Invalid Hostname</h2>" in body
    assert b"<hr><p>HTTP Error 400. The request hostname is invalid.</p>" in body


def test_render_is_byte_exact_with_header_order_of_spec() -> None:
    wire = render_canned(CannedResponse.NOT_FOUND, DATE)
    assert wire == (
        b"HTTP/1.1 404 Not Found\r\n"
        b"Content-Type: text/html; charset=us-ascii\r\n"
        b"Server: Microsoft-HTTPAPI/2.0\r\n"
        b"Date: Wed, 25 Nov 2026 01:00:00 GMT\r\n"
        b"Connection: close\r\n"
        b"Content-Length: 315\r\n"
        b"\r\n" + CannedResponse.NOT_FOUND.body
    )


def test_render_without_server_header_omits_only_the_server_line() -> None:
    with_server = render_canned(CannedResponse.BAD_REQUEST, DATE)
    without = render_canned(CannedResponse.BAD_REQUEST, DATE, server_header=False)
    assert b"Server:" not in without
    assert with_server.replace(b"Server: Microsoft-HTTPAPI/2.0\r\n", b"") == without


@pytest.mark.parametrize("kind", list(CannedResponse), ids=lambda k: k.name)
def test_every_rendering_frames_its_body_with_content_length(kind: CannedResponse) -> None:
    wire = render_canned(kind, DATE)
    head, _, body = wire.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 %d %s" % (kind.status, kind.reason_phrase)
    assert [line.split(b":")[0] for line in lines[1:]] == [
        b"Content-Type",
        b"Server",
        b"Date",
        b"Connection",
        b"Content-Length",
    ]
    assert lines[-1] == b"Content-Length: %d" % len(body)
    assert body == kind.body
    assert b"HTTP Error %d. " % kind.status in body


def test_status_line_reason_is_the_title() -> None:
    assert CannedResponse.URL_TOO_LONG.reason_phrase == b"Request URL Too Long"
    assert CannedResponse.SERVICE_UNAVAILABLE.reason_phrase == b"Service Unavailable"
    assert render_canned(CannedResponse.LENGTH_REQUIRED, DATE).startswith(b"HTTP/1.1 411 Length Required\r\n")


def test_unsure_members_have_their_status_codes() -> None:
    assert CannedResponse.ENTITY_TOO_LARGE.status == 413
    assert CannedResponse.NOT_IMPLEMENTED.status == 501
    assert CannedResponse.VERSION_NOT_SUPPORTED.status == 505
    assert b"The request transfer encoding type is not supported." in CannedResponse.NOT_IMPLEMENTED.body


def test_httperr_reasons_match_the_documented_list() -> None:
    reasons = {kind: kind.httperr_reason for kind in CannedResponse}
    assert reasons == {
        CannedResponse.BAD_REQUEST: "BadRequest",
        CannedResponse.INVALID_VERB: "Verb",
        CannedResponse.INVALID_URL: "URL",
        CannedResponse.INVALID_HOSTNAME: "Hostname",
        CannedResponse.INVALID_HEADER: "Header",
        CannedResponse.REQUEST_TOO_LONG: "RequestLength",
        CannedResponse.HEADER_FIELD_TOO_LONG: "FieldLength",
        CannedResponse.URL_TOO_LONG: "URL_Length",
        CannedResponse.NOT_FOUND: "NotFound",
        CannedResponse.LENGTH_REQUIRED: "LengthRequired",
        CannedResponse.ENTITY_TOO_LARGE: "EntityTooLarge",
        CannedResponse.NOT_IMPLEMENTED: "N/I",
        CannedResponse.SERVICE_UNAVAILABLE: "QueueFull",
        CannedResponse.VERSION_NOT_SUPPORTED: "Version_N/S",
    }


def test_bodies_are_us_ascii() -> None:
    for kind in CannedResponse:
        kind.body.decode("ascii")
        assert kind.title.isascii() and kind.heading.isascii() and kind.message.isascii()


def test_rejection_defaults_to_the_log_reason_of_its_kind() -> None:
    exc = RequestRejected(CannedResponse.SERVICE_UNAVAILABLE)
    assert exc.kind is CannedResponse.SERVICE_UNAVAILABLE
    assert exc.httperr_reason is None
    assert exc.log_reason == "QueueFull"


def test_rejection_reason_override_is_kept() -> None:
    exc = RequestRejected(CannedResponse.SERVICE_UNAVAILABLE, "ConnLimit", detail="too many connections")
    assert exc.httperr_reason == "ConnLimit"
    assert exc.log_reason == "ConnLimit"
    assert "503" in str(exc) and "too many connections" in str(exc)


def test_http_date_of_a_known_instant() -> None:
    epoch = calendar.timegm((2026, 11, 25, 1, 0, 0))
    assert format_http_date(epoch) == DATE


def test_http_date_pads_the_day_to_two_digits() -> None:
    assert format_http_date(0) == b"Thu, 01 Jan 1970 00:00:00 GMT"
    assert format_http_date(calendar.timegm((2024, 2, 29, 23, 59, 59))) == b"Thu, 29 Feb 2024 23:59:59 GMT"


def test_http_date_drops_fractions_of_a_second() -> None:
    assert format_http_date(59.999) == b"Thu, 01 Jan 1970 00:00:59 GMT"
