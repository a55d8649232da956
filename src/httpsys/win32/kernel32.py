"""Kernel32-style synchronization for the win32 face: handles, events, OVERLAPPED, completion ports.

Responsibility: emulate, with threads, the Win32 objects and calls an HTTP Server API program uses around its
asynchronous I/O (``CreateEvent``, ``WaitForSingleObject``, ``OVERLAPPED``, ``GetOverlappedResult``,
``CreateIoCompletionPort``, ``GetQueuedCompletionStatus``, ``CancelIoEx``, ``CloseHandle``, ``GetLastError`` ...)
and offer the one place an asynchronous operation completes (``complete_io``).

It must not know anything about HTTP: request queues reach it only as ``IoTarget`` objects registered in the
handle table. No function here raises for any argument: kernel32-style calls return ``False``/``0``/
``WAIT_FAILED`` and set the thread's last error, as on Windows.
"""

from __future__ import annotations

import asyncio
import ctypes
import operator
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any, Final, TypeAlias, TypeVar, overload

from httpsys._core.status import Win32Error

from .overlapped import LPOVERLAPPED, OVERLAPPED, OVERLAPPED_ENTRY, IoTarget, acquire_in_slices
from .overlapped import CompletionCallback as _CompletionCallback
from .overlapped import last_error as _last_error

__all__ = [
    "ERROR_ABANDONED_WAIT_0",
    "FILE_SKIP_COMPLETION_PORT_ON_SUCCESS",
    "FILE_SKIP_SET_EVENT_ON_HANDLE",
    "INFINITE",
    "INVALID_HANDLE_VALUE",
    "LPOVERLAPPED",
    "MAXIMUM_WAIT_OBJECTS",
    "OVERLAPPED",
    "OVERLAPPED_ENTRY",
    "WAIT_ABANDONED_0",
    "WAIT_FAILED",
    "WAIT_IO_COMPLETION",
    "WAIT_OBJECT_0",
    "WAIT_TIMEOUT",
    "CancelIo",
    "CancelIoEx",
    "CloseHandle",
    "CompletionPort",
    "CreateEvent",
    "CreateEventA",
    "CreateEventW",
    "CreateIoCompletionPort",
    "EventObject",
    "GetLastError",
    "GetOverlappedResult",
    "GetOverlappedResultEx",
    "GetQueuedCompletionStatus",
    "GetQueuedCompletionStatusEx",
    "HandleTable",
    "HasOverlappedIoCompleted",
    "IoTarget",
    "PostQueuedCompletionStatus",
    "ResetEvent",
    "SetEvent",
    "SetFileCompletionNotificationModes",
    "SetLastError",
    "WaitForMultipleObjects",
    "WaitForSingleObject",
    "begin_io",
    "complete_io",
    "handle_value",
    "lookup_handle",
    "lookup_io_target",
    "out_param_present",
    "out_param_valid",
    "register_handle",
    "store_out_param",
    "unregister_handle",
    "wait_overlapped",
]

T = TypeVar("T")

# --------------------------------------------------------------------------------------------------------------
# Constants (WinBase.h / WinNT.h / WinError.h values)
# --------------------------------------------------------------------------------------------------------------

INFINITE: Final = 0xFFFFFFFF
WAIT_OBJECT_0: Final = 0
WAIT_ABANDONED_0: Final = 0x80
WAIT_IO_COMPLETION: Final = 0xC0
WAIT_TIMEOUT: Final = 258
WAIT_FAILED: Final = 0xFFFFFFFF
MAXIMUM_WAIT_OBJECTS: Final = 64
INVALID_HANDLE_VALUE: Final = -1
ERROR_ABANDONED_WAIT_0: Final = 735
FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: Final = 0x1
FILE_SKIP_SET_EVENT_ON_HANDLE: Final = 0x2

_NO_ERROR: Final = int(Win32Error.NO_ERROR)
_ERROR_INVALID_HANDLE: Final = int(Win32Error.ERROR_INVALID_HANDLE)
_ERROR_INVALID_PARAMETER: Final = int(Win32Error.ERROR_INVALID_PARAMETER)
_ERROR_IO_PENDING: Final = int(Win32Error.ERROR_IO_PENDING)
_ERROR_IO_INCOMPLETE: Final = int(Win32Error.ERROR_IO_INCOMPLETE)
_ERROR_NOT_FOUND: Final = int(Win32Error.ERROR_NOT_FOUND)
_ERROR_ALREADY_EXISTS: Final = int(Win32Error.ERROR_ALREADY_EXISTS)

_DWORD_MASK: Final = 0xFFFFFFFF
_PTR_MASK: Final = 0xFFFFFFFFFFFFFFFF
_FIRST_HANDLE: Final = 0x100
_HANDLE_STEP: Final = 4
_RETIRED_ASSOCIATIONS: Final = 4096
_INTEGER_CTYPE_CODES: Final = frozenset("bBhHiIlLqQP")

# --------------------------------------------------------------------------------------------------------------
# Last error (thread-local)
# --------------------------------------------------------------------------------------------------------------


def GetLastError() -> int:
    """Return the calling thread's last-error code."""
    return _last_error.code


def SetLastError(dwErrCode: object) -> None:
    """Set the calling thread's last-error code (a DWORD; anything else is ignored)."""
    code = _dword(dwErrCode)
    if code is not None:
        _last_error.code = code


def _fail(code: int) -> bool:
    _last_error.code = code
    return False


# --------------------------------------------------------------------------------------------------------------
# Blocking: a thread that waits parks; the driver's own thread completes what it waits for (decision 0023)
# --------------------------------------------------------------------------------------------------------------


