"""Request known headers: the HTTP_HEADER_ID table and the split of a header list into known and unknown.

Responsibility: which request header names HTTP.sys reports by index, and how duplicates of a known header merge
(one comma-separated value). It must not validate or parse header values.
"""

from __future__ import annotations

REQUEST_HEADER_NAMES: tuple[bytes, ...] = (
    b"Cache-Control", b"Connection", b"Date", b"Keep-Alive", b"Pragma", b"Trailer", b"Transfer-Encoding",
    b"Upgrade", b"Via", b"Warning", b"Allow", b"Content-Length", b"Content-Type", b"Content-Encoding",
    b"Content-Language", b"Content-Location", b"Content-MD5", b"Content-Range", b"Expires", b"Last-Modified",
    b"Accept", b"Accept-Charset", b"Accept-Encoding", b"Accept-Language", b"Authorization", b"Cookie",
    b"Expect", b"From", b"Host", b"If-Match", b"If-Modified-Since", b"If-None-Match", b"If-Range",
    b"If-Unmodified-Since", b"Max-Forwards", b"Proxy-Authorization", b"Referer", b"Range", b"TE",
    b"Translate", b"User-Agent",
)  # fmt: skip

REQUEST_HEADER_IDS: dict[bytes, int] = {name.lower(): i for i, name in enumerate(REQUEST_HEADER_NAMES)}
HEADER_REQUEST_MAXIMUM = len(REQUEST_HEADER_NAMES)  # 41

MERGE_SEPARATOR = b", "


def split_request_headers(
    headers: list[tuple[bytes, bytes]],
) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """Known headers by id (duplicates merged with ", " in arrival order) and unknown headers in order."""
    known: dict[int, bytes] = {}
    unknown: list[tuple[bytes, bytes]] = []
    ids = REQUEST_HEADER_IDS
    for name, value in headers:
        index = ids.get(name.lower())
        if index is None:
            unknown.append((name, value))
        elif index in known:
            known[index] = known[index] + MERGE_SEPARATOR + value
        else:
            known[index] = value
    return known, unknown
