"""Win32 status codes the HTTP Server API returns, with their numeric values.

Responsibility: the single table of codes shared by every layer. It must not hold behaviour: which call returns
which code is decided where the call is implemented.
"""

from __future__ import annotations

from enum import IntEnum


class Win32Error(IntEnum):
    """Win32 error codes used by the HTTP Server API (WinError.h values)."""

    NO_ERROR = 0
    ERROR_INVALID_FUNCTION = 1
    ERROR_FILE_NOT_FOUND = 2
    ERROR_PATH_NOT_FOUND = 3
    ERROR_ACCESS_DENIED = 5
    ERROR_INVALID_HANDLE = 6
    ERROR_NOT_ENOUGH_MEMORY = 8
    ERROR_OUTOFMEMORY = 14
    ERROR_BAD_COMMAND = 22
    ERROR_SHARING_VIOLATION = 32
    ERROR_HANDLE_EOF = 38
    ERROR_NOT_SUPPORTED = 50
    ERROR_NETNAME_DELETED = 64
    ERROR_INVALID_PARAMETER = 87
    ERROR_CALL_NOT_IMPLEMENTED = 120
    ERROR_INSUFFICIENT_BUFFER = 122
    ERROR_INVALID_NAME = 123
    ERROR_ALREADY_EXISTS = 183
    ERROR_MORE_DATA = 234
    WAIT_TIMEOUT = 258
    ERROR_NO_MORE_ITEMS = 259
    ERROR_OPERATION_ABORTED = 995
    ERROR_IO_INCOMPLETE = 996
    ERROR_IO_PENDING = 997
    ERROR_NOACCESS = 998
    ERROR_SERVICE_NOT_ACTIVE = 1062
    ERROR_DLL_INIT_FAILED = 1114
    ERROR_NOT_FOUND = 1168
    ERROR_CONNECTION_INVALID = 1229
    ERROR_REVISION_MISMATCH = 1306
    ERROR_NO_SUCH_LOGON_SESSION = 1312
    ERROR_INVALID_ID_AUTHORITY = 1343
    ERROR_NOT_ENOUGH_QUOTA = 1816


NO_ERROR = Win32Error.NO_ERROR
ERROR_SUCCESS = Win32Error.NO_ERROR
