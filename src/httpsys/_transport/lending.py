"""Who runs the private driver's event loop: the thread that waits for it, else a background thread.

Responsibility: the loop of an `EmbeddedTransport()` driver (one not hosted on an application's loop) is run, at any
moment, by at most one thread, its *owner*. A thread that blocks until something happens (`block`: a
GetQueuedCompletionStatus, a synchronous call, a WaitForSingleObject of the win32 face) becomes the owner and runs
the loop itself while it waits, when no other thread does — the way an alertable wait on Windows runs the APCs
queued to it — so the driver's completions reach a one-thread completion-port server without crossing threads. A
thread that calls the driver while nobody owns the loop calls it directly (`call`); otherwise the call is handed
to the owner. A waiter that cannot run the loop parks as a *follower* and is promoted when the owner leaves; the
background thread takes the loop only when it has been left unowned for a tick (an application thread busy with
its own work), or at once when a waiter cannot run it (it is inside an asyncio loop of its own).

It must not know HTTP or the driver's methods: it runs callables and an event loop, nothing else. Every change of
ownership and of waiter state happens under one module lock (`_mutex`), held only for a few attribute updates.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Final, TypeVar

__all__ = ["LoopLender", "Waiter", "block"]

T = TypeVar("T")

_mutex: Final = threading.Lock()
_get_ident: Final = threading.get_ident
_running_loop: Final = asyncio._get_running_loop  # the C accessor: None outside a running loop

# The background thread checks an unowned loop this often while the server is busy (each check takes the GIL from
# the thread at work; 1 ms cost a measurable share of a busy server's CPU), backing off while the loop stays
# owned (an idle server then costs ~50 wake-ups/s).
_TICK_MIN: Final = 0.005
_TICK_MAX: Final = 0.02


class Waiter:
    """One thread's wait for one thing. `wake()` (from any thread, any number of times) ends it.

    Single use: a new Waiter per wait. While its thread runs a lender's loop (`lender` set), waking it stops that
    loop; otherwise waking it releases its parker.
    """

    __slots__ = ("_parker", "_released", "lender", "thread", "woken")

    def __init__(self) -> None:
        self._parker = threading.Lock()
        self._parker.acquire()
        self._released = False
        self.woken = False
        self.lender: LoopLender | None = None
        self.thread = _get_ident()

    def wake(self) -> None:
        with _mutex:
            if self.woken:
                return
            self.woken = True
            lender = self.lender
            if lender is None:
                _unpark_locked(self)
            elif _get_ident() == self.thread:
                lender.loop.stop()  # a completion on the waiting thread's own loop: it returns after this pass
            else:
                lender.loop.call_soon_threadsafe(lender.loop.stop)


def _unpark_locked(waiter: Waiter) -> None:
    if not waiter._released:
        waiter._released = True
        waiter._parker.release()


class LoopLender:
    """The ownership of one event loop among the threads that wait on its driver (see the module docstring)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.owner = (
            0  # ident of the thread holding the loop (running it, or calling the driver directly); 0: free
        )
        self.takes = 0  # how many times the loop was taken (the background thread's "left unowned" test)
        self.closed = False
        self.followers: deque[Waiter] = deque()
        self.stranded = 0  # waiters that cannot run the loop (inside a running asyncio loop of their own)
        self._background = 0
        self._background_parker: Waiter | None = None
        self._urgent = False

    # ----- ownership (under _mutex) ------------------------------------------------------------------------
    def _take_locked(self, ident: int) -> None:
        self.owner = ident
        self.takes += 1

    def _release_locked(self) -> None:
        self.owner = 0
        if self.closed:
            if self._background_parker is not None:
                _unpark_locked(self._background_parker)
            return
        if self.followers:
            _unpark_locked(self.followers.popleft())
        elif self.stranded:
            self._kick_locked()

    def _kick_locked(self) -> None:
        """Have the background thread take the loop now (a waiter cannot run it)."""
        self._urgent = True
        if self._background_parker is not None:
            _unpark_locked(self._background_parker)

    def owned_here(self) -> bool:
        return self.owner == _get_ident()

    # ----- calls -------------------------------------------------------------------------------------------
    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` with the loop held: directly when it is free or already ours, else by its owner."""
        me = _get_ident()
        with _mutex:
            if self.closed:
                raise RuntimeError("the driver's event loop has stopped")
            owner = self.owner
            if owner == 0:
                self._take_locked(me)
        if owner == me:
            return fn(*args)
        if owner == 0:
            try:
                return fn(*args)
            finally:
                with _mutex:
                    self._release_locked()
        waiter = Waiter()
        box: list[tuple[bool, Any]] = []

        def run() -> None:
            try:
                box.append((True, fn(*args)))
            except BaseException as exc:  # handed to the calling thread
                box.append((False, exc))
            waiter.wake()

        self.loop.call_soon_threadsafe(run)
        block(waiter, self, None)
        ok, value = box[0]
        if ok:
            result: T = value
            return result
        raise value

    # ----- the background thread ---------------------------------------------------------------------------
    def background(self) -> None:
        """The body of the driver's own thread: run the loop whenever no waiting thread does; return once closed."""
        me = _get_ident()
        self._background = me
        tick = _TICK_MIN
        seen_free = False
        seen_takes = -1
        while True:
            parker = Waiter()
            with _mutex:
                if self.closed:
                    take = self.owner == 0
                    if take:
                        self._take_locked(me)
                    else:
                        self._background_parker = parker
                    last = True
                else:
                    last = False
                    free = self.owner == 0
                    idle = free and seen_free and self.takes == seen_takes
                    if idle and self.followers:
                        # Unowned for a tick with threads waiting to run it: hand it to one (a safety net; every
                        # release promotes a follower, so this should not happen).
                        _unpark_locked(self.followers.popleft())
                        free = False
                    take = free and (self._urgent or idle)
                    if take:
                        self._urgent = False
                        self._take_locked(me)
                    else:
                        seen_free, seen_takes = free, self.takes
                        self._background_parker = parker
            if take:
                self._run_background(last)
                if last:
                    return
                tick = _TICK_MIN
                seen_free = False
                continue
            parker._parker.acquire(timeout=tick)
            with _mutex:
                self._background_parker = None
                busy = self.takes != seen_takes
            tick = _TICK_MIN if busy else min(tick * 2, _TICK_MAX)

    def _run_background(self, last: bool) -> None:
        loop = self.loop
        try:
            while True:
                if last:  # closing: the callbacks already scheduled run once, then the loop stops for good
                    loop.call_soon(loop.stop)
                loop.run_forever()
                with _mutex:
                    if last or self.closed or self.followers:
                        break
        finally:
            with _mutex:
                self._release_locked()

    def _interrupt_background_locked(self) -> None:
        if self.owner == self._background and self.owner != 0:
            self.loop.call_soon_threadsafe(self.loop.stop)

    def close(self, timeout: float = 5.0) -> None:
        """No thread takes the loop any more; the one running it stops. Returns once nobody holds it (or timeout)."""
        with _mutex:
            self.closed = True
            if self.owner != 0 and self.owner != _get_ident():
                self.loop.call_soon_threadsafe(self.loop.stop)
            if self._background_parker is not None:
                _unpark_locked(self._background_parker)
        deadline = time.monotonic() + timeout
        while self.owner not in (0, _get_ident()) and time.monotonic() < deadline:
            time.sleep(0.001)


def block(waiter: Waiter, lender: LoopLender | None, timeout: float | None) -> bool:
    """Wait until `waiter.wake()` (True) or `timeout` seconds (False; None waits forever).

    With a lender, the calling thread runs its loop while it waits when nobody else does, and otherwise parks as a
    follower that is promoted when the owner leaves. Without one (the driver elsewhere), it parks.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    me = waiter.thread
    eligible = lender is not None and _running_loop() is None
    stranded = False
    try:
        while True:
            run = False
            with _mutex:
                if waiter.woken:
                    return True
                if lender is not None and not lender.closed:
                    if not eligible:
                        if not stranded:
                            stranded = True
                            lender.stranded += 1
                        if lender.owner == 0:
                            lender._kick_locked()
                    elif lender.owner == 0:
                        lender._take_locked(me)
                        waiter.lender = lender
                        run = True
                    elif lender.owner != me:
                        lender.followers.append(waiter)
                        lender._interrupt_background_locked()
            if run:
                assert lender is not None
                loop = lender.loop
                handle = None
                if deadline is not None:
                    handle = loop.call_later(max(0.0, deadline - time.monotonic()), loop.stop)
                try:
                    loop.run_forever()
                finally:
                    if handle is not None:
                        handle.cancel()
                    with _mutex:
                        waiter.lender = None
                        lender._release_locked()
            else:
                if deadline is None:
                    got = waiter._parker.acquire()
                else:
                    got = waiter._parker.acquire(timeout=max(0.0, deadline - time.monotonic()))
                with _mutex:
                    if got:
                        waiter._released = False
                    if lender is not None:
                        try:
                            lender.followers.remove(waiter)
                        except ValueError:
                            pass
                    if waiter.woken:
                        return True
                if not got:
                    return False
            if deadline is not None and time.monotonic() >= deadline:
                return waiter.woken
    finally:
        if lender is not None:
            with _mutex:
                if stranded:
                    lender.stranded -= 1
                try:
                    lender.followers.remove(waiter)
                except ValueError:
                    pass
                if lender.owner == 0 and lender.followers and not lender.closed:
                    _unpark_locked(lender.followers.popleft())  # a promotion this waiter may not have used
