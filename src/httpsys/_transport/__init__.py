"""The face-to-driver transport: one typed interface, plain data across it.

Responsibility: the seam between the faces (win32, aio) and the driver, so that the embedded driver and the later
shared daemon are two implementations of the same interface. It must not contain HTTP behaviour.
"""

from httpsys._transport.embedded import EmbeddedTransport, embedded_transport, release_embedded_transport
from httpsys._transport.interface import DriverTransport

__all__ = ["DriverTransport", "EmbeddedTransport", "embedded_transport", "release_embedded_transport"]
