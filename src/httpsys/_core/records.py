"""Plain-data records that cross the face-to-driver transport: data chunks, request snapshots, cache policy.

Responsibility: the shapes of what a face sends to the driver and what the driver hands back, as plain values
(ints, bytes, strings, tuples, file descriptors) so that a daemon transport can carry them over a socket. It must
not hold behaviour beyond trivial derived values.
"""

from __future__ import annotations

from dataclasses import dataclass

BYTE_RANGE_TO_EOF = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True, slots=True)
class MemoryChunk:
    """HttpDataChunkFromMemory."""

    data: bytes | bytearray | memoryview


@dataclass(frozen=True, slots=True)
class FileChunk:
    """HttpDataChunkFromFileHandle: a file descriptor and a byte range (length TO_EOF = to the end)."""

    fd: int
    offset: int = 0
    length: int = BYTE_RANGE_TO_EOF


@dataclass(frozen=True, slots=True)
class FragmentChunk:
    """HttpDataChunkFromFragmentCache(Ex): a named cached fragment, whole or a byte range."""

    name: str
    offset: int = 0
    length: int = BYTE_RANGE_TO_EOF


@dataclass(frozen=True, slots=True)
class TrailersChunk:
    """HttpDataChunkTrailers: trailer fields sent after the last body byte of the final send."""

    trailers: tuple[tuple[bytes, bytes], ...]


DataChunk = MemoryChunk | FileChunk | FragmentChunk | TrailersChunk


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """HTTP_CACHE_POLICY: 0 Nocache, 1 UserInvalidates, 2 TimeToLive (seconds_to_live used only then)."""

    policy: int
    seconds_to_live: int = 0


@dataclass(slots=True)
class RequestSnapshot:
    """What a receive hands to a face: one request, as plain data, in the order the peer sent it."""

    request_id: int
    connection_id: int
    url_context: int
    flags: int  # HTTP_REQUEST_FLAG_*
    version: tuple[int, int]
    method: bytes  # the verb exactly as sent
    raw_url: bytes
    full_url: str  # cooked URL parts follow
    host: str
    abs_path: str
    query: str  # '' or starting with '?'
    remote_addr: tuple[str, int]
    local_addr: tuple[str, int]
    ipv6: bool
    headers: list[tuple[bytes, bytes]]  # names as sent, values trimmed, in arrival order
    bytes_received: int
    entity: bytes = b""  # body copied by COPY_BODY / FLUSH_BODY
    content_length: int | None = None  # the request's Content-Length, when it has one
    upgrade: bool = False  # the request asks for a protocol upgrade (Upgrade header or CONNECT)
    raw_connection_id: int = 0
    extra: dict[str, object] | None = None  # transport-specific facts (none yet)
