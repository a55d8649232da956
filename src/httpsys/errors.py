"""The exceptions of httpsys: one ``HttpSysError`` subclass per Win32 code the project emits, and the mapping.

Responsibility: the ``HttpSysError(OSError)`` tree (each instance carries ``.winerror``, the Win32 code, and a
message; each subclass also inherits the builtin exception callers already catch), ``error_for_code`` (code to
exception) and ``code_for_error`` (any exception to the code the win32 face returns). Statuses are not
exceptions: ``NO_ERROR``, ``ERROR_IO_PENDING``, ``ERROR_MORE_DATA`` and ``ERROR_HANDLE_EOF`` are results.

It must not decide which operation fails with which code, and must not log or do I/O.

Builtin bases chosen where the spec is silent:

* ``OperationAbortedError`` (995) is a ``ConnectionAbortedError``: an operation cancelled by CancelIoEx, a closed
  handle, HttpShutdownRequestQueue or HttpCancelHttpRequest means the request or queue went away under it,
  which ``except ConnectionError`` code already treats as "stop quietly". It is *not* ``asyncio.CancelledError``
  (that one means the awaiting task itself was cancelled).
* ``WaitTimeoutError`` is a ``TimeoutError``; ``IoIncompleteError`` a ``BlockingIOError``.
* ``InsufficientBufferError``, ``NoAccessError``, ``InvalidNameError``, ``RevisionMismatchError`` are
  ``ValueError`` (a bad argument); ``NotSupportedError`` and ``CallNotImplementedError`` ``NotImplementedError``;
  ``BadCommandError`` (a second send while one is pending) and ``DllInitFailedError`` (not initialized)
  ``RuntimeError``, as asyncio and Python report misuse of state; ``NotFoundError`` (1168) a ``FileNotFoundError``
  like 2; ``InvalidIdAuthorityError`` (not the controller) a ``PermissionError``.
* ``errno`` is set to the POSIX equivalent where one exists (EADDRINUSE for a sharing violation ...), else None.
"""

from __future__ import annotations

import asyncio
import errno as _errno
from typing import Any, ClassVar

from httpsys._core.status import Win32Error

__all__ = [
    "NON_ERROR_CODES",
    "AccessDeniedError",
    "AlreadyExistsError",
    "BadCommandError",
    "CallNotImplementedError",
    "ConnectionInvalidError",
    "DllInitFailedError",
    "HttpSysError",
    "InsufficientBufferError",
    "InvalidFunctionError",
    "InvalidHandleError",
    "InvalidIdAuthorityError",
    "InvalidNameError",
    "InvalidParameterError",
    "IoIncompleteError",
    "NetnameDeletedError",
    "NoAccessError",
    "NoMoreItemsError",
    "NoSuchLogonSessionError",
    "NotEnoughMemoryError",
    "NotFoundError",
    "NotEnoughQuotaError",
    "NotSupportedError",
    "OperationAbortedError",
    "OutOfMemoryError",
    "PathNotFoundError",
    "RevisionMismatchError",
    "ServiceNotActiveError",
    "SharingViolationError",
    "UrlNotFoundError",
    "WaitTimeoutError",
    "code_for_error",
    "error_for_code",
]

#: Codes that report a result, not a failure: never turned into exceptions.
NON_ERROR_CODES: frozenset[int] = frozenset(
    {
        Win32Error.NO_ERROR,
        Win32Error.ERROR_IO_PENDING,
        Win32Error.ERROR_MORE_DATA,
        Win32Error.ERROR_HANDLE_EOF,
    }
)

