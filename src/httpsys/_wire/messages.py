"""The messages of the daemon wire protocol: one typed class per operation of DriverTransport, its completions,
and the connection-control messages (HELLO/WELCOME/REFUSE handshake, GOING_AWAY, CANCEL).

Responsibility: each message's type code, direction, fields in wire order (with their codecs from `fields`), and
the two conversions between a message and its meta + tail + fds. Field names follow the transport interface
(`httpsys._transport.interface`), so the daemon's server side can call the embedded transport with them as they
are. It must not frame bytes, track operations or connections, or do I/O.
"""

from __future__ import annotations

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
    ATTRS: ClassVar[tuple[str, ...]] = ()  # the attributes besides op and fds, compared and shown

    def __init__(self, *, op: int = 0, fds: list[int] | None = None) -> None:
        self.op = op
        self.fds = [] if fds is None else fds

    def __eq__(self, other: object) -> bool:
        """Same type, op and attributes (`fds`, what a decoded message owns, is not compared)."""
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Message)
        if self.op != other.op:
            return False
        return all(getattr(self, name) == getattr(other, name) for name in self.ATTRS)

    __hash__ = None  # type: ignore[assignment]  # compared by value, hence not hashable

    def __repr__(self) -> str:
        values = "".join(f", {name}={getattr(self, name)!r}" for name in self.ATTRS)
        return f"{type(self).__name__}(op={self.op!r}{values})"

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


class Hello(Message):
    """C→D, the first message: who speaks (magic), which versions, the client's pid (logged only, never
    trusted), optional features, and the limits the client accepts for what the daemon sends it."""

    TYPE: ClassVar[int] = T.HELLO
    CONTROL: ClassVar[bool] = True
    EXTENSIBLE: ClassVar[bool] = True
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("magic", F.MAGIC_KIND),
        ("min_version", F.UINT),
        ("max_version", F.UINT),
        ("pid", F.UINT),
        ("features", F.STR_LIST),
        ("limits", F.LIMITS),
    )
    ATTRS: ClassVar[tuple[str, ...]] = ("magic", "min_version", "max_version", "pid", "features", "limits")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        magic: str = MAGIC,
        min_version: int = PROTOCOL_VERSION_MIN,
        max_version: int = PROTOCOL_VERSION,
        pid: int = 0,
        features: list[str] | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.magic = magic
        self.min_version = min_version
        self.max_version = max_version
        self.pid = pid
        self.features = [] if features is None else features
        self.limits = limits


class Welcome(Message):
    """D→C: the version chosen, the client's id in the daemon's logs, the peer credentials the daemon read
    from the socket (SO_PEERCRED), features both ends have, and the limits the daemon accepts."""

    TYPE: ClassVar[int] = T.WELCOME
    TO_DAEMON: ClassVar[bool] = False
    CONTROL: ClassVar[bool] = True
    EXTENSIBLE: ClassVar[bool] = True
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("version", F.UINT),
        ("client_id", F.UINT),
        ("pid", F.UINT),
        ("uid", F.UINT),
        ("gid", F.UINT),
        ("features", F.STR_LIST),
        ("limits", F.LIMITS),
    )
    ATTRS: ClassVar[tuple[str, ...]] = ("version", "client_id", "pid", "uid", "gid", "features", "limits")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        version: int = PROTOCOL_VERSION,
        client_id: int = 0,
        pid: int = 0,
        uid: int = 0,
        gid: int = 0,
        features: list[str] | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.version = version
        self.client_id = client_id
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.features = [] if features is None else features
        self.limits = limits


class Refuse(Message):
    """D→C instead of WELCOME: a Win32 code (ERROR_REVISION_MISMATCH, ERROR_NOT_ENOUGH_QUOTA, ...) and why;
    the daemon then closes the connection."""

    TYPE: ClassVar[int] = T.REFUSE
    TO_DAEMON: ClassVar[bool] = False
    CONTROL: ClassVar[bool] = True
    EXTENSIBLE: ClassVar[bool] = True
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("code", F.UINT), ("reason", F.STR))
    ATTRS: ClassVar[tuple[str, ...]] = ("code", "reason")

    def __init__(self, *, op: int = 0, fds: list[int] | None = None, code: int = 0, reason: str = "") -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.code = code
        self.reason = reason


