"""Response head generation (spec §3.3, §5.3, §5.4, checklist H 89-109): byte-exact heads and framing plans."""

from __future__ import annotations

from typing import Any

import h11
import pytest

from httpsys._core.response import (
    CHUNK_END,
    HTTP_SEND_RESPONSE_FLAG_DISCONNECT,
    HTTP_SEND_RESPONSE_FLAG_GOAWAY,
    HTTP_SEND_RESPONSE_FLAG_MORE_DATA,
    HTTP_SEND_RESPONSE_FLAG_OPAQUE,
    LAST_CHUNK,
    RESPONSE_HEADER_IDS,
    RESPONSE_HEADER_NAMES,
    HeadPlan,
    ResponseSpec,
    chunk_frame,
    plan_and_render,
    plan_response,
    render_head,
    render_trailers,
    validate_response,
    validate_send_flags,
    validate_trailers,
)
from httpsys._core.status import Win32Error

DATE = b"Wed, 25 Nov 2026 01:00:00 GMT"
OK = Win32Error.NO_ERROR
INVALID = Win32Error.ERROR_INVALID_PARAMETER


def plan(
    spec: ResponseSpec,
    *,
    method: bytes = b"GET",
    version: tuple[int, int] = (1, 1),
    keep_alive: bool = True,
    flags: int = 0,
    entity_length: int | None = 0,
) -> HeadPlan:
    final = not flags & HTTP_SEND_RESPONSE_FLAG_MORE_DATA
    return plan_response(
        spec,
        request_method=method,
        request_version=version,
        request_keep_alive=keep_alive,
        flags=flags,
        final=final,
        entity_length=entity_length if final else None,
    )


def head(spec: ResponseSpec, server_mode: int = 0, **kwargs: Any) -> bytes:
    return render_head(spec, plan(spec, **kwargs), date=DATE, server_mode=server_mode)


def lines(raw: bytes) -> list[bytes]:
    assert raw.endswith(b"\r\n\r\n")
    return raw[:-4].split(b"\r\n")


# --- header table -----------------------------------------------------------------------------------------------


def test_response_known_header_table_has_thirty_ids_in_http_h_order() -> None:
    assert len(RESPONSE_HEADER_NAMES) == 30
    assert RESPONSE_HEADER_NAMES[0] == b"Cache-Control"
    assert RESPONSE_HEADER_NAMES[11] == b"Content-Length"
    assert RESPONSE_HEADER_NAMES[20] == b"Accept-Ranges"
    assert RESPONSE_HEADER_NAMES[26] == b"Server"
    assert RESPONSE_HEADER_NAMES[29] == b"WWW-Authenticate"


def test_response_header_ids_map_lowercase_names_back_to_ids() -> None:
    for i, name in enumerate(RESPONSE_HEADER_NAMES):
        assert RESPONSE_HEADER_IDS[name.lower()] == i
    assert RESPONSE_HEADER_IDS[b"etag"] == 22


# --- byte-exact heads -------------------------------------------------------------------------------------------


def test_empty_200_with_app_content_length_is_the_106_byte_reference_head() -> None:
    raw = head(ResponseSpec(200, b"OK", {11: [b"0"]}, []))
    assert raw == (
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nServer: Microsoft-HTTPAPI/2.0\r\n"
        b"Date: Wed, 25 Nov 2026 01:00:00 GMT\r\n\r\n"
    )
    assert len(raw) == 106


def test_status_line_is_http11_even_for_http10_request() -> None:
    raw = head(ResponseSpec(404, b"Not Found", {}, []), version=(1, 0), keep_alive=False)
    assert raw.startswith(b"HTTP/1.1 404 Not Found\r\n")


def test_empty_reason_keeps_the_space_after_the_code() -> None:
    raw = head(ResponseSpec(999, b"", {}, []))
    assert raw.startswith(b"HTTP/1.1 999 \r\n")


def test_uncommon_reason_is_sent_verbatim() -> None:
    raw = head(ResponseSpec(200, b"Fine Thanks", {}, []))
    assert raw.startswith(b"HTTP/1.1 200 Fine Thanks\r\n")


