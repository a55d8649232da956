"""The remote transport: DriverTransport over one Unix stream socket to a shared `httpsys daemon`.

Responsibility: connect and shake hands (HELLO → WELCOME/REFUSE) at construction, then carry every call as a
`_wire` message and every completion back to its caller, on a private event-loop thread that owns the socket
(recvmsg_into with MSG_CMSG_CLOEXEC into the decoder's buffer, one flush per loop pass, sendmsg per batch with
the fds of file chunks as SCM_RIGHTS). Operation ids, the (handle, token) → op map for cancel_io, and what
happens when the daemon goes away (pending operations complete ERROR_OPERATION_ABORTED, later calls
ERROR_INVALID_HANDLE) live here. It must not contain HTTP behaviour (the daemon's engine has it) and must not
re-implement the codec (`httpsys._wire` is it).
"""

from __future__ import annotations

import array
import asyncio
import concurrent.futures
import contextlib
import fcntl
import itertools
import logging
import os
import socket
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar, cast

from httpsys._core.records import CachePolicy, DataChunk, FileChunk, MemoryChunk, RequestSnapshot
from httpsys._core.response import ResponseSpec
from httpsys._core.status import Win32Error
from httpsys._transport.interface import BodyDone, CodeDone, DriverIo, ReceiveDone, SendDone
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
from httpsys.errors import ServiceNotActiveError, error_for_code

__all__ = [
    "CLIENT_LIMITS",
    "CONNECT_TIMEOUT",
    "RemoteTransport",
    "release_remote_transport",
    "remote_transport",
]

log = logging.getLogger("httpsys.remote")

CONNECT_TIMEOUT = (
    5.0  # seconds for connect + WELCOME; a socket nobody accepts on fails at once (ECONNREFUSED)
)
_ABORTED = int(Win32Error.ERROR_OPERATION_ABORTED)
_INVALID_HANDLE = int(Win32Error.ERROR_INVALID_HANDLE)
_INVALID_PARAMETER = int(Win32Error.ERROR_INVALID_PARAMETER)
# What a client accepts from the daemon (decision 0016 §5): a request head of MaxRequestBytes (up to 16 MiB) fits in
# one meta, and completions may carry large bodies; fds as the daemon's.
CLIENT_LIMITS = Limits(
    max_frame=32 << 20,
    max_meta=32 << 20,
    max_message=1 << 30,
    max_fds_per_frame=DEFAULT_LIMITS.max_fds_per_frame,
    max_fds_held=DEFAULT_LIMITS.max_fds_held,
).check()
_ANCILLARY = socket.CMSG_SPACE(CLIENT_LIMITS.max_fds_per_frame * 4)
_SPILL_MARGIN = 1 << 20  # room left in a message for everything besides memory data
_SPILL_MIN = 64 << 10  # memory chunks below this stay in the message when others spill
_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL

Msg = TypeVar("Msg", bound=Message)
OnDone = Callable[[Message | None, int], None]  # (completion, 0) or (None, failure code)


