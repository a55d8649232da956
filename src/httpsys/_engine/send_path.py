"""The send path: HttpSendHttpResponse and HttpSendResponseEntityBody, from data chunks to the connection.

Responsibility: check that a send is allowed (its request, handle, flags, one send at a time), resolve data
chunks (memory, file, fragment, trailers) to wire segments, apply ranges (PROCESS_RANGES) and automatic
chunking, plan and render the response head, hand the segments to the connection, and finish the request when
its final send completes (or reset the connection when a pending send is cancelled). It must not parse or route
requests, nor decide what the response cache keeps (it hands a cacheable final response to the caches room)
(decision 0010).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from httpsys._core.ranges import (
    Satisfiable,
    Unsatisfiable,
    evaluate_range,
    plan_ranged_body,
    ranged_response,
    unsatisfiable_response,
)
from httpsys._core.records import (
    BYTE_RANGE_TO_EOF,
    CachePolicy,
    DataChunk,
    FileChunk,
    FragmentChunk,
    MemoryChunk,
    TrailersChunk,
)
from httpsys._core.response import (
    CHUNK_END,
    HTTP_SEND_RESPONSE_FLAG_AUTOMATIC_CHUNKING,
    HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA,
    HTTP_SEND_RESPONSE_FLAG_DISCONNECT,
    HTTP_SEND_RESPONSE_FLAG_ENABLE_NAGLING,
    HTTP_SEND_RESPONSE_FLAG_MORE_DATA,
    HTTP_SEND_RESPONSE_FLAG_OPAQUE,
    HTTP_SEND_RESPONSE_FLAG_PROCESS_RANGES,
    LAST_CHUNK,
    RESPONSE_HEADER_IDS,
    ResponseSpec,
    chunk_frame,
    plan_and_render,
    render_trailers,
    validate_response,
    validate_send_flags,
)
from httpsys._core.status import Win32Error
from httpsys._engine.http2 import AnyChannel
from httpsys._engine.http11 import FileRegion, Http11Connection, Segment
from httpsys._engine.registry import PendingOp, op_done
from httpsys._engine.request import Request

if TYPE_CHECKING:
    from httpsys._engine.driver import Driver

E = Win32Error
OK = int(E.NO_ERROR)

FLAG_DISCONNECT = HTTP_SEND_RESPONSE_FLAG_DISCONNECT
FLAG_MORE_DATA = HTTP_SEND_RESPONSE_FLAG_MORE_DATA
FLAG_BUFFER_DATA = HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA
FLAG_ENABLE_NAGLING = HTTP_SEND_RESPONSE_FLAG_ENABLE_NAGLING
FLAG_PROCESS_RANGES = HTTP_SEND_RESPONSE_FLAG_PROCESS_RANGES
FLAG_OPAQUE = HTTP_SEND_RESPONSE_FLAG_OPAQUE
FLAG_AUTOMATIC_CHUNKING = HTTP_SEND_RESPONSE_FLAG_AUTOMATIC_CHUNKING

_CT_ID = RESPONSE_HEADER_IDS[b"content-type"]
_ETAG_ID = RESPONSE_HEADER_IDS[b"etag"]
_LM_ID = RESPONSE_HEADER_IDS[b"last-modified"]
_TE_ID = RESPONSE_HEADER_IDS[b"transfer-encoding"]
_CL_ID = RESPONSE_HEADER_IDS[b"content-length"]


class SendPath:
    """The sends of one driver."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver

    def _sendable(
        self, handle_id: int, request_id: int, flags: int, status: int | None
    ) -> tuple[int, Request | None]:
        """The checks every send makes; `status` is the new response's for HttpSendHttpResponse, None for
        HttpSendResponseEntityBody (which needs a started response and checks flags against its status)."""
        driver = self.driver
        request = driver.delivery.requests.get(request_id)
        handle = driver.registry.handles.get(handle_id)
        if request is None or request.handle_id != handle_id or handle is None or handle.closed:
            code, request = driver.delivery.live_request(handle_id, request_id)  # the precise error
            if request is None:
                return code, None
        if request.send_pending:
            return int(E.ERROR_BAD_COMMAND), None  # the remarks: one send at a time per RequestId
        first = status is not None
        if request.response_started == first:  # a second response, or a body before any response
            return int(E.ERROR_INVALID_PARAMETER), None
        if flags == 0 and type(flags) is int:
            return OK, request
        code = validate_send_flags(status if status is not None else request.response_status, flags)
        if flags & FLAG_OPAQUE and not request.opaque:
            flags |= FLAG_MORE_DATA  # the call that makes the connection opaque never ends the response
            if request.version[0] == 2:
                code = int(
                    E.ERROR_INVALID_PARAMETER
                )  # no opaque stream on HTTP/2 (RFC 9113 §8.6; decision 0022)
        if code == OK and flags & FLAG_DISCONNECT and flags & FLAG_MORE_DATA:
            code = int(E.ERROR_INVALID_PARAMETER)  # "undefined results": refused (docs/decisions/0002)
        return code, (request if code == OK else None)

    def _resolve_chunks(
        self, chunks: list[DataChunk]
    ) -> tuple[int, list[Segment], int, tuple[tuple[bytes, bytes], ...] | None]:
        """Data chunks to wire segments: (code, segments, entity length, trailers)."""
        if len(chunks) == 1:
            chunk = chunks[0]
            if type(chunk) is MemoryChunk:
                data = chunk.data
                if type(data) is not bytes:
                    data = bytes(data)
                return OK, ([data] if data else []), len(data), None
        segments: list[Segment] = []
        total = 0
        trailers: tuple[tuple[bytes, bytes], ...] | None = None
        for i, chunk in enumerate(chunks):
            if isinstance(chunk, MemoryChunk):
                data = chunk.data
                if len(data):
                    segments.append(data if isinstance(data, bytes) else bytes(data))
                    total += len(data)
            elif isinstance(chunk, FileChunk):
                try:
                    size = os.fstat(chunk.fd).st_size
                except (OSError, TypeError, ValueError):
                    return int(E.ERROR_INVALID_HANDLE), [], 0, None
                start = chunk.offset
                count = size - start if chunk.length == BYTE_RANGE_TO_EOF else chunk.length
                if start < 0 or count < 0 or start + count > size:
                    return int(E.ERROR_INVALID_PARAMETER), [], 0, None
                if count:
                    segments.append(FileRegion(chunk.fd, start, count))
                    total += count
            elif isinstance(chunk, FragmentChunk):
                fragment = self.driver.caches.fragments.get(chunk.name, self.driver.clock())
                if fragment is None:
                    return int(E.ERROR_PATH_NOT_FOUND), [], 0, None
                if chunk.offset or chunk.length != BYTE_RANGE_TO_EOF:
                    end = len(fragment) if chunk.length == BYTE_RANGE_TO_EOF else chunk.offset + chunk.length
                    if chunk.offset > len(fragment) or end > len(fragment):
                        return int(E.ERROR_INVALID_PARAMETER), [], 0, None
                    fragment = fragment[chunk.offset : end]
                if fragment:
                    segments.append(fragment)
                    total += len(fragment)
            elif isinstance(chunk, TrailersChunk):
                if i != len(chunks) - 1:
                    return int(E.ERROR_INVALID_PARAMETER), [], 0, None
                trailers = chunk.trailers
            else:
                return int(E.ERROR_INVALID_PARAMETER), [], 0, None
        return OK, segments, total, trailers

    def send_response(
        self,
        handle_id: int,
        request_id: int,
        flags: int,
        spec: ResponseSpec,
        chunks: list[DataChunk],
        cache_policy: CachePolicy | None,
        log_data: object | None,
        done: Callable[[int, int], None],
        token: int = 0,
    ) -> None:
        """HttpSendHttpResponse."""
        code, request = self._sendable(handle_id, request_id, flags, spec.status)
        if request is not None:
            code = validate_response(spec)
        if request is None or code != OK:
            done(code, 0)
            return
        code, segments, entity_length, trailers = self._resolve_chunks(chunks)
        if code != OK:
            done(code, 0)
            return
        opaque = bool(flags & FLAG_OPAQUE)
        if opaque:
            flags |= FLAG_MORE_DATA  # an opaque stream continues after the 101 (docs/decisions)
        final = not flags & FLAG_MORE_DATA
        if trailers is not None and not final:
            done(int(E.ERROR_INVALID_PARAMETER), 0)  # trailers belong to the final send
            return
        if flags & FLAG_PROCESS_RANGES and final and request.method == b"GET" and spec.status == 200:
            spec, segments, entity_length = self._apply_ranges(request, spec, segments, entity_length)
        auto_chunk = (
            bool(flags & FLAG_AUTOMATIC_CHUNKING)
            and not final
            and request.version >= (1, 1)
            and spec.status >= 200
            and spec.status not in (204, 304)
            and request.method != b"HEAD"
            and not _declares_length(spec)
        )
        if auto_chunk:
            spec = ResponseSpec(
                spec.status, spec.reason, {**spec.known, _TE_ID: [b"chunked"]}, spec.unknown, spec.flags
            )
            segments = _frame_chunks(segments, entity_length)
        # A body the client was told to hold back (Expect: 100-continue, never read) cannot be drained: the
        # connection closes after this response, and the head says so.
        unread_expect = (
            final and request.expect_continue and not request.continue_sent and not request.body_complete
        )
        head, close, chunked = plan_and_render(
            spec,
            request_method=request.method,
            request_version=request.version,
            request_keep_alive=request.keep_alive and not unread_expect,
            flags=flags,
            final=final,
            entity_length=entity_length if final else None,
            date=self.driver.date(),
            server_mode=self.driver.settings.disable_server_header,
        )
        if trailers is not None and request.version[0] == 2:
            _stream_trailers(request, trailers)  # a trailing HEADERS frame, whatever the framing
        elif trailers is not None and final and chunked:
            segments.append(render_trailers(list(trailers)))
        request.response_started = True
        request.response_status = spec.status
        request.response_close = close
        if cache_policy is not None and final:
            self.driver.caches.store(request, spec, segments, entity_length, cache_policy)
        request.response_chunked = chunked
        request.response_auto_chunked = auto_chunk
        if (
            segments
            and not isinstance(segments[0], FileRegion)
            and len(segments) == 1
            and len(segments[0]) < 65536
        ):
            out: list[Segment] = [head + bytes(segments[0])]
        else:
            out = [head, *segments]
        self._send(request, out, flags, final, opaque, done, log_data, token)

    def _apply_ranges(
        self, request: Request, spec: ResponseSpec, segments: list[Segment], length: int
    ) -> tuple[ResponseSpec, list[Segment], int]:
        range_header = if_range = None
        for name, value in request.headers:
            lname = name.lower()
            if lname == b"range":
                range_header = value
            elif lname == b"if-range":
                if_range = value
        if range_header is None:
            return spec, segments, length
        etag = spec.known.get(_ETAG_ID, [None])[0]
        last_modified = spec.known.get(_LM_ID, [None])[0]
        decision = evaluate_range(
            range_header,
            if_range,
            method=request.method,
            status=spec.status,
            entity_length=length,
            etag=etag,
            last_modified=last_modified,
        )
        if isinstance(decision, Unsatisfiable):
            return unsatisfiable_response(spec, length), [], 0
        if not isinstance(decision, Satisfiable):
            return spec, segments, length
        content_type = spec.known.get(_CT_ID, [None])[0]
        boundary = b"%016x" % random.getrandbits(64)
        body = plan_ranged_body(decision, entity_length=length, content_type=content_type, boundary=boundary)
        out: list[Segment] = []
        for prefix, start, end in body.parts:
            if prefix:
                out.append(prefix)
            out.extend(_slice_segments(segments, start, end))
        if body.epilogue:
            out.append(body.epilogue)
        return ranged_response(spec, body), out, body.content_length

    def send_body(
        self,
        handle_id: int,
        request_id: int,
        flags: int,
        chunks: list[DataChunk],
        log_data: object | None,
        done: Callable[[int, int], None],
        token: int = 0,
    ) -> None:
        """HttpSendResponseEntityBody."""
        code, request = self._sendable(handle_id, request_id, flags, None)
        if request is None:
            done(code, 0)
            return
        code, segments, entity_length, trailers = self._resolve_chunks(chunks)
        if code != OK:
            done(code, 0)
            return
        opaque = bool(flags & FLAG_OPAQUE) and not request.opaque
        if opaque:
            flags |= FLAG_MORE_DATA  # a 101 sent without OPAQUE, made opaque by this call
        final = not flags & FLAG_MORE_DATA
        if trailers is not None and not final:
            done(int(E.ERROR_INVALID_PARAMETER), 0)  # trailers belong to the final send
            return
        if trailers is not None and request.version[0] == 2:
            _stream_trailers(request, trailers)  # a trailing HEADERS frame, whatever the framing
            trailers = None
        if request.response_auto_chunked:
            segments = _frame_chunks(segments, entity_length)
            if final:
                segments.append(render_trailers(list(trailers)) if trailers else LAST_CHUNK)
        elif trailers is not None and final and request.response_chunked:
            segments.append(render_trailers(list(trailers)))
        if final and flags & FLAG_DISCONNECT:
            request.response_close = True
        if request.opaque and final:
            request.response_close = True
        self._send(request, segments, flags, final, opaque, done, log_data, token)

    def _send(
        self,
        request: Request,
        segments: list[Segment],
        flags: int,
        final: bool,
        opaque: bool,
        done: Callable[[int, int], None],
        log_data: object | None = None,
        token: int = 0,
    ) -> None:
        conn: AnyChannel = request.channel  # type: ignore[assignment]
        request.send_pending = True
        if final:
            request.response_done = True  # the request id dies with the final send
        pending: list[PendingOp] = []

        def sent(code: int, nbytes: int) -> None:
            if not request.send_pending:
                return  # already completed by a cancellation
            if pending:
                op_done(pending.pop())
            request.send_pending = False
            request.response_bytes += nbytes
            if code == OK and opaque:
                conn.enter_opaque(request)
            if final:
                if log_data is not None and self.driver.counters.logs is not None:
                    self.driver.counters.log_response(request, log_data)
                self._finish(request, code == OK)
            done(code, nbytes)

        if isinstance(conn, Http11Connection):
            conn.send(segments, bool(flags & FLAG_BUFFER_DATA), bool(flags & FLAG_ENABLE_NAGLING), sent)
        else:
            conn.send_flags(segments, flags, final, sent)  # an HTTP/2 stream frames it (decision 0022)
        if request.send_pending and token:
            handle = self.driver.registry.handles.get(request.handle_id or 0)
            if handle is not None:

                def cancel() -> None:
                    # CancelIoEx on a pending send: the response cannot be completed, so the connection goes.
                    if request.send_pending:
                        request.send_pending = False
                        self.driver.delivery.requests.pop(request.request_id, None)
                        handle.requests.discard(request.request_id)
                        conn.reset()
                        done(int(E.ERROR_OPERATION_ABORTED), 0)

                pending.append(self.driver.registry.register_op(handle, token, cancel))

    def _finish(self, request: Request, ok: bool) -> None:
        driver = self.driver
        driver.delivery.requests.pop(request.request_id, None)
        handle = driver.registry.handles.get(request.handle_id or 0)
        if handle is not None:
            handle.requests.discard(request.request_id)
        conn: AnyChannel = request.channel  # type: ignore[assignment]
        if ok:
            conn.request_finished(request, request.response_close)