def test_order_is_known_by_id_then_unknown_then_date_connection_close_content_length() -> None:
    spec = ResponseSpec(
        200,
        b"OK",
        {29: [b"Basic"], 12: [b"text/plain"], 0: [b"no-cache"], 22: [b'"x"']},
        [(b"X-B", b"2"), (b"X-A", b"1")],
    )
    raw = head(spec, flags=HTTP_SEND_RESPONSE_FLAG_DISCONNECT, entity_length=5)
    assert lines(raw) == [
        b"HTTP/1.1 200 OK",
        b"Cache-Control: no-cache",
        b"Content-Type: text/plain",
        b'ETag: "x"',
        b"Server: Microsoft-HTTPAPI/2.0",
        b"WWW-Authenticate: Basic",
        b"X-B: 2",
        b"X-A: 1",
        b"Date: " + DATE,
        b"Connection: close",
        b"Content-Length: 5",
    ]


def test_auto_content_length_is_sum_of_chunks_and_last_header() -> None:
    raw = head(ResponseSpec(200, b"OK", {12: [b"text/html"]}, []), entity_length=589)
    assert lines(raw)[-1] == b"Content-Length: 589"
    assert lines(raw)[-2] == b"Date: " + DATE


def test_auto_content_length_is_zero_without_chunks() -> None:
    raw = head(ResponseSpec(200, b"OK", {}, []), entity_length=None)
    assert lines(raw)[-1] == b"Content-Length: 0"


def test_app_server_value_gets_httpapi_suffix() -> None:
    raw = head(ResponseSpec(200, b"OK", {26: [b"Kestrel"]}, []))
    assert b"Server: Kestrel Microsoft-HTTPAPI/2.0\r\n" in raw
    assert raw.count(b"Server:") == 1


def test_default_server_header_sits_at_id_26_position() -> None:
    raw = head(ResponseSpec(200, b"OK", {25: [b"5"], 27: [b"a=b"]}, []))
    ls = lines(raw)
    assert ls[1:4] == [b"Retry-After: 5", b"Server: Microsoft-HTTPAPI/2.0", b"Set-Cookie: a=b"]


def test_empty_app_server_value_gives_default_server() -> None:
    raw = head(ResponseSpec(200, b"OK", {26: [b""]}, []))
    assert b"Server: Microsoft-HTTPAPI/2.0\r\n" in raw


def test_server_mode_1_is_same_as_0_for_app_responses() -> None:
    spec = ResponseSpec(200, b"OK", {26: [b"App"]}, [])
    assert head(spec, server_mode=1) == head(spec, server_mode=0)
    bare = ResponseSpec(200, b"OK", {}, [])
    assert b"Server: Microsoft-HTTPAPI/2.0" in head(bare, server_mode=1)


def test_server_mode_2_sends_app_value_only_or_nothing() -> None:
    assert b"Server: App\r\n" in head(ResponseSpec(200, b"OK", {26: [b"App"]}, []), server_mode=2)
    assert b"Server" not in head(ResponseSpec(200, b"OK", {}, []), server_mode=2)


@pytest.mark.parametrize("name", [b"Server", b"server", b"SERVER"])
def test_unknown_server_header_is_the_app_server_value_sent_once(name: bytes) -> None:
    spec = ResponseSpec(200, b"OK", {25: [b"5"], 27: [b"a=b"]}, [(b"X-A", b"1"), (name, b"MyApp/1.0")])
    ls = lines(head(spec))
    assert [line for line in ls if line.lower().startswith(b"server:")] == [
        b"Server: MyApp/1.0 Microsoft-HTTPAPI/2.0"
    ]
    assert ls[1:5] == [
        b"Retry-After: 5",
        b"Server: MyApp/1.0 Microsoft-HTTPAPI/2.0",
        b"Set-Cookie: a=b",
        b"X-A: 1",
    ]
    assert spec.unknown == [(b"X-A", b"1"), (name, b"MyApp/1.0")]  # the record is left as given


def test_unknown_server_header_under_server_mode_2_is_sent_as_given_once() -> None:
    raw = head(ResponseSpec(200, b"OK", {}, [(b"server", b"MyApp")]), server_mode=2)
    assert raw.count(b"Server:") == 1 and b"Server: MyApp\r\n" in raw


def test_empty_unknown_server_header_counts_as_absent() -> None:
    raw = head(ResponseSpec(200, b"OK", {}, [(b"Server", b"")]))
    assert raw.count(b"Server:") == 1 and b"Server: Microsoft-HTTPAPI/2.0\r\n" in raw


def test_known_and_unknown_server_values_share_one_line() -> None:
    raw = head(ResponseSpec(200, b"OK", {26: [b"A", b"B"]}, [(b"Server", b"C")]))
    assert raw.count(b"Server:") == 1 and b"Server: A B C Microsoft-HTTPAPI/2.0\r\n" in raw


