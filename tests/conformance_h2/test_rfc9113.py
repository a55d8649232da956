"""RFC 9113 (HTTP/2) MUSTs, one test per case of h2spec's published list (sections 3.4 to 8.4), against the
driver over cleartext prior knowledge. Names: test_<section>_<case>."""

from __future__ import annotations

import struct

from conformance_h2.conftest import (
    ACK,
    CONTINUATION,
    DATA,
    END_HEADERS,
    END_STREAM,
    FLOW_CONTROL_ERROR,
    FRAME_SIZE_ERROR,
    GOAWAY,
    HEADERS,
    PADDED,
    PING,
    PRIORITY,
    PRIORITY_FLAG,
    PROTOCOL_ERROR,
    PUSH_PROMISE,
    REFUSED_STREAM,
    RST_STREAM,
    SETTINGS,
    STREAM_CLOSED,
    WINDOW_UPDATE,
    Conn,
    frame,
    settings,
)
from hostile.loopback import LoopbackServer

H = END_HEADERS
HS = END_HEADERS | END_STREAM


# ---------------------------------------------------------------------------------------------- 3. Starting
def test_3_4_invalid_connection_preface_is_a_connection_error(server: LoopbackServer) -> None:
    c = Conn(server.port, handshake=False)
    c.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(PING, 0, 0, b"12345678"))  # no SETTINGS first
    assert c.connection_error(PROTOCOL_ERROR)
    c.close()


# ---------------------------------------------------------------------------------------------- 4. Frames
def test_4_1_unknown_frame_type_is_ignored(conn: Conn) -> None:
    conn.send(frame(0x16, 0, 0, b"ignore me"))
    assert conn.alive()


def test_4_1_undefined_flags_are_ignored(conn: Conn) -> None:
    conn.send(frame(PING, 0x16, 0, b"flagflag"))
    assert conn.wait_for(lambda f: f.kind == PING and f.flags & ACK and f.payload == b"flagflag")


def test_4_1_reserved_bit_of_the_stream_id_is_ignored(conn: Conn) -> None:
    conn.send(frame(HEADERS, HS, 0x80000001, conn.block()))
    assert conn.response(1) is not None


def test_4_2_data_frame_of_the_maximum_size_is_accepted(conn: Conn) -> None:
    conn.send(frame(HEADERS, H, 1, conn.block(method=b"POST", extra=[(b"content-length", b"16384")])))
    conn.send(frame(DATA, END_STREAM, 1, b"x" * 16384))
    assert conn.response(1) is not None


def test_4_2_data_frame_larger_than_max_frame_size_is_frame_size_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, H, 1, conn.block(method=b"POST")))
    conn.send(frame(DATA, END_STREAM, 1, b"x" * 16385))
    assert conn.stream_error(1, FRAME_SIZE_ERROR)


def test_4_2_headers_frame_larger_than_max_frame_size_is_a_connection_error(conn: Conn) -> None:
    block = conn.block(extra=[(b"x-pad", b"~" * 17000)])  # "~" does not shrink under Huffman coding
    conn.send(frame(HEADERS, HS, 1, block))
    assert conn.connection_error(FRAME_SIZE_ERROR)


def test_4_3_invalid_header_block_fragment_is_compression_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, HS, 1, b"\x00\x00\x00\x00\x00"))  # a literal with an empty name and garbage
    assert conn.connection_error(0x9)


def test_4_3_priority_frame_inside_a_header_block_is_protocol_error(conn: Conn) -> None:
    block = conn.block()
    conn.send(frame(HEADERS, END_STREAM, 1, block[:5]) + frame(PRIORITY, 0, 1, b"\x00\x00\x00\x00\x10"))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_4_3_headers_frame_to_another_stream_inside_a_header_block_is_protocol_error(conn: Conn) -> None:
    block = conn.block()
    conn.send(frame(HEADERS, END_STREAM, 1, block[:5]) + frame(HEADERS, HS, 3, block))
    assert conn.connection_error(PROTOCOL_ERROR)