def _connect(path: str, timeout: float) -> tuple[socket.socket, M.Welcome, Decoder]:
    """A connected, greeted socket; ServiceNotActiveError when no daemon answers, the REFUSE code's error when
    the daemon refuses. The decoder that read WELCOME goes on to read the connection."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except OSError as exc:
            raise ServiceNotActiveError(f"no httpsys daemon at {path}: {exc.strerror or exc}") from None
        encoder = Encoder(Side.CLIENT)
        encoder.write(M.Hello(pid=os.getpid(), limits=CLIENT_LIMITS))
        for batch in encoder.take():
            sock.sendmsg(batch.buffers)
        decoder = Decoder(Side.CLIENT, CLIENT_LIMITS)
        deadline = time.monotonic() + timeout
        try:
            while True:
                message = decoder.next_message()
                if message is not None:
                    break
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                size, ancillary, _flags, _ = sock.recvmsg_into(
                    [decoder.get_buffer()], _ANCILLARY, socket.MSG_CMSG_CLOEXEC
                )
                fds = fds_of(ancillary)
                if size == 0:
                    close_fds(fds)
                    raise ServiceNotActiveError(f"the httpsys daemon at {path} closed the connection")
                decoder.buffer_updated(size, fds)
        except (OSError, ProtocolError) as exc:
            decoder.close()
            if isinstance(exc, ServiceNotActiveError):
                raise
            raise ServiceNotActiveError(f"no answer from the httpsys daemon at {path}: {exc}") from None
        if isinstance(message, M.Refuse):
            decoder.close()
            raise error_for_code(message.code, f"the httpsys daemon refused: {message.reason}")
        assert isinstance(message, M.Welcome)  # the client decoder admits only WELCOME or REFUSE first
        sock.setblocking(False)
        return sock, message, decoder
    except BaseException:
        sock.close()
        raise


class RemoteTransport:
    """A connection to the daemon at `path`, run on a private event-loop thread (completions are called there).

    Construction connects and shakes hands, or raises ServiceNotActiveError at once (no daemon listening) or the
    error of the daemon's REFUSE code. Synchronous calls block the calling thread until the daemon answers; they
    may not be made from a completion callback (that thread is the one reading the answers).

    `io_barrier` keeps the interface's promise that an I/O call returns only once the operation has completed
    (its `done` already run) or is parked: the call is followed by a no-op call and waits for that answer; the
    daemon handles a connection's calls in order and its engine completes or parks each I/O call before the
    next, so an immediate completion arrives first. One extra round trip per I/O call from a blocking thread
    (the win32 face, whose overlapped calls report ERROR_IO_PENDING only for parked operations); an asyncio
    face, which awaits every completion anyway, passes False.
    """

    def __init__(self, path: str, *, timeout: float = CONNECT_TIMEOUT, io_barrier: bool = True) -> None:
        from httpsys._transport.embedded import new_event_loop

        self.path = path
        self.io_barrier = io_barrier
        self._sock, welcome, self._decoder = _connect(path, timeout)
        self.client_id = welcome.client_id
        self.peer_limits = welcome.limits
        self._fd = self._sock.fileno()
        self._encoder = Encoder(Side.CLIENT, welcome.limits)
        self._out: deque[Batch] = deque()
        self._writing = False
        self._flush_scheduled = False
        self._ops = itertools.count(1)
        self._pending: dict[int, tuple[type[Message], OnDone, tuple[int, int] | None]] = {}
        self._tokens: dict[tuple[int, int], int] = {}
        self._lost: int | None = None  # the code later calls get once the connection is gone
        self.closed = False
        loop = new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.add_reader(self._fd, self._on_readable)
            loop.call_soon(ready.set)
            loop.run_forever()

        self.loop = loop
        self._thread = threading.Thread(target=run, name="httpsys-remote", daemon=True)
        self._thread.start()
        ready.wait()
        self._loop_thread_id = self._thread.ident
        _instances.add(self)

    # ----- threading -------------------------------------------------------------------------------------------
    def on_driver_thread(self) -> bool:
        return threading.get_ident() == self._loop_thread_id

    def local_io(self) -> DriverIo | None:
        """None: the driver lives in the daemon."""
        return None

    def close(self) -> None:
        """Close the connection (the daemon closes this process's handles as if it had closed them)."""
        if self.closed:
            return
        self.closed = True
        done = threading.Event()

        def stop() -> None:
            self._flush()
            self._lose(_INVALID_HANDLE, "closed")
            done.set()

        if self.on_driver_thread():
            self._flush()
            self._lose(_INVALID_HANDLE, "closed")
            self.loop.stop()
            return
        try:
            self.loop.call_soon_threadsafe(stop)
            done.wait(5)
            self.loop.call_soon_threadsafe(self.loop.stop)
        except RuntimeError:  # the loop is already closed
            pass
        self._thread.join(timeout=5)
        if not self.loop.is_running() and not self.loop.is_closed():
            self.loop.close()

    def _forked(self) -> None:
        """In a child after fork(): the loop thread did not come along, and the connection is the parent's. Every
        call fails at once (ERROR_INVALID_HANDLE, never a wait for a thread that is not there) and the child's
        copy of the socket is closed, so the parent's end is not kept open by the child."""
        self._lost = _INVALID_HANDLE
        self.closed = True
        self._pending = {}
        self._tokens = {}
        self._out.clear()
        with contextlib.suppress(OSError):
            self._sock.close()

    # ----- the channel (loop thread) -----------------------------------------------------------------------------
    def _submit(
        self, message: Message, expect: type[Message], on_done: OnDone, key: tuple[int, int] | None = None
    ) -> None:
        """Send `message` (from any thread); `on_done` is called on the loop thread exactly once."""
        if self._lost is not None:
            on_done(None, self._lost)
            return
        if self.on_driver_thread():
            self._send(message, expect, on_done, key)
            return
        try:
            self.loop.call_soon_threadsafe(self._send, message, expect, on_done, key)
        except RuntimeError:  # loop closed: the transport was closed
            on_done(None, _INVALID_HANDLE)

    def _submit_io(
        self, message: Message, expect: type[Message], on_done: OnDone, key: tuple[int, int] | None
    ) -> None:
        """Send an I/O call; with `io_barrier`, return only after the daemon has completed or parked it."""
        self._submit(message, expect, on_done, key)
        if self.io_barrier and not self.on_driver_thread() and self._lost is None:
            self._sync(M.QuerySessionProperty(session_id=0, prop=0), M.ValueDone)  # answered in order

    def _send(
        self, message: Message, expect: type[Message], on_done: OnDone, key: tuple[int, int] | None
    ) -> None:
        if self._lost is not None:
            on_done(None, self._lost)
            return
        op = next(self._ops)
        message.op = op
        try:
            self._encoder.write(message)
        except WireEncodeError as exc:
            log.debug("call not sent: %s", exc)
            on_done(None, _INVALID_PARAMETER)
            return
        self._pending[op] = (expect, on_done, key)
        if key is not None:
            self._tokens[key] = op
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Send what this loop pass wrote: one sendmsg per batch; on EAGAIN wait for the socket to drain."""
        self._flush_scheduled = False
        if self._lost is not None:
            return
        self._out.extend(self._encoder.take())
        out = self._out
        while out:
            batch = out[0]
            ancillary = (
                [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", batch.fds))] if batch.fds else []
            )
            try:
                sent = self._sock.sendmsg(batch.buffers, ancillary)
            except (BlockingIOError, InterruptedError):
                if not self._writing:
                    self._writing = True
                    self.loop.add_writer(self._fd, self._flush)
                return
            except OSError as exc:
                self._lose(_ABORTED, f"send failed: {exc}")
                return
            if batch.consume(sent):
                out.popleft()
        if self._writing:
            self._writing = False
            self.loop.remove_writer(self._fd)

    def _on_readable(self) -> None:
        try:
            size, ancillary, flags, _ = self._sock.recvmsg_into(
                [self._decoder.get_buffer()], _ANCILLARY, socket.MSG_CMSG_CLOEXEC
            )
        except (BlockingIOError, InterruptedError):
            return
        except ProtocolError as exc:
            self._lose(_ABORTED, f"protocol error: {exc}")
            return
        except OSError as exc:
            self._lose(_ABORTED, f"receive failed: {exc}")
            return
        fds = fds_of(ancillary)
        if size == 0:
            close_fds(fds)
            self._lose(_ABORTED, "the daemon closed the connection")
            return
        try:
            if flags & socket.MSG_CTRUNC:
                close_fds(fds)
                raise ProtocolError("file descriptors truncated (MSG_CTRUNC)")
            self._decoder.buffer_updated(size, fds)
            messages = self._decoder.drain()
        except ProtocolError as exc:
            self._lose(_ABORTED, f"protocol error: {exc}")
            return
        for message in messages:
            self._dispatch(message)

    def _dispatch(self, message: Message) -> None:
        if isinstance(message, M.GoingAway):
            log.warning("the httpsys daemon is going away in %.0f s: %s", message.seconds, message.reason)
            return
        entry = self._pending.pop(message.op, None)
        if entry is None:
            self._lose(_ABORTED, f"protocol error: completion for unknown operation {message.op}")
            return
        expect, on_done, key = entry
        if key is not None and self._tokens.get(key) == message.op:
            del self._tokens[key]
        if not isinstance(message, expect):
            on_done(None, _ABORTED)
            self._lose(
                _ABORTED, f"protocol error: {type(message).__name__} answers a call expecting {expect}"
            )
            return
        on_done(message, 0)

    def _lose(self, code_for_later: int, reason: str) -> None:
        """The connection is over: pending operations complete ERROR_OPERATION_ABORTED, later calls fail."""
        if self._lost is not None:
            return
        self._lost = code_for_later if code_for_later != _ABORTED else _INVALID_HANDLE
        if not self.closed:
            log.error("httpsys daemon connection lost (%s)", reason)
        try:
            self.loop.remove_reader(self._fd)
            if self._writing:
                self.loop.remove_writer(self._fd)
        except (RuntimeError, ValueError, OSError):
            pass
        self._sock.close()
        self._decoder.close()
        self._out.clear()
        pending = self._pending
        self._pending = {}
        self._tokens.clear()
        for _expect, on_done, _key in pending.values():
            try:
                on_done(None, _ABORTED)
            except Exception:  # a caller's callback must not stop the others
                log.exception("completion callback failed")

    # ----- synchronous calls -----------------------------------------------------------------------------------
    def _sync(self, message: Message, expect: type[Msg]) -> Msg | int:
        """The daemon's answer to `message`, or the failure code when there is none."""
        if self.on_driver_thread():
            raise RuntimeError(
                "a synchronous driver call from a completion callback cannot wait in daemon mode"
            )
        future: concurrent.futures.Future[Message | int] = concurrent.futures.Future()

        def on_done(answer: Message | None, code: int) -> None:
            future.set_result(answer if answer is not None else code)

        self._submit(message, expect, on_done)
        result = future.result()
        return cast("Msg | int", result)

    def _code(self, message: Message) -> int:
        answer = self._sync(message, M.CodeDone)
        return answer if isinstance(answer, int) else answer.code

    def _handle(self, message: Message) -> tuple[int, int]:
        answer = self._sync(message, M.HandleDone)
        return (answer, 0) if isinstance(answer, int) else (answer.code, answer.object_id)

    def _value(self, message: Message) -> tuple[int, object]:
        answer = self._sync(message, M.ValueDone)
        return (answer, None) if isinstance(answer, int) else (answer.code, answer.value)

    # ----- object model ----------------------------------------------------------------------------------------
    def create_server_session(self, version: tuple[int, int]) -> tuple[int, int]:
        return self._handle(M.CreateServerSession(version=version))

    def close_server_session(self, session_id: int) -> int:
        return self._code(M.CloseServerSession(session_id=session_id))

    def drain_server_session(self, session_id: int) -> tuple[int, int]:
        return self._handle(M.DrainServerSession(session_id=session_id))

    def set_session_property(self, session_id: int, prop: int, value: object) -> int:
        return self._code(M.SetSessionProperty(session_id=session_id, prop=prop, value=value))

    def query_session_property(self, session_id: int, prop: int) -> tuple[int, object]:
        return self._value(M.QuerySessionProperty(session_id=session_id, prop=prop))

    def create_url_group(self, session_id: int) -> tuple[int, int]:
        return self._handle(M.CreateUrlGroup(session_id=session_id))

    def close_url_group(self, group_id: int) -> int:
        return self._code(M.CloseUrlGroup(group_id=group_id))

    def add_url(self, group_id: int, url: str, context: int) -> int:
        return self._code(M.AddUrl(group_id=group_id, url=url, context=context))

    def remove_url(self, group_id: int, url: str | None, remove_all: bool) -> int:
        return self._code(M.RemoveUrl(group_id=group_id, url=url, remove_all=remove_all))

    def set_group_property(self, group_id: int, prop: int, value: object) -> int:
        return self._code(M.SetGroupProperty(group_id=group_id, prop=prop, value=value))

    def query_group_property(self, group_id: int, prop: int) -> tuple[int, object]:
        return self._value(M.QueryGroupProperty(group_id=group_id, prop=prop))

    def create_request_queue(self, name: str | None, flags: int, v1: bool) -> tuple[int, int]:
        return self._handle(M.CreateRequestQueue(name=name, flags=flags, v1=v1))

    def close_request_queue(self, handle_id: int) -> int:
        return self._code(M.CloseRequestQueue(handle_id=handle_id))

    def set_queue_property(self, handle_id: int, prop: int, value: object) -> int:
        return self._code(M.SetQueueProperty(handle_id=handle_id, prop=prop, value=value))

    def query_queue_property(self, handle_id: int, prop: int) -> tuple[int, object]:
        return self._value(M.QueryQueueProperty(handle_id=handle_id, prop=prop))

    def shutdown_request_queue(self, handle_id: int) -> int:
        return self._code(M.ShutdownRequestQueue(handle_id=handle_id))

    def add_url_v1(self, handle_id: int, url: str) -> int:
        return self._code(M.AddUrlV1(handle_id=handle_id, url=url))

    def remove_url_v1(self, handle_id: int, url: str) -> int:
        return self._code(M.RemoveUrlV1(handle_id=handle_id, url=url))

    def add_fragment(self, handle_id: int, name: str, data: bytes, policy: CachePolicy) -> int:
        return self._code(M.AddFragment(handle_id=handle_id, name=name, data=data, policy=policy))

    def read_fragment(self, handle_id: int, name: str) -> tuple[int, bytes]:
        answer = self._sync(M.ReadFragment(handle_id=handle_id, name=name), M.BytesDone)
        return (answer, b"") if isinstance(answer, int) else (answer.code, answer.data)

    def flush_cache(self, handle_id: int, prefix: str, recursive: bool) -> int:
        return self._code(M.FlushCache(handle_id=handle_id, prefix=prefix, recursive=recursive))

    def cancel_request(self, handle_id: int, request_id: int) -> int:
        return self._code(M.CancelRequest(handle_id=handle_id, request_id=request_id))

    def set_request_property(self, handle_id: int, request_id: int, prop: int, value: int) -> int:
        return self._code(
            M.SetRequestProperty(handle_id=handle_id, request_id=request_id, prop=prop, value=value)
        )

    def cancel_io(self, handle_id: int, token: int | None) -> bool:
        """CANCEL for the op that carries `token` on `handle_id` (False at once when it already completed)."""
        if self.on_driver_thread():
            raise RuntimeError("cancel_io from a completion callback cannot wait in daemon mode")
        future: concurrent.futures.Future[bool] = concurrent.futures.Future()

        def on_done(answer: Message | None, code: int) -> None:
            future.set_result(isinstance(answer, M.CancelDone) and answer.cancelled)

        def issue() -> None:
            if token is None:
                target: int | None = None
            else:
                found = self._tokens.get((handle_id, token))
                if found is None:
                    on_done(None, 0)
                    return
                target = found
            self._send(M.Cancel(handle_id=handle_id, target_op=target), M.CancelDone, on_done, None)

        if self._lost is not None:
            return False
        try:
            self.loop.call_soon_threadsafe(issue)
        except RuntimeError:
            return False
        return future.result()

    def statistics(self) -> dict[str, int]:
        answer = self._sync(M.Statistics(), M.StatsDone)
        return {} if isinstance(answer, int) else dict(answer.stats)

    # ----- I/O ---------------------------------------------------------------------------------------------------
    def receive_request(
        self,
        handle_id: int,
        request_id: int,
        flags: int,
        buffer_length: int | None,
        v2: bool,
        token: int,
        done: ReceiveDone,
    ) -> None:
        def on_done(answer: Message | None, code: int) -> None:
            if isinstance(answer, M.RequestDone):
                snapshot: RequestSnapshot | None = answer.snapshot
                done(answer.code, snapshot, answer.length)
            else:
                done(code, None, 0)

        message = M.ReceiveRequest(
            handle_id=handle_id, request_id=request_id, flags=flags, buffer_length=buffer_length, v2=v2
        )
        self._submit_io(message, M.RequestDone, on_done, (handle_id, token))

    def receive_body(
        self, handle_id: int, request_id: int, max_len: int, fill: bool, token: int, done: BodyDone
    ) -> None:
        def on_done(answer: Message | None, code: int) -> None:
            if isinstance(answer, M.BytesDone):
                done(answer.code, answer.data)
            else:
                done(code, b"")

        message = M.ReceiveBody(handle_id=handle_id, request_id=request_id, max_len=max_len, fill=fill)
        self._submit_io(message, M.BytesDone, on_done, (handle_id, token))

    def send_response(
        self,
        handle_id: int,
        request_id: int,
        flags: int,
        spec: ResponseSpec,
        chunks: list[DataChunk],
        cache_policy: CachePolicy | None,
        log_data: object | None,
        done: SendDone,
        token: int = 0,
    ) -> None:
        if _bad_descriptor(chunks):
            done(_INVALID_HANDLE, 0)
            return
        chunks, spill_fd = _spill(chunks, self.peer_limits.max_message)
        message = M.SendResponse(
            handle_id=handle_id,
            request_id=request_id,
            flags=flags,
            spec=spec,
            chunks=chunks,
            cache_policy=cache_policy,
            log_data=log_data,
        )
        self._submit_io(message, M.SentDone, _sent(done, spill_fd), (handle_id, token) if token else None)

    def send_body(
        self,
        handle_id: int,
        request_id: int,
        flags: int,
        chunks: list[DataChunk],
        log_data: object | None,
        done: SendDone,
        token: int = 0,
    ) -> None:
        if _bad_descriptor(chunks):
            done(_INVALID_HANDLE, 0)
            return
        chunks, spill_fd = _spill(chunks, self.peer_limits.max_message)
        message = M.SendBody(
            handle_id=handle_id, request_id=request_id, flags=flags, chunks=chunks, log_data=log_data
        )
        self._submit_io(message, M.SentDone, _sent(done, spill_fd), (handle_id, token) if token else None)

    def wait_disconnect(self, handle_id: int, connection_id: int, token: int, done: CodeDone) -> None:
        message = M.WaitDisconnect(handle_id=handle_id, connection_id=connection_id)
        self._submit_io(message, M.CodeDone, _coded(done), (handle_id, token))

    def wait_demand_start(self, handle_id: int, token: int, done: CodeDone) -> None:
        self._submit_io(M.WaitDemandStart(handle_id=handle_id), M.CodeDone, _coded(done), (handle_id, token))


def _sent(done: SendDone, spill_fd: int | None = None) -> OnDone:
    def on_done(answer: Message | None, code: int) -> None:
        if spill_fd is not None:
            close_fds([spill_fd])
        if isinstance(answer, M.SentDone):
            done(answer.code, answer.bytes_sent)
        else:
            done(code, 0)

    return on_done


def _bad_descriptor(chunks: list[DataChunk]) -> bool:
    """True when a file chunk names a descriptor that is not open here (sendmsg would fail for the whole
    connection; the engine answers ERROR_INVALID_HANDLE for such a chunk, and so does this side)."""
    for chunk in chunks:
        if isinstance(chunk, FileChunk):
            try:
                os.fstat(chunk.fd)
            except (OSError, TypeError, ValueError, OverflowError):
                return True
    return False


def _spill(chunks: list[DataChunk], max_message: int) -> tuple[list[DataChunk], int | None]:
    """Memory data beyond what one message may carry goes into a sealed memfd, passed as file chunks (decision
    0016 §5): the chunks to send and the memfd to close when the send completes (None when nothing moved)."""
    sizes = [memoryview(c.data).nbytes if isinstance(c, MemoryChunk) else 0 for c in chunks]
    if sum(sizes) <= max_message - _SPILL_MARGIN:
        return chunks, None
    fd = os.memfd_create("httpsys-send", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        out: list[DataChunk] = []
        offset = 0
        for chunk, size in zip(chunks, sizes, strict=True):
            if not isinstance(chunk, MemoryChunk) or size < _SPILL_MIN:
                out.append(chunk)
                continue
            view = memoryview(chunk.data).cast("B")
            written = 0
            while written < size:
                written += os.pwrite(fd, view[written:], offset + written)
            out.append(FileChunk(fd, offset, size))
            offset += size
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
    except BaseException:
        os.close(fd)
        raise
    return out, fd


def _coded(done: CodeDone) -> OnDone:
    def on_done(answer: Message | None, code: int) -> None:
        done(answer.code if isinstance(answer, M.CodeDone) else code)

    return on_done


_shared: RemoteTransport | None = None
_shared_refs = 0
_shared_lock = threading.Lock()
_instances: weakref.WeakSet[RemoteTransport] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child never uses its parent's connections; its next HttpInitialize connects afresh."""
    global _shared, _shared_refs, _shared_lock
    for transport in list(_instances):
        transport._forked()
    _shared = None
    _shared_refs = 0
    _shared_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def remote_transport(path: str) -> RemoteTransport:
    """The process's shared connection to the daemon at `path` (made on first use, reference counted);
    ServiceNotActiveError at once when no daemon listens there."""
    global _shared, _shared_refs
    with _shared_lock:
        if _shared is None or _shared.closed or _shared.path != path or _shared._lost is not None:
            _shared = RemoteTransport(path)
            _shared_refs = 0
        _shared_refs += 1
        return _shared


def release_remote_transport(transport: Any = None) -> None:
    """Drop one reference; the last one closes the shared connection."""
    global _shared, _shared_refs
    with _shared_lock:
        if _shared is None or (transport is not None and transport is not _shared):
            if isinstance(transport, RemoteTransport):
                transport.close()
            return
        _shared_refs -= 1
        if _shared_refs <= 0:
            shared = _shared
            _shared = None
            _shared_refs = 0
            shared.close()
