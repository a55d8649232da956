"""The sans-I/O HTTP/2 connection (`_core/http2_connection.py`, `http2_frames.py`, `http2_fields.py`) without
sockets: bytes in, the events it calls and the frames it writes out. The `hpack` library encodes the client's
field blocks and decodes ours (an outside oracle)."""

from __future__ import annotations

import struct

import hpack
import pytest

from httpsys._core.http2_connection import MAX_CONTINUATIONS, ServerConnection
from httpsys._core.http2_fields import FieldDecoder, RequestHead, encode_fields, parse_request
from httpsys._core.http2_frames import (
    COMPRESSION_ERROR,
    CONTINUATION,
    DATA,
    ENHANCE_YOUR_CALM,
    FLOW_CONTROL_ERROR,
    GOAWAY,
    HEADERS,
    PREFACE,
    PROTOCOL_ERROR,
    RST_STREAM,
    SETTINGS,
    STREAM_CLOSED,
    WINDOW_UPDATE,
    error_name,
    header_block_frames,
)

END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream_id) + payload


def parse(out: bytes) -> list[tuple[int, int, int, bytes]]:
    frames = []
    pos = 0
    while pos < len(out):
        length = int.from_bytes(out[pos : pos + 3], "big")
        kind, flags = out[pos + 3], out[pos + 4]
        stream_id = int.from_bytes(out[pos + 5 : pos + 9], "big")
        frames.append((kind, flags, stream_id, bytes(out[pos + 9 : pos + 9 + length])))
        pos += 9 + length
    return frames


class Recorder:
    def __init__(self) -> None:
        self.requests: list[tuple[int, RequestHead, bool]] = []
        self.data: list[tuple[int, bytes, bool]] = []
        self.resets: list[tuple[int, int, bool]] = []
        self.errors: list[int] = []
        self.goaways = 0

    def h2_request(self, stream_id: int, head: RequestHead, end_stream: bool) -> None:
        self.requests.append((stream_id, head, end_stream))

    def h2_data(self, stream_id: int, data: bytes, end_stream: bool) -> None:
        self.data.append((stream_id, data, end_stream))

    def h2_stream_reset(self, stream_id: int, code: int, by_peer: bool) -> None:
        self.resets.append((stream_id, code, by_peer))

    def h2_connection_error(self, code: int) -> None:
        self.errors.append(code)

    def h2_goaway(self) -> None:
        self.goaways += 1


class Peer:
    """A client talking to one ServerConnection."""

    def __init__(self, window: int = 65536) -> None:
        self.events = Recorder()
        self.conn = ServerConnection(
            self.events,
            max_concurrent_streams=100,
            initial_window=window,
            connection_window=65535 + 100 * window,
            max_header_list_size=16384,
            header_list_bound=65536,
        )
        self.conn.initiate()
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()

    def send(self, data: bytes) -> list[tuple[int, int, int, bytes]]:
        self.conn.receive_data(data)
        return parse(bytes(self.conn.data_to_send()))

    def handshake(self) -> list[tuple[int, int, int, bytes]]:
        return self.send(PREFACE + frame(SETTINGS, 0, 0) + frame(SETTINGS, ACK, 0))

    def block(
        self, path: bytes = b"/", method: bytes = b"GET", extra: list[tuple[bytes, bytes]] | None = None
    ) -> bytes:
        fields = [(b":method", method), (b":scheme", b"http"), (b":path", path), (b":authority", b"example")]
        return bytes(self.encoder.encode(fields + (extra or [])))


def goaway_code(frames: list[tuple[int, int, int, bytes]]) -> int | None:
    for kind, _flags, _sid, payload in frames:
        if kind == GOAWAY:
            return int(struct.unpack(">I", payload[4:8])[0])
    return None


def test_server_preface_is_settings_and_a_connection_window_update() -> None:
    peer = Peer()
    out = parse(bytes(peer.conn.data_to_send()))
    assert [f[0] for f in out] == [SETTINGS, WINDOW_UPDATE]
    values = dict(struct.unpack(">HI", out[0][3][i : i + 6]) for i in range(0, len(out[0][3]), 6))
    assert values[0x3] == 100 and values[0x4] == 65536 and values[0x5] == 16384
    assert struct.unpack(">I", out[1][3])[0] == 100 * 65536


