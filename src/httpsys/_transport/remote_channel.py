"""One connection of the remote transport to a daemon, per message: write a call, send a loop pass's batches, read
and decode what arrived, and hand each completion to the call that waits for it.

Responsibility: the per-request path of `remote.py` (decision 0025; compiled with mypyc, decision 0009): the
channel's socket and codec, the operations in flight on it (op → expected completion, callback, cancel key,
re-issue), the (handle, token) → op map for cancel_io, one `sendmsg` per batch per loop pass, one `recvmsg_into`
per readable event, and the calling convention of the callbacks (an OnDone with the message, or the face's own
ReceiveDone / SendDone with the message's fields, so the per-request path makes no closure). What a lost
connection, an upgrade's GOING_AWAY or a second daemon's ids mean is the transport's (`remote.py`), called back
through `owner`. It must not contain HTTP behaviour (the daemon's engine has it), must not re-implement the codec
(`httpsys._wire` is it) and must not block or wait (it runs on the loop that serves the connection).
"""

from __future__ import annotations

import array
import socket
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from httpsys._core.records import DataChunk, MemoryChunk
from httpsys._core.status import Win32Error
from httpsys._wire import (
    DEFAULT_LIMITS,
    Batch,
    Decoder,
    Encoder,
    Limits,
    Message,
    ProtocolError,
    Side,
    WireEncodeError,
)
from httpsys._wire import messages as M
from httpsys._wire.ancillary import close_fds, fds_of

__all__ = [
    "ANCILLARY",
    "CLIENT_LIMITS",
    "ON_DONE",
    "RECEIVED",
    "SENT",
    "SPILL_MARGIN",
    "Channel",
    "Pending",
    "fail",
    "small_memory",
]

ABORTED = int(Win32Error.ERROR_OPERATION_ABORTED)
INVALID_PARAMETER = int(Win32Error.ERROR_INVALID_PARAMETER)
# What a client accepts from the daemon (decision 0016 §5): a request head of MaxRequestBytes (up to 16 MiB) fits in
# one meta, and completions may carry large bodies; fds as the daemon's.
CLIENT_LIMITS = Limits(
    max_frame=32 << 20,
    max_meta=32 << 20,
    max_message=1 << 30,
    max_fds_per_frame=DEFAULT_LIMITS.max_fds_per_frame,
    max_fds_held=DEFAULT_LIMITS.max_fds_held,
).check()
ANCILLARY = socket.CMSG_SPACE(CLIENT_LIMITS.max_fds_per_frame * 4)
_CTRUNC = int(socket.MSG_CTRUNC)  # a plain int: IntFlag's `&` runs enum code per receive
SPILL_MARGIN = 1 << 20  # room left in a message for everything besides memory data

# How a pending operation's callback is called. ON_DONE: an OnDone, (completion message, 0) or (None, failure
# code). The I/O fast path keeps the face's `done` itself: RECEIVED calls it as a ReceiveDone (code, snapshot,
# length), SENT as a SendDone (code, bytes sent).
ON_DONE = 0
RECEIVED = 1
SENT = 2

# (expected completion type, callback, (handle, token) key for cancel_io, re-issue on the next connection: a
# callable, or the ReceiveRequest to post again, or None; how the callback is called)
Pending = tuple[type, Callable[..., None], "tuple[int, int] | None", object, int]


def fail(done: Callable[..., None], kind: int, code: int) -> None:
    """Complete a pending operation's callback with a failure code, in the form its kind takes."""
    if kind == RECEIVED:
        done(code, None, 0)
    elif kind == SENT:
        done(code, 0)
    else:
        done(None, code)


def small_memory(chunks: list[DataChunk], max_message: int) -> bool:
    """True when every chunk is memory data and all of it fits in one message (nothing to check or spill)."""
    size = 0
    for chunk in chunks:
        if type(chunk) is not MemoryChunk:
            return False
        data: Any = chunk.data
        size += len(data) if type(data) is bytes else memoryview(data).nbytes
    return size <= max_message - SPILL_MARGIN


