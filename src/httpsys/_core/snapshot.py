"""RequestSnapshot: what a receive hands to a face, one request as plain data.

Responsibility: the record's fields, and equality and repr over them. It is built by the driver for every
request, so it is a plain class with an explicit constructor, which the native build compiles to a C constructor
(decision 0009); a dataclass's generated `__init__` would stay interpreted. It must not hold behaviour: a daemon
transport carries these fields over a socket.
"""

from __future__ import annotations

from typing import Any


class RequestSnapshot:
    """What a receive hands to a face: one request, as plain data, in the order the peer sent it."""

    __slots__ = (
        "abs_path",
        "bytes_received",
        "connection_id",
        "content_length",
        "entity",
        "extra",
        "flags",
        "full_url",
        "headers",
        "host",
        "ipv6",
        "local_addr",
        "method",
        "query",
        "raw_connection_id",
        "raw_url",
        "remote_addr",
        "request_id",
        "upgrade",
        "url_context",
        "version",
    )

    def __init__(
        self,
        request_id: int,
        connection_id: int,
        url_context: int,
        flags: int,  # HTTP_REQUEST_FLAG_*
        version: tuple[int, int],
        method: bytes,  # the verb exactly as sent
        raw_url: bytes,
        full_url: str,  # cooked URL parts follow
        host: str,
        abs_path: str,
        query: str,  # '' or starting with '?'
        remote_addr: tuple[str, int],
        local_addr: tuple[str, int],
        ipv6: bool,
        headers: list[tuple[bytes, bytes]],  # names as sent, values trimmed, in arrival order
        bytes_received: int,
        entity: bytes = b"",  # body copied by COPY_BODY / FLUSH_BODY
        content_length: int | None = None,  # the request's Content-Length, when it has one
        upgrade: bool = False,  # the request asks for a protocol upgrade (Upgrade header or CONNECT)
        raw_connection_id: int = 0,
        extra: dict[str, object] | None = None,  # transport-specific facts (none yet)
    ) -> None:
        self.request_id = request_id
        self.connection_id = connection_id
        self.url_context = url_context
        self.flags = flags
        self.version = version
        self.method = method
        self.raw_url = raw_url
        self.full_url = full_url
        self.host = host
        self.abs_path = abs_path
        self.query = query
        self.remote_addr = remote_addr
        self.local_addr = local_addr
        self.ipv6 = ipv6
        self.headers = headers
        self.bytes_received = bytes_received
        self.entity = entity
        self.content_length = content_length
        self.upgrade = upgrade
        self.raw_connection_id = raw_connection_id
        self.extra = extra

    def _fields(self) -> tuple[Any, ...]:
        return (
            self.request_id,
            self.connection_id,
            self.url_context,
            self.flags,
            self.version,
            self.method,
            self.raw_url,
            self.full_url,
            self.host,
            self.abs_path,
            self.query,
            self.remote_addr,
            self.local_addr,
            self.ipv6,
            self.headers,
            self.bytes_received,
            self.entity,
            self.content_length,
            self.upgrade,
            self.raw_connection_id,
            self.extra,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RequestSnapshot):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaces

    def __repr__(self) -> str:
        return (
            f"RequestSnapshot(request_id={self.request_id}, method={self.method!r}, raw_url={self.raw_url!r}, "
            f"full_url={self.full_url!r}, version={self.version!r}, connection_id={self.connection_id})"
        )