def test_client_settings_are_acknowledged_and_a_request_is_one_event() -> None:
    peer = Peer()
    peer.conn.data_to_send()
    out = peer.handshake()
    assert (SETTINGS, ACK, 0, b"") in out
    peer.send(
        frame(
            HEADERS,
            END_HEADERS | END_STREAM,
            1,
            peer.block(b"/a?b", extra=[(b"cookie", b"x=1"), (b"cookie", b"y=2")]),
        )
    )
    [(sid, head, end)] = peer.events.requests
    assert (sid, head.method, head.path, head.authority, end) == (1, b"GET", b"/a?b", b"example", True)
    assert head.fields == [(b"cookie", b"x=1; y=2")]  # crumbs joined (RFC 9113 §8.2.3)


def test_a_bad_preface_is_a_protocol_error() -> None:
    peer = Peer()
    out = peer.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert goaway_code(out) == PROTOCOL_ERROR and peer.events.errors == [PROTOCOL_ERROR]


def test_frames_split_anywhere_arrive_the_same() -> None:
    peer = Peer()
    data = PREFACE + frame(SETTINGS, 0, 0) + frame(HEADERS, END_HEADERS | END_STREAM, 1, peer.block())
    for byte in data:
        peer.conn.receive_data(bytes([byte]))
    assert [r[0] for r in peer.events.requests] == [1]


def test_response_headers_and_data_respect_the_peers_frame_size_and_windows() -> None:
    peer = Peer()
    peer.handshake()
    peer.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, peer.block()))
    block = encode_fields([(b":status", b"200"), (b"x-long", b"v" * 40000)])
    assert peer.conn.send_headers(1, block, False)
    assert peer.conn.send_window_of(1) == 65535
    assert peer.conn.send_data(1, b"x" * 100, True)
    out = parse(bytes(peer.conn.data_to_send()))
    assert [f[0] for f in out] == [HEADERS, CONTINUATION, CONTINUATION, DATA]
    assert out[-1][1] & END_STREAM and out[2][1] & END_HEADERS
    decoded = peer.decoder.decode(b"".join(f[3] for f in out[:3]), raw=True)
    assert decoded == [(b":status", b"200"), (b"x-long", b"v" * 40000)]
    assert peer.conn.send_window_of(1) == -1  # ended: the stream can no longer send
    assert not peer.conn.streams  # both halves closed: forgotten


def test_a_whole_response_at_once_is_headers_then_one_data_frame_ending_the_stream() -> None:
    peer = Peer()
    peer.handshake()
    peer.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, peer.block()))
    peer.send(frame(HEADERS, END_HEADERS | END_STREAM, 3, peer.block()))
    block = encode_fields([(b":status", b"200"), (b"content-length", b"5")])
    assert peer.conn.send_response(1, block, b"hello")
    assert peer.conn.send_response(3, block, b"")  # an empty body: still its END_STREAM on a DATA frame
    out = parse(bytes(peer.conn.data_to_send()))
    assert [(f[0], f[1], f[2]) for f in out] == [
        (HEADERS, END_HEADERS, 1),
        (DATA, END_STREAM, 1),
        (HEADERS, END_HEADERS, 3),
        (DATA, END_STREAM, 3),
    ]
    assert out[1][3] == b"hello" and out[3][3] == b""
    assert out[0][3][:1] == b"\x20"  # the connection's first block sets the dynamic table size to 0
    assert peer.decoder.decode(out[0][3], raw=True) == [(b":status", b"200"), (b"content-length", b"5")]
    assert peer.decoder.decode(out[2][3], raw=True) == [(b":status", b"200"), (b"content-length", b"5")]
    assert peer.conn.send_window == 65535 - 5  # the connection window is charged
    assert not peer.conn.streams  # both halves closed: forgotten
    assert not peer.conn.send_response(1, block, b"again")  # an ended stream sends nothing more
    assert not peer.conn.data_to_send()


def test_encode_fields_gives_the_same_bytes_for_the_same_list() -> None:
    fields = [(b":status", b"404"), (b"content-type", b"text/html"), (b"x-app", b"1")]
    assert encode_fields(fields) == encode_fields(list(fields))
    assert hpack.Decoder().decode(encode_fields(fields), raw=True) == fields


