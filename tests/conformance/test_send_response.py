"""HttpSendHttpResponse: HTTP_RESPONSE conversion, lengths and counts, cache policy, bytes sent (§2.2, §3.3)."""

from __future__ import annotations

import ctypes

import pytest

from httpsys.win32 import *

from .harness import RawClient, Server, make_response, memory_chunk


def serve(server: Server, c: RawClient, extra: bytes = b"") -> int:
    c.get("/", server.port, extra)
    return server.receive().RequestId


def send(
    server: Server, request_id: int, response: object, flags: int = 0, **kwargs: object
) -> tuple[int, int]:
    sent = ctypes.c_ulong()
    code = HttpSendHttpResponse(server.queue, request_id, flags, response, BytesSent=sent, **kwargs)
    return code, sent.value


def test_null_and_bogus_request_ids_are_connection_invalid(server: Server) -> None:
    sent = ctypes.c_ulong()
    response = make_response()
    assert HttpSendHttpResponse(server.queue, HTTP_NULL_ID, 0, response, None, sent, None, 0, None, None) == (
        ERROR_CONNECTION_INVALID
    )
    assert HttpSendHttpResponse(server.queue, 0xDEADBEEF, 0, response, None, sent, None, 0, None, None) == (
        ERROR_CONNECTION_INVALID
    )
    assert HttpSendHttpResponse(0xBAD0, 0xDEADBEEF, 0, response, None, sent, None, 0, None, None) == (
        ERROR_INVALID_HANDLE
    )


def test_bytes_sent_is_exactly_what_the_client_receives(server: Server, client) -> None:
    c = client(server.port)
    request_id = serve(server, c)
    code, sent = send(server, request_id, make_response(body=b"hello"))
    assert code == NO_ERROR
    status, headers, body = c.recv_response()
    wire = len(status) + 2 + sum(len(k) + len(v) + 4 for k, v in headers.items()) + 2 + len(body)
    assert sent == wire and body == b"hello"


def test_status_reason_and_reason_length(server: Server, client) -> None:
    c = client(server.port)
    request_id = serve(server, c)
    response = HTTP_RESPONSE_V2(StatusCode=299, pReason=b"Fine Really", ReasonLength=4)
    response.Version = HTTP_VERSION_1_0  # ignored: always HTTP/1.1
    assert send(server, request_id, response)[0] == NO_ERROR
    assert c.recv_response()[0] == b"HTTP/1.1 299 Fine"


def test_reason_longer_than_given_or_unprintable_is_invalid_parameter(server: Server, client) -> None:
    c = client(server.port)
    request_id = serve(server, c)
    assert send(server, request_id, HTTP_RESPONSE_V2(StatusCode=200, pReason=b"OK", ReasonLength=3))[0] == (
        ERROR_INVALID_PARAMETER
    )
    assert (
        send(server, request_id, HTTP_RESPONSE_V2(StatusCode=200, pReason=b"O\nK"))[0]
        == ERROR_INVALID_PARAMETER
    )
    assert (
        send(server, request_id, HTTP_RESPONSE_V2(StatusCode=42, pReason=b"OK"))[0] == ERROR_INVALID_PARAMETER
    )
    assert send(server, request_id, HTTP_RESPONSE_V1(StatusCode=200, pReason="OK"))[0] == NO_ERROR