class Waiter:
    """One thread's wait for one thing: `wake()` (from any thread, any number of times) ends it. Single use.

    Under an alertable transport (decision 0023, amendment 2) the waiting thread may run the driver's loop
    instead of parking: `arm` gives the waiter what stops that run, `nudge` ends a park without satisfying it.
    """

    __slots__ = ("_open", "_parker", "_stop", "woken")

    def __init__(self) -> None:
        self._parker = threading.Lock()
        self._parker.acquire()
        self._open = False
        self._stop: Callable[[], None] | None = None
        self.woken = False

    def wake(self) -> None:
        with _wake_mutex:
            if self.woken:
                return
            self.woken = True
            stop = self._stop
            release = not self._open
            self._open = True
        if stop is not None:
            stop()
        if release:
            self._parker.release()

    def arm(self, stop: Callable[[], None]) -> bool:
        with _wake_mutex:
            if self.woken:
                return False
            self._stop = stop
            return True

    def disarm(self) -> None:
        with _wake_mutex:
            self._stop = None

    def park(self, timeout: float | None) -> None:
        _acquire(self._parker, timeout)

    def nudge(self) -> None:
        with _wake_mutex:
            release = not self._open
            self._open = True
        if release:
            self._parker.release()


_wake_mutex: Final = threading.Lock()
_alertable: Callable[[Waiter, float | None], bool] | None = None


def set_alertable_wait(wait: Callable[[Waiter, float | None], bool] | None) -> None:
    """Route every blocking wait of the face through ``wait`` (an alertable transport's), or back to parking."""
    global _alertable
    _alertable = wait


def wait_for(waiter: Waiter, timeout: float | None) -> bool:
    """Block the calling thread until ``waiter.wake()`` (True) or ``timeout`` seconds pass (False)."""
    if waiter.woken:
        return True
    alertable = _alertable
    if alertable is not None:
        return alertable(waiter, timeout)
    return _acquire(waiter._parker, timeout) or waiter.woken


_MAIN_THREAD: Final = threading.main_thread().ident


def _acquire(parker: threading.Lock, timeout: float | None) -> bool:
    """Acquire `parker` within `timeout` seconds (None: without limit); the main thread in slices (overlapped.py)."""
    if threading.get_ident() != _MAIN_THREAD:
        return parker.acquire() if timeout is None else parker.acquire(timeout=max(0.0, timeout))
    return acquire_in_slices(parker, timeout)


# --------------------------------------------------------------------------------------------------------------
# Argument coercion
# --------------------------------------------------------------------------------------------------------------

_CArgObject: Final = type(ctypes.byref(ctypes.c_int()))


def _integer(x: object) -> int | None:
    """An int from an int-like value or a ctypes integer scalar; ``None`` when x is neither."""
    if isinstance(x, int):
        return int(x)
    if isinstance(x, ctypes._SimpleCData):
        if getattr(type(x), "_type_", "") not in _INTEGER_CTYPE_CODES:
            return None
        value = x.value
        return 0 if value is None else int(value)
    if isinstance(x, (float, str, bytes)):
        return None
    try:
        return operator.index(x)  # type: ignore[arg-type]
    except Exception:
        return None


def _dword(x: object) -> int | None:
    """A DWORD: negative values are taken as two's complement (so -1 is INFINITE), as C and C# callers pass."""
    if type(x) is int and 0 <= x <= _DWORD_MASK:  # the common case first
        return x
    value = _integer(x)
    if value is None or not -(1 << 31) <= value <= _DWORD_MASK:
        return None
    return value & _DWORD_MASK


def _ulong_ptr(x: object) -> int | None:
    """A ULONG_PTR (completion key): ``None`` is 0, negatives are two's complement."""
    if x is None:
        return 0
    value = _integer(x)
    if value is None or not -(1 << 63) <= value <= _PTR_MASK:
        return None
    return value & _PTR_MASK


def _timeout(x: object) -> tuple[bool, float | None]:
    """(valid, seconds) for a dwMilliseconds argument; seconds ``None`` means INFINITE."""
    ms = _dword(x)
    if ms is None:
        return False, None
    if ms == INFINITE:
        return True, None
    return True, ms / 1000.0


def _flag(x: object) -> bool | None:
    if x is None:
        return False
    if isinstance(x, bool):
        return x
    value = _integer(x)
    return None if value is None else value != 0


def handle_value(h: object) -> int | None:
    """The int value of a handle argument: an int, a ctypes scalar (``HANDLE``, ``c_void_p``) or ``None``.

    NULL (``None``, ``HANDLE()``) is 0; ``HANDLE(-1)`` is ``INVALID_HANDLE_VALUE`` (-1). Returns ``None`` when
    the argument cannot be a handle at all (a str, a float, an arbitrary object).
    """
    if type(h) is int and 0 <= h < _PTR_MASK:  # the common case first
        return h
    if h is None:
        return 0
    if isinstance(h, int):
        value = int(h)
    elif isinstance(h, ctypes._SimpleCData):
        if getattr(type(h), "_type_", "") not in _INTEGER_CTYPE_CODES:
            return None
        raw = h.value
        value = 0 if raw is None else int(raw)
    else:
        converted = _integer(h)
        if converted is None:
            return None
        value = converted
    if value == _PTR_MASK:
        return INVALID_HANDLE_VALUE
    return value


# --------------------------------------------------------------------------------------------------------------
# Handle table
# --------------------------------------------------------------------------------------------------------------


