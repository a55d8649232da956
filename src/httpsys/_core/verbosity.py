"""HTTP_503_RESPONSE_VERBOSITY, the request queue property a public face exposes as `httpsys.Verbosity503`.

Responsibility: the enum alone, in a module of its own so that it stays interpreted (with its docstring) when the
native build compiles the object model (`_core/objects.py`, decision 0009). It must not hold behaviour.
"""

from __future__ import annotations

from enum import IntEnum


class Verbosity503(IntEnum):
    """HTTP_503_RESPONSE_VERBOSITY: what a client sees when the driver cannot hand its request to a queue.

    Example:
        queue.verbosity = httpsys.Verbosity503.LIMITED  # a 503 page instead of a reset
    """

    BASIC = 0  # reset the connection, send nothing (the default)
    LIMITED = 1  # 503 with the generic reason, then close
    FULL = 2  # 503 with a detailed reason, then close