def test_known_header_lengths_are_honoured_and_empty_ones_are_absent(server: Server, client) -> None:
    c = client(server.port)
    request_id = serve(server, c)
    response = make_response(body=b"x")
    response.Headers.KnownHeaders[HttpHeaderContentType] = HTTP_KNOWN_HEADER(10, b"text/plain; charset=x")
    response.Headers.KnownHeaders[HttpHeaderCacheControl] = HTTP_KNOWN_HEADER(0, b"")  # absent
    response.Headers.KnownHeaders[HttpHeaderEtag] = HTTP_KNOWN_HEADER(pRawValue='"v1"')  # length derived
    response.Headers.pUnknownHeaders = [
        HTTP_UNKNOWN_HEADER(pName=b"X-Empty", pRawValue=b""),
        HTTP_UNKNOWN_HEADER(5, 2, b"X-TwoExtra", b"abc"),
    ]
    assert send(server, request_id, response)[0] == NO_ERROR
    _, headers, _ = c.recv_response()
    assert headers[b"content-type"] == b"text/plain"
    assert b"cache-control" not in headers
    assert headers[b"etag"] == b'"v1"'
    assert headers[b"x-empty"] == b"" and headers[b"x-two"] == b"ab"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: (
            setattr(r.Headers.KnownHeaders[HttpHeaderContentType], "RawValueLength", 99)
            or setattr(r.Headers.KnownHeaders[HttpHeaderContentType], "pRawValue", b"short")
        ),
        lambda r: setattr(r.Headers, "UnknownHeaderCount", 2),
        lambda r: setattr(r.Headers, "pUnknownHeaders", [HTTP_UNKNOWN_HEADER(pName=b"", pRawValue=b"v")]),
        lambda r: setattr(
            r.Headers, "pUnknownHeaders", [HTTP_UNKNOWN_HEADER(pName=b"Bad Name", pRawValue=b"v")]
        ),
        lambda r: setattr(r.Headers, "pUnknownHeaders", ["header"]),
        lambda r: setattr(r.Headers, "TrailerCount", 1),
        lambda r: setattr(r, "EntityChunkCount", 3),
        lambda r: (
            setattr(r, "EntityChunkCount", 0),
            setattr(r, "pEntityChunks", [memory_chunk(b"x")] * 101),
        ),
        lambda r: setattr(r, "Flags", 0x80),
        lambda r: setattr(r, "Headers", "headers"),
    ],
)
def test_malformed_responses_are_invalid_parameter(server: Server, client, mutate) -> None:
    c = client(server.port)
    request_id = serve(server, c)
    response = make_response(body=b"x")
    mutate(response)
    assert send(server, request_id, response)[0] == ERROR_INVALID_PARAMETER
    assert send(server, request_id, make_response(body=b"ok"))[0] == NO_ERROR  # the request is still usable


def test_up_to_100_entity_chunks_and_the_count_selects_them(server: Server, client) -> None:
    c = client(server.port)
    request_id = serve(server, c)
    response = HTTP_RESPONSE_V2(
        StatusCode=200, EntityChunkCount=100, pEntityChunks=[memory_chunk(b"a")] * 102
    )
    assert send(server, request_id, response)[0] == NO_ERROR
    assert c.recv_response()[2] == b"a" * 100


def test_multiple_known_headers_give_several_lines(server: Server, client) -> None:
    c = client(server.port)
    request_id = serve(server, c)
    response = make_response(body=b"")
    response.Headers.KnownHeaders[HttpHeaderSetCookie] = HTTP_KNOWN_HEADER(pRawValue=b"a=1")
    extra = HTTP_MULTIPLE_KNOWN_HEADERS(
        HeaderId=HttpHeaderSetCookie,
        KnownHeaderCount=2,
        KnownHeaders=[HTTP_KNOWN_HEADER(pRawValue=b"b=2"), HTTP_KNOWN_HEADER(pRawValue=b"c=3")],
    )
    response.pResponseInfo = [
        HTTP_RESPONSE_INFO(HttpResponseInfoTypeMultipleKnownHeaders, sizeof(extra), extra)
    ]
    response.ResponseInfoCount = 1
    assert send(server, request_id, response)[0] == NO_ERROR
    head = c.recv_until(b"\r\n\r\n")
    assert head.count(b"Set-Cookie: ") == 3
    assert head.index(b"a=1") < head.index(b"b=2") < head.index(b"c=3")