def _stream_trailers(request: Request, trailers: tuple[tuple[bytes, bytes], ...]) -> None:
    """Hand a final send's trailers to the HTTP/2 stream, which ends the stream with them (decision 0022)."""
    stream: AnyChannel = request.channel  # type: ignore[assignment]
    if not isinstance(stream, Http11Connection):
        stream.trailers = [(name.lower(), value) for name, value in trailers]


def _declares_length(spec: ResponseSpec) -> bool:
    if spec.known.get(_CL_ID) or spec.known.get(_TE_ID):
        return True
    return any(n.lower() in (b"content-length", b"transfer-encoding") for n, _v in spec.unknown)


def _frame_chunks(segments: list[Segment], total: int) -> list[Segment]:
    """AUTOMATIC_CHUNKING: one chunk per call carrying all of its bytes."""
    if not total:
        return []
    return [chunk_frame(total), *segments, CHUNK_END]


def _slice_segments(segments: list[Segment], start: int, end: int) -> list[Segment]:
    """The bytes [start, end) of the entity made of `segments`, as segments (file regions stay zero-copy)."""
    out: list[Segment] = []
    pos = 0
    for seg in segments:
        size = seg.count if isinstance(seg, FileRegion) else len(seg)
        lo = max(start, pos)
        hi = min(end, pos + size)
        if lo < hi:
            if isinstance(seg, FileRegion):
                out.append(FileRegion(seg.fd, seg.offset + (lo - pos), hi - lo))
            else:
                out.append(seg[lo - pos : hi - pos])
        pos += size
        if pos >= end:
            break
    return out