# Short descriptions in our own words, used when no message is given.
_DESCRIPTIONS: dict[int, str] = {
    Win32Error.ERROR_INVALID_FUNCTION: "function not valid for this object",
    Win32Error.ERROR_FILE_NOT_FOUND: "not found",
    Win32Error.ERROR_PATH_NOT_FOUND: "path (cached fragment) not found",
    Win32Error.ERROR_ACCESS_DENIED: "access denied",
    Win32Error.ERROR_INVALID_HANDLE: "invalid or closed handle",
    Win32Error.ERROR_NOT_ENOUGH_MEMORY: "not enough resources",
    Win32Error.ERROR_OUTOFMEMORY: "out of memory",
    Win32Error.ERROR_BAD_COMMAND: "another operation is pending on this request",
    Win32Error.ERROR_SHARING_VIOLATION: "the port is in use by another program",
    Win32Error.ERROR_NOT_SUPPORTED: "not supported",
    Win32Error.ERROR_NETNAME_DELETED: "the client connection is gone",
    Win32Error.ERROR_INVALID_PARAMETER: "invalid parameter",
    Win32Error.ERROR_CALL_NOT_IMPLEMENTED: "not implemented",
    Win32Error.ERROR_INSUFFICIENT_BUFFER: "buffer too small",
    Win32Error.ERROR_INVALID_NAME: "invalid name",
    Win32Error.ERROR_ALREADY_EXISTS: "already exists",
    Win32Error.WAIT_TIMEOUT: "wait timed out",
    Win32Error.ERROR_NO_MORE_ITEMS: "no more items",
    Win32Error.ERROR_OPERATION_ABORTED: "operation aborted",
    Win32Error.ERROR_IO_INCOMPLETE: "operation still in progress",
    Win32Error.ERROR_NOACCESS: "invalid or misaligned buffer",
    Win32Error.ERROR_DLL_INIT_FAILED: "HttpInitialize has not been called",
    Win32Error.ERROR_NOT_FOUND: "element not found",
    Win32Error.ERROR_CONNECTION_INVALID: "unknown or finished request, or connection gone",
    Win32Error.ERROR_REVISION_MISMATCH: "unsupported API version",
    Win32Error.ERROR_NO_SUCH_LOGON_SESSION: "invalid certificate or logon session",
    Win32Error.ERROR_INVALID_ID_AUTHORITY: "not the controller of this request queue",
    Win32Error.ERROR_NOT_ENOUGH_QUOTA: "over this process's quota in the httpsys daemon",
}

# POSIX errno with the same meaning, where there is one.
_ERRNOS: dict[int, int] = {
    Win32Error.ERROR_FILE_NOT_FOUND: _errno.ENOENT,
    Win32Error.ERROR_PATH_NOT_FOUND: _errno.ENOENT,
    Win32Error.ERROR_ACCESS_DENIED: _errno.EACCES,
    Win32Error.ERROR_INVALID_HANDLE: _errno.EBADF,
    Win32Error.ERROR_NOT_ENOUGH_MEMORY: _errno.ENOMEM,
    Win32Error.ERROR_OUTOFMEMORY: _errno.ENOMEM,
    Win32Error.ERROR_BAD_COMMAND: _errno.EBUSY,
    Win32Error.ERROR_SHARING_VIOLATION: _errno.EADDRINUSE,
    Win32Error.ERROR_NOT_SUPPORTED: _errno.EOPNOTSUPP,
    Win32Error.ERROR_NETNAME_DELETED: _errno.ECONNRESET,
    Win32Error.ERROR_INVALID_PARAMETER: _errno.EINVAL,
    Win32Error.ERROR_CALL_NOT_IMPLEMENTED: _errno.ENOSYS,
    Win32Error.ERROR_INSUFFICIENT_BUFFER: _errno.ENOBUFS,
    Win32Error.ERROR_INVALID_NAME: _errno.EINVAL,
    Win32Error.ERROR_ALREADY_EXISTS: _errno.EEXIST,
    Win32Error.WAIT_TIMEOUT: _errno.ETIMEDOUT,
    Win32Error.ERROR_OPERATION_ABORTED: _errno.ECANCELED,
    Win32Error.ERROR_IO_INCOMPLETE: _errno.EINPROGRESS,
    Win32Error.ERROR_NOACCESS: _errno.EFAULT,
    Win32Error.ERROR_NOT_FOUND: _errno.ENOENT,
    Win32Error.ERROR_CONNECTION_INVALID: _errno.ENOTCONN,
    Win32Error.ERROR_INVALID_ID_AUTHORITY: _errno.EPERM,
    Win32Error.ERROR_NOT_ENOUGH_QUOTA: _errno.EDQUOT,
}