@pytest.mark.parametrize(
    ("flags", "order"),
    [
        (0, [b"Negotiate", b"NTLM", b"Basic"]),
        (HTTP_RESPONSE_INFO_FLAGS_PRESERVE_ORDER, [b"Basic", b"NTLM", b"Negotiate"]),
    ],
)
def test_www_authenticate_order_without_and_with_preserve_order(server: Server, client, flags, order) -> None:
    c = client(server.port)
    request_id = serve(server, c)
    response = make_response(status=401, reason=b"Unauthorized", body=b"")
    schemes = [HTTP_KNOWN_HEADER(pRawValue=v) for v in (b"Basic realm=x", b"NTLM", b"Negotiate")]
    extra = HTTP_MULTIPLE_KNOWN_HEADERS(HttpHeaderWwwAuthenticate, flags, 3, schemes)
    response.pResponseInfo = [
        HTTP_RESPONSE_INFO(HttpResponseInfoTypeMultipleKnownHeaders, sizeof(extra), extra)
    ]
    assert send(server, request_id, response)[0] == NO_ERROR
    lines = [
        line for line in c.recv_until(b"\r\n\r\n").split(b"\r\n") if line.startswith(b"WWW-Authenticate")
    ]
    assert [line.split(b": ")[1].split(b" ")[0] for line in lines] == order


def test_cache_policy_is_validated_and_accepted(server: Server, client) -> None:
    c = client(server.port)
    request_id = serve(server, c)
    assert send(server, request_id, make_response(body=b"x"), CachePolicy="ttl")[0] == ERROR_INVALID_PARAMETER
    assert send(server, request_id, make_response(body=b"x"), CachePolicy=HTTP_CACHE_POLICY(7, 0))[0] == (
        ERROR_INVALID_PARAMETER
    )
    policy = HTTP_CACHE_POLICY(HttpCachePolicyTimeToLive, 60)
    assert send(server, request_id, make_response(body=b"cached"), CachePolicy=policy)[0] == NO_ERROR
    assert c.recv_response()[2] == b"cached"


def test_reserved_parameters_and_response_type(server: Server, client) -> None:
    c = client(server.port)
    request_id = serve(server, c)
    response = make_response()
    sent = ctypes.c_ulong()
    q = server.queue
    assert (
        HttpSendHttpResponse(q, request_id, 0, response, None, sent, 1, 0, None, None)
        == ERROR_INVALID_PARAMETER
    )
    assert HttpSendHttpResponse(q, request_id, 0, response, None, sent, None, 2, None, None) == (
        ERROR_INVALID_PARAMETER
    )
    assert (
        HttpSendHttpResponse(q, request_id, 0, None, None, sent, None, 0, None, None)
        == ERROR_INVALID_PARAMETER
    )
    assert HttpSendHttpResponse(q, request_id, 0, b"200 OK", None, sent, None, 0, None, None) == (
        ERROR_INVALID_PARAMETER
    )
    assert HttpSendHttpResponse(q, request_id, 0, response, None, None, None, 0, None, None) == (
        ERROR_INVALID_PARAMETER
    )
    log = HTTP_LOG_FIELDS_DATA(Base=HTTP_LOG_DATA(HttpLogDataTypeFields), UriStem="/")
    assert HttpSendHttpResponse(q, request_id, 0, response, None, sent, None, 0, None, log) == NO_ERROR


def test_opaque_needs_status_101(server: Server, client) -> None:
    c = client(server.port)
    request_id = serve(server, c)
    assert (
        send(server, request_id, make_response(), HTTP_SEND_RESPONSE_FLAG_OPAQUE)[0]
        == ERROR_INVALID_PARAMETER
    )


def test_process_ranges_answers_a_range_request_with_206(server: Server, client) -> None:
    c = client(server.port)
    request_id = serve(server, c, b"Range: bytes=2-4\r\n")
    code, _ = send(
        server, request_id, make_response(body=b"0123456789"), HTTP_SEND_RESPONSE_FLAG_PROCESS_RANGES
    )
    assert code == NO_ERROR
    status, headers, body = c.recv_response()
    assert status.startswith(b"HTTP/1.1 206") and body == b"234"
    assert headers[b"content-range"] == b"bytes 2-4/10"


def test_a_second_final_response_is_connection_invalid(server: Server, client) -> None:
    c = client(server.port)
    request_id = serve(server, c)
    assert send(server, request_id, make_response(body=b"1"))[0] == NO_ERROR
    assert send(server, request_id, make_response(body=b"2"))[0] == ERROR_CONNECTION_INVALID