class _HandleEntry:
    """What the handle table holds for one handle value."""

    def __init__(self, obj: object) -> None:
        self.obj = obj
        self.port = 0
        self.key = 0
        self.associated = False
        self.modes = 0


class HandleTable:
    """Process-wide map of handle values to objects.

    Values start at 0x100 and grow by 4 (the two low bits stay free, as on Windows, so ``hEvent | 1`` works);
    they are never reused. The completion-port association and notification modes of a handle live here too;
    they outlive ``CloseHandle`` for a while so operations cancelled by the close still post to the port.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, _HandleEntry] = {}
        self._retired: OrderedDict[int, _HandleEntry] = OrderedDict()
        self._next = _FIRST_HANDLE

    def register(self, obj: object) -> int:
        with self._lock:
            value = self._next
            self._next += _HANDLE_STEP
            self._entries[value] = _HandleEntry(obj)
            return value

    def lookup(self, value: int) -> object | None:
        entry = self._entries.get(value)
        return None if entry is None else entry.obj

    def unregister(self, value: int) -> object | None:
        with self._lock:
            entry = self._entries.pop(value, None)
            if entry is None:
                return None
            if entry.associated or entry.modes:
                self._retired[value] = entry
                while len(self._retired) > _RETIRED_ASSOCIATIONS:
                    self._retired.popitem(last=False)
            return entry.obj

    def associate(self, value: int, port: int, key: int) -> int:
        """Record (port, key) for a live handle; returns a Win32 code."""
        with self._lock:
            entry = self._entries.get(value)
            if entry is None:
                return _ERROR_INVALID_HANDLE
            if entry.associated:
                return _ERROR_INVALID_PARAMETER
            entry.port, entry.key, entry.associated = port, key, True
            return _NO_ERROR

    def association(self, value: int) -> tuple[int, int, int] | None:
        """(port, key, notification modes) of a live or recently closed associated handle."""
        entry = self._entries.get(value) or self._retired.get(value)
        if entry is None or not entry.associated:
            return None
        return entry.port, entry.key, entry.modes

    def set_modes(self, value: int, modes: int) -> bool:
        with self._lock:
            entry = self._entries.get(value)
            if entry is None:
                return False
            entry.modes |= modes
            return True


_TABLE: Final = HandleTable()


def register_handle(obj: object) -> int:
    """Give ``obj`` a new process-wide handle value (never 0, never reused)."""
    return _TABLE.register(obj)


@overload
def lookup_handle(h: object, kind: None = None) -> object | None: ...
@overload
def lookup_handle(h: object, kind: type[T]) -> T | None: ...
def lookup_handle(h: object, kind: type[T] | None = None) -> T | object | None:
    """The object behind handle ``h`` (int, ctypes ``HANDLE``/``c_void_p`` or None), if it is a ``kind``."""
    value = handle_value(h)
    if not value:
        return None
    obj = _TABLE.lookup(value)
    if obj is None or kind is None:
        return obj
    try:
        return obj if isinstance(obj, kind) else None
    except TypeError:
        return None


def unregister_handle(h: object) -> object | None:
    """Remove handle ``h``; returns the object it named, or None if it named nothing."""
    value = handle_value(h)
    if not value:
        return None
    return _TABLE.unregister(value)


# --------------------------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------------------------


class EventObject:
    """A Win32 event object: manual-reset (stays signalled) or auto-reset (one wait consumes the signal)."""

    __slots__ = ("_lock", "_signalled", "_waiters", "handles", "manual_reset", "name")

    def __init__(self, manual_reset: bool, signalled: bool, name: str | None = None) -> None:
        self.manual_reset = manual_reset
        self.name = name  # a named event lives while a handle to it is open (`handles` counts them)
        self.handles = 1
        self._signalled = signalled
        self._lock = threading.Lock()
        self._waiters: list[Waiter] = []

    @property
    def signalled(self) -> bool:
        return self._signalled

    def set(self) -> None:
        with self._lock:
            self._signalled = True
            waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.wake()

    def reset(self) -> None:
        with self._lock:
            self._signalled = False

    def try_acquire(self) -> bool:
        """Satisfy one wait if signalled (consuming the signal of an auto-reset event)."""
        with self._lock:
            return self._take()

    def _take(self) -> bool:
        if not self._signalled:
            return False
        if not self.manual_reset:
            self._signalled = False
        return True

    def wait(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                if self._take():
                    return True
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                waiter = Waiter()
                self._waiters.append(waiter)
            try:
                wait_for(waiter, remaining)
            finally:
                self.remove_bell(waiter)

    def add_bell(self, bell: Waiter) -> None:
        """Wake ``bell`` at the next set() (WaitForMultipleObjects)."""
        with self._lock:
            self._waiters.append(bell)

    def remove_bell(self, bell: Waiter) -> None:
        with self._lock:
            try:
                self._waiters.remove(bell)
            except ValueError:
                pass


_named_lock = threading.Lock()
# Named events by name; CloseHandle of the last handle to one removes it (a handle count, not a weak reference:
# a compiled class takes none).
_named_events: dict[str, EventObject] = {}


def CreateEvent(
    lpEventAttributes: object = None,
    bManualReset: object = True,
    bInitialState: object = False,
    lpName: object = None,
) -> int:
    """Create (or, by name, open) an event; returns its handle, or 0 with GetLastError() on failure."""
    manual = _flag(bManualReset)
    initial = _flag(bInitialState)
    if manual is None or initial is None:
        return int(_fail(_ERROR_INVALID_PARAMETER))
    if lpName is None:
        name = None
    elif isinstance(lpName, str):
        name = lpName
    elif isinstance(lpName, (bytes, bytearray)):
        name = bytes(lpName).decode("latin-1")
    elif isinstance(lpName, ctypes._SimpleCData) and isinstance(lpName.value, (str, bytes)):
        raw = lpName.value
        name = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    else:
        return int(_fail(_ERROR_INVALID_PARAMETER))
    if not name:
        event = EventObject(manual, initial)
        _last_error.code = _NO_ERROR
        return _TABLE.register(event)
    with _named_lock:
        existing = _named_events.get(name)
        if existing is not None:
            existing.handles += 1
            _last_error.code = _ERROR_ALREADY_EXISTS
            return _TABLE.register(existing)
        event = EventObject(manual, initial, name)
        _named_events[name] = event
        _last_error.code = _NO_ERROR
        return _TABLE.register(event)


CreateEventW = CreateEvent
CreateEventA = CreateEvent


def _event(h: object) -> EventObject | None:
    value = handle_value(h)
    if not value:
        return None
    obj = _TABLE.lookup(value)
    return obj if isinstance(obj, EventObject) else None


def SetEvent(hEvent: object) -> bool:
    """Signal an event."""
    event = _event(hEvent)
    if event is None:
        return _fail(_ERROR_INVALID_HANDLE)
    event.set()
    return True


def ResetEvent(hEvent: object) -> bool:
    """Return an event to the non-signalled state."""
    event = _event(hEvent)
    if event is None:
        return _fail(_ERROR_INVALID_HANDLE)
    event.reset()
    return True


def WaitForSingleObject(hHandle: object, dwMilliseconds: object) -> int:
    """Wait for an event: WAIT_OBJECT_0, WAIT_TIMEOUT, or WAIT_FAILED with GetLastError()."""
    valid, timeout = _timeout(dwMilliseconds)
    if not valid:
        _last_error.code = _ERROR_INVALID_PARAMETER
        return WAIT_FAILED
    event = _event(hHandle)
    if event is None:
        _last_error.code = _ERROR_INVALID_HANDLE
        return WAIT_FAILED
    return WAIT_OBJECT_0 if event.wait(timeout) else WAIT_TIMEOUT


def WaitForMultipleObjects(
    nCount: object, lpHandles: object, bWaitAll: object, dwMilliseconds: object
) -> int:
    """Wait for any (WAIT_OBJECT_0 + lowest signalled index) or all of up to 64 events."""
    count = _dword(nCount)
    wait_all = _flag(bWaitAll)
    valid, timeout = _timeout(dwMilliseconds)
    if count is None or wait_all is None or not valid or not 1 <= count <= MAXIMUM_WAIT_OBJECTS:
        _last_error.code = _ERROR_INVALID_PARAMETER
        return WAIT_FAILED
    try:
        handles = [lpHandles[i] for i in range(count)]  # type: ignore[index]
    except Exception:
        _last_error.code = _ERROR_INVALID_PARAMETER
        return WAIT_FAILED
    events: list[EventObject] = []
    for h in handles:
        event = _event(h)
        if event is None:
            _last_error.code = _ERROR_INVALID_HANDLE
            return WAIT_FAILED
        events.append(event)
    if len({id(e) for e in events}) != len(events):
        _last_error.code = _ERROR_INVALID_PARAMETER
        return WAIT_FAILED
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        bell = Waiter()
        for event in events:
            event.add_bell(bell)
        try:
            if wait_all:
                if _take_all(events):
                    return WAIT_OBJECT_0
            else:
                for index, event in enumerate(events):
                    if event.try_acquire():
                        return WAIT_OBJECT_0 + index
            if deadline is None:
                wait_for(bell, None)
            else:  # (no `continue` here: a compiled module cannot continue inside try/finally)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return WAIT_TIMEOUT
                wait_for(bell, remaining)
        finally:
            for event in events:
                event.remove_bell(bell)


def _take_all(events: list[EventObject]) -> bool:
    ordered = sorted(events, key=id)
    for event in ordered:
        event._lock.acquire()
    try:
        if not all(event._signalled for event in ordered):
            return False
        for event in ordered:
            event._take()
        return True
    finally:
        for event in reversed(ordered):
            event._lock.release()


# --------------------------------------------------------------------------------------------------------------
# OVERLAPPED and out-parameter holders
# --------------------------------------------------------------------------------------------------------------


class _ArraySlot:
    """Element 0 of a ctypes array passed where a pointer to a scalar is expected."""

    __slots__ = ("array",)

    def __init__(self, array: ctypes.Array[ctypes._SimpleCData[Any]]) -> None:
        self.array = array


_OutTarget: TypeAlias = "LPOVERLAPPED | ctypes._SimpleCData[Any] | _ArraySlot"


def _resolve_out(holder: object, depth: int = 0) -> _OutTarget | bool | None:
    """The writable target of an out-parameter: the target, ``None`` for NULL, ``False`` when unusable."""
    if holder is None:
        return None
    if type(holder) in _PLAIN_HOLDERS or isinstance(holder, (LPOVERLAPPED, ctypes._SimpleCData)):
        return holder  # type: ignore[return-value]
    if depth >= 3:
        return False
    if isinstance(holder, _CArgObject):
        return _resolve_out(getattr(holder, "_obj", False), depth + 1)
    if isinstance(holder, ctypes._Pointer):
        if not holder:
            return None
        try:
            return _resolve_out(holder.contents, depth + 1)
        except Exception:
            return False
    if isinstance(holder, ctypes.Array):
        try:
            ok = len(holder) >= 1 and issubclass(holder._type_, ctypes._SimpleCData)
        except Exception:
            ok = False
        return _ArraySlot(holder) if ok else False
    return False


# ctypes integer scalar classes seen as out-parameters (filled as they come: `ctypes.c_ulong`, `wintypes.DWORD` ...)
_INTEGER_HOLDERS: Final = frozenset(
    cls
    for cls in vars(ctypes).values()
    if isinstance(cls, type)
    and issubclass(cls, ctypes._SimpleCData)
    and getattr(cls, "_type_", "") in _INTEGER_CTYPE_CODES
    and cls.__module__ == "ctypes"
)
_PLAIN_HOLDERS: Final = _INTEGER_HOLDERS | {LPOVERLAPPED}


def out_param_valid(holder: object) -> bool:
    """True for NULL (None, a NULL ctypes pointer) or a holder ``store_out_param`` can write."""
    return _resolve_out(holder) is not False


def out_param_present(holder: object) -> bool:
    """True when ``holder`` is a non-NULL, usable out-parameter holder."""
    target = _resolve_out(holder)
    return target is not None and target is not False


def _is_integer_out(holder: object) -> bool:
    if type(holder) in _INTEGER_HOLDERS:
        return True
    target = _resolve_out(holder)
    if isinstance(target, _ArraySlot):
        return getattr(target.array._type_, "_type_", "") in _INTEGER_CTYPE_CODES
    if isinstance(target, ctypes._SimpleCData):
        return getattr(type(target), "_type_", "") in _INTEGER_CTYPE_CODES
    return False


def store_out_param(holder: object, value: object) -> bool:
    """Write ``value`` through an out-parameter holder; False when it is NULL or cannot take the value.

    Holders: ``LPOVERLAPPED()``, a ctypes scalar (``wintypes.DWORD()``, ``c_ulonglong()``, ``wintypes.HANDLE()``
    ...), ``ctypes.byref``/``ctypes.pointer`` of one, or a ctypes array (element 0 is written).
    """
    cls = type(holder)
    if cls in _INTEGER_HOLDERS:
        try:
            holder.value = value  # type: ignore[attr-defined]
            return True
        except Exception:
            return False
    target = _resolve_out(holder)
    if target is None or target is False or target is True:
        return False
    try:
        if isinstance(target, LPOVERLAPPED):
            if value is not None and not isinstance(value, OVERLAPPED):
                return False
            target.value = value
        elif isinstance(target, _ArraySlot):
            target.array[0] = value
        else:
            target.value = value
        return True
    except Exception:
        return False


def _as_overlapped(x: object) -> OVERLAPPED | None:
    if isinstance(x, OVERLAPPED):
        return x
    if isinstance(x, LPOVERLAPPED):
        return x.value
    return None


# --------------------------------------------------------------------------------------------------------------
# Completion ports
# --------------------------------------------------------------------------------------------------------------


# A completion packet: (key, bytes transferred, overlapped, code); a plain tuple, one per completion.
_Packet = tuple[int, int, "OVERLAPPED | None", int]


class CompletionPort:
    """An I/O completion port: a FIFO of completion packets; any number of threads may dequeue.

    A thread waiting on an empty port runs the driver's loop meanwhile when no other thread does (decision 0023);
    the most recent waiter is woken first, as Windows does (LIFO), so one busy thread keeps the loop.
    """

    __slots__ = ("_closed", "_lock", "_packets", "_waiters", "concurrency")

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._lock = threading.Lock()
        self._packets: deque[_Packet] = deque()
        self._waiters: list[Waiter] = []
        self._closed = False

    def post(self, packet: _Packet) -> bool:
        with self._lock:
            if self._closed:
                return False
            self._packets.append(packet)
            waiter = self._waiters.pop() if self._waiters else None
        if waiter is not None:
            waiter.wake()
        return True

    def get(self, timeout: float | None, limit: int = 1) -> tuple[int, list[_Packet]]:
        """(NO_ERROR, up to ``limit`` packets), (WAIT_TIMEOUT, []) or (ERROR_ABANDONED_WAIT_0, []) once closed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            more: Waiter | None = None
            with self._lock:
                if self._closed:
                    return ERROR_ABANDONED_WAIT_0, []
                packets = self._packets
                if packets:
                    if limit == 1:
                        taken = [packets.popleft()]
                    else:
                        taken = [packets.popleft() for _ in range(min(limit, len(packets)))]
                    if packets and self._waiters:
                        more = self._waiters.pop()  # packets left for another waiting thread
                else:
                    taken = []
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return WAIT_TIMEOUT, []
                    waiter = Waiter()
                    self._waiters.append(waiter)
            if taken:
                if more is not None:
                    more.wake()
                return _NO_ERROR, taken
            try:
                wait_for(waiter, remaining)
            finally:  # also when the wait is interrupted (KeyboardInterrupt): no stale waiter keeps a wake-up
                with self._lock:
                    try:
                        self._waiters.remove(waiter)
                    except ValueError:
                        pass

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._packets.clear()
            waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.wake()


