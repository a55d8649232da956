"""HTTP/2 frames (RFC 9113 §4 and §6): the frame header, the frame types, flags, error codes, SETTINGS parameters and
the serialisation of the frames a server writes.

Responsibility: the byte layout of frames — constants and small functions that build the control frames (SETTINGS,
its ACK, PING ACK, GOAWAY, RST_STREAM, WINDOW_UPDATE) and frame headers for HEADERS/CONTINUATION/DATA. It must not
keep connection or stream state (http2_connection.py does), decode field blocks (HPACK) or touch sockets.
"""

from __future__ import annotations

import struct
from typing import Final

PREFACE: Final = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HEADER_SIZE: Final = 9

# frame types (RFC 9113 §6)
DATA: Final = 0x0
HEADERS: Final = 0x1
PRIORITY: Final = 0x2
RST_STREAM: Final = 0x3
SETTINGS: Final = 0x4
PUSH_PROMISE: Final = 0x5
PING: Final = 0x6
GOAWAY: Final = 0x7
WINDOW_UPDATE: Final = 0x8
CONTINUATION: Final = 0x9

# flags
FLAG_END_STREAM: Final = 0x1
FLAG_ACK: Final = 0x1
FLAG_END_HEADERS: Final = 0x4
FLAG_PADDED: Final = 0x8
FLAG_PRIORITY: Final = 0x20

# error codes (RFC 9113 §7)
NO_ERROR: Final = 0x0
PROTOCOL_ERROR: Final = 0x1
INTERNAL_ERROR: Final = 0x2
FLOW_CONTROL_ERROR: Final = 0x3
SETTINGS_TIMEOUT: Final = 0x4
STREAM_CLOSED: Final = 0x5
FRAME_SIZE_ERROR: Final = 0x6
REFUSED_STREAM: Final = 0x7
CANCEL: Final = 0x8
COMPRESSION_ERROR: Final = 0x9
CONNECT_ERROR: Final = 0xA
ENHANCE_YOUR_CALM: Final = 0xB
INADEQUATE_SECURITY: Final = 0xC
HTTP_1_1_REQUIRED: Final = 0xD

ERROR_NAMES: Final = (
    "NO_ERROR",
    "PROTOCOL_ERROR",
    "INTERNAL_ERROR",
    "FLOW_CONTROL_ERROR",
    "SETTINGS_TIMEOUT",
    "STREAM_CLOSED",
    "FRAME_SIZE_ERROR",
    "REFUSED_STREAM",
    "CANCEL",
    "COMPRESSION_ERROR",
    "CONNECT_ERROR",
    "ENHANCE_YOUR_CALM",
    "INADEQUATE_SECURITY",
    "HTTP_1_1_REQUIRED",
)

# SETTINGS parameters (RFC 9113 §6.5.2)
SETTINGS_HEADER_TABLE_SIZE: Final = 0x1
SETTINGS_ENABLE_PUSH: Final = 0x2
SETTINGS_MAX_CONCURRENT_STREAMS: Final = 0x3
SETTINGS_INITIAL_WINDOW_SIZE: Final = 0x4
SETTINGS_MAX_FRAME_SIZE: Final = 0x5
SETTINGS_MAX_HEADER_LIST_SIZE: Final = 0x6

DEFAULT_WINDOW: Final = 65535  # the initial flow-control window of a connection and of a stream (§6.9.2)
DEFAULT_FRAME_SIZE: Final = 16384  # SETTINGS_MAX_FRAME_SIZE's initial value, the smallest allowed
LARGEST_FRAME_SIZE: Final = (1 << 24) - 1
LARGEST_WINDOW: Final = (1 << 31) - 1

# length (24 bits) as a 16-bit high part and an 8-bit low part is awkward; the header is packed as one 32-bit word
# (length << 8 | type), the flags and the stream id
_HEADER: Final = struct.Struct(">IBI")
_SETTING: Final = struct.Struct(">HI")
_U32: Final = struct.Struct(">I")
_GOAWAY: Final = struct.Struct(">II")

SETTINGS_ACK_FRAME: Final = b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"


def error_name(code: int) -> str:
    """The RFC 9113 name of an error code (HTTPERR reasons are `HTTP2_<name>`), hex for codes it does not name."""
    if 0 <= code < len(ERROR_NAMES):
        return ERROR_NAMES[code]
    return f"0x{code:x}"


def frame_header(length: int, kind: int, flags: int, stream_id: int) -> bytes:
    """The 9-byte frame header (§4.1)."""
    return _HEADER.pack(length << 8 | kind, flags, stream_id)


def pack_header_into(buf: bytearray, offset: int, length: int, kind: int, flags: int, stream_id: int) -> None:
    """Write a frame header into `buf` at `offset` (frames laid out in one buffer)."""
    _HEADER.pack_into(buf, offset, length << 8 | kind, flags, stream_id)


def settings_frame(values: list[tuple[int, int]]) -> bytes:
    payload = b"".join([_SETTING.pack(key, value) for key, value in values])
    return frame_header(len(payload), SETTINGS, 0, 0) + payload


def ping_ack(payload: bytes) -> bytes:
    return frame_header(8, PING, FLAG_ACK, 0) + payload


def goaway_frame(last_stream_id: int, code: int) -> bytes:
    return frame_header(8, GOAWAY, 0, 0) + _GOAWAY.pack(last_stream_id & LARGEST_WINDOW, code)


def rst_stream_frame(stream_id: int, code: int) -> bytes:
    return frame_header(4, RST_STREAM, 0, stream_id) + _U32.pack(code)


def window_update_frame(stream_id: int, increment: int) -> bytes:
    return frame_header(4, WINDOW_UPDATE, 0, stream_id) + _U32.pack(increment)


def header_block_frames(stream_id: int, block: bytes, end_stream: bool, max_frame: int) -> bytes:
    """HEADERS (and CONTINUATION frames when the block is larger than the peer's frame size) carrying `block`."""
    flags = FLAG_END_STREAM if end_stream else 0
    if len(block) <= max_frame:
        return frame_header(len(block), HEADERS, flags | FLAG_END_HEADERS, stream_id) + block
    parts = [frame_header(max_frame, HEADERS, flags, stream_id), block[:max_frame]]
    pos = max_frame
    while pos < len(block):
        piece = block[pos : pos + max_frame]
        pos += len(piece)
        last = pos >= len(block)
        parts.append(frame_header(len(piece), CONTINUATION, FLAG_END_HEADERS if last else 0, stream_id))
        parts.append(piece)
    return b"".join(parts)


def read_u32(data: bytes, offset: int) -> int:
    return int(_U32.unpack_from(data, offset)[0])
