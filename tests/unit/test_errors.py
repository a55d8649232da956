"""httpsys.errors: Win32 code <-> exception class, builtin bases, messages."""

from __future__ import annotations

import asyncio
import copy
import errno
import pickle
from typing import Any

import pytest

import httpsys.errors as errors
from httpsys._core.status import Win32Error
from httpsys.errors import (
    NON_ERROR_CODES,
    AccessDeniedError,
    AlreadyExistsError,
    BadCommandError,
    CallNotImplementedError,
    ConnectionInvalidError,
    DllInitFailedError,
    HttpSysError,
    InsufficientBufferError,
    InvalidFunctionError,
    InvalidHandleError,
    InvalidIdAuthorityError,
    InvalidNameError,
    InvalidParameterError,
    IoIncompleteError,
    NetnameDeletedError,
    NoAccessError,
    NoMoreItemsError,
    NoSuchLogonSessionError,
    NotEnoughMemoryError,
    NotEnoughQuotaError,
    NotFoundError,
    NotSupportedError,
    OperationAbortedError,
    OutOfMemoryError,
    PathNotFoundError,
    RevisionMismatchError,
    ServiceNotActiveError,
    SharingViolationError,
    UrlNotFoundError,
    WaitTimeoutError,
    code_for_error,
    error_for_code,
)

# code, class, builtin the class must also be (None: only HttpSysError/OSError)
MAPPING: list[tuple[int, type[HttpSysError], type[BaseException] | None]] = [
    (1, InvalidFunctionError, None),
    (2, UrlNotFoundError, FileNotFoundError),
    (3, PathNotFoundError, FileNotFoundError),
    (5, AccessDeniedError, PermissionError),
    (6, InvalidHandleError, None),
    (8, NotEnoughMemoryError, None),
    (14, OutOfMemoryError, None),
    (22, BadCommandError, RuntimeError),
    (32, SharingViolationError, None),
    (50, NotSupportedError, NotImplementedError),
    (64, NetnameDeletedError, ConnectionResetError),
    (87, InvalidParameterError, ValueError),
    (120, CallNotImplementedError, NotImplementedError),
    (122, InsufficientBufferError, ValueError),
    (123, InvalidNameError, ValueError),
    (183, AlreadyExistsError, FileExistsError),
    (258, WaitTimeoutError, TimeoutError),
    (259, NoMoreItemsError, None),
    (995, OperationAbortedError, ConnectionAbortedError),
    (996, IoIncompleteError, BlockingIOError),
    (998, NoAccessError, ValueError),
    (1114, DllInitFailedError, RuntimeError),
    (1168, NotFoundError, FileNotFoundError),
    (1229, ConnectionInvalidError, ConnectionError),
    (1062, ServiceNotActiveError, ConnectionRefusedError),
    (1306, RevisionMismatchError, ValueError),
    (1312, NoSuchLogonSessionError, None),
    (1343, InvalidIdAuthorityError, PermissionError),
    (1816, NotEnoughQuotaError, None),
]


@pytest.mark.parametrize(("code", "cls", "builtin"), MAPPING, ids=lambda x: getattr(x, "__name__", str(x)))
def test_code_maps_to_its_class_and_back(
    code: int, cls: type[HttpSysError], builtin: type[BaseException] | None
) -> None:
    exc = error_for_code(code, "detail")
    assert type(exc) is cls
    assert isinstance(exc, HttpSysError)
    assert isinstance(exc, OSError)
    if builtin is not None:
        assert isinstance(exc, builtin)
    assert exc.winerror == code
    assert exc.message == "detail"
    assert code_for_error(exc) == code
    bound: Any = cls  # subclasses are built from the message alone
    assert code_for_error(bound("direct")) == code


def test_every_error_code_of_the_status_table_has_its_own_class() -> None:
    mapped = {code for code, _, _ in MAPPING}
    errors_in_table = {int(m) for m in Win32Error} - set(NON_ERROR_CODES)
    assert errors_in_table == mapped
    assert len({cls for _, cls, _ in MAPPING}) == len(MAPPING)
    for name in errors.__all__:
        assert hasattr(errors, name)