def test_app_date_is_replaced_by_generated_date() -> None:
    raw = head(ResponseSpec(200, b"OK", {2: [b"Mon, 01 Jan 2001 00:00:00 GMT"]}, [(b"date", b"bogus")]))
    assert raw.count(b"Date:") == 1
    assert b"Date: " + DATE + b"\r\n" in raw
    assert b"2001" not in raw and b"bogus" not in raw


def test_empty_known_header_is_omitted() -> None:
    raw = head(ResponseSpec(200, b"OK", {12: [b""], 4: [b""]}, []))
    assert b"Content-Type" not in raw and b"Pragma" not in raw


def test_empty_unknown_header_is_sent() -> None:
    raw = head(ResponseSpec(200, b"OK", {}, [(b"X-Empty", b"")]))
    assert b"\r\nX-Empty: \r\n" in raw


def test_multiple_known_values_are_separate_lines_in_given_order() -> None:
    raw = head(ResponseSpec(401, b"Unauthorized", {29: [b"Basic", b"Negotiate"], 27: [b"a=1", b"b=2"]}, []))
    ls = lines(raw)
    assert ls.index(b"Set-Cookie: a=1") + 1 == ls.index(b"Set-Cookie: b=2")
    assert ls.index(b"WWW-Authenticate: Basic") + 1 == ls.index(b"WWW-Authenticate: Negotiate")


def test_app_content_length_is_kept_verbatim_even_if_wrong() -> None:
    spec = ResponseSpec(200, b"OK", {11: [b"10"]}, [])
    p = plan(spec, entity_length=3)
    assert p.auto_content_length is None
    assert p.app_content_length == 10
    raw = render_head(spec, p, date=DATE)
    assert raw.count(b"Content-Length") == 1 and b"Content-Length: 10\r\n" in raw


def test_unparseable_app_content_length_is_sent_but_not_parsed() -> None:
    spec = ResponseSpec(200, b"OK", {11: [b"abc"]}, [])
    p = plan(spec, entity_length=3)
    assert p.app_content_length is None and p.auto_content_length is None
    assert b"Content-Length: abc\r\n" in render_head(spec, p, date=DATE)


def test_unknown_content_length_header_suppresses_auto_content_length() -> None:
    spec = ResponseSpec(200, b"OK", {}, [(b"content-length", b"3")])
    p = plan(spec, entity_length=3)
    assert p.auto_content_length is None and p.app_content_length == 3
    assert render_head(spec, p, date=DATE).lower().count(b"content-length") == 1


def test_huge_app_content_length_is_not_converted() -> None:
    p = plan(ResponseSpec(200, b"OK", {11: [b"9" * 5000]}, []))
    assert p.app_content_length is None and p.auto_content_length is None


def test_rendered_head_is_accepted_by_a_strict_parser() -> None:
    spec = ResponseSpec(200, b"OK", {12: [b"text/plain"], 26: [b"X"]}, [(b"X-Y", b"z")])
    raw = head(spec, entity_length=2) + b"hi"
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    conn.receive_data(raw)
    event = conn.next_event()
    assert isinstance(event, h11.Response) and event.status_code == 200
    assert (b"content-length", b"2") in list(event.headers)
    data = conn.next_event()
    assert isinstance(data, h11.Data) and data.data == b"hi"


# --- framing plans ----------------------------------------------------------------------------------------------


def test_http11_keep_alive_by_default() -> None:
    p = plan(ResponseSpec(200, b"OK", {}, []))
    assert not p.close and p.body_allowed
    assert b"Connection" not in render_head(ResponseSpec(200, b"OK", {}, []), p, date=DATE)


def test_more_data_gives_no_auto_content_length_and_close_delimited_body() -> None:
    spec = ResponseSpec(200, b"OK", {}, [])
    p = plan(spec, flags=HTTP_SEND_RESPONSE_FLAG_MORE_DATA)
    assert p.auto_content_length is None and p.close
    raw = render_head(spec, p, date=DATE)
    assert b"Content-Length" not in raw
    assert lines(raw)[-1] == b"Connection: close"


def test_more_data_with_app_content_length_keeps_alive() -> None:
    p = plan(ResponseSpec(200, b"OK", {11: [b"100"]}, []), flags=HTTP_SEND_RESPONSE_FLAG_MORE_DATA)
    assert not p.close and p.auto_content_length is None and p.app_content_length == 100


