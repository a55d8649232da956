"""The one object per win32 I/O call (queue_handle.IoOperation): every order of issue and completion gives its code."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from httpsys._core.status import Win32Error
from httpsys.errors import code_for_error
from httpsys.win32.kernel32 import OVERLAPPED, CloseHandle
from httpsys.win32.queue_handle import IoOperation, RequestQueueHandle, run_io

OK = int(Win32Error.NO_ERROR)
IO_PENDING = int(Win32Error.ERROR_IO_PENDING)


class _NoTransport:
    def cancel_io(self, handle_id: int, token: int | None) -> bool:
        return False

    def close_request_queue(self, handle_id: int) -> int:
        return OK


def _queue() -> RequestQueueHandle:
    return RequestQueueHandle(_NoTransport(), 1)  # type: ignore[arg-type]


def _code_and_bytes(context: object, code: int, nbytes: int) -> tuple[int, int]:
    return code, nbytes


def _issue(queue: RequestQueueHandle, ov: OVERLAPPED | None, call: Callable[[IoOperation], None]) -> int:
    op = IoOperation(queue, ov, _code_and_bytes)
    try:
        call(op)
    except Exception as exc:
        return op.failed(exc, None)
    return op.issued(None)


def test_completion_inside_the_call_returns_its_code_and_completes_the_overlapped() -> None:
    queue, ov = _queue(), OVERLAPPED()
    assert _issue(queue, ov, lambda op: op(OK, 7)) == OK
    assert (ov.Internal, ov.InternalHigh) == (OK, 7)
    assert queue._tokens == {}
    CloseHandle(queue.value)


def test_a_call_that_raises_after_completing_keeps_the_completion_result() -> None:
    queue, ov = _queue(), OVERLAPPED()

    def call(op: IoOperation) -> None:
        op(OK, 3)
        raise RuntimeError("after done")

    assert _issue(queue, ov, call) == OK
    assert (ov.Internal, ov.InternalHigh) == (OK, 3)
    assert queue._tokens == {}
    CloseHandle(queue.value)


def test_a_call_that_raises_before_completing_returns_the_error_code_and_records_it() -> None:
    queue, ov = _queue(), OVERLAPPED()
    error = ValueError("refused")

    def call(op: IoOperation) -> None:
        raise error

    code = _issue(queue, ov, call)
    assert code == code_for_error(error) != IO_PENDING
    assert (ov.Internal, ov.InternalHigh) == (code, 0)
    assert queue._tokens == {}
    CloseHandle(queue.value)


def test_a_later_completion_from_another_thread_is_pending_then_completes() -> None:
    queue, ov = _queue(), OVERLAPPED()
    ops: list[IoOperation] = []
    assert _issue(queue, ov, ops.append) == IO_PENDING
    assert ov.Internal == IO_PENDING
    assert list(queue._tokens.values()) == [ops[0].token]
    worker = threading.Thread(target=ops[0], args=(int(Win32Error.ERROR_OPERATION_ABORTED), 0))
    worker.start()
    worker.join()
    assert ov.Internal == int(Win32Error.ERROR_OPERATION_ABORTED)
    assert queue._tokens == {}
    CloseHandle(queue.value)


def test_a_synchronous_call_waits_for_a_completion_from_another_thread() -> None:
    queue = _queue()
    returned: list[int] = []

    def store(context: object, code: int, nbytes: int) -> tuple[int, int]:
        returned.append(nbytes)
        return code, nbytes

    op = IoOperation(queue, None, store)
    threading.Timer(0.05, op, args=(OK, 5)).start()  # the driver completes it after the call returned
    assert op.issued(None) == OK
    assert returned == [5]
    CloseHandle(queue.value)


def test_a_completion_whose_write_fails_reports_the_code_instead_of_raising() -> None:
    queue, ov = _queue(), OVERLAPPED()
    error = TypeError("buffer refused")

    def refuse(*raw: Any) -> tuple[int, int]:
        raise error

    ops: list[Callable[..., None]] = []
    code = run_io(queue, ov, None, lambda token, done: ops.append(done), refuse)
    assert code == IO_PENDING
    ops[0](OK, 1)  # on the driver thread: must not raise
    assert ov.Internal == code_for_error(error)
    CloseHandle(queue.value)