class Channel:
    """One connection to a daemon: its socket and codec, the operations in flight on it, and the map from the ids
    the faces hold (virtual) to this daemon's ids (empty on the first connection: the ids are the daemon's).

    `owner` is the transport: its `loop` serves the connection, `_lose(channel, code, reason)` ends it,
    `_going_away(channel, message)` answers GOING_AWAY, and `_old`/`_chan` say whether an upgrade is draining."""

    def __init__(
        self,
        sock: socket.socket,
        welcome: M.Welcome,
        decoder: Decoder,
        remapped: bool,
        owner: Any,
        ops: Iterator[int],
    ) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.decoder = decoder
        self.encoder = Encoder(Side.CLIENT, welcome.limits)
        self.client_id: int = welcome.client_id
        self.limits: Limits = welcome.limits
        self.owner: Any = owner
        self.ops = ops
        self.out: deque[Batch] = deque()
        self.writing = False
        self.flush_scheduled = False
        self.pending: dict[int, Pending] = {}
        self.tokens: dict[tuple[int, int], int] = {}
        self.lost: int | None = None
        # GOING_AWAY (upgrade) received: its end moves what can move to the next channel
        self.going_away = False
        self.remapped = remapped
        self.ids: dict[int, int] = {}  # virtual id -> this daemon's id, where they differ
        self.requests: set[int] = set()  # request ids delivered here while an older channel still drains
        self.connections: set[int] = set()  # their connection ids

    def real(self, virtual: int) -> int:
        ids = self.ids
        return ids.get(virtual, virtual) if ids else virtual

    def virtual(self, real: int) -> int:
        """The id the faces hold for this daemon's `real` id (itself when not remapped)."""
        for virtual, mapped in self.ids.items():
            if mapped == real:
                return virtual
        return real

    # ----- writing (loop thread) ---------------------------------------------------------------------------------
    def write(
        self,
        message: Message,
        expect: type,
        done: Callable[..., None],
        kind: int,
        key: tuple[int, int] | None,
        resend: object,
    ) -> bool:
        """Write a call into this pass's batch and remember what completes it; False (nothing written) when the
        codec refuses the message."""
        op = next(self.ops)
        message.op = op
        try:
            self.encoder.write(message)
        except WireEncodeError:  # a value that cannot be a message
            return False
        self.pending[op] = (expect, done, key, resend, kind)
        if key is not None:
            self.tokens[key] = op
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.owner.loop.call_soon(self.flush)
        return True

    def post_receive(
        self,
        handle_id: int,
        request_id: int,
        flags: int,
        buffer_length: int | None,
        v2: bool,
        token: int,
        done: Callable[..., None],
    ) -> bool:
        """The per-request receive (the transport's fast path): its message built here, where the native build
        constructs it directly (decision 0026 §8), and written as `write` does; False when the codec refuses it."""
        message = M.ReceiveRequest(
            handle_id=handle_id, request_id=request_id, flags=flags, buffer_length=buffer_length, v2=v2
        )
        return self.write(message, M.RequestDone, done, RECEIVED, (handle_id, token), message)

    def post_send_response(
        self,
        handle_id: int,
        request_id: int,
        flags: int,
        spec: Any,
        chunks: list[DataChunk],
        cache_policy: Any,
        log_data: object | None,
        done: Callable[..., None],
        token: int,
    ) -> bool:
        """The per-request response (the transport's fast path, memory chunks that fit one message): as
        `post_receive`, built and written here; False when the codec refuses it."""
        message = M.SendResponse(
            handle_id=handle_id,
            request_id=request_id,
            flags=flags,
            spec=spec,
            chunks=chunks,
            cache_policy=cache_policy,
            log_data=log_data,
        )
        return self.write(message, M.SentDone, done, SENT, (handle_id, token) if token else None, None)

    def flush(self) -> None:
        """Send what this loop pass wrote: one sendmsg per batch; on EAGAIN wait for the socket to drain."""
        self.flush_scheduled = False
        if self.lost is not None:
            return
        out = self.out
        out.extend(self.encoder.take())
        sock = self.sock
        while out:
            batch = out[0]
            try:
                if batch.fds:
                    ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", batch.fds))]
                    sent = sock.sendmsg(batch.buffers, ancillary)
                else:
                    sent = sock.sendmsg(batch.buffers)
            except (BlockingIOError, InterruptedError):
                if not self.writing:
                    self.writing = True
                    self.owner.loop.add_writer(self.fd, self.flush)
                return
            except OSError as exc:
                self.owner._lose(self, ABORTED, f"send failed: {exc}")
                return
            if batch.consume(sent):
                out.popleft()
        if self.writing:
            self.writing = False
            self.owner.loop.remove_writer(self.fd)

    # ----- reading (loop thread) ---------------------------------------------------------------------------------
    def on_readable(self) -> None:
        """Read what the daemon sent (one recvmsg_into) and dispatch every complete message."""
        try:
            size, ancillary, flags, _ = self.sock.recvmsg_into(
                [self.decoder.get_buffer()], ANCILLARY, socket.MSG_CMSG_CLOEXEC
            )
        except (BlockingIOError, InterruptedError):
            return
        except OSError as failure:  # its own name: compiled, an `except ... as` name keeps its first type
            self.owner._lose(self, ABORTED, f"receive failed: {failure}")
            return
        fds = fds_of(ancillary)
        if size == 0:
            close_fds(fds)
            self.owner._lose(self, ABORTED, "the daemon closed the connection")
            return
        try:
            if flags & _CTRUNC:
                close_fds(fds)
                raise ProtocolError("file descriptors truncated (MSG_CTRUNC)")
            self.decoder.buffer_updated(size, fds)
            messages = self.decoder.drain()
        except ProtocolError as bad:
            self.owner._lose(self, ABORTED, f"protocol error: {bad}")
            return
        for message in messages:
            self.dispatch(message)

    def dispatch(self, message: Message) -> None:
        """Hand a completion to the call it answers (a GOING_AWAY to the transport)."""
        if isinstance(message, M.GoingAway):
            self.owner._going_away(self, message)
            return
        op: int = message.op
        entry = self.pending.pop(op, None)
        if entry is None:
            self.owner._lose(self, ABORTED, f"protocol error: completion for unknown operation {op}")
            return
        expect, on_done, key, _resend, kind = entry
        if key is not None and self.tokens.get(key) == op:
            del self.tokens[key]
        if not isinstance(message, expect):
            fail(on_done, kind, ABORTED)
            self.owner._lose(
                self, ABORTED, f"protocol error: {type(message).__name__} answers a call expecting {expect}"
            )
            return
        if kind == RECEIVED:
            received: Any = message
            snapshot = received.snapshot
            if snapshot is not None and self.owner._old is not None:
                self._delivered(snapshot)
            on_done(received.code, snapshot, received.length)
        elif kind == SENT:
            sent: Any = message
            on_done(sent.code, sent.bytes_sent)
        else:
            if isinstance(message, M.RequestDone) and self.owner._old is not None:
                done_snapshot = message.snapshot
                if done_snapshot is not None:
                    self._delivered(done_snapshot)
            on_done(message, 0)

    def _delivered(self, snapshot: Any) -> None:
        """While an older connection drains, remember which requests (and connections) this one delivered: their
        calls come here, the others' go to the old daemon."""
        if self.owner._chan is self:
            self.requests.add(snapshot.request_id)
            self.connections.add(snapshot.connection_id)
