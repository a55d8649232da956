"""The HTTP/1.1 connection's send side: the bytes of responses onto the socket, and the connection's one timer.

Responsibility: `Http11Sender`, the base class of `Http11Connection` (decision 0033) — the transport's write
modes (its high-water marks for ordinary, BUFFER_DATA and flushing sends), gather writes, file byte ranges by
`os.sendfile` (or a bounded piece at a time through a TLS cipher), Nagle on request, the MinSendRate timer while a
send waits, completing each send with its Win32 code, the abortive close (a TCP reset), and arming the one timer
of the connection (HeaderWait, EntityBody, DrainEntityBody, IdleConnection, MinSendRate). It holds the state those
need and that the connection shares (its driver, transport, URL group, TLS facts). It must not parse, deliver or
decide when a connection closes after a response: that is `Http11Connection`'s (`_engine/http11.py`).
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from httpsys._core.status import Win32Error
from httpsys._core.timers import TimerEntry, TimerKind

if TYPE_CHECKING:
    from httpsys._core.settings import DriverSettings
    from httpsys._engine.http11 import ConnectionOwner
    from httpsys._engine.tls import TlsFacts

SendDone = Callable[[int, int], None]

_OK = int(Win32Error.NO_ERROR)
_GONE = int(Win32Error.ERROR_CONNECTION_INVALID)
_LINGER_RESET = struct.pack("ii", 1, 0)
_FLUSH_HIGH = 64 * 1024
_TLS_FILE_PIECE = 64 * 1024  # file bytes read per write on a TLS connection (the bounded buffer)


class FileRegion:
    """A byte range of a file to be written with os.sendfile."""

    __slots__ = ("count", "fd", "offset")

    def __init__(self, fd: int, offset: int, count: int) -> None:
        self.fd = fd
        self.offset = offset
        self.count = count


Segment = bytes | bytearray | memoryview | FileRegion


class Http11Sender(asyncio.Protocol):
    """The send side and the timer of one HTTP/1.x connection (the base of `Http11Connection`)."""

    def __init__(self, driver: ConnectionOwner) -> None:
        self.driver = driver
        self.settings: DriverSettings = driver.settings
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reset_by_driver = False  # the driver aborted this connection itself (timer, 503, cancel ...)
        self.group: Any = None  # URL group of the last routed request (ConnectionLimit, per-app timers)
        self.tls: TlsFacts | None = None  # an https connection's TLS facts, once its handshake completed
        # flow control (writing)
        self._write_paused = False
        self._write_mode = -1  # see _set_write_mode
        self._out: deque[Segment] = deque()
        self._send_done: SendDone | None = None
        self._send_total = 0
        self._sock_fd = -1
        self._dup_fd = -1
        self._nagle_on = False
        self.tls_file_bytes = 0  # file-chunk bytes copied through Python to be encrypted (no kTLS)
        # the connection's one timer
        self._timer: TimerEntry[Http11Sender] | None = None
        self._timer_kind: TimerKind | None = None  # the timer that applies now (None: none)
        self._deadline = 0.0  # when it expires

    # ================================================================ asyncio.Protocol (writing)
    def pause_writing(self) -> None:
        self._write_paused = True
        if self._send_done is not None:
            self._arm_send_rate()

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._out:
            self._pump()
        elif self._send_done is not None:
            self._complete_send()

    # ================================================================ writing
    def _set_write_mode(self, mode: int) -> None:
        """-1 (a new connection): the transport's own limits, a 64 KiB high-water mark in asyncio and uvloop alike,
        kept until a send could reach it, as writing cannot pause below it (setting the limits costs a call per
        connection, which a connection closed after one small response pays for nothing); 0: a send completes
        once at most 64 KiB wait for the end of this loop iteration's flush (uvloop writes small responses in one
        batch per iteration); 1: BUFFER_DATA, up to `send_buffer` may stay queued; 2: flush, complete only when
        nothing is queued (before sendfile takes over the socket)."""
        if mode == self._write_mode or self.transport is None:
            return
        self._write_mode = mode
        if mode == 0:
            self.transport.set_write_buffer_limits(high=_FLUSH_HIGH, low=0)
        elif mode == 1:
            high = self.settings.send_buffer
            self.transport.set_write_buffer_limits(high=high, low=high // 2)
        else:
            self.transport.set_write_buffer_limits(high=0, low=0)

    def send(self, segments: list[Segment], buffered: bool, nagle: bool, done: SendDone) -> None:
        """Write segments in order; `done(code, bytes)` once handed to the socket (or buffered, BUFFER_DATA)."""
        transport = self.transport
        if self.closed or transport is None or transport.is_closing():
            done(_GONE, 0)
            return
        if nagle != self._nagle_on:
            self._set_nagle(nagle)
        total = 0
        plain = True
        for seg in segments:
            if isinstance(seg, FileRegion):
                plain = False
                total += seg.count
            else:
                total += len(seg)
        self._send_total = total
        if buffered:
            self._set_write_mode(1)
        elif self._write_mode != 0 and (
            self._write_mode > 0 or total + transport.get_write_buffer_size() > _FLUSH_HIGH
        ):
            self._set_write_mode(0)  # (a new connection keeps mode -1 while nothing can pause its writing)
        if plain:
            if len(segments) == 1:
                transport.write(segments[0])  # type: ignore[arg-type]
            elif segments:
                transport.writelines(segments)  # type: ignore[arg-type]
            if self._write_paused:
                self._send_done = done
                self._arm_send_rate()
            else:
                done(_OK, total)
            return
        self._send_done = done
        self._out.extend(segments)
        self._pump()

    def _pump(self) -> None:
        out = self._out
        transport = self.transport
        assert transport is not None
        while out:
            seg = out[0]
            if not isinstance(seg, FileRegion):
                out.popleft()
                transport.write(seg)
                if self._write_paused:
                    return
                continue
            if self.tls is not None:
                # TLS in user space: the file's bytes must pass through the cipher, a bounded piece at a time
                # (kTLS would let sendfile do it; decision 0021). Writing pauses at the high-water mark.
                try:
                    piece = os.pread(seg.fd, min(seg.count, _TLS_FILE_PIECE), seg.offset)
                except OSError as exc:
                    self._fail_send(exc)
                    return
                if not piece:
                    self._fail_send(EOFError("file shorter than its byte range"))
                    return
                self.tls_file_bytes += len(piece)
                seg.offset += len(piece)
                seg.count -= len(piece)
                if seg.count == 0:
                    out.popleft()
                transport.write(piece)
                if self._write_paused:
                    return
                continue
            if transport.get_write_buffer_size():
                self._set_write_mode(2)
                if self._write_paused:
                    return
            try:
                sent = os.sendfile(self._socket_fd(), seg.fd, seg.offset, min(seg.count, 1 << 22))
            except BlockingIOError:
                self._wait_writable()
                return
            except OSError as exc:
                self._fail_send(exc)
                return
            if sent == 0:
                self._fail_send(EOFError("file shorter than its byte range"))
                return
            seg.offset += sent
            seg.count -= sent
            if seg.count == 0:
                out.popleft()
            if self._timer_kind is TimerKind.MIN_SEND_RATE:
                self._arm_send_rate()
        if not self._write_paused:
            self._complete_send()

    def _socket_fd(self) -> int:
        """The connection's socket descriptor, fetched from the transport the first time a send needs it."""
        fd = self._sock_fd
        if fd < 0 and self.transport is not None:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                fd = self._sock_fd = sock.fileno()
        return fd

    def _wait_writable(self) -> None:
        if self._dup_fd < 0:
            self._dup_fd = os.dup(self._socket_fd())
        self.driver.loop.add_writer(self._dup_fd, self._on_writable)
        self._arm_send_rate()

    def _on_writable(self) -> None:
        if self._dup_fd >= 0:
            self.driver.loop.remove_writer(self._dup_fd)
        if not self.closed:
            self._pump()

    def _fail_send(self, exc: BaseException) -> None:
        done = self._send_done
        self._send_done = None
        self._out.clear()
        self.reset()
        if done is not None:
            code = (
                Win32Error.ERROR_HANDLE_EOF
                if isinstance(exc, EOFError)
                else Win32Error.ERROR_CONNECTION_INVALID
            )
            done(int(code), 0)

    def _complete_send(self) -> None:
        done = self._send_done
        if done is None:
            return
        self._send_done = None
        if self._timer_kind is TimerKind.MIN_SEND_RATE:
            self._disarm()
        if self._nagle_on:
            self._set_nagle(False)
        done(_OK, self._send_total)

    def _set_nagle(self, on: bool) -> None:
        self._nagle_on = on
        sock = self.transport.get_extra_info("socket") if self.transport else None
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0 if on else 1)
            except OSError:
                pass

    def _arm_send_rate(self) -> None:
        group = self.group
        rate = int(group.effective_timeouts().min_send_rate) if group is not None else 150
        if rate == 0xFFFFFFFF or self.transport is None:
            return
        pending = self.transport.get_write_buffer_size() + sum(
            s.count if isinstance(s, FileRegion) else len(s) for s in self._out
        )
        self._arm(TimerKind.MIN_SEND_RATE, max(2.0, min(pending, 1 << 16) / max(rate, 1)))

    def reset(self) -> None:
        """Abort with a TCP reset (what HTTP.sys does on timer expiry and with 503 verbosity Basic)."""
        transport = self.transport
        if transport is None or self.closed:
            return
        self.reset_by_driver = True
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
            except OSError:
                pass
        transport.abort()

    # ================================================================ timers
    def _arm(self, kind: TimerKind, seconds: float) -> None:
        """Arm the connection's one timer. Lazily: the heap entry already armed is kept when it fires no later
        than the new deadline, and `timer_expired` re-arms it for the real deadline — so a keep-alive request
        costs no heap operation at all in the steady state."""
        deadline = self.driver.clock() + seconds
        self._timer_kind = kind
        self._deadline = deadline
        timer: TimerEntry[Http11Sender] | None = self._timer
        if timer is None or timer.deadline > deadline:
            if timer is not None:
                timer.cancel()
            self._timer = self.driver.arm_timer_at(deadline, kind, self)

    def _disarm(self) -> None:
        self._timer_kind = None  # the heap entry, if any, fires harmlessly later (or is re-used by _arm)
