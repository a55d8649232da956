"""How many bytes a request takes in the x64 ``HTTP_REQUEST`` buffer of ``HttpReceiveHttpRequest``.

Responsibility: the byte count HTTP.sys would need to return a request (fixed struct plus everything its
pointers reach), so ``ERROR_INSUFFICIENT_BUFFER`` / ``ERROR_MORE_DATA`` and ``BytesReturned`` come out as on
64-bit Windows. Pure arithmetic on lengths: it must not build structs, look at request objects or do I/O.

The layout (one deterministic choice; Windows documents only that everything lies inside the buffer)::

    HTTP_REQUEST_V2 (864) or HTTP_REQUEST_V1 (848)     fixed part; 8-aligned, so is everything after it
    HTTP_UNKNOWN_HEADER[n]        24 bytes each      8-aligned   (absent when n == 0)
    SOCKADDR remote, local        16 (IPv4) / 28 (IPv6) each, each 8-aligned
    request-info items            request_info_bytes, 8-aligned (absent when 0)
    unknown verb                  len + 1 (NUL)                  (absent when 0)
    raw URL                       len + 1 (NUL)
    cooked full URL (UTF-16)      2-aligned, len + 2 (UTF-16 NUL); host, path and query point into it
    known header values           len + 1 each, for every present known header
    unknown header names, values  name len + 1, value len + 1 each
    entity chunk                  8-aligned HTTP_DATA_CHUNK (32), then the entity bytes (when entity_len > 0)

The total is not padded at the end. Every step is ``offset = align(offset) + size`` with non-negative sizes,
so the result is non-decreasing in every length (and IPv6 >= IPv4).
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

__all__ = [
    "DATA_CHUNK_SIZE",
    "FIXED_V1",
    "FIXED_V2",
    "SOCKADDR_IN6_SIZE",
    "SOCKADDR_IN_SIZE",
    "UNKNOWN_HEADER_SIZE",
    "entity_bytes_offset",
    "request_buffer_size",
    "sockaddr_size",
]

FIXED_V1 = 848  # sizeof(HTTP_REQUEST_V1) on x64
FIXED_V2 = 864  # sizeof(HTTP_REQUEST_V2) on x64
UNKNOWN_HEADER_SIZE = 24  # sizeof(HTTP_UNKNOWN_HEADER)
DATA_CHUNK_SIZE = 32  # sizeof(HTTP_DATA_CHUNK)
SOCKADDR_IN_SIZE = 16  # sizeof(SOCKADDR_IN)
SOCKADDR_IN6_SIZE = 28  # sizeof(SOCKADDR_IN6)

_POINTER_ALIGN = 8


def _align(offset: int, alignment: int) -> int:
    return (offset + alignment - 1) // alignment * alignment


# Lengths are typed `object`, not `int`: compiled (the native build), an `int` parameter would turn True into 1
# before the check below could refuse it.
def _length(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def sockaddr_size(family: int) -> int:
    """Bytes of the SOCKADDR for a ``socket.AF_INET`` / ``socket.AF_INET6`` address; ValueError otherwise."""
    if family == socket.AF_INET:
        return SOCKADDR_IN_SIZE
    if family == socket.AF_INET6:
        return SOCKADDR_IN6_SIZE
    raise ValueError(f"unsupported address family {family!r}")


def entity_bytes_offset(head_bytes: object) -> int:
    """Where the entity bytes start after a request whose size without entity is ``head_bytes``.

    ``request_buffer_size(..., entity_len=n) == entity_bytes_offset(request_buffer_size(..., entity_len=0)) + n``
    for ``n > 0``, so with COPY_BODY a buffer of ``L`` bytes holds ``L - entity_bytes_offset(head)`` body bytes.
    """
    return _align(_length("head_bytes", head_bytes), _POINTER_ALIGN) + DATA_CHUNK_SIZE


def request_buffer_size(
    *,
    v2: bool,
    unknown_verb_len: object,
    raw_url_len: object,
    cooked_full_url_utf16_len: object,
    unknown_headers: Sequence[tuple[object, object]],
    known_header_value_lens: Sequence[object],
    family: int,
    entity_len: object,
    request_info_bytes: object = 0,
) -> int:
    """Bytes ``HttpReceiveHttpRequest`` needs to return this request (layout in the module docstring).

    Lengths are bytes without the terminating NUL: ``unknown_verb_len`` (0 unless HttpVerbUnknown),
    ``raw_url_len``, ``cooked_full_url_utf16_len`` (``FullUrlLength``: bytes of UTF-16, an odd value is rounded
    up), ``unknown_headers`` as ``(name_len, value_len)`` pairs, ``known_header_value_lens`` one per *present*
    known header (0 for a present empty one), ``entity_len`` body bytes copied into the buffer,
    ``request_info_bytes`` the V2 request-info array plus what it points to. ``family`` is ``socket.AF_INET``
    or ``socket.AF_INET6``. Raises ValueError / TypeError for negative or non-int lengths and other families.
    """
    offset = FIXED_V2 if v2 else FIXED_V1

    count = len(unknown_headers)
    if count:
        offset = _align(offset, _POINTER_ALIGN) + UNKNOWN_HEADER_SIZE * count

    address = sockaddr_size(family)
    for _ in ("remote", "local"):
        offset = _align(offset, _POINTER_ALIGN) + address

    info = _length("request_info_bytes", request_info_bytes)
    if info:
        offset = _align(offset, _POINTER_ALIGN) + info

    verb = _length("unknown_verb_len", unknown_verb_len)
    if verb:
        offset += verb + 1
    offset += _length("raw_url_len", raw_url_len) + 1
    cooked = _length("cooked_full_url_utf16_len", cooked_full_url_utf16_len)
    offset = _align(offset, 2) + _align(cooked, 2) + 2

    for value_len in known_header_value_lens:
        offset += _length("known header value length", value_len) + 1
    for name_len, value_len in unknown_headers:
        offset += _length("unknown header name length", name_len) + 1
        offset += _length("unknown header value length", value_len) + 1

    entity = _length("entity_len", entity_len)
    if entity:
        offset = entity_bytes_offset(offset) + entity
    return offset
