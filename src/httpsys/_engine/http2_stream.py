"""The HTTP/2 adapter's stream: the channel of one request on an HTTP/2 connection.

Responsibility: what the engine calls on a request's channel, with stream meaning — the request body in with flow
control that follows the application's reads (each stream's window reopens by what it took), and the response
out: what the send path renders for HTTP/1.1 (a head, chunk framing, trailers) becomes HEADERS, DATA frames
within the flow-control windows (large bodies framed 256 KiB at a time with one read and one write) and a
trailing HEADERS frame, without the connection-specific fields (RFC 9113 §8.2.2); a canned answer, a reset
(RST_STREAM with the application's stream error code) or DISCONNECT concern this stream only. It must not read
the socket, hold the connection's limits or decide responses: its Http2Connection (_engine/http2.py) and the
driver do.
"""

from __future__ import annotations

import errno
import mmap
import os
import struct
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from httpsys._core.canned import CannedResponse
from httpsys._core.http2_fields import encode_fields
from httpsys._core.status import Win32Error
from httpsys._engine.http11 import FileRegion, Segment
from httpsys._engine.request import Request

if TYPE_CHECKING:
    from httpsys._core.response_cache import RememberedRequest
    from httpsys._engine.http2 import Http2Connection

# RFC 9113 error codes used by streams and connections
NO_ERROR = 0x0
INTERNAL_ERROR = 0x2
REFUSED_STREAM = 0x7
CANCEL = 0x8

_OK = int(Win32Error.NO_ERROR)
_GONE = int(Win32Error.ERROR_CONNECTION_INVALID)
_HANDLE_EOF = int(Win32Error.ERROR_HANDLE_EOF)
_READ_PIECE = 1 << 16
# Entity bytes framed and written at once on a stream's fast path (Http2Stream._write_frames): 16 frames of 16 KiB
_BATCH = 1 << 18
# File bytes framed per writev on a cleartext connection (Http2Stream._write_mapped): 64 frames of 16 KiB, 128 iovecs
_DIRECT_BATCH = 1 << 20
# RFC 9113 §4.1 frame header: length (24 bits) and type (8) in one word, flags, stream id
_FRAME_HEADER = struct.Struct(">IBI")

# Files mapped for cleartext DATA frames (Http2Stream._write_mapped), by (device, inode), oldest first: a mapping
# shows the file as it is now (as sendfile would read it); one whose file was deleted keeps its pages until evicted.
_MAPS: dict[tuple[int, int], mmap.mmap] = {}
_MAPS_KEPT = 16
_MAPS_BYTES = 1 << 30
_MAPPED = 0  # bytes of the mappings in _MAPS
_HEADS: dict[bytes, tuple[int, bytes, bool, bool]] = {}  # rendered head -> what _response_head made of it
_HEADS_KEPT = 256
_CONTINUE_BLOCK = encode_fields([(b":status", b"100")])