def test_more_data_with_app_chunked_keeps_alive_and_marks_chunked() -> None:
    p = plan(ResponseSpec(200, b"OK", {6: [b"chunked"]}, []), flags=HTTP_SEND_RESPONSE_FLAG_MORE_DATA)
    assert p.chunked and not p.close and p.auto_content_length is None


def test_transfer_encoding_not_ending_in_chunked_is_close_delimited() -> None:
    p = plan(ResponseSpec(200, b"OK", {6: [b"chunked, gzip"]}, []), entity_length=4)
    assert not p.chunked and p.close and p.auto_content_length is None


def test_disconnect_adds_connection_close() -> None:
    spec = ResponseSpec(200, b"OK", {11: [b"0"]}, [])
    p = plan(spec, flags=HTTP_SEND_RESPONSE_FLAG_DISCONNECT)
    assert p.close
    assert b"Connection: close\r\n" in render_head(spec, p, date=DATE)


def test_goaway_behaves_like_disconnect_on_http1() -> None:
    flags = HTTP_SEND_RESPONSE_FLAG_DISCONNECT | HTTP_SEND_RESPONSE_FLAG_GOAWAY
    assert plan(ResponseSpec(200, b"OK", {}, []), flags=flags).close


def test_client_connection_close_closes() -> None:
    assert plan(ResponseSpec(200, b"OK", {}, []), keep_alive=False).close


def test_http10_request_without_keep_alive_closes() -> None:
    spec = ResponseSpec(200, b"OK", {}, [])
    p = plan(spec, version=(1, 0), keep_alive=False, entity_length=2)
    assert p.close and p.auto_content_length == 2
    assert lines(render_head(spec, p, date=DATE))[-2:] == [b"Connection: close", b"Content-Length: 2"]


def test_http10_keep_alive_survives_length_delimited_response() -> None:
    assert not plan(ResponseSpec(200, b"OK", {}, []), version=(1, 0), keep_alive=True).close


def test_http10_keep_alive_does_not_survive_chunked_response() -> None:
    spec = ResponseSpec(200, b"OK", {6: [b"chunked"]}, [])
    assert plan(spec, version=(1, 0), keep_alive=True, flags=HTTP_SEND_RESPONSE_FLAG_MORE_DATA).close


def test_http10_keep_alive_response_that_stays_open_says_connection_keep_alive() -> None:
    spec = ResponseSpec(200, b"OK", {}, [])
    p = plan(spec, version=(1, 0), keep_alive=True, entity_length=3)
    assert not p.close and p.keep_alive_header
    assert lines(render_head(spec, p, date=DATE))[-3:] == [
        b"Date: " + DATE,
        b"Connection: keep-alive",
        b"Content-Length: 3",
    ]


def test_http10_keep_alive_header_also_on_app_content_length_head_and_no_body_statuses() -> None:
    with_length = ResponseSpec(200, b"OK", {11: [b"4"]}, [])
    streamed = plan(with_length, version=(1, 0), flags=HTTP_SEND_RESPONSE_FLAG_MORE_DATA)
    assert not streamed.close and streamed.keep_alive_header
    assert plan(ResponseSpec(200, b"OK", {}, []), method=b"HEAD", version=(1, 0)).keep_alive_header
    assert plan(ResponseSpec(304, b"Not Modified", {}, []), version=(1, 0)).keep_alive_header


def test_memoized_heads_keep_http10_and_http11_keep_alive_apart() -> None:
    spec = ResponseSpec(200, b"OK", {}, [])  # one record answering both kinds of request, as faces reuse them
    common = {"request_method": b"GET", "request_keep_alive": True, "flags": 0, "final": True}
    for _ in range(2):  # the second round is served from the record's memo
        ten = plan_and_render(spec, request_version=(1, 0), entity_length=2, date=DATE, **common)
        eleven = plan_and_render(spec, request_version=(1, 1), entity_length=2, date=DATE, **common)
        assert ten == (
            render_head(spec, plan(spec, version=(1, 0), entity_length=2), date=DATE),
            False,
            False,
        )
        assert b"Connection: keep-alive\r\n" in ten[0]
        assert eleven[0] == ten[0].replace(b"Connection: keep-alive\r\n", b"")


def test_http11_keep_alive_response_carries_no_connection_header() -> None:
    spec = ResponseSpec(200, b"OK", {}, [])
    p = plan(spec, entity_length=3)
    assert not p.close and not p.keep_alive_header
    assert b"Connection" not in render_head(spec, p, date=DATE)