# ---------------------------------------------------------------------------------------------- 5.1 Stream states
def test_5_1_idle_data_frame_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(DATA, END_STREAM, 1, b"x"))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_5_1_idle_rst_stream_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(RST_STREAM, 0, 1, struct.pack(">I", 8)))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_5_1_idle_window_update_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 100)))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_5_1_idle_continuation_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(CONTINUATION, END_HEADERS, 1, conn.block()))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_5_1_half_closed_remote_data_frame_is_stream_closed(conn: Conn) -> None:
    conn.send(frame(HEADERS, H, 1, conn.block(b"/hold-me", method=b"POST")) + frame(DATA, END_STREAM, 1, b""))
    conn.send(frame(DATA, 0, 1, b"late"))
    assert conn.stream_error(1, STREAM_CLOSED)


def test_5_1_half_closed_remote_headers_frame_is_stream_closed(conn: Conn) -> None:
    conn.send(frame(HEADERS, HS, 1, conn.block(b"/x")))
    conn.send(frame(HEADERS, HS, 1, conn.block(b"/x")))
    assert conn.stream_error(1, STREAM_CLOSED)


def test_5_1_closed_data_frame_after_rst_stream_is_stream_closed(conn: Conn) -> None:
    conn.send(
        frame(HEADERS, H, 1, conn.block(method=b"POST")) + frame(RST_STREAM, 0, 1, struct.pack(">I", 8))
    )
    conn.send(frame(DATA, 0, 1, b"after the reset"))
    assert conn.stream_error(1, STREAM_CLOSED) or conn.alive()  # RFC 9113 §5.1: MAY ignore briefly after RST


def test_5_1_closed_data_frame_after_end_stream_is_stream_closed(conn: Conn) -> None:
    conn.send(frame(HEADERS, HS, 1, conn.block()))
    assert conn.wait_for(lambda f: f.stream_id == 1 and bool(f.flags & END_STREAM)) is not None
    conn.send(frame(DATA, 0, 1, b"after the end"))
    assert conn.connection_error(STREAM_CLOSED) or conn.stream_error(1, STREAM_CLOSED)


def test_5_1_1_even_stream_id_from_a_client_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, HS, 2, conn.block()))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_5_1_1_stream_id_lower_than_a_previous_one_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, HS, 5, conn.block()))
    assert conn.response(5) is not None
    conn.send(frame(HEADERS, HS, 3, conn.block()))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_5_1_2_exceeding_max_concurrent_streams_is_refused(conn: Conn) -> None:
    limit = conn.server_settings.get(0x3)
    assert limit == 100  # SETTINGS_MAX_CONCURRENT_STREAMS announced (HTTP.sys's default, decision 0022)
    frames = b"".join(frame(HEADERS, H, 1 + 2 * i, conn.block(method=b"POST")) for i in range(limit + 1))
    conn.send(frames)
    assert conn.stream_error(1 + 2 * limit, PROTOCOL_ERROR, REFUSED_STREAM)


def test_5_3_1_headers_depending_on_itself_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, HS | PRIORITY_FLAG, 1, struct.pack(">IB", 1, 15) + conn.block()))
    assert conn.stream_error(1, PROTOCOL_ERROR)


def test_5_3_1_priority_depending_on_itself_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(PRIORITY, 0, 1, struct.pack(">IB", 1, 15)))
    assert conn.stream_error(1, PROTOCOL_ERROR)


def test_5_4_1_connection_error_sends_goaway(conn: Conn) -> None:
    conn.send(frame(PING, 0, 1, b"12345678"))  # PING on a stream: a connection error
    assert conn.wait_for(lambda f: f.kind == GOAWAY) is not None
    assert conn.wait_closed()


def test_5_5_unknown_extension_frame_is_ignored(conn: Conn) -> None:
    conn.send(frame(0xFF, 0, 1, b"unknown"))
    assert conn.alive()


def test_5_5_unknown_frame_inside_a_header_block_is_protocol_error(conn: Conn) -> None:
    block = conn.block()
    conn.send(frame(HEADERS, END_STREAM, 1, block[:4]) + frame(0xFF, 0, 1, b"x"))
    assert conn.connection_error(PROTOCOL_ERROR)


# ---------------------------------------------------------------------------------------------- 6. Frame definitions
def test_6_1_data_on_stream_0_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(DATA, 0, 0, b"x"))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_6_1_data_with_invalid_pad_length_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, H, 1, conn.block(method=b"POST")))
    conn.send(frame(DATA, PADDED | END_STREAM, 1, b"\x08abc"))  # 8 bytes of padding in a 4-byte payload
    assert conn.connection_error(PROTOCOL_ERROR)