class GoingAway(Message):
    """D→C, unsolicited: the daemon drains (reload, upgrade, stop); finish borrowed requests within `seconds`."""

    TYPE: ClassVar[int] = T.GOING_AWAY
    TO_DAEMON: ClassVar[bool] = False
    CONTROL: ClassVar[bool] = True
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("seconds", F.FLOAT), ("reason", F.STR))
    ATTRS: ClassVar[tuple[str, ...]] = ("seconds", "reason")

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, seconds: float = 0.0, reason: str = ""
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.seconds = seconds
        self.reason = reason


# GOING_AWAY's reason when a new daemon has taken the listeners over (decision 0024 §3): the client reconnects to
# the same path, replays its objects there and finishes what it borrowed on the old connection. Any other reason
# (the daemon is stopping) leaves the connection to end.
GOING_AWAY_UPGRADE = "upgrade: reconnect to the new daemon"


class Cancel(Message):
    """C→D: cancel_io(handle_id, token): `target_op` is the op of the pending I/O call to cancel, or None for
    every pending I/O call on the handle (the op of a call is its token on the daemon side)."""

    TYPE: ClassVar[int] = T.CANCEL
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("handle_id", F.UINT), ("target_op", F.OPT_UINT))
    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id", "target_op")

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, handle_id: int = 0, target_op: int | None = None
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id
        self.target_op = target_op


def choose_version(
    hello: Hello, lowest: int = PROTOCOL_VERSION_MIN, highest: int = PROTOCOL_VERSION
) -> int | None:
    """The newest version both ends speak, or None (the daemon then sends REFUSE with ERROR_REVISION_MISMATCH)."""
    top = min(hello.max_version, highest)
    return top if top >= max(hello.min_version, lowest) else None


# ----- calls: the object model ----------------------------------------------------------------------------------


class CreateServerSession(Message):
    TYPE: ClassVar[int] = T.CREATE_SERVER_SESSION
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("version", F.VERSION),)
    ATTRS: ClassVar[tuple[str, ...]] = ("version",)

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, version: tuple[int, int] = (2, 0)
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.version = version


class CloseServerSession(Message):
    TYPE: ClassVar[int] = T.CLOSE_SERVER_SESSION
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("session_id", F.UINT),)
    ATTRS: ClassVar[tuple[str, ...]] = ("session_id",)

    def __init__(self, *, op: int = 0, fds: list[int] | None = None, session_id: int = 0) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.session_id = session_id


class DrainServerSession(Message):
    """The graceful stop of a session's sites (decision 0012); answered by HandleDone(code, connections open)."""

    TYPE: ClassVar[int] = T.DRAIN_SERVER_SESSION
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("session_id", F.UINT),)
    ATTRS: ClassVar[tuple[str, ...]] = ("session_id",)

    def __init__(self, *, op: int = 0, fds: list[int] | None = None, session_id: int = 0) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.session_id = session_id


class SetSessionProperty(Message):
    TYPE: ClassVar[int] = T.SET_SESSION_PROPERTY
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("session_id", F.UINT),
        ("prop", F.UINT),
        ("value", F.VALUE),
    )
    ATTRS: ClassVar[tuple[str, ...]] = ("session_id", "prop", "value")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        session_id: int = 0,
        prop: int = 0,
        value: object = None,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.session_id = session_id
        self.prop = prop
        self.value = value


class QuerySessionProperty(Message):
    TYPE: ClassVar[int] = T.QUERY_SESSION_PROPERTY
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("session_id", F.UINT), ("prop", F.UINT))
    ATTRS: ClassVar[tuple[str, ...]] = ("session_id", "prop")

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, session_id: int = 0, prop: int = 0
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.session_id = session_id
        self.prop = prop


