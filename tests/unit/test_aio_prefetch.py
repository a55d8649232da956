"""The asyncio face's receives posted ahead (decision 0025), against a scripted transport without sockets.

Responsibility: the prefetch and ordering logic of `RequestQueue` alone: how many receives stay posted, that
requests come out in the order the receives were posted, that a cancelled caller leaves its slot posted, what
`stop_receiving()` and `close()` do with requests already in the process. The real daemon and two processes on
one named queue are tested in tests/daemon_mode/test_prefetch.py.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest

from httpsys._core.records import RequestSnapshot
from httpsys._core.status import Win32Error
from httpsys.aio.objects import RequestQueue
from httpsys.errors import HttpSysError

ABORTED = int(Win32Error.ERROR_OPERATION_ABORTED)


def snapshot(request_id: int) -> RequestSnapshot:
    return RequestSnapshot(
        request_id, 1, 0, 0, (1, 1), b"GET", b"/", "http://h:80/", "h", "/", "", ("127.0.0.1", 5),
        ("127.0.0.1", 80), False, [(b"Host", b"h")], 40,
    )  # fmt: skip


class ScriptedDriver:
    """A transport whose receives wait until the test delivers a request to the oldest one (as the driver does);
    completions run on the calling thread, as with a connection the loop serves."""

    receive_prefetch = 4

    def __init__(self) -> None:
        self.posted: deque[tuple[int, Callable[..., None]]] = deque()
        self.sent: list[tuple[int, int, int]] = []  # (request id, flags, status)
        self.closed: list[int] = []

    def on_driver_thread(self) -> bool:
        return True

    def local_io(self) -> None:
        return None

    def receive_request(self, handle: int, rid: int, flags: int, size: Any, v2: bool, token: int, done: Any) -> None:
        self.posted.append((token, done))

    def deliver(self, request_id: int) -> None:
        _token, done = self.posted.popleft()
        done(0, snapshot(request_id), 0)

    def cancel_io(self, handle: int, token: int | None) -> bool:
        for entry in list(self.posted):
            if entry[0] == token:
                self.posted.remove(entry)
                entry[1](ABORTED, None, 0)
                return True
        return False

    def send_response(self, handle: int, rid: int, flags: int, spec: Any, *rest: Any, **kw: Any) -> None:
        self.sent.append((rid, flags, spec.status))
        done = rest[3] if len(rest) > 3 else kw["done"]
        done(0, 0)

    def close_request_queue(self, handle: int) -> int:
        self.closed.append(handle)
        for _token, done in list(self.posted):
            done(ABORTED, None, 0)
        self.posted.clear()
        return 0


def run(test: Callable[[ScriptedDriver], Any]) -> None:
    async def main() -> None:
        await test(ScriptedDriver())

    asyncio.run(main())


def test_first_receive_posts_prefetch_receives_and_keeps_that_many_posted() -> None:
    async def body(driver: ScriptedDriver) -> None:
        queue = RequestQueue(driver, 7, None)  # type: ignore[arg-type]
        waiter = asyncio.ensure_future(queue.receive())
        await asyncio.sleep(0)
        assert len(driver.posted) == 4
        driver.deliver(100)
        request = await waiter
        assert request.request_id == 100
        assert len(driver.posted) == 4  # one posted again as the request was taken
        assert queue.prefetched == 4

    run(body)


def test_requests_come_out_in_posting_order_without_waiting_when_already_arrived() -> None:
    async def body(driver: ScriptedDriver) -> None:
        queue = RequestQueue(driver, 7, None)  # type: ignore[arg-type]
        first = asyncio.ensure_future(queue.receive())
        await asyncio.sleep(0)
        for rid in (1, 2, 3):
            driver.deliver(rid)
        assert (await first).request_id == 1
        # already in the process: receive() completes without yielding to the loop for a driver answer
        second = queue.receive()
        try:
            second.send(None)
        except StopIteration as done:
            assert done.value.request_id == 2
        else:
            raise AssertionError("receive() waited although the request had arrived")
        assert (await queue.receive()).request_id == 3

    run(body)


def test_a_request_that_arrived_before_receive_asked_makes_no_future() -> None:
    async def body(driver: ScriptedDriver) -> None:
        loop = asyncio.get_running_loop()
        made: list[asyncio.Future[Any]] = []
        create_future = loop.create_future

        def counting() -> asyncio.Future[Any]:
            future = create_future()
            made.append(future)
            return future

        loop.create_future = counting  # type: ignore[method-assign]
        queue = RequestQueue(driver, 7, None)  # type: ignore[arg-type]
        first = asyncio.ensure_future(queue.receive())
        await asyncio.sleep(0)
        assert made  # the first slot is waited for: futures are made then, when receive() has to wait
        for rid in (1, 2, 3, 4):
            driver.deliver(rid)
        assert (await first).request_id == 1
        made.clear()
        assert [(await queue.receive()).request_id for _ in range(3)] == [2, 3, 4]
        assert made == []  # arrived before they were asked for: handed out without a future each

    run(body)


def test_a_cancelled_receive_leaves_its_slot_for_the_next_caller() -> None:
    async def body(driver: ScriptedDriver) -> None:
        queue = RequestQueue(driver, 7, None)  # type: ignore[arg-type]
        task = asyncio.ensure_future(queue.receive())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(driver.posted) == 4  # nothing cancelled in the driver, nothing re-posted
        driver.deliver(55)
        assert (await queue.receive()).request_id == 55

    run(body)


def test_concurrent_receives_each_get_a_different_request_in_order() -> None:
    async def body(driver: ScriptedDriver) -> None:
        queue = RequestQueue(driver, 7, None)  # type: ignore[arg-type]
        tasks = [asyncio.ensure_future(queue.receive()) for _ in range(3)]
        await asyncio.sleep(0)
        for rid in (10, 11, 12):
            driver.deliver(rid)
        got = [(await t).request_id for t in tasks]
        assert got == [10, 11, 12]

    run(body)


def test_stop_receiving_hands_out_arrived_requests_then_raises_aborted() -> None:
    async def body(driver: ScriptedDriver) -> None:
        queue = RequestQueue(driver, 7, None)  # type: ignore[arg-type]
        first = asyncio.ensure_future(queue.receive())
        await asyncio.sleep(0)
        driver.deliver(1)
        driver.deliver(2)
        assert (await first).request_id == 1
        queue.stop_receiving()
        assert driver.posted == deque()  # every receive still waiting was cancelled
        assert (await queue.receive()).request_id == 2  # arrived before the stop: still served here
        with pytest.raises(HttpSysError) as failure:
            await queue.receive()
        assert failure.value.winerror == ABORTED
        assert queue.prefetched == 0
        # a later receive() posts again
        again = asyncio.ensure_future(queue.receive())
        await asyncio.sleep(0)
        driver.deliver(3)
        assert (await again).request_id == 3

    run(body)


def test_close_answers_arrived_untaken_requests_503_and_cancels_the_rest() -> None:
    async def body(driver: ScriptedDriver) -> None:
        queue = RequestQueue(driver, 7, None)  # type: ignore[arg-type]
        first = asyncio.ensure_future(queue.receive())
        await asyncio.sleep(0)
        driver.deliver(1)
        driver.deliver(2)
        driver.deliver(3)
        assert (await first).request_id == 1
        queue.close()
        assert driver.sent == [(2, 0x1, 503), (3, 0x1, 503)]  # with DISCONNECT
        assert driver.closed == [7]
        assert driver.posted == deque()

    run(body)


def test_prefetch_zero_posts_one_receive_per_call() -> None:
    async def body(driver: ScriptedDriver) -> None:
        queue = RequestQueue(driver, 7, None)  # type: ignore[arg-type]
        queue.prefetch = 0
        waiter = asyncio.ensure_future(queue.receive())
        await asyncio.sleep(0)
        assert len(driver.posted) == 1
        driver.deliver(9)
        assert (await waiter).request_id == 9
        assert len(driver.posted) == 0

    run(body)
