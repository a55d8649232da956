"""The HPACK codec against the `hpack` library as oracle, both ways, with table size changes between blocks; and
the decoder fuzzed with random and mutated blocks: only HpackDecodingError escapes, the table stays in bounds."""

from __future__ import annotations

import hpack as hpack_library
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from httpsys._core.hpack import HpackDecoder, HpackDecodingError, HpackEncoder
from httpsys._core.hpack_tables import STATIC_TABLE

Fields = list[tuple[bytes, bytes]]

# fields that hit the static table (whole or by name), a few that repeat, and arbitrary bytes
static_fields = st.sampled_from(STATIC_TABLE[1:])
static_names = st.tuples(st.sampled_from([name for name, _ in STATIC_TABLE[1:]]), st.binary(max_size=30))
repeated = st.sampled_from(
    [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"server", b"Microsoft-HTTPAPI/2.0"),
        (b"x-custom", b"one"),
        (b"set-cookie", b"a=b"),
        (b"content-length", b"42"),
    ]
)
arbitrary = st.tuples(st.binary(min_size=1, max_size=20), st.binary(max_size=60))
field = st.one_of(static_fields, static_names, repeated, arbitrary)
header_list = st.lists(field, max_size=12)
# a step is a header list to encode, or a new table size (SETTINGS_HEADER_TABLE_SIZE) before the next block
step = st.one_of(header_list, st.integers(min_value=0, max_value=8192))
steps = st.lists(step, min_size=1, max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps, st.booleans())
def test_our_encoder_is_read_by_the_library_decoder(script: list[Fields | int], huffman: bool) -> None:
    encoder = HpackEncoder(huffman=huffman)
    oracle = hpack_library.Decoder(max_header_list_size=1 << 30)
    oracle.max_allowed_table_size = 8192
    ours = HpackDecoder(max_header_list_size=1 << 30)
    ours.max_allowed_table_size = 8192
    for item in script:
        if isinstance(item, int):
            encoder.header_table_size = item
            continue
        block = encoder.encode(item)
        assert oracle.decode(block, raw=True) == item
        assert ours.decode(block) == item
        assert ours.dynamic_table == encoder.dynamic_table
        assert encoder.table_bytes <= encoder.header_table_size


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps, st.booleans())
def test_library_encoder_is_read_by_our_decoder(script: list[Fields | int], huffman: bool) -> None:
    oracle = hpack_library.Encoder()
    ours = HpackDecoder(max_header_list_size=1 << 30)
    ours.max_allowed_table_size = 8192
    for item in script:
        if isinstance(item, int):
            # (setting the size it already has makes the library forget an update still pending: skipped)
            if item != oracle.header_table_size:
                oracle.header_table_size = item
            continue
        block = oracle.encode(item, huffman=huffman)
        assert ours.decode(block) == item
        assert ours.header_table_size == oracle.header_table_size
        assert ours.dynamic_table == [
            (bytes(name), bytes(value)) for name, value in oracle.header_table.dynamic_entries
        ]
        assert ours.table_bytes <= ours.header_table_size


def _check_decoder_bounds(decoder: HpackDecoder, decoded: bool) -> None:
    """The table never holds more than its size; after a block that decoded, that size is within the allowed one
    (a lowered allowed size makes every block fail until one starts with an update)."""
    assert 0 <= decoder.table_bytes <= decoder.header_table_size
    if decoded:
        assert decoder.header_table_size <= decoder.max_allowed_table_size
    assert decoder.table_bytes == sum(len(name) + len(value) + 32 for name, value in decoder.dynamic_table)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.binary(max_size=120), min_size=1, max_size=4), st.integers(min_value=0, max_value=8192))
def test_decoder_fuzz_random_blocks_raise_only_decoding_errors(blocks: list[bytes], allowed: int) -> None:
    decoder = HpackDecoder(max_header_list_size=4096)
    decoder.max_allowed_table_size = allowed
    for block in blocks:
        try:
            decoder.decode(block)
        except HpackDecodingError:
            _check_decoder_bounds(decoder, decoded=False)
        else:
            _check_decoder_bounds(decoder, decoded=True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header_list, st.booleans(), st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=4)
)
def test_decoder_fuzz_mutated_blocks_raise_only_decoding_errors(
    fields: Fields, huffman: bool, mutations: list[tuple[int, int]]
) -> None:
    block = bytearray(hpack_library.Encoder().encode(fields, huffman=huffman))
    for at, octet in mutations:
        if block:
            block[at % len(block)] = octet
    decoder = HpackDecoder(max_header_list_size=512)
    for _ in range(2):  # the same block twice: the second refers to what the first inserted
        try:
            decoder.decode(bytes(block))
        except HpackDecodingError:
            _check_decoder_bounds(decoder, decoded=False)
        else:
            _check_decoder_bounds(decoder, decoded=True)
