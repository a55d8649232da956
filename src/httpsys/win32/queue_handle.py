"""Request queue handles of the win32 face and the one path every I/O call takes (synchronous or overlapped).

Responsibility: the object behind a request queue ``HANDLE`` (an ``IoTarget`` in kernel32's handle table that
names the driver's handle id and maps each pending OVERLAPPED to the token given to the transport, so CancelIoEx
and CloseHandle work), and ``run_io``: issue a transport I/O call, then either block the calling thread until
``done`` (synchronous) or follow the overlapped contract of ARCHITECTURE §5.8 — an immediate error returns its
code with no completion posted, an immediate success (or ERROR_MORE_DATA, a warning status) completes the
OVERLAPPED at once and returns that code, anything else returns ERROR_IO_PENDING and completes later from
``done`` on the driver thread. It must not interpret HTTP data: callers pass an ``apply`` function that writes
the result into the caller's struct/buffer and says (code, bytes).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any, Final

from httpsys._core.status import Win32Error
from httpsys._transport.interface import DriverTransport
from httpsys.errors import code_for_error

from .kernel32 import (
    OVERLAPPED,
    Waiter,
    begin_io,
    complete_io,
    out_param_present,
    register_handle,
    store_out_param,
    unregister_handle,
    wait_for,
)

__all__ = ["IoOperation", "RequestQueueHandle", "next_token", "run_io"]

_OK: Final = int(Win32Error.NO_ERROR)
_MORE_DATA: Final = int(Win32Error.ERROR_MORE_DATA)
_IO_PENDING: Final = int(Win32Error.ERROR_IO_PENDING)
_INVALID_PARAMETER: Final = int(Win32Error.ERROR_INVALID_PARAMETER)

_tokens = itertools.count(1)


def next_token() -> int:
    """A process-wide unique, non-zero token naming one transport operation (for cancel_io)."""
    return next(_tokens)


class RequestQueueHandle:
    """What a request queue handle value names: the driver's handle id on one transport.

    ``v1``: created by HttpCreateHttpHandle. ``creator``: created (not opened with OPEN_EXISTING).
    ``controller``: created with HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER.
    """

    def __init__(
        self,
        transport: DriverTransport,
        handle_id: int,
        *,
        v1: bool = False,
        creator: bool = True,
        controller: bool = False,
        name: str | None = None,
        security_attributes: object = None,
        on_close: Callable[[RequestQueueHandle], None] | None = None,
    ) -> None:
        self.transport = transport
        self.handle_id = handle_id
        self.v1 = v1
        self.creator = creator
        self.controller = controller
        self.name = name
        self.security_attributes = security_attributes
        self._on_close = on_close
        self._lock = threading.Lock()
        self._tokens: dict[OVERLAPPED, int] = {}
        # TLS facts of connections whose requests this handle received, for HttpReceiveClientCertificate
        self.tls_connections: dict[int, dict[str, object]] = {}
        self.closed = False
        self.value = register_handle(self)

    def __repr__(self) -> str:
        kind = "v1" if self.v1 else "v2"
        return f"<RequestQueueHandle {self.value:#x} {kind} driver={self.handle_id:#x} closed={self.closed}>"

    # ----- OVERLAPPED <-> token ------------------------------------------------------------------------------
    def track(self, overlapped: OVERLAPPED, token: int) -> None:
        with self._lock:
            self._tokens[overlapped] = token

    def untrack(self, overlapped: OVERLAPPED, token: int) -> None:
        with self._lock:
            if self._tokens.get(overlapped) == token:
                del self._tokens[overlapped]

    # ----- IoTarget ------------------------------------------------------------------------------------------
    def cancel_io(self, overlapped: OVERLAPPED | None) -> bool:
        """CancelIo / CancelIoEx: the driver completes each cancelled operation with ERROR_OPERATION_ABORTED."""
        if self.closed:
            return False
        if overlapped is None:
            return bool(self.transport.cancel_io(self.handle_id, None))
        with self._lock:
            token = self._tokens.get(overlapped)
        if token is None:
            return False
        return bool(self.transport.cancel_io(self.handle_id, token))

    def close(self) -> None:
        """CloseHandle (after the value stopped resolving): close the driver handle, aborting its pending I/O."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        try:
            self.transport.close_request_queue(self.handle_id)
        finally:
            if self._on_close is not None:
                self._on_close(self)

    def close_handle(self) -> int:
        """HttpCloseRequestQueue: retire the handle value, then close (a Win32 code)."""
        if unregister_handle(self.value) is None:
            return int(Win32Error.ERROR_INVALID_HANDLE)
        with self._lock:
            if self.closed:
                return int(Win32Error.ERROR_INVALID_HANDLE)
            self.closed = True
        try:
            return int(self.transport.close_request_queue(self.handle_id))
        finally:
            if self._on_close is not None:
                self._on_close(self)


Start = Callable[[int, Callable[..., None]], None]
Apply = Callable[..., tuple[int, int]]

_ISSUING: Final = 0
_PENDING: Final = 1
_EARLY: Final = 2
_FINISHED: Final = 3


