"""Plain-data records that cross the face-to-driver transport: data chunks, request snapshots, cache policy.

Responsibility: the shapes of what a face sends to the driver and what the driver hands back, as plain values
(ints, bytes, strings, tuples, file descriptors) so that a daemon transport can carry them over a socket. It must
not hold behaviour beyond trivial derived values. RequestSnapshot, built by the driver for every request, lives in
`_core/snapshot.py`, which the native build compiles (decision 0009).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from httpsys._core.snapshot import RequestSnapshot

__all__ = [
    "BYTE_RANGE_TO_EOF",
    "CachePolicy",
    "DataChunk",
    "FileChunk",
    "FragmentChunk",
    "MemoryChunk",
    "RequestSnapshot",
    "ResponseSpec",
    "TrailersChunk",
]

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
class ResponseSpec:
    """Protocol-neutral HTTP_RESPONSE: plain data that crosses the transport boundary.

    `known` maps a response header id (0..29) to one or more values; several values (from
    HTTP_MULTIPLE_KNOWN_HEADERS) become separate header lines in the given order. A value of length 0 is
    treated as absent. `unknown` keeps name case and order; empty values are sent.
    """

    status: int
    reason: bytes
    known: dict[int, list[bytes]]
    unknown: list[tuple[bytes, bytes]]
    flags: int = 0  # HTTP_RESPONSE_FLAG_*
    # What the driver derives from this record (validation, framing facts, the rendered head prefix), kept so a
    # record sent again costs nothing to re-derive. A record must not be changed after it was sent once.
    memo: dict[object, Any] | None = field(default=None, compare=False, repr=False)
