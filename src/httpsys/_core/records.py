"""Plain-data records that cross the face-to-driver transport: data chunks, request snapshots, cache policy.

Responsibility: the shapes of what a face sends to the driver and what the driver hands back, as plain values
(ints, bytes, strings, tuples, file descriptors) so that a daemon transport can carry them over a socket. It must
not hold behaviour beyond trivial derived values. RequestSnapshot, built by the driver for every request, lives in
`_core/snapshot.py`, which the native build compiles (decision 0009).
"""

from __future__ import annotations

from dataclasses import dataclass

from httpsys._core.snapshot import RequestSnapshot

__all__ = [
    "BYTE_RANGE_TO_EOF",
    "CachePolicy",
    "DataChunk",
    "FileChunk",
    "FragmentChunk",
    "MemoryChunk",
    "RequestSnapshot",
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