def _port(h: object) -> CompletionPort | None:
    value = handle_value(h)
    if not value:
        return None
    obj = _TABLE.lookup(value)
    return obj if isinstance(obj, CompletionPort) else None


def CreateIoCompletionPort(
    FileHandle: object,
    ExistingCompletionPort: object,
    CompletionKey: object,
    NumberOfConcurrentThreads: object,
) -> int:
    """Create a port (FileHandle = INVALID_HANDLE_VALUE) and/or associate a handle with one; 0 on failure."""
    file_value = handle_value(FileHandle)
    existing_value = handle_value(ExistingCompletionPort)
    key = _ulong_ptr(CompletionKey)
    concurrency = _dword(NumberOfConcurrentThreads)
    if file_value is None or existing_value is None or key is None or concurrency is None:
        return int(_fail(_ERROR_INVALID_PARAMETER))
    if file_value == INVALID_HANDLE_VALUE:
        if existing_value:
            return int(_fail(_ERROR_INVALID_PARAMETER))
        return _TABLE.register(CompletionPort(concurrency))
    target = _TABLE.lookup(file_value) if file_value else None
    if target is None or not isinstance(target, IoTarget):
        return int(_fail(_ERROR_INVALID_HANDLE))
    if existing_value:
        if _port(existing_value) is None:
            return int(_fail(_ERROR_INVALID_HANDLE))
        port_value = existing_value
        created = False
    else:
        port_value = _TABLE.register(CompletionPort(concurrency))
        created = True
    code = _TABLE.associate(file_value, port_value, key)
    if code != _NO_ERROR:
        if created:
            _TABLE.unregister(port_value)
        return int(_fail(code))
    return port_value


