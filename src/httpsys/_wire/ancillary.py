"""The SCM_RIGHTS ancillary data of a received message: the file descriptors it carries, and closing them.

Responsibility: what both ends of the daemon channel (the daemon's client connections and the remote transport)
do with the ancillary items `recvmsg_into` returns — take the fds out of the SCM_RIGHTS items, and close fds that
no message will take. It must not read or write sockets, or decide which fds are unusable (the decoder does).
"""

from __future__ import annotations

import array
import contextlib
import os
import socket
from collections.abc import Iterable

__all__ = ["close_fds", "fds_of"]


def fds_of(ancillary: list[tuple[int, int, bytes]]) -> list[int]:
    """The file descriptors of every SCM_RIGHTS item of `ancillary`, in order (other items are ignored)."""
    fds: list[int] = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.extend(array.array("i", payload[: len(payload) - len(payload) % 4]))
    return fds


def close_fds(fds: Iterable[int]) -> None:
    """Close each fd, ignoring one that is already closed."""
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