def _code_name(code: int) -> str | None:
    try:
        return Win32Error(code).name
    except ValueError:
        return None


class HttpSysError(OSError):
    """A failed HTTP Server API operation. ``winerror`` is the Win32 code, ``message`` what went wrong.

    ``HttpSysError(code, message=None)`` builds a generic one; prefer ``error_for_code`` (which picks the
    subclass) or a subclass (``InvalidParameterError("port 0")``). ``str(exc)`` reads
    ``[WinError 87] ERROR_INVALID_PARAMETER: port 0``.

    Example:
        try:
            group.add_url("http://+:8080/")
        except httpsys.HttpSysError as exc:
            print(exc.winerror, exc.name)
    """

    winerror: int
    message: str

    def __init__(self, winerror: int, message: str | None = None) -> None:
        if isinstance(winerror, bool) or not isinstance(winerror, int):
            raise TypeError(f"winerror must be an int, not {type(winerror).__name__}")
        if winerror in NON_ERROR_CODES:
            raise ValueError(f"{winerror} ({_code_name(winerror)}) is a result, not an error")
        if not 0 <= winerror <= 0xFFFFFFFF:
            raise ValueError(f"{winerror} is not a Win32 error code")
        text = message if message is not None else _DESCRIPTIONS.get(winerror, "unrecognized Win32 error")
        super().__init__(_ERRNOS.get(winerror), text)
        self.winerror = int(winerror)
        self.message = text

    @property
    def name(self) -> str | None:
        """The symbolic name of the code (``"ERROR_INVALID_PARAMETER"``), None for a code outside the table.

        Example:
            log.warning("driver said %s", exc.name)
        """
        return _code_name(self.winerror)

    def __str__(self) -> str:
        name = self.name
        head = f"[WinError {self.winerror}]" if name is None else f"[WinError {self.winerror}] {name}"
        return f"{head}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(winerror={self.winerror}, message={self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.winerror, self.message), self.__dict__)


class _FixedCodeError(HttpSysError):
    """A subclass bound to one code: built with the message only."""

    code: ClassVar[int]

    def __init__(self, message: str | None = None) -> None:
        super().__init__(self.code, message)


def _rebuild(cls: type[HttpSysError], winerror: int, message: str) -> HttpSysError:
    """Unpickle helper: rebuild either kind of class from (code, message)."""
    if issubclass(cls, _FixedCodeError):
        return cls(message)
    return cls(winerror, message)


class InvalidFunctionError(_FixedCodeError):
    """ERROR_INVALID_FUNCTION (1): the operation or property does not apply to this object."""

    code = Win32Error.ERROR_INVALID_FUNCTION


class UrlNotFoundError(_FixedCodeError, FileNotFoundError):
    """ERROR_FILE_NOT_FOUND (2): URL not registered, queue name or configuration record missing."""

    code = Win32Error.ERROR_FILE_NOT_FOUND


class PathNotFoundError(_FixedCodeError, FileNotFoundError):
    """ERROR_PATH_NOT_FOUND (3): a FromFragmentCache chunk names a fragment that is no longer cached."""

    code = Win32Error.ERROR_PATH_NOT_FOUND


class AccessDeniedError(_FixedCodeError, PermissionError):
    """ERROR_ACCESS_DENIED (5): no URL reservation, queue ACL or admin right for this."""

    code = Win32Error.ERROR_ACCESS_DENIED


class InvalidHandleError(_FixedCodeError):
    """ERROR_INVALID_HANDLE (6): unknown or closed handle."""

    code = Win32Error.ERROR_INVALID_HANDLE


class NotEnoughMemoryError(_FixedCodeError):
    """ERROR_NOT_ENOUGH_MEMORY (8): the driver ran out of a resource (not a Python MemoryError)."""

    code = Win32Error.ERROR_NOT_ENOUGH_MEMORY