def SetFileCompletionNotificationModes(FileHandle: object, Flags: object) -> bool:
    """FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: an operation that succeeds at once posts no packet."""
    flags = _integer(Flags)
    if flags is None or flags & ~(FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE):
        return _fail(_ERROR_INVALID_PARAMETER)
    value = handle_value(FileHandle)
    target = _TABLE.lookup(value) if value else None
    if target is None or not isinstance(target, IoTarget) or not _TABLE.set_modes(value or 0, flags):
        return _fail(_ERROR_INVALID_HANDLE)
    return True


def _port_wait_args(
    CompletionPort: object, dwMilliseconds: object
) -> tuple[CompletionPort, float | None] | int:
    valid, timeout = _timeout(dwMilliseconds)
    if not valid:
        return _ERROR_INVALID_PARAMETER
    port = _port(CompletionPort)
    if port is None:
        return _ERROR_INVALID_HANDLE
    return port, timeout


def GetQueuedCompletionStatus(
    CompletionPort: object,
    lpNumberOfBytesTransferred: object,
    lpCompletionKey: object,
    lpOverlapped: object,
    dwMilliseconds: object,
) -> bool:
    """Dequeue one completion packet.

    True: a successful completion (or a posted packet). False with ``lpOverlapped.value`` set: the I/O failed,
    GetLastError() is its code. False with ``lpOverlapped.value`` None: WAIT_TIMEOUT, ERROR_ABANDONED_WAIT_0
    (port closed while waiting) or a bad argument.
    """
    if (
        not _is_integer_out(lpNumberOfBytesTransferred)
        or not _is_integer_out(lpCompletionKey)
        or not isinstance(_resolve_out(lpOverlapped), LPOVERLAPPED)
    ):
        return _fail(_ERROR_INVALID_PARAMETER)
    args = _port_wait_args(CompletionPort, dwMilliseconds)
    if isinstance(args, int):
        store_out_param(lpOverlapped, None)
        return _fail(args)
    port, timeout = args
    status, got = port.get(timeout)
    if status != _NO_ERROR:
        store_out_param(lpOverlapped, None)
        return _fail(status)
    key, nbytes, overlapped, code = got[0]
    store_out_param(lpNumberOfBytesTransferred, nbytes)
    store_out_param(lpCompletionKey, key)
    store_out_param(lpOverlapped, overlapped)
    if code != _NO_ERROR:
        return _fail(code)
    return True


