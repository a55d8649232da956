"""The wire encoder: messages appended as frames to an outgoing buffer, handed out as batches, one per sendmsg.

Responsibility: framing (header, msgpack meta, raw tail, continuation frames for tails larger than a frame),
batching (every message written during one event-loop pass leaves in as few sendmsg calls as the fd rule
allows), and that fd rule itself: the fds a frame consumes travel with the sendmsg that carries the start of
that frame's batch, never later, at most `max_fds_per_frame` per sendmsg. Small pieces are copied into one
bytearray; entity bytes of `copy_max` or more are referenced, not copied, and go out by gather I/O. It must not
touch sockets, the clock or the event loop (the connection owner calls `take()` once per pass and sends).
"""

from __future__ import annotations

from typing import Any

import msgpack

from httpsys._wire.fields import Buffer, Outgoing
from httpsys._wire.frames import DEFAULT_LIMITS, FLAG_MORE, HEADER, HEADER_SIZE, Limits, WireEncodeError
from httpsys._wire.messages import Message, Side

__all__ = ["COPY_MAX", "IOV_MAX", "Batch", "Encoder"]

COPY_MAX = 8 << 10  # tail pieces up to this size are copied into the batch's buffer; larger are referenced
IOV_MAX = 512  # buffers per sendmsg (Linux allows 1024)
_U64_MAX = 0xFFFFFFFFFFFFFFFF


# Per message class, its class facts (type code, direction, control, takes fds): one lookup per message instead
# of four class attribute reads (decision 0026 §8). A class's facts never change.
_FACTS: dict[type, tuple[int, bool, bool, bool]] = {}


def _facts(cls: type) -> tuple[int, bool, bool, bool]:
    c: Any = cls
    facts = (int(c.TYPE), bool(c.TO_DAEMON), bool(c.CONTROL), bool(c.TAKES_FDS))
    _FACTS[cls] = facts
    return facts


class Batch:
    """What one sendmsg sends: `buffers` in order (gather I/O), with `fds` as SCM_RIGHTS on the first byte.

    After a partial send, `consume(n)` drops the bytes that went; the fds go with the first byte, so they are
    cleared as soon as any byte was sent. A batch is finished when `consume` returns True.
    """

    __slots__ = ("_parts", "_small", "buffers", "fds", "nbytes")

    def __init__(self) -> None:
        self.buffers: list[memoryview] = []  # filled by _seal() when the batch is taken
        self.fds: list[int] = []
        self.nbytes = 0
        self._parts: list[Buffer] = []
        self._small: bytearray | None = None

    def _add_small(self, data: Buffer) -> None:
        small = self._small
        if small is None:
            small = self._small = bytearray()
            self._parts.append(small)
        small += data
        self.nbytes += len(data) if not isinstance(data, memoryview) else data.nbytes

    def _add_small_pieces(self, head: bytes, meta: bytes, tail: list[Buffer], size: int) -> None:
        """A whole small frame: its header, meta and tail pieces (`size` bytes in all), copied in."""
        small = self._small
        if small is None:
            small = self._small = bytearray()
            self._parts.append(small)
        small += head
        small += meta
        for piece in tail:
            small += piece
        self.nbytes += size

    def _add_large(self, view: memoryview) -> None:
        self._small = None
        self._parts.append(view)
        self.nbytes += view.nbytes

    def _seal(self) -> None:
        self.buffers = [memoryview(part) for part in self._parts]
        self._parts = []
        self._small = None

    def consume(self, sent: int) -> bool:
        """Account for `sent` bytes written by one sendmsg; True when the whole batch is out."""
        if sent <= 0:
            return self.nbytes == 0
        if sent > self.nbytes:
            raise ValueError(f"{sent} bytes sent, only {self.nbytes} in the batch")
        self.fds = []
        self.nbytes -= sent
        buffers = self.buffers
        index = 0
        while sent:
            size = buffers[index].nbytes
            if sent < size:
                buffers[index] = buffers[index][sent:]
                break
            sent -= size
            index += 1
        del buffers[:index]
        return self.nbytes == 0