class IoOperation:
    """One I/O call, and the ``done`` callback the transport is given for it: the only object made per call.

    ``apply(context, *done_args)`` -> (code, bytes) writes the result into the caller's struct/buffer (``context``
    is what it writes into). Use: make it, call the transport with ``op.token`` and ``op`` as ``done`` (inside
    ``try``), then return ``op.issued(bytes_out)``, or ``op.failed(exc, bytes_out)`` when the call raised.
    Overlapped: the queue's lock (not one of its own) orders ``done`` against the issuing thread.
    """

    __slots__ = ("apply", "context", "overlapped", "queue", "raw", "state", "token", "waiter")

    def __init__(
        self, queue: RequestQueueHandle, overlapped: OVERLAPPED | None, apply: Apply, context: Any = None
    ) -> None:
        self.queue = queue
        self.overlapped = overlapped
        self.apply = apply
        self.context = context
        self.token = token = next(_tokens)
        self.raw: tuple[Any, ...] | None = None
        self.state = _ISSUING
        if overlapped is None:
            self.waiter: Waiter | None = Waiter()
        else:
            self.waiter = None
            begin_io(overlapped)
            with queue._lock:
                queue._tokens[overlapped] = token

    def _apply(self, raw: tuple[Any, ...]) -> tuple[int, int]:
        try:
            code, nbytes = self.apply(self.context, *raw)
        except (
            Exception
        ) as exc:  # a caller's object refused the write: report, never raise on the driver thread
            return code_for_error(exc), 0
        return int(code), int(nbytes)

    def __call__(self, *raw: Any) -> None:
        """``done``: the transport's completion, on whichever thread the driver completes it."""
        waiter = self.waiter
        if waiter is not None:  # synchronous: hand the result to the issuing thread
            self.raw = raw
            waiter.wake()
            return
        queue = self.queue
        ov = self.overlapped
        with queue._lock:
            if self.state == _ISSUING:
                self.raw = raw
                self.state = _EARLY
                return
            self.state = _FINISHED
            if queue._tokens.get(ov) == self.token:  # type: ignore[arg-type]
                del queue._tokens[ov]  # type: ignore[arg-type]
        code, nbytes = self._apply(raw)
        complete_io(queue.value, ov, code, nbytes)

    def issued(self, bytes_out: object) -> int:
        """After the transport call returned: the Win32 code the API call returns."""
        ov = self.overlapped
        if ov is None:
            raw = self.raw
            if raw is None:
                wait_for(self.waiter, None)  # type: ignore[arg-type]
                raw = self.raw
            code, nbytes = self._apply(raw)  # type: ignore[arg-type]
            if out_param_present(bytes_out):
                store_out_param(bytes_out, nbytes)
            return code
        queue = self.queue
        with queue._lock:
            if self.state == _ISSUING:
                self.state = _PENDING
                return _IO_PENDING
            if queue._tokens.get(ov) == self.token:
                del queue._tokens[ov]
        code, nbytes = self._apply(self.raw)  # type: ignore[arg-type]
        if out_param_present(bytes_out):
            store_out_param(bytes_out, nbytes)
        if code in (_OK, _MORE_DATA):
            complete_io(queue.value, ov, code, nbytes, synchronous=True)
        else:
            # Failed before it was pending: no completion packet, no event; the OVERLAPPED records the result so a
            # later GetOverlappedResult does not wait forever.
            ov.Internal, ov.InternalHigh = code, 0
        return code

    def failed(self, exc: Exception, bytes_out: object) -> int:
        """The transport call raised: its code, unless ``done`` already came (then that result stands)."""
        ov = self.overlapped
        if ov is None:
            raise exc
        queue = self.queue
        with queue._lock:
            early = self.state == _EARLY
            if not early:
                self.state = _FINISHED
                if queue._tokens.get(ov) == self.token:
                    del queue._tokens[ov]
        if early:
            return self.issued(bytes_out)
        code = code_for_error(exc)
        ov.Internal, ov.InternalHigh = code, 0
        return code


def _apply_plain(apply: Apply, *raw: Any) -> tuple[int, int]:
    return apply(*raw)


def run_io(
    queue: RequestQueueHandle,
    overlapped: OVERLAPPED | None,
    bytes_out: object,
    start: Start,
    apply: Apply,
) -> int:
    """Issue one I/O call: ``start(token, done)`` calls the transport; ``apply(*done_args)`` -> (code, bytes).

    Synchronous (``overlapped`` None): wait for ``done``, apply, store the bytes in ``bytes_out`` (if given) and
    return the code. Overlapped: see the module docstring; ``bytes_out`` is written only when the call returns
    without ERROR_IO_PENDING. (The per-request calls make an ``IoOperation`` and call the transport themselves.)
    """
    op = IoOperation(queue, overlapped, _apply_plain, apply)
    try:
        start(op.token, op)
    except Exception as exc:
        return op.failed(exc, bytes_out)
    return op.issued(bytes_out)


def immediate(result: Callable[[], int]) -> Start:
    """A ``start`` for a synchronous transport call whose result is the whole completion (done(code))."""

    def start(token: int, done: Callable[..., None]) -> None:
        done(result())

    return start
