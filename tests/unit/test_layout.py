"""httpsys._core.layout: bytes HttpReceiveHttpRequest needs for a request in the x64 layout."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from httpsys._core.layout import (
    FIXED_V1,
    FIXED_V2,
    entity_bytes_offset,
    request_buffer_size,
    sockaddr_size,
)

HOST = len("localhost:50001")
RAW_URL = len("/foobar?a=b")
COOKED = 66  # "http://localhost:50001/foobar?a=b" in UTF-16 bytes (spec §3.2 example)


def _size(**overrides: Any) -> int:
    args: dict[str, Any] = {
        "v2": True,
        "unknown_verb_len": 0,
        "raw_url_len": RAW_URL,
        "cooked_full_url_utf16_len": COOKED,
        "unknown_headers": [],
        "known_header_value_lens": [HOST],
        "family": socket.AF_INET,
        "entity_len": 0,
    }
    args.update(overrides)
    return request_buffer_size(**args)


def test_fixed_parts_are_the_x64_struct_sizes() -> None:
    assert (FIXED_V1, FIXED_V2) == (848, 864)


def test_worked_example_get_with_host_header_over_ipv4() -> None:
    # 864 fixed | remote SOCKADDR_IN at 864, local at 880 -> 896 | "/foobar?a=b\0" -> 908
    # | cooked URL 66 + 2 -> 976 | "localhost:50001\0" -> 992
    assert _size() == 992


def test_worked_example_with_an_unknown_header_and_copied_body() -> None:
    # 864 | HTTP_UNKNOWN_HEADER[1] -> 888 | sockaddrs at 888, 904 -> 920 | raw URL -> 932 | cooked -> 1000
    # | Host value -> 1016 | "Qux\0" "foo baz\0" -> 1028 | align 8 -> 1032, chunk 32 -> 1064 | 5 body bytes -> 1069
    assert _size(unknown_headers=[(3, 7)], entity_len=5) == 1069


def test_v1_request_is_sixteen_bytes_smaller_than_v2() -> None:
    assert _size(v2=True) - _size(v2=False) == FIXED_V2 - FIXED_V1 == 16


def test_ipv6_addresses_take_more_room_than_ipv4() -> None:
    assert sockaddr_size(socket.AF_INET) == 16
    assert sockaddr_size(socket.AF_INET6) == 28
    # local IPv6 address starts 8-aligned after the remote one: 864 + 28 -> 896 + 28 = 924 instead of 896
    assert _size(family=socket.AF_INET6) - _size(family=socket.AF_INET) == 28


def test_unknown_verb_is_stored_with_its_nul() -> None:
    assert _size(unknown_verb_len=5) == _size() + 6


def test_request_info_items_are_counted_when_present() -> None:
    assert _size(request_info_bytes=16 + 80) == _size() + 96


def test_body_starts_after_the_aligned_entity_chunk() -> None:
    head = _size()
    assert entity_bytes_offset(head) == 992 + 32
    assert _size(entity_len=1000) == entity_bytes_offset(head) + 1000


def test_size_never_drops_below_the_fixed_struct() -> None:
    bare = _size(raw_url_len=0, cooked_full_url_utf16_len=0, known_header_value_lens=[])
    assert bare > FIXED_V2
    assert _size(v2=False, raw_url_len=0, cooked_full_url_utf16_len=0, known_header_value_lens=[]) > FIXED_V1


@pytest.mark.parametrize(
    "overrides",
    [
        {"raw_url_len": -1},
        {"entity_len": -5},
        {"known_header_value_lens": [3, -1]},
        {"unknown_headers": [(-1, 2)]},
        {"family": socket.AF_UNIX},
        {"request_info_bytes": -16},
    ],
)
def test_invalid_lengths_and_families_are_value_errors(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        _size(**overrides)


def test_non_integer_length_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        _size(raw_url_len=1.5)
    with pytest.raises(TypeError):
        _size(entity_len=True)


lengths = st.integers(min_value=0, max_value=70_000)
INPUT_STRATEGIES = {
    "v2": st.booleans(),
    "unknown_verb_len": lengths,
    "raw_url_len": lengths,
    "cooked_full_url_utf16_len": lengths,
    "unknown_headers": st.lists(st.tuples(lengths, lengths), max_size=6),
    "known_header_value_lens": st.lists(lengths, max_size=6),
    "family": st.sampled_from([socket.AF_INET, socket.AF_INET6]),
    "entity_len": lengths,
    "request_info_bytes": lengths,
}
inputs = st.fixed_dictionaries(INPUT_STRATEGIES)


def _grown(args: dict[str, Any], which: str, amount: int) -> dict[str, Any]:
    """``args`` with one input made larger; a list gets one more element (odd amount) or a longer first one."""
    out = dict(args)
    value = args[which]
    append = amount % 2 == 1 or not value
    if which == "v2":
        out["v2"] = True
    elif which == "family":
        out["family"] = socket.AF_INET6
    elif which == "unknown_headers":
        first = (value[0][0] + amount, value[0][1] + amount) if value else None
        out[which] = [*value, (amount, 0)] if append else [first, *value[1:]]
    elif which == "known_header_value_lens":
        out[which] = [*value, 0] if append else [value[0] + amount, *value[1:]]
    else:
        out[which] = value + amount
    return out


@settings(max_examples=300, deadline=None)
@given(args=inputs, which=st.sampled_from(sorted(INPUT_STRATEGIES)), amount=st.integers(1, 64))
def test_size_is_monotonic_in_every_input(args: dict[str, Any], which: str, amount: int) -> None:
    assert request_buffer_size(**_grown(args, which, amount)) >= request_buffer_size(**args)


@settings(max_examples=200, deadline=None)
@given(args=inputs)
def test_size_is_deterministic_and_ignores_header_order(args: dict[str, Any]) -> None:
    reordered = dict(args)
    reordered["known_header_value_lens"] = list(reversed(args["known_header_value_lens"]))
    reordered["unknown_headers"] = list(reversed(args["unknown_headers"]))
    assert request_buffer_size(**args) == request_buffer_size(**args) == request_buffer_size(**reordered)


@settings(max_examples=200, deadline=None)
@given(args=inputs)
def test_body_bytes_sit_at_the_end_after_the_head(args: dict[str, Any]) -> None:
    head = request_buffer_size(**{**args, "entity_len": 0})
    if args["entity_len"]:
        assert request_buffer_size(**args) == entity_bytes_offset(head) + args["entity_len"]
    else:
        assert request_buffer_size(**args) == head
