"""PROCESS_RANGES (spec §5.9, reliability §1.1 MS15-034): range evaluation and 206 body layout."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from httpsys._core.ranges import (
    FULL_ENTITY,
    MAX_RANGE_SPECS,
    FullEntity,
    RangedBody,
    Satisfiable,
    Unsatisfiable,
    evaluate_range,
    plan_ranged_body,
    ranged_response,
    unsatisfiable_response,
)
from httpsys._core.response import ResponseSpec, plan_response, render_head, validate_response

ENTITY = bytes(range(100))
ETAG = b'"v1"'
LAST_MODIFIED = b"Wed, 25 Nov 2026 01:00:00 GMT"


def decide(
    range_header: bytes | None,
    *,
    if_range: bytes | None = None,
    method: bytes = b"GET",
    status: int = 200,
    length: int = 100,
) -> object:
    return evaluate_range(
        range_header,
        if_range,
        method=method,
        status=status,
        entity_length=length,
        etag=ETAG,
        last_modified=LAST_MODIFIED,
    )


def assemble(body: RangedBody, entity: bytes) -> bytes:
    return b"".join(prefix + entity[start:end] for prefix, start, end in body.parts) + body.epilogue


# --- MS15-034 ---------------------------------------------------------------------------------------------------


def test_ms15_034_probe_is_clamped_to_whole_entity_as_206() -> None:
    decision = decide(b"bytes=0-18446744073709551615")
    assert decision == Satisfiable([(0, 99)])
    assert isinstance(decision, Satisfiable)
    body = plan_ranged_body(decision, entity_length=100, content_type=b"image/png", boundary=b"B")
    assert body.status == 206
    assert body.headers == [(17, b"bytes 0-99/100")]
    assert body.content_length == 100
    assert assemble(body, ENTITY) == ENTITY


def test_ms15_034_crash_variant_is_clamped() -> None:
    decision = decide(b"bytes=18-18446744073709551615")
    assert decision == Satisfiable([(18, 99)])
    assert isinstance(decision, Satisfiable)
    body = plan_ranged_body(decision, entity_length=100, content_type=None, boundary=b"B")
    assert body.headers == [(17, b"bytes 18-99/100")]
    assert body.content_length == 82
    assert assemble(body, ENTITY) == ENTITY[18:]


@pytest.mark.parametrize("header", [b"bytes=18446744073709551615-", b"bytes=100-", b"bytes=-0"])
def test_first_pos_beyond_end_or_zero_suffix_is_unsatisfiable(header: bytes) -> None:
    assert decide(header) == Unsatisfiable(100)


def test_suffix_longer_than_entity_selects_whole_entity() -> None:
    assert decide(b"bytes=-18446744073709551616") == Satisfiable([(0, 99)])


def test_thousands_of_digits_never_raise() -> None:
    assert decide(b"bytes=0-" + b"9" * 10000) == Satisfiable([(0, 99)])
    assert decide(b"bytes=" + b"9" * 10000 + b"-") == Unsatisfiable(100)
    assert decide(b"bytes=-" + b"9" * 10000) == Satisfiable([(0, 99)])
    assert decide(b"bytes=" + b"0" * 10000 + b"5-6") == Satisfiable([(5, 6)])


def test_first_after_last_ignores_range() -> None:
    assert decide(b"bytes=5-3") == FULL_ENTITY


# --- forms ------------------------------------------------------------------------------------------------------


def test_single_closed_range() -> None:
    assert decide(b"bytes=0-9") == Satisfiable([(0, 9)])


def test_suffix_range() -> None:
    assert decide(b"bytes=-10") == Satisfiable([(90, 99)])


def test_open_range() -> None:
    assert decide(b"bytes=50-") == Satisfiable([(50, 99)])


def test_whitespace_and_empty_list_elements_are_tolerated() -> None:
    assert decide(b"  bytes= 0-1 ,, 5-6 , ") == Satisfiable([(0, 1), (5, 6)])


def test_unit_is_case_insensitive() -> None:
    assert decide(b"Bytes=0-0") == Satisfiable([(0, 0)])


def test_unsatisfiable_specs_among_satisfiable_ones_are_dropped() -> None:
    assert decide(b"bytes=200-300,0-4") == Satisfiable([(0, 4)])


def test_overlapping_and_adjacent_ranges_are_coalesced_keeping_order() -> None:
    assert decide(b"bytes=50-59,0-9,10-19,55-70") == Satisfiable([(50, 70), (0, 19)])
    assert decide(b"bytes=0-10,20-30,5-25") == Satisfiable([(0, 30)])


def test_too_many_ranges_serves_full_entity() -> None:
    specs = b",".join(b"%d-%d" % (i * 3, i * 3) for i in range(MAX_RANGE_SPECS + 1))
    assert decide(b"bytes=" + specs) == FULL_ENTITY
    specs = b",".join(b"%d-%d" % (i * 3, i * 3) for i in range(MAX_RANGE_SPECS))
    decision = decide(b"bytes=" + specs)
    assert isinstance(decision, Satisfiable) and len(decision.ranges) == MAX_RANGE_SPECS


def test_zero_length_entity() -> None:
    assert decide(b"bytes=0-", length=0) == Unsatisfiable(0)
    assert decide(b"bytes=-5", length=0) == FULL_ENTITY


# --- ignored ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        b"",
        b"bytes",
        b"bytes=",
        b"bytes=,",
        b"bytes=-",
        b"bytes=a-b",
        b"bytes=1-2-3",
        b"bytes=+1-2",
        b"bytes=0x10-20",
        b"bytes=1 2-5",
        b"items=0-5",
        b"bytes 0-5",
        b"bytes=\xd9\xa1-5",
        b"bytes=0-5;x",
    ],
)
def test_garbage_range_is_ignored(header: bytes) -> None:
    assert decide(header) == FULL_ENTITY


def test_no_range_header_serves_full_entity() -> None:
    assert decide(None) == FULL_ENTITY


@pytest.mark.parametrize("method", [b"HEAD", b"POST", b"get"])
def test_non_get_ignores_range(method: bytes) -> None:
    assert decide(b"bytes=0-5", method=method) == FULL_ENTITY


@pytest.mark.parametrize("status", [201, 206, 404, 500])
def test_status_other_than_200_ignores_range(status: int) -> None:
    assert decide(b"bytes=0-5", status=status) == FULL_ENTITY


# --- If-Range ---------------------------------------------------------------------------------------------------


def test_if_range_with_matching_strong_etag_applies_range() -> None:
    assert decide(b"bytes=0-5", if_range=b'"v1"') == Satisfiable([(0, 5)])


def test_if_range_with_other_etag_serves_full_entity() -> None:
    assert decide(b"bytes=0-5", if_range=b'"v2"') == FULL_ENTITY


def test_if_range_with_weak_etag_never_matches() -> None:
    assert decide(b"bytes=0-5", if_range=b'W/"v1"') == FULL_ENTITY


def test_if_range_with_matching_date_applies_range() -> None:
    assert decide(b"bytes=0-5", if_range=LAST_MODIFIED) == Satisfiable([(0, 5)])


def test_if_range_with_other_date_serves_full_entity() -> None:
    assert decide(b"bytes=0-5", if_range=b"Thu, 26 Nov 2026 01:00:00 GMT") == FULL_ENTITY


def test_if_range_without_validators_serves_full_entity() -> None:
    decision = evaluate_range(
        b"bytes=0-5",
        b'"v1"',
        method=b"GET",
        status=200,
        entity_length=100,
        etag=None,
        last_modified=None,
    )
    assert decision == FULL_ENTITY


# --- 206 body layout --------------------------------------------------------------------------------------------


def test_multipart_body_layout_and_exact_content_length() -> None:
    decision = decide(b"bytes=0-4,90-")
    assert isinstance(decision, Satisfiable)
    body = plan_ranged_body(decision, entity_length=100, content_type=b"text/plain", boundary=b"THIS_SEP")
    assert body.status == 206 and body.reason == b"Partial Content"
    assert body.headers == [(12, b"multipart/byteranges; boundary=THIS_SEP")]
    wire = assemble(body, ENTITY)
    assert len(wire) == body.content_length
    assert wire == (
        b"\r\n--THIS_SEP\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-4/100\r\n\r\n"
        + ENTITY[0:5]
        + b"\r\n--THIS_SEP\r\nContent-Type: text/plain\r\nContent-Range: bytes 90-99/100\r\n\r\n"
        + ENTITY[90:]
        + b"\r\n--THIS_SEP--\r\n"
    )


def test_multipart_without_content_type_omits_part_content_type() -> None:
    decision = Satisfiable([(0, 0), (2, 2)])
    body = plan_ranged_body(decision, entity_length=100, content_type=None, boundary=b"b")
    wire = assemble(body, ENTITY)
    assert b"Content-Type" not in wire and len(wire) == body.content_length


def test_multipart_body_parses_as_mime() -> None:
    decision = Satisfiable([(10, 19), (30, 39), (70, 99)])
    body = plan_ranged_body(decision, entity_length=100, content_type=b"application/x", boundary=b"sep123")
    wire = assemble(body, ENTITY)
    pieces = wire.split(b"\r\n--sep123")
    assert pieces[0] == b"" and pieces[-1] == b"--\r\n"
    for piece, (start, end) in zip(pieces[1:-1], decision.ranges, strict=True):
        headers, _, data = piece.partition(b"\r\n\r\n")
        assert b"Content-Range: bytes %d-%d/100" % (start, end) in headers
        assert data == ENTITY[start : end + 1]


def test_invalid_boundary_is_a_driver_bug() -> None:
    with pytest.raises(ValueError):
        plan_ranged_body(
            Satisfiable([(0, 0), (5, 5)]), entity_length=100, content_type=None, boundary=b"a b\r\n"
        )


def test_ranged_response_replaces_status_and_length_headers() -> None:
    app = ResponseSpec(
        200,
        b"OK",
        {11: [b"100"], 12: [b"image/png"], 22: [ETAG]},
        [(b"X-A", b"1"), (b"content-length", b"100")],
    )
    body = plan_ranged_body(
        Satisfiable([(18, 99)]), entity_length=100, content_type=b"image/png", boundary=b"B"
    )
    spec = ranged_response(app, body)
    assert validate_response(spec) == 0
    assert spec.status == 206 and spec.reason == b"Partial Content"
    assert spec.known[17] == [b"bytes 18-99/100"]
    assert spec.known[11] == [b"82"]
    assert spec.known[12] == [b"image/png"] and spec.known[22] == [ETAG]
    assert spec.unknown == [(b"X-A", b"1")]
    plan = plan_response(
        spec,
        request_method=b"GET",
        request_version=(1, 1),
        request_keep_alive=True,
        flags=0,
        final=True,
        entity_length=82,
    )
    raw = render_head(spec, plan, date=LAST_MODIFIED)
    assert raw.startswith(b"HTTP/1.1 206 Partial Content\r\n")
    assert raw.count(b"Content-Length") == 1 and b"Content-Length: 82\r\n" in raw


def test_ranged_response_for_multipart_replaces_content_type() -> None:
    app = ResponseSpec(200, b"OK", {11: [b"100"], 12: [b"image/png"]}, [])
    body = plan_ranged_body(
        Satisfiable([(0, 0), (5, 5)]), entity_length=100, content_type=b"image/png", boundary=b"B"
    )
    spec = ranged_response(app, body)
    assert spec.known[12] == [b"multipart/byteranges; boundary=B"]
    assert spec.known[11] == [b"%d" % body.content_length]
    assert 17 not in spec.known


def test_unsatisfiable_response_is_416_with_star_content_range() -> None:
    app = ResponseSpec(200, b"OK", {11: [b"100"], 12: [b"image/png"], 22: [ETAG]}, [])
    spec = unsatisfiable_response(app, 100)
    assert spec.status == 416 and spec.reason == b"Requested Range Not Satisfiable"
    assert spec.known[17] == [b"bytes */100"]
    assert spec.known[11] == [b"0"]
    assert 12 not in spec.known and spec.known[22] == [ETAG]


# --- property ---------------------------------------------------------------------------------------------------

_number = st.one_of(
    st.integers(min_value=0, max_value=300).map(lambda n: b"%d" % n),
    st.just(b"18446744073709551615"),
    st.text(alphabet="0123456789", min_size=1, max_size=40).map(str.encode),
)
_spec = st.one_of(
    st.tuples(_number, st.just(b"-"), _number).map(b"".join),
    st.tuples(_number, st.just(b"-")).map(b"".join),
    st.tuples(st.just(b"-"), _number).map(b"".join),
)
_header = st.one_of(
    st.lists(_spec, max_size=20).map(lambda specs: b"bytes=" + b",".join(specs)),
    st.lists(_spec, min_size=1, max_size=4).map(lambda specs: b"bytes= " + b" , ".join(specs)),
    st.lists(st.one_of(_spec, st.binary(max_size=8)), max_size=6).map(
        lambda specs: b"bytes=" + b",".join(specs)
    ),
    st.binary(max_size=60),
)


@settings(max_examples=400, deadline=None)
@given(
    header=_header,
    if_range=st.one_of(
        st.none(), st.sampled_from([ETAG, b'"x"', LAST_MODIFIED, b""]), st.binary(max_size=10)
    ),
    length=st.integers(min_value=0, max_value=250),
)
def test_evaluate_range_never_raises_and_ranges_lie_within_entity(
    header: bytes, if_range: bytes | None, length: int
) -> None:
    decision = evaluate_range(
        header,
        if_range,
        method=b"GET",
        status=200,
        entity_length=length,
        etag=ETAG,
        last_modified=LAST_MODIFIED,
    )
    assert isinstance(decision, FullEntity | Satisfiable | Unsatisfiable)
    if isinstance(decision, Satisfiable):
        assert 1 <= len(decision.ranges) <= MAX_RANGE_SPECS
        for start, end in decision.ranges:
            assert 0 <= start <= end < length
        ordered = sorted(decision.ranges)
        for (_, end), (start, _) in itertools.pairwise(ordered):
            assert start > end + 1  # coalesced: no overlap, no adjacency
        entity = bytes(i % 256 for i in range(length))
        body = plan_ranged_body(decision, entity_length=length, content_type=b"a/b", boundary=b"bnd")
        assert len(assemble(body, entity)) == body.content_length
        for header_id, value in body.headers:
            if header_id == 17:
                assert re.fullmatch(rb"bytes \d+-\d+/\d+", value)
    if isinstance(decision, Unsatisfiable):
        assert decision.entity_length == length