def test_window_update_opens_the_send_window_and_overflow_is_a_stream_error() -> None:
    peer = Peer()
    peer.handshake()
    peer.send(frame(HEADERS, END_HEADERS, 1, peer.block(method=b"POST")))
    peer.send(frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 1000)))
    assert (
        peer.conn.window_opened and peer.conn.send_window_of(1) == 65535
    )  # the connection window is the bound
    out = peer.send(frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 0x7FFFFFFF)))
    assert (RST_STREAM, 0, 1, struct.pack(">I", FLOW_CONTROL_ERROR)) in out
    assert peer.events.resets == [(1, FLOW_CONTROL_ERROR, False)]


def test_request_body_window_reopens_only_by_what_was_taken() -> None:
    peer = Peer(window=100)
    peer.handshake()
    peer.send(frame(HEADERS, END_HEADERS, 1, peer.block(method=b"POST")))
    peer.send(frame(DATA, 0, 1, b"a" * 100))
    assert peer.events.data == [(1, b"a" * 100, False)]
    out = peer.send(frame(DATA, 0, 1, b"b"))  # past the 100-byte window
    assert (RST_STREAM, 0, 1, struct.pack(">I", FLOW_CONTROL_ERROR)) in out
    peer2 = Peer(window=100)
    peer2.handshake()
    peer2.send(frame(HEADERS, END_HEADERS, 1, peer2.block(method=b"POST")) + frame(DATA, 0, 1, b"a" * 100))
    peer2.conn.acknowledge(1, 60)
    out = parse(bytes(peer2.conn.data_to_send()))
    assert (WINDOW_UPDATE, 0, 1, struct.pack(">I", 60)) in out
    peer2.send(frame(DATA, END_STREAM, 1, b"c" * 60))
    assert peer2.events.data[-1] == (1, b"c" * 60, True)


def test_content_length_that_disagrees_with_the_data_is_a_stream_error() -> None:
    peer = Peer()
    peer.handshake()
    peer.send(frame(HEADERS, END_HEADERS, 1, peer.block(method=b"POST", extra=[(b"content-length", b"3")])))
    out = peer.send(frame(DATA, END_STREAM, 1, b"ab"))
    assert (RST_STREAM, 0, 1, struct.pack(">I", PROTOCOL_ERROR)) in out
    assert peer.events.data == []


def test_malformed_requests_are_refused_before_they_become_events() -> None:
    peer = Peer()
    peer.handshake()
    bad = [
        [
            (b":method", b"GET"),
            (b":scheme", b"http"),
            (b":path", b"/"),
            (b"connection", b"close"),
            (b"host", b"h"),
        ],
        [(b":method", b"GET"), (b":path", b"/"), (b":authority", b"h")],
        [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/")],  # no :authority, no Host
        [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b":authority", b"h"), (b"x", b" v")],
        [
            (b":method", b"GET"),
            (b":scheme", b"http"),
            (b":path", b"/"),
            (b":authority", b"a"),
            (b"host", b"b"),
        ],
    ]
    for fields in bad:
        assert parse_request(fields) is None, fields
    out = peer.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, bytes(peer.encoder.encode(bad[0]))))
    assert (RST_STREAM, 0, 1, struct.pack(">I", PROTOCOL_ERROR)) in out and not peer.events.requests


def test_headers_on_a_half_closed_stream_is_stream_closed() -> None:
    peer = Peer()
    peer.handshake()
    peer.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, peer.block()))
    out = peer.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, peer.block()))
    assert (RST_STREAM, 0, 1, struct.pack(">I", STREAM_CLOSED)) in out


def test_too_many_continuation_frames_end_the_connection() -> None:
    peer = Peer()
    peer.handshake()
    data = frame(HEADERS, 0, 1, peer.block()[:2]) + frame(CONTINUATION, 0, 1, b"\x40") * (
        MAX_CONTINUATIONS + 1
    )
    out = peer.send(data)
    assert goaway_code(out) == ENHANCE_YOUR_CALM and peer.events.errors == [ENHANCE_YOUR_CALM]


def test_a_block_that_does_not_decode_is_a_compression_error() -> None:
    peer = Peer()
    peer.handshake()
    out = peer.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\x82\x86\x84\x80"))
    assert goaway_code(out) == COMPRESSION_ERROR