def GetQueuedCompletionStatusEx(
    CompletionPort: object,
    lpCompletionPortEntries: object,
    ulCount: object,
    ulNumEntriesRemoved: object,
    dwMilliseconds: object,
    fAlertable: object = False,
) -> bool:
    """Dequeue up to ``ulCount`` packets into a sequence of ``OVERLAPPED_ENTRY`` (filled in place).

    Returns True even for failed I/O (the code is in each entry's ``Internal``); False with WAIT_TIMEOUT or
    ERROR_ABANDONED_WAIT_0 when nothing was dequeued.
    """
    count = _dword(ulCount)
    alertable = _flag(fAlertable)
    if count is None or count == 0 or alertable is None or not _is_integer_out(ulNumEntriesRemoved):
        return _fail(_ERROR_INVALID_PARAMETER)
    try:
        entries = [lpCompletionPortEntries[i] for i in range(count)]  # type: ignore[index]
    except Exception:
        return _fail(_ERROR_INVALID_PARAMETER)
    if not all(isinstance(entry, OVERLAPPED_ENTRY) for entry in entries):
        return _fail(_ERROR_INVALID_PARAMETER)
    args = _port_wait_args(CompletionPort, dwMilliseconds)
    if isinstance(args, int):
        return _fail(args)
    port, timeout = args
    status, got = port.get(timeout, count)
    if status != _NO_ERROR:
        store_out_param(ulNumEntriesRemoved, 0)
        return _fail(status)
    for entry, (key, nbytes, overlapped, code) in zip(entries, got, strict=False):
        assert isinstance(entry, OVERLAPPED_ENTRY)
        entry.lpCompletionKey = key
        entry.lpOverlapped = overlapped
        entry.Internal = code
        entry.dwNumberOfBytesTransferred = nbytes
    store_out_param(ulNumEntriesRemoved, len(got))
    return True


