"""A case-insensitive, multi-valued, read-only view of request headers, and response header normalization.

Responsibility: how Python code reads request headers (str or bytes names, every value kept, arrival order kept)
and how the header arguments of the asyncio face become known and unknown response headers. It must not validate
HTTP syntax: the driver does that.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import overload

from httpsys._core.response import RESPONSE_HEADER_IDS

HeaderInput = Mapping[str, str] | Mapping[bytes, bytes] | Iterable[tuple[str | bytes, str | bytes]]


def _b(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


class Headers(Mapping[str, str]):
    """Request headers: `headers["content-type"]`, `headers.get_all("cookie")`, `headers.raw`.

    Example:
        >>> h = Headers([(b"Host", b"example.com"), (b"Accept", b"a"), (b"accept", b"b")])
        >>> h["ACCEPT"], h.get_all("accept")
        ('a', ['a', 'b'])
        >>> h.raw[0]  # the headers exactly as received, in order
        (b'Host', b'example.com')
    """

    __slots__ = ("_index", "raw")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.raw = raw
        self._index: dict[str, list[str]] | None = None

    def _build(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for name, value in self.raw:
            index.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        self._index = index
        return index

    def __getitem__(self, name: str) -> str:
        index = self._index or self._build()
        return index[name.lower()][0]

    def get_all(self, name: str) -> list[str]:
        """Every value of `name`, in arrival order (empty list if absent).

        Example:
            cookies = request.headers.get_all("cookie")

        Example:
            cookies = request.headers.get_all("cookie")
        """
        index = self._index or self._build()
        return list(index.get(name.lower(), ()))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        index = self._index or self._build()
        return name.lower() in index

    def __iter__(self) -> Iterator[str]:
        index = self._index or self._build()
        return iter(index)

    def __len__(self) -> int:
        index = self._index or self._build()
        return len(index)

    def __repr__(self) -> str:
        return f"Headers({self.raw!r})"


@overload
def split_response_headers(headers: None) -> tuple[dict[int, list[bytes]], list[tuple[bytes, bytes]]]: ...
@overload
def split_response_headers(
    headers: HeaderInput,
) -> tuple[dict[int, list[bytes]], list[tuple[bytes, bytes]]]: ...
def split_response_headers(
    headers: HeaderInput | None,
) -> tuple[dict[int, list[bytes]], list[tuple[bytes, bytes]]]:
    """Known response headers by HTTP_HEADER_ID (several values kept) and unknown ones in order."""
    known: dict[int, list[bytes]] = {}
    unknown: list[tuple[bytes, bytes]] = []
    if not headers:
        return known, unknown
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    ids = RESPONSE_HEADER_IDS
    for name, value in pairs:
        bname = _b(name)
        bvalue = _b(value)
        index = ids.get(bname.lower())
        if index is None:
            unknown.append((bname, bvalue))
        else:
            values = known.get(index)
            if values is None:
                known[index] = [bvalue]
            else:
                values.append(bvalue)
    return known, unknown
