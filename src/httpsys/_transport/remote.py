"""The remote transport: DriverTransport over one Unix stream socket to a shared `httpsys daemon`.

Responsibility: connect and shake hands (HELLO → WELCOME/REFUSE) at construction, then carry every call as a
`_wire` message and every completion back to its caller, on the caller's event loop (decision 0025) or on a private
event-loop thread that owns the socket. Here: who serves the connection (threads, the hand-over from other threads,
a synchronous call waiting on the loop), routing a call to its connection, the I/O calls (a fast path writes a
receive or a small response straight to the channel), what happens when the daemon goes away (pending operations
complete ERROR_OPERATION_ABORTED, later calls ERROR_INVALID_HANDLE) and an upgrade (decision 0024 §3): reconnecting
to the new daemon, the virtual ids that keep the faces' ids valid, and finishing borrowed requests on the old
daemon's connection. One connection's messages (write, sendmsg, recvmsg, dispatch, the operation map for
cancel_io) are `remote_channel.py`; the object model's calls and the journal replayed after an upgrade are
`remote_objects.py`. It must not contain HTTP behaviour (the daemon's engine has it) and must not re-implement the
codec (`httpsys._wire` is it).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import itertools
import logging
import os
import select
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
from httpsys._transport.interface import BodyDone, CertDone, CodeDone, DriverIo, ReceiveDone, SendDone
from httpsys._transport.remote_channel import (
    ANCILLARY,
    CLIENT_LIMITS,
    ON_DONE,
    SPILL_MARGIN,
    Channel,
    fail,
    small_memory,
)
from httpsys._transport.remote_objects import Journal, RemoteObjectCalls
from httpsys._wire import (
    Decoder,
    Encoder,
    Limits,
    Message,
    ProtocolError,
    Side,
)
from httpsys._wire import messages as M
from httpsys._wire.ancillary import close_fds, fds_of
from httpsys.errors import ServiceNotActiveError, error_for_code

__all__ = [
    "CLIENT_LIMITS",
    "CONNECT_TIMEOUT",
    "RECEIVE_PREFETCH",
    "RemoteTransport",
    "handshake",
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
_SPILL_MIN = 64 << 10  # memory chunks below this stay in the message when others spill
_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL

# receives the asyncio face keeps posted per queue when the caller's loop serves the connection (decision 0025)
RECEIVE_PREFETCH = 16
RECONNECT_WINDOW = (
    10.0  # seconds after an upgrade's GOING_AWAY to reach the new daemon and replay (decision 0024)
)
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
                    [decoder.get_buffer()], ANCILLARY, socket.MSG_CMSG_CLOEXEC
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


def handshake(path: str, timeout: float = CONNECT_TIMEOUT) -> tuple[socket.socket, M.Welcome, Decoder]:
    """A greeted connection to the daemon at `path` for a caller that speaks the wire itself (a new daemon taking
    over, decision 0024 §3): (non-blocking socket, WELCOME, the decoder that goes on reading it)."""
    return _connect(path, timeout)


class _JournalLock:
    """The journal's lock (reentrant). The loop that serves the connection must not block on it: the holder may be
    an upgrade's replay, which needs that loop to carry its calls; so that thread serves the connection while it
    waits."""

    __slots__ = ("_lock", "_transport")

    def __init__(self, transport: RemoteTransport) -> None:
        self._lock = threading.RLock()
        self._transport = transport

    def __enter__(self) -> None:
        lock = self._lock
        transport = self._transport
        if transport._thread is None and transport.on_driver_thread():
            while not lock.acquire(blocking=False):
                transport._pump(lambda: False, poll_ms=5, once=True)
        else:
            lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


class RemoteTransport(RemoteObjectCalls):
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

    Upgrade (decision 0024 §3): a GOING_AWAY with the upgrade reason starts a reconnect to the same path (now the
    new daemon), where the journal of this process's objects is replayed; the ids the faces hold stay valid
    (virtual ids mapped per connection). Requests borrowed from the old daemon are finished on the old connection;
    receives still parked there are posted again on the new one when the old daemon ends.
    """

    def __init__(
        self,
        path: str,
        *,
        timeout: float = CONNECT_TIMEOUT,
        io_barrier: bool = True,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        from httpsys._transport.embedded import new_event_loop

        if loop is not None:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not loop:
                raise ValueError("RemoteTransport(loop=...) must be made on that loop's thread while it runs")
        self.path = path
        self.io_barrier = io_barrier
        sock, welcome, decoder = _connect(path, timeout)
        self._ops = itertools.count(1)
        self._chan = Channel(sock, welcome, decoder, False, self, self._ops)
        self._old: Channel | None = None  # the previous daemon's connection while it drains
        self._old_handles: set[int] = set()  # the queue handles it has (receives on them go there meanwhile)
        self._deferred: list[Callable[[], None]] = []  # calls waiting for the next connection
        self._journal = Journal()
        self._journal_lock = _JournalLock(self)
        self._next_virtual = itertools.count((1 << 62) + 1, 2)
        self._lost: int | None = None  # the code later calls get once the daemon is gone for good
        self.closed = False
        first = self._chan
        self._readers: list[Channel] = [first]  # the connections the loop reads (and `_pump` polls)
        # Served by the caller's loop (decision 0025): other threads hand calls over through `_handover` and
        # a byte on the `_wake` pipe (the loop reads it, and so does `_pump` while a synchronous call waits).
        self._handover: deque[Callable[[], None]] = deque()
        self._wake: tuple[int, int] | None = None
        self._thread: threading.Thread | None = None
        if loop is not None:
            self.loop = loop
            self._loop_thread_id: int | None = threading.get_ident()
            self._wake = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            # closes the pipe once, whichever comes first: close(), a fork's child, or this object collected
            self._wake_closer = weakref.finalize(self, _close_pipe, *self._wake)
            loop.add_reader(self._wake[0], self._run_handover)
            loop.add_reader(first.fd, first.on_readable)
            self.receive_prefetch = RECEIVE_PREFETCH
            self.early_send_completion = True  # the asyncio face's small final responses (decision 0025)
            _instances.add(self)
            return
        self.receive_prefetch = 0  # a private loop thread: each receive hops anyway (decision 0025)
        self.early_send_completion = False
        private = new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(private)
            private.add_reader(first.fd, first.on_readable)
            private.call_soon(ready.set)
            private.run_forever()

        self.loop = private
        self._thread = threading.Thread(target=run, name="httpsys-remote", daemon=True)
        self._thread.start()
        ready.wait()
        self._loop_thread_id = self._thread.ident
        _instances.add(self)

    @property
    def served_by_caller_loop(self) -> bool:
        """True when the caller's event loop serves the connection (no private thread, no hops)."""
        return self._thread is None

    @property
    def client_id(self) -> int:
        return self._chan.client_id

    @property
    def peer_limits(self) -> Limits:
        return self._chan.limits

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
            for chan in (self._old, self._chan):
                if chan is not None:
                    self._flush(chan)
                    self._lose(chan, _INVALID_HANDLE, "closed")
            self._fail_deferred()
            done.set()

        if self._thread is None:  # served by the caller's loop: never stop that loop
            if self.on_driver_thread() or self.loop.is_closed() or not self.loop.is_running():
                if self.on_driver_thread():
                    self._drain_out(time.monotonic() + 5.0)  # responses handed over early leave first
                stop()
            else:
                self._later(stop, stop)
                done.wait(5)
            self._close_wake()
            return
        if self.on_driver_thread():
            stop()
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

    def _close_wake(self) -> None:
        wake = self._wake
        if wake is None:
            return
        self._wake = None
        with contextlib.suppress(RuntimeError, ValueError, OSError):
            self.loop.remove_reader(wake[0])
        self._wake_closer()
        handover = self._handover
        while handover:  # callers still waiting: their calls complete with the code (the transport is closed)
            handover.popleft()()

    def _drain_out(self, deadline: float) -> None:
        """Send everything written so far, waiting for the socket as needed, until `deadline` (loop thread)."""

        def sent() -> bool:
            if time.monotonic() > deadline:
                return True
            return all(c.lost is not None or (not c.out and not c.flush_scheduled) for c in self._readers)

        self._pump(sent, poll_ms=50)

    def _run_handover(self) -> None:
        """Run the calls other threads handed over (loop thread)."""
        wake = self._wake
        if wake is not None:
            with contextlib.suppress(OSError):
                while os.read(wake[0], 4096):
                    pass
        handover = self._handover
        while handover:
            handover.popleft()()

    def _pump(self, until: Callable[[], bool], poll_ms: int = 1000, once: bool = False) -> None:
        """Serve the connections on this (the loop's) thread until `until()`: a synchronous call made on the loop
        that serves the connection waits here, sending, reading and dispatching as the loop would (completions
        of other operations settle their futures meanwhile; handed-over calls run)."""
        while not until():
            poller = select.poll()
            by_fd: dict[int, Channel] = {}
            for chan in self._readers:
                if chan.lost is not None:
                    continue
                if chan.flush_scheduled:
                    self._flush(chan)
                if chan.lost is not None:
                    continue
                by_fd[chan.fd] = chan
                poller.register(chan.fd, select.POLLIN | (select.POLLOUT if chan.out else 0))
            wake = self._wake
            if wake is not None:
                poller.register(wake[0], select.POLLIN)
            elif not by_fd:
                return  # nothing left that could answer
            if until():
                return
            for fd, events in poller.poll(poll_ms):
                if wake is not None and fd == wake[0]:
                    self._run_handover()
                    continue
                chan = by_fd[fd]
                if events & select.POLLOUT:
                    self._flush(chan)
                if events & (select.POLLIN | select.POLLHUP | select.POLLERR) and chan.lost is None:
                    chan.on_readable()
            if once:
                return

    def _forked(self) -> None:
        """In a child after fork(): the loop thread did not come along, and the connection is the parent's. Every
        call fails at once (ERROR_INVALID_HANDLE, never a wait for a thread that is not there) and the child's
        copy of the socket is closed, so the parent's end is not kept open by the child."""
        self._lost = _INVALID_HANDLE
        self.closed = True
        self._deferred = []
        self._journal_lock = _JournalLock(self)  # a parent's thread may have held it at fork()
        self._handover.clear()
        if self._wake is not None:
            self._wake = None
            self._wake_closer()  # the child's copies (the parent's pipe is the parent's)
        for chan in (self._chan, self._old):
            if chan is None:
                continue
            chan.lost = _INVALID_HANDLE
            chan.pending = {}
            chan.tokens = {}
            chan.out.clear()
            with contextlib.suppress(OSError):
                chan.sock.close()

    # ----- issuing calls ---------------------------------------------------------------------------------------
    def _later(self, fn: Callable[[], None], fail: Callable[[], None]) -> None:
        """Run `fn` on the loop thread (now, when already there); `fail` when the loop is gone."""
        if self.on_driver_thread() or self._lost is not None:  # lost: `fn` only completes with the code
            fn()
            return
        if self._thread is None:
            wake = self._wake
            if wake is None or self.loop.is_closed():
                fail()
                return
            self._handover.append(fn)
            with contextlib.suppress(BlockingIOError):  # a full pipe has a wake-up in it already
                os.write(wake[1], b"\0")
            return
        try:
            self.loop.call_soon_threadsafe(fn)
        except RuntimeError:  # loop closed: the transport was closed
            fail()

    def _pick(self, request_id: int, connection_id: int, receive_on: int = 0) -> Channel | None:
        """The connection a call goes to (loop thread): the old daemon's for a request it delivered, and for a
        receive on a queue it has while it drains (its last requests must not wait for a receive that went to
        the new daemon: they would be reset when it ends), else the current one; None while the current one is
        gone and the next is not ready yet (the call waits)."""
        old = self._old
        chan = self._chan
        if old is not None and old.lost is None:
            if request_id and request_id not in chan.requests:
                return old
            if connection_id and connection_id not in chan.connections:
                return old
            if receive_on and receive_on in self._old_handles:
                return old
        if chan.lost is not None and chan.going_away and self._lost is None and not self.closed:
            return None
        return chan

    def _issue(
        self,
        build: Callable[[Channel], Message],
        expect: type[Message],
        on_done: OnDone,
        key: tuple[int, int] | None,
        request_id: int,
        connection_id: int,
        repost: bool,
        barrier: threading.Event | None,
        receive_on: int = 0,
    ) -> None:
        """Send a call on the connection it belongs to (loop thread)."""
        if self._lost is not None:
            on_done(None, self._lost)
            if barrier is not None:
                barrier.set()
            return
        chan = self._pick(request_id, connection_id, receive_on)
        if chan is None:
            self._deferred.append(
                lambda: self._issue(
                    build, expect, on_done, key, request_id, connection_id, repost, None, receive_on
                )
            )
            if barrier is not None:
                barrier.set()  # parked until the next connection is ready
            return
        resend: Callable[[], None] | None = None
        if repost:

            def resend() -> None:
                self._issue(build, expect, on_done, key, 0, 0, True, None, receive_on)

        try:
            message = build(chan)
        except Exception:  # a value that cannot be a message: the engine's answer for a malformed record
            on_done(None, _INVALID_PARAMETER)
            if barrier is not None:
                barrier.set()
            return
        self._send(chan, message, expect, on_done, key, resend)
        if barrier is not None:
            self._send(
                chan, M.QuerySessionProperty(session_id=0, prop=0), M.ValueDone, _release(barrier), None, None
            )

    def _io(
        self,
        build: Callable[[Channel], Message],
        expect: type[Message],
        on_done: OnDone,
        key: tuple[int, int] | None,
        request_id: int = 0,
        connection_id: int = 0,
        repost: bool = False,
        receive_on: int = 0,
    ) -> None:
        """An I/O call; with `io_barrier`, return only after the daemon has completed or parked it."""
        barrier = threading.Event() if self.io_barrier and not self.on_driver_thread() else None
        self._later(
            lambda: self._issue(
                build, expect, on_done, key, request_id, connection_id, repost, barrier, receive_on
            ),
            lambda: on_done(None, _INVALID_HANDLE),
        )
        if barrier is not None:
            barrier.wait()

    def _sync(
        self, build: Callable[[Channel], Message], expect: type[Msg], request_id: int = 0
    ) -> tuple[Msg | int, Channel | None]:
        """The daemon's answer to a call (or the failure code), and the connection that answered it."""
        on_loop = self.on_driver_thread()
        if on_loop and self._thread is not None:
            raise RuntimeError(
                "a synchronous driver call from a completion callback cannot wait in daemon mode"
            )
        future: concurrent.futures.Future[tuple[Message | int, Channel | None]] = concurrent.futures.Future()
        used: list[Channel] = []

        def on_done(answer: Message | None, code: int) -> None:
            future.set_result((answer if answer is not None else code, used[-1] if used else None))

        def build_on(chan: Channel) -> Message:
            used.append(chan)
            return build(chan)

        if on_loop:  # the loop that serves the connection: wait here, serving it (decision 0025)
            self._issue(build_on, expect, on_done, None, request_id, 0, False, None)
            self._pump(future.done)
            if not future.done():
                return _INVALID_HANDLE, None
            result, chan = future.result()
            return cast("Msg | int", result), chan
        self._later(
            lambda: self._issue(build_on, expect, on_done, None, request_id, 0, False, None),
            lambda: on_done(None, _INVALID_HANDLE),
        )
        result, chan = future.result()
        return cast("Msg | int", result), chan

    def _sync_on(self, chan: Channel, message: Message, expect: type[Msg]) -> Msg | int:
        """A call on one given connection (the replay on a new daemon)."""
        future: concurrent.futures.Future[Message | int] = concurrent.futures.Future()

        def on_done(answer: Message | None, code: int) -> None:
            future.set_result(answer if answer is not None else code)

        self._later(
            lambda: self._send(chan, message, expect, on_done, None, None),
            lambda: on_done(None, _INVALID_HANDLE),
        )
        return cast("Msg | int", future.result())

    # ----- the channel (loop thread) -----------------------------------------------------------------------------
    def _fast_channel(self) -> Channel | None:
        """The connection an I/O call may be written to at once, without the general path's closures: on the loop
        thread, with one live connection whose ids are the faces' ids (no upgrade under way); else None."""
        chan = self._chan
        if (
            self._old is None
            and chan.lost is None
            and not chan.ids
            and not chan.going_away
            and threading.get_ident() == self._loop_thread_id
        ):
            return chan
        return None

    def _send(
        self,
        chan: Channel,
        message: Message,
        expect: type[Message],
        on_done: OnDone,
        key: tuple[int, int] | None,
        resend: Callable[[], None] | None,
    ) -> None:
        if chan.lost is not None:
            if chan.going_away and resend is not None and self._lost is None:
                resend()
                return
            on_done(None, chan.lost)
            return
        if not chan.write(message, expect, on_done, ON_DONE, key, resend):
            log.debug("call not sent: %s cannot be encoded", type(message).__name__)
            on_done(None, _INVALID_PARAMETER)

    def _flush(self, chan: Channel) -> None:
        chan.flush()

    def _going_away(self, chan: Channel, message: M.GoingAway) -> None:
        """GOING_AWAY from a daemon (loop thread): an upgrade starts the reconnect, anything else is logged."""
        if message.reason == M.GOING_AWAY_UPGRADE and chan is self._chan and not chan.going_away:
            log.info("the httpsys daemon is being upgraded: reconnecting to %s", self.path)
            chan.going_away = True
            self._start_switch(min(max(message.seconds, 1.0), RECONNECT_WINDOW))
        else:
            log.warning("the httpsys daemon is going away in %.0f s: %s", message.seconds, message.reason)

    def _lose(self, chan: Channel, code_for_later: int, reason: str) -> None:
        """A connection is over. The old daemon's after an upgrade: its parked receives move to the current
        connection, its other operations complete ERROR_OPERATION_ABORTED. The current one's: pending operations
        complete ERROR_OPERATION_ABORTED and later calls fail (unless an upgrade is under way)."""
        if chan.lost is not None:
            return
        chan.lost = code_for_later if code_for_later != _ABORTED else _INVALID_HANDLE
        retiring = not self.closed and (chan is self._old or chan.going_away)
        if not self.closed:
            if retiring:
                log.info("old httpsys daemon connection ended (%s)", reason)
            else:
                log.error("httpsys daemon connection lost (%s)", reason)
        try:
            self.loop.remove_reader(chan.fd)
            if chan.writing:
                self.loop.remove_writer(chan.fd)
        except (RuntimeError, ValueError, OSError):
            pass
        if chan in self._readers:
            self._readers.remove(chan)
        chan.sock.close()
        chan.decoder.close()
        chan.out.clear()
        pending = chan.pending
        chan.pending = {}
        chan.tokens.clear()
        if chan is self._old:
            self._old = None
            self._chan.requests.clear()
            self._chan.connections.clear()
        elif chan is self._chan and not retiring:
            self._lost = chan.lost
        for _expect, on_done, key, resend, kind in pending.values():
            try:
                if retiring and isinstance(resend, M.ReceiveRequest) and key is not None:
                    self.receive_request(
                        key[0], 0, resend.flags, resend.buffer_length, resend.v2, key[1], on_done
                    )
                elif retiring and callable(resend):
                    resend()
                else:
                    fail(on_done, kind, _ABORTED)
            except Exception:  # a caller's callback must not stop the others
                log.exception("completion callback failed")
        if not retiring and chan is not self._old and self._lost is not None:
            self._fail_deferred()

    def _fail_deferred(self) -> None:
        deferred = self._deferred
        self._deferred = []
        if self._lost is None:
            self._lost = _INVALID_HANDLE
        for fn in deferred:
            fn()

    # ----- upgrade: reconnect and replay -------------------------------------------------------------------------
    def _start_switch(self, window: float) -> None:
        deadline = time.monotonic() + window
        threading.Thread(target=self._switch, args=(deadline,), name="httpsys-reconnect", daemon=True).start()

    def _switch(self, deadline: float) -> None:
        """Connect to the new daemon, replay the journal there, then make it the current connection."""
        with self._journal_lock:
            new: Channel | None = None
            while not self.closed and time.monotonic() < deadline:
                try:
                    sock, welcome, decoder = _connect(
                        self.path, max(0.1, min(2.0, deadline - time.monotonic()))
                    )
                except Exception:
                    time.sleep(0.05)
                    continue
                new = Channel(sock, welcome, decoder, True, self, self._ops)
                break
            if new is None:
                log.error("no new httpsys daemon at %s after the upgrade: the connection is lost", self.path)
                self._later(self._give_up, lambda: None)
                return
            attached = threading.Event()

            def attach() -> None:
                self.loop.add_reader(new.fd, new.on_readable)
                self._readers.append(new)
                attached.set()

            self._later(attach, attached.set)
            attached.wait(5)
            replayed = self._replay(new, deadline)
            swapped = threading.Event()

            def swap() -> None:
                old = self._chan
                self._old = old if old.lost is None else None
                self._old_handles = set(self._journal.queues)
                self._chan = new
                deferred = self._deferred
                self._deferred = []
                for fn in deferred:
                    fn()
                swapped.set()

            self._later(swap, swapped.set)
            swapped.wait(5)
        log.info("reconnected to the new httpsys daemon at %s: %d object(s) replayed", self.path, replayed)

    def _give_up(self) -> None:
        chan = self._chan
        chan.going_away = False
        if chan.lost is None:
            self._lose(chan, _ABORTED, "no new daemon after the upgrade")
        else:
            self._lost = chan.lost
        self._fail_deferred()

    def _virtual(self, chan: Channel | None, real: int) -> int:
        """The id the faces get for `real`, an id `chan`'s daemon just created (the same on the first daemon)."""
        if chan is None or not chan.remapped:
            return real
        used = self._journal.ids()
        virtual = real
        while virtual in used or virtual in chan.ids:
            virtual = next(self._next_virtual)
        if virtual != real:
            chan.ids[virtual] = real
        return virtual

    def cancel_io(self, handle_id: int, token: int | None) -> bool:
        """CANCEL for the op that carries `token` on `handle_id` (False at once when it already completed)."""
        on_loop = self.on_driver_thread()
        if on_loop and self._thread is not None:
            raise RuntimeError("cancel_io from a completion callback cannot wait in daemon mode")
        future: concurrent.futures.Future[bool] = concurrent.futures.Future()

        def issue() -> None:
            targets: list[tuple[Channel, int | None]]
            if token is None:
                targets = [
                    (chan, None) for chan in (self._chan, self._old) if chan is not None and not chan.lost
                ]
            else:
                targets = []
                for chan in (self._chan, self._old):
                    found = chan.tokens.get((handle_id, token)) if chan is not None else None
                    if chan is not None and found is not None:
                        targets.append((chan, found))
                        break
                if not targets:  # maybe waiting for the next connection: it is cancelled there or completes
                    future.set_result(False)
                    return
            if not targets:
                future.set_result(False)
                return
            answers: list[bool] = []

            def on_done(answer: Message | None, code: int) -> None:
                answers.append(isinstance(answer, M.CancelDone) and answer.cancelled)
                if len(answers) == len(targets) and not future.done():
                    future.set_result(any(answers))

            for chan, target in targets:
                message = M.Cancel(handle_id=chan.real(handle_id), target_op=target)
                self._send(chan, message, M.CancelDone, on_done, None, None)

        if self._lost is not None:
            return False
        if on_loop:  # the loop that serves the connection: wait here, serving it
            issue()
            self._pump(future.done)
            return future.result() if future.done() else False
        if self._thread is None and not self.loop.is_running():
            return False  # the loop that serves the connection has stopped: nothing can be cancelled now
        try:
            self.loop.call_soon_threadsafe(issue)
        except RuntimeError:
            return False
        return future.result()

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
        chan = self._fast_channel()
        if chan is not None:  # the per-request path: the message written at once, `done` kept as it is
            if not chan.post_receive(handle_id, request_id, flags, buffer_length, v2, token, done):
                done(_INVALID_PARAMETER, None, 0)
            return

        def on_done(answer: Message | None, code: int) -> None:
            if isinstance(answer, M.RequestDone):
                snapshot: RequestSnapshot | None = answer.snapshot
                done(answer.code, snapshot, answer.length)
            else:
                done(code, None, 0)

        def build(ch: Channel) -> Message:
            return M.ReceiveRequest(
                handle_id=ch.real(handle_id),
                request_id=request_id,
                flags=flags,
                buffer_length=buffer_length,
                v2=v2,
            )

        self._io(
            build,
            M.RequestDone,
            on_done,
            (handle_id, token),
            request_id,
            repost=not request_id,
            receive_on=0 if request_id else handle_id,
        )

    def receive_body(
        self, handle_id: int, request_id: int, max_len: int, fill: bool, token: int, done: BodyDone
    ) -> None:
        def on_done(answer: Message | None, code: int) -> None:
            if isinstance(answer, M.BytesDone):
                done(answer.code, answer.data)
            else:
                done(code, b"")

        def build(ch: Channel) -> Message:
            return M.ReceiveBody(
                handle_id=ch.real(handle_id), request_id=request_id, max_len=max_len, fill=fill
            )

        self._io(build, M.BytesDone, on_done, (handle_id, token), request_id)

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
        chan = self._fast_channel()
        if chan is not None and small_memory(chunks, chan.limits.max_message):
            if not chan.post_send_response(
                handle_id, request_id, flags, spec, chunks, cache_policy, log_data, done, token
            ):
                done(_INVALID_PARAMETER, 0)
            return
        if _bad_descriptor(chunks):
            done(_INVALID_HANDLE, 0)
            return
        chunks, spill_fd = _spill(chunks, self.peer_limits.max_message)

        def build(ch: Channel) -> Message:
            return M.SendResponse(
                handle_id=ch.real(handle_id),
                request_id=request_id,
                flags=flags,
                spec=spec,
                chunks=chunks,
                cache_policy=cache_policy,
                log_data=log_data,
            )

        key = (handle_id, token) if token else None
        self._io(build, M.SentDone, _sent(done, spill_fd), key, request_id)

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

        def build(ch: Channel) -> Message:
            return M.SendBody(
                handle_id=ch.real(handle_id),
                request_id=request_id,
                flags=flags,
                chunks=chunks,
                log_data=log_data,
            )

        key = (handle_id, token) if token else None
        self._io(build, M.SentDone, _sent(done, spill_fd), key, request_id)

    def wait_disconnect(self, handle_id: int, connection_id: int, token: int, done: CodeDone) -> None:
        def build(ch: Channel) -> Message:
            return M.WaitDisconnect(handle_id=ch.real(handle_id), connection_id=connection_id)

        self._io(build, M.CodeDone, _coded(done), (handle_id, token), connection_id=connection_id)

    def wait_demand_start(self, handle_id: int, token: int, done: CodeDone) -> None:
        def build(ch: Channel) -> Message:
            return M.WaitDemandStart(handle_id=ch.real(handle_id))

        self._io(build, M.CodeDone, _coded(done), (handle_id, token), repost=True, receive_on=handle_id)

    def receive_client_certificate(
        self, handle_id: int, connection_id: int, token: int, done: CertDone
    ) -> None:
        def build(ch: Channel) -> Message:
            return M.ReceiveClientCertificate(handle_id=ch.real(handle_id), connection_id=connection_id)

        def on_done(answer: Message | None, code: int) -> None:
            if isinstance(answer, M.ClientCertDone):
                done(answer.code, bytes(answer.cert), answer.cert_flags)
            else:
                done(code, b"", 0)

        self._io(build, M.ClientCertDone, on_done, (handle_id, token), connection_id=connection_id)


def _close_pipe(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _release(barrier: threading.Event) -> OnDone:
    def on_done(answer: Message | None, code: int) -> None:
        barrier.set()

    return on_done


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
    if sum(sizes) <= max_message - SPILL_MARGIN:
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
