"""A server's HTTP/2 connection state machine (RFC 9113), sans I/O.

Responsibility: the bytes of one HTTP/2 connection in and the frames out — the client preface and the SETTINGS
exchange (§3.4, §6.5), the frame rules of §4-§6 (sizes, stream ids, padding, PRIORITY fields parsed and checked,
unknown frame types ignored), the stream states of §5.1 and the concurrency limit of §5.1.2, flow control both
ways (§5.2, §6.9: the windows the client grants us, and the windows we grant and reopen only as the adapter says
the bytes were taken), header blocks with their CONTINUATION frames under a bound, request field validation
(http2_fields.py), PING, GOAWAY, RST_STREAM, and errors as connection errors (GOAWAY) or stream errors
(RST_STREAM) with RFC 9113's codes. What it learns it tells its `Http2Events` (the adapter) by direct calls; what
it writes accumulates in `out` until the adapter takes it. It must not touch sockets, clocks or threads, nor
decide anything about requests beyond the protocol (the adapter and the driver do).
"""

from __future__ import annotations

import struct
from typing import Final, Protocol

from httpsys._core.http2_fields import (
    DecoderFailure,
    FieldDecoder,
    RequestHead,
    parse_request,
    valid_trailers,
)
from httpsys._core.http2_frames import (
    COMPRESSION_ERROR,
    CONTINUATION,
    DATA,
    DEFAULT_FRAME_SIZE,
    DEFAULT_WINDOW,
    ENHANCE_YOUR_CALM,
    FLAG_ACK,
    FLAG_END_HEADERS,
    FLAG_END_STREAM,
    FLAG_PADDED,
    FLAG_PRIORITY,
    FLOW_CONTROL_ERROR,
    FRAME_SIZE_ERROR,
    GOAWAY,
    HEADER_SIZE,
    HEADERS,
    LARGEST_FRAME_SIZE,
    LARGEST_WINDOW,
    PING,
    PREFACE,
    PRIORITY,
    PROTOCOL_ERROR,
    PUSH_PROMISE,
    RST_STREAM,
    SETTINGS,
    SETTINGS_ACK_FRAME,
    SETTINGS_ENABLE_PUSH,
    SETTINGS_HEADER_TABLE_SIZE,
    SETTINGS_INITIAL_WINDOW_SIZE,
    SETTINGS_MAX_CONCURRENT_STREAMS,
    SETTINGS_MAX_FRAME_SIZE,
    SETTINGS_MAX_HEADER_LIST_SIZE,
    STREAM_CLOSED,
    WINDOW_UPDATE,
    frame_header,
    goaway_frame,
    header_block_frames,
    ping_ack,
    read_u32,
    rst_stream_frame,
    settings_frame,
    window_update_frame,
)

MAX_CONTINUATIONS: Final = 64
CLOSED_KEPT: Final = 256  # closed streams remembered (§5.1: frames on a stream we reset are ignored)  # CONTINUATION frames one header block may have (CVE-2024-27316 bound)
_HEADER: Final = struct.Struct(">BHBBI")  # length high byte, length low 16 bits, type, flags, stream id
_SETTING: Final = struct.Struct(">HI")
_PRIORITY: Final = struct.Struct(">I")
_CONNECTION_ACK_AT: Final = 1 << 16  # connection window bytes taken before a connection WINDOW_UPDATE

# input states
_PREFACE: Final = 0
_FIRST_FRAME: Final = 1
_FRAMES: Final = 2


class Http2Events(Protocol):
    """What the connection tells its adapter, one direct call per event."""

    def h2_request(self, stream_id: int, head: RequestHead, end_stream: bool) -> None: ...
    def h2_data(self, stream_id: int, data: bytes, end_stream: bool) -> None: ...
    def h2_stream_reset(self, stream_id: int, code: int, by_peer: bool) -> None: ...
    def h2_connection_error(self, code: int) -> None: ...
    def h2_goaway(self) -> None: ...