def test_6_2_headers_on_stream_0_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, HS, 0, conn.block()))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_6_2_headers_with_invalid_pad_length_is_protocol_error(conn: Conn) -> None:
    block = conn.block()
    conn.send(frame(HEADERS, HS | PADDED, 1, bytes([len(block) + 5]) + block))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_6_2_headers_then_a_frame_for_another_stream_is_protocol_error(conn: Conn) -> None:
    block = conn.block()
    conn.send(frame(HEADERS, END_STREAM, 1, block[:4]) + frame(DATA, 0, 3, b"x"))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_6_3_priority_on_stream_0_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(PRIORITY, 0, 0, struct.pack(">IB", 1, 15)))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_6_3_priority_of_wrong_length_is_frame_size_error(conn: Conn) -> None:
    conn.send(frame(PRIORITY, 0, 1, b"\x00\x00\x00\x03"))
    assert conn.stream_error(1, FRAME_SIZE_ERROR)


def test_6_4_rst_stream_on_stream_0_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(RST_STREAM, 0, 0, struct.pack(">I", 8)))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_6_4_rst_stream_of_wrong_length_is_frame_size_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, H, 1, conn.block(method=b"POST")))
    conn.send(frame(RST_STREAM, 0, 1, b"\x00\x00\x00\x08\x00"))
    assert conn.connection_error(FRAME_SIZE_ERROR)


def test_6_5_settings_ack_with_a_payload_is_frame_size_error(conn: Conn) -> None:
    conn.send(frame(SETTINGS, ACK, 0, b"\x00\x01\x00\x00\x10\x00"))
    assert conn.connection_error(FRAME_SIZE_ERROR)


def test_6_5_settings_on_a_stream_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(SETTINGS, 0, 1, b""))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_6_5_settings_length_not_a_multiple_of_6_is_frame_size_error(conn: Conn) -> None:
    conn.send(frame(SETTINGS, 0, 0, b"\x00\x03\x00\x00\x00"))
    assert conn.connection_error(FRAME_SIZE_ERROR)


def test_6_5_2_enable_push_other_than_0_or_1_is_protocol_error(conn: Conn) -> None:
    conn.send(settings((0x2, 2)))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_6_5_2_initial_window_size_above_the_maximum_is_flow_control_error(conn: Conn) -> None:
    conn.send(settings((0x4, 1 << 31)))
    assert conn.connection_error(FLOW_CONTROL_ERROR)


def test_6_5_2_max_frame_size_below_the_initial_value_is_protocol_error(conn: Conn) -> None:
    conn.send(settings((0x5, 16383)))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_6_5_2_max_frame_size_above_the_maximum_is_protocol_error(conn: Conn) -> None:
    conn.send(settings((0x5, 1 << 24)))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_6_5_2_unknown_setting_is_ignored(conn: Conn) -> None:
    conn.send(settings((0xFF, 1)))
    assert conn.wait_for(lambda f: f.kind == SETTINGS and bool(f.flags & ACK) and f is not conn.frames[1])
    assert conn.alive()


def test_6_5_3_settings_are_acknowledged(conn: Conn) -> None:
    before = sum(1 for f in conn.frames if f.kind == SETTINGS and f.flags & ACK)
    conn.send(settings((0x3, 50)))
    conn.alive()
    assert sum(1 for f in conn.frames if f.kind == SETTINGS and f.flags & ACK) == before + 1


def test_6_7_ping_is_answered_with_the_same_payload(conn: Conn) -> None:
    conn.send(frame(PING, 0, 0, b"\x01\x02\x03\x04\x05\x06\x07\x08"))
    assert conn.wait_for(
        lambda f: f.kind == PING and f.flags & ACK and f.payload == b"\x01\x02\x03\x04\x05\x06\x07\x08"
    )


def test_6_7_ping_ack_is_not_answered(conn: Conn) -> None:
    conn.send(frame(PING, ACK, 0, b"unasked!"))
    assert conn.alive()
    assert not any(f.kind == PING and f.payload == b"unasked!" for f in conn.frames)