def PostQueuedCompletionStatus(
    CompletionPort: object,
    dwNumberOfBytesTransferred: object,
    dwCompletionKey: object,
    lpOverlapped: object,
) -> bool:
    """Queue a packet (a successful completion) that a GetQueuedCompletionStatus caller receives as is."""
    nbytes = _dword(dwNumberOfBytesTransferred)
    key = _ulong_ptr(dwCompletionKey)
    overlapped_ok = lpOverlapped is None or isinstance(lpOverlapped, (OVERLAPPED, LPOVERLAPPED))
    if nbytes is None or key is None or not overlapped_ok:
        return _fail(_ERROR_INVALID_PARAMETER)
    overlapped = _as_overlapped(lpOverlapped)
    port = _port(CompletionPort)
    if port is None or not port.post((key, nbytes, overlapped, _NO_ERROR)):
        return _fail(_ERROR_INVALID_HANDLE)
    return True


# --------------------------------------------------------------------------------------------------------------
# Overlapped I/O lifecycle
# --------------------------------------------------------------------------------------------------------------

_io_lock = threading.Lock()


def _event_of(overlapped: OVERLAPPED) -> tuple[EventObject | None, bool]:
    """(event named by hEvent, whether the low bit asks not to post to the completion port)."""
    value = handle_value(overlapped.hEvent)
    if not value or value < 0:
        return None, False
    return _event(value & ~1), bool(value & 1)


def begin_io(overlapped: object) -> None:
    """Mark an operation as started: Internal = ERROR_IO_PENDING, InternalHigh = 0, hEvent reset (as NtDeviceIoControlFile)."""
    if not isinstance(overlapped, OVERLAPPED):
        return
    with _io_lock:
        overlapped.Internal = _ERROR_IO_PENDING
        overlapped.InternalHigh = 0
    try:
        event, _ = _event_of(overlapped)
    except Exception:
        return
    if event is not None:
        event.reset()


def complete_io(
    target_handle: object, overlapped: object, code: object, nbytes: object, *, synchronous: bool = False
) -> None:
    """Complete an asynchronous operation: the single place every overlapped operation finishes.

    Sets Internal = code and InternalHigh = nbytes, signals hEvent, posts (key, nbytes, overlapped, code) to
    the completion port associated with ``target_handle`` (unless hEvent's low bit is set, or ``synchronous``
    success on a handle with FILE_SKIP_COMPLETION_PORT_ON_SUCCESS), and wakes GetOverlappedResult and
    ``wait_overlapped`` waiters.
    """
    if not isinstance(overlapped, OVERLAPPED):
        return
    code_value = _dword(code)
    count = _dword(nbytes)
    code_value = _ERROR_INVALID_PARAMETER if code_value is None else code_value
    count = 0 if count is None else count
    with _io_lock:
        overlapped.Internal = code_value
        overlapped.InternalHigh = count
        waiters = overlapped.__dict__.get("_waiters")
        if waiters:  # a fresh list only when a waiter was registered (most operations have none)
            overlapped._waiters = []
    try:
        event, skip_port = _event_of(overlapped)
        if event is not None:
            event.set()
        value = handle_value(target_handle)
        association = _TABLE.association(value) if value and not skip_port else None
        if association is not None:
            port_value, key, modes = association
            skip = synchronous and code_value == _NO_ERROR and modes & FILE_SKIP_COMPLETION_PORT_ON_SUCCESS
            port = None if skip else _port(port_value)
            if port is not None:
                port.post((key, count, overlapped, code_value))
    finally:
        if waiters:
            for waiter in waiters:
                try:
                    waiter(code_value, count)
                except Exception:
                    pass


def _add_waiter(overlapped: OVERLAPPED, callback: _CompletionCallback) -> tuple[int, int] | None:
    """Register a completion callback; returns (code, bytes) instead when the operation is not pending."""
    fields: Any = overlapped  # an application may have stored anything in Internal: read it untyped
    with _io_lock:
        if fields.Internal != _ERROR_IO_PENDING:
            return _result_of(overlapped)
        _waiters_of(overlapped).append(callback)
        return None


def _remove_waiter(overlapped: OVERLAPPED, callback: _CompletionCallback) -> None:
    with _io_lock:
        try:
            _waiters_of(overlapped).remove(callback)
        except ValueError:
            pass


def _waiters_of(overlapped: OVERLAPPED) -> list[_CompletionCallback]:
    """The waiter list (created here for subclasses whose ``__init__`` skipped ours); call under ``_io_lock``."""
    waiters: list[_CompletionCallback] | None = overlapped.__dict__.get("_waiters")
    if waiters is None:
        waiters = overlapped._waiters = []
    return waiters


def _peek(overlapped: OVERLAPPED) -> tuple[int, int] | None:
    fields: Any = overlapped
    with _io_lock:
        return None if fields.Internal == _ERROR_IO_PENDING else _result_of(overlapped)


def _result_of(overlapped: OVERLAPPED) -> tuple[int, int]:
    fields: Any = overlapped  # read untyped: a compiled read of an `int` field raises for anything else
    code = _dword(fields.Internal)
    count = _dword(fields.InternalHigh)
    return (_ERROR_INVALID_PARAMETER if code is None else code), (0 if count is None else count)


def HasOverlappedIoCompleted(lpOverlapped: object) -> bool:
    """The WinBase.h macro: the operation is no longer pending."""
    overlapped: Any = _as_overlapped(lpOverlapped)
    return overlapped is not None and overlapped.Internal != _ERROR_IO_PENDING


