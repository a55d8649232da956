"""The daemon wire protocol, sans-I/O: typed messages for every DriverTransport operation, framed on a byte
stream with file descriptors passed alongside (decision 0016).

Responsibility: the codec both ends of a daemon connection share — `Encoder` (messages to batches of bytes +
fds, one sendmsg each) and `Decoder` (bytes + fds to messages, ProtocolError for anything malformed, no fd ever
leaked). It must not open sockets, run an event loop, start threads or read the clock: `_transport/remote.py`
and `_daemon/` own the sockets and call it. Layering: `_transport` and `_daemon` import `_wire`; `_wire`
imports only `_core` (and msgpack).
"""

from httpsys._wire.decoder import Decoder
from httpsys._wire.encoder import Batch, Encoder
from httpsys._wire.frames import (
    DEFAULT_LIMITS,
    PROTOCOL_VERSION,
    Limits,
    ProtocolError,
    T,
    WireEncodeError,
)
from httpsys._wire.messages import MESSAGE_TYPES, Message, Side, Unsupported, choose_version

__all__ = [
    "DEFAULT_LIMITS",
    "MESSAGE_TYPES",
    "PROTOCOL_VERSION",
    "Batch",
    "Decoder",
    "Encoder",
    "Limits",
    "Message",
    "ProtocolError",
    "Side",
    "T",
    "Unsupported",
    "WireEncodeError",
    "choose_version",
]
