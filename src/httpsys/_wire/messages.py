"""The messages of the daemon wire protocol: one typed class per operation of DriverTransport, its completions,
and the connection-control messages (HELLO/WELCOME/REFUSE handshake, GOING_AWAY, CANCEL).

Responsibility: each message's type code, direction, fields in wire order (with their codecs from `fields`), and
the two conversions between a message and its meta + tail + fds. Field names follow the transport interface
(`httpsys._transport.interface`), so the daemon's server side can call the embedded transport with them as they
are. It must not frame bytes, track operations or connections, or do I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar

from httpsys._core.records import CachePolicy, DataChunk, RequestSnapshot, ResponseSpec
from httpsys._wire import fields as F
from httpsys._wire.fields import U64_MAX, Incoming, Kind, Outgoing
from httpsys._wire.frames import (
    DEFAULT_LIMITS,
    MAGIC,
    PROTOCOL_VERSION,
    PROTOCOL_VERSION_MIN,
    Limits,
    ProtocolError,
    T,
    WireEncodeError,
)

__all__ = [
    "CALLS",
    "COMPLETIONS",
    "CONTROL_MESSAGES",
    "MESSAGE_TYPES",
    "AddFragment",
    "AddUrl",
    "AddUrlV1",
    "BytesDone",
    "Cancel",
    "CancelDone",
    "CancelRequest",
    "SetRequestProperty",
    "QueryRequestProperty",
    "CloseRequestQueue",
    "CloseServerSession",
    "CloseUrlGroup",
    "CodeDone",
    "CreateRequestQueue",
    "CreateServerSession",
    "DrainServerSession",
    "CreateUrlGroup",
    "DelegateRequest",
    "FindUrlGroupId",
    "FlushCache",
    "GOING_AWAY_UPGRADE",
    "GoingAway",
    "HandleDone",
    "Hello",
    "Message",
    "QueryGroupProperty",
    "QueryQueueProperty",
    "QuerySessionProperty",
    "ReadFragment",
    "ReceiveBody",
    "ReceiveRequest",
    "Refuse",
    "RemoveUrl",
    "ReloadConfiguration",
    "RemoveUrlV1",
    "RequestDone",
    "SendBody",
    "SendResponse",
    "SentDone",
    "ServiceConfigDelete",
    "ServiceConfigImport",
    "ServiceConfigQuery",
    "ServiceConfigSet",
    "ServiceState",
    "SetGroupProperty",
    "SetQueueProperty",
    "SetSessionProperty",
    "ShutdownRequestQueue",
    "Side",
    "Statistics",
    "StatsDone",
    "Takeover",
    "TakeoverDone",
    "Unsupported",
    "ValueDone",
    "WaitDemandStart",
    "WaitDisconnect",
    "Welcome",
    "choose_version",
    "decode_fields",
    "encode_fields",
]


class Side(Enum):
    """Which end a codec runs on: the daemon reads calls and writes completions; a client the reverse."""

    DAEMON = "daemon"
    CLIENT = "client"


@dataclass(kw_only=True)
class Message:
    """A decoded or to-be-encoded message. `op` is the operation id (0 only for connection control).

    `fds` lists the file descriptors a decoded message owns (its receiver closes them when done with the
    operation); encoding takes fds from the fields (FileChunk.fd), never from this list.
    """

    TYPE: ClassVar[int] = 0
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = ()
    TO_DAEMON: ClassVar[bool] = True
    TAKES_FDS: ClassVar[bool] = False
    CONTROL: ClassVar[bool] = False  # op is 0; part of the handshake or unsolicited
    EXTENSIBLE: ClassVar[bool] = False  # a newer peer may append fields; they are ignored

    op: int = 0
    fds: list[int] = field(default_factory=list, compare=False, repr=False)

    def encode_meta(self, out: Outgoing) -> list[object]:
        """The meta array, adding tail pieces and fds to `out`; WireEncodeError for a value that cannot travel.

        The hot messages (receives, sends and their completions) override this and `decode_meta` with direct
        code that gives the same bytes and the same message; anything unusual falls back to the FIELDS walk,
        which raises the precise error."""
        return _encode_generic(self, out)

    @classmethod
    def decode_meta(cls, op: int, meta: tuple[object, ...], tail: memoryview, fds: list[int]) -> Message:
        """The message from its unpacked meta array, tail and fds; ProtocolError if anything does not fit."""
        return _decode_generic(cls, op, meta, tail, fds)


def encode_fields(message: Message) -> tuple[list[object], Outgoing]:
    """The meta array of `message` and what it adds besides (tail pieces, fds); WireEncodeError if it cannot."""
    out = Outgoing()
    meta = message.encode_meta(out)
    if out.fds and not message.TAKES_FDS:
        raise WireEncodeError(f"{type(message).__name__} carries no file descriptors")
    return meta, out


def decode_fields(cls: type[Message], op: int, meta: object, tail: memoryview, fds: list[int]) -> Message:
    """A message of type `cls` from its unpacked meta, tail and fds; ProtocolError if anything does not fit."""
    if type(meta) is not tuple:
        raise ProtocolError("the meta of a message must be an array")
    return cls.decode_meta(op, meta, tail, fds)


def _encode_generic(message: Message, out: Outgoing) -> list[object]:
    """The meta array field by field through FIELDS (every message's form; the hot ones have a direct one)."""
    return [kind.encode(getattr(message, name), out) for name, kind in message.FIELDS]


def _decode_generic(
    cls: type[Message], op: int, meta: tuple[object, ...], tail: memoryview, fds: list[int]
) -> Message:
    """A message field by field through FIELDS; raises the ProtocolError that names what does not fit."""
    count = len(cls.FIELDS)
    if len(meta) < count or (len(meta) > count and not cls.EXTENSIBLE):
        raise ProtocolError(f"{cls.__name__} has {count} fields, the frame has {len(meta)}")
    inc = Incoming(tail, fds)
    values: dict[str, Any] = {}
    for (name, kind), raw in zip(cls.FIELDS, meta, strict=False):
        values[name] = kind.decode(raw, inc)
    inc.finish()
    message = cls(op=op, **values)
    message.fds = fds
    return message


def _uints(a: object, b: object, c: object) -> bool:
    """All three are ints in 0..2**64-1 (the id and flags fields of the hot calls)."""
    return (
        type(a) is int
        and 0 <= a <= U64_MAX
        and type(b) is int
        and 0 <= b <= U64_MAX
        and type(c) is int
        and 0 <= c <= U64_MAX
    )


# ----- connection control ------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class Hello(Message):
    """C→D, the first message: who speaks (magic), which versions, the client's pid (logged only, never
    trusted), optional features, and the limits the client accepts for what the daemon sends it."""

    TYPE = T.HELLO
    CONTROL = True
    EXTENSIBLE = True
    FIELDS = (
        ("magic", F.MAGIC_KIND),
        ("min_version", F.UINT),
        ("max_version", F.UINT),
        ("pid", F.UINT),
        ("features", F.STR_LIST),
        ("limits", F.LIMITS),
    )
    magic: str = MAGIC
    min_version: int = PROTOCOL_VERSION_MIN
    max_version: int = PROTOCOL_VERSION
    pid: int = 0
    features: list[str] = field(default_factory=list)
    limits: Limits = DEFAULT_LIMITS


@dataclass(kw_only=True)
class Welcome(Message):
    """D→C: the version chosen, the client's id in the daemon's logs, the peer credentials the daemon read
    from the socket (SO_PEERCRED), features both ends have, and the limits the daemon accepts."""

    TYPE = T.WELCOME
    TO_DAEMON = False
    CONTROL = True
    EXTENSIBLE = True
    FIELDS = (
        ("version", F.UINT),
        ("client_id", F.UINT),
        ("pid", F.UINT),
        ("uid", F.UINT),
        ("gid", F.UINT),
        ("features", F.STR_LIST),
        ("limits", F.LIMITS),
    )
    version: int = PROTOCOL_VERSION
    client_id: int = 0
    pid: int = 0
    uid: int = 0
    gid: int = 0
    features: list[str] = field(default_factory=list)
    limits: Limits = DEFAULT_LIMITS


@dataclass(kw_only=True)
class Refuse(Message):
    """D→C instead of WELCOME: a Win32 code (ERROR_REVISION_MISMATCH, ERROR_NOT_ENOUGH_QUOTA, ...) and why;
    the daemon then closes the connection."""

    TYPE = T.REFUSE
    TO_DAEMON = False
    CONTROL = True
    EXTENSIBLE = True
    FIELDS = (("code", F.UINT), ("reason", F.STR))
    code: int = 0
    reason: str = ""


@dataclass(kw_only=True)
class GoingAway(Message):
    """D→C, unsolicited: the daemon drains (reload, upgrade, stop); finish borrowed requests within `seconds`."""

    TYPE = T.GOING_AWAY
    TO_DAEMON = False
    CONTROL = True
    FIELDS = (("seconds", F.FLOAT), ("reason", F.STR))
    seconds: float = 0.0
    reason: str = ""


# GOING_AWAY's reason when a new daemon has taken the listeners over (decision 0024 §3): the client reconnects to
# the same path, replays its objects there and finishes what it borrowed on the old connection. Any other reason
# (the daemon is stopping) leaves the connection to end.
GOING_AWAY_UPGRADE = "upgrade: reconnect to the new daemon"


@dataclass(kw_only=True)
class Cancel(Message):
    """C→D: cancel_io(handle_id, token): `target_op` is the op of the pending I/O call to cancel, or None for
    every pending I/O call on the handle (the op of a call is its token on the daemon side)."""

    TYPE = T.CANCEL
    FIELDS = (("handle_id", F.UINT), ("target_op", F.OPT_UINT))
    handle_id: int = 0
    target_op: int | None = None


def choose_version(
    hello: Hello, lowest: int = PROTOCOL_VERSION_MIN, highest: int = PROTOCOL_VERSION
) -> int | None:
    """The newest version both ends speak, or None (the daemon then sends REFUSE with ERROR_REVISION_MISMATCH)."""
    top = min(hello.max_version, highest)
    return top if top >= max(hello.min_version, lowest) else None


# ----- calls: the object model ----------------------------------------------------------------------------------


@dataclass(kw_only=True)
class CreateServerSession(Message):
    TYPE = T.CREATE_SERVER_SESSION
    FIELDS = (("version", F.VERSION),)
    version: tuple[int, int] = (2, 0)


@dataclass(kw_only=True)
class CloseServerSession(Message):
    TYPE = T.CLOSE_SERVER_SESSION
    FIELDS = (("session_id", F.UINT),)
    session_id: int = 0


@dataclass(kw_only=True)
class DrainServerSession(Message):
    """The graceful stop of a session's sites (decision 0012); answered by HandleDone(code, connections open)."""

    TYPE = T.DRAIN_SERVER_SESSION
    FIELDS = (("session_id", F.UINT),)
    session_id: int = 0


@dataclass(kw_only=True)
class SetSessionProperty(Message):
    TYPE = T.SET_SESSION_PROPERTY
    FIELDS = (("session_id", F.UINT), ("prop", F.UINT), ("value", F.VALUE))
    session_id: int = 0
    prop: int = 0
    value: object = None


@dataclass(kw_only=True)
class QuerySessionProperty(Message):
    TYPE = T.QUERY_SESSION_PROPERTY
    FIELDS = (("session_id", F.UINT), ("prop", F.UINT))
    session_id: int = 0
    prop: int = 0


@dataclass(kw_only=True)
class CreateUrlGroup(Message):
    TYPE = T.CREATE_URL_GROUP
    FIELDS = (("session_id", F.UINT),)
    session_id: int = 0


@dataclass(kw_only=True)
class CloseUrlGroup(Message):
    TYPE = T.CLOSE_URL_GROUP
    FIELDS = (("group_id", F.UINT),)
    group_id: int = 0


@dataclass(kw_only=True)
class AddUrl(Message):
    TYPE = T.ADD_URL
    FIELDS = (("group_id", F.UINT), ("url", F.STR), ("context", F.UINT))
    group_id: int = 0
    url: str = ""
    context: int = 0


@dataclass(kw_only=True)
class RemoveUrl(Message):
    TYPE = T.REMOVE_URL
    FIELDS = (("group_id", F.UINT), ("url", F.OPT_STR), ("remove_all", F.BOOL))
    group_id: int = 0
    url: str | None = None
    remove_all: bool = False


@dataclass(kw_only=True)
class SetGroupProperty(Message):
    TYPE = T.SET_GROUP_PROPERTY
    FIELDS = (("group_id", F.UINT), ("prop", F.UINT), ("value", F.VALUE))
    group_id: int = 0
    prop: int = 0
    value: object = None


@dataclass(kw_only=True)
class QueryGroupProperty(Message):
    TYPE = T.QUERY_GROUP_PROPERTY
    FIELDS = (("group_id", F.UINT), ("prop", F.UINT))
    group_id: int = 0
    prop: int = 0


@dataclass(kw_only=True)
class CreateRequestQueue(Message):
    TYPE = T.CREATE_REQUEST_QUEUE
    FIELDS = (("name", F.OPT_STR), ("flags", F.UINT), ("v1", F.BOOL), ("security", F.OPT_STR))
    name: str | None = None
    flags: int = 0
    v1: bool = False
    security: str | None = None  # the queue's SDDL (SecurityAttributes), checked at OPEN_EXISTING


@dataclass(kw_only=True)
class CloseRequestQueue(Message):
    TYPE = T.CLOSE_REQUEST_QUEUE
    FIELDS = (("handle_id", F.UINT),)
    handle_id: int = 0


@dataclass(kw_only=True)
class SetQueueProperty(Message):
    TYPE = T.SET_QUEUE_PROPERTY
    FIELDS = (("handle_id", F.UINT), ("prop", F.UINT), ("value", F.VALUE))
    handle_id: int = 0
    prop: int = 0
    value: object = None


@dataclass(kw_only=True)
class QueryQueueProperty(Message):
    TYPE = T.QUERY_QUEUE_PROPERTY
    FIELDS = (("handle_id", F.UINT), ("prop", F.UINT))
    handle_id: int = 0
    prop: int = 0


@dataclass(kw_only=True)
class ShutdownRequestQueue(Message):
    TYPE = T.SHUTDOWN_REQUEST_QUEUE
    FIELDS = (("handle_id", F.UINT),)
    handle_id: int = 0


@dataclass(kw_only=True)
class AddUrlV1(Message):
    TYPE = T.ADD_URL_V1
    FIELDS = (("handle_id", F.UINT), ("url", F.STR))
    handle_id: int = 0
    url: str = ""


@dataclass(kw_only=True)
class RemoveUrlV1(Message):
    TYPE = T.REMOVE_URL_V1
    FIELDS = (("handle_id", F.UINT), ("url", F.STR))
    handle_id: int = 0
    url: str = ""


@dataclass(kw_only=True)
class AddFragment(Message):
    """The fragment's bytes travel in the tail."""

    TYPE = T.ADD_FRAGMENT
    FIELDS = (("handle_id", F.UINT), ("name", F.STR), ("data", F.TAIL_BYTES), ("policy", F.CACHE_POLICY))
    handle_id: int = 0
    name: str = ""
    data: bytes = b""
    policy: CachePolicy = field(default_factory=lambda: CachePolicy(0))


@dataclass(kw_only=True)
class ReadFragment(Message):
    TYPE = T.READ_FRAGMENT
    FIELDS = (("handle_id", F.UINT), ("name", F.STR))
    handle_id: int = 0
    name: str = ""


@dataclass(kw_only=True)
class FlushCache(Message):
    TYPE = T.FLUSH_CACHE
    FIELDS = (("handle_id", F.UINT), ("prefix", F.STR), ("recursive", F.BOOL))
    handle_id: int = 0
    prefix: str = ""
    recursive: bool = False


@dataclass(kw_only=True)
class CancelRequest(Message):
    TYPE = T.CANCEL_REQUEST
    FIELDS = (("handle_id", F.UINT), ("request_id", F.UINT))
    handle_id: int = 0
    request_id: int = 0


@dataclass(kw_only=True)
class SetRequestProperty(Message):
    TYPE = T.SET_REQUEST_PROPERTY
    FIELDS = (("handle_id", F.UINT), ("request_id", F.UINT), ("prop", F.UINT), ("value", F.UINT))
    handle_id: int = 0
    request_id: int = 0
    prop: int = 0
    value: int = 0


@dataclass(kw_only=True)
class Statistics(Message):
    TYPE = T.STATISTICS


# ----- calls: the service configuration and administration (decision 0020) ---------------------------------------


@dataclass(kw_only=True)
class ServiceConfigSet(Message):
    """Store a configuration record (`update`: replace an existing one); answered by CodeDone."""

    TYPE = T.SERVICE_CONFIG_SET
    FIELDS = (("kind", F.STR), ("key", F.VALUE), ("value", F.VALUE), ("update", F.BOOL))
    kind: str = ""
    key: object = None
    value: object = None
    update: bool = False


@dataclass(kw_only=True)
class ServiceConfigDelete(Message):
    """Remove a configuration record; answered by CodeDone."""

    TYPE = T.SERVICE_CONFIG_DELETE
    FIELDS = (("kind", F.STR), ("key", F.VALUE))
    kind: str = ""
    key: object = None


@dataclass(kw_only=True)
class ServiceConfigQuery(Message):
    """Every record of a kind; answered by ValueDone(code, [(key, value), ...])."""

    TYPE = T.SERVICE_CONFIG_QUERY
    FIELDS = (("kind", F.STR),)
    kind: str = ""


@dataclass(kw_only=True)
class ServiceState(Message):
    """What `netsh http show servicestate` prints; answered by ValueDone(code, state tree)."""

    TYPE = T.SERVICE_STATE


@dataclass(kw_only=True)
class ReloadConfiguration(Message):
    """Re-read the store and apply it (what SIGHUP does); answered by CodeDone."""

    TYPE = T.RELOAD_CONFIGURATION


@dataclass(kw_only=True)
class ServiceConfigImport(Message):
    """Replace every record with those of a `config export` document, in one transaction; CodeDone."""

    TYPE = T.SERVICE_CONFIG_IMPORT
    FIELDS = (("document", F.STR),)
    document: str = ""


@dataclass(kw_only=True)
class DelegateRequest(Message):
    """delegate_request: move a received request to another queue (answered by CodeDone)."""

    TYPE = T.DELEGATE_REQUEST
    FIELDS = (
        ("source_id", F.UINT),
        ("target_id", F.UINT),
        ("request_id", F.UINT),
        ("group_id", F.UINT),
        ("url", F.OPT_STR),
    )
    source_id: int = 0
    target_id: int = 0
    request_id: int = 0
    group_id: int = 0
    url: str | None = None


@dataclass(kw_only=True)
class FindUrlGroupId(Message):
    """find_url_group_id: the URL group on a queue whose registration matches a URL (answered by HandleDone)."""

    TYPE = T.FIND_URL_GROUP_ID
    FIELDS = (("url", F.STR), ("handle_id", F.UINT))
    url: str = ""
    handle_id: int = 0


@dataclass(kw_only=True)
class Takeover(Message):
    """A new daemon asks the running one for its listening sockets, from index `start` (decision 0024 §3). The
    first call (start 0) commits the old daemon: it stops accepting and drains. Only the daemon's own uid or root
    may ask."""

    TYPE = T.TAKEOVER
    FIELDS = (("start", F.UINT),)
    start: int = 0


# ----- calls: I/O -----------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class ReceiveRequest(Message):
    TYPE = T.RECEIVE_REQUEST
    FIELDS = (
        ("handle_id", F.UINT),
        ("request_id", F.UINT),
        ("flags", F.UINT),
        ("buffer_length", F.OPT_UINT),
        ("v2", F.BOOL),
    )
    handle_id: int = 0
    request_id: int = 0
    flags: int = 0
    buffer_length: int | None = None
    v2: bool = True

    def encode_meta(self, out: Outgoing) -> list[object]:
        length, v2 = self.buffer_length, self.v2
        if (
            _uints(self.handle_id, self.request_id, self.flags)
            and (length is None or (type(length) is int and 0 <= length <= U64_MAX))
            and type(v2) is bool
        ):
            return [self.handle_id, self.request_id, self.flags, length, v2]
        return _encode_generic(self, out)

    @classmethod
    def decode_meta(cls, op: int, meta: tuple[object, ...], tail: memoryview, fds: list[int]) -> Message:
        if len(meta) == 5 and not len(tail) and not fds:
            handle_id, request_id, flags, length, v2 = meta
            if (
                type(handle_id) is int
                and handle_id >= 0
                and type(request_id) is int
                and request_id >= 0
                and type(flags) is int
                and flags >= 0
                and (length is None or (type(length) is int and length >= 0))
                and type(v2) is bool
            ):
                return cls(
                    op=op,
                    handle_id=handle_id,
                    request_id=request_id,
                    flags=flags,
                    buffer_length=length,
                    v2=v2,
                )
        return _decode_generic(cls, op, meta, tail, fds)


@dataclass(kw_only=True)
class ReceiveBody(Message):
    TYPE = T.RECEIVE_BODY
    FIELDS = (("handle_id", F.UINT), ("request_id", F.UINT), ("max_len", F.UINT), ("fill", F.BOOL))
    handle_id: int = 0
    request_id: int = 0
    max_len: int = 0
    fill: bool = False

    def encode_meta(self, out: Outgoing) -> list[object]:
        if _uints(self.handle_id, self.request_id, self.max_len) and type(self.fill) is bool:
            return [self.handle_id, self.request_id, self.max_len, self.fill]
        return _encode_generic(self, out)

    @classmethod
    def decode_meta(cls, op: int, meta: tuple[object, ...], tail: memoryview, fds: list[int]) -> Message:
        if len(meta) == 4 and not len(tail) and not fds:
            handle_id, request_id, max_len, fill = meta
            if (
                type(handle_id) is int
                and handle_id >= 0
                and type(request_id) is int
                and request_id >= 0
                and type(max_len) is int
                and max_len >= 0
                and type(fill) is bool
            ):
                return cls(
                    op=op,
                    handle_id=handle_id,
                    request_id=request_id,
                    max_len=max_len,
                    fill=fill,
                )
        return _decode_generic(cls, op, meta, tail, fds)


@dataclass(kw_only=True)
class SendResponse(Message):
    """Memory chunks travel in the tail, one fd per distinct file descriptor of the file chunks."""

    TYPE = T.SEND_RESPONSE
    TAKES_FDS = True
    FIELDS = (
        ("handle_id", F.UINT),
        ("request_id", F.UINT),
        ("flags", F.UINT),
        ("spec", F.RESPONSE_SPEC),
        ("chunks", F.CHUNKS),
        ("cache_policy", F.OPT_CACHE_POLICY),
        ("log_data", F.LOG_DATA),
    )
    handle_id: int = 0
    request_id: int = 0
    flags: int = 0
    spec: ResponseSpec = field(default_factory=lambda: ResponseSpec(200, b"OK", {}, []))
    chunks: list[DataChunk] = field(default_factory=list)
    cache_policy: CachePolicy | None = None
    log_data: object | None = None

    def encode_meta(self, out: Outgoing) -> list[object]:
        if not _uints(self.handle_id, self.request_id, self.flags):
            return _encode_generic(self, out)
        return [
            self.handle_id,
            self.request_id,
            self.flags,
            F.RESPONSE_SPEC.encode(self.spec, out),
            F.CHUNKS.encode(self.chunks, out),
            None if self.cache_policy is None else F.CACHE_POLICY.encode(self.cache_policy, out),
            None if self.log_data is None else F.LOG_DATA.encode(self.log_data, out),
        ]

    @classmethod
    def decode_meta(cls, op: int, meta: tuple[object, ...], tail: memoryview, fds: list[int]) -> Message:
        if len(meta) == 7:
            handle_id, request_id, flags, spec, chunks, policy, log_data = meta
            if (
                type(handle_id) is int
                and handle_id >= 0
                and type(request_id) is int
                and request_id >= 0
                and type(flags) is int
                and flags >= 0
            ):
                inc = Incoming(tail, fds)
                message = cls(
                    op=op,
                    handle_id=handle_id,
                    request_id=request_id,
                    flags=flags,
                    spec=F.decode_response_spec(spec),
                    chunks=F.decode_chunks(chunks, inc),
                    cache_policy=None if policy is None else F.decode_cache_policy(policy),
                    log_data=None if log_data is None else F.LOG_DATA.decode(log_data, inc),
                )
                inc.finish()
                message.fds = fds
                return message
        return _decode_generic(cls, op, meta, tail, fds)


@dataclass(kw_only=True)
class SendBody(Message):
    """Memory chunks travel in the tail, one fd per distinct file descriptor of the file chunks."""

    TYPE = T.SEND_BODY
    TAKES_FDS = True
    FIELDS = (
        ("handle_id", F.UINT),
        ("request_id", F.UINT),
        ("flags", F.UINT),
        ("chunks", F.CHUNKS),
        ("log_data", F.LOG_DATA),
    )
    handle_id: int = 0
    request_id: int = 0
    flags: int = 0
    chunks: list[DataChunk] = field(default_factory=list)
    log_data: object | None = None

    def encode_meta(self, out: Outgoing) -> list[object]:
        if not _uints(self.handle_id, self.request_id, self.flags):
            return _encode_generic(self, out)
        return [
            self.handle_id,
            self.request_id,
            self.flags,
            F.CHUNKS.encode(self.chunks, out),
            None if self.log_data is None else F.LOG_DATA.encode(self.log_data, out),
        ]

    @classmethod
    def decode_meta(cls, op: int, meta: tuple[object, ...], tail: memoryview, fds: list[int]) -> Message:
        if len(meta) == 5:
            handle_id, request_id, flags, chunks, log_data = meta
            if (
                type(handle_id) is int
                and handle_id >= 0
                and type(request_id) is int
                and request_id >= 0
                and type(flags) is int
                and flags >= 0
            ):
                inc = Incoming(tail, fds)
                message = cls(
                    op=op,
                    handle_id=handle_id,
                    request_id=request_id,
                    flags=flags,
                    chunks=F.decode_chunks(chunks, inc),
                    log_data=None if log_data is None else F.LOG_DATA.decode(log_data, inc),
                )
                inc.finish()
                message.fds = fds
                return message
        return _decode_generic(cls, op, meta, tail, fds)


@dataclass(kw_only=True)
class WaitDisconnect(Message):
    TYPE = T.WAIT_DISCONNECT
    FIELDS = (("handle_id", F.UINT), ("connection_id", F.UINT))
    handle_id: int = 0
    connection_id: int = 0


@dataclass(kw_only=True)
class WaitDemandStart(Message):
    TYPE = T.WAIT_DEMAND_START
    FIELDS = (("handle_id", F.UINT),)
    handle_id: int = 0


# ----- completions ----------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class CodeDone(Message):
    """The Win32 code of a call that returns only a code (or of an I/O call completing with a code)."""

    TYPE = T.CODE_DONE
    TO_DAEMON = False
    FIELDS = (("code", F.UINT),)
    code: int = 0

    def encode_meta(self, out: Outgoing) -> list[object]:
        code = self.code
        if type(code) is int and 0 <= code <= U64_MAX:
            return [code]
        return _encode_generic(self, out)

    @classmethod
    def decode_meta(cls, op: int, meta: tuple[object, ...], tail: memoryview, fds: list[int]) -> Message:
        if len(meta) == 1 and not len(tail) and not fds:
            code = meta[0]
            if type(code) is int and code >= 0:
                return cls(op=op, code=code)
        return _decode_generic(cls, op, meta, tail, fds)


@dataclass(kw_only=True)
class HandleDone(Message):
    """(code, id) of create_server_session, create_url_group, create_request_queue; (code, connections still
    open) of drain_server_session."""

    TYPE = T.HANDLE_DONE
    TO_DAEMON = False
    FIELDS = (("code", F.UINT), ("object_id", F.UINT))
    code: int = 0
    object_id: int = 0


@dataclass(kw_only=True)
class ValueDone(Message):
    """(code, value) of query_*_property."""

    TYPE = T.VALUE_DONE
    TO_DAEMON = False
    FIELDS = (("code", F.UINT), ("value", F.VALUE))
    code: int = 0
    value: object = None


@dataclass(kw_only=True)
class BytesDone(Message):
    """(code, bytes) of read_fragment and receive_body; the bytes travel in the tail."""

    TYPE = T.BYTES_DONE
    TO_DAEMON = False
    FIELDS = (("code", F.UINT), ("data", F.TAIL_BYTES))
    code: int = 0
    data: bytes = b""

    def encode_meta(self, out: Outgoing) -> list[object]:
        code = self.code
        if type(code) is int and 0 <= code <= U64_MAX:
            return [code, out.add_tail(self.data)]
        return _encode_generic(self, out)

    @classmethod
    def decode_meta(cls, op: int, meta: tuple[object, ...], tail: memoryview, fds: list[int]) -> Message:
        if len(meta) == 2 and not fds:
            code, size = meta
            if type(code) is int and code >= 0 and type(size) is int and size == len(tail):
                return cls(op=op, code=code, data=tail.tobytes())
        return _decode_generic(cls, op, meta, tail, fds)


@dataclass(kw_only=True)
class RequestDone(Message):
    """(code, snapshot, length) of receive_request; the snapshot's entity bytes travel in the tail."""

    TYPE = T.REQUEST_DONE
    TO_DAEMON = False
    FIELDS = (("code", F.UINT), ("snapshot", F.SNAPSHOT), ("length", F.UINT))
    code: int = 0
    snapshot: RequestSnapshot | None = None
    length: int = 0

    def encode_meta(self, out: Outgoing) -> list[object]:
        code, length = self.code, self.length
        if type(code) is int and 0 <= code <= U64_MAX and type(length) is int and 0 <= length <= U64_MAX:
            snapshot = self.snapshot
            return [code, None if snapshot is None else F.SNAPSHOT.encode(snapshot, out), length]
        return _encode_generic(self, out)

    @classmethod
    def decode_meta(cls, op: int, meta: tuple[object, ...], tail: memoryview, fds: list[int]) -> Message:
        if len(meta) == 3 and not fds:
            code, snapshot, length = meta
            if type(code) is int and code >= 0 and type(length) is int and length >= 0:
                inc = Incoming(tail, fds)
                message = cls(op=op, code=code, snapshot=F.decode_snapshot(snapshot, inc), length=length)
                inc.finish()
                return message
        return _decode_generic(cls, op, meta, tail, fds)


@dataclass(kw_only=True)
class SentDone(Message):
    """(code, bytes sent) of send_response and send_body."""

    TYPE = T.SENT_DONE
    TO_DAEMON = False
    FIELDS = (("code", F.UINT), ("bytes_sent", F.UINT))
    code: int = 0
    bytes_sent: int = 0

    def encode_meta(self, out: Outgoing) -> list[object]:
        code, sent = self.code, self.bytes_sent
        if type(code) is int and 0 <= code <= U64_MAX and type(sent) is int and 0 <= sent <= U64_MAX:
            return [code, sent]
        return _encode_generic(self, out)

    @classmethod
    def decode_meta(cls, op: int, meta: tuple[object, ...], tail: memoryview, fds: list[int]) -> Message:
        if len(meta) == 2 and not len(tail) and not fds:
            code, sent = meta
            if type(code) is int and code >= 0 and type(sent) is int and sent >= 0:
                return cls(op=op, code=code, bytes_sent=sent)
        return _decode_generic(cls, op, meta, tail, fds)


@dataclass(kw_only=True)
class CancelDone(Message):
    """The result of cancel_io: whether anything was cancelled."""

    TYPE = T.CANCEL_DONE
    TO_DAEMON = False
    FIELDS = (("cancelled", F.BOOL),)
    cancelled: bool = False


@dataclass(kw_only=True)
class StatsDone(Message):
    """The result of statistics()."""

    TYPE = T.STATS_DONE
    TO_DAEMON = False
    FIELDS = (("stats", F.STATS),)
    stats: dict[str, int] = field(default_factory=dict)


@dataclass(kw_only=True)
class TakeoverDone(Message):
    """The answer to Takeover: (port, scheme, fd) per listening socket (port 0, scheme "unix": the daemon's own
    socket), at most as many as a frame may carry, and how many remain after these."""

    TYPE = T.TAKEOVER_DONE
    TO_DAEMON = False
    TAKES_FDS = True
    FIELDS = (("code", F.UINT), ("listeners", F.LISTENERS), ("remaining", F.UINT))
    code: int = 0
    listeners: list[tuple[int, str, int]] = field(default_factory=list)
    remaining: int = 0


@dataclass(kw_only=True)
class Unsupported(Message):
    """What the decoder yields for a type code it does not know (a newer peer): its fds are already closed.
    The daemon answers the op with CodeDone(ERROR_NOT_SUPPORTED); a client closes the connection."""

    type_code: int = 0


CALLS: tuple[type[Message], ...] = (
    Cancel,
    CreateServerSession,
    CloseServerSession,
    DrainServerSession,
    SetSessionProperty,
    QuerySessionProperty,
    CreateUrlGroup,
    CloseUrlGroup,
    AddUrl,
    RemoveUrl,
    SetGroupProperty,
    QueryGroupProperty,
    CreateRequestQueue,
    CloseRequestQueue,
    SetQueueProperty,
    QueryQueueProperty,
    ShutdownRequestQueue,
    AddUrlV1,
    RemoveUrlV1,
    AddFragment,
    ReadFragment,
    FlushCache,
    CancelRequest,
    Statistics,
    ReceiveRequest,
    ReceiveBody,
    SendResponse,
    SendBody,
    WaitDisconnect,
    WaitDemandStart,
    ServiceConfigSet,
    ServiceConfigDelete,
    ServiceConfigQuery,
    ServiceState,
    ReloadConfiguration,
    ServiceConfigImport,
    DelegateRequest,
    FindUrlGroupId,
    Takeover,
    SetRequestProperty,
)
COMPLETIONS: tuple[type[Message], ...] = (
    CodeDone,
    HandleDone,
    ValueDone,
    BytesDone,
    RequestDone,
    SentDone,
    CancelDone,
    StatsDone,
    TakeoverDone,
)
CONTROL_MESSAGES: tuple[type[Message], ...] = (Hello, Welcome, Refuse, GoingAway)
MESSAGE_TYPES: dict[int, type[Message]] = {cls.TYPE: cls for cls in (*CONTROL_MESSAGES, *CALLS, *COMPLETIONS)}


# ----- HttpQueryRequestProperty (issue 18 item 2, decision 0022): appended, registered with the other calls -------


@dataclass(kw_only=True)
class QueryRequestProperty(Message):
    """HttpQueryRequestProperty of a borrowed request; answered by ValueDone (code, the property's fields)."""

    TYPE = T.QUERY_REQUEST_PROPERTY
    FIELDS = (("handle_id", F.UINT), ("request_id", F.UINT), ("prop", F.UINT))
    handle_id: int = 0
    request_id: int = 0
    prop: int = 0


CALLS += (QueryRequestProperty,)
MESSAGE_TYPES[QueryRequestProperty.TYPE] = QueryRequestProperty


# ---- appended: HttpReceiveClientCertificate through the daemon (decision 0021) ----------------------------------
@dataclass(kw_only=True)
class ReceiveClientCertificate(Message):
    """receive_client_certificate: the connection's client certificate, asked for on demand when the handshake
    negotiated none; answered by CLIENT_CERT_DONE."""

    TYPE = T.RECEIVE_CLIENT_CERTIFICATE
    FIELDS = (("handle_id", F.UINT), ("connection_id", F.UINT))
    handle_id: int = 0
    connection_id: int = 0


@dataclass(kw_only=True)
class ClientCertDone(Message):
    """(code, CertFlags) of receive_client_certificate; the DER certificate travels in the tail."""

    TYPE = T.CLIENT_CERT_DONE
    TO_DAEMON = False
    FIELDS = (("code", F.UINT), ("cert_flags", F.UINT), ("cert", F.TAIL_BYTES))
    code: int = 0
    cert_flags: int = 0
    cert: bytes = b""


CALLS = (*CALLS, ReceiveClientCertificate)
COMPLETIONS = (*COMPLETIONS, ClientCertDone)
MESSAGE_TYPES[ReceiveClientCertificate.TYPE] = ReceiveClientCertificate
MESSAGE_TYPES[ClientCertDone.TYPE] = ClientCertDone