def test_6_7_ping_on_a_stream_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(PING, 0, 1, b"12345678"))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_6_7_ping_of_wrong_length_is_frame_size_error(conn: Conn) -> None:
    conn.send(frame(PING, 0, 0, b"1234567"))
    assert conn.connection_error(FRAME_SIZE_ERROR)


def test_6_8_goaway_on_a_stream_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(GOAWAY, 0, 1, struct.pack(">II", 0, 0)))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_6_9_window_update_of_0_on_the_connection_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0)))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_6_9_window_update_of_0_on_a_stream_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, H, 1, conn.block(method=b"POST")))
    conn.send(frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 0)))
    assert conn.stream_error(1, PROTOCOL_ERROR)


def test_6_9_window_update_of_wrong_length_is_frame_size_error(conn: Conn) -> None:
    conn.send(frame(WINDOW_UPDATE, 0, 0, b"\x00\x00\x01"))
    assert conn.connection_error(FRAME_SIZE_ERROR)


def test_6_9_1_connection_window_above_the_maximum_is_flow_control_error(conn: Conn) -> None:
    conn.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0x7FFFFFFF)))
    assert conn.connection_error(FLOW_CONTROL_ERROR)


def test_6_9_1_stream_window_above_the_maximum_is_flow_control_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, H, 1, conn.block(method=b"POST")))
    conn.send(frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 0x7FFFFFFF)))
    assert conn.stream_error(1, FLOW_CONTROL_ERROR)


def test_6_9_2_initial_window_size_change_applies_to_open_streams(conn: Conn) -> None:
    conn.send(settings((0x4, 1)))  # every stream window is now 1 byte
    conn.send(frame(HEADERS, HS, 1, conn.block(b"/abcdef")))
    assert conn.wait_for(lambda f: f.kind == DATA and f.stream_id == 1) is not None
    assert all(len(f.payload) <= 1 for f in conn.frames if f.kind == DATA and f.stream_id == 1)


def test_6_10_continuation_frames_complete_a_header_block(conn: Conn) -> None:
    block = conn.block()
    conn.send(frame(HEADERS, END_STREAM, 1, block[:3]) + frame(CONTINUATION, 0, 1, block[3:6]))
    conn.send(frame(CONTINUATION, END_HEADERS, 1, block[6:]))
    assert conn.response(1) is not None


def test_6_10_continuation_followed_by_another_frame_is_protocol_error(conn: Conn) -> None:
    block = conn.block()
    conn.send(frame(HEADERS, END_STREAM, 1, block[:3]) + frame(CONTINUATION, 0, 1, block[3:6]))
    conn.send(frame(DATA, 0, 1, b"x"))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_6_10_continuation_on_stream_0_is_protocol_error(conn: Conn) -> None:
    block = conn.block()
    conn.send(frame(HEADERS, END_STREAM, 1, block[:3]) + frame(CONTINUATION, END_HEADERS, 0, block[3:]))
    assert conn.connection_error(PROTOCOL_ERROR)


def test_6_10_continuation_after_end_headers_is_protocol_error(conn: Conn) -> None:
    conn.send(
        frame(HEADERS, H, 1, conn.block(method=b"POST")) + frame(CONTINUATION, END_HEADERS, 1, conn.block())
    )
    assert conn.connection_error(PROTOCOL_ERROR)


# ---------------------------------------------------------------------------------------------- 7. Error codes
def test_7_unknown_error_code_in_goaway_is_accepted(conn: Conn) -> None:
    conn.send(frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0xFF)))
    assert conn.wait_closed() or conn.alive()  # the client is leaving: closing is fine, an error is not
    assert not any(f.kind == GOAWAY and f.error_code not in (0,) for f in conn.frames)


def test_7_unknown_error_code_in_rst_stream_is_accepted(conn: Conn) -> None:
    conn.send(
        frame(HEADERS, H, 1, conn.block(method=b"POST")) + frame(RST_STREAM, 0, 1, struct.pack(">I", 0xFF))
    )
    assert conn.alive()


# ---------------------------------------------------------------------------------------------- 8. HTTP semantics
def test_8_1_trailers_without_end_stream_are_protocol_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, H, 1, conn.block(method=b"POST")) + frame(DATA, 0, 1, b"body"))
    conn.send(frame(HEADERS, H, 1, bytes(conn.encoder.encode([(b"x-trailer", b"1")]))))
    assert conn.stream_error(1, PROTOCOL_ERROR)