class Encoder:
    """Appends messages as frames; `take()` returns the batches written since the last take.

    `limits` are the peer's (from its HELLO or WELCOME): frame and meta sizes, message size, fds per frame
    (also per batch). `side` is where this encoder runs; writing a message of the other direction is an error.
    """

    def __init__(self, side: Side, limits: Limits = DEFAULT_LIMITS, *, copy_max: int = COPY_MAX) -> None:
        self.side = side
        self.limits = limits
        self.copy_max = copy_max
        self._to_daemon = side is Side.CLIENT  # what this side writes travels to the daemon
        self._batches: list[Batch] = []
        self._packer = msgpack.Packer(use_bin_type=True, autoreset=True, unicode_errors="surrogatepass")

    @property
    def pending_bytes(self) -> int:
        """Bytes written and not yet taken."""
        return sum(batch.nbytes for batch in self._batches)

    def write(self, message: Message) -> None:
        """Append `message` as one or more frames. WireEncodeError (and nothing appended) if it cannot travel."""
        m: Any = message  # read as it is (the native build must not check a field's type on reading it)
        facts = _FACTS.get(type(message))
        if facts is None:
            facts = _facts(type(message))
        type_code, to_daemon, control, takes_fds = facts
        if self._to_daemon != to_daemon:
            raise WireEncodeError(f"a {self.side.value} does not send {type(message).__name__}")
        op = m.op
        if type(op) is not int or not 0 <= op <= _U64_MAX or (op == 0) != control:
            raise WireEncodeError(f"op {op!r} is not valid for {type(message).__name__}")
        out = Outgoing()
        meta_list = message.encode_meta(out)  # a direct call in the native build
        fds = out.fds
        if fds and not takes_fds:
            raise WireEncodeError(f"{type(message).__name__} carries no file descriptors")
        try:
            meta = self._packer.pack(meta_list)
        except (TypeError, ValueError, OverflowError) as exc:
            raise WireEncodeError(f"meta of {type(message).__name__}: {exc}") from None
        limits = self.limits
        meta_len = len(meta)
        if meta_len > limits.max_meta:
            raise WireEncodeError(f"meta of {meta_len} bytes exceeds the peer's {limits.max_meta}")
        nfds = len(fds)
        if nfds > limits.max_fds_per_frame:
            raise WireEncodeError(
                f"{nfds} file descriptors exceed the peer's {limits.max_fds_per_frame} per frame"
            )
        tail_len = out.tail_len
        if tail_len > limits.max_message:
            raise WireEncodeError(f"{tail_len} tail bytes exceed the peer's {limits.max_message} per message")

        batch = self._batch_for(nfds)
        if nfds:
            batch.fds.extend(fds)
        first = min(tail_len, limits.max_frame - meta_len)
        remaining = tail_len - first
        head = HEADER.pack(
            meta_len + first, meta_len, type_code, FLAG_MORE if remaining else 0, nfds, tail_len, op
        )
        if not remaining and tail_len <= self.copy_max:
            # the common case: one frame, every piece copied into the batch's buffer in one go
            batch._add_small_pieces(head, meta, out.tail, HEADER_SIZE + meta_len + tail_len)
            return
        batch._add_small(head)
        batch._add_small(meta)
        pieces = _Pieces(out.tail)
        self._emit(pieces, first)
        while remaining:
            size = min(remaining, limits.max_frame)
            remaining -= size
            self._current()._add_small(
                HEADER.pack(size, 0, type_code, FLAG_MORE if remaining else 0, 0, 0, op)
            )
            self._emit(pieces, size)

    def take(self) -> list[Batch]:
        """The batches written since the last call, in order (each for one sendmsg); the encoder is empty after."""
        batches = self._batches
        self._batches = []
        for batch in batches:
            batch._seal()
        return batches

    # ----- internals ------------------------------------------------------------------------------------------
    def _current(self) -> Batch:
        batches = self._batches
        if not batches or len(batches[-1]._parts) >= IOV_MAX:
            batches.append(Batch())
        return batches[-1]

    def _batch_for(self, nfds: int) -> Batch:
        batch = self._current()
        if nfds and len(batch.fds) + nfds > self.limits.max_fds_per_frame:
            batch = Batch()
            self._batches.append(batch)
        return batch

    def _emit(self, pieces: _Pieces, size: int) -> None:
        while size:
            view = pieces.next(size)
            size -= view.nbytes
            if view.nbytes <= self.copy_max:
                self._current()._add_small(view)
            else:
                self._current()._add_large(view)


class _Pieces:
    """A cursor over the tail pieces of one message, handing out up to n bytes at a time."""

    __slots__ = ("_index", "_offset", "_pieces")

    def __init__(self, pieces: list[Buffer]) -> None:
        self._pieces = pieces
        self._index = 0
        self._offset = 0

    def next(self, limit: int) -> memoryview:
        piece = memoryview(self._pieces[self._index])
        view = piece[self._offset : self._offset + limit]
        self._offset += view.nbytes
        if self._offset >= piece.nbytes:
            self._index += 1
            self._offset = 0
        return view