class CreateUrlGroup(Message):
    TYPE: ClassVar[int] = T.CREATE_URL_GROUP
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("session_id", F.UINT),)
    ATTRS: ClassVar[tuple[str, ...]] = ("session_id",)

    def __init__(self, *, op: int = 0, fds: list[int] | None = None, session_id: int = 0) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.session_id = session_id


class CloseUrlGroup(Message):
    TYPE: ClassVar[int] = T.CLOSE_URL_GROUP
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("group_id", F.UINT),)
    ATTRS: ClassVar[tuple[str, ...]] = ("group_id",)

    def __init__(self, *, op: int = 0, fds: list[int] | None = None, group_id: int = 0) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.group_id = group_id


class AddUrl(Message):
    TYPE: ClassVar[int] = T.ADD_URL
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("group_id", F.UINT),
        ("url", F.STR),
        ("context", F.UINT),
    )
    ATTRS: ClassVar[tuple[str, ...]] = ("group_id", "url", "context")

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, group_id: int = 0, url: str = "", context: int = 0
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.group_id = group_id
        self.url = url
        self.context = context


class RemoveUrl(Message):
    TYPE: ClassVar[int] = T.REMOVE_URL
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("group_id", F.UINT),
        ("url", F.OPT_STR),
        ("remove_all", F.BOOL),
    )
    ATTRS: ClassVar[tuple[str, ...]] = ("group_id", "url", "remove_all")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        group_id: int = 0,
        url: str | None = None,
        remove_all: bool = False,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.group_id = group_id
        self.url = url
        self.remove_all = remove_all


class SetGroupProperty(Message):
    TYPE: ClassVar[int] = T.SET_GROUP_PROPERTY
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("group_id", F.UINT),
        ("prop", F.UINT),
        ("value", F.VALUE),
    )
    ATTRS: ClassVar[tuple[str, ...]] = ("group_id", "prop", "value")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        group_id: int = 0,
        prop: int = 0,
        value: object = None,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.group_id = group_id
        self.prop = prop
        self.value = value


class QueryGroupProperty(Message):
    TYPE: ClassVar[int] = T.QUERY_GROUP_PROPERTY
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("group_id", F.UINT), ("prop", F.UINT))
    ATTRS: ClassVar[tuple[str, ...]] = ("group_id", "prop")

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, group_id: int = 0, prop: int = 0
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.group_id = group_id
        self.prop = prop


class CreateRequestQueue(Message):
    TYPE: ClassVar[int] = T.CREATE_REQUEST_QUEUE
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("name", F.OPT_STR),
        ("flags", F.UINT),
        ("v1", F.BOOL),
        ("security", F.OPT_STR),
    )
    ATTRS: ClassVar[tuple[str, ...]] = ("name", "flags", "v1", "security")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        name: str | None = None,
        flags: int = 0,
        v1: bool = False,
        security: str | None = None,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.name = name
        self.flags = flags
        self.v1 = v1
        self.security = security  # the queue's SDDL (SecurityAttributes), checked at OPEN_EXISTING


class CloseRequestQueue(Message):
    TYPE: ClassVar[int] = T.CLOSE_REQUEST_QUEUE
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("handle_id", F.UINT),)
    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id",)

    def __init__(self, *, op: int = 0, fds: list[int] | None = None, handle_id: int = 0) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id


class SetQueueProperty(Message):
    TYPE: ClassVar[int] = T.SET_QUEUE_PROPERTY
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("handle_id", F.UINT),
        ("prop", F.UINT),
        ("value", F.VALUE),
    )
    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id", "prop", "value")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        handle_id: int = 0,
        prop: int = 0,
        value: object = None,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id
        self.prop = prop
        self.value = value


class QueryQueueProperty(Message):
    TYPE: ClassVar[int] = T.QUERY_QUEUE_PROPERTY
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("handle_id", F.UINT), ("prop", F.UINT))
    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id", "prop")

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, handle_id: int = 0, prop: int = 0
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id
        self.prop = prop


class ShutdownRequestQueue(Message):
    TYPE: ClassVar[int] = T.SHUTDOWN_REQUEST_QUEUE
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("handle_id", F.UINT),)
    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id",)

    def __init__(self, *, op: int = 0, fds: list[int] | None = None, handle_id: int = 0) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id


