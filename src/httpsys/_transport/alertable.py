"""The alertable embedded transport: the driver's loop runs on whichever application thread waits (opt-in).

Responsibility: an embedded driver whose loop no thread keeps for itself: it is *owned* by at most one thread at a
time. A thread that blocks in a win32 wait (a completion port, an event, a synchronous call) takes the loop when nobody
owns it and runs it until what it waits for happens, as an alertable wait runs APCs on Windows; a call made while
nobody owns the loop runs the driver directly on the calling thread; a call made while another thread owns it is
handed to that owner, which runs it before it lets go. An owner that leaves hands the loop to a parked waiter. A
standby thread keeps the rule that the loop is never unowned while there is work (decision 0023, amendment 2): it
sleeps in poll() on the loop's own epoll descriptor and, when I/O is ready (or 20 ms passed: timers, callbacks a
direct call left queued) while nobody owns the loop and nobody has run it for a tick, runs a few passes — so a
program that never waits (callbacks, polling) is still served, a little later. Opt-in: HTTPSYS_WIN32_ALERTABLE.
It must not add behaviour: each call forwards to the driver, as `EmbeddedTransport` does.
"""

from __future__ import annotations

import asyncio
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from httpsys._config.records import Configuration
from httpsys._core.settings import DriverSettings
from httpsys._transport.embedded import EmbeddedTransport, new_event_loop

T = TypeVar("T")

ALERTABLE_ENV = "HTTPSYS_WIN32_ALERTABLE"
_TICK = 0.005  # how long the loop may go unrun, while nobody owns it, before the standby thread runs it
# ... unless a thread called the face in the last tick (it is working through completions and will wait again):
# then up to this long, so the standby thread does not take the loop from the middle of a batch
_PATIENCE = 0.025
# the standby thread's poll timeout: timers, and callbacks a direct call left queued, wait at most this long when
# no thread waits in the face
_IDLE_MS = 20
_STANDBY_PASSES = 8  # passes the standby thread runs at most before it lets go again


class Parked(Protocol):
    """What a waiting thread hands the transport (the win32 face's one-use waiter)."""

    @property
    def woken(self) -> bool: ...

    def arm(self, stop: Callable[[], None]) -> bool:
        """Have ``stop()`` called when the wait is satisfied; False when it already is."""

    def disarm(self) -> None: ...

    def park(self, timeout: float | None) -> None:
        """Block until woken, nudged or ``timeout`` seconds pass."""

    def nudge(self) -> None:
        """End ``park`` without satisfying the wait (the thread now owns the loop)."""


class _Posted:
    """A call handed to the loop's owner, and the calling thread's wait for its result."""

    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = threading.Lock()
        self.done.acquire()
        self.result: object = None
        self.error: BaseException | None = None


