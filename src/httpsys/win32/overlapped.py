"""The kernel32 objects an application holds, subclasses or extends: OVERLAPPED, its out-parameter holders, the
thread's last error, the shape of an I/O target, and the main thread's wait in slices.

Responsibility: define these few classes in an interpreted module, so that `kernel32.py`, which does the work
on them, can be compiled (decision 0023, amendment 6): an application subclasses OVERLAPPED (the IO_CONTEXT
idiom) and sets arbitrary attributes on it, `_LastError` is a `threading.local` subclass and `IoTarget` a
runtime-checkable Protocol, none of which a compiled class can be; and the main thread's sliced wait must run
bytecode for a signal handler to run between slices. It must not do any I/O or validation:
`kernel32.py` does, and re-exports every name here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final, Protocol, runtime_checkable

_DWORD_MASK: Final = 0xFFFFFFFF
_PTR_MASK: Final = 0xFFFFFFFFFFFFFFFF

CompletionCallback = Callable[[int, int], None]


# Python runs signal handlers on the main thread only, and a process-directed signal (Ctrl+C's SIGINT) may be
# delivered to another thread - the driver's loop thread - leaving the main thread asleep in a lock it never
# leaves: a synchronous HttpReceiveHttpRequest in the main thread then ignored Ctrl+C. The main thread therefore
# sleeps in slices, and a signal is handled (KeyboardInterrupt raised) at the end of the slice it came in.
_SIGNAL_SLICE: Final = 0.25


def acquire_in_slices(parker: threading.Lock, timeout: float | None) -> bool:
    """The main thread's wait for `parker` (None: without limit), in slices. Interpreted on purpose: Python runs a
    pending signal handler between bytecodes, so a compiled loop of slices would never raise KeyboardInterrupt."""
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    while True:
        wait = (
            _SIGNAL_SLICE if deadline is None else min(_SIGNAL_SLICE, max(0.0, deadline - time.monotonic()))
        )
        if parker.acquire(timeout=wait):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False


class _LastError(threading.local):
    code: int = 0


last_error: Final = _LastError()  # the calling thread's last-error code (GetLastError/SetLastError)


@runtime_checkable
class IoTarget(Protocol):
    """An object behind a handle that accepts overlapped I/O (the HTTP layer's request queues).

    ``cancel_io(None)`` cancels all I/O of the handle issued by any thread, ``cancel_io(ov)`` the one operation;
    it returns whether anything was cancelled. The target completes each cancelled operation itself through
    ``complete_io(handle, ov, ERROR_OPERATION_ABORTED, 0)``. ``close()`` is what ``CloseHandle`` calls (after the
    handle value stopped resolving); it cancels everything pending on the handle.
    """

    def cancel_io(self, overlapped: OVERLAPPED | None) -> bool: ...

    def close(self) -> None: ...


class OVERLAPPED:
    """The Win32 OVERLAPPED structure; the object itself is the address that completions hand back.

    ``Internal`` holds the Win32 code of the operation (``ERROR_IO_PENDING`` while it runs), ``InternalHigh``
    the bytes transferred. ``hEvent`` is 0 or an event handle; with its low bit set the completion is not
    posted to a completion port. ``Pointer`` is the union view of ``Offset``/``OffsetHigh``. Subclass it to
    carry per-operation context (the C idiom of embedding the OVERLAPPED in a larger struct).
    """

    Internal: int = 0
    InternalHigh: int = 0
    Offset: int = 0
    OffsetHigh: int = 0
    hEvent: object = 0

    def __init__(
        self,
        Internal: int = 0,
        InternalHigh: int = 0,
        Offset: int = 0,
        OffsetHigh: int = 0,
        hEvent: object = 0,
        *,
        Pointer: int | None = None,
    ) -> None:
        self.Internal = Internal
        self.InternalHigh = InternalHigh
        self.Offset = Offset
        self.OffsetHigh = OffsetHigh
        self.hEvent = hEvent
        self._waiters: list[CompletionCallback] = []
        if Pointer is not None:
            self.Pointer = Pointer

    @property
    def Pointer(self) -> int:
        return (self.Offset & _DWORD_MASK) | ((self.OffsetHigh & _DWORD_MASK) << 32)

    @Pointer.setter
    def Pointer(self, value: int) -> None:
        value &= _PTR_MASK
        self.Offset = value & _DWORD_MASK
        self.OffsetHigh = value >> 32

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} at {id(self):#x} Internal={self.Internal} InternalHigh={self.InternalHigh}"
            f" hEvent={self.hEvent!r}>"
        )


class OVERLAPPED_ENTRY:
    """One entry filled by GetQueuedCompletionStatusEx."""

    def __init__(
        self,
        lpCompletionKey: int = 0,
        lpOverlapped: OVERLAPPED | None = None,
        Internal: int = 0,
        dwNumberOfBytesTransferred: int = 0,
    ) -> None:
        self.lpCompletionKey = lpCompletionKey
        self.lpOverlapped = lpOverlapped
        self.Internal = Internal
        self.dwNumberOfBytesTransferred = dwNumberOfBytesTransferred

    def __repr__(self) -> str:
        return (
            f"OVERLAPPED_ENTRY(lpCompletionKey={self.lpCompletionKey}, lpOverlapped={self.lpOverlapped!r},"
            f" Internal={self.Internal}, dwNumberOfBytesTransferred={self.dwNumberOfBytesTransferred})"
        )


class LPOVERLAPPED:
    """Out-parameter holder for an ``LPOVERLAPPED*`` (GetQueuedCompletionStatus): ``.value`` gets the OVERLAPPED."""

    __slots__ = ("value",)

    def __init__(self, value: OVERLAPPED | None = None) -> None:
        self.value = value

    @property
    def contents(self) -> OVERLAPPED | None:
        return self.value

    def __bool__(self) -> bool:
        return self.value is not None

    def __repr__(self) -> str:
        return f"LPOVERLAPPED({self.value!r})"
