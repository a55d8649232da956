"""The face-to-driver transport: one typed interface, plain data across it.

Responsibility: the seam between the faces (win32, aio) and the driver, so that the embedded driver and the
shared daemon are two implementations of the same interface, and the one choice between them
(`HTTPSYS_DAEMON_SOCKET`, ARCHITECTURE §8.2) that every face follows. It must not contain HTTP behaviour.
The remote transport (and with it `_wire` and msgpack) is imported only when the variable is set.
"""

from __future__ import annotations

import os

from httpsys._transport.embedded import EmbeddedTransport, embedded_transport, release_embedded_transport
from httpsys._transport.interface import DriverTransport

__all__ = [
    "DAEMON_SOCKET_ENV",
    "DriverTransport",
    "EmbeddedTransport",
    "daemon_socket",
    "embedded_transport",
    "release_embedded_transport",
    "release_shared_transport",
    "shared_transport",
]

DAEMON_SOCKET_ENV = "HTTPSYS_DAEMON_SOCKET"


def daemon_socket() -> str | None:
    """The daemon's socket path from HTTPSYS_DAEMON_SOCKET (read at each call), or None for embedded mode."""
    return os.environ.get(DAEMON_SOCKET_ENV) or None


def shared_transport() -> DriverTransport:
    """The process's transport: the shared connection to the daemon when HTTPSYS_DAEMON_SOCKET is set (raises
    ServiceNotActiveError at once when no daemon listens there), else the shared embedded driver. Reference
    counted: each call is matched by one `release_shared_transport`."""
    path = daemon_socket()
    if path is None:
        return embedded_transport()
    from httpsys._transport.remote import remote_transport

    return remote_transport(path)


def release_shared_transport(transport: DriverTransport | None = None) -> None:
    """Drop the reference one `shared_transport()` call took (on `transport`, whichever kind it is)."""
    if isinstance(transport, EmbeddedTransport) or (transport is None and daemon_socket() is None):
        release_embedded_transport()
        return
    from httpsys._transport.remote import release_remote_transport

    release_remote_transport(transport)