def test_8_2_uppercase_field_name_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, HS, 1, conn.block(extra=[(b"X-Upper", b"1")])))
    assert conn.stream_error(1, PROTOCOL_ERROR)


def test_8_2_1_field_value_with_a_newline_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, HS, 1, conn.block(extra=[(b"x-bad", b"a\nb")])))
    assert conn.stream_error(1, PROTOCOL_ERROR)


def test_8_2_2_connection_specific_field_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, HS, 1, conn.block(extra=[(b"connection", b"keep-alive")])))
    assert conn.stream_error(1, PROTOCOL_ERROR)


def test_8_2_2_te_other_than_trailers_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, HS, 1, conn.block(extra=[(b"te", b"gzip")])))
    assert conn.stream_error(1, PROTOCOL_ERROR)


def test_8_3_unknown_pseudo_header_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, HS, 1, conn.block(extra=[(b":foo", b"bar")])))
    assert conn.stream_error(1, PROTOCOL_ERROR)


def test_8_3_response_pseudo_header_in_a_request_is_protocol_error(conn: Conn) -> None:
    conn.send(
        frame(
            HEADERS,
            HS,
            1,
            bytes(
                conn.encoder.encode(
                    [(b":status", b"200"), (b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/")]
                )
            ),
        )
    )
    assert conn.stream_error(1, PROTOCOL_ERROR)


def test_8_3_pseudo_header_after_a_regular_field_is_protocol_error(conn: Conn) -> None:
    fields = [(b":method", b"GET"), (b":scheme", b"http"), (b"x-a", b"1"), (b":path", b"/")]
    conn.send(frame(HEADERS, HS, 1, bytes(conn.encoder.encode(fields))))
    assert conn.stream_error(1, PROTOCOL_ERROR)


def test_8_3_pseudo_header_in_trailers_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, H, 1, conn.block(method=b"POST")) + frame(DATA, 0, 1, b"x"))
    conn.send(frame(HEADERS, HS, 1, bytes(conn.encoder.encode([(b":path", b"/again")]))))
    assert conn.stream_error(1, PROTOCOL_ERROR)


def test_8_3_1_empty_path_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, HS, 1, conn.block(b"")))
    assert conn.stream_error(1, PROTOCOL_ERROR)


def test_8_3_1_missing_method_is_protocol_error(conn: Conn) -> None:
    fields = [(b":scheme", b"http"), (b":path", b"/"), (b":authority", b"localhost")]
    conn.send(frame(HEADERS, HS, 1, bytes(conn.encoder.encode(fields))))
    assert conn.stream_error(1, PROTOCOL_ERROR)


def test_8_3_1_missing_scheme_is_protocol_error(conn: Conn) -> None:
    fields = [(b":method", b"GET"), (b":path", b"/"), (b":authority", b"localhost")]
    conn.send(frame(HEADERS, HS, 1, bytes(conn.encoder.encode(fields))))
    assert conn.stream_error(1, PROTOCOL_ERROR)


def test_8_3_1_missing_path_is_protocol_error(conn: Conn) -> None:
    fields = [(b":method", b"GET"), (b":scheme", b"http"), (b":authority", b"localhost")]
    conn.send(frame(HEADERS, HS, 1, bytes(conn.encoder.encode(fields))))
    assert conn.stream_error(1, PROTOCOL_ERROR)


def test_8_3_1_duplicated_method_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, HS, 1, conn.block(extra=[(b":method", b"POST")])))
    assert conn.stream_error(1, PROTOCOL_ERROR)


def test_8_1_1_content_length_not_matching_the_data_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, H, 1, conn.block(method=b"POST", extra=[(b"content-length", b"10")])))
    conn.send(frame(DATA, END_STREAM, 1, b"short"))
    assert conn.stream_error(1, PROTOCOL_ERROR)


def test_8_4_push_promise_from_a_client_is_protocol_error(conn: Conn) -> None:
    conn.send(frame(HEADERS, H, 1, conn.block(method=b"POST")))
    conn.send(frame(PUSH_PROMISE, END_HEADERS, 1, struct.pack(">I", 2) + conn.block()))
    assert conn.connection_error(PROTOCOL_ERROR)