def _overlapped_result(
    hFile: object, lpOverlapped: object, lpNumberOfBytesTransferred: object, timeout: float | None
) -> bool:
    overlapped = _as_overlapped(lpOverlapped)
    if overlapped is None or not _is_integer_out(lpNumberOfBytesTransferred):
        return _fail(_ERROR_INVALID_PARAMETER)
    done = Waiter()

    def wake(code: int, count: int) -> None:
        done.wake()

    result = _add_waiter(overlapped, wake)
    if result is None:
        if timeout == 0:
            _remove_waiter(overlapped, wake)
            return _fail(_ERROR_IO_INCOMPLETE)
        try:
            event, _ = _event_of(overlapped)
        except Exception:
            event = None
        value = handle_value(hFile)
        if event is None and (not value or _TABLE.lookup(value) is None):
            _remove_waiter(overlapped, wake)
            return _fail(_ERROR_INVALID_HANDLE)
        if not wait_for(done, timeout):
            _remove_waiter(overlapped, wake)
            result = _peek(overlapped)
            if result is None:
                return _fail(WAIT_TIMEOUT)
        else:
            result = _result_of(overlapped)
        if event is not None and not event.manual_reset:
            # On Windows the wait was on hEvent itself, which consumed an auto-reset signal.
            event.try_acquire()
    code, count = result
    store_out_param(lpNumberOfBytesTransferred, count)
    if code != _NO_ERROR:
        return _fail(code)
    return True


def GetOverlappedResult(
    hFile: object, lpOverlapped: object, lpNumberOfBytesTransferred: object, bWait: object
) -> bool:
    """Result of an overlapped operation; pending with bWait False ⇒ False + ERROR_IO_INCOMPLETE."""
    wait = _flag(bWait)
    if wait is None:
        return _fail(_ERROR_INVALID_PARAMETER)
    return _overlapped_result(hFile, lpOverlapped, lpNumberOfBytesTransferred, None if wait else 0)


def GetOverlappedResultEx(
    hFile: object,
    lpOverlapped: object,
    lpNumberOfBytesTransferred: object,
    dwMilliseconds: object,
    bAlertable: object,
) -> bool:
    """GetOverlappedResult with a timeout: 0 ms on a pending op ⇒ ERROR_IO_INCOMPLETE, expiry ⇒ WAIT_TIMEOUT."""
    valid, timeout = _timeout(dwMilliseconds)
    if not valid or _flag(bAlertable) is None:
        return _fail(_ERROR_INVALID_PARAMETER)
    return _overlapped_result(hFile, lpOverlapped, lpNumberOfBytesTransferred, timeout)


# --------------------------------------------------------------------------------------------------------------
# Cancellation and closing
# --------------------------------------------------------------------------------------------------------------


def lookup_io_target(h: object) -> IoTarget | None:
    """The ``IoTarget`` behind handle ``h`` (``lookup_handle(h, IoTarget)`` without mypy's type-abstract error)."""
    value = handle_value(h)
    if not value:
        return None
    obj = _TABLE.lookup(value)
    return obj if isinstance(obj, IoTarget) else None


def CancelIo(hFile: object) -> bool:
    """Cancel the pending I/O of a handle (all of it: targets do not track issuing threads)."""
    target = lookup_io_target(hFile)
    if target is None:
        return _fail(_ERROR_INVALID_HANDLE)
    try:
        target.cancel_io(None)
    except Exception:
        return _fail(_ERROR_INVALID_PARAMETER)
    return True


def CancelIoEx(hFile: object, lpOverlapped: object = None) -> bool:
    """Cancel one operation (or all with NULL); nothing to cancel ⇒ False + ERROR_NOT_FOUND."""
    overlapped = _as_overlapped(lpOverlapped)
    if overlapped is None and lpOverlapped is not None:
        return _fail(_ERROR_INVALID_PARAMETER)
    target = lookup_io_target(hFile)
    if target is None:
        return _fail(_ERROR_INVALID_HANDLE)
    try:
        cancelled = target.cancel_io(overlapped)
    except Exception:
        return _fail(_ERROR_INVALID_PARAMETER)
    if not cancelled:
        return _fail(_ERROR_NOT_FOUND)
    return True


def CloseHandle(hObject: object) -> bool:
    """Close an event, completion port or I/O target handle (the target's ``close()`` runs)."""
    value = handle_value(hObject)
    obj = _TABLE.unregister(value) if value else None
    if obj is None:
        return _fail(_ERROR_INVALID_HANDLE)
    if isinstance(obj, EventObject) and obj.name is not None:
        with _named_lock:
            obj.handles -= 1
            if obj.handles <= 0 and _named_events.get(obj.name) is obj:
                del _named_events[obj.name]
    if isinstance(obj, (CompletionPort, IoTarget)):
        try:
            obj.close()
        except Exception:
            pass
    return True


# --------------------------------------------------------------------------------------------------------------
# asyncio bridge
# --------------------------------------------------------------------------------------------------------------


async def wait_overlapped(overlapped: OVERLAPPED) -> tuple[int, int]:
    """Await an overlapped operation without blocking the loop; returns (Win32 code, bytes transferred).

    A non-OVERLAPPED argument gives (ERROR_INVALID_PARAMETER, 0). An operation that is not pending returns its
    stored result at once. hEvent and completion-port packets are left untouched.
    """
    ov = _as_overlapped(overlapped)
    if ov is None:
        return _ERROR_INVALID_PARAMETER, 0
    loop = asyncio.get_running_loop()
    future: asyncio.Future[tuple[int, int]] = loop.create_future()

    def settle(code: int, count: int) -> None:
        if not future.done():
            future.set_result((code, count))

    def on_complete(code: int, count: int) -> None:
        try:
            loop.call_soon_threadsafe(settle, code, count)
        except RuntimeError:
            pass

    result = _add_waiter(ov, on_complete)
    if result is not None:
        return result
    try:
        return await future
    finally:
        _remove_waiter(ov, on_complete)