class OutOfMemoryError(_FixedCodeError):
    """ERROR_OUTOFMEMORY (14)."""

    code = Win32Error.ERROR_OUTOFMEMORY


class BadCommandError(_FixedCodeError, RuntimeError):
    """ERROR_BAD_COMMAND (22): another send on the same request is still pending."""

    code = Win32Error.ERROR_BAD_COMMAND


class SharingViolationError(_FixedCodeError):
    """ERROR_SHARING_VIOLATION (32): the TCP port belongs to another program (errno EADDRINUSE)."""

    code = Win32Error.ERROR_SHARING_VIOLATION


class NotSupportedError(_FixedCodeError, NotImplementedError):
    """ERROR_NOT_SUPPORTED (50): the object or build does not support this."""

    code = Win32Error.ERROR_NOT_SUPPORTED


class NetnameDeletedError(_FixedCodeError, ConnectionResetError):
    """ERROR_NETNAME_DELETED (64): the client connection vanished during the operation."""

    code = Win32Error.ERROR_NETNAME_DELETED


class InvalidParameterError(_FixedCodeError, ValueError):
    """ERROR_INVALID_PARAMETER (87): a malformed, out-of-range or wrongly typed argument."""

    code = Win32Error.ERROR_INVALID_PARAMETER


class CallNotImplementedError(_FixedCodeError, NotImplementedError):
    """ERROR_CALL_NOT_IMPLEMENTED (120)."""

    code = Win32Error.ERROR_CALL_NOT_IMPLEMENTED


class InsufficientBufferError(_FixedCodeError, ValueError):
    """ERROR_INSUFFICIENT_BUFFER (122): the buffer cannot even hold the fixed structure."""

    code = Win32Error.ERROR_INSUFFICIENT_BUFFER


class InvalidNameError(_FixedCodeError, ValueError):
    """ERROR_INVALID_NAME (123): invalid request-queue name."""

    code = Win32Error.ERROR_INVALID_NAME


class AlreadyExistsError(_FixedCodeError, FileExistsError):
    """ERROR_ALREADY_EXISTS (183): URL already registered, queue name taken, record exists."""

    code = Win32Error.ERROR_ALREADY_EXISTS


class WaitTimeoutError(_FixedCodeError, TimeoutError):
    """WAIT_TIMEOUT (258): a wait ended without completion."""

    code = Win32Error.WAIT_TIMEOUT


class NoMoreItemsError(_FixedCodeError):
    """ERROR_NO_MORE_ITEMS (259): enumeration past the last record."""

    code = Win32Error.ERROR_NO_MORE_ITEMS


class OperationAbortedError(_FixedCodeError, ConnectionAbortedError):
    """ERROR_OPERATION_ABORTED (995): the pending operation was cancelled (handle closed, CancelIoEx ...)."""

    code = Win32Error.ERROR_OPERATION_ABORTED


class IoIncompleteError(_FixedCodeError, BlockingIOError):
    """ERROR_IO_INCOMPLETE (996): asked for the result of an operation still pending."""

    code = Win32Error.ERROR_IO_INCOMPLETE


class NoAccessError(_FixedCodeError, ValueError):
    """ERROR_NOACCESS (998): the buffer is invalid or misaligned."""

    code = Win32Error.ERROR_NOACCESS


class ServiceNotActiveError(_FixedCodeError, ConnectionRefusedError):
    """ERROR_SERVICE_NOT_ACTIVE (1062): HTTPSYS_DAEMON_SOCKET names a daemon that is not there (the HTTP service
    is not running)."""

    code = Win32Error.ERROR_SERVICE_NOT_ACTIVE


class DllInitFailedError(_FixedCodeError, RuntimeError):
    """ERROR_DLL_INIT_FAILED (1114): the API was used before HttpInitialize."""

    code = Win32Error.ERROR_DLL_INIT_FAILED