def test_a_remembered_indexed_block_is_forgotten_when_the_table_changes() -> None:
    encoder = hpack.Encoder()
    decoder = FieldDecoder(65536)
    first = [(b":method", b"GET"), (b"x-a", b"1")]
    decoder.decode(bytes(encoder.encode(first)))  # x-a: 1 enters the dynamic table at index 62
    again = bytes(encoder.encode(first))
    assert again == b"\x82\xbe"
    assert decoder.decode(again) == first
    assert decoder.decode(again) == first  # remembered
    # another block inserts x-b: 2, so index 62 now names x-b: 2 and 63 x-a: 1
    decoder.decode(bytes(encoder.encode([(b":method", b"GET"), (b"x-b", b"2")])))
    assert decoder.decode(b"\x82\xbe") == [(b":method", b"GET"), (b"x-b", b"2")]


def test_header_block_frames_split_by_frame_size() -> None:
    out = parse(header_block_frames(3, b"z" * 40, True, 16))
    assert [(f[0], f[1]) for f in out] == [
        (HEADERS, END_STREAM),
        (CONTINUATION, 0),
        (CONTINUATION, END_HEADERS),
    ]


@pytest.mark.parametrize(("code", "name"), [(0, "NO_ERROR"), (0xB, "ENHANCE_YOUR_CALM"), (0x42, "0x42")])
def test_error_names(code: int, name: str) -> None:
    assert error_name(code) == name


def test_frames_in_flight_after_our_reset_are_ignored() -> None:
    peer = Peer()
    peer.handshake()
    peer.send(frame(HEADERS, END_HEADERS, 1, peer.block(method=b"POST")))
    peer.conn.reset_stream(1, 0)  # we answered early and refuse the rest of the body
    peer.conn.data_to_send()
    out = peer.send(frame(DATA, 0, 1, b"late") + frame(HEADERS, END_HEADERS | END_STREAM, 1, peer.block()))
    assert out == [] and not peer.events.errors  # no RST_STREAM for each late frame, no connection error
    peer.send(frame(HEADERS, END_HEADERS | END_STREAM, 3, peer.block()))
    assert [r[0] for r in peer.events.requests] == [1, 3]  # the decoder followed the ignored block


def test_data_after_the_peer_ended_the_stream_is_stream_closed() -> None:
    peer = Peer()
    peer.handshake()
    peer.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, peer.block()))
    out = peer.send(frame(DATA, 0, 1, b"late"))
    assert (RST_STREAM, 0, 1, struct.pack(">I", STREAM_CLOSED)) in out


def test_a_repeated_request_block_gives_each_stream_an_equal_head_with_a_list_of_its_own() -> None:
    """The head read from a remembered field list is reused (a copy each time): equal to a fresh parse, its field
    list not shared with the next stream's, and read again once the table changes what the same bytes mean."""
    peer = Peer()
    peer.handshake()
    extra = [(b"user-agent", b"h2load"), (b"cookie", b"a=1"), (b"cookie", b"b=2")]
    for stream_id in (1, 3, 5):
        peer.send(frame(HEADERS, END_HEADERS | END_STREAM, stream_id, peer.block(b"/same", extra=extra)))
    heads = [head for _sid, head, _end in peer.events.requests]
    assert len(heads) == 3
    assert peer.conn._known_head is not None  # the second block was all indexed: its head is kept
    fresh = parse_request(
        [
            (b":method", b"GET"),
            (b":scheme", b"http"),
            (b":path", b"/same"),
            (b":authority", b"example"),
            *extra,
        ]
    )
    assert fresh is not None
    read = ("method", "scheme", "path", "authority", "host", "fields", "content_length", "expect_continue")
    for head in heads:  # (attribute by attribute: the compiled class has no __dict__)
        assert [getattr(head, a) for a in (*read, "size", "longest")] == [
            getattr(fresh, a) for a in (*read, "size", "longest")
        ]
    heads[1].fields.insert(0, (b"host", b"example"))  # what the adapter does with its head
    assert heads[2].fields == fresh.fields and heads[0].fields == fresh.fields
    # a block that changes the dynamic table: the same short block now means another path, read afresh
    peer.send(frame(HEADERS, END_HEADERS | END_STREAM, 7, peer.block(b"/other", extra=[(b"x-new", b"1")])))
    assert peer.events.requests[-1][1].path == b"/other"
    peer.send(frame(HEADERS, END_HEADERS | END_STREAM, 9, peer.block(b"/same", extra=extra)))
    assert peer.events.requests[-1][1].path == b"/same" and peer.events.errors == []