class AddUrlV1(Message):
    TYPE: ClassVar[int] = T.ADD_URL_V1
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("handle_id", F.UINT), ("url", F.STR))
    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id", "url")

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, handle_id: int = 0, url: str = ""
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id
        self.url = url


class RemoveUrlV1(Message):
    TYPE: ClassVar[int] = T.REMOVE_URL_V1
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("handle_id", F.UINT), ("url", F.STR))
    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id", "url")

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, handle_id: int = 0, url: str = ""
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id
        self.url = url


class AddFragment(Message):
    """The fragment's bytes travel in the tail."""

    TYPE: ClassVar[int] = T.ADD_FRAGMENT
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("handle_id", F.UINT),
        ("name", F.STR),
        ("data", F.TAIL_BYTES),
        ("policy", F.CACHE_POLICY),
    )
    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id", "name", "data", "policy")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        handle_id: int = 0,
        name: str = "",
        data: bytes = b"",
        policy: CachePolicy | None = None,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id
        self.name = name
        self.data = data
        self.policy = CachePolicy(0) if policy is None else policy


class ReadFragment(Message):
    TYPE: ClassVar[int] = T.READ_FRAGMENT
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("handle_id", F.UINT), ("name", F.STR))
    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id", "name")

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, handle_id: int = 0, name: str = ""
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id
        self.name = name


class FlushCache(Message):
    TYPE: ClassVar[int] = T.FLUSH_CACHE
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("handle_id", F.UINT),
        ("prefix", F.STR),
        ("recursive", F.BOOL),
    )
    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id", "prefix", "recursive")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        handle_id: int = 0,
        prefix: str = "",
        recursive: bool = False,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id
        self.prefix = prefix
        self.recursive = recursive


class CancelRequest(Message):
    TYPE: ClassVar[int] = T.CANCEL_REQUEST
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("handle_id", F.UINT), ("request_id", F.UINT))
    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id", "request_id")

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, handle_id: int = 0, request_id: int = 0
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id
        self.request_id = request_id


class SetRequestProperty(Message):
    TYPE: ClassVar[int] = T.SET_REQUEST_PROPERTY
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("handle_id", F.UINT),
        ("request_id", F.UINT),
        ("prop", F.UINT),
        ("value", F.UINT),
    )
    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id", "request_id", "prop", "value")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        handle_id: int = 0,
        request_id: int = 0,
        prop: int = 0,
        value: int = 0,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id
        self.request_id = request_id
        self.prop = prop
        self.value = value


class Statistics(Message):
    TYPE: ClassVar[int] = T.STATISTICS
    ATTRS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, op: int = 0, fds: list[int] | None = None) -> None:
        self.op = op
        self.fds = [] if fds is None else fds


# ----- calls: the service configuration and administration (decision 0020) ---------------------------------------


class ServiceConfigSet(Message):
    """Store a configuration record (`update`: replace an existing one); answered by CodeDone."""

    TYPE: ClassVar[int] = T.SERVICE_CONFIG_SET
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("kind", F.STR),
        ("key", F.VALUE),
        ("value", F.VALUE),
        ("update", F.BOOL),
    )
    ATTRS: ClassVar[tuple[str, ...]] = ("kind", "key", "value", "update")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        kind: str = "",
        key: object = None,
        value: object = None,
        update: bool = False,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.kind = kind
        self.key = key
        self.value = value
        self.update = update


class ServiceConfigDelete(Message):
    """Remove a configuration record; answered by CodeDone."""

    TYPE: ClassVar[int] = T.SERVICE_CONFIG_DELETE
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("kind", F.STR), ("key", F.VALUE))
    ATTRS: ClassVar[tuple[str, ...]] = ("kind", "key")

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, kind: str = "", key: object = None
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.kind = kind
        self.key = key


class ServiceConfigQuery(Message):
    """Every record of a kind; answered by ValueDone(code, [(key, value), ...])."""

    TYPE: ClassVar[int] = T.SERVICE_CONFIG_QUERY
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("kind", F.STR),)
    ATTRS: ClassVar[tuple[str, ...]] = ("kind",)

    def __init__(self, *, op: int = 0, fds: list[int] | None = None, kind: str = "") -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.kind = kind


