"""The HTTP/2 adapter's connection: one connection of streams, framed by our own state machine.

Responsibility: bytes in and out of one HTTP/2 connection (RFC 9113) — `_core.http2_connection.ServerConnection`
(sans I/O) frames and validates and calls this module for each event; this module turns them into the same `Request` objects the HTTP/1.1 adapter makes (Version
2.0, the pseudo-headers mapped to verb, URL and Host as HTTP.sys maps them), opens an `Http2Stream`
(_engine/http2_stream.py) as each request's channel and hands the request to the driver at once (streams are
concurrent). It holds the connection's settings and limits against the known HTTP/2 attacks (rapid reset,
control-frame floods, stalled readers, stream-id exhaustion), GOAWAY and the close, and the cleartext preface
sniffer, and writes what the state machine queued once per read or loop pass. It must not route,
queue or decide responses (the driver does, through the same callbacks as for HTTP/1.1), nor frame a response
(the stream does).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from httpsys._core.canned import CannedResponse
from httpsys._core.http2_connection import ServerConnection
from httpsys._core.http2_fields import RequestHead
from httpsys._core.http2_frames import error_name
from httpsys._core.timers import TimerKind
from httpsys._engine.http2_stream import (
    CANCEL,
    INTERNAL_ERROR,
    NO_ERROR,
    REFUSED_STREAM,
    Http2Stream,
)
from httpsys._engine.http11 import FileRegion, Http11Connection
from httpsys._engine.request import Request

if TYPE_CHECKING:
    from httpsys._core.response_cache import RememberedRequest
    from httpsys._core.settings import DriverSettings

__all__ = [  # the stream's names stay importable from here, where the rooms have always found them
    "CANCEL",
    "INTERNAL_ERROR",
    "NO_ERROR",
    "REFUSED_STREAM",
    "AnyChannel",
    "AnyConnection",
    "AnyPeer",
    "Http2Connection",
    "Http2Owner",
    "Http2Stream",
    "PrefaceSniffer",
    "connection_for_alpn",
    "header_list_bound",
]

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
ALPN_H2 = "h2"
# SETTINGS_MAX_CONCURRENT_STREAMS HTTP.sys announces: its Http2MaxConcurrentClientStreams registry default (decision 0022)
MAX_CONCURRENT_STREAMS = 100
# RFC 9113 error codes used here
PROTOCOL_ERROR = 0x1
ENHANCE_YOUR_CALM = 0xB
# Attack bounds (decision 0022): per connection, counted over one-second windows.
MAX_RESETS_PER_SECOND = 200  # streams the client opens and resets (CVE-2023-44487)
MAX_CONTROL_PER_SECOND = 1000  # SETTINGS, PING, PRIORITY, WINDOW_UPDATE, empty DATA frames
MAX_UNREAD_OUTPUT = (
    1 << 20
)  # bytes of our own frames the client leaves unread before the connection is dropped
MAX_FRAME_SIZE = 16384  # SETTINGS_MAX_FRAME_SIZE announced: RFC 9113's initial value, the smallest allowed
COMPRESSION_ERROR = 0x9
FRAME_SIZE_ERROR = 0x6
STALL_CHECK = 1.0  # seconds between looks at streams whose response waits on a shut window (slow read)
# a client whose stream ids come this close to 2**31 - 1 is told to reconnect (graceful GOAWAY)
LAST_STREAM_IDS = (1 << 31) - 1 - 2 * MAX_CONCURRENT_STREAMS

_SLICE = 16384  # bytes of one read handed to the state machine at a time
_LINGER_SECONDS = 2.0
_LINGER_BYTES = 1 << 20
_PSEUDO = 0x3A  # ':'


class Http2Owner(Protocol):
    """What an HTTP/2 connection needs from its driver (the Driver): the HTTP/1.1 connection's callbacks, taking
    either kind of connection, and the HTTPERR log."""

    settings: DriverSettings
    loop: asyncio.AbstractEventLoop
    clock: Callable[[], float]
    wall_clock: Callable[[], float]

    def render_canned(self, kind: CannedResponse) -> bytes: ...
    def canned_sent(self, conn: Any, kind: CannedResponse, reason: str | None) -> None: ...
    def timer_fired(self, conn: Any, kind: TimerKind) -> None: ...
    def log_error(self, conn: Any, request: Request | None, status: int, reason: str) -> None: ...
    def connection_made(self, conn: Any) -> bool: ...
    def connection_lost(self, conn: Any) -> None: ...
    def request_lost(self, request: Request) -> None: ...
    def dispatch(self, request: Request) -> None: ...


class Http2Connection(asyncio.Protocol):
    """One HTTP/2 connection owned by the driver: the streams it carries and its protocol state machine."""

    def __init__(self, driver: Http2Owner, port: int, scheme: str, initial: bytes = b"") -> None:
        self.driver = driver
        self.port = port
        self.scheme = scheme
        self.settings: DriverSettings = driver.settings
        self.connection_id = 0
        self.closed = False
        self.reset_by_driver = False
        self.transport: asyncio.Transport | None = None
        self.local_addr: tuple[str, int] = ("", 0)
        self.remote_addr: tuple[str, int] = ("", 0)
        self.ipv6 = False
        self.group: Any = None  # URL group of the last routed stream (ConnectionLimit, per-app timers)
        self.disconnect_waiters: list[Callable[[], None]] = []
        self.remembered: dict[bytes, RememberedRequest] | None = None  # no cache fast path on HTTP/2
        self.streams: dict[int, Http2Stream] = {}
        self.pipeline: deque[Request] = deque()  # always empty: requests live on streams (counters read it)
        self.goaway_sent = False
        self.tls: Any = None  # an https connection's TlsFacts (decision 0021), set when it is counted
        self.tls_file_bytes = 0  # file-chunk bytes read into DATA frames to be encrypted (TLS statistics)
        self.tls_extra: dict[str, object] | None = None  # the same as a request snapshot's `extra`
        settings = self.settings
        # The hard bound on a decoded header list (an HPACK bomb stops there with GOAWAY) sits above MaxRequestBytes
        # so that a head HTTP/1.1 would refuse with a canned answer (414, 400 Request Too Long) gets the same answer
        # on its stream (decision 0022). The connection window covers every stream's window, so one slow reader
        # never stalls the others.
        self.machine = ServerConnection(
            self,
            max_concurrent_streams=MAX_CONCURRENT_STREAMS,
            initial_window=settings.body_buffer,
            connection_window=65535 + MAX_CONCURRENT_STREAMS * settings.body_buffer,
            max_header_list_size=settings.max_request_bytes,
            header_list_bound=header_list_bound(settings),
            max_frame_size=MAX_FRAME_SIZE,
        )
        self._initial = initial
        self._write_paused = False
        self._window_second = 0
        self._idle: asyncio.TimerHandle | None = None
        self._read_at = 0.0  # driver.clock() of the last read (the idle timer is not re-armed on each)
        self._stall: asyncio.TimerHandle | None = None
        self._flush_soon = False  # a flush is scheduled for the end of this loop pass
        self._discarding = False  # after a connection error: input is read and dropped until the close
        self._discarded = 0
        self._direct = (
            0  # file frames written to the socket itself: 0 not yet asked, 1 yes (its fd + 1), -1 never
        )

    # ================================================================ asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        if peer:
            self.remote_addr = (str(peer[0]), int(peer[1]))
        if local:
            self.local_addr = (str(local[0]), int(local[1]))
            self.ipv6 = ":" in self.local_addr[0]
        if not self.driver.connection_made(self):
            return
        self.machine.initiate()
        self._flush()
        self._arm_idle()
        initial = self._initial
        self._initial = b""
        if initial and not self.closed:
            self.data_received(initial)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed:
            return
        self.closed = True
        for handle in (self._idle, self._stall):
            if handle is not None:
                handle.cancel()
        self._idle = self._stall = None
        streams = list(self.streams.values())
        self.streams.clear()
        for stream in streams:
            stream.connection_gone()
        waiters = self.disconnect_waiters
        self.disconnect_waiters = []
        for waiter in waiters:
            waiter()
        self.driver.connection_lost(self)
        self.transport = None

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._pump_all()

    def eof_received(self) -> bool:
        return False  # the client's FIN is its disconnect, as on HTTP/1.1

    def data_received(self, data: bytes) -> None:
        if len(data) <= _SLICE:
            self._received(data)
            return
        # A read of many small frames is handed to the state machine a slice at a time, so a flood is seen (and
        # the connection ended) after at most a slice's worth of frames, not after everything one read brought.
        view = memoryview(data)
        for start in range(0, len(data), _SLICE):
            if self.closed or self._discarding or self.machine.terminated:
                return
            self._received(bytes(view[start : start + _SLICE]))

    def _received(self, data: bytes) -> None:
        if self.closed:
            return
        if self._discarding:
            self._discarded += len(data)
            if self._discarded > _LINGER_BYTES:
                self._close()
            return
        machine = self.machine
        clock = self.driver.clock()
        self._read_at = clock
        now = int(clock)
        if now != self._window_second:
            self._window_second = now
            machine.peer_resets = 0
            machine.control_frames = 0
        machine.receive_data(data)
        if self.closed or self._discarding:
            return
        if machine.terminated:  # the client's GOAWAY
            self._close()
            return
        if machine.peer_resets > MAX_RESETS_PER_SECOND:
            self._fail(ENHANCE_YOUR_CALM, "HTTP2_RapidReset")
            return
        if machine.control_frames > MAX_CONTROL_PER_SECOND:
            self._fail(ENHANCE_YOUR_CALM, "HTTP2_Flood")
            return
        if machine.window_opened:
            machine.window_opened = False
            self._pump_all()
        else:
            self._flush()
        transport = self.transport
        if (
            transport is not None
            and transport.get_write_buffer_size() > MAX_UNREAD_OUTPUT
            and not any(s.pending for s in self.streams.values())
        ):
            self._fail(ENHANCE_YOUR_CALM, "HTTP2_Flood")  # our ACKs pile up: the client does not read
            return
        if self._idle is None:
            self._arm_idle()

    # ================================================================ the state machine's events
    def h2_request(self, stream_id: int, head: RequestHead, end_stream: bool) -> None:
        settings = self.settings
        max_field = settings.max_field_length
        headers = head.fields
        host_value = head.authority or head.host
        if host_value:
            headers.insert(0, (b"host", host_value))  # :authority is the Host HTTP.sys reports
        stream = Http2Stream(self, stream_id)
        request = Request(stream, head.method, head.path, (2, 0), headers)
        stream.request = request
        stream.pipeline.append(request)
        request.host_header = host_value
        size = head.size
        request.head_bytes = request.bytes_received = size
        request.local_addr = self.local_addr
        request.remote_addr = self.remote_addr
        if head.content_length >= 0:
            request.content_length = head.content_length
        if head.expect_continue:
            request.expect_continue = True
        if not end_stream:
            request.body_expected = True
            request.body_complete = False
        self.streams[stream_id] = stream
        too_long: CannedResponse | None = None
        if len(head.path) > max_field:
            too_long = CannedResponse.URL_TOO_LONG
        elif head.longest > max_field:
            too_long = CannedResponse.HEADER_FIELD_TOO_LONG
        elif size > settings.max_request_bytes:
            too_long = CannedResponse.REQUEST_TOO_LONG
        if too_long is not None:
            stream.write_canned(too_long, None)
            return
        if self.goaway_sent:
            stream.refuse()
            return
        self.driver.dispatch(request)
        if stream_id >= LAST_STREAM_IDS:
            self.send_goaway(NO_ERROR)  # stream ids run out: this one is served, the client must reconnect

    def h2_data(self, stream_id: int, data: bytes, end_stream: bool) -> None:
        stream = self.streams.get(stream_id)
        if stream is None:
            if data:
                self.machine.acknowledge(stream_id, len(data))
            return
        if data:
            stream.data(data)
        if end_stream:
            stream.ended()

    def h2_stream_reset(self, stream_id: int, code: int, by_peer: bool) -> None:
        stream = self.streams.pop(stream_id, None)
        if stream is not None:
            stream.reset_by_peer(code)
        if by_peer and self.machine.peer_resets > MAX_RESETS_PER_SECOND and not self.goaway_sent:
            self._fail(
                ENHANCE_YOUR_CALM, "HTTP2_RapidReset"
            )  # at once: the rest of this read is not looked at

    def h2_connection_error(self, code: int) -> None:
        self._fail(code, "HTTP2_" + error_name(code), already_queued=True)

    def h2_goaway(self) -> None:
        pass  # the adapter closes once the state machine returns (machine.terminated)

    # ================================================================ writing
    def _flush(self) -> None:
        """What the state machine wrote goes to the socket: one write for everything since the last flush."""
        transport = self.transport
        machine = self.machine
        if transport is None or not machine.out:
            return
        out = machine.data_to_send()
        if not transport.is_closing():
            transport.write(out)

    def direct_fd(self) -> int:
        """The socket a stream may write its file's DATA frames to itself (Http2Stream._write_mapped), or -1: only a
        cleartext connection, and only while the transport holds nothing (so bytes stay in order). The first time,
        the transport's high-water mark drops to 0, so a write it cannot finish at once pauses the connection
        (pause_writing) and its drain resumes the streams (resume_writing): the socket is then the transport's
        until it is empty again. Under uvloop the same mark makes every write immediate rather than gathered to the
        end of the loop pass, which the connection's own one-flush-per-pass batching makes up for."""
        direct = self._direct
        transport = self.transport
        if direct < 0 or transport is None or self.closed:
            return -1
        if direct == 0:
            sock = transport.get_extra_info("socket")
            if self.scheme != "http" or self.tls is not None or sock is None:
                self._direct = -1
                return -1
            self._direct = direct = sock.fileno() + 1
            transport.set_write_buffer_limits(high=0, low=0)
        self._flush()  # what the state machine queued (HEADERS, WINDOW_UPDATEs) goes first
        if transport.is_closing() or transport.get_write_buffer_size():
            return -1
        return direct - 1

    def write_behind(self, data: bytes) -> None:
        """The rest of a frame a stream's own socket write could not finish: the transport writes it before anything
        else, and (high-water 0) pauses the connection until it has."""
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def flush_soon(self) -> None:
        """A stream wrote frames outside data_received: one flush at the end of this loop pass covers every
        stream that answers in it."""
        if not self._flush_soon:
            self._flush_soon = True
            self.driver.loop.call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self._flush_soon = False
        self._flush()

    def _pump_all(self) -> None:
        for stream in list(self.streams.values()):
            if stream.pending:
                stream.pump()
        self._flush()

    def send_goaway(self, code: int = NO_ERROR) -> None:
        """GOAWAY naming the last stream we took: streams in flight finish, no new stream is accepted, and the
        connection closes when the last one ends."""
        if self.closed or self.goaway_sent:
            return
        self.goaway_sent = True
        self.machine.goaway(code)
        self._flush()
        if not self.streams:
            self._linger()

    def drain(self) -> None:
        """Graceful stop of its site (Driver.drain_server_session): GOAWAY, finish the streams in flight."""
        self.send_goaway(NO_ERROR)

    def stream_closed(self, stream: Http2Stream) -> None:
        if self.streams.get(stream.stream_id) is stream:
            del self.streams[stream.stream_id]
        if self.goaway_sent and not self.streams:
            self._flush()
            self._close()
        else:
            self.flush_soon()

    def _fail(self, code: int, reason: str, already_queued: bool = False) -> None:
        """A connection error: GOAWAY with the RFC 9113 code, an HTTPERR line, close. `already_queued`: the state
        machine found the error and wrote its GOAWAY itself."""
        self.driver.log_error(self, None, 0, reason)
        if not already_queued:
            self.machine.fail(code)
        self.goaway_sent = True
        self.reset_by_driver = True
        self._flush()
        self._linger()

    def _linger(self) -> None:
        """Close after a connection error without losing the GOAWAY: FIN after it, then discard what the client
        still sends for up to 2 s / 1 MiB (closing with unread input would send a reset, which can destroy the
        GOAWAY in the client's buffer), then close."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        self._discarding = True
        if not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        self.driver.loop.call_later(_LINGER_SECONDS, self._close)

    def _close(self) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.close()

    def reset(self) -> None:
        """Abort the whole connection (a timer that applies to the connection, the connection limit)."""
        transport = self.transport
        if transport is None or self.closed:
            return
        self.reset_by_driver = True
        transport.abort()

    def idle_timeout(self) -> int:
        group = self.group
        seconds = group.idle_connection_seconds() if group is not None else 0
        return seconds or self.settings.idle_connection_timeout

    def _arm_idle(self, seconds: float = 0.0) -> None:
        """IdleConnection: the connection closes (GOAWAY) when no stream is open for that long and nothing was read
        meanwhile. One timer runs per connection, armed at the connection's start; a read only notes its time
        (`_read_at`), and the timer, when it fires early for that, waits the rest."""
        if self._idle is not None:
            self._idle.cancel()
        self._idle = self.driver.loop.call_later(seconds or self.idle_timeout(), self._idle_expired)

    def _idle_expired(self) -> None:
        self._idle = None
        if self.closed:
            return
        if self.streams:
            self._arm_idle()
            return
        left = self._read_at + self.idle_timeout() - self.driver.clock()
        if left > 0.001:
            self._arm_idle(left)  # a read came since it was armed: the connection is idle from that read on
            return
        self.driver.timer_fired(self, TimerKind.IDLE_CONNECTION)
        self.send_goaway(NO_ERROR)
        self._close()

    def watch_stall(self) -> None:
        if self._stall is None and not self.closed:
            self._stall = self.driver.loop.call_later(STALL_CHECK, self._check_stall)

    def stall_bound(self, stream: Http2Stream) -> float:
        """How long a response may wait on a shut window: MinSendRate as HTTP/1.1 applies it to a connection
        whose socket does not drain (the bytes waiting, up to 64 KiB, at the URL group's rate; at least 2 s)."""
        group = self.group
        rate = int(group.effective_timeouts().min_send_rate) if group is not None else 150
        if rate == 0xFFFFFFFF:
            return float("inf")
        waiting = sum(seg.count if isinstance(seg, FileRegion) else len(seg) for seg in stream.pending)
        return max(2.0, min(waiting, 1 << 16) / max(rate, 1))

    def _check_stall(self) -> None:
        """A response that cannot move because the client keeps its window shut is reset after its MinSendRate
        bound (HTTPERR Timer_MinBytesPerSecond); the connection and its other streams go on."""
        self._stall = None
        if self.closed:
            return
        now = self.driver.clock()
        waiting = False
        for stream in list(self.streams.values()):
            if stream.pending:
                if now - stream.progress_at > self.stall_bound(stream):
                    self.driver.log_error(stream, stream.request, 0, "Timer_MinBytesPerSecond")
                    stream.reset()
                else:
                    waiting = True
        if waiting:
            self.watch_stall()

    @property
    def write_paused(self) -> bool:
        return self._write_paused


def header_list_bound(settings: DriverSettings) -> int:
    """The largest decoded header list a connection accepts before it ends with GOAWAY (HPACK bomb bound)."""
    return max(2 * settings.max_request_bytes, 65536)


def connection_for_alpn(
    driver: Http2Owner, port: int, scheme: str, protocol: str | None
) -> Http11Connection | Http2Connection:
    """The connection object for a TLS connection whose ALPN selected `protocol` ("h2" or anything else)."""
    if protocol == ALPN_H2:
        return Http2Connection(driver, port, scheme)
    owner: Any = driver
    return Http11Connection(owner, port, scheme)


class PrefaceSniffer(asyncio.Protocol):
    """A cleartext connection on a driver with `http2_cleartext`: its first bytes choose the adapter — the HTTP/2
    client preface (prior knowledge, RFC 9113 §3.3) an Http2Connection, anything else an Http11Connection.
    `Upgrade: h2c` is not honoured (as HTTP.sys). A connection that sends nothing is closed after IdleConnection."""

    def __init__(self, driver: Http2Owner, port: int, scheme: str) -> None:
        self.driver = driver
        self.port = port
        self.scheme = scheme
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.timer = self.driver.loop.call_later(
            self.driver.settings.idle_connection_timeout, transport.close
        )

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data
        n = min(len(buf), len(PREFACE))
        if buf[:n] != PREFACE[:n]:
            owner: Any = self.driver
            self._hand_over(Http11Connection(owner, self.port, self.scheme), buf)
        elif len(buf) >= len(PREFACE):
            self._hand_over(Http2Connection(self.driver, self.port, self.scheme, buf), b"")
        else:
            self.buf = buf

    def _hand_over(self, protocol: Http11Connection | Http2Connection, data: bytes) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        transport = self.transport
        self.buf = b""
        if transport is None:
            return
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if data and not protocol.closed and not transport.is_closing():
            protocol.data_received(data)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.transport = None


AnyChannel = Http11Connection | Http2Stream
AnyConnection = Http11Connection | Http2Connection
AnyPeer = Http11Connection | Http2Connection | Http2Stream