class AlertableTransport(EmbeddedTransport):
    """A driver in this process whose loop runs on the application threads that wait (no driver thread)."""

    def __init__(
        self, settings: DriverSettings | None = None, configuration: Configuration | None = None
    ) -> None:
        self._mutex = threading.Lock()
        self._owner: int | None = None
        self._posted = 0
        self.handed_over = 0  # calls handed to another thread that owned the loop (a thread crossing each)
        self._followers: list[tuple[Parked, int]] = []
        self._last_pass = time.monotonic()
        self._last_call = self._last_pass
        self._wake_r, self._wake_w = os.pipe()
        super().__init__(loop=new_event_loop(), settings=settings, configuration=configuration)
        self._standby = threading.Thread(target=self._stand_by, name="httpsys-standby", daemon=True)
        self._standby.start()

    # ----- ownership -------------------------------------------------------------------------------------
    def on_driver_thread(self) -> bool:
        return self._owner == threading.get_ident()

    def _call(self, fn: Callable[[], T]) -> T:
        me = threading.get_ident()
        with self._mutex:
            owner = self._owner
            if owner is None:
                self._owner = me
                self._last_call = time.monotonic()
            elif owner != me:
                self._posted += 1
                self.handed_over += 1
        if owner == me:  # inside this thread's own run of the loop or direct call
            return fn()
        if owner is None:
            try:
                return fn()
            finally:
                self._leave()
        posted = _Posted()

        def run() -> None:
            with self._mutex:
                self._posted -= 1
            try:
                posted.result = fn()
            except BaseException as exc:  # handed to the calling thread
                posted.error = exc
            finally:
                posted.done.release()

        self.loop.call_soon_threadsafe(run)
        posted.done.acquire()
        if posted.error is not None:
            raise posted.error
        return posted.result  # type: ignore[return-value]

    def _accept(self, fn: Callable[..., None], *args: object) -> None:
        me = threading.get_ident()
        if self._owner == me:  # this thread runs the loop (only it changes _owner then)
            fn(*args)
            return
        with self._mutex:
            owner = self._owner
            if owner is None:
                self._owner = me
                self._last_call = time.monotonic()
        if owner is None:  # as _call does, without a closure: a worker between its waits
            try:
                fn(*args)
            finally:
                self._leave()
            return
        self._call(lambda: fn(*args))  # another thread owns the loop: _call hands the call over

    def _one_pass(self) -> None:
        loop = self.loop
        loop.stop()
        loop.run_forever()  # stopped before it started: one pass over ready I/O and callbacks
        self._last_pass = time.monotonic()

    def _leave(self) -> None:
        """The owner lets go: first every call handed to it, then the loop goes to a parked waiter, if any."""
        while True:
            with self._mutex:
                if self._posted == 0:
                    if self._followers:
                        parked, ident = self._followers.pop()  # the most recent waiter, as Windows wakes LIFO
                        self._owner = ident
                        parked.nudge()
                    else:
                        self._owner = None
                    return
            self._one_pass()

    def _stop_loop(self) -> None:
        """What a satisfied wait calls (from any thread): end the owner's run of the loop."""
        loop = self.loop
        if self._owner == threading.get_ident() and loop.is_running():
            loop.stop()
            return
        try:
            loop.call_soon_threadsafe(loop.stop)
        except RuntimeError:  # the loop is closed: nobody runs it any more
            pass

    def alertable_wait(self, parked: Parked, timeout: float | None) -> bool:
        """Block the calling thread until ``parked`` is woken (True) or ``timeout`` passes (False), running the
        driver's loop meanwhile when no other thread owns it."""
        if asyncio._get_running_loop() is not None:
            # this thread runs an event loop of its own and cannot run the driver's: it parks, and the thread that
            # owns the loop or the standby thread completes what it waits for
            parked.park(timeout)
            return parked.woken
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        me = threading.get_ident()
        with self._mutex:
            if parked.woken:
                return True
            if self._owner is None:
                self._owner = me
            else:
                self._followers.append((parked, me))
        if self._owner != me:
            parked.park(timeout)
            with self._mutex:
                if self._owner != me:  # woken or timed out before the loop came to this thread
                    try:
                        self._followers.remove((parked, me))
                    except ValueError:
                        pass
                    return parked.woken
        try:
            self._run_until(parked, deadline)
        finally:
            self._leave()
        return parked.woken

    def _run_until(self, parked: Parked, deadline: float | None) -> None:
        if not parked.arm(self._stop_loop):
            return
        loop = self.loop
        try:
            while not parked.woken:
                if deadline is None:
                    loop.run_forever()
                else:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return
                    # a timer per run: the loop's clock is cached and may fire it early; check and re-arm
                    timer = loop.call_later(remaining, loop.stop)
                    try:
                        loop.run_forever()
                    finally:
                        timer.cancel()
                self._last_pass = time.monotonic()
        finally:
            parked.disarm()

    def _backend_fd(self) -> int | None:
        backend = getattr(self.loop, "_get_backend_id", None)  # uvloop: libuv's epoll descriptor
        if callable(backend):
            fd = backend()
            return fd if isinstance(fd, int) else None
        selector = getattr(self.loop, "_selector", None)  # asyncio's selector loop
        fileno = getattr(selector, "fileno", None)
        return fileno() if callable(fileno) else None

    def _stand_by(self) -> None:
        """The standby thread: run the loop when there is work and nobody has run it for a tick."""
        poller = select.poll()
        backend = self._backend_fd()
        if backend is not None:
            poller.register(backend, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        ready = select.poll()
        if backend is not None:
            ready.register(backend, select.POLLIN)
        while not self.closed:
            poller.poll(_IDLE_MS)
            if self.closed:
                return
            now = time.monotonic()
            since = now - self._last_pass
            if since < _TICK:  # another thread runs the loop: look again a tick after its last pass
                time.sleep(_TICK - since)
                continue
            if since < _PATIENCE and now - self._last_call < _TICK:  # a thread is busy with the face
                time.sleep(_TICK)
                continue
            me = threading.get_ident()
            with self._mutex:
                free = self._owner is None
                if free:
                    self._owner = me
            if not free:
                time.sleep(_TICK)
                continue
            try:
                passes = 0
                while not self.closed and passes < _STANDBY_PASSES:
                    self._one_pass()
                    passes += 1
                    if self._posted or self._followers:  # an application thread wants the loop: let go
                        break
                    if backend is None or not ready.poll(0):
                        break
            except RuntimeError:  # the loop was closed under it
                return
            finally:
                self._leave()

    def close(self) -> None:
        if self.closed:
            return
        self._call(self.driver.close_all)
        self.closed = True
        os.write(self._wake_w, b"x")
        if self._standby.ident != threading.get_ident():
            self._standby.join(timeout=5)
        os.close(self._wake_w)
        os.close(self._wake_r)
        me = threading.get_ident()
        with self._mutex:
            free = self._owner is None
            if free:
                self._owner = me
        if not free:
            return  # a waiting thread runs the loop: it finishes the closes
        try:
            for _ in range(3):  # let the closes of the sockets run
                self._one_pass()
        finally:
            self._leave()
        with self._mutex:
            if self._owner is None and not self.loop.is_running():
                self.loop.close()