class ServiceState(Message):
    """What `netsh http show servicestate` prints; answered by ValueDone(code, state tree)."""

    TYPE: ClassVar[int] = T.SERVICE_STATE
    ATTRS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, op: int = 0, fds: list[int] | None = None) -> None:
        self.op = op
        self.fds = [] if fds is None else fds


class ReloadConfiguration(Message):
    """Re-read the store and apply it (what SIGHUP does); answered by CodeDone."""

    TYPE: ClassVar[int] = T.RELOAD_CONFIGURATION
    ATTRS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, op: int = 0, fds: list[int] | None = None) -> None:
        self.op = op
        self.fds = [] if fds is None else fds


class ServiceConfigImport(Message):
    """Replace every record with those of a `config export` document, in one transaction; CodeDone."""

    TYPE: ClassVar[int] = T.SERVICE_CONFIG_IMPORT
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("document", F.STR),)
    ATTRS: ClassVar[tuple[str, ...]] = ("document",)

    def __init__(self, *, op: int = 0, fds: list[int] | None = None, document: str = "") -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.document = document


class DelegateRequest(Message):
    """delegate_request: move a received request to another queue (answered by CodeDone)."""

    TYPE: ClassVar[int] = T.DELEGATE_REQUEST
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("source_id", F.UINT),
        ("target_id", F.UINT),
        ("request_id", F.UINT),
        ("group_id", F.UINT),
        ("url", F.OPT_STR),
    )
    ATTRS: ClassVar[tuple[str, ...]] = ("source_id", "target_id", "request_id", "group_id", "url")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        source_id: int = 0,
        target_id: int = 0,
        request_id: int = 0,
        group_id: int = 0,
        url: str | None = None,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.source_id = source_id
        self.target_id = target_id
        self.request_id = request_id
        self.group_id = group_id
        self.url = url


class FindUrlGroupId(Message):
    """find_url_group_id: the URL group on a queue whose registration matches a URL (answered by HandleDone)."""

    TYPE: ClassVar[int] = T.FIND_URL_GROUP_ID
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("url", F.STR), ("handle_id", F.UINT))
    ATTRS: ClassVar[tuple[str, ...]] = ("url", "handle_id")

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, url: str = "", handle_id: int = 0
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.url = url
        self.handle_id = handle_id


class Takeover(Message):
    """A new daemon asks the running one for its listening sockets, from index `start` (decision 0024 §3). The
    first call (start 0) commits the old daemon: it stops accepting and drains. Only the daemon's own uid or root
    may ask."""

    TYPE: ClassVar[int] = T.TAKEOVER
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("start", F.UINT),)
    ATTRS: ClassVar[tuple[str, ...]] = ("start",)

    def __init__(self, *, op: int = 0, fds: list[int] | None = None, start: int = 0) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.start = start


# ----- calls: I/O -----------------------------------------------------------------------------------------------


class ReceiveRequest(Message):
    TYPE: ClassVar[int] = T.RECEIVE_REQUEST
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("handle_id", F.UINT),
        ("request_id", F.UINT),
        ("flags", F.UINT),
        ("buffer_length", F.OPT_UINT),
        ("v2", F.BOOL),
    )

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
                return ReceiveRequest(
                    op=op,
                    handle_id=handle_id,
                    request_id=request_id,
                    flags=flags,
                    buffer_length=length,
                    v2=v2,
                )
        return _decode_generic(cls, op, meta, tail, fds)

    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id", "request_id", "flags", "buffer_length", "v2")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        handle_id: int = 0,
        request_id: int = 0,
        flags: int = 0,
        buffer_length: int | None = None,
        v2: bool = True,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id
        self.request_id = request_id
        self.flags = flags
        self.buffer_length = buffer_length
        self.v2 = v2