def test_http10_close_delimited_response_says_close_not_keep_alive() -> None:
    spec = ResponseSpec(200, b"OK", {}, [])
    p = plan(spec, version=(1, 0), keep_alive=True, flags=HTTP_SEND_RESPONSE_FLAG_MORE_DATA)
    assert p.close and not p.keep_alive_header
    raw = render_head(spec, p, date=DATE)
    assert b"Connection: close\r\n" in raw and b"keep-alive" not in raw


def test_http10_app_keep_alive_header_is_not_doubled() -> None:
    spec = ResponseSpec(200, b"OK", {}, [(b"Connection", b"Keep-Alive")])
    p = plan(spec, version=(1, 0), entity_length=1)
    assert not p.close and not p.keep_alive_header
    assert render_head(spec, p, date=DATE).lower().count(b"connection:") == 1


def test_http10_app_connection_header_without_keep_alive_closes() -> None:
    spec = ResponseSpec(200, b"OK", {1: [b"x-hop"]}, [])
    p = plan(spec, version=(1, 0), entity_length=1)
    assert p.close and not p.keep_alive_header
    assert render_head(spec, p, date=DATE).count(b"Connection:") == 1
    assert not plan(spec, version=(1, 1), entity_length=1).close  # HTTP/1.1 persists without being told


def test_app_connection_close_closes_without_second_connection_header() -> None:
    spec = ResponseSpec(200, b"OK", {1: [b"close"]}, [])
    p = plan(spec)
    assert p.close and p.app_connection
    raw = render_head(spec, p, date=DATE)
    assert raw.count(b"Connection:") == 1 and b"Connection: close\r\n" in raw


def test_app_unknown_connection_header_counts_as_app_connection() -> None:
    spec = ResponseSpec(200, b"OK", {}, [(b"Connection", b"Close")])
    p = plan(spec)
    assert p.close and p.app_connection
    assert render_head(spec, p, date=DATE).count(b"Connection:") == 1


def test_head_request_has_no_body_but_gets_auto_content_length() -> None:
    spec = ResponseSpec(200, b"OK", {}, [])
    p = plan(spec, method=b"HEAD", entity_length=0)
    assert not p.body_allowed and p.auto_content_length == 0 and not p.close


def test_head_request_with_more_data_is_not_close_delimited() -> None:
    p = plan(ResponseSpec(200, b"OK", {}, []), method=b"HEAD", flags=HTTP_SEND_RESPONSE_FLAG_MORE_DATA)
    assert not p.close


@pytest.mark.parametrize("status", [101, 204, 304])
def test_bodiless_status_gets_no_auto_content_length(status: int) -> None:
    spec = ResponseSpec(status, b"X", {}, [])
    p = plan(spec)
    assert p.auto_content_length is None and not p.body_allowed and not p.close
    assert b"Content-Length" not in render_head(spec, p, date=DATE)


def test_opaque_101_upgrade_plan() -> None:
    spec = ResponseSpec(101, b"Switching Protocols", {7: [b"websocket"]}, [(b"Connection", b"Upgrade")])
    flags = HTTP_SEND_RESPONSE_FLAG_OPAQUE | HTTP_SEND_RESPONSE_FLAG_MORE_DATA
    p = plan(spec, flags=flags)
    assert p.opaque and not p.close and p.auto_content_length is None
    assert lines(render_head(spec, p, date=DATE)) == [
        b"HTTP/1.1 101 Switching Protocols",
        b"Upgrade: websocket",
        b"Server: Microsoft-HTTPAPI/2.0",
        b"Connection: Upgrade",
        b"Date: " + DATE,
    ]


# --- validation -------------------------------------------------------------------------------------------------


def test_valid_response_is_no_error() -> None:
    spec = ResponseSpec(200, b"OK", {12: [b"text/plain"]}, [(b"X-A", b"\tvalue with\ttabs")])
    assert validate_response(spec) == OK


@pytest.mark.parametrize("status", [0, 99, 1000, 65535, -1])
def test_status_outside_100_to_999_is_invalid_parameter(status: int) -> None:
    assert validate_response(ResponseSpec(status, b"X", {}, [])) == INVALID


@pytest.mark.parametrize("reason", [b"O\x7fK", b"O\rK", b"\tOK", "Ok\xe9".encode("latin-1")])
def test_reason_with_non_printable_byte_is_invalid_parameter(reason: bytes) -> None:
    assert validate_response(ResponseSpec(200, reason, {}, [])) == INVALID


