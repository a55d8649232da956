"""The HTTP/1.1 adapter: one TCP connection, parsed with httptools (llhttp), turned into protocol-neutral requests.

Responsibility: the receive side of one connection and its life — parsing heads and bodies, HTTP.sys's extra
strictness and limits, pipelining (parse ahead within a bound, deliver one request at a time), entity-body
backpressure, `100 Continue`, draining, opaque (upgraded) mode, closing after the last response (lingering), and
what each of the connection's timers does when it fires. The adapter is three modules (decision 0033): this one;
`http11_send.py`, the base class `Http11Sender` (the write path: gather writes, sendfile, write modes, Nagle,
MinSendRate, the reset, arming the timer); and `http11_parse_errors.py`, the parser's refusals (the canned answer,
verb recovery, request-line repair). They are the one place the parser is imported. It must not route, queue or
decide responses: it hands each request to the driver and writes what the driver gives it.

The one shortcut (decision 0008): the driver gives each connection its live table of remembered requests (exact
bytes of requests its response cache answered, alone in one read, on this local address). A read that arrives on
an idle connection and is found there - for the URL group this connection is bound to - is answered with the
cached response the table's record gives, without parsing; anything else, or any doubt, takes the normal path.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from httptools.parser.errors import HttpParserError, HttpParserUpgrade

from httpsys._core.canned import CannedResponse, RequestRejected
from httpsys._core.status import Win32Error
from httpsys._core.timers import TimerEntry, TimerKind
from httpsys._engine.http11_parse_errors import (
    CLOSED_PARSER,
    Rejection,
    new_parser,
    parse_failed,
    partial_line_too_long,
    recover_verb,
    reject,
    repair,
)
from httpsys._engine.http11_send import FileRegion as FileRegion
from httpsys._engine.http11_send import Http11Sender
from httpsys._engine.http11_send import Segment as Segment
from httpsys._engine.request import Request

if TYPE_CHECKING:
    from httpsys._core.response_cache import RememberedRequest
    from httpsys._core.settings import DriverSettings


class ConnectionOwner(Protocol):
    """What a connection needs from its driver (the Driver; a stub in the in-process robustness tests)."""

    settings: DriverSettings
    loop: asyncio.AbstractEventLoop
    clock: Callable[[], float]
    wall_clock: Callable[[], float]

    def arm_timer_at(self, deadline: float, kind: TimerKind, owner: Any) -> TimerEntry[Any]: ...
    def render_canned(self, kind: CannedResponse) -> bytes: ...
    def canned_sent(self, conn: Http11Connection, kind: CannedResponse, reason: str | None) -> None: ...
    def timer_fired(self, conn: Http11Connection, kind: TimerKind) -> None: ...
    def connection_made(self, conn: Http11Connection) -> bool: ...
    def connection_lost(self, conn: Http11Connection) -> None: ...
    def request_lost(self, request: Request) -> None: ...
    def dispatch(self, request: Request) -> None: ...


_GONE = int(Win32Error.ERROR_CONNECTION_INVALID)
_BOUNDARY_KEEP = 64 * 1024  # bytes kept to find a message start after an unknown verb
_LINGER_SECONDS = 2.0  # after the last response: how long unread input is discarded before closing
_LINGER_BYTES = 64 * 1024  # ... and how much of it
_H_HOST = b"host"
_H_CL = b"content-length"
_H_TE = b"transfer-encoding"
_H_EXPECT = b"expect"
_H_UPGRADE = b"upgrade"
_HEADER_WAIT = TimerKind.HEADER_WAIT
_ENTITY_BODY = TimerKind.ENTITY_BODY
_IDLE_CONNECTION = TimerKind.IDLE_CONNECTION
# The largest cached answer remembered for the fast path: written into an empty send buffer it can never exceed
# the write high-water mark, so the fast path never leaves a send waiting (decision 0008).
_FAST_ANSWER_MAX = 16 * 1024
_OWS = (0x20, 0x09)


class Http11Connection(Http11Sender):
    """One HTTP/1.x connection owned by the driver (its send side and timer: `Http11Sender`)."""

    def __init__(self, driver: ConnectionOwner, port: int, scheme: str) -> None:
        super().__init__(driver)
        self.port = port
        self.scheme = scheme
        settings = self.settings
        # the limits read per request, copied once (DriverSettings is frozen): a compiled connection reads its
        # own fields directly, the settings record's only by name
        self._max_field = settings.max_field_length
        self._max_request = settings.max_request_bytes
        self._body_buffer = settings.body_buffer
        self._pipeline_depth = settings.pipeline_depth
        self.connection_id = 0
        self.tls_extra: dict[str, object] | None = None  # the same as a request snapshot's `extra`
        self.local_addr: tuple[str, int] = ("", 0)
        self.remote_addr: tuple[str, int] = ("", 0)
        self.ipv6 = False
        self.disconnect_waiters: list[Callable[[], None]] = []
        # the fast path: the driver's live table of requests remembered on our local address and scheme, handed
        # over by Driver.connection_made (see data_received)
        self.remembered: dict[bytes, RememberedRequest] | None = None
        self._idle_read: bytes | None = None  # the read being parsed, while it began on an idle connection
        self._read_messages = 0  # messages begun in that read
        # parsing
        self._parser = new_parser(self)
        self._in_message = False
        self._in_head = False
        self._url_parts: list[bytes] = []
        self._url_len = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_size = 0
        self._line_partial = 0  # bytes of a head or trailer line still incomplete at the end of the last read
        self._began = False  # a message began during the current read
        self._in_trailers = False  # after the last chunk's size line: trailer fields or the final CRLF follow
        self._parsing: Request | Rejection | None = None
        self._verb_override: bytes | None = None
        self._verb_pending: bytes | None = None
        self._start_pending: bytes | None = None  # a message cut inside a whitespace-led line (repair)
        self._refeed_data: bytes | None = None  # bytes to parse again with a fresh parser (_refeed)
        self._linger: asyncio.TimerHandle | None = None  # lingering close (see close_when_flushed)
        self._linger_bytes = 0
        self._parse_stopped = False
        self._since_boundary: list[bytes] | None = []
        self._since_len = 0
        self._completed_since = 0
        self._hold: list[bytes] | None = None  # bytes after an Upgrade request, held until it is answered
        self._upgrade_request: Request | None = None
        # pipeline: requests (and rejections) in arrival order; the first is the current one
        self.pipeline: deque[Request | Rejection] = deque()
        self._dispatched: Request | None = None
        self._draining: Request | None = None
        self._opaque: Request | None = None
        self._close_after = False
        # flow control (reading)
        self._reading_paused = False
        # timers (the timer itself: Http11Sender)
        self._body_timeout = 0
        self._last_body = 0.0

    # ================================================================ asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport is not a subclass
        # Nothing here touches the socket object: asyncio's and uvloop's TCP transports already turn Nagle off
        # (TCP_NODELAY) on every connection they make, and the descriptor is fetched on the first sendfile
        # (`_socket_fd`). Asking a uvloop transport for its socket costs a getsockname call and a socket object,
        # and a setsockopt through it a second, temporary one (decision 0015).
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        if peer:
            self.remote_addr = (str(peer[0]), int(peer[1]))
        if local:
            self.local_addr = (str(local[0]), int(local[1]))
            self.ipv6 = ":" in self.local_addr[0]
        if not self.driver.connection_made(self):
            return
        self._arm(TimerKind.IDLE_CONNECTION, self.settings.idle_connection_timeout)

    def handshake_timeout(self) -> int:
        """HeaderWait for the TLS handshake of an https connection (the driver-wide value)."""
        return self.settings.header_wait_timeout

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed:
            return
        self.closed = True
        self._disarm()
        # let the heap drop the entry (and this connection) now, not at its deadline: cancelled entries leave the
        # heap at its next compaction
        timer: TimerEntry[Http11Sender] | None = self._timer
        if timer is not None:
            timer.cancel()
            self._timer = None
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        if self._dup_fd >= 0:
            try:
                self.driver.loop.remove_writer(self._dup_fd)
            finally:
                os.close(self._dup_fd)
                self._dup_fd = -1
        done = self._send_done
        self._send_done = None
        if self._out:
            self._out.clear()
        if done is not None:
            done(_GONE, 0)
        pipeline = self.pipeline
        if pipeline:  # (a connection closed after its last response has none)
            for item in pipeline:
                if isinstance(item, Request):
                    item.fail_body()
                    self.driver.request_lost(item)
        if self._opaque is not None and self._opaque not in pipeline:
            self._opaque.fail_body()
            self.driver.request_lost(self._opaque)
        if pipeline:
            pipeline.clear()
        waiters = self.disconnect_waiters
        if waiters:
            self.disconnect_waiters = []
            for waiter in waiters:
                waiter()
        self.driver.connection_lost(self)
        self._release()

    def _release(self) -> None:
        """Drop what a closed connection holds: requests that outlive it (an HTTPERR record, an application
        holding a RequestId) reach it through `request.channel`, and must not keep its buffers alive."""
        self.transport = None
        self.remembered = self._idle_read = None
        self._since_boundary = None
        self._hold = None
        self._headers = []
        self._url_parts = []
        self._verb_pending = self._start_pending = self._refeed_data = None
        self._parsing = self._dispatched = self._draining = self._upgrade_request = self._opaque = None
        self._parser = CLOSED_PARSER

    def eof_received(self) -> bool:
        if self._opaque is not None:
            self._opaque.body_end()
            return True  # keep writing: the application may still send
        if self._linger is not None:
            return False  # we sent our FIN after the last response; the client's FIN ends the lingering close
        # A FIN from the client is its disconnect (as HTTP.sys reports it to HttpWaitForDisconnect and ASP.NET
        # to RequestAborted): a full close and a half-close look the same here, and applications rely on
        # learning promptly that the client left (docs/decisions/0002).
        return False

    def data_received(self, data: bytes) -> None:
        memos = self.remembered
        if memos and self._timer_kind is _IDLE_CONNECTION:
            # The fast path (decision 0008): these exact bytes, alone in one read on an idle connection, were a
            # request the driver answered from its response cache, and nothing that decides how they are routed
            # or answered has changed since (the driver forgets the table on every such change). Answer them
            # again as the normal path would - same bytes, fresh Date, the idle timer re-armed - without parsing.
            memo = memos.get(data)
            if (
                memo is not None
                and memo.route is self.group
                and not self.pipeline
                and not self._in_message
                and self._draining is None
                and self._hold is None
                and self._opaque is None
                and not self._parse_stopped
                and self._verb_pending is None
                and self._start_pending is None
                and not self._close_after
                and not self._write_paused
                and self._write_mode <= 0
                and not self._nagle_on
                and not self.closed
            ):
                transport = self.transport
                if transport is not None and not transport.get_write_buffer_size():
                    driver = self.driver
                    now = driver.clock()
                    wire = memo.answer(now, driver.wall_clock())
                    if wire is not None:
                        transport.write(wire)
                        seconds = memo.idle_seconds
                        self._deadline = deadline = now + seconds
                        timer = self._timer
                        if timer is None or timer.deadline > deadline:
                            self._arm(_IDLE_CONNECTION, seconds)
                        return
        if self._opaque is not None:
            self._opaque.body_data(data)
            self._update_reading()
            return
        if self._hold is not None:
            self._hold.append(data)
            return
        if self._parse_stopped:
            if self._linger is not None:
                self._linger_bytes += len(data)
                if self._linger_bytes > _LINGER_BYTES:
                    self._end_linger()
            return
        kind = self._timer_kind  # a local: what _feed does to the attribute must not be narrowed away (mypyc)
        if self._draining is None and not self._in_message and kind is TimerKind.IDLE_CONNECTION:
            idle_until = self._deadline
            self._disarm()
            self._idle_read = data
            self._read_messages = 0
            self._feed(data)
            self._idle_read = None
            if self._timer_kind is None and not self._in_message and not self.pipeline and not self.closed:
                # only empty lines arrived: they start no request, so the idle clock keeps running (a client
                # sending CRLF now and then must not hold the connection forever)
                self._arm(TimerKind.IDLE_CONNECTION, idle_until - self.driver.clock())
            return
        self._feed(data)

    # ================================================================ parsing
    def _feed(self, data: bytes) -> None:
        self._feed_step(data)
        while self._refeed_data is not None:  # a message re-parsed from its start: iterate, never recurse
            data = self._refeed_data
            self._refeed_data = None
            self._feed_step(data)

    def _feed_step(self, data: bytes) -> None:
        if self._verb_pending is not None:
            data = self._verb_pending + data
            self._verb_pending = None
            recover_verb(self, data, 0)
            return
        if self._start_pending is not None:
            buf = self._start_pending + data
            self._start_pending = None
            if not repair(self, buf, 0):
                reject(self, CannedResponse.REQUEST_TOO_LONG, None)
                self._after_feed()
            return
        self._began = False
        try:
            self._parser.feed_data(data)
        except (HttpParserError, HttpParserUpgrade) as exc:
            failure: HttpParserError | HttpParserUpgrade | None = exc
        else:
            failure = None
        if failure is not None:
            # handled outside the except clause: a re-parse raising inside it would get the outer error as the
            # __context__ of its HttpParserCallbackError and lose the RequestRejected that caused it
            parse_failed(self, failure, data)
            return
        # bookkeeping for the rare paths (unknown verbs, heads and trailers split across reads)
        if self._in_message:
            if (self._in_head or self._in_trailers) and partial_line_too_long(self, data):
                reject(self, CannedResponse.HEADER_FIELD_TOO_LONG, None)
            kept = self._since_boundary
            if kept is not None:
                kept.append(data)
                self._since_len += len(data)
                if self._since_len > _BOUNDARY_KEEP:
                    self._since_boundary = None
        else:
            self._since_boundary = []
            self._since_len = 0
            self._completed_since = 0
        self._after_feed()

    def _after_feed(self) -> None:
        if self._dispatched is None and self.pipeline and not self.closed:
            self._advance()
        if self.closed:
            return
        if self._in_head and self._timer_kind is not TimerKind.HEADER_WAIT:
            self._arm(TimerKind.HEADER_WAIT, self._header_wait())
        self._update_reading()

    def _header_wait(self) -> int:
        """HeaderWait: the driver-wide value until a request was routed, then the URL group's (or its session's)
        value when one is set; an unset per-app value falls back to the driver-wide one, not to 120 s."""
        group = self.group
        seconds = group.header_wait_seconds() if group is not None else 0
        return seconds or self.settings.header_wait_timeout

    def idle_timeout(self) -> int:
        """IdleConnection, chosen like HeaderWait."""
        group = self.group
        seconds = group.idle_connection_seconds() if group is not None else 0
        return seconds or self.settings.idle_connection_timeout

    # ----- httptools callbacks -------------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._read_messages += 1
        self._in_message = True
        self._in_head = True
        self._began = True
        self._url_parts = []
        self._url_len = 0
        self._headers = []
        self._head_size = 0
        self._line_partial = 0

    def on_url(self, url: bytes) -> None:
        self._url_parts.append(url)
        self._url_len += len(url)
        if self._url_len > self._max_field:
            raise RequestRejected(CannedResponse.URL_TOO_LONG)

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value) + 4
        if size > self._max_field:
            raise RequestRejected(CannedResponse.HEADER_FIELD_TOO_LONG)
        self._head_size += size
        if self._head_size > self._max_request:
            raise RequestRejected(CannedResponse.REQUEST_TOO_LONG)
        if not self._in_head:
            return  # a trailer field: counted against its own MaxRequestBytes budget, then dropped (never merged)
        if value and value[-1] in _OWS:
            value = value.rstrip(b" \t")  # llhttp drops leading OWS only; HTTP.sys trims both ends (§5.5)
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._timer_kind is _HEADER_WAIT:
            self._disarm()  # the head is in: HTTP.sys has no timer on the application's answer
        parser = self._parser
        method = self._verb_override or parser.get_method()
        self._verb_override = None
        url = self._url_parts[0] if len(self._url_parts) == 1 else b"".join(self._url_parts)
        head_size = self._head_size + len(method) + len(url) + 14
        if head_size > self._max_request:
            raise RequestRejected(CannedResponse.REQUEST_TOO_LONG)
        self._head_size = 0  # from here on: the trailers' budget
        version_text = parser.get_http_version()
        if version_text == "1.1":
            version = (1, 1)
        else:
            major, _, minor = version_text.partition(".")
            version = (int(major or 0), int(minor or 0))
            if version[0] >= 2:
                raise RequestRejected(CannedResponse.VERSION_NOT_SUPPORTED)
            if version[0] < 1:
                raise RequestRejected(CannedResponse.BAD_REQUEST)
        request = Request(self, method, url, version, self._headers)
        host: bytes | None = None
        hosts = 0
        for name, value in self._headers:
            size = len(name)
            if size != 4 and size != 14 and size != 17 and size != 6 and size != 7:
                continue  # not Host, Content-Length, Transfer-Encoding, Expect or Upgrade: no need to fold case
            lname = name.lower()
            if lname == _H_HOST:
                hosts += 1
                host = value
            elif lname == _H_CL:
                request.content_length = int(value)
            elif lname == _H_TE:
                if request.chunked or value.lower() != b"chunked":
                    raise RequestRejected(CannedResponse.NOT_IMPLEMENTED)  # other codings, chunked twice
                request.chunked = True
            elif lname == _H_EXPECT:
                if value.lower() == b"100-continue":
                    request.expect_continue = True
            elif lname == _H_UPGRADE:
                request.upgrade = True
        if hosts > 1 or (version >= (1, 1) and (hosts == 0 or not host)):
            raise RequestRejected(CannedResponse.BAD_REQUEST)
        if request.content_length is None and not request.chunked and method in (b"POST", b"PUT"):
            raise RequestRejected(CannedResponse.LENGTH_REQUIRED)
        request.host_header = host
        request.keep_alive = parser.should_keep_alive() and not self._close_after  # (draining: see drain)
        request.head_bytes = head_size
        request.bytes_received = head_size
        request.local_addr = self.local_addr
        request.remote_addr = self.remote_addr
        if request.chunked:
            request.body_expected = True
            request.body_complete = False
            parser.set_dangerous_leniencies(lenient_optional_cr_before_lf=False)  # chunk framing needs CRLF
            if version < (1, 1):
                request.keep_alive = (
                    False  # HTTP/1.0 with Transfer-Encoding: faulty framing, close (RFC 9112 §6.1)
                )
        elif (request.content_length or 0) > 0:
            request.body_expected = True
            request.body_complete = False
        self._parsing = request
        self.pipeline.append(request)

    def on_chunk_header(self) -> None:
        self._in_trailers = True  # until chunk data arrives: after the last chunk, trailer lines follow
        self._line_partial = 0

    def on_body(self, data: bytes) -> None:
        self._in_trailers = False
        request = self._parsing
        if isinstance(request, Request):
            request.bytes_received += len(data)
            request.body_data(data)
            if self._body_timeout:
                self._last_body = self.driver.clock()

    def on_message_complete(self) -> None:
        request = self._parsing
        self._parsing = None
        self._in_message = False
        self._in_trailers = False
        self._completed_since += 1
        if self._timer_kind is _ENTITY_BODY:
            self._disarm()  # the body is complete: no timer runs against the application's answer
        if isinstance(request, Request):
            if request.chunked:
                self._parser.set_dangerous_leniencies(lenient_optional_cr_before_lf=True)
            request.body_end()
            if request is self._draining:
                self._draining = None
                if not self.closed and self._dispatched is None:
                    self._advance()
            elif request.upgrade or request.method == b"CONNECT":
                self._upgrade_request = request

    # ================================================================ pipeline and delivery
    def _advance(self) -> None:
        """Hand the next pipelined message to the driver, or go idle."""
        while self.pipeline and not self.closed:
            front = self.pipeline[0]
            if isinstance(front, Rejection):
                self.write_canned(front.kind, front.reason)
                return
            self._dispatched = front
            self.driver.dispatch(front)
            return
        if not self.closed:
            if self._hold is not None and self._upgrade_request is None:
                self._release_hold()
                return
            self._arm(TimerKind.IDLE_CONNECTION, self.idle_timeout())

    def _release_hold(self) -> None:
        held = self._hold or []
        self._hold = None
        self._parser = new_parser(self)
        self._since_boundary = []
        self._since_len = 0
        self._completed_since = 0
        self._update_reading()
        for chunk in held:
            if self.closed or self._hold is not None or self._parse_stopped:
                if self._hold is not None:
                    self._hold.append(chunk)
                continue
            self._feed(chunk)
        if not self.closed and not self.pipeline and self._hold is None and not self._in_message:
            self._arm(TimerKind.IDLE_CONNECTION, self.idle_timeout())

    def repeatable_read(self, request: Request, answer_bytes: int) -> bytes | None:
        """The exact bytes of the current read when they are `request` whole and alone, read on an idle
        connection and parsed plainly - so the same bytes in the same state always parse to the same request -
        and its answer of `answer_bytes` is small enough for the fast path; else None. Called by the driver
        while it answers `request` from the response cache (decision 0008)."""
        raw = self._idle_read
        if (
            raw is None
            or answer_bytes > _FAST_ANSWER_MAX
            or self._read_messages != 1
            or len(self.pipeline) != 1
            or self.pipeline[0] is not request
            or self._in_message
            or not request.body_complete
            or self._hold is not None
            or self._parse_stopped
            or self._verb_pending is not None
            or self._start_pending is not None
            or self._close_after
        ):
            return None
        return raw

    def request_finished(self, request: Request, close: bool) -> None:
        """The final send of `request` completed: drain, close, or move on to the next request."""
        if self.pipeline and self.pipeline[0] is request:
            self.pipeline.popleft()
        if self._dispatched is request:
            self._dispatched = None
        if request is self._upgrade_request and not request.opaque:
            self._upgrade_request = None
        if self.closed:
            return
        if close or self._close_after:
            self.close_when_flushed(request)
            return
        if not request.body_complete:
            if request.expect_continue and not request.continue_sent:
                self.close_when_flushed()
                return
            self._draining = request
            request.body_chunks.clear()
            request.body_buffered = 0
            secs = int(request.group.effective_timeouts().drain_entity_body) if request.group else 120
            self._arm(TimerKind.DRAIN_ENTITY_BODY, secs)
            self._update_reading()
            return
        self._advance()
        self._update_reading()

    def close_after_next(self) -> None:
        """The daemon was taken over (decision 0024 §3) before this connection sent its first request: it is not
        idle (its client is about to send), so it is not closed; its first response carries `Connection:
        close` and it closes after it."""
        if self.closed or self._opaque is not None:
            return
        self._close_after = True
        for item in self.pipeline:
            if isinstance(item, Request) and not item.response_started:
                item.keep_alive = False

    def drain(self) -> None:
        """The site this connection serves is stopping gracefully (Driver.drain_server_session): no request after
        those already begun. Idle - no request in progress, or only the unread body of one already answered - it
        closes now (lingering, like any close after a response). Otherwise every request it has parsed and not
        begun answering gets `Connection: close` in its response, as does one whose head is still arriving, and
        the connection closes after the current response. An opaque (upgraded) stream is its application's to
        end."""
        if self.closed or self._opaque is not None:
            return
        self._close_after = True
        pipeline = self.pipeline
        if not pipeline and (not self._in_message or self._draining is not None):
            self.close_when_flushed()
            return
        for item in pipeline:
            if isinstance(item, Request) and not item.response_started:
                item.keep_alive = False

    def enter_opaque(self, request: Request) -> None:
        """After a 101 sent with OPAQUE: every byte both ways is entity body."""
        self._opaque = request
        request.opaque = True
        request.body_complete = False
        request.body_expected = True
        held = self._hold or []
        self._hold = None
        self._parse_stopped = True
        self._disarm()
        for chunk in held:
            if chunk:
                request.body_data(chunk)
        self._update_reading()

    # ================================================================ flow control (reading)
    def body_wanted(self, request: Request) -> None:
        if request.expect_continue and not request.continue_sent and not request.body_complete:
            request.continue_sent = True
            if request.response_started is False and self.transport is not None:
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self._update_reading()

    def body_consumed(self, request: Request) -> None:
        if self._reading_paused:
            self._update_reading()

    def _update_reading(self) -> None:
        transport = self.transport
        if transport is None or self.closed:
            return
        want = True
        opaque = self._opaque
        if opaque is not None:
            want = opaque.body_buffered < self._body_buffer
        elif self._hold is not None or self._parse_stopped:
            want = self._hold is not None and len(self._hold) < 4
        else:
            if len(self.pipeline) > self._pipeline_depth:
                want = False
            parsing = self._parsing
            if isinstance(parsing, Request) and parsing.body_buffered >= self._body_buffer:
                want = (
                    bool(parsing.body_reads)
                    and parsing.body_reads[0].fill
                    and (parsing.body_buffered < parsing.body_reads[0].max_len)
                )
        if want and self._reading_paused:
            self._reading_paused = False
            transport.resume_reading()
        elif not want and not self._reading_paused:
            self._reading_paused = True
            transport.pause_reading()
        parsing = self._parsing
        if isinstance(parsing, Request) and not parsing.body_complete and self._draining is None:
            if want:
                if self._timer_kind is not TimerKind.ENTITY_BODY:
                    secs = (
                        int(parsing.group.effective_timeouts().entity_body)
                        if parsing.group is not None
                        else 120
                    )
                    self._body_timeout = secs
                    self._last_body = self.driver.clock()
                    self._arm(TimerKind.ENTITY_BODY, secs)
            elif self._timer_kind is TimerKind.ENTITY_BODY:
                self._disarm()

    # ================================================================ closing
    def write_canned(self, kind: CannedResponse, reason: str | None) -> None:
        """Send HTTP.sys's own response for this message and close (the HTTPERR line is logged)."""
        transport = self.transport
        self.driver.canned_sent(self, kind, reason)
        if transport is None or self.closed:
            return
        self._set_write_mode(1)
        transport.write(self.driver.render_canned(kind))
        self.close_when_flushed()

    def close_when_flushed(self, last: Request | None = None) -> None:
        """Close after the last response (`last`, when it answered a request), lingering: send FIN once the
        response is flushed, then discard what the client still sends for up to 2 s / 64 KiB before closing
        (closing with unread input would send a reset, which can destroy the response in the client's buffer;
        reliability §4.1) - unless the client itself asked to close and has nothing more to send."""
        transport = self.transport
        self._parse_stopped = True
        if transport is None or transport.is_closing() or self._linger is not None:
            return
        if self._opaque is not None or not transport.can_write_eof():
            transport.close()
            return
        self._disarm()
        if last is not None and self._client_finished(last, transport):
            transport.close()
            return
        transport.write_eof()
        if self._reading_paused:
            self._reading_paused = False
            transport.resume_reading()
        self._linger = self.driver.loop.call_later(_LINGER_SECONDS, self._end_linger, -1)

    def _client_finished(self, last: Request, transport: asyncio.Transport) -> bool:
        """Whether the connection can close at once after answering `last`, without lingering (decision 0015):
        the client asked for the close itself (`Connection: close`, or HTTP/1.0 without keep-alive), which means
        it sends nothing after that request (RFC 9112 §9.6); its request was read to the end and nothing after
        it, not even part of a next message, was received; nothing stops reading (bytes waiting unread in the
        socket would turn the close into a reset); and the whole response is with the kernel, so no last flush
        is left to bound (MinSendRate). Anything else lingers."""
        return (
            not last.keep_alive
            and last.body_complete
            and not (last.chunked and last.version < (1, 1))  # closed for its framing, not at its word
            and not self.pipeline
            and not self._in_message
            and self._hold is None
            and self._verb_pending is None
            and self._start_pending is None
            and not self._close_after
            and not self._reading_paused
            and not transport.get_write_buffer_size()
        )

    def _end_linger(self, pending_before: int = -1) -> None:
        """The lingering time is over (or too much input came): close — unless the last response is still being
        flushed, which then has to progress at MinSendRate or the connection is reset."""
        linger = self._linger
        if linger is not None:
            linger.cancel()
        self._linger = None
        transport = self.transport
        if transport is None or self.closed or transport.is_closing():
            return
        pending = transport.get_write_buffer_size()
        if not pending:
            transport.close()
            return
        group = self.group
        rate = int(group.effective_timeouts().min_send_rate) if group is not None else 150
        if pending_before >= 0 and rate != 0xFFFFFFFF and pending_before - pending < rate * _LINGER_SECONDS:
            self.driver.timer_fired(self, TimerKind.MIN_SEND_RATE)
            self.reset()
            return
        self._linger = self.driver.loop.call_later(_LINGER_SECONDS, self._end_linger, pending)

    # ================================================================ timers
    def timer_expired(self, entry: TimerEntry[Http11Sender]) -> None:
        if entry is not self._timer or self.closed:
            return
        self._timer = None
        kind = self._timer_kind
        if kind is None:
            return
        now = self.driver.clock()
        if now < self._deadline:  # re-armed since this entry was pushed
            self._timer = self.driver.arm_timer_at(self._deadline, kind, self)
            return
        if kind is TimerKind.ENTITY_BODY:
            idle_for = now - self._last_body
            if idle_for < self._body_timeout:
                self._deadline = now + self._body_timeout - idle_for
                self._timer = self.driver.arm_timer_at(self._deadline, kind, self)
                return
        self._timer_kind = None
        self.driver.timer_fired(self, kind)
        self.reset()
