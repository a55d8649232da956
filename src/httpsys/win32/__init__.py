"""httpsys.win32: the faithful face of the Windows HTTP Server API.

``from httpsys.win32 import *`` gives every ``Http*`` function of spec §2.1, every ``HTTP_*`` constant and
enumeration value, every struct of ``http.h`` (with ``sizeof``), the Win32 error codes, and the kernel32-style
helpers an HTTP Server API program needs (events, OVERLAPPED, completion ports, CancelIoEx, GetLastError). This
module only re-exports; it holds no logic.

``WAIT_TIMEOUT`` is defined twice (as an error code in ``constants`` and as a wait result in ``kernel32``), with
the same value 258 as on Windows; the name is exported once, from ``kernel32``.
"""

from __future__ import annotations

from . import api, constants, kernel32, structs
from .api import *
from .constants import *
from .kernel32 import *
from .kernel32 import WAIT_TIMEOUT
from .structs import *

assert WAIT_TIMEOUT == constants.WAIT_TIMEOUT == 258

__all__ = list(dict.fromkeys([*constants.__all__, *structs.__all__, *kernel32.__all__, *api.__all__]))
