"""The private driver loop is lent to the thread that waits (decision 0023): who runs it, when, and on which thread
a completion then runs. No sockets: a bare event loop stands in for the driver's."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from httpsys._transport.embedded import new_event_loop
from httpsys._transport.lending import LoopLender, Waiter, block


@pytest.fixture
def lender() -> Iterator[LoopLender]:
    """A lender without its background thread: only waiting threads run the loop."""
    loop = new_event_loop()
    lender = LoopLender(loop)
    yield lender
    lender.close(timeout=1)
    loop.close()


@pytest.fixture
def served() -> Iterator[LoopLender]:
    """A lender with its background thread, as EmbeddedTransport() runs it."""
    loop = new_event_loop()
    lender = LoopLender(loop)
    thread = threading.Thread(target=lender.background, daemon=True)
    thread.start()
    yield lender
    lender.close(timeout=1)
    thread.join(5)
    assert not thread.is_alive()
    loop.close()


def test_a_call_while_nobody_holds_the_loop_runs_on_the_calling_thread(lender: LoopLender) -> None:
    assert lender.call(threading.get_ident) == threading.get_ident()
    assert lender.owner == 0  # released again


def test_a_waiting_thread_runs_the_loop_and_its_completion_never_crosses_threads(lender: LoopLender) -> None:
    waiter = Waiter()
    ran_on: list[int] = []

    def complete() -> None:
        ran_on.append(threading.get_ident())
        waiter.wake()

    lender.call(lender.loop.call_soon, complete)  # what a driver call does: schedule work on its loop
    assert block(waiter, lender, 5.0)
    assert ran_on == [threading.get_ident()]
    assert lender.owner == 0


def test_a_wake_from_another_thread_stops_the_loop_the_waiter_runs(lender: LoopLender) -> None:
    waiter = Waiter()
    threading.Timer(0.05, waiter.wake).start()
    began = time.monotonic()
    assert block(waiter, lender, 5.0)
    assert time.monotonic() - began < 4.0
    assert lender.owner == 0


def test_a_wait_times_out_and_gives_the_loop_back(lender: LoopLender) -> None:
    began = time.monotonic()
    assert not block(Waiter(), lender, 0.05)
    assert 0.04 <= time.monotonic() - began < 4.0
    assert lender.owner == 0


def test_a_second_waiter_follows_and_is_promoted_when_the_first_leaves(lender: LoopLender) -> None:
    first = Waiter()
    second_ran_on: list[int] = []
    second_done = threading.Event()
    holder: list[Waiter] = []

    def second_thread() -> None:
        waiter = Waiter()  # created on the waiting thread
        holder.append(waiter)
        block(waiter, lender, 5.0)
        second_done.set()

    thread = threading.Thread(target=second_thread)
    first_running = threading.Event()
    lender.call(lender.loop.call_soon, first_running.set)

    def start_second() -> None:
        thread.start()

    lender.call(lender.loop.call_soon, start_second)
    threading.Timer(0.2, first.wake).start()
    assert block(first, lender, 5.0)  # this thread ran the loop until woken
    assert first_running.is_set()
    for _ in range(100):
        if holder and lender.owner == thread.ident:
            break
        time.sleep(0.01)
    assert lender.owner == thread.ident  # the follower took the loop when this thread left it

    def on_second() -> None:
        second_ran_on.append(threading.get_ident())
        holder[0].wake()

    lender.loop.call_soon_threadsafe(on_second)
    assert second_done.wait(5)
    thread.join(5)
    assert second_ran_on == [thread.ident]


def test_the_background_thread_runs_the_loop_when_nobody_waits(served: LoopLender) -> None:
    ran = threading.Event()
    ran_on: list[int] = []

    def mark() -> None:
        ran_on.append(threading.get_ident())
        ran.set()

    served.loop.call_soon_threadsafe(mark)
    assert ran.wait(5)
    assert ran_on[0] == served._background


def test_a_waiter_inside_its_own_asyncio_loop_is_served_by_the_background_thread(served: LoopLender) -> None:
    async def main() -> tuple[bool, int]:
        waiter = Waiter()
        ran_on: list[int] = []

        def complete() -> None:
            ran_on.append(threading.get_ident())
            waiter.wake()

        served.loop.call_soon_threadsafe(complete)
        return block(waiter, served, 5.0), ran_on[0]  # cannot run a second loop here: it parks

    ok, ran_on = asyncio.run(main())
    assert ok
    assert ran_on == served._background


def test_a_call_after_close_raises_instead_of_hanging(lender: LoopLender) -> None:
    lender.close(timeout=1)
    with pytest.raises(RuntimeError):
        lender.call(int)