class NotFoundError(_FixedCodeError, FileNotFoundError):
    """ERROR_NOT_FOUND (1168): no client certificate / channel-binding token; element not found."""

    code = Win32Error.ERROR_NOT_FOUND


class ConnectionInvalidError(_FixedCodeError, ConnectionError):
    """ERROR_CONNECTION_INVALID (1229): unknown, stale or finished request id, or its connection is gone."""

    code = Win32Error.ERROR_CONNECTION_INVALID


class RevisionMismatchError(_FixedCodeError, ValueError):
    """ERROR_REVISION_MISMATCH (1306): unsupported HTTPAPI_VERSION."""

    code = Win32Error.ERROR_REVISION_MISMATCH


class NoSuchLogonSessionError(_FixedCodeError):
    """ERROR_NO_SUCH_LOGON_SESSION (1312): SSL binding with an invalid certificate."""

    code = Win32Error.ERROR_NO_SUCH_LOGON_SESSION


class InvalidIdAuthorityError(_FixedCodeError, PermissionError):
    """ERROR_INVALID_ID_AUTHORITY (1343): HttpWaitForDemandStart from a process that is not the controller."""

    code = Win32Error.ERROR_INVALID_ID_AUTHORITY


class NotEnoughQuotaError(_FixedCodeError):
    """ERROR_NOT_ENOUGH_QUOTA (1816): over this process's per-client quota in the httpsys daemon (handles or
    outstanding operations; docs/daemon.md "Quotas")."""

    code = Win32Error.ERROR_NOT_ENOUGH_QUOTA


_CLASS_BY_CODE: dict[int, type[_FixedCodeError]] = {
    int(cls.code): cls
    for cls in (
        InvalidFunctionError,
        UrlNotFoundError,
        PathNotFoundError,
        AccessDeniedError,
        InvalidHandleError,
        NotEnoughMemoryError,
        OutOfMemoryError,
        BadCommandError,
        SharingViolationError,
        NotSupportedError,
        NetnameDeletedError,
        InvalidParameterError,
        CallNotImplementedError,
        InsufficientBufferError,
        InvalidNameError,
        AlreadyExistsError,
        WaitTimeoutError,
        NoMoreItemsError,
        OperationAbortedError,
        IoIncompleteError,
        NoAccessError,
        ServiceNotActiveError,
        DllInitFailedError,
        NotFoundError,
        ConnectionInvalidError,
        RevisionMismatchError,
        NoSuchLogonSessionError,
        InvalidIdAuthorityError,
        NotEnoughQuotaError,
    )
}


def error_for_code(code: int, message: str | None = None) -> HttpSysError:
    """The exception for Win32 ``code``: its subclass, or a plain ``HttpSysError`` for a code outside the table.

    ValueError for the codes that are results, not errors (``NON_ERROR_CODES``) and for values outside ULONG.
    """
    if isinstance(code, bool) or not isinstance(code, int):
        raise TypeError(f"code must be an int, not {type(code).__name__}")
    cls = _CLASS_BY_CODE.get(int(code))
    if cls is not None:
        return cls(message)
    return HttpSysError(int(code), message)


# errno of an OSError from the operating system -> Win32 code, for failures that reach the win32 face raw.
_CODE_BY_ERRNO: dict[int, int] = {
    _errno.EADDRINUSE: Win32Error.ERROR_SHARING_VIOLATION,
    _errno.EACCES: Win32Error.ERROR_ACCESS_DENIED,
    _errno.EPERM: Win32Error.ERROR_ACCESS_DENIED,
    _errno.EBADF: Win32Error.ERROR_INVALID_HANDLE,
    _errno.ENOMEM: Win32Error.ERROR_NOT_ENOUGH_MEMORY,
    _errno.ENOBUFS: Win32Error.ERROR_NOT_ENOUGH_MEMORY,
    _errno.EINVAL: Win32Error.ERROR_INVALID_PARAMETER,
    _errno.ENOENT: Win32Error.ERROR_FILE_NOT_FOUND,
    _errno.EEXIST: Win32Error.ERROR_ALREADY_EXISTS,
    _errno.ECONNRESET: Win32Error.ERROR_NETNAME_DELETED,
    _errno.EPIPE: Win32Error.ERROR_NETNAME_DELETED,
    _errno.ECONNABORTED: Win32Error.ERROR_NETNAME_DELETED,
    _errno.ENOTCONN: Win32Error.ERROR_CONNECTION_INVALID,
    _errno.ETIMEDOUT: Win32Error.ERROR_NETNAME_DELETED,
    _errno.ECANCELED: Win32Error.ERROR_OPERATION_ABORTED,
    _errno.EOPNOTSUPP: Win32Error.ERROR_NOT_SUPPORTED,
}