@pytest.mark.parametrize("header_id", [-1, 30, 41])
def test_known_id_out_of_range_is_invalid_parameter(header_id: int) -> None:
    assert validate_response(ResponseSpec(200, b"OK", {header_id: [b"v"]}, [])) == INVALID


@pytest.mark.parametrize("name", [b"", b"X Y", b"X:Y", b"X\x00", b"\xc3\xa9", b"(x)"])
def test_unknown_name_that_is_not_a_token_is_invalid_parameter(name: bytes) -> None:
    assert validate_response(ResponseSpec(200, b"OK", {}, [(name, b"v")])) == INVALID


@pytest.mark.parametrize("value", [b"a\rb", b"a\nb", b"a\x00b", b"a\r\nX-Injected: 1"])
def test_value_with_cr_lf_or_nul_is_invalid_parameter(value: bytes) -> None:
    assert validate_response(ResponseSpec(200, b"OK", {12: [value]}, [])) == INVALID
    assert validate_response(ResponseSpec(200, b"OK", {}, [(b"X", value)])) == INVALID


def test_wrongly_typed_record_is_invalid_parameter_not_an_exception() -> None:
    assert validate_response(ResponseSpec(200, "OK", {}, [])) == INVALID  # type: ignore[arg-type]
    assert validate_response(ResponseSpec(200, b"OK", {1: b"close"}, [])) == INVALID  # type: ignore[dict-item]
    assert validate_response(ResponseSpec(200, b"OK", {}, [(b"X",)])) == INVALID  # type: ignore[list-item]


def test_opaque_only_with_status_101() -> None:
    assert validate_send_flags(101, HTTP_SEND_RESPONSE_FLAG_OPAQUE) == OK
    assert validate_send_flags(200, HTTP_SEND_RESPONSE_FLAG_OPAQUE) == INVALID


def test_goaway_requires_disconnect_and_unknown_flag_bits_are_invalid() -> None:
    assert validate_send_flags(200, HTTP_SEND_RESPONSE_FLAG_GOAWAY) == INVALID
    assert validate_send_flags(200, HTTP_SEND_RESPONSE_FLAG_GOAWAY | HTTP_SEND_RESPONSE_FLAG_DISCONNECT) == OK
    assert validate_send_flags(200, 0x10) == INVALID
    assert validate_send_flags(200, 0x80000000) == INVALID


# --- chunks, trailers, date -------------------------------------------------------------------------------------


def test_chunk_frame_is_lowercase_hex_size_line() -> None:
    assert chunk_frame(0) == b"0\r\n"
    assert chunk_frame(10) == b"a\r\n"
    assert chunk_frame(4096) == b"1000\r\n"
    assert CHUNK_END == b"\r\n" and LAST_CHUNK == b"0\r\n\r\n"


def test_render_trailers_builds_last_chunk_with_fields() -> None:
    assert render_trailers([(b"Grpc-Status", b"0"), (b"X-Sum", b"abc")]) == (
        b"0\r\nGrpc-Status: 0\r\nX-Sum: abc\r\n\r\n"
    )
    assert render_trailers([]) == LAST_CHUNK


def test_chunked_body_with_trailers_parses_with_strict_parser() -> None:
    spec = ResponseSpec(200, b"OK", {6: [b"chunked"], 5: [b"X-Sum"]}, [])
    p = plan(spec, flags=HTTP_SEND_RESPONSE_FLAG_MORE_DATA)
    wire = render_head(spec, p, date=DATE) + chunk_frame(5) + b"hello" + CHUNK_END
    wire += render_trailers([(b"X-Sum", b"5")])
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    conn.receive_data(wire)
    events = []
    while True:
        event = conn.next_event()
        events.append(event)
        if isinstance(event, h11.EndOfMessage) or event is h11.NEED_DATA:
            break
    assert isinstance(events[1], h11.Data) and events[1].data == b"hello"
    assert isinstance(events[-1], h11.EndOfMessage)
    assert list(events[-1].headers) == [(b"x-sum", b"5")]


def test_trailer_validation_rejects_framing_fields_and_bad_syntax() -> None:
    assert validate_trailers([(b"X-Sum", b"1")]) == OK
    assert validate_trailers([(b"Content-Length", b"1")]) == INVALID
    assert validate_trailers([(b"transfer-encoding", b"chunked")]) == INVALID
    assert validate_trailers([(b"X Sum", b"1")]) == INVALID
    assert validate_trailers([(b"X-Sum", b"1\r\n")]) == INVALID