# RFC 9113 §8.2.2: fields that mean something only to one HTTP/1.1 connection; never sent on a stream
_CONNECTION_SPECIFIC = frozenset(
    (b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade")
)


class _Dechunk:
    """Removes HTTP/1.1 chunk framing the send path added (automatic chunking, an app's chunked response) and
    collects the trailer section, so a stream carries only entity bytes."""

    __slots__ = ("buf", "left", "state", "trailers")

    def __init__(self) -> None:
        self.buf = b""
        self.left = 0  # data bytes left in the current chunk
        self.state = 0  # 0: size line, 1: data, 2: CRLF after data, 3: trailer section, 4: done
        self.trailers: list[tuple[bytes, bytes]] = []

    def feed(self, seg: Segment, out: list[Segment]) -> None:
        if isinstance(seg, FileRegion):
            if self.state == 1 and seg.count <= self.left:
                self.left -= seg.count
                out.append(seg)
                if not self.left:
                    self.state = 2
                return
            seg = _read_region(seg)
        data = self.buf + bytes(seg)
        self.buf = b""
        pos = 0
        while pos < len(data):
            if self.state == 1:
                take = min(self.left, len(data) - pos)
                out.append(data[pos : pos + take])
                pos += take
                self.left -= take
                if not self.left:
                    self.state = 2
                continue
            end = data.find(b"\r\n", pos)
            if end < 0:
                self.buf = data[pos:]
                return
            line = data[pos:end]
            pos = end + 2
            if self.state == 0:
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size:
                    self.left = size
                    self.state = 1
                else:
                    self.state = 3
            elif self.state == 2:
                self.state = 0
            elif self.state == 3:
                if not line:
                    self.state = 4
                    return
                name, _, value = line.partition(b":")
                self.trailers.append((name.strip().lower(), value.strip()))


def _read_region(seg: FileRegion) -> bytes:
    parts: list[bytes] = []
    offset, left = seg.offset, seg.count
    while left > 0:
        piece = os.pread(seg.fd, min(left, 1 << 20), offset)
        if not piece:
            raise EOFError("file shorter than its byte range")
        parts.append(piece)
        offset += len(piece)
        left -= len(piece)
    return b"".join(parts)


def _read_into(fd: int, offset: int, buffers: list[memoryview]) -> bool:
    """Fill `buffers` from the file at `offset` (preadv, again after a short read); False at end of file."""
    while buffers:
        got = os.preadv(fd, buffers, offset)
        if got <= 0:
            return False
        offset += got
        while buffers and got >= len(buffers[0]):
            got -= len(buffers[0])
            buffers = buffers[1:]
        if got:
            buffers = [buffers[0][got:], *buffers[1:]]
    return True


def _mapping_of(seg: FileRegion, st: os.stat_result) -> mmap.mmap | None:
    """The whole file of `seg` (whose fstat is `st`) mapped read-only, from _MAPS when it has it (at least as long
    as the region needs), or None when the region cannot be mapped (a file shorter than its range, an empty or
    special file: the copying path then). Mapping and unmapping a 10 MiB file costs more CPU than framing it (a
    fault per 64 KiB, ~0.3 ms of munmap): a file sent again reuses its mapping."""
    end = seg.offset + seg.count
    if end > st.st_size:
        return None
    key = (st.st_dev, st.st_ino)
    mapping = _MAPS.get(key)
    if mapping is not None and len(mapping) >= end:
        return mapping
    global _MAPPED
    if mapping is not None:
        del _MAPS[key]
        _MAPPED -= len(mapping)
    try:
        mapping = mmap.mmap(seg.fd, st.st_size, access=mmap.ACCESS_READ)
    except (OSError, ValueError, OverflowError):
        return None
    while _MAPS and (len(_MAPS) >= _MAPS_KEPT or _MAPPED + st.st_size > _MAPS_BYTES):
        oldest = next(iter(_MAPS))
        _MAPPED -= len(_MAPS.pop(oldest))  # unmapped once no stream sends from it
    _MAPS[key] = mapping
    _MAPPED += st.st_size
    return mapping


def _parse_head(data: bytes) -> tuple[int, list[tuple[bytes, bytes]], bool, bool]:
    """(status, HTTP/2 header list, chunked, body allowed by status) from an HTTP/1.1 response head the send path
    rendered; connection-specific fields are dropped (RFC 9113 §8.2.2)."""
    lines = data.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers: list[tuple[bytes, bytes]] = [(b":status", b"%d" % status)]
    chunked = False
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(b":")
        lname = name.strip().lower()
        value = value.strip()
        if lname == b"transfer-encoding":
            chunked = chunked or value.lower().endswith(b"chunked")
            continue
        if lname in _CONNECTION_SPECIFIC:
            continue
        headers.append((lname, value))
    return status, headers, chunked, status >= 200 and status != 204 and status != 304


def _response_head(data: bytes) -> tuple[int, bytes, bool, bool]:
    """(status, encoded field block, chunked, body allowed) for a rendered head; the same head (the same response
    within the same second of Date) is parsed and encoded once (the block uses no dynamic table, so it does not
    depend on the connection)."""
    known = _HEADS.get(data)
    if known is not None:
        return known
    status, headers, chunked, allowed = _parse_head(data)
    head = (status, encode_fields(headers), chunked, allowed)
    if len(_HEADS) >= _HEADS_KEPT:
        _HEADS.clear()
    _HEADS[data] = head
    return head


class Http2Stream:
    """One stream: the channel of one request (what `Request.channel` and the send path talk to)."""

    def __init__(self, conn: Http2Connection, stream_id: int) -> None:
        self.conn = conn
        self.stream_id = stream_id
        self.connection_id = conn.connection_id
        self.port = conn.port
        self.scheme = conn.scheme
        self.tls_extra = (
            conn.tls_extra
        )  # the connection's TLS facts (a snapshot's `extra`), None on plaintext
        self.local_addr = conn.local_addr
        self.remote_addr = conn.remote_addr
        self.closed = False
        self.reset_by_driver = False
        self.request: Request | None = None
        self.pipeline: deque[Request] = deque()  # its one request (what counters.canned_sent reads)
        self.remembered: dict[bytes, RememberedRequest] | None = None
        self.pending: deque[Segment] = deque()  # entity bytes waiting for window
        self.progress_at = 0.0
        self.stream_error = 0  # HttpRequestPropertyStreamError set by the application
        self._headers_sent = False
        self._head_buf = b""
        self._body_allowed = True
        self._dechunk: _Dechunk | None = None
        self._end_after = False  # the final send's bytes are in `pending`: END_STREAM after the last
        self._done: Callable[[int, int], None] | None = None
        self._done_bytes = 0
        self._received = 0  # entity bytes received (flow-controlled, without padding)
        self._acked = 0
        self._goaway_after = False
        self.trailers: list[tuple[bytes, bytes]] | None = None  # the final send's trailers (TrailersChunk)
        self._map: mmap.mmap | None = None  # the file region being sent, mapped (cleartext connections)
        self._map_seg: FileRegion | None = None

    # ----- what the engine reads as for a connection ----------------------------------------------------------
    @property
    def group(self) -> Any:
        return self.conn.group

    @group.setter
    def group(self, value: Any) -> None:
        self.conn.group = value

    def idle_timeout(self) -> int:
        return self.conn.idle_timeout()

    def repeatable_read(self, request: Request, answer_bytes: int) -> bytes | None:
        return None  # the cache fast path (decision 0008) is HTTP/1.1 only

    def drain(self) -> None:
        self.conn.drain()

    # ----- request body in ---------------------------------------------------------------------------------------
    def data(self, data: bytes) -> None:
        request = self.request
        if request is None or not data:
            return
        self._received += len(data)
        request.bytes_received += len(data)
        if request.response_done or request.body_failed:
            self._ack(len(data))  # answered already: discard, keep the window open
            return
        request.body_data(data)

    def ended(self) -> None:
        request = self.request
        if request is not None:
            request.body_end()

    def _ack(self, count: int) -> None:
        if count > 0 and not self.closed:
            self._acked += count
            self.conn.machine.acknowledge(self.stream_id, count)
            self.conn.flush_soon()

    def body_wanted(self, request: Request) -> None:
        if request.expect_continue and not request.continue_sent and not request.body_complete:
            request.continue_sent = True
            if not request.response_started and not self.closed:
                self.conn.machine.send_headers(self.stream_id, _CONTINUE_BLOCK, False)
                self.conn.flush_soon()
        self.body_consumed(request)

    def body_consumed(self, request: Request) -> None:
        """The application took body bytes: the window reopens by exactly that much (a slow reader's stays shut)."""
        consumed = self._received - request.body_buffered
        self._ack(consumed - self._acked)

    # ----- response out ----------------------------------------------------------------------------------------
    def send(
        self, segments: list[Segment], buffered: bool, nagle: bool, done: Callable[[int, int], None]
    ) -> None:
        """The HTTP/1.1 channel's send (the cache answers through it): final when the request's response is done."""
        request = self.request
        self.send_flags(segments, 0, bool(request is not None and request.response_done), done)

    def send_flags(
        self, segments: list[Segment], flags: int, final: bool, done: Callable[[int, int], None]
    ) -> None:
        """Frame what the send path rendered: the head (first call) as HEADERS, the entity as DATA within the flow
        control windows, trailers as a trailing HEADERS; END_STREAM with the final send. `done` once every byte
        of this call is with the connection."""
        if self.closed or self.conn.closed:
            done(_GONE, 0)
            return
        if flags & 0x100:  # HTTP_SEND_RESPONSE_FLAG_GOAWAY: the whole connection goes after this stream
            self._goaway_after = True
        total = 0
        body: list[Segment] = []
        head_block: bytes | None = None  # this call's head, sent below (with the body when it can go at once)
        for seg in segments:
            if not self._headers_sent:
                assert not isinstance(seg, FileRegion)
                buf = self._head_buf + bytes(seg)
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    self._head_buf = buf
                    continue
                self._head_buf = b""
                status, block, chunked, allowed = _response_head(buf[:end])
                if status < 200 or status == 101:
                    done(int(Win32Error.ERROR_INVALID_PARAMETER), 0)  # no 1xx final answer on HTTP/2
                    return
                request = self.request
                self._body_allowed = allowed and (request is None or request.method != b"HEAD")
                if chunked:
                    self._dechunk = _Dechunk()
                self._headers_sent = True
                head_block = block
                seg = buf[end + 4 :]
                if not seg:
                    continue
            total += seg.count if isinstance(seg, FileRegion) else len(seg)
            if self._dechunk is not None:
                self._dechunk.feed(seg, body)
            else:
                body.append(seg)
        if final and self._dechunk is None and self.trailers is None and not self.pending and len(body) <= 1:
            # the whole response at once, its body (if any) one frame within both windows: HEADERS (when this call
            # has the head) and the last DATA frame with END_STREAM go straight to the state machine (no queue, no
            # pump, no clock)
            piece = body[0] if body and self._body_allowed else b""
            if not isinstance(piece, FileRegion):
                machine = self.conn.machine
                size = len(piece)
                if size <= machine.peer_max_frame_size and size <= machine.send_window_of(self.stream_id):
                    if head_block is not None:
                        sent = machine.send_response(self.stream_id, head_block, piece)
                    else:
                        sent = machine.send_data(self.stream_id, piece, True)
                    if not sent:  # the stream closed on the wire meanwhile (not after send_window_of's look)
                        self._lose()
                        done(_GONE, 0)
                        return
                    self.conn.flush_soon()
                    done(_OK, total)
                    return
        if head_block is not None:
            self._send_headers(head_block)
            if self.closed:
                done(_GONE, 0)
                return
        if self._body_allowed:
            self.pending.extend(body)
        self._end_after = final
        self._done = done
        self._done_bytes = total
        self.progress_at = self.conn.driver.clock()
        self.pump()
        self.conn.flush_soon()

    def _send_headers(self, block: bytes) -> None:
        self._headers_sent = True
        if not self.conn.machine.send_headers(self.stream_id, block, False):
            self._lose()  # the stream or the connection closed on the wire meanwhile

    def pump(self) -> None:
        """Move pending entity bytes into DATA frames as far as the windows allow; finish the send when done."""
        if self.closed:
            return
        conn = self.conn
        machine = conn.machine
        stream_id = self.stream_id
        pending = self.pending
        while pending:
            window = machine.send_window_of(stream_id)
            if window < 0:  # the stream was closed by the peer meanwhile
                return
            if window == 0:
                conn.watch_stall()
                return
            seg = pending[0]
            frame = machine.peer_max_frame_size
            direct = conn.direct_fd() if isinstance(seg, FileRegion) else -1
            size = seg.count if isinstance(seg, FileRegion) else len(seg)
            batch = min(window, size, _DIRECT_BATCH if direct >= 0 else _BATCH)
            if batch == size and len(pending) == 1 and self._end_after:
                batch -= frame  # the response's last frame goes through the state machine, with END_STREAM
            if conn.write_paused:
                batch = frame  # the socket is behind: one frame per stream and turn, as before batching
            if batch > frame:
                if direct >= 0 and isinstance(seg, FileRegion):
                    written = self._write_mapped(seg, batch, frame, direct)
                    if written < 0:
                        return
                    if written > 0:
                        if conn.write_paused:
                            break
                        continue
                    # not mappable (a file shorter than its range, a special file): read and copied below
                if not self._write_frames(seg, batch, frame):
                    return
                if conn.write_paused:
                    break
                continue
            window = min(window, frame)
            piece: bytes | bytearray | memoryview
            if isinstance(seg, FileRegion):
                count = min(window, seg.count, _READ_PIECE)
                piece = os.pread(seg.fd, count, seg.offset)
                if not piece:
                    self._fail_send(_HANDLE_EOF)
                    return
                if self.tls_extra is not None:  # through the cipher in user space (decision 0021 statistics)
                    conn.tls_file_bytes += len(piece)
                seg.offset += len(piece)
                seg.count -= len(piece)
                if not seg.count:
                    pending.popleft()
            elif len(seg) <= window:
                piece = seg
                pending.popleft()
            else:
                view = memoryview(seg)
                piece = view[:window]
                pending[0] = view[window:]  # no copy of the rest
            last = not pending and self._end_after and self._dechunk_trailers() is None
            machine.send_data(stream_id, piece, last)
            if last:
                self._end_after = False
            self.progress_at = conn.driver.clock()
            if len(machine.out) > _BATCH or conn.write_paused:
                # to the socket now: a paused transport (its buffer past the high-water mark) stops the framing,
                # so a large response never sits framed in memory
                conn._flush()
                if conn.write_paused:
                    break
        if pending:
            return
        if self._end_after:
            self._end_stream()
        done = self._done
        if done is not None:
            self._done = None
            done(_OK, self._done_bytes)

    def _write_frames(self, seg: Segment, count: int, frame: int) -> bool:
        """`count` entity bytes of `seg` (the head of `pending`, within both windows) as DATA frames of at most
        `frame` bytes, without END_STREAM, written with one transport write: the file's bytes are read with one
        preadv straight into the frames' buffer behind their 9-byte headers (one copy). The state machine's
        windows are charged as its send_data would. False: the send ended here (it has been failed)."""
        frames = -(-count // frame)
        buf = bytearray(count + _FRAME_HEADER.size * frames)
        view = memoryview(buf)
        payloads: list[memoryview] = []
        pos = 0
        left = count
        while left:
            size = min(frame, left)
            _FRAME_HEADER.pack_into(buf, pos, size << 8, 0, self.stream_id)  # type 0 (DATA), no flags
            pos += _FRAME_HEADER.size
            payloads.append(view[pos : pos + size])
            pos += size
            left -= size
        pending = self.pending
        if isinstance(seg, FileRegion):
            if not _read_into(seg.fd, seg.offset, payloads):
                self._fail_send(_HANDLE_EOF)
                return False
            if self.tls_extra is not None:  # through the cipher in user space (decision 0021 statistics)
                self.conn.tls_file_bytes += count
            seg.offset += count
            seg.count -= count
            if not seg.count:
                pending.popleft()
        else:
            source = memoryview(seg)
            at = 0
            for payload in payloads:
                payload[:] = source[at : at + len(payload)]
                at += len(payload)
            if count == len(source):
                pending.popleft()
            else:
                pending[0] = source[count:]
        del payloads, view
        self.conn.machine.charge(self.stream_id, count)
        self.progress_at = self.conn.driver.clock()
        self.conn._flush()  # what the state machine queued before (the HEADERS, WINDOW_UPDATEs) goes first
        transport = self.conn.transport
        if transport is not None and not transport.is_closing():
            transport.write(buf)
        return True

    def _write_mapped(self, seg: FileRegion, count: int, frame: int, fd: int) -> int:
        """`count` file bytes of `seg` (the head of `pending`, within both windows) as DATA frames of at most `frame`
        bytes without END_STREAM, written by one writev straight to the socket of a cleartext connection: each
        frame's payload is a memoryview of the file's mapped pages (the kernel copies them once, into the socket;
        nothing is read into a buffer of ours). A frame the socket takes only in part, or not at all, goes through
        the transport (its rest read with pread, at most one frame), which then holds the socket and pauses the
        connection's writing until it drains (Http2Connection.direct_fd). The file's pages are never touched in
        user space, so a truncated file cannot fault the process: its size is looked at before each writev (a
        shorter file goes to the copying path, which fails the send at its end, the connection going on); a
        truncation racing the writev itself fails the send with EFAULT, or resets the connection if a frame was
        left half written.
        Returns the bytes written (> 0), 0 when the region cannot be mapped (the copying path then), -1 when
        the send ended here (it has been failed)."""
        conn = self.conn
        try:
            st = os.fstat(seg.fd)
        except OSError:
            return 0
        if seg.offset + count > st.st_size:
            return 0  # the file is shorter now: the copying path reads up to its end and fails the send there
        mapping = self._map
        if mapping is None or self._map_seg is not seg:
            self._unmap()
            mapping = _mapping_of(seg, st)
            if mapping is None:
                return 0
            self._map = mapping
            self._map_seg = seg
        stream_id = self.stream_id
        full = _FRAME_HEADER.pack(frame << 8, 0, stream_id)  # type 0 (DATA), no flags
        data = memoryview(mapping)
        at = seg.offset
        iov: list[bytes | memoryview] = []
        left = count
        while left:
            size = min(frame, left)
            iov.append(full if size == frame else _FRAME_HEADER.pack(size << 8, 0, stream_id))
            iov.append(data[at : at + size])
            at += size
            left -= size
        try:
            n = os.writev(fd, iov)
        except BlockingIOError:
            n = 0
        except OSError as exc:
            del iov, data
            self._fail_send(_HANDLE_EOF if exc.errno == errno.EFAULT else _GONE)
            return -1
        frames = len(iov) // 2
        if n == count + frames * _FRAME_HEADER.size:  # the socket took it all (the usual case): no walk
            n = 0
            sent = count
            i = len(iov)
        else:
            sent = 0
            i = 0
        while i < len(iov):
            whole = len(iov[i]) + len(iov[i + 1])
            if n < whole:
                break
            n -= whole
            sent += whole - _FRAME_HEADER.size
            i += 2
        rest = b""
        if i < len(iov):
            # this frame's rest (all of it if the socket took none) goes first through the transport
            head = bytes(iov[i])
            size = len(iov[i + 1])
            skip = max(0, n - len(head))
            try:
                payload = os.pread(seg.fd, size - skip, seg.offset + sent + skip)
            except OSError:
                payload = b""
            if len(payload) != size - skip:
                del iov, data
                if n:
                    conn.reset()  # part of a frame is on the wire: the connection's framing is lost
                self._fail_send(_HANDLE_EOF)
                return -1
            rest = head[n:] + payload
            sent += size
        del iov, data
        conn.machine.charge(stream_id, sent)
        seg.offset += sent
        seg.count -= sent
        if not seg.count:
            self.pending.popleft()
            self._unmap()
        self.progress_at = conn.driver.clock()
        if rest:
            conn.write_behind(rest)
        return sent

    def _unmap(self) -> None:
        """The stream lets go of its mapping (unmapped when _MAPS has let go of it too)."""
        self._map = None
        self._map_seg = None

    def _dechunk_trailers(self) -> list[tuple[bytes, bytes]] | None:
        if self.trailers:
            return self.trailers
        dechunk = self._dechunk
        if dechunk is None or not dechunk.trailers:
            return None
        return dechunk.trailers

    def _end_stream(self) -> None:
        """END_STREAM: with the last DATA frame already, or an empty DATA frame, or the trailing HEADERS."""
        machine = self.conn.machine
        self._end_after = False
        trailers = self._dechunk_trailers()
        if not machine.is_open(self.stream_id):
            return  # already ended or closed on the wire
        if trailers is not None:
            machine.send_headers(self.stream_id, encode_fields(trailers), True)
        else:
            machine.send_data(self.stream_id, b"", True)

    def _fail_send(self, code: int) -> None:
        done = self._done
        self._done = None
        self.pending.clear()
        self._unmap()
        self.reset(INTERNAL_ERROR)
        if done is not None:
            done(code, 0)

    def request_finished(self, request: Request, close: bool) -> None:
        """The final send completed: the stream is ended (DISCONNECT ends only this stream, as in HTTP.sys);
        GOAWAY with it sends GOAWAY; a body the application left unread is refused with RST_STREAM NO_ERROR."""
        if not request.body_complete and not self.closed:
            self._rst(NO_ERROR)  # RFC 9113 §8.1: the response is complete, stop sending the body
        self._close_stream()
        if self._goaway_after:
            self.conn.send_goaway(NO_ERROR)

    def enter_opaque(self, request: Request) -> None:
        raise AssertionError("OPAQUE is refused on HTTP/2 streams before any send")

    def write_canned(self, kind: CannedResponse, reason: str | None) -> None:
        """HTTP.sys's own answer on this stream only (the connection stays)."""
        driver = self.conn.driver
        driver.canned_sent(self, kind, reason)
        if self.closed:
            return
        request = self.request
        if request is not None:
            request.response_started = request.response_done = True
            request.response_status = kind.status

        def sent(code: int, nbytes: int) -> None:
            if request is not None and code == _OK:
                self.request_finished(request, False)

        self.send_flags([driver.render_canned(kind)], 0, True, sent)

    def refuse(self) -> None:
        """A stream opened after our GOAWAY: REFUSED_STREAM (the client may retry it elsewhere)."""
        self._rst(REFUSED_STREAM)
        self._close_stream()

    def reset(self, code: int = INTERNAL_ERROR) -> None:
        """Reset only this stream (RST_STREAM): what a connection reset is on HTTP/1.1 — timers, 503 Basic,
        HttpCancelHttpRequest, a cancelled send; with the application's stream error code when it set one."""
        if self.closed:
            return
        self.reset_by_driver = True
        self._rst(self.stream_error or code)
        self._lose()

    def _rst(self, code: int) -> None:
        self.conn.machine.reset_stream(self.stream_id, code)
        self.conn.flush_soon()

    def reset_by_peer(self, code: int) -> None:
        self._lose()

    def connection_gone(self) -> None:
        self._lose()

    def _lose(self) -> None:
        """The stream ended before its response did: pending reads and sends fail, the driver forgets it."""
        if self.closed:
            return
        self.closed = True
        self.pending.clear()
        done = self._done
        self._done = None
        request = self.request
        if done is not None:
            done(_GONE, 0)
        if request is not None:
            request.fail_body()
            if not request.response_done or request.send_pending:
                self.conn.driver.request_lost(request)
        self.conn.stream_closed(self)
        self._release()

    def _close_stream(self) -> None:
        if not self.closed:
            self.closed = True
            self.pending.clear()
            self.conn.stream_closed(self)
            self._release()

    def _release(self) -> None:
        """A closed stream lets go of its request: the request still names its channel, but no cycle is left, so
        both are freed by reference counting instead of piling up for the cyclic garbage collector."""
        self.request = None
        self.pipeline.clear()
        self._unmap()