# An OSError without a known errno: by class, first match wins (subclasses before their bases).
_CODE_BY_OSERROR_CLASS: tuple[tuple[type[OSError], int], ...] = (
    (ConnectionResetError, Win32Error.ERROR_NETNAME_DELETED),
    (BrokenPipeError, Win32Error.ERROR_NETNAME_DELETED),
    (ConnectionAbortedError, Win32Error.ERROR_NETNAME_DELETED),
    (ConnectionError, Win32Error.ERROR_CONNECTION_INVALID),
    (PermissionError, Win32Error.ERROR_ACCESS_DENIED),
    (FileNotFoundError, Win32Error.ERROR_FILE_NOT_FOUND),
    (FileExistsError, Win32Error.ERROR_ALREADY_EXISTS),
    (TimeoutError, Win32Error.WAIT_TIMEOUT),
)


def code_for_error(exc: BaseException) -> int:
    """The Win32 code the win32 face returns for ``exc`` (it never lets an exception escape).

    * ``HttpSysError`` -> its ``winerror``;
    * ``ValueError`` / ``TypeError`` / ``OverflowError`` (a bad argument) -> ERROR_INVALID_PARAMETER;
    * ``MemoryError`` -> ERROR_NOT_ENOUGH_MEMORY; ``NotImplementedError`` -> ERROR_NOT_SUPPORTED;
    * another ``OSError`` -> by errno (EADDRINUSE -> ERROR_SHARING_VIOLATION, EACCES -> ERROR_ACCESS_DENIED,
      ECONNRESET/EPIPE/ECONNABORTED/ETIMEDOUT -> ERROR_NETNAME_DELETED, ...), without a known errno by class
      (ConnectionResetError -> ERROR_NETNAME_DELETED, ConnectionError -> ERROR_CONNECTION_INVALID,
      PermissionError -> ERROR_ACCESS_DENIED, TimeoutError -> WAIT_TIMEOUT ...), else ERROR_INVALID_FUNCTION;
    * ``asyncio.CancelledError``, ``KeyboardInterrupt`` and other non-``Exception`` -> ERROR_OPERATION_ABORTED;
    * anything else -> ERROR_INVALID_FUNCTION.
    """
    if isinstance(exc, HttpSysError):
        return exc.winerror
    if isinstance(exc, ValueError | TypeError | OverflowError):
        return int(Win32Error.ERROR_INVALID_PARAMETER)
    if isinstance(exc, MemoryError):
        return int(Win32Error.ERROR_NOT_ENOUGH_MEMORY)
    if isinstance(exc, NotImplementedError):
        return int(Win32Error.ERROR_NOT_SUPPORTED)
    if isinstance(exc, OSError):
        code = _CODE_BY_ERRNO.get(exc.errno) if isinstance(exc.errno, int) else None
        if code is not None:
            return int(code)
        for cls, by_class in _CODE_BY_OSERROR_CLASS:
            if isinstance(exc, cls):
                return int(by_class)
        return int(Win32Error.ERROR_INVALID_FUNCTION)
    if isinstance(exc, asyncio.CancelledError) or not isinstance(exc, Exception):
        return int(Win32Error.ERROR_OPERATION_ABORTED)
    return int(Win32Error.ERROR_INVALID_FUNCTION)