class StreamState:
    """One stream the connection knows (open or half-closed, RFC 9113 §5.1)."""

    def __init__(self, stream_id: int, send_window: int, recv_window: int) -> None:
        self.stream_id = stream_id
        self.send_window = send_window
        self.recv_window = recv_window
        self.remote_closed = False
        self.local_closed = False
        self.expected_length = -1  # content-length, -1 when absent (§8.1.1)
        self.received_length = 0


class _ConnectionError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class ServerConnection:
    """One HTTP/2 connection, server side: `receive_data` in, `out` (bytes to write) out, events to `events`."""

    def __init__(
        self,
        events: Http2Events,
        *,
        max_concurrent_streams: int,
        initial_window: int,
        connection_window: int,
        max_header_list_size: int,
        header_list_bound: int,
        max_frame_size: int = DEFAULT_FRAME_SIZE,
    ) -> None:
        self.events = events
        self.out = bytearray()
        self.streams: dict[int, StreamState] = {}
        self.highest_stream_id = 0
        self.terminated = False  # a connection error or the peer's GOAWAY: input is no longer read
        self.window_opened = False  # the peer opened a send window since the adapter last looked
        self.control_frames = 0  # SETTINGS, PING, PRIORITY, WINDOW_UPDATE, empty DATA, unknown frames
        self.peer_resets = 0  # RST_STREAM frames from the peer for streams we knew
        # what we announce
        self.max_concurrent_streams = max_concurrent_streams
        self.max_frame_size = max_frame_size
        self.max_header_list_size = max_header_list_size
        self._initial_window = initial_window  # in force once the peer acknowledges our SETTINGS
        self._recv_initial = DEFAULT_WINDOW  # the stream window the peer may use now
        self._connection_window = connection_window
        self.recv_window = DEFAULT_WINDOW  # the connection window we grant
        self._recv_unacked = 0
        # what the peer announces
        self.send_window = DEFAULT_WINDOW  # the connection window the peer grants
        self.peer_initial_window = DEFAULT_WINDOW
        self.peer_max_frame_size = DEFAULT_FRAME_SIZE
        self._decoder = FieldDecoder(header_list_bound)
        # the last remembered field list parse_request read, and its head (kept pristine; each request gets a copy):
        # a client repeating a request costs a copy instead of a validation of every field
        self._known_fields: list[tuple[bytes, bytes]] | None = None
        self._known_head: RequestHead | None = None
        self._closed: dict[int, bool] = {}  # recently closed stream ids -> closed by our RST_STREAM
        self._first_block = True
        self._state = _PREFACE
        self._buf = b""
        # a header block being assembled (HEADERS without END_HEADERS, then CONTINUATION frames)
        self._block_stream = 0
        self._block_parts: list[bytes] = []
        self._block_end_stream = False
        self._block_error = 0  # a stream error the HEADERS frame itself carried (priority on itself)
        self._block_count = 0

    # ============================================================================================ start and end
    def initiate(self) -> None:
        """Our SETTINGS (the server's preface) and the connection window raised to what we grant."""
        self.out += settings_frame(
            [
                (SETTINGS_MAX_CONCURRENT_STREAMS, self.max_concurrent_streams),
                (SETTINGS_INITIAL_WINDOW_SIZE, self._initial_window),
                (SETTINGS_MAX_FRAME_SIZE, self.max_frame_size),
                (SETTINGS_MAX_HEADER_LIST_SIZE, self.max_header_list_size),
                (SETTINGS_ENABLE_PUSH, 0),
            ]
        )
        extra = self._connection_window - DEFAULT_WINDOW
        if extra > 0:
            self.out += window_update_frame(0, extra)
            self.recv_window += extra

    def data_to_send(self) -> bytearray:
        """The frames written since the last call (a new buffer is started: the transport may keep this one)."""
        out = self.out
        self.out = bytearray()
        return out

    def fail(self, code: int) -> None:
        """A connection error the adapter decided (a flood): GOAWAY with `code`; no more input is read."""
        if self.terminated:
            return
        self.terminated = True
        self.out += goaway_frame(self.highest_stream_id, code)

    def goaway(self, code: int) -> None:
        """A graceful GOAWAY naming the last stream taken; the streams in flight go on."""
        self.out += goaway_frame(self.highest_stream_id, code)

    # ============================================================================================ input
    def receive_data(self, data: bytes) -> None:
        if self.terminated:
            return
        if self._buf:
            data = self._buf + data
            self._buf = b""
        pos = 0
        if self._state == _PREFACE:
            if len(data) < len(PREFACE):
                if not PREFACE.startswith(data):
                    self._connection_error(PROTOCOL_ERROR)
                    return
                self._buf = data
                return
            if not data.startswith(PREFACE):
                self._connection_error(PROTOCOL_ERROR)
                return
            pos = len(PREFACE)
            self._state = _FIRST_FRAME
        end = len(data)
        unpack = _HEADER.unpack_from
        # typed once: the unpacked values are then native integers (compiled), not objects through generic operators
        high: int
        low: int
        kind: int
        flags: int
        stream_id: int
        try:
            while end - pos >= HEADER_SIZE and not self.terminated:
                high, low, kind, flags, stream_id = unpack(data, pos)
                length = high << 16 | low
                if length > self.max_frame_size:
                    raise _ConnectionError(FRAME_SIZE_ERROR)
                if end - pos - HEADER_SIZE < length:
                    break
                start = pos + HEADER_SIZE
                pos = start + length
                stream_id &= LARGEST_WINDOW
                if self._state == _FIRST_FRAME:
                    if kind != SETTINGS or flags & FLAG_ACK:
                        raise _ConnectionError(PROTOCOL_ERROR)  # §3.4: the preface's SETTINGS comes first
                    self._state = _FRAMES
                if self._block_stream:
                    if kind != CONTINUATION or stream_id != self._block_stream:
                        raise _ConnectionError(PROTOCOL_ERROR)  # §6.10: nothing may interleave a header block
                    self._continuation(flags, data[start:pos])
                elif kind == DATA:
                    self._data(flags, stream_id, data[start:pos])
                elif kind == HEADERS:
                    self._headers(flags, stream_id, data[start:pos])
                elif kind == WINDOW_UPDATE:
                    self._window_update(stream_id, data[start:pos])
                elif kind == RST_STREAM:
                    self._rst_stream(stream_id, data[start:pos])
                elif kind == SETTINGS:
                    self._settings(flags, stream_id, data[start:pos])
                elif kind == PING:
                    self.control_frames += 1
                    if stream_id:
                        raise _ConnectionError(PROTOCOL_ERROR)
                    if length != 8:
                        raise _ConnectionError(FRAME_SIZE_ERROR)
                    if not flags & FLAG_ACK:
                        self.out += ping_ack(data[start:pos])
                elif kind == PRIORITY:
                    self._priority(stream_id, data[start:pos])
                elif kind == GOAWAY:
                    if stream_id:
                        raise _ConnectionError(PROTOCOL_ERROR)
                    if length < 8:
                        raise _ConnectionError(FRAME_SIZE_ERROR)
                    self.terminated = True
                    self.events.h2_goaway()
                    return
                elif kind in (PUSH_PROMISE, CONTINUATION):
                    raise _ConnectionError(
                        PROTOCOL_ERROR
                    )  # a client never pushes; CONTINUATION outside a block
                else:
                    self.control_frames += 1  # §4.1 / §5.5: an unknown frame type is ignored
        except _ConnectionError as exc:
            self._connection_error(exc.code)
            return
        if pos < end and not self.terminated:
            self._buf = data[pos:]

    def _connection_error(self, code: int) -> None:
        if self.terminated:
            return
        self.terminated = True
        self.out += goaway_frame(self.highest_stream_id, code)
        self.events.h2_connection_error(code)

    def _stream_error(self, stream_id: int, code: int) -> None:
        """RST_STREAM with `code`; the adapter loses the stream if it had it."""
        self.out += rst_stream_frame(stream_id, code)
        self._forget(stream_id, True)
        if self.streams.pop(stream_id, None) is not None:
            self.events.h2_stream_reset(stream_id, code, False)

    def _forget(self, stream_id: int, by_reset: bool) -> None:
        """Remember a closed stream for a while: how it closed decides what a late frame on it means."""
        closed = self._closed
        closed[stream_id] = by_reset
        if len(closed) > CLOSED_KEPT:
            del closed[next(iter(closed))]

    def _is_idle(self, stream_id: int) -> bool:
        return stream_id > self.highest_stream_id

    # ------------------------------------------------------------------------------------------- DATA
    def _data(self, flags: int, stream_id: int, payload: bytes) -> None:
        if not stream_id:
            raise _ConnectionError(PROTOCOL_ERROR)
        flow = len(payload)
        if flags & FLAG_PADDED:
            if not payload or payload[0] >= len(payload):
                raise _ConnectionError(PROTOCOL_ERROR)  # §6.1: padding as long as the payload or more
            payload = payload[1 : len(payload) - payload[0]]
        self.recv_window -= flow
        if self.recv_window < 0:
            raise _ConnectionError(FLOW_CONTROL_ERROR)
        stream = self.streams.get(stream_id)
        if stream is None:
            if self._is_idle(stream_id):
                raise _ConnectionError(PROTOCOL_ERROR)  # §5.1: DATA on an idle stream
            self._take_connection(flow)
            if not self._closed.get(stream_id, False):  # after our RST_STREAM, in-flight DATA is ignored
                self._stream_error(stream_id, STREAM_CLOSED)
            return
        if stream.remote_closed:
            self._take_connection(flow)
            self._stream_error(stream_id, STREAM_CLOSED)
            return
        stream.recv_window -= flow
        if stream.recv_window < 0:
            self._take_connection(flow)
            self._stream_error(stream_id, FLOW_CONTROL_ERROR)
            return
        padding = flow - len(payload)
        if padding:  # padding is nobody's to read: its window reopens at once
            stream.recv_window += padding
            self.out += window_update_frame(stream_id, padding)
            self._take_connection(padding)
        end_stream = bool(flags & FLAG_END_STREAM)
        if not payload and not end_stream:
            self.control_frames += 1
        stream.received_length += len(payload)
        if stream.expected_length >= 0 and (
            stream.received_length > stream.expected_length
            or (end_stream and stream.received_length != stream.expected_length)
        ):
            self._take_connection(len(payload))
            self._stream_error(stream_id, PROTOCOL_ERROR)  # §8.1.1: content-length and the DATA disagree
            return
        if end_stream:
            stream.remote_closed = True
            if stream.local_closed:
                del self.streams[stream_id]
                self._forget(stream_id, False)
        self.events.h2_data(stream_id, payload, end_stream)

    def _take_connection(self, count: int) -> None:
        """Connection-window bytes nobody will read (a closed stream's, padding): reopened in batches."""
        self._recv_unacked += count
        if self._recv_unacked >= _CONNECTION_ACK_AT:
            self.out += window_update_frame(0, self._recv_unacked)
            self.recv_window += self._recv_unacked
            self._recv_unacked = 0

    def acknowledge(self, stream_id: int, count: int) -> None:
        """The adapter's reader took `count` body bytes of the stream: its window and the connection's reopen."""
        if count <= 0:
            return
        stream = self.streams.get(stream_id)
        if stream is not None and not stream.remote_closed:
            stream.recv_window += count
            self.out += window_update_frame(stream_id, count)
        self._take_connection(count)

    # ------------------------------------------------------------------------------------------- HEADERS
    def _headers(self, flags: int, stream_id: int, payload: bytes) -> None:
        if not stream_id:
            raise _ConnectionError(PROTOCOL_ERROR)
        if not stream_id & 1 and stream_id not in self.streams:
            raise _ConnectionError(PROTOCOL_ERROR)  # §5.1.1: a client's streams are odd
        error = 0
        pos = 0
        end = len(payload)
        if flags & FLAG_PADDED:
            if not payload:
                raise _ConnectionError(PROTOCOL_ERROR)
            pad = payload[0]
            pos = 1
            end -= pad
        if flags & FLAG_PRIORITY:
            if end - pos < 5:
                raise _ConnectionError(FRAME_SIZE_ERROR)
            depends = _PRIORITY.unpack_from(payload, pos)[0] & LARGEST_WINDOW
            if depends == stream_id:
                error = PROTOCOL_ERROR  # §5.3.1: a stream cannot depend on itself
            pos += 5
        if end < pos:
            raise _ConnectionError(PROTOCOL_ERROR)  # §6.2: padding longer than what is left
        block = payload[pos:end] if pos or end != len(payload) else payload
        if flags & FLAG_END_HEADERS:
            self._header_block(stream_id, block, bool(flags & FLAG_END_STREAM), error)
            return
        self._block_stream = stream_id
        self._block_parts = [block]
        self._block_end_stream = bool(flags & FLAG_END_STREAM)
        self._block_error = error
        self._block_count = 0

    def _continuation(self, flags: int, payload: bytes) -> None:
        self._block_count += 1
        if self._block_count > MAX_CONTINUATIONS:
            raise _ConnectionError(ENHANCE_YOUR_CALM)
        self._block_parts.append(payload)
        if not flags & FLAG_END_HEADERS:
            return
        stream_id = self._block_stream
        block = b"".join(self._block_parts)
        self._block_stream = 0
        self._block_parts = []
        self._header_block(stream_id, block, self._block_end_stream, self._block_error)

    def _decode(self, block: bytes) -> list[tuple[bytes, bytes]]:
        try:
            return self._decoder.decode(block)
        except DecoderFailure as exc:  # §4.3: the decoding state is lost, a connection error
            raise _ConnectionError(ENHANCE_YOUR_CALM if exc.too_large else COMPRESSION_ERROR) from None

    def _header_block(self, stream_id: int, block: bytes, end_stream: bool, error: int) -> None:
        stream = self.streams.get(stream_id)
        if stream is None:
            if stream_id <= self.highest_stream_id:
                by_reset = self._closed.get(stream_id)
                if by_reset is None and stream_id < self.highest_stream_id:
                    raise _ConnectionError(PROTOCOL_ERROR)  # §5.1.1: lower than a stream already opened
                if not by_reset:
                    raise _ConnectionError(STREAM_CLOSED)  # §5.1: HEADERS on a closed stream
                self._decode(block)  # after our RST_STREAM: ignored, but the decoder's state must follow
                return
            fields = self._decode(block)  # decoded before anything else: the decoder's state must follow
            self.highest_stream_id = stream_id
            if len(self.streams) >= self.max_concurrent_streams:
                raise _ConnectionError(PROTOCOL_ERROR)  # §5.1.2, as h2 and HTTP.sys answer
            if error:
                self._stream_error(stream_id, error)
                return
            known = self._known_head
            if known is not None and fields is self._known_fields:
                head: RequestHead | None = (
                    known.copy()
                )  # the same remembered list: already validated and read
            else:
                head = parse_request(fields)
                if head is not None and self._decoder.remembered:
                    self._known_fields = fields
                    self._known_head = head
                    head = head.copy()
            if head is None:
                self._stream_error(stream_id, PROTOCOL_ERROR)  # §8.1.1: malformed
                return
            stream = StreamState(stream_id, self.peer_initial_window, self._recv_initial)
            stream.expected_length = head.content_length
            if end_stream:
                stream.remote_closed = True
                if stream.expected_length > 0:
                    self._stream_error(stream_id, PROTOCOL_ERROR)
                    return
            self.streams[stream_id] = stream
            self.events.h2_request(stream_id, head, end_stream)
            return
        fields = self._decode(block)
        if error:
            self._stream_error(stream_id, error)
            return
        if stream.remote_closed:
            self._stream_error(stream_id, STREAM_CLOSED)  # §5.1: half-closed (remote)
            return
        # trailers (§8.1): they end the stream and carry no pseudo-header field
        if not end_stream or not valid_trailers(fields):
            self._stream_error(stream_id, PROTOCOL_ERROR)
            return
        if stream.expected_length >= 0 and stream.received_length != stream.expected_length:
            self._stream_error(stream_id, PROTOCOL_ERROR)
            return
        stream.remote_closed = True
        if stream.local_closed:
            del self.streams[stream_id]
            self._forget(stream_id, False)
        self.events.h2_data(stream_id, b"", True)  # request trailers are dropped, as on HTTP/1.1

    # ------------------------------------------------------------------------------------------- the rest
    def _priority(self, stream_id: int, payload: bytes) -> None:
        """PRIORITY is parsed and checked, not acted on (RFC 9113 deprecates the scheme)."""
        self.control_frames += 1
        if not stream_id:
            raise _ConnectionError(PROTOCOL_ERROR)
        if len(payload) != 5:
            self._stream_error(stream_id, FRAME_SIZE_ERROR)
            return
        if _PRIORITY.unpack_from(payload, 0)[0] & LARGEST_WINDOW == stream_id:
            self._stream_error(stream_id, PROTOCOL_ERROR)

    def _rst_stream(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise _ConnectionError(FRAME_SIZE_ERROR)
        if not stream_id or self._is_idle(stream_id):
            raise _ConnectionError(PROTOCOL_ERROR)
        if self.streams.pop(stream_id, None) is not None:
            self._forget(stream_id, False)
            self.peer_resets += 1
            self.events.h2_stream_reset(stream_id, read_u32(payload, 0), True)

    def _window_update(self, stream_id: int, payload: bytes) -> None:
        self.control_frames += 1
        if len(payload) != 4:
            raise _ConnectionError(FRAME_SIZE_ERROR)
        increment = read_u32(payload, 0) & LARGEST_WINDOW
        if not stream_id:
            if not increment:
                raise _ConnectionError(PROTOCOL_ERROR)
            self.send_window += increment
            if self.send_window > LARGEST_WINDOW:
                raise _ConnectionError(FLOW_CONTROL_ERROR)
            self.window_opened = True
            return
        stream = self.streams.get(stream_id)
        if stream is None:
            if self._is_idle(stream_id):
                raise _ConnectionError(PROTOCOL_ERROR)
            return  # a closed stream's: ignored
        if not increment:
            self._stream_error(stream_id, PROTOCOL_ERROR)
            return
        stream.send_window += increment
        if stream.send_window > LARGEST_WINDOW:
            self._stream_error(stream_id, FLOW_CONTROL_ERROR)
            return
        self.window_opened = True

    def _settings(self, flags: int, stream_id: int, payload: bytes) -> None:
        self.control_frames += 1
        if stream_id:
            raise _ConnectionError(PROTOCOL_ERROR)
        if flags & FLAG_ACK:
            if payload:
                raise _ConnectionError(FRAME_SIZE_ERROR)
            delta = self._initial_window - self._recv_initial  # our SETTINGS are in force now
            if delta:
                self._recv_initial = self._initial_window
                for stream in self.streams.values():
                    stream.recv_window += delta
            return
        if len(payload) % 6:
            raise _ConnectionError(FRAME_SIZE_ERROR)
        for at in range(0, len(payload), 6):
            key, value = _SETTING.unpack_from(payload, at)
            if key == SETTINGS_INITIAL_WINDOW_SIZE:
                if value > LARGEST_WINDOW:
                    raise _ConnectionError(FLOW_CONTROL_ERROR)
                delta = value - self.peer_initial_window
                self.peer_initial_window = value
                if delta:
                    for stream in self.streams.values():
                        stream.send_window += delta
                        if stream.send_window > LARGEST_WINDOW:
                            raise _ConnectionError(FLOW_CONTROL_ERROR)
                    if delta > 0:
                        self.window_opened = True
            elif key == SETTINGS_MAX_FRAME_SIZE:
                if value < DEFAULT_FRAME_SIZE or value > LARGEST_FRAME_SIZE:
                    raise _ConnectionError(PROTOCOL_ERROR)
                self.peer_max_frame_size = value
            elif key == SETTINGS_ENABLE_PUSH:
                if value > 1:
                    raise _ConnectionError(PROTOCOL_ERROR)
            elif key == SETTINGS_HEADER_TABLE_SIZE:
                pass  # our blocks never use the dynamic table (http2_fields.encode_fields)
        self.out += SETTINGS_ACK_FRAME

    # ============================================================================================ output
    def send_headers(self, stream_id: int, block: bytes, end_stream: bool) -> bool:
        """HEADERS (+ CONTINUATION) with an encoded field block; False when the stream can no longer send."""
        stream = self.streams.get(stream_id)
        if stream is None or stream.local_closed or self.terminated:
            return False
        if self._first_block:
            # our first block sets our dynamic table's size to 0 (RFC 7541 §4.2, §6.3): whatever size the
            # client announces, no later block needs to signal a change
            self._first_block = False
            block = b"\x20" + block
        self.out += header_block_frames(stream_id, block, end_stream, self.peer_max_frame_size)
        if end_stream:
            self._local_end(stream)
        return True

    def send_response(self, stream_id: int, block: bytes, data: bytes | bytearray | memoryview) -> bool:
        """A whole response at once: HEADERS with `block`, then one DATA frame with `data` and END_STREAM (the
        caller keeps `data` within `send_window_of` and the peer's frame size); False when the stream can no
        longer send (nothing is written then)."""
        stream = self.streams.get(stream_id)
        if stream is None or stream.local_closed or self.terminated:
            return False
        if self._first_block:
            self._first_block = False
            block = b"\x20" + block  # as send_headers: our dynamic table's size is 0 from the first block on
        out = self.out
        out += header_block_frames(stream_id, block, False, self.peer_max_frame_size)
        count = len(data)
        out += frame_header(count, DATA, FLAG_END_STREAM, stream_id)
        if count:
            out += data
            stream.send_window -= count
            self.send_window -= count
        self._local_end(stream)
        return True

    def send_window_of(self, stream_id: int) -> int:
        """The bytes of DATA the stream may send now (both windows), -1 when it can no longer send."""
        stream = self.streams.get(stream_id)
        if stream is None or stream.local_closed or self.terminated:
            return -1
        window = stream.send_window
        return window if window < self.send_window else self.send_window

    def send_data(self, stream_id: int, data: bytes | bytearray | memoryview, end_stream: bool) -> bool:
        """One DATA frame (the caller keeps it within `send_window_of` and the peer's frame size)."""
        stream = self.streams.get(stream_id)
        if stream is None or stream.local_closed or self.terminated:
            return False
        count = len(data)
        self.out += frame_header(count, DATA, FLAG_END_STREAM if end_stream else 0, stream_id)
        if count:
            self.out += data
            stream.send_window -= count
            self.send_window -= count
        if end_stream:
            self._local_end(stream)
        return True

    def charge(self, stream_id: int, count: int) -> None:
        """`count` DATA bytes the adapter framed and wrote itself (without END_STREAM) leave both windows."""
        stream = self.streams.get(stream_id)
        if stream is not None:
            stream.send_window -= count
        self.send_window -= count

    def reset_stream(self, stream_id: int, code: int) -> None:
        """RST_STREAM from our side (the adapter's choice); the stream is forgotten."""
        if self.terminated:
            return
        if self.streams.pop(stream_id, None) is not None or stream_id <= self.highest_stream_id:
            self.out += rst_stream_frame(stream_id, code)
            self._forget(stream_id, True)

    def is_open(self, stream_id: int) -> bool:
        stream = self.streams.get(stream_id)
        return stream is not None and not stream.local_closed

    def _local_end(self, stream: StreamState) -> None:
        stream.local_closed = True
        if stream.remote_closed:
            del self.streams[stream.stream_id]
            self._forget(stream.stream_id, False)