@pytest.mark.parametrize("code", [0, 38, 234, 997])
def test_statuses_are_not_exceptions(code: int) -> None:
    with pytest.raises(ValueError, match="result, not an error"):
        error_for_code(code)
    with pytest.raises(ValueError):
        HttpSysError(code)


def test_unknown_code_gives_a_generic_http_sys_error() -> None:
    exc = error_for_code(12345, "odd")
    assert type(exc) is HttpSysError
    assert exc.winerror == 12345
    assert exc.name is None
    assert str(exc) == "[WinError 12345]: odd"
    assert code_for_error(exc) == 12345


def test_code_outside_ulong_or_not_an_int_is_rejected() -> None:
    with pytest.raises(ValueError):
        error_for_code(-1)
    with pytest.raises(ValueError):
        error_for_code(1 << 32)
    with pytest.raises(TypeError):
        error_for_code("87")  # type: ignore[arg-type]


def test_str_names_the_code_and_the_message() -> None:
    exc = InvalidParameterError("prefix lacks a port")
    assert str(exc) == "[WinError 87] ERROR_INVALID_PARAMETER: prefix lacks a port"
    assert exc.strerror == "prefix lacks a port"
    assert exc.name == "ERROR_INVALID_PARAMETER"
    assert repr(exc) == "InvalidParameterError(winerror=87, message='prefix lacks a port')"


def test_message_defaults_to_a_description_of_the_code() -> None:
    exc = ConnectionInvalidError()
    assert str(exc).startswith("[WinError 1229] ERROR_CONNECTION_INVALID: ")
    assert exc.message


def test_base_class_takes_the_code_explicitly() -> None:
    exc = HttpSysError(Win32Error.ERROR_ACCESS_DENIED, "no reservation")
    assert exc.winerror == 5
    assert type(exc.winerror) is int
    assert str(exc) == "[WinError 5] ERROR_ACCESS_DENIED: no reservation"


def test_errno_carries_the_posix_equivalent() -> None:
    assert SharingViolationError().errno == errno.EADDRINUSE
    assert AccessDeniedError().errno == errno.EACCES
    assert AlreadyExistsError().errno == errno.EEXIST
    assert NoMoreItemsError().errno is None


def test_builtin_except_clauses_catch_the_matching_errors() -> None:
    with pytest.raises(ConnectionError):
        raise ConnectionInvalidError("request 7 is gone")
    with pytest.raises(ValueError):
        raise InvalidParameterError("bad flags")
    with pytest.raises(FileExistsError):
        raise AlreadyExistsError("http://+:80/ already registered")
    with pytest.raises(OSError):
        raise SharingViolationError("port 80")


@pytest.mark.parametrize(
    "exc", [ConnectionInvalidError("gone"), error_for_code(4242, "x"), UrlNotFoundError()]
)
def test_errors_survive_pickle_and_copy(exc: HttpSysError) -> None:
    exc.request_id = 9  # type: ignore[attr-defined]
    for clone in (pickle.loads(pickle.dumps(exc)), copy.copy(exc)):
        assert type(clone) is type(exc)
        assert (clone.winerror, clone.message, str(clone)) == (exc.winerror, exc.message, str(exc))
        assert clone.request_id == 9  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (ValueError("x"), 87),
        (TypeError("x"), 87),
        (OverflowError("x"), 87),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), 87),
        (MemoryError(), 8),
        (NotImplementedError(), 50),
        (OSError(errno.EADDRINUSE, "in use"), 32),
        (OSError(errno.EACCES, "denied"), 5),
        (OSError(errno.EBADF, "closed"), 6),
        (ConnectionResetError(errno.ECONNRESET, "reset"), 64),
        (BrokenPipeError(errno.EPIPE, "pipe"), 64),
        (ConnectionResetError(), 64),
        (ConnectionError(), 1229),
        (PermissionError(), 5),
        (TimeoutError(), 258),
        (OSError(errno.EIO, "io"), 1),
        (asyncio.CancelledError(), 995),
        (KeyboardInterrupt(), 995),
        (RuntimeError("bug"), 1),
        (KeyError("k"), 1),
    ],
    ids=lambda x: type(x).__name__ if isinstance(x, BaseException) else str(x),
)
def test_other_exceptions_map_to_the_code_the_win32_face_returns(exc: BaseException, code: int) -> None:
    assert code_for_error(exc) == code
