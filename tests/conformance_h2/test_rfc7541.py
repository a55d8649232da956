"""RFC 7541 (HPACK) MUSTs, one test per case of h2spec's published HPACK list: a field block that does not
decode is a connection error of type COMPRESSION_ERROR (RFC 9113 §4.3). Names: test_<section>_<case>."""

from __future__ import annotations

from conformance_h2.conftest import END_HEADERS, END_STREAM, HEADERS, Conn, frame

COMPRESSION_ERROR = 0x9
HS = END_HEADERS | END_STREAM
# a request's pseudo-header fields, all from the static table: :method GET, :scheme http, :path /
PREFIX = b"\x82\x86\x84"


def send_block(conn: Conn, block: bytes) -> None:
    conn.send(frame(HEADERS, HS, 1, block))


def test_2_3_3_indexed_field_out_of_range_is_compression_error(conn: Conn) -> None:
    send_block(conn, PREFIX + b"\xff\x80\x01")  # index 254, the dynamic table being empty
    assert conn.connection_error(COMPRESSION_ERROR)


def test_2_3_3_literal_with_an_indexed_name_out_of_range_is_compression_error(conn: Conn) -> None:
    send_block(conn, PREFIX + b"\x7f\x80\x01\x01a")  # literal with incremental indexing, name index 190
    assert conn.connection_error(COMPRESSION_ERROR)


def test_4_2_table_size_update_above_the_setting_is_compression_error(conn: Conn) -> None:
    send_block(conn, b"\x3f\xe1\x7f" + PREFIX)  # size update to 16,384 > SETTINGS_HEADER_TABLE_SIZE 4,096
    assert conn.connection_error(COMPRESSION_ERROR)


def test_5_2_huffman_string_with_eos_is_compression_error(conn: Conn) -> None:
    # literal without indexing, new name "x" (plain), value Huffman-coded: the 30-bit EOS code padded
    send_block(conn, PREFIX + b"\x00\x01x\x84\xff\xff\xff\xff")
    assert conn.connection_error(COMPRESSION_ERROR)


def test_5_2_huffman_padding_longer_than_7_bits_is_compression_error(conn: Conn) -> None:
    # "a" is 00011 (5 bits): then 11 bits of 1s: padding of more than 7 bits
    send_block(conn, PREFIX + b"\x00\x01x\x82\x1f\xff")
    assert conn.connection_error(COMPRESSION_ERROR)


def test_5_2_huffman_padding_not_eos_prefix_is_compression_error(conn: Conn) -> None:
    # "a" (00011) then padding 000: padding must be the most significant bits of EOS (all 1s)
    send_block(conn, PREFIX + b"\x00\x01x\x81\x18")
    assert conn.connection_error(COMPRESSION_ERROR)


def test_6_1_indexed_field_with_index_0_is_compression_error(conn: Conn) -> None:
    send_block(conn, PREFIX + b"\x80")
    assert conn.connection_error(COMPRESSION_ERROR)


def test_6_3_table_size_update_after_a_field_is_compression_error(conn: Conn) -> None:
    send_block(conn, PREFIX + b"\x20")  # dynamic table size update (to 0) after the first field
    assert conn.connection_error(COMPRESSION_ERROR)