class ReceiveBody(Message):
    TYPE: ClassVar[int] = T.RECEIVE_BODY
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("handle_id", F.UINT),
        ("request_id", F.UINT),
        ("max_len", F.UINT),
        ("fill", F.BOOL),
    )

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
                return ReceiveBody(
                    op=op,
                    handle_id=handle_id,
                    request_id=request_id,
                    max_len=max_len,
                    fill=fill,
                )
        return _decode_generic(cls, op, meta, tail, fds)

    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id", "request_id", "max_len", "fill")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        handle_id: int = 0,
        request_id: int = 0,
        max_len: int = 0,
        fill: bool = False,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id
        self.request_id = request_id
        self.max_len = max_len
        self.fill = fill


class SendResponse(Message):
    """Memory chunks travel in the tail, one fd per distinct file descriptor of the file chunks."""

    TYPE: ClassVar[int] = T.SEND_RESPONSE
    TAKES_FDS: ClassVar[bool] = True
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("handle_id", F.UINT),
        ("request_id", F.UINT),
        ("flags", F.UINT),
        ("spec", F.RESPONSE_SPEC),
        ("chunks", F.CHUNKS),
        ("cache_policy", F.OPT_CACHE_POLICY),
        ("log_data", F.LOG_DATA),
    )

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
                message = SendResponse(
                    op=op,
                    handle_id=handle_id,
                    request_id=request_id,
                    flags=flags,
                    spec=F.decode_response_spec_shared(spec),
                    chunks=F.decode_chunks(chunks, inc),
                    cache_policy=None if policy is None else F.decode_cache_policy(policy),
                    log_data=None if log_data is None else F.LOG_DATA.decode(log_data, inc),
                    fds=fds,
                )
                inc.finish()
                return message
        return _decode_generic(cls, op, meta, tail, fds)

    ATTRS: ClassVar[tuple[str, ...]] = (
        "handle_id",
        "request_id",
        "flags",
        "spec",
        "chunks",
        "cache_policy",
        "log_data",
    )

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        handle_id: int = 0,
        request_id: int = 0,
        flags: int = 0,
        spec: ResponseSpec | None = None,
        chunks: list[DataChunk] | None = None,
        cache_policy: CachePolicy | None = None,
        log_data: object | None = None,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id
        self.request_id = request_id
        self.flags = flags
        self.spec = ResponseSpec(200, b"OK", {}, []) if spec is None else spec
        self.chunks = [] if chunks is None else chunks
        self.cache_policy = cache_policy
        self.log_data = log_data


class SendBody(Message):
    """Memory chunks travel in the tail, one fd per distinct file descriptor of the file chunks."""

    TYPE: ClassVar[int] = T.SEND_BODY
    TAKES_FDS: ClassVar[bool] = True
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("handle_id", F.UINT),
        ("request_id", F.UINT),
        ("flags", F.UINT),
        ("chunks", F.CHUNKS),
        ("log_data", F.LOG_DATA),
    )

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
                message = SendBody(
                    op=op,
                    handle_id=handle_id,
                    request_id=request_id,
                    flags=flags,
                    chunks=F.decode_chunks(chunks, inc),
                    log_data=None if log_data is None else F.LOG_DATA.decode(log_data, inc),
                    fds=fds,
                )
                inc.finish()
                return message
        return _decode_generic(cls, op, meta, tail, fds)

    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id", "request_id", "flags", "chunks", "log_data")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        handle_id: int = 0,
        request_id: int = 0,
        flags: int = 0,
        chunks: list[DataChunk] | None = None,
        log_data: object | None = None,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id
        self.request_id = request_id
        self.flags = flags
        self.chunks = [] if chunks is None else chunks
        self.log_data = log_data


class WaitDisconnect(Message):
    TYPE: ClassVar[int] = T.WAIT_DISCONNECT
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("handle_id", F.UINT), ("connection_id", F.UINT))
    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id", "connection_id")

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, handle_id: int = 0, connection_id: int = 0
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id
        self.connection_id = connection_id


class WaitDemandStart(Message):
    TYPE: ClassVar[int] = T.WAIT_DEMAND_START
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("handle_id", F.UINT),)
    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id",)

    def __init__(self, *, op: int = 0, fds: list[int] | None = None, handle_id: int = 0) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id


