"""The driver's live request: head, entity-body buffer with backpressure, and response state.

Responsibility: the protocol-neutral events an HTTP adapter feeds (head parsed, body data, end of body, connection
gone) and the operations the driver performs on one request (read body, send, finish). It must not parse bytes or
touch sockets: it talks to its channel (the HTTP/1.1 connection today, an HTTP/2 stream later) through the small
`Channel` protocol below.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from httpsys._core.status import Win32Error

if TYPE_CHECKING:
    from httpsys._core.canonical import CookedUrl
    from httpsys._core.objects import UrlGroup

BodyDone = Callable[[int, bytes], None]

_EOF = int(Win32Error.ERROR_HANDLE_EOF)
_OK = int(Win32Error.NO_ERROR)
_GONE = int(Win32Error.ERROR_CONNECTION_INVALID)
_ABORTED = int(Win32Error.ERROR_OPERATION_ABORTED)


class Channel(Protocol):
    """What a request needs from the connection (or stream) that carries it."""

    connection_id: int
    closed: bool
    tls_extra: dict[str, object] | None  # the TLS facts of the connection (a snapshot's `extra`), None: plain

    def body_wanted(self, request: Request) -> None:
        """The application waits for body bytes: resume reading (and send 100 Continue if due)."""

    def body_consumed(self, request: Request) -> None:
        """Buffered body bytes were taken: reading may resume."""


class BodyRead:
    """A pending HttpReceiveRequestEntityBody (or FLUSH_BODY copy) waiting for bytes."""

    __slots__ = ("done", "fill", "max_len")

    def __init__(self, max_len: int, fill: bool, done: BodyDone) -> None:
        self.max_len = max_len
        self.fill = fill
        self.done = done


class Request:
    """One HTTP request from the moment its head is parsed until its final send completes."""

    __slots__ = (
        "arrived",
        "body_buffered",
        "body_chunks",
        "body_complete",
        "body_expected",
        "body_failed",
        "body_reads",
        "body_taken",
        "bytes_received",
        "channel",
        "chunked",
        "content_length",
        "continue_sent",
        "cooked",
        "delivered",
        "expect_continue",
        "group",
        "handle_id",
        "head_bytes",
        "headers",
        "host_header",
        "host_name",
        "keep_alive",
        "local_addr",
        "method",
        "opaque",
        "queue_deadline",
        "queue_id",
        "raw_url",
        "remote_addr",
        "request_id",
        "response_auto_chunked",
        "response_bytes",
        "response_chunked",
        "response_close",
        "response_done",
        "response_started",
        "response_status",
        "send_pending",
        "upgrade",
        "url_context",
        "version",
    )

    def __init__(
        self,
        channel: Channel,
        method: bytes,
        raw_url: bytes,
        version: tuple[int, int],
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        self.channel = channel
        self.method = method
        self.raw_url = raw_url
        self.version = version
        self.headers = headers
        self.host_header: bytes | None = None
        self.host_name = ""
        self.cooked: CookedUrl | None = None
        self.keep_alive = True
        self.content_length: int | None = None
        self.chunked = False
        self.expect_continue = False
        self.upgrade = False
        self.head_bytes = 0
        self.bytes_received = 0
        self.local_addr: tuple[str, int] = ("", 0)
        self.remote_addr: tuple[str, int] = ("", 0)
        # routing and delivery
        self.request_id = 0
        self.url_context = 0
        self.group: UrlGroup | None = None
        self.queue_id: int | None = None
        self.handle_id: int | None = None
        self.delivered = False
        self.queue_deadline = 0.0  # while waiting in its queue: when the RequestQueue timer expires it
        # entity body
        self.body_expected = False
        self.body_complete = True
        self.body_failed = False
        self.body_chunks: deque[bytes] = deque()
        self.body_buffered = 0
        self.body_reads: deque[BodyRead] = deque()
        self.body_taken = False  # the application has read body bytes (it can no longer be delegated)
        self.continue_sent = False
        # response
        self.response_started = False
        self.response_done = False
        self.response_status = 0
        self.response_close = False
        self.response_chunked = False
        self.response_auto_chunked = False
        self.response_bytes = 0
        self.send_pending = False
        self.opaque = False
        self.arrived = 0.0

    # ----- events from the adapter -------------------------------------------------------------------------
    def body_data(self, data: bytes) -> None:
        """Body bytes arrived (de-chunked); satisfy pending reads first."""
        if self.response_done and not self.opaque:
            return  # being drained after the response: discard
        self.body_chunks.append(data)
        self.body_buffered += len(data)
        if self.body_reads:
            self._serve_reads()

    def body_end(self) -> None:
        self.body_complete = True
        if self.body_reads:
            self._serve_reads()

    def fail_body(self) -> None:
        """The connection is gone: every pending read completes with ERROR_CONNECTION_INVALID."""
        self.body_failed = True
        reads = list(self.body_reads)
        self.body_reads.clear()
        for read in reads:
            read.done(_GONE, b"")

    # ----- operations from the driver ----------------------------------------------------------------------
    def read_body(self, read: BodyRead) -> None:
        """Complete `read` now if possible (also with EOF), else park it until data arrives."""
        if self.body_failed:
            read.done(_GONE, b"")
            return
        if not self.body_reads and self._try_serve(read):
            return
        self.body_reads.append(read)
        self.channel.body_wanted(self)

    def cancel_read(self, target: BodyRead) -> bool:
        for read in self.body_reads:
            if read is target:
                self.body_reads.remove(read)
                read.done(_ABORTED, b"")
                return True
        return False

    def take_available(self, max_len: int) -> bytes:
        """Up to max_len already-buffered body bytes (COPY_BODY), without waiting."""
        if not self.body_buffered or max_len <= 0:
            return b""
        data = self._take(max_len)
        self.channel.body_consumed(self)
        return data

    @property
    def more_body(self) -> bool:
        """MORE_ENTITY_BODY_EXISTS: body bytes remain for the application to read."""
        return self.body_buffered > 0 or not self.body_complete

    def _try_serve(self, read: BodyRead) -> bool:
        if self.body_buffered and (not read.fill or self.body_buffered >= read.max_len or self.body_complete):
            data = self._take(read.max_len)
            self.channel.body_consumed(self)
            read.done(_OK, data)
            return True
        if self.body_complete and not self.body_buffered:
            read.done(_EOF, b"")
            return True
        return False

    def _serve_reads(self) -> None:
        reads = self.body_reads
        while reads and self._try_serve(reads[0]):
            reads.popleft()

    def _take(self, max_len: int) -> bytes:
        self.body_taken = True
        chunks = self.body_chunks
        first = chunks[0]
        if len(first) > max_len:
            chunks[0] = first[max_len:]
            self.body_buffered -= max_len
            return first[:max_len]
        parts = [chunks.popleft()]
        size = len(first)
        while chunks and size + len(chunks[0]) <= max_len:
            part = chunks.popleft()
            parts.append(part)
            size += len(part)
        if chunks and size < max_len:
            rest = max_len - size
            head = chunks[0]
            parts.append(head[:rest])
            chunks[0] = head[rest:]
            size = max_len
        self.body_buffered -= size
        return parts[0] if len(parts) == 1 else b"".join(parts)
