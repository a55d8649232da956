"""Kernel32-style layer: handles, events, OVERLAPPED, completion ports, cancellation (spec §2.0, §6 A 5-8)."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.wintypes as wintypes
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from httpsys._core.status import Win32Error
from httpsys.win32.kernel32 import (
    ERROR_ABANDONED_WAIT_0,
    FILE_SKIP_COMPLETION_PORT_ON_SUCCESS,
    INFINITE,
    INVALID_HANDLE_VALUE,
    LPOVERLAPPED,
    OVERLAPPED,
    OVERLAPPED_ENTRY,
    WAIT_FAILED,
    WAIT_OBJECT_0,
    WAIT_TIMEOUT,
    CancelIo,
    CancelIoEx,
    CloseHandle,
    CompletionPort,
    CreateEvent,
    CreateIoCompletionPort,
    EventObject,
    GetLastError,
    GetOverlappedResult,
    GetOverlappedResultEx,
    GetQueuedCompletionStatus,
    GetQueuedCompletionStatusEx,
    HasOverlappedIoCompleted,
    IoTarget,
    PostQueuedCompletionStatus,
    ResetEvent,
    SetEvent,
    SetFileCompletionNotificationModes,
    SetLastError,
    WaitForMultipleObjects,
    WaitForSingleObject,
    begin_io,
    complete_io,
    lookup_handle,
    lookup_io_target,
    out_param_present,
    out_param_valid,
    register_handle,
    store_out_param,
    unregister_handle,
    wait_overlapped,
)

ERROR_INVALID_HANDLE = int(Win32Error.ERROR_INVALID_HANDLE)
ERROR_INVALID_PARAMETER = int(Win32Error.ERROR_INVALID_PARAMETER)
ERROR_IO_INCOMPLETE = int(Win32Error.ERROR_IO_INCOMPLETE)
ERROR_IO_PENDING = int(Win32Error.ERROR_IO_PENDING)
ERROR_OPERATION_ABORTED = int(Win32Error.ERROR_OPERATION_ABORTED)
ERROR_MORE_DATA = int(Win32Error.ERROR_MORE_DATA)
ERROR_NOT_FOUND = int(Win32Error.ERROR_NOT_FOUND)
ERROR_ALREADY_EXISTS = int(Win32Error.ERROR_ALREADY_EXISTS)


class FakeQueue:
    """An IoTarget that keeps pending operations and completes them only when cancelled or fed."""

    def __init__(self) -> None:
        self.handle = register_handle(self)
        self.pending: list[OVERLAPPED] = []
        self.closed = False

    def start(self, ov: OVERLAPPED) -> int:
        begin_io(ov)
        self.pending.append(ov)
        return ERROR_IO_PENDING

    def finish(self, code: int, nbytes: int) -> OVERLAPPED:
        ov = self.pending.pop(0)
        complete_io(self.handle, ov, code, nbytes)
        return ov

    def cancel_io(self, overlapped: OVERLAPPED | None) -> bool:
        victims = [ov for ov in self.pending if overlapped is None or ov is overlapped]
        for ov in victims:
            self.pending.remove(ov)
            complete_io(self.handle, ov, ERROR_OPERATION_ABORTED, 0)
        return bool(victims)

    def close(self) -> None:
        self.closed = True
        self.cancel_io(None)


def later(delay: float, fn: Callable[..., object], *args: object) -> threading.Thread:
    def run() -> None:
        time.sleep(delay)
        fn(*args)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def dequeue(port: int, ms: int = 1000) -> tuple[bool, int, int, OVERLAPPED | None, int]:
    nbytes, key, ov = wintypes.DWORD(), ctypes.c_size_t(), LPOVERLAPPED()
    ok = GetQueuedCompletionStatus(port, ctypes.byref(nbytes), ctypes.byref(key), ov, ms)
    return ok, nbytes.value, key.value, ov.value, GetLastError()


@pytest.fixture
def queue() -> Iterator[FakeQueue]:
    q = FakeQueue()
    yield q
    CloseHandle(q.handle)


# ---------------------------------------------------------------------------------------------- handles


def test_handles_are_distinct_nonzero_multiples_of_four_and_not_reused() -> None:
    a, b = register_handle(object()), register_handle(object())
    assert a and b and a != b and a % 4 == 0 and b % 4 == 0
    unregister_handle(a)
    c = register_handle(object())
    assert c not in (a, b)
    for h in (b, c):
        unregister_handle(h)


def test_lookup_accepts_int_ctypes_handle_and_none() -> None:
    obj = object()
    h = register_handle(obj)
    assert lookup_handle(h) is obj
    assert lookup_handle(wintypes.HANDLE(h)) is obj
    assert lookup_handle(ctypes.c_void_p(h)) is obj
    assert lookup_handle(None) is None
    assert lookup_handle("nonsense") is None
    assert unregister_handle(h) is obj
    assert lookup_handle(h) is None
    assert unregister_handle(h) is None


def test_lookup_with_kind_returns_only_objects_of_that_kind(queue: FakeQueue) -> None:
    assert lookup_handle(queue.handle, FakeQueue) is queue
    assert lookup_io_target(queue.handle) is queue
    assert isinstance(queue, IoTarget)
    assert lookup_handle(queue.handle, EventObject) is None


def test_last_error_is_thread_local() -> None:
    SetLastError(1234)
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(GetLastError()))
    thread.start()
    thread.join()
    assert seen == [0]
    assert GetLastError() == 1234


def test_close_handle_of_unknown_handle_is_invalid_handle() -> None:
    for bogus in (0, None, 4, 0x7FFFFFF0, INVALID_HANDLE_VALUE, "x", 1.5):
        SetLastError(0)
        assert CloseHandle(bogus) is False
        assert GetLastError() == ERROR_INVALID_HANDLE


def test_close_handle_twice_fails_the_second_time() -> None:
    h = CreateEvent(None, True, False, None)
    assert CloseHandle(h) is True
    assert CloseHandle(h) is False and GetLastError() == ERROR_INVALID_HANDLE
    assert SetEvent(h) is False and GetLastError() == ERROR_INVALID_HANDLE


# ---------------------------------------------------------------------------------------------- events


def test_manual_reset_event_stays_signalled_until_reset() -> None:
    h = CreateEvent(None, True, False, None)
    assert WaitForSingleObject(h, 0) == WAIT_TIMEOUT
    assert SetEvent(h)
    assert WaitForSingleObject(h, 0) == WAIT_OBJECT_0
    assert WaitForSingleObject(h, 0) == WAIT_OBJECT_0
    assert ResetEvent(h)
    assert WaitForSingleObject(h, 0) == WAIT_TIMEOUT
    CloseHandle(h)


def test_auto_reset_event_releases_exactly_one_wait() -> None:
    h = CreateEvent(None, False, True, None)
    assert WaitForSingleObject(h, 0) == WAIT_OBJECT_0
    assert WaitForSingleObject(h, 0) == WAIT_TIMEOUT
    CloseHandle(h)


def test_wait_times_out_with_wait_timeout() -> None:
    h = CreateEvent(None, True, False, None)
    start = time.monotonic()
    assert WaitForSingleObject(h, 30) == WAIT_TIMEOUT
    assert time.monotonic() - start >= 0.025
    CloseHandle(h)


def test_set_event_wakes_a_thread_blocked_forever() -> None:
    h = CreateEvent(None, False, False, None)
    later(0.02, SetEvent, h)
    assert WaitForSingleObject(h, INFINITE) == WAIT_OBJECT_0
    later(0.02, SetEvent, h)
    assert WaitForSingleObject(h, -1) == WAIT_OBJECT_0  # C# style Timeout.Infinite
    CloseHandle(h)


def test_auto_reset_event_wakes_one_of_two_waiters() -> None:
    h = CreateEvent(None, False, False, None)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(WaitForSingleObject(h, 150))) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.02)
    SetEvent(h)
    for t in threads:
        t.join()
    assert sorted(results) == [WAIT_OBJECT_0, WAIT_TIMEOUT]
    CloseHandle(h)


def test_wait_on_invalid_handle_or_bad_timeout_is_wait_failed() -> None:
    assert WaitForSingleObject(0x7FFFFFF0, 0) == WAIT_FAILED
    assert GetLastError() == ERROR_INVALID_HANDLE
    h = CreateEvent()
    assert WaitForSingleObject(h, "soon") == WAIT_FAILED
    assert GetLastError() == ERROR_INVALID_PARAMETER
    assert WaitForSingleObject(h, 1 << 40) == WAIT_FAILED
    CloseHandle(h)


def test_named_event_opens_the_existing_object_with_already_exists() -> None:
    a = CreateEvent(None, True, False, "httpsys-test-named")
    assert GetLastError() == 0
    b = CreateEvent(None, True, False, "httpsys-test-named")
    assert GetLastError() == ERROR_ALREADY_EXISTS
    assert a != b
    SetEvent(a)
    assert WaitForSingleObject(b, 0) == WAIT_OBJECT_0
    CloseHandle(a)
    CloseHandle(b)


def test_named_event_ends_with_its_last_handle() -> None:
    a = CreateEvent(None, True, True, "httpsys-test-named-life")
    b = CreateEvent(None, True, False, "httpsys-test-named-life")
    assert GetLastError() == ERROR_ALREADY_EXISTS
    CloseHandle(a)
    assert WaitForSingleObject(b, 0) == WAIT_OBJECT_0  # still the same signalled object through b
    c = CreateEvent(None, True, False, "httpsys-test-named-life")
    assert GetLastError() == ERROR_ALREADY_EXISTS
    CloseHandle(b)
    CloseHandle(c)
    d = CreateEvent(None, True, False, "httpsys-test-named-life")
    assert GetLastError() == 0  # every handle was closed: the name names a new, unsignalled event
    assert WaitForSingleObject(d, 0) == WAIT_TIMEOUT
    CloseHandle(d)


def test_wait_for_multiple_any_returns_lowest_signalled_index() -> None:
    hs = [CreateEvent(None, True, False, None) for _ in range(3)]
    assert WaitForMultipleObjects(3, hs, False, 0) == WAIT_TIMEOUT
    SetEvent(hs[2])
    SetEvent(hs[1])
    assert WaitForMultipleObjects(3, hs, False, 0) == WAIT_OBJECT_0 + 1
    ResetEvent(hs[1])
    ResetEvent(hs[2])
    later(0.02, SetEvent, hs[2])
    assert WaitForMultipleObjects(3, hs, False, 1000) == WAIT_OBJECT_0 + 2
    for h in hs:
        CloseHandle(h)


def test_wait_for_multiple_all_waits_for_every_event_and_consumes_auto_reset() -> None:
    a, b = CreateEvent(None, False, False, None), CreateEvent(None, True, False, None)
    SetEvent(a)
    assert WaitForMultipleObjects(2, [a, b], True, 10) == WAIT_TIMEOUT
    assert WaitForSingleObject(a, 0) == WAIT_OBJECT_0  # the failed wait-all consumed nothing
    SetEvent(a)
    later(0.02, SetEvent, b)
    assert WaitForMultipleObjects(2, [a, b], True, 1000) == WAIT_OBJECT_0
    assert WaitForSingleObject(a, 0) == WAIT_TIMEOUT
    assert WaitForSingleObject(b, 0) == WAIT_OBJECT_0
    CloseHandle(a)
    CloseHandle(b)


def test_wait_for_multiple_rejects_bad_counts_and_duplicates() -> None:
    h = CreateEvent()
    assert WaitForMultipleObjects(0, [h], False, 0) == WAIT_FAILED
    assert GetLastError() == ERROR_INVALID_PARAMETER
    assert WaitForMultipleObjects(2, [h], False, 0) == WAIT_FAILED
    assert WaitForMultipleObjects(2, [h, h], True, 0) == WAIT_FAILED
    assert GetLastError() == ERROR_INVALID_PARAMETER
    CloseHandle(h)


# ---------------------------------------------------------------------------------------------- overlapped


def test_overlapped_fields_default_to_zero_and_pointer_is_the_offset_union() -> None:
    ov = OVERLAPPED()
    assert (ov.Internal, ov.InternalHigh, ov.Offset, ov.OffsetHigh, ov.hEvent) == (0, 0, 0, 0, 0)
    ov.Pointer = 0x1_0000_0002
    assert (ov.Offset, ov.OffsetHigh) == (2, 1)
    assert OVERLAPPED(Offset=5, OffsetHigh=1).Pointer == 0x1_0000_0005


def test_overlapped_subclass_carries_context_even_without_calling_base_init(queue: FakeQueue) -> None:
    class Context(OVERLAPPED):
        def __init__(self, tag: str) -> None:
            self.tag = tag

    ov = Context("receive")
    queue.start(ov)
    port = CreateIoCompletionPort(queue.handle, None, 3, 0)
    later(0.01, queue.finish, 0, 2)
    nbytes = wintypes.DWORD()
    assert GetOverlappedResult(queue.handle, ov, nbytes, True) is True and nbytes.value == 2
    got = dequeue(port)[3]
    assert isinstance(got, Context) and got.tag == "receive"
    CloseHandle(port)


def test_complete_io_sets_fields_and_signals_event(queue: FakeQueue) -> None:
    ov = OVERLAPPED(hEvent=CreateEvent(None, True, True, None))
    assert queue.start(ov) == ERROR_IO_PENDING
    assert WaitForSingleObject(ov.hEvent, 0) == WAIT_TIMEOUT  # starting I/O resets hEvent
    assert not HasOverlappedIoCompleted(ov)
    later(0.02, queue.finish, 0, 42)
    assert WaitForSingleObject(ov.hEvent, 1000) == WAIT_OBJECT_0
    assert (ov.Internal, ov.InternalHigh) == (0, 42)
    assert HasOverlappedIoCompleted(ov)
    CloseHandle(ov.hEvent)


def test_get_overlapped_result_on_pending_op_without_wait_is_io_incomplete(queue: FakeQueue) -> None:
    ov = OVERLAPPED()
    queue.start(ov)
    nbytes = wintypes.DWORD(7)
    assert GetOverlappedResult(queue.handle, ov, nbytes, False) is False
    assert GetLastError() == ERROR_IO_INCOMPLETE
    assert nbytes.value == 7


def test_get_overlapped_result_waits_for_completion_from_another_thread(queue: FakeQueue) -> None:
    ov = OVERLAPPED()
    queue.start(ov)
    later(0.02, queue.finish, 0, 99)
    nbytes = wintypes.DWORD()
    assert GetOverlappedResult(queue.handle, ov, ctypes.byref(nbytes), True) is True
    assert nbytes.value == 99


def test_get_overlapped_result_waits_through_an_auto_reset_event_and_consumes_it(queue: FakeQueue) -> None:
    ev = CreateEvent(None, False, False, None)
    ov = OVERLAPPED(hEvent=ev)
    queue.start(ov)
    later(0.02, queue.finish, 0, 3)
    nbytes = ctypes.c_ulong()
    assert GetOverlappedResult(None, ov, nbytes, True) is True
    assert nbytes.value == 3
    assert WaitForSingleObject(ev, 0) == WAIT_TIMEOUT
    CloseHandle(ev)


def test_get_overlapped_result_reports_io_error_and_bytes(queue: FakeQueue) -> None:
    ov = OVERLAPPED()
    queue.start(ov)
    queue.finish(ERROR_MORE_DATA, 864)
    nbytes = wintypes.DWORD()
    assert GetOverlappedResult(queue.handle, ov, nbytes, False) is False
    assert GetLastError() == ERROR_MORE_DATA
    assert nbytes.value == 864


def test_get_overlapped_result_ex_times_out_then_succeeds(queue: FakeQueue) -> None:
    ov = OVERLAPPED()
    queue.start(ov)
    nbytes = wintypes.DWORD()
    assert GetOverlappedResultEx(queue.handle, ov, nbytes, 0, False) is False
    assert GetLastError() == ERROR_IO_INCOMPLETE
    assert GetOverlappedResultEx(queue.handle, ov, nbytes, 20, False) is False
    assert GetLastError() == WAIT_TIMEOUT
    later(0.01, queue.finish, 0, 5)
    assert GetOverlappedResultEx(queue.handle, ov, nbytes, 1000, False) is True
    assert nbytes.value == 5


def test_get_overlapped_result_rejects_null_bytes_and_non_overlapped(queue: FakeQueue) -> None:
    assert GetOverlappedResult(queue.handle, OVERLAPPED(), None, False) is False
    assert GetLastError() == ERROR_INVALID_PARAMETER
    assert GetOverlappedResult(queue.handle, "ov", wintypes.DWORD(), False) is False
    assert GetLastError() == ERROR_INVALID_PARAMETER


def test_get_overlapped_result_waiting_without_event_on_unknown_handle_is_invalid_handle() -> None:
    ov = OVERLAPPED()
    begin_io(ov)
    assert GetOverlappedResult(0x7FFFFFF0, ov, wintypes.DWORD(), True) is False
    assert GetLastError() == ERROR_INVALID_HANDLE


# ---------------------------------------------------------------------------------------------- ports


def test_completion_port_round_trips_key_and_overlapped(queue: FakeQueue) -> None:
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
    assert port and isinstance(lookup_handle(port), CompletionPort)
    assert CreateIoCompletionPort(queue.handle, port, 0xC0FFEE, 0) == port
    ov = OVERLAPPED()
    queue.start(ov)
    later(0.01, queue.finish, 0, 17)
    assert dequeue(port)[:4] == (True, 17, 0xC0FFEE, ov)
    CloseHandle(port)


def test_associating_with_a_new_port_in_one_call(queue: FakeQueue) -> None:
    port = CreateIoCompletionPort(wintypes.HANDLE(queue.handle), None, 7, 0)
    assert port and port != queue.handle
    ov = OVERLAPPED()
    queue.start(ov)
    queue.finish(0, 1)
    assert dequeue(port, 0)[:4] == (True, 1, 7, ov)
    CloseHandle(port)


def test_failed_io_dequeues_as_false_with_overlapped_and_its_code(queue: FakeQueue) -> None:
    port = CreateIoCompletionPort(queue.handle, 0, 1, 0)
    ov = OVERLAPPED()
    queue.start(ov)
    queue.finish(ERROR_MORE_DATA, 900)
    ok, nbytes, key, got, err = dequeue(port)
    assert (ok, nbytes, key, got, err) == (False, 900, 1, ov, ERROR_MORE_DATA)
    CloseHandle(port)


def test_dequeue_timeout_gives_null_overlapped_and_wait_timeout() -> None:
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
    holder = LPOVERLAPPED(OVERLAPPED())
    ok = GetQueuedCompletionStatus(port, wintypes.DWORD(), ctypes.c_ulonglong(), holder, 20)
    assert ok is False and holder.value is None and GetLastError() == WAIT_TIMEOUT
    CloseHandle(port)


def test_post_queued_completion_status_delivers_packet_as_is() -> None:
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
    assert PostQueuedCompletionStatus(port, 3, 11, None) is True
    ov = OVERLAPPED()
    assert PostQueuedCompletionStatus(port, 4, 12, ov) is True
    assert dequeue(port, 0)[:4] == (True, 3, 11, None)
    assert dequeue(port, 0)[:4] == (True, 4, 12, ov)
    assert (ov.Internal, ov.InternalHigh) == (0, 0)  # posting does not touch the OVERLAPPED
    assert PostQueuedCompletionStatus(port, "x", 0, None) is False
    assert GetLastError() == ERROR_INVALID_PARAMETER
    CloseHandle(port)
    assert PostQueuedCompletionStatus(port, 0, 0, None) is False
    assert GetLastError() == ERROR_INVALID_HANDLE


def test_many_threads_on_one_port_each_get_exactly_one_packet() -> None:
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
    n = 16
    got: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(n + 1)

    def worker() -> None:
        start.wait()
        ok, _, key, _, _ = dequeue(port, 2000)
        if ok:
            with lock:
                got.append(key)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    start.wait()
    for key in range(n):
        PostQueuedCompletionStatus(port, 0, key, None)
    for t in threads:
        t.join()
    assert sorted(got) == list(range(n))
    assert dequeue(port, 0)[0] is False
    CloseHandle(port)


def test_closing_port_wakes_waiter_with_abandoned_wait() -> None:
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
    later(0.02, CloseHandle, port)
    ok, _, _, ov, err = dequeue(port, INFINITE)
    assert (ok, ov, err) == (False, None, ERROR_ABANDONED_WAIT_0)
    assert dequeue(port, 0)[4] == ERROR_INVALID_HANDLE


def test_get_queued_completion_status_validates_arguments() -> None:
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
    PostQueuedCompletionStatus(port, 1, 1, None)
    assert GetQueuedCompletionStatus(port, None, ctypes.c_size_t(), LPOVERLAPPED(), 0) is False
    assert GetLastError() == ERROR_INVALID_PARAMETER
    assert GetQueuedCompletionStatus(port, wintypes.DWORD(), ctypes.c_size_t(), None, 0) is False
    assert GetQueuedCompletionStatus(port, wintypes.DWORD(), ctypes.c_size_t(), LPOVERLAPPED(), "x") is False
    assert GetLastError() == ERROR_INVALID_PARAMETER
    assert dequeue(port, 0)[:3] == (True, 1, 1)  # the packet was not lost to the bad calls
    CloseHandle(port)


def test_get_queued_completion_status_ex_removes_several_entries() -> None:
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
    for key in (1, 2, 3):
        PostQueuedCompletionStatus(port, key * 10, key, None)
    entries = [OVERLAPPED_ENTRY() for _ in range(2)]
    removed = wintypes.ULONG()
    assert GetQueuedCompletionStatusEx(port, entries, 2, removed, 0, False) is True
    assert removed.value == 2
    assert [(e.lpCompletionKey, e.dwNumberOfBytesTransferred) for e in entries] == [(1, 10), (2, 20)]
    assert GetQueuedCompletionStatusEx(port, entries, 2, removed, 0, False) is True
    assert removed.value == 1
    assert GetQueuedCompletionStatusEx(port, entries, 2, removed, 10, False) is False
    assert GetLastError() == WAIT_TIMEOUT
    CloseHandle(port)


def test_associating_a_handle_twice_is_invalid_parameter(queue: FakeQueue) -> None:
    port = CreateIoCompletionPort(queue.handle, None, 1, 0)
    other = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
    assert CreateIoCompletionPort(queue.handle, other, 2, 0) == 0
    assert GetLastError() == ERROR_INVALID_PARAMETER
    CloseHandle(port)
    CloseHandle(other)


def test_create_port_rejects_bad_handles() -> None:
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 0)
    assert CreateIoCompletionPort(INVALID_HANDLE_VALUE, port, 0, 0) == 0
    assert GetLastError() == ERROR_INVALID_PARAMETER
    assert CreateIoCompletionPort(0x7FFFFFF0, None, 0, 0) == 0
    assert GetLastError() == ERROR_INVALID_HANDLE
    ev = CreateEvent()
    assert CreateIoCompletionPort(ev, port, 0, 0) == 0  # an event is not an I/O target
    assert GetLastError() == ERROR_INVALID_HANDLE
    assert CreateIoCompletionPort(wintypes.HANDLE(-1), None, 0, 0) != 0  # HANDLE(-1) is INVALID_HANDLE_VALUE
    CloseHandle(ev)
    CloseHandle(port)


def test_low_bit_of_hevent_signals_the_event_but_posts_nothing(queue: FakeQueue) -> None:
    port = CreateIoCompletionPort(queue.handle, None, 1, 0)
    ev = CreateEvent(None, True, False, None)
    ov = OVERLAPPED(hEvent=ev | 1)
    queue.start(ov)
    queue.finish(0, 8)
    assert WaitForSingleObject(ev, 0) == WAIT_OBJECT_0
    assert dequeue(port, 0)[4] == WAIT_TIMEOUT
    CloseHandle(ev)
    CloseHandle(port)


def test_skip_completion_port_on_success_only_skips_synchronous_successes(queue: FakeQueue) -> None:
    port = CreateIoCompletionPort(queue.handle, None, 1, 0)
    assert SetFileCompletionNotificationModes(queue.handle, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS)
    ov = OVERLAPPED()
    begin_io(ov)
    complete_io(queue.handle, ov, 0, 5, synchronous=True)
    assert ov.InternalHigh == 5
    assert dequeue(port, 0)[4] == WAIT_TIMEOUT
    begin_io(ov)
    complete_io(queue.handle, ov, ERROR_MORE_DATA, 5, synchronous=True)
    assert dequeue(port, 0)[:4] == (False, 5, 1, ov)
    assert SetFileCompletionNotificationModes(queue.handle, 0x80) is False
    assert GetLastError() == ERROR_INVALID_PARAMETER
    CloseHandle(port)


# ---------------------------------------------------------------------------------------------- cancellation


def test_cancel_io_ex_completes_the_one_op_aborted_with_zero_bytes(queue: FakeQueue) -> None:
    port = CreateIoCompletionPort(queue.handle, None, 5, 0)
    a, b = OVERLAPPED(), OVERLAPPED()
    queue.start(a)
    queue.start(b)
    assert CancelIoEx(queue.handle, b) is True
    assert dequeue(port, 0) == (False, 0, 5, b, ERROR_OPERATION_ABORTED)
    nbytes = wintypes.DWORD(1)
    assert GetOverlappedResult(queue.handle, b, nbytes, False) is False
    assert GetLastError() == ERROR_OPERATION_ABORTED and nbytes.value == 0
    assert not HasOverlappedIoCompleted(a)
    assert CancelIoEx(queue.handle, b) is False
    assert GetLastError() == ERROR_NOT_FOUND
    assert CancelIoEx(queue.handle, None) is True
    assert dequeue(port, 0)[3] is a
    assert CancelIoEx(queue.handle) is False and GetLastError() == ERROR_NOT_FOUND
    CloseHandle(port)


def test_cancel_io_cancels_everything_and_succeeds_even_when_idle(queue: FakeQueue) -> None:
    ovs = [OVERLAPPED() for _ in range(3)]
    for ov in ovs:
        queue.start(ov)
    assert CancelIo(queue.handle) is True
    assert all(ov.Internal == ERROR_OPERATION_ABORTED for ov in ovs)
    assert CancelIo(queue.handle) is True


def test_cancel_on_unknown_or_non_io_handle_is_invalid_handle() -> None:
    assert CancelIo(0x7FFFFFF0) is False and GetLastError() == ERROR_INVALID_HANDLE
    assert CancelIoEx(None) is False and GetLastError() == ERROR_INVALID_HANDLE
    ev = CreateEvent()
    assert CancelIoEx(ev) is False and GetLastError() == ERROR_INVALID_HANDLE
    CloseHandle(ev)


def test_close_handle_closes_the_target_and_its_cancelled_ops_still_reach_the_port() -> None:
    q = FakeQueue()
    port = CreateIoCompletionPort(q.handle, None, 9, 0)
    ov = OVERLAPPED()
    q.start(ov)
    assert CloseHandle(q.handle) is True
    assert q.closed
    assert dequeue(port, 0) == (False, 0, 9, ov, ERROR_OPERATION_ABORTED)
    assert CancelIo(q.handle) is False and GetLastError() == ERROR_INVALID_HANDLE
    CloseHandle(port)


# ---------------------------------------------------------------------------------------------- out-params


@pytest.mark.parametrize(
    "make",
    [wintypes.DWORD, wintypes.ULONG, ctypes.c_ulong, ctypes.c_ulonglong, ctypes.c_size_t, wintypes.HANDLE],
)
def test_out_params_accept_ctypes_scalars_byref_pointer_and_arrays(make: Any) -> None:
    plain = make()
    assert store_out_param(plain, 123) and plain.value == 123
    target = make()
    assert store_out_param(ctypes.byref(target), 456) and target.value == 456
    target = make()
    assert store_out_param(ctypes.pointer(target), 789) and target.value == 789
    array = (make * 2)()
    assert store_out_param(array, 5) and array[0] in (5, make(5).value)
    assert out_param_present(ctypes.byref(target)) and out_param_valid(target)


def test_null_out_params_are_valid_but_absent_and_junk_is_invalid() -> None:
    null_pointer = ctypes.POINTER(wintypes.DWORD)()
    for null in (None, null_pointer):
        assert out_param_valid(null) and not out_param_present(null)
        assert store_out_param(null, 1) is False
    for junk in (5, "x", [0], object()):
        assert not out_param_valid(junk) and not out_param_present(junk)
        assert store_out_param(junk, 1) is False


def test_lpoverlapped_holder_takes_only_overlapped_or_none() -> None:
    holder = LPOVERLAPPED()
    ov = OVERLAPPED()
    assert store_out_param(holder, ov) and holder.value is ov and holder
    assert store_out_param(holder, 5) is False and holder.value is ov
    assert store_out_param(holder, None) and holder.value is None and not holder


# ---------------------------------------------------------------------------------------------- robustness


@pytest.mark.parametrize("junk", [None, "x", 1.5, object(), b"\x00", -7, 1 << 70])
def test_no_call_raises_for_junk_arguments(junk: object) -> None:
    assert SetEvent(junk) is False
    assert ResetEvent(junk) is False
    assert WaitForSingleObject(junk, junk) == WAIT_FAILED
    assert WaitForMultipleObjects(junk, junk, junk, junk) == WAIT_FAILED
    assert CloseHandle(junk) is False
    assert CancelIo(junk) is False
    assert CancelIoEx(junk, junk) is False
    assert GetOverlappedResult(junk, junk, junk, junk) is False
    assert GetOverlappedResultEx(junk, junk, junk, junk, junk) is False
    assert GetQueuedCompletionStatus(junk, junk, junk, junk, junk) is False
    assert GetQueuedCompletionStatusEx(junk, junk, junk, junk, junk, junk) is False
    assert PostQueuedCompletionStatus(junk, junk, junk, junk) is False
    assert SetFileCompletionNotificationModes(junk, junk) is False
    assert HasOverlappedIoCompleted(junk) is False
    assert GetLastError() in (ERROR_INVALID_PARAMETER, ERROR_INVALID_HANDLE)
    SetLastError(junk)
    begin_io(junk)
    complete_io(junk, junk, junk, junk)
    if junk is not None:
        assert CreateIoCompletionPort(junk, junk, junk, junk) == 0
        assert CreateEvent(junk, junk, junk, junk) == 0


def test_complete_io_tolerates_a_failing_target_lookup_and_bad_code() -> None:
    ov = OVERLAPPED(hEvent="not a handle")
    begin_io(ov)
    complete_io(None, ov, "bad", -5)
    assert HasOverlappedIoCompleted(ov)
    assert ov.Internal == ERROR_INVALID_PARAMETER


# ---------------------------------------------------------------------------------------------- asyncio


def test_wait_overlapped_from_asyncio_does_not_block_the_loop(queue: FakeQueue) -> None:
    ov = OVERLAPPED()
    queue.start(ov)

    async def main() -> tuple[tuple[int, int], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.002)

        tick_task = asyncio.create_task(ticker())
        later(0.03, queue.finish, 0, 64)
        result = await asyncio.wait_for(wait_overlapped(ov), 2)
        tick_task.cancel()
        return result, ticks

    result, ticks = asyncio.run(main())
    assert result == (0, 64)
    assert ticks >= 3


def test_wait_overlapped_returns_at_once_for_a_completed_or_bad_operation() -> None:
    ov = OVERLAPPED()
    begin_io(ov)
    complete_io(0, ov, ERROR_OPERATION_ABORTED, 0)

    async def main() -> list[tuple[int, int]]:
        return [await wait_overlapped(ov), await wait_overlapped("nope")]  # type: ignore[arg-type]

    assert asyncio.run(main()) == [(ERROR_OPERATION_ABORTED, 0), (ERROR_INVALID_PARAMETER, 0)]


def test_cancelled_wait_overlapped_leaves_no_waiter_behind() -> None:
    ov = OVERLAPPED()
    begin_io(ov)

    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(wait_overlapped(ov), 0.01)

    asyncio.run(main())
    assert ov._waiters == []
    complete_io(0, ov, 0, 1)  # completing after the loop is gone must not raise
    assert HasOverlappedIoCompleted(ov)
