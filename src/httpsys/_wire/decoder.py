"""The wire decoder: received bytes and file descriptors in, typed messages out, ProtocolError for anything else.

Responsibility: reassembling frames from a byte stream cut anywhere, the per-connection fd FIFO (fds arrive with
the first byte of the sendmsg that carried them; each frame takes `nfds` from the front), continuation frames,
the handshake order (HELLO first on the daemon side; WELCOME or REFUSE first on a client), every limit, and fd
hygiene: an fd it was given is either handed over inside a returned message or closed by it, whatever the input.
Buffers: the owner may receive straight into `get_buffer()`; tails of 16 KiB and more stay views of that
buffer (no copy), smaller ones are copied so a small body does not pin a receive buffer. It must not touch
sockets, the event loop or the clock; closing fds goes through the `close_fd` it was given.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable

import msgpack

from httpsys._wire.frames import (
    DEFAULT_LIMITS,
    FLAG_MORE,
    FLAGS_VALID,
    HEADER,
    HEADER_SIZE,
    Limits,
    ProtocolError,
    T,
)
from httpsys._wire.messages import MESSAGE_TYPES, Message, Side, Unsupported, decode_fields

__all__ = ["RECEIVE_CHUNK", "Decoder"]

RECEIVE_CHUNK = 64 << 10  # size of a fresh receive buffer (bigger when one frame needs more)
_MIN_FREE = 4 << 10  # below this much room left, a new receive buffer is started


# Per type code, its class and the class facts a first frame is checked against (direction, control): one
# lookup per message instead of a lookup and two class attribute reads (decision 0026 §8).
_FACTS: dict[int, tuple[type[Message], bool, bool]] = {
    code: (cls, bool(cls.TO_DAEMON), bool(cls.CONTROL)) for code, cls in MESSAGE_TYPES.items()
}


class _Partial:
    """A message whose continuation frames are still arriving."""

    __slots__ = ("cls", "data", "fds", "meta", "op", "tail_len", "type_code")

    def __init__(
        self, cls: type[Message] | None, type_code: int, op: int, meta: bytes, fds: list[int], tail_len: int
    ) -> None:
        self.cls = cls
        self.type_code = type_code
        self.op = op
        self.meta = meta
        self.fds = fds
        self.tail_len = tail_len
        self.data = bytearray()


class Decoder:
    """Decodes what one peer sends. `side` is where the decoder runs (DAEMON: reads a client's calls).

    Feed it with `feed(data, fds)`, or receive into `get_buffer()` and report with `buffer_updated(n, fds)`;
    then call `next_message()` until it returns None. Any malformed input raises ProtocolError, after which the
    decoder has closed every fd it still held and is broken for good. `close()` releases what it holds when
    the connection ends.
    """

    def __init__(
        self,
        side: Side,
        limits: Limits = DEFAULT_LIMITS,
        *,
        close_fd: Callable[[int], None] = os.close,
        chunk_size: int = RECEIVE_CHUNK,
    ) -> None:
        self.side = side
        self._daemon = side is Side.DAEMON
        self.limits = limits
        self._close_fd = close_fd
        self._chunk_size = chunk_size
        self._buf = bytearray(chunk_size)
        self._view = memoryview(self._buf)
        self._ro = self._view.toreadonly()
        self._start = 0  # first byte not yet decoded
        self._end = 0  # first byte not yet received
        self._frame_need = HEADER_SIZE  # bytes from _start that complete the frame being received
        self._fds: deque[int] = deque()
        self._partial: _Partial | None = None
        self._ready: deque[Message] = deque()  # decoded by feed(), not yet returned
        self._greeted = False  # the first message (HELLO / WELCOME / REFUSE) was decoded
        self._refused = False
        self._broken: str | None = None

    # ----- input -------------------------------------------------------------------------------------------------
    @property
    def held_fds(self) -> int:
        """File descriptors received and not yet taken by a frame (the limit max_fds_held applies to these)."""
        return len(self._fds) + (len(self._partial.fds) if self._partial is not None else 0)

    @property
    def broken(self) -> bool:
        """True after a ProtocolError or close()."""
        return self._broken is not None

    def get_buffer(self, sizehint: int = -1) -> memoryview:
        """Writable room at the end of the receive buffer, for recvmsg_into (asyncio BufferedProtocol style;
        `sizehint` is accepted for that signature, the room is sized by the frame being received)."""
        if self._broken is not None:
            raise ProtocolError(self._broken)
        size = len(self._buf)
        free = size - self._end
        pending = self._end - self._start
        need = self._frame_need - pending  # bytes still missing from the current frame
        if free == 0 or free < need:
            self._new_buffer(max(self._chunk_size, self._frame_need, 2 * pending))
        elif size > self._chunk_size and max(self._frame_need, pending) + _MIN_FREE <= self._chunk_size:
            # The large frame this buffer was made for is decoded: small frames go back to small buffers, so
            # that a view of one of them never keeps the large buffer alive.
            self._new_buffer(self._chunk_size)
        return self._view[self._end :]

    def buffer_updated(self, nbytes: int, fds: Iterable[int] = ()) -> None:
        """`nbytes` were written into the last get_buffer(); `fds` arrived with them (SCM_RIGHTS)."""
        new_fds = list(fds)
        if self._broken is not None:
            self._close_all(new_fds)
            raise ProtocolError(self._broken)
        self._fds.extend(new_fds)
        if not 0 <= nbytes <= len(self._buf) - self._end:
            self._fail("buffer_updated beyond the buffer")
        self._end += nbytes
        if self.held_fds > self.limits.max_fds_held:
            self._fail(f"more than {self.limits.max_fds_held} file descriptors held")

    def feed(self, data: bytes | bytearray | memoryview, fds: Iterable[int] = ()) -> None:
        """Copy `data` in (with `fds`, which arrived with its first byte) and decode what completes."""
        view = memoryview(data).cast("B") if isinstance(data, memoryview) else memoryview(data)
        pending_fds: Iterable[int] = fds
        if self._broken is not None:
            self._close_all(list(fds))
            raise ProtocolError(self._broken)
        pos = 0
        size = len(view)
        while True:
            room = self.get_buffer(size - pos)
            count = min(len(room), size - pos)
            room[:count] = view[pos : pos + count]
            self.buffer_updated(count, pending_fds)
            pending_fds = ()
            pos += count
            self._decode_ready()
            if pos >= size:
                return

    # ----- output ------------------------------------------------------------------------------------------------
    def next_message(self) -> Message | None:
        """The next complete message, or None until more bytes arrive. ProtocolError on malformed input."""
        if self._ready:
            return self._ready.popleft()
        if self._broken is not None:
            raise ProtocolError(self._broken)
        try:
            return self._next()
        except BaseException as exc:  # a ProtocolError, or a bug: either way nothing held may leak
            self._fail(str(exc), raise_error=False)
            raise

    def drain(self) -> list[Message]:
        """Every complete message available now, decoded in one pass (ProtocolError as next_message)."""
        out: list[Message] = []
        if self._ready:
            out.extend(self._ready)
            self._ready.clear()
        if self._broken is not None:
            if out:
                return out  # what feed() decoded before the error; the error comes with the next call
            raise ProtocolError(self._broken)
        try:
            while (message := self._next()) is not None:
                out.append(message)
        except BaseException as exc:  # a ProtocolError, or a bug: either way nothing held may leak
            self._fail(str(exc), raise_error=False)
            for message in out:  # decoded but never handed over: their fds are closed too
                self._close_all(message.fds)
            raise
        return out

    def close(self) -> None:
        """The connection is over: close every fd still held (messages already returned keep theirs)."""
        if self._broken is None:
            self._broken = "the decoder is closed"
        self._release()

    # ----- internals ---------------------------------------------------------------------------------------------
    def _decode_ready(self) -> None:
        try:
            while (message := self._next()) is not None:
                self._ready.append(message)
        except BaseException as exc:
            self._fail(str(exc), raise_error=False)
            raise

    def _new_buffer(self, size: int) -> None:
        """Move the undecoded bytes to a fresh buffer; the old one lives on in the views handed out."""
        pending = self._end - self._start
        buf = bytearray(max(size, pending + _MIN_FREE))
        buf[:pending] = self._view[self._start : self._end]
        self._buf = buf
        self._view = memoryview(buf)
        self._ro = self._view.toreadonly()
        self._start = 0
        self._end = pending

    def _close_all(self, fds: Iterable[int]) -> None:
        for fd in fds:
            try:
                self._close_fd(fd)
            except OSError:
                pass

    def _release(self) -> None:
        fds = list(self._fds)
        self._fds.clear()
        if self._partial is not None:
            fds += self._partial.fds
            self._partial = None
        for message in self._ready:
            fds += message.fds
        self._ready.clear()
        self._close_all(fds)

    def _fail(self, reason: str, *, raise_error: bool = True) -> None:
        if self._broken is None:
            self._broken = reason or "protocol error"
        self._release()
        if raise_error:
            raise ProtocolError(reason)

    def _take_fds(self, count: int) -> list[int]:
        if not count:
            return []
        if count > len(self._fds):
            raise ProtocolError(f"frame takes {count} file descriptors, {len(self._fds)} arrived")
        return [self._fds.popleft() for _ in range(count)]

    def _next(self) -> Message | None:
        limits = self.limits
        while True:
            start = self._start
            available = self._end - start
            if available < HEADER_SIZE:
                self._frame_need = HEADER_SIZE
                return None
            total, meta_len, type_code, flags, nfds, tail_len, op = HEADER.unpack_from(self._buf, start)
            if total > limits.max_frame:
                raise ProtocolError(f"frame of {total} bytes exceeds {limits.max_frame}")
            if meta_len > total or meta_len > limits.max_meta:
                raise ProtocolError(f"meta length {meta_len} exceeds the frame or {limits.max_meta}")
            if flags & ~FLAGS_VALID:
                raise ProtocolError(f"unknown frame flags {flags:#x}")
            if nfds > limits.max_fds_per_frame:
                raise ProtocolError(
                    f"frame takes {nfds} file descriptors, at most {limits.max_fds_per_frame}"
                )
            self._frame_need = need = HEADER_SIZE + total
            if available < need:
                return None
            body = start + HEADER_SIZE
            self._start = start + need
            self._frame_need = HEADER_SIZE  # the next frame's header is what is missing now
            tail = self._ro[body + meta_len : start + need]
            more = bool(flags & FLAG_MORE)

            partial = self._partial
            if partial is not None:  # a continuation frame
                if type_code != partial.type_code or op != partial.op or meta_len or nfds or tail_len:
                    raise ProtocolError("frames of another message inside a continued message")
                partial.data += tail
                received = len(partial.data)
                if received > partial.tail_len or (more and received == partial.tail_len):
                    raise ProtocolError("continuation frames exceed the announced tail length")
                if more:
                    continue
                if received != partial.tail_len:
                    raise ProtocolError("continued message ended before its announced tail length")
                self._partial = None
                return self._build(
                    partial.cls,
                    partial.type_code,
                    partial.op,
                    partial.meta,
                    memoryview(partial.data).toreadonly(),
                    partial.fds,
                )

            frame_tail = total - meta_len
            if more:
                if not frame_tail < tail_len <= limits.max_message:
                    raise ProtocolError(
                        f"continued message of {tail_len} tail bytes (limit {limits.max_message})"
                    )
            elif tail_len != frame_tail:
                raise ProtocolError("tail length does not match the frame")
            cls = self._message_class(type_code, op)
            fds = self._take_fds(nfds)
            if nfds and cls is not None and not cls.TAKES_FDS:
                self._close_all(fds)
                raise ProtocolError(f"{cls.__name__} takes no file descriptors")
            meta = self._ro[body : body + meta_len]
            if more:
                self._partial = _Partial(cls, type_code, op, meta.tobytes(), fds, tail_len)
                self._partial.data += tail
                continue
            return self._build(cls, type_code, op, meta, tail, fds)

    def _message_class(self, type_code: int, op: int) -> type[Message] | None:
        """The class for a first frame, checking direction, handshake order and op; None for an unknown type."""
        if self._refused:
            raise ProtocolError("frames after REFUSE")
        daemon = self._daemon
        if not self._greeted:
            first = (T.HELLO,) if daemon else (T.WELCOME, T.REFUSE)
            if type_code not in first:
                raise ProtocolError(f"the first message must be {'HELLO' if daemon else 'WELCOME or REFUSE'}")
        elif type_code in (T.HELLO, T.WELCOME, T.REFUSE):
            raise ProtocolError("a second handshake message")
        facts = _FACTS.get(type_code)
        if facts is None:
            return None
        cls, to_daemon, control = facts
        if daemon != to_daemon:
            raise ProtocolError(f"{cls.__name__} does not travel in this direction")
        if (op == 0) != control:
            raise ProtocolError(f"op {op} is not valid for {cls.__name__}")
        return cls

    def _build(
        self,
        cls: type[Message] | None,
        type_code: int,
        op: int,
        meta: memoryview | bytes,
        tail: memoryview,
        fds: list[int],
    ) -> Message:
        if cls is None:
            self._close_all(fds)
            return Unsupported(op=op, type_code=type_code)
        try:
            # Arrays decode as tuples (cheap, and the codecs test exact types); str may carry lone surrogates, as
            # a Python str can (the encoder packs them with surrogatepass too).
            try:
                raw = msgpack.unpackb(
                    meta, use_list=False, raw=False, strict_map_key=True, unicode_errors="surrogatepass"
                )
            except (
                Exception
            ) as exc:  # msgpack raises several types (ValueError, StackError, FormatError, ...)
                raise ProtocolError(f"meta of {cls.__name__} is not valid msgpack: {exc}") from None
            message = decode_fields(cls, op, raw, tail, fds)
        except BaseException:
            self._close_all(fds)
            raise
        if type_code in (T.HELLO, T.WELCOME, T.REFUSE):
            self._greeted = True
            self._refused = type_code == T.REFUSE
        return message