# ----- completions ----------------------------------------------------------------------------------------------


class CodeDone(Message):
    """The Win32 code of a call that returns only a code (or of an I/O call completing with a code)."""

    TYPE: ClassVar[int] = T.CODE_DONE
    TO_DAEMON: ClassVar[bool] = False
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("code", F.UINT),)

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
                return CodeDone(op=op, code=code)
        return _decode_generic(cls, op, meta, tail, fds)

    ATTRS: ClassVar[tuple[str, ...]] = ("code",)

    def __init__(self, *, op: int = 0, fds: list[int] | None = None, code: int = 0) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.code = code


class HandleDone(Message):
    """(code, id) of create_server_session, create_url_group, create_request_queue; (code, connections still
    open) of drain_server_session."""

    TYPE: ClassVar[int] = T.HANDLE_DONE
    TO_DAEMON: ClassVar[bool] = False
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("code", F.UINT), ("object_id", F.UINT))
    ATTRS: ClassVar[tuple[str, ...]] = ("code", "object_id")

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, code: int = 0, object_id: int = 0
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.code = code
        self.object_id = object_id


class ValueDone(Message):
    """(code, value) of query_*_property."""

    TYPE: ClassVar[int] = T.VALUE_DONE
    TO_DAEMON: ClassVar[bool] = False
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("code", F.UINT), ("value", F.VALUE))
    ATTRS: ClassVar[tuple[str, ...]] = ("code", "value")

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, code: int = 0, value: object = None
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.code = code
        self.value = value


class BytesDone(Message):
    """(code, bytes) of read_fragment and receive_body; the bytes travel in the tail."""

    TYPE: ClassVar[int] = T.BYTES_DONE
    TO_DAEMON: ClassVar[bool] = False
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("code", F.UINT), ("data", F.TAIL_BYTES))

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
                return BytesDone(op=op, code=code, data=tail.tobytes())
        return _decode_generic(cls, op, meta, tail, fds)

    ATTRS: ClassVar[tuple[str, ...]] = ("code", "data")

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, code: int = 0, data: bytes = b""
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.code = code
        self.data = data


class RequestDone(Message):
    """(code, snapshot, length) of receive_request; the snapshot's entity bytes travel in the tail."""

    TYPE: ClassVar[int] = T.REQUEST_DONE
    TO_DAEMON: ClassVar[bool] = False
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("code", F.UINT),
        ("snapshot", F.SNAPSHOT),
        ("length", F.UINT),
    )

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
                message = RequestDone(
                    op=op, code=code, snapshot=F.decode_snapshot(snapshot, inc), length=length
                )
                inc.finish()
                return message
        return _decode_generic(cls, op, meta, tail, fds)

    ATTRS: ClassVar[tuple[str, ...]] = ("code", "snapshot", "length")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        code: int = 0,
        snapshot: RequestSnapshot | None = None,
        length: int = 0,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.code = code
        self.snapshot = snapshot
        self.length = length


class SentDone(Message):
    """(code, bytes sent) of send_response and send_body."""

    TYPE: ClassVar[int] = T.SENT_DONE
    TO_DAEMON: ClassVar[bool] = False
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("code", F.UINT), ("bytes_sent", F.UINT))

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
                return SentDone(op=op, code=code, bytes_sent=sent)
        return _decode_generic(cls, op, meta, tail, fds)

    ATTRS: ClassVar[tuple[str, ...]] = ("code", "bytes_sent")

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, code: int = 0, bytes_sent: int = 0
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.code = code
        self.bytes_sent = bytes_sent


class CancelDone(Message):
    """The result of cancel_io: whether anything was cancelled."""

    TYPE: ClassVar[int] = T.CANCEL_DONE
    TO_DAEMON: ClassVar[bool] = False
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("cancelled", F.BOOL),)
    ATTRS: ClassVar[tuple[str, ...]] = ("cancelled",)

    def __init__(self, *, op: int = 0, fds: list[int] | None = None, cancelled: bool = False) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.cancelled = cancelled


