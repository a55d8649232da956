"""The frame layer of the daemon wire protocol: header layout, type codes, flags, limits and the two errors.

Responsibility: the fixed facts both ends agree on before any message is decoded (decision 0016): the 24-byte
little-endian header, which type codes exist and in which direction they travel, the hard limits and the
negotiable ones. It must not encode or decode messages, and (like all of `_wire`) must not touch sockets, event
loops, threads or the clock.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, fields
from typing import Final

__all__ = [
    "DEFAULT_LIMITS",
    "FLAG_MORE",
    "FLAGS_VALID",
    "HARD_LIMITS",
    "HEADER",
    "HEADER_SIZE",
    "MAGIC",
    "MIN_LIMITS",
    "PROTOCOL_VERSION",
    "PROTOCOL_VERSION_MIN",
    "Limits",
    "ProtocolError",
    "T",
    "WireEncodeError",
]

# The header never changes across protocol versions, and neither do the leading fields of HELLO, WELCOME and
# REFUSE: that is what lets two versions find out that they differ.
#   u32 total_len   bytes after the header in this frame (meta_len + this frame's tail bytes)
#   u32 meta_len    msgpack meta at the start of the first frame of a message; 0 in continuation frames
#   u16 type        message type (class T)
#   u8  flags       FLAG_MORE: further frames of this message follow (continuations: same type and op)
#   u8  nfds        file descriptors this frame takes from the connection's fd FIFO (first frame only)
#   u32 tail_len    tail bytes of the whole message (first frame); 0 in continuation frames
#   u64 op          the caller's operation id, echoed by its completion; 0 for handshake and GOING_AWAY
HEADER = struct.Struct("<IIHBBIQ")
HEADER_SIZE = HEADER.size  # 24

MAGIC = "httpsys-wire"  # first field of HELLO: a peer that is not httpsys is told apart from an old version
PROTOCOL_VERSION = 1  # the newest version this code speaks
PROTOCOL_VERSION_MIN = 1  # the oldest version this code still speaks

FLAG_MORE = 0x01
FLAGS_VALID = FLAG_MORE


class ProtocolError(Exception):
    """Malformed, truncated, oversized or out-of-order input from the peer: the connection must be closed.

    The decoder raises nothing else. When it raises this, it has already closed every file descriptor it was
    given and had not handed over in a message, and it stays broken (every later call raises again).
    """


class WireEncodeError(ValueError):
    """A value that the wire cannot represent (wrong type, integer out of range, over a limit).

    Raised by the encoder before anything is appended; the remote transport answers the call with
    ERROR_INVALID_PARAMETER, as the engine does for a record with a wrongly typed field.
    """


class T:
    """Message type codes. 0x00xx: connection control; 0x01xx: calls (client to daemon); 0x02xx: completions."""

    # C→D, first message: magic, versions, pid (logged only), features, the client's limits
    HELLO: Final = 0x0001
    # D→C: chosen version, client id, peer credentials seen, features, the daemon's limits
    WELCOME: Final = 0x0002
    REFUSE: Final = 0x0003  # D→C: the daemon will not serve this connection (version, quota); then it closes
    # D→C: the daemon is draining (reload/stop): reconnect and replay before the deadline
    GOING_AWAY: Final = 0x0004
    CANCEL: Final = 0x0005  # C→D: cancel_io(handle, op of the pending call or all); answered by CANCEL_DONE

    CREATE_SERVER_SESSION: Final = 0x0101
    CLOSE_SERVER_SESSION: Final = 0x0102
    SET_SESSION_PROPERTY: Final = 0x0103
    QUERY_SESSION_PROPERTY: Final = 0x0104
    CREATE_URL_GROUP: Final = 0x0105
    CLOSE_URL_GROUP: Final = 0x0106
    ADD_URL: Final = 0x0107
    REMOVE_URL: Final = 0x0108
    SET_GROUP_PROPERTY: Final = 0x0109
    QUERY_GROUP_PROPERTY: Final = 0x010A
    CREATE_REQUEST_QUEUE: Final = 0x010B
    CLOSE_REQUEST_QUEUE: Final = 0x010C
    SET_QUEUE_PROPERTY: Final = 0x010D
    QUERY_QUEUE_PROPERTY: Final = 0x010E
    SHUTDOWN_REQUEST_QUEUE: Final = 0x010F
    ADD_URL_V1: Final = 0x0110
    REMOVE_URL_V1: Final = 0x0111
    ADD_FRAGMENT: Final = 0x0112
    READ_FRAGMENT: Final = 0x0113
    FLUSH_CACHE: Final = 0x0114
    CANCEL_REQUEST: Final = 0x0115
    STATISTICS: Final = 0x0116
    DRAIN_SERVER_SESSION: Final = 0x0117
    SET_REQUEST_PROPERTY: Final = 0x0118  # HttpSetRequestProperty (HTTP/2 stream error; decision 0022)
    QUERY_REQUEST_PROPERTY: Final = 0x0119  # HttpQueryRequestProperty, answered by VALUE_DONE (decision 0022)
    RECEIVE_REQUEST: Final = 0x0120
    RECEIVE_BODY: Final = 0x0121
    SEND_RESPONSE: Final = 0x0122
    SEND_BODY: Final = 0x0123
    WAIT_DISCONNECT: Final = 0x0124
    WAIT_DEMAND_START: Final = 0x0125
    # the service configuration and administration (decision 0020): answered only for administrators, except
    # SERVICE_CONFIG_QUERY (anyone may read the records, as on Windows)
    SERVICE_CONFIG_SET: Final = 0x0140
    SERVICE_CONFIG_DELETE: Final = 0x0141
    SERVICE_CONFIG_QUERY: Final = 0x0142
    SERVICE_STATE: Final = 0x0143
    RELOAD_CONFIGURATION: Final = 0x0144
    SERVICE_CONFIG_IMPORT: Final = 0x0145
    DELEGATE_REQUEST: Final = 0x0130  # delegate_request (HttpDelegateRequestEx)
    FIND_URL_GROUP_ID: Final = 0x0131  # find_url_group_id (HttpFindUrlGroupId), answered by HANDLE_DONE
    TAKEOVER: Final = 0x0150  # admin: a new daemon asks for the listening sockets (decision 0024 §3)

    CODE_DONE: Final = 0x0201  # (code)
    # (code, id): create_server_session / create_url_group / create_request_queue;
    # (code, connections still open): drain_server_session
    HANDLE_DONE: Final = 0x0202
    VALUE_DONE: Final = 0x0203  # (code, value): query_*_property
    BYTES_DONE: Final = 0x0204  # (code) + tail: read_fragment, receive_body
    REQUEST_DONE: Final = 0x0205  # (code, snapshot or None, length) + entity tail: receive_request
    SENT_DONE: Final = 0x0206  # (code, bytes sent): send_response, send_body
    CANCEL_DONE: Final = 0x0207  # (cancelled): cancel_io
    STATS_DONE: Final = 0x0208  # (counters): statistics
    TAKEOVER_DONE: Final = 0x0209  # (code, listeners + their fds, how many remain): takeover
    # HttpReceiveClientCertificate (decision 0021): the call, and its (code, CertFlags) + DER tail
    RECEIVE_CLIENT_CERTIFICATE: Final = 0x0160
    CLIENT_CERT_DONE: Final = 0x0260


@dataclass(frozen=True)
class Limits:
    """What one end accepts from the other; each end announces its own in HELLO / WELCOME.

    The decoder enforces its own limits; the encoder keeps to the peer's. max_fds_per_frame is also the most
    file descriptors one sendmsg may carry (the receiver sizes its ancillary buffer with it).
    """

    max_frame: int = 1 << 20  # bytes after the header in one frame
    max_meta: int = 256 << 10  # msgpack meta of one message (it must fit in the first frame)
    max_message: int = 16 << 20  # tail bytes of one message across its continuation frames
    max_fds_per_frame: int = 32  # distinct files in one send; also per sendmsg (SCM_MAX_FD is 253)
    max_fds_held: int = 64  # fds received but not yet taken by a frame (at least 2 x max_fds_per_frame)

    def as_list(self) -> list[int]:
        """The wire form: the values in field order."""
        return [getattr(self, f.name) for f in fields(self)]

    def check(self) -> Limits:
        """This object when every value lies within [MIN_LIMITS, HARD_LIMITS] and is consistent, else ValueError."""
        for f in fields(self):
            value = getattr(self, f.name)
            low = getattr(MIN_LIMITS, f.name, 0)
            high = getattr(HARD_LIMITS, f.name, 0)
            if type(value) is not int or not low <= value <= high:
                raise ValueError(f"{f.name}={value!r} outside [{low}, {high}]")
        if self.max_meta > self.max_frame:
            raise ValueError("max_meta exceeds max_frame")
        if self.max_fds_held < 2 * self.max_fds_per_frame:
            # A receive may bring one batch's fds while the frames of the previous batch (or a continued
            # message) still hold theirs: a well-behaved peer never has more than two batches' worth waiting.
            raise ValueError("max_fds_held is below twice max_fds_per_frame")
        return self


# Bounds of what a peer may announce. HARD_LIMITS.max_frame leaves room for a request head of MaxRequestBytes
# (16 MiB at most) in one meta; the u32 tail_len field caps a message below 4 GiB, the policy at 1 GiB.
HARD_LIMITS = Limits(
    max_frame=32 << 20, max_meta=32 << 20, max_message=1 << 30, max_fds_per_frame=253, max_fds_held=1024
)
MIN_LIMITS = Limits(
    max_frame=64 << 10, max_meta=16 << 10, max_message=64 << 10, max_fds_per_frame=1, max_fds_held=2
)
DEFAULT_LIMITS = Limits().check()
