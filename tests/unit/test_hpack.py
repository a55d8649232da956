"""The HPACK codec (`_core/hpack.py`) without sockets: RFC 7541 Appendix C, the malformed blocks and their
exceptions, dynamic table size updates, the header list bound, and the encoder's indexing choices."""

from __future__ import annotations

import tracemalloc

import hpack as hpack_library
import pytest

from httpsys._core.hpack import (
    HpackDecoder,
    HpackDecodingError,
    HpackEncoder,
    HpackError,
    HpackHeaderListTooLarge,
    HpackTableSizeError,
    huffman_decode,
    huffman_encode,
)
from httpsys._core.hpack_tables import HUFFMAN_CODE_LENGTHS, HUFFMAN_CODES, STATIC_TABLE

Fields = list[tuple[bytes, bytes]]


def unhex(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


def plain(data: bytes) -> bytes:
    """A string literal without Huffman coding, its length written by hand (7-bit prefix, RFC 7541 §5.1)."""
    length = len(data)
    if length < 127:
        return bytes([length]) + data
    rest = length - 127
    out = bytearray([127])
    while rest >= 128:
        out.append(0x80 | (rest & 0x7F))
        rest >>= 7
    out.append(rest)
    return bytes(out) + data


# RFC 7541 Appendix C.3/C.4: three requests on one connection (table size 4,096), the table after each
# (newest first) and its size.
REQUEST_1: Fields = [
    (b":method", b"GET"),
    (b":scheme", b"http"),
    (b":path", b"/"),
    (b":authority", b"www.example.com"),
]
REQUEST_2: Fields = [*REQUEST_1, (b"cache-control", b"no-cache")]
REQUEST_3: Fields = [
    (b":method", b"GET"),
    (b":scheme", b"https"),
    (b":path", b"/index.html"),
    (b":authority", b"www.example.com"),
    (b"custom-key", b"custom-value"),
]
REQUEST_TABLES: list[Fields] = [
    [(b":authority", b"www.example.com")],
    [(b"cache-control", b"no-cache"), (b":authority", b"www.example.com")],
    [(b"custom-key", b"custom-value"), (b"cache-control", b"no-cache"), (b":authority", b"www.example.com")],
]
REQUEST_SIZES = [57, 110, 164]
C3_BLOCKS = [
    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "8286 84be 5808 6e6f 2d63 6163 6865",
    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
]
C4_BLOCKS = [
    "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
    "8286 84be 5886 a8eb 1064 9cbf",
    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
]

# RFC 7541 Appendix C.5/C.6: three responses with a 256-octet table (evictions).
DATE_1 = b"Mon, 21 Oct 2013 20:13:21 GMT"
DATE_2 = b"Mon, 21 Oct 2013 20:13:22 GMT"
LOCATION = b"https://www.example.com"
COOKIE = b"foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"
RESPONSE_1: Fields = [
    (b":status", b"302"),
    (b"cache-control", b"private"),
    (b"date", DATE_1),
    (b"location", LOCATION),
]
RESPONSE_2: Fields = [(b":status", b"307"), *RESPONSE_1[1:]]
RESPONSE_3: Fields = [
    (b":status", b"200"),
    (b"cache-control", b"private"),
    (b"date", DATE_2),
    (b"location", LOCATION),
    (b"content-encoding", b"gzip"),
    (b"set-cookie", COOKIE),
]
RESPONSE_TABLES: list[Fields] = [
    [(b"location", LOCATION), (b"date", DATE_1), (b"cache-control", b"private"), (b":status", b"302")],
    [(b":status", b"307"), (b"location", LOCATION), (b"date", DATE_1), (b"cache-control", b"private")],
    [(b"set-cookie", COOKIE), (b"content-encoding", b"gzip"), (b"date", DATE_2)],
]
RESPONSE_SIZES = [222, 222, 215]
C5_BLOCKS = [
    """4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32
       3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d""",
    "4803 3330 37c1 c0bf",
    """88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970
       7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61
       6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31""",
]
C6_BLOCKS = [
    """4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad
       1718 63c7 8f0b 97c8 e9ae 82ae 43d3""",
    "4883 640e ffc1 c0bf",
    """88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2
       e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07""",
]
SIZE_UPDATE_256 = b"\x3f\xe1\x01"  # dynamic table size update to 256 (31 + 225)


@pytest.mark.parametrize("blocks", [C3_BLOCKS, C4_BLOCKS], ids=["C.3 plain", "C.4 Huffman"])
def test_decoder_reads_the_rfc_request_examples_with_their_tables(blocks: list[str]) -> None:
    decoder = HpackDecoder()
    for block, fields, table, size in zip(
        blocks, [REQUEST_1, REQUEST_2, REQUEST_3], REQUEST_TABLES, REQUEST_SIZES, strict=True
    ):
        assert decoder.decode(unhex(block)) == fields
        assert decoder.dynamic_table == table
        assert decoder.table_bytes == size


@pytest.mark.parametrize("blocks", [C5_BLOCKS, C6_BLOCKS], ids=["C.5 plain", "C.6 Huffman"])
def test_decoder_reads_the_rfc_response_examples_evicting_at_256_octets(blocks: list[str]) -> None:
    # the RFC sets the 256-octet table out of band; here an update to 256 starts the first block
    decoder = HpackDecoder()
    prefix = SIZE_UPDATE_256
    for block, fields, table, size in zip(
        blocks, [RESPONSE_1, RESPONSE_2, RESPONSE_3], RESPONSE_TABLES, RESPONSE_SIZES, strict=True
    ):
        assert decoder.decode(prefix + unhex(block)) == fields
        prefix = b""
        assert decoder.dynamic_table == table
        assert decoder.table_bytes == size
        assert decoder.header_table_size == 256


@pytest.mark.parametrize(
    ("huffman", "blocks"), [(False, C3_BLOCKS), (True, C4_BLOCKS)], ids=["C.3 plain", "C.4 Huffman"]
)
def test_encoder_writes_the_rfc_request_examples_byte_for_byte(huffman: bool, blocks: list[str]) -> None:
    encoder = HpackEncoder(huffman=huffman)
    for block, fields, table, size in zip(
        blocks, [REQUEST_1, REQUEST_2, REQUEST_3], REQUEST_TABLES, REQUEST_SIZES, strict=True
    ):
        assert encoder.encode(fields) == unhex(block)
        assert encoder.dynamic_table == table
        assert encoder.table_bytes == size


@pytest.mark.parametrize(("huffman", "blocks"), [(False, C5_BLOCKS), (True, C6_BLOCKS)], ids=["C.5", "C.6"])
def test_encoder_writes_the_rfc_responses_by_its_own_policy_and_the_peer_reads_them(
    huffman: bool, blocks: list[str]
) -> None:
    """The RFC's encoder indexes `location`; ours sends it as a literal without indexing (a value that rarely
    repeats), so the first block is the RFC's with that one representation changed (and the size update to 256
    first). The peer's decoder and ours read every block and agree with the encoder's table."""
    encoder = HpackEncoder(huffman=huffman)
    encoder.header_table_size = 256
    peer = hpack_library.Decoder()
    mine = HpackDecoder()
    written = []
    for fields in (RESPONSE_1, RESPONSE_2, RESPONSE_3):
        block = encoder.encode(fields)
        written.append(block)
        assert peer.decode(block, raw=True) == fields
        assert mine.decode(block) == fields
        assert mine.dynamic_table == encoder.dynamic_table
        assert mine.table_bytes == encoder.table_bytes
        assert (b"location", LOCATION) not in encoder.dynamic_table
        assert (b"set-cookie", COOKIE) not in encoder.dynamic_table
    rfc_first = unhex(blocks[0])
    location_at = rfc_first.index(b"\x6e", len(rfc_first) - 25)  # literal with incremental indexing, name 46
    assert (
        written[0] == SIZE_UPDATE_256 + rfc_first[:location_at] + b"\x0f\x1f" + rfc_first[location_at + 1 :]
    )


def test_rfc_c2_single_representations_decode_with_their_tables() -> None:
    decoder = HpackDecoder()
    assert decoder.decode(unhex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572")) == [
        (b"custom-key", b"custom-header")
    ]
    assert decoder.dynamic_table == [(b"custom-key", b"custom-header")]
    assert decoder.table_bytes == 55
    for block, field in [
        ("040c 2f73 616d 706c 652f 7061 7468", (b":path", b"/sample/path")),  # C.2.2 without indexing
        ("1008 7061 7373 776f 7264 0673 6563 7265 74", (b"password", b"secret")),  # C.2.3 never indexed
        ("82", (b":method", b"GET")),  # C.2.4 indexed
    ]:
        fresh = HpackDecoder()
        assert fresh.decode(unhex(block)) == [field]
        assert fresh.dynamic_table == []
        assert fresh.table_bytes == 0


def test_huffman_code_is_the_rfc_code_and_round_trips_every_byte() -> None:
    # spot checks from RFC 7541 Appendix B: ' ' 010100, '0' 00000, 'a' 00011, EOS 30 ones
    assert (HUFFMAN_CODES[32], HUFFMAN_CODE_LENGTHS[32]) == (0b010100, 6)
    assert (HUFFMAN_CODES[48], HUFFMAN_CODE_LENGTHS[48]) == (0, 5)
    assert (HUFFMAN_CODES[97], HUFFMAN_CODE_LENGTHS[97]) == (0b00011, 5)
    assert (HUFFMAN_CODES[256], HUFFMAN_CODE_LENGTHS[256]) == ((1 << 30) - 1, 30)
    everything = bytes(range(256)) * 2
    assert huffman_decode(huffman_encode(everything)) == everything
    assert huffman_encode(b"www.example.com") == unhex("f1e3 c2e5 f23a 6ba0 ab90 f4ff")
    assert huffman_decode(b"") == b""


def test_static_table_has_the_rfc_61_entries() -> None:
    assert len(STATIC_TABLE) == 62
    assert STATIC_TABLE[1] == (b":authority", b"")
    assert STATIC_TABLE[16] == (b"accept-encoding", b"gzip, deflate")
    assert STATIC_TABLE[59] == (b"vary", b"")
    assert STATIC_TABLE[61] == (b"www-authenticate", b"")


MALFORMED = {
    "index 0": b"\x80",
    "index beyond the static and dynamic tables": b"\xbe",
    "indexed name beyond the tables": b"\x7f\x80\x01\x01a",
    "integer continuation truncated": b"\xff\x80",
    "integer encoded with too many octets": b"\xff\x80\x80\x80\x80\x80\x01",
    "string length beyond the block": b"\x00\x05abc",
    "string truncated before its length": b"\x40",
    "value missing after the name": b"\x00\x01x",
    "Huffman padding longer than 7 bits": b"\x00\x01x\x82\x1f\xff",
    "Huffman padding not ones": b"\x00\x01x\x81\x18",
    "EOS inside a Huffman string": b"\x00\x01x\x84\xff\xff\xff\xff",
    "size update after a field": b"\x82\x20",
}


@pytest.mark.parametrize("block", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_block_raises_a_decoding_error(block: bytes) -> None:
    with pytest.raises(HpackDecodingError):
        HpackDecoder().decode(block)


def test_exceptions_form_the_documented_hierarchy() -> None:
    assert issubclass(HpackDecodingError, HpackError)
    assert issubclass(HpackHeaderListTooLarge, HpackDecodingError)
    assert issubclass(HpackTableSizeError, HpackDecodingError)


def test_size_update_above_the_allowed_size_is_a_table_size_error() -> None:
    decoder = HpackDecoder()
    with pytest.raises(HpackTableSizeError):
        decoder.decode(b"\x3f\xe1\x7f\x82")  # 16,384 > 4,096
    decoder.max_allowed_table_size = 16384
    assert HpackDecoder().decode(b"\x3f\xe1\x1f\x82") == [(b":method", b"GET")]  # 4,096: allowed
    assert decoder.decode(b"\x3f\xe1\x7f\x82") == [(b":method", b"GET")]
    assert decoder.header_table_size == 16384


def test_size_updates_at_the_start_evict_and_may_repeat() -> None:
    decoder = HpackDecoder()
    decoder.decode(unhex(C3_BLOCKS[0]))
    assert decoder.table_bytes == 57
    assert decoder.decode(b"\x20\x3f\xe1\x1f\x82") == [(b":method", b"GET")]  # 0 then 4,096: emptied
    assert decoder.dynamic_table == []
    assert decoder.header_table_size == 4096


def test_lowering_the_allowed_size_requires_an_update_in_the_next_block() -> None:
    decoder = HpackDecoder()
    decoder.max_allowed_table_size = 256
    with pytest.raises(HpackTableSizeError):
        decoder.decode(b"\x82")
    decoder = HpackDecoder()
    decoder.max_allowed_table_size = 256
    assert decoder.decode(SIZE_UPDATE_256 + b"\x82") == [(b":method", b"GET")]
    assert decoder.decode(b"\x82") == [(b":method", b"GET")]  # only the first block needs one


def test_entry_larger_than_the_table_empties_it_without_error() -> None:
    decoder = HpackDecoder()
    decoder.decode(unhex(C3_BLOCKS[0]))
    big = b"v" * 5000
    block = b"\x40\x01n" + plain(big)
    assert decoder.decode(block) == [(b"n", big)]
    assert decoder.dynamic_table == []
    assert decoder.table_bytes == 0


def test_header_list_over_the_bound_raises_after_updating_the_table() -> None:
    decoder = HpackDecoder(max_header_list_size=100)
    block = b"\x40\x01a" + plain(b"b" * 128) + b"\x40\x01c\x01d"
    with pytest.raises(HpackHeaderListTooLarge):
        decoder.decode(block)
    # both entries went into the table despite the error: the next block can refer to them
    assert decoder.dynamic_table == [(b"c", b"d"), (b"a", b"b" * 128)]
    assert decoder.decode(b"\xbe") == [(b"c", b"d")]


def test_header_list_at_the_bound_is_accepted() -> None:
    fields = [(b":method", b"GET"), (b":path", b"/")]
    bound = sum(len(name) + len(value) + 32 for name, value in fields)
    assert HpackDecoder(max_header_list_size=bound).decode(b"\x82\x84") == fields
    with pytest.raises(HpackHeaderListTooLarge):
        HpackDecoder(max_header_list_size=bound - 1).decode(b"\x82\x84")


def test_hpack_bomb_stops_at_the_bound_without_building_the_list() -> None:
    """One 3,933-octet entry, then 50,000 one-octet references to it: 197 MB of header list if built."""
    decoder = HpackDecoder(max_header_list_size=65536)
    value = b"x" * 3900
    setup = b"\x40\x01b" + plain(value)
    bomb = setup + b"\xbe" * 50_000
    tracemalloc.start()
    try:
        with pytest.raises(HpackHeaderListTooLarge):
            decoder.decode(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the list of 50,000 references alone would take 400 KB; it stops at 16 fields
    assert peak < 64 * 1024
    assert decoder.dynamic_table == [(b"b", value)]


def test_encoder_indexes_repeated_fields_and_repeats_a_block_from_its_memo() -> None:
    encoder = HpackEncoder()
    response: Fields = [
        (b":status", b"200"),
        (b"content-type", b"text/plain"),
        (b"server", b"Microsoft-HTTPAPI/2.0"),
        (b"date", DATE_1),
        (b"content-length", b"13"),
    ]
    first = encoder.encode(response)
    assert first[0] == 0x88  # :status 200 is static index 8
    assert [name for name, _ in encoder.dynamic_table] == [b"date", b"server", b"content-type"]
    second = encoder.encode(response)
    # four one-octet indices and content-length (static name 28, literal without indexing) "13"
    assert second == b"\x88\xc0\xbf\xbe\x0f\x0d\x0213"
    assert encoder.encode(list(response)) == second
    decoder = HpackDecoder()
    assert decoder.decode(first) == response
    assert decoder.decode(second) == response
    assert decoder.decode(encoder.encode(response)) == response


def test_encoder_sends_sensitive_fields_never_indexed() -> None:
    encoder = HpackEncoder()
    block = encoder.encode([(b"set-cookie", b"id=secret"), (b"authorization", b"Basic abc")])
    assert encoder.dynamic_table == []
    assert block[0] & 0xF0 == 0x10  # literal never indexed, name by index (set-cookie is static 55)
    decoded = hpack_library.Decoder().decode(block, raw=True)
    assert decoded == [(b"set-cookie", b"id=secret"), (b"authorization", b"Basic abc")]
    assert all(isinstance(field, hpack_library.NeverIndexedHeaderTuple) for field in decoded)


def test_encoder_signals_table_size_changes_at_the_start_of_the_next_block() -> None:
    encoder = HpackEncoder()
    encoder.encode([(b"server", b"x")])
    encoder.header_table_size = 0
    encoder.header_table_size = 1024
    block = encoder.encode([(b":status", b"200")])
    assert block == b"\x20\x3f\xe1\x07\x88"  # the smallest size (0), then the final one (1,024)
    assert encoder.dynamic_table == []
    encoder.header_table_size = 65536  # beyond what the encoder uses: stays at 4,096
    assert encoder.header_table_size == 4096
    peer = hpack_library.Decoder()
    peer.max_allowed_table_size = 65536
    assert peer.decode(encoder.encode([(b":status", b"200")]), raw=True) == [(b":status", b"200")]
    assert encoder.encode([(b":status", b"200")]) == b"\x88"