class StatsDone(Message):
    """The result of statistics()."""

    TYPE: ClassVar[int] = T.STATS_DONE
    TO_DAEMON: ClassVar[bool] = False
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("stats", F.STATS),)
    ATTRS: ClassVar[tuple[str, ...]] = ("stats",)

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, stats: dict[str, int] | None = None
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.stats = {} if stats is None else stats


class TakeoverDone(Message):
    """The answer to Takeover: (port, scheme, fd) per listening socket (port 0, scheme "unix": the daemon's own
    socket), at most as many as a frame may carry, and how many remain after these."""

    TYPE: ClassVar[int] = T.TAKEOVER_DONE
    TO_DAEMON: ClassVar[bool] = False
    TAKES_FDS: ClassVar[bool] = True
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("code", F.UINT),
        ("listeners", F.LISTENERS),
        ("remaining", F.UINT),
    )
    ATTRS: ClassVar[tuple[str, ...]] = ("code", "listeners", "remaining")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        code: int = 0,
        listeners: list[tuple[int, str, int]] | None = None,
        remaining: int = 0,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.code = code
        self.listeners = [] if listeners is None else listeners
        self.remaining = remaining


class Unsupported(Message):
    """What the decoder yields for a type code it does not know (a newer peer): its fds are already closed.
    The daemon answers the op with CodeDone(ERROR_NOT_SUPPORTED); a client closes the connection."""

    ATTRS: ClassVar[tuple[str, ...]] = ("type_code",)

    def __init__(self, *, op: int = 0, fds: list[int] | None = None, type_code: int = 0) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.type_code = type_code


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


class QueryRequestProperty(Message):
    """HttpQueryRequestProperty of a borrowed request; answered by ValueDone (code, the property's fields)."""

    TYPE: ClassVar[int] = T.QUERY_REQUEST_PROPERTY
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("handle_id", F.UINT),
        ("request_id", F.UINT),
        ("prop", F.UINT),
    )
    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id", "request_id", "prop")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        handle_id: int = 0,
        request_id: int = 0,
        prop: int = 0,
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id
        self.request_id = request_id
        self.prop = prop


CALLS += (QueryRequestProperty,)
MESSAGE_TYPES[QueryRequestProperty.TYPE] = QueryRequestProperty


# ---- appended: HttpReceiveClientCertificate through the daemon (decision 0021) ----------------------------------
class ReceiveClientCertificate(Message):
    """receive_client_certificate: the connection's client certificate, asked for on demand when the handshake
    negotiated none; answered by CLIENT_CERT_DONE."""

    TYPE: ClassVar[int] = T.RECEIVE_CLIENT_CERTIFICATE
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (("handle_id", F.UINT), ("connection_id", F.UINT))
    ATTRS: ClassVar[tuple[str, ...]] = ("handle_id", "connection_id")

    def __init__(
        self, *, op: int = 0, fds: list[int] | None = None, handle_id: int = 0, connection_id: int = 0
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.handle_id = handle_id
        self.connection_id = connection_id


class ClientCertDone(Message):
    """(code, CertFlags) of receive_client_certificate; the DER certificate travels in the tail."""

    TYPE: ClassVar[int] = T.CLIENT_CERT_DONE
    TO_DAEMON: ClassVar[bool] = False
    FIELDS: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("code", F.UINT),
        ("cert_flags", F.UINT),
        ("cert", F.TAIL_BYTES),
    )
    ATTRS: ClassVar[tuple[str, ...]] = ("code", "cert_flags", "cert")

    def __init__(
        self,
        *,
        op: int = 0,
        fds: list[int] | None = None,
        code: int = 0,
        cert_flags: int = 0,
        cert: bytes = b"",
    ) -> None:
        self.op = op
        self.fds = [] if fds is None else fds
        self.code = code
        self.cert_flags = cert_flags
        self.cert = cert


CALLS = (*CALLS, ReceiveClientCertificate)
COMPLETIONS = (*COMPLETIONS, ClientCertDone)
MESSAGE_TYPES[ReceiveClientCertificate.TYPE] = ReceiveClientCertificate
MESSAGE_TYPES[ClientCertDone.TYPE] = ClientCertDone
