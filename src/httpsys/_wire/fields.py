"""Field codecs of the wire protocol: how each kind of argument, result and record travels inside a message.

Responsibility: turning one field (an id, a property value, a ResponseSpec, a list of data chunks, a
RequestSnapshot, ...) into its msgpack-ready meta form plus the raw tail bytes and file descriptors it needs, and
back, field by field, checking every type on the way in. Entity bytes never enter the meta: they are appended to
the tail as they are (no copy, no re-encoding). Encoding a value the wire cannot carry raises WireEncodeError;
decoding anything unexpected raises ProtocolError, never another exception. It must not frame messages, hold
connection state, or do I/O (no sockets, no clock; closing fds is the decoder's job).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields as dataclass_fields
from typing import Any

from httpsys._core.records import (
    CachePolicy,
    DataChunk,
    FileChunk,
    FragmentChunk,
    MemoryChunk,
    RequestSnapshot,
    ResponseSpec,
    TrailersChunk,
)
from httpsys._core.timers import TimeoutLimits
from httpsys._wire.frames import MAGIC, Limits, ProtocolError, WireEncodeError

__all__ = [
    "BOOL",
    "BYTES",
    "CACHE_POLICY",
    "CHUNKS",
    "FLOAT",
    "INT",
    "LIMITS",
    "LOG_DATA",
    "MAGIC_KIND",
    "OPT_CACHE_POLICY",
    "OPT_STR",
    "OPT_UINT",
    "RESPONSE_SPEC",
    "SNAPSHOT",
    "STATS",
    "STR",
    "STR_LIST",
    "TAIL_BYTES",
    "U64_MAX",
    "UINT",
    "VALUE",
    "VERSION",
    "ZERO_COPY_MIN",
    "Incoming",
    "Kind",
    "Outgoing",
    "decode_cache_policy",
    "decode_chunks",
    "decode_response_spec",
    "decode_response_spec_shared",
    "decode_snapshot",
]

U64_MAX = 0xFFFFFFFFFFFFFFFF
I64_MIN = -(1 << 63)
MAX_VALUE_DEPTH = 8  # nesting of property values and snapshot extras (the deepest real one is 3)
ZERO_COPY_MIN = (
    16 << 10
)  # decoded memory chunks this large stay views of the receive buffer; smaller are copied

_MEMORY, _FILE, _FRAGMENT, _TRAILERS = 0, 1, 2, 3  # data chunk descriptor tags
_LIST, _TUPLE, _TIMEOUTS = 0, 1, 2  # value tree array tags
_TIMEOUT_NAMES = tuple(f.name for f in dataclass_fields(TimeoutLimits))

Buffer = bytes | bytearray | memoryview


class Outgoing:
    """What encoding one message gathers besides its meta: tail pieces in order and the fds it passes."""

    __slots__ = ("_fd_index", "fds", "tail", "tail_len")

    def __init__(self) -> None:
        self.tail: list[Buffer] = []
        self.tail_len = 0
        self.fds: list[int] = []
        self._fd_index: dict[int, int] | None = None  # made by the first add_fd (most messages pass none)

    def add_tail(self, data: object) -> int:
        """Append bytes to the tail (referenced, not copied); their length."""
        if type(data) is bytes or isinstance(data, bytes | bytearray):
            size = len(data)
            piece: Buffer = data
        elif isinstance(data, memoryview):
            if not data.c_contiguous:
                raise WireEncodeError("a memoryview in a data chunk must be contiguous")
            piece = data if data.format in ("B", "b", "c") and data.ndim == 1 else data.cast("B")
            size = piece.nbytes
        else:
            raise WireEncodeError(f"expected bytes, bytearray or memoryview, not {type(data).__name__}")
        if size:
            self.tail.append(piece)
            self.tail_len += size
        return size

    def add_fd(self, fd: object) -> int:
        """The index of `fd` among the message's fds (one entry per distinct fd)."""
        if type(fd) is not int or fd < 0:
            raise WireEncodeError(f"a file descriptor must be a non-negative int, not {fd!r}")
        fd_index = self._fd_index
        if fd_index is None:
            fd_index = self._fd_index = {}
        index = fd_index.get(fd)
        if index is None:
            index = fd_index[fd] = len(self.fds)
            self.fds.append(fd)
        return index


class Incoming:
    """The tail and fds one decoded message draws on; `finish` checks that both were used up exactly."""

    __slots__ = ("fds", "pos", "tail", "used")

    def __init__(self, tail: memoryview, fds: list[int]) -> None:
        self.tail = tail
        self.pos = 0
        self.fds = fds
        self.used = [False] * len(fds)

    def take(self, size: int) -> memoryview:
        end = self.pos + size
        if end > len(self.tail):
            raise ProtocolError("a field claims more tail bytes than the message has")
        view = self.tail[self.pos : end]
        self.pos = end
        return view

    def fd(self, index: object) -> int:
        if type(index) is not int or not 0 <= index < len(self.fds):
            raise ProtocolError(f"file descriptor index {index!r} out of range")
        self.used[index] = True
        return self.fds[index]

    def finish(self) -> None:
        if self.pos != len(self.tail):
            raise ProtocolError("tail bytes left over after the last field")
        if not all(self.used):
            raise ProtocolError("a file descriptor was passed but no field uses it")


class Kind:
    """How one field travels. Subclasses implement both directions."""

    def encode(self, value: object, out: Outgoing) -> object:
        raise NotImplementedError

    def decode(self, raw: object, inc: Incoming) -> object:
        raise NotImplementedError


def _uint(value: object, what: str = "value") -> int:
    if type(value) is not int or not 0 <= value <= U64_MAX:
        raise WireEncodeError(f"{what} must be an int in 0..2**64-1, not {value!r}")
    return value


def _int(value: object, what: str = "value") -> int:
    if type(value) is not int or not I64_MIN <= value <= U64_MAX:
        raise WireEncodeError(f"{what} must be an int within 64 bits, not {value!r}")
    return value


def _bytes(value: object, what: str = "value") -> bytes:
    if type(value) is bytes:
        return value  # the usual case: no copy, no call
    if not isinstance(value, bytes):
        raise WireEncodeError(f"{what} must be bytes, not {type(value).__name__}")
    return bytes(value)


def _str(value: object, what: str = "value") -> str:
    if type(value) is str:
        return value
    if not isinstance(value, str):
        raise WireEncodeError(f"{what} must be str, not {type(value).__name__}")
    return str(value)


def _seq(value: object, what: str) -> list[object] | tuple[object, ...]:
    if not isinstance(value, list | tuple):
        raise WireEncodeError(f"{what} must be a list, not {type(value).__name__}")
    return value


def _d_uint(raw: object) -> int:
    if type(raw) is not int or raw < 0:
        raise ProtocolError(f"expected an unsigned int, got {raw!r}")
    return raw


def _d_int(raw: object) -> int:
    if type(raw) is not int:
        raise ProtocolError(f"expected an int, got {type(raw).__name__}")
    return raw


def _d_bytes(raw: object) -> bytes:
    if type(raw) is not bytes:
        raise ProtocolError(f"expected bytes, got {type(raw).__name__}")
    return raw


def _d_str(raw: object) -> str:
    if type(raw) is not str:
        raise ProtocolError(f"expected str, got {type(raw).__name__}")
    return raw


def _d_tuple(raw: object, size: int | None = None) -> tuple[object, ...]:
    if type(raw) is not tuple or (size is not None and len(raw) != size):
        raise ProtocolError(
            f"expected an array of {size if size is not None else 'any'} items, got {raw!r:.60}"
        )
    return raw


def _d_pairs(raw: object) -> list[tuple[bytes, bytes]]:
    """An array of [bytes, bytes] pairs (headers, trailers) as a list of tuples."""
    items = _d_tuple(raw)
    for item in items:
        if (
            type(item) is not tuple
            or len(item) != 2
            or type(item[0]) is not bytes
            or type(item[1]) is not bytes
        ):
            raise ProtocolError("expected [bytes, bytes] pairs")
    return list(items)  # type: ignore[arg-type]  # checked just above


def _e_pairs(value: object, what: str) -> Sequence[object]:
    """(name, value) pairs of bytes as they are when every one is an exact (bytes, bytes) tuple (msgpack writes
    a list and a tuple alike); else each checked and copied to exact bytes."""
    items = _seq(value, what)
    for item in items:
        if (
            type(item) is not tuple
            or len(item) != 2
            or type(item[0]) is not bytes
            or type(item[1]) is not bytes
        ):
            break
    else:
        return items
    out = []
    for item in items:
        if not isinstance(item, tuple) or len(item) != 2:
            raise WireEncodeError(f"{what} must hold (name, value) tuples")
        out.append((_bytes(item[0], what), _bytes(item[1], what)))
    return out


class _UInt(Kind):
    def encode(self, value: object, out: Outgoing) -> object:
        return _uint(value)

    def decode(self, raw: object, inc: Incoming) -> object:
        return _d_uint(raw)


class _OptUInt(Kind):
    def encode(self, value: object, out: Outgoing) -> object:
        return None if value is None else _uint(value)

    def decode(self, raw: object, inc: Incoming) -> object:
        return None if raw is None else _d_uint(raw)


class _Int(Kind):
    def encode(self, value: object, out: Outgoing) -> object:
        return _int(value)

    def decode(self, raw: object, inc: Incoming) -> object:
        return _d_int(raw)


class _Bool(Kind):
    def encode(self, value: object, out: Outgoing) -> object:
        if type(value) is not bool:
            raise WireEncodeError(f"expected a bool, not {value!r}")
        return value

    def decode(self, raw: object, inc: Incoming) -> object:
        if type(raw) is not bool:
            raise ProtocolError(f"expected a bool, got {raw!r}")
        return raw


class _Float(Kind):
    def encode(self, value: object, out: Outgoing) -> object:
        if type(value) not in (int, float):
            raise WireEncodeError(f"expected a number, not {value!r}")
        return float(value)  # type: ignore[arg-type]  # int or float, checked above

    def decode(self, raw: object, inc: Incoming) -> object:
        if type(raw) is not float:
            raise ProtocolError(f"expected a float, got {raw!r}")
        return raw


class _Str(Kind):
    def encode(self, value: object, out: Outgoing) -> object:
        return _str(value)

    def decode(self, raw: object, inc: Incoming) -> object:
        return _d_str(raw)


class _OptStr(Kind):
    def encode(self, value: object, out: Outgoing) -> object:
        return None if value is None else _str(value)

    def decode(self, raw: object, inc: Incoming) -> object:
        return None if raw is None else _d_str(raw)


class _Bytes(Kind):
    def encode(self, value: object, out: Outgoing) -> object:
        return _bytes(value)

    def decode(self, raw: object, inc: Incoming) -> object:
        return _d_bytes(raw)


class _StrList(Kind):
    def encode(self, value: object, out: Outgoing) -> object:
        return [_str(item) for item in _seq(value, "a list of str")]

    def decode(self, raw: object, inc: Incoming) -> object:
        return [_d_str(item) for item in _d_tuple(raw)]


class _Version(Kind):
    """(major, minor)."""

    def encode(self, value: object, out: Outgoing) -> object:
        if not isinstance(value, tuple) or len(value) != 2:
            raise WireEncodeError(f"a version is a (major, minor) tuple, not {value!r}")
        return [_uint(value[0]), _uint(value[1])]

    def decode(self, raw: object, inc: Incoming) -> object:
        major, minor = _d_tuple(raw, 2)
        return (_d_uint(major), _d_uint(minor))


class _Limits(Kind):
    def encode(self, value: object, out: Outgoing) -> object:
        if not isinstance(value, Limits):
            raise WireEncodeError("expected Limits")
        return value.as_list()

    def decode(self, raw: object, inc: Incoming) -> object:
        values = [_d_uint(v) for v in _d_tuple(raw, len(Limits().as_list()))]
        try:
            return Limits(*values).check()
        except ValueError as exc:
            raise ProtocolError(f"limits out of range: {exc}") from None


def _e_value(value: object, depth: int) -> object:
    if depth > MAX_VALUE_DEPTH:
        raise WireEncodeError("value nested too deeply")
    if value is None or type(value) in (bool, float, str, bytes):
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):  # an IntEnum travels as its number
        return _int(int(value))
    if isinstance(value, str):
        return str.__str__(value)  # the characters, without a subclass's __str__
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, float):
        return float(value)
    if type(value) is list:
        return [_LIST, *(_e_value(item, depth + 1) for item in value)]
    if type(value) is tuple:
        return [_TUPLE, *(_e_value(item, depth + 1) for item in value)]
    if type(value) is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise WireEncodeError(f"mapping keys must be str, not {key!r}")
            out[key] = _e_value(item, depth + 1)
        return out
    if type(value) is TimeoutLimits:
        return [_TIMEOUTS, *(_int(getattr(value, name)) for name in _TIMEOUT_NAMES)]
    raise WireEncodeError(f"a {type(value).__name__} cannot cross the wire")


def _d_value(raw: object, depth: int) -> object:
    if depth > MAX_VALUE_DEPTH:
        raise ProtocolError("value nested too deeply")
    kind = type(raw)
    if raw is None or kind in (bool, int, float, str, bytes):
        return raw
    if kind is tuple:
        items: tuple[object, ...] = raw  # type: ignore[assignment]  # narrowed by the exact type test
        if not items:
            raise ProtocolError("untagged array in a value")
        tag = items[0]
        if tag == _LIST and type(tag) is int:
            return [_d_value(item, depth + 1) for item in items[1:]]
        if tag == _TUPLE and type(tag) is int:
            return tuple(_d_value(item, depth + 1) for item in items[1:])
        if tag == _TIMEOUTS and type(tag) is int and len(items) == 1 + len(_TIMEOUT_NAMES):
            return TimeoutLimits(*(_d_int(item) for item in items[1:]))
        raise ProtocolError(f"unknown value tag {tag!r}")
    if kind is dict:
        mapping: dict[object, object] = raw  # type: ignore[assignment]  # narrowed by the exact type test
        out = {}
        for key, item in mapping.items():
            out[_d_str(key)] = _d_value(item, depth + 1)
        return out
    raise ProtocolError(f"a {kind.__name__} is not a value")


class _Value(Kind):
    """A property value or query result: None, bool, int, float, str, bytes, list, tuple, str-keyed dict and
    TimeoutLimits, nested (lists and tuples stay apart: the driver tests for tuples)."""

    def encode(self, value: object, out: Outgoing) -> object:
        return _e_value(value, 0)

    def decode(self, raw: object, inc: Incoming) -> object:
        return _d_value(raw, 0)


class _Stats(Kind):
    """statistics(): str -> int."""

    def encode(self, value: object, out: Outgoing) -> object:
        if not isinstance(value, dict):
            raise WireEncodeError("statistics must be a dict")
        return {_str(key): _int(item) for key, item in value.items()}

    def decode(self, raw: object, inc: Incoming) -> object:
        if type(raw) is not dict:
            raise ProtocolError("statistics must be a map")
        return {_d_str(key): _d_int(item) for key, item in raw.items()}


class _CachePolicy(Kind):
    def encode(self, value: object, out: Outgoing) -> object:
        if not isinstance(value, CachePolicy):
            raise WireEncodeError(f"expected a CachePolicy, not {type(value).__name__}")
        policy: Any = value  # fields read as they are (the native build must not check them on reading)
        return [_int(policy.policy), _int(policy.seconds_to_live)]

    def decode(self, raw: object, inc: Incoming) -> object:
        return decode_cache_policy(raw)


def decode_cache_policy(raw: object) -> CachePolicy:
    """A CachePolicy from its meta form (CACHE_POLICY)."""
    policy, seconds = _d_tuple(raw, 2)
    return CachePolicy(_d_int(policy), _d_int(seconds))


class _OptCachePolicy(_CachePolicy):
    def encode(self, value: object, out: Outgoing) -> object:
        return None if value is None else super().encode(value, out)

    def decode(self, raw: object, inc: Incoming) -> object:
        return None if raw is None else super().decode(raw, inc)


_LOG_SCALARS = (type(None), bool, int, str, bytes)


class _LogData(Kind):
    """HTTP_LOG_FIELDS_DATA as the faces pass it: None, or a mapping of field name to value.

    Encoded so the driver's use is unchanged: the driver logs when the value is not None and reads only str keys
    of a mapping, keeping int numbers and turning other non-text values into str(). So non-str keys are dropped,
    other values become str() here, and a non-mapping becomes an empty mapping (logged, no fields)."""

    def encode(self, value: object, out: Outgoing) -> object:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            return {}
        fields: dict[str, object] = {}
        for key, item in value.items():
            if type(key) is str:
                fields[key] = (
                    _int(item) if type(item) is int else (item if type(item) in _LOG_SCALARS else str(item))
                )
        return fields

    def decode(self, raw: object, inc: Incoming) -> object:
        if raw is None:
            return None
        if type(raw) is not dict:
            raise ProtocolError("log data must be a map or nil")
        for key, item in raw.items():
            if type(key) is not str or type(item) not in _LOG_SCALARS:
                raise ProtocolError("log data maps str to nil, bool, int, str or bytes")
        return raw


class _ResponseSpec(Kind):
    """[status, reason, [[known id, [values]]...], [[name, value]...], flags]; the memo never travels."""

    def encode(self, value: object, out: Outgoing) -> object:
        if not isinstance(value, ResponseSpec):
            raise WireEncodeError(f"expected a ResponseSpec, not {type(value).__name__}")
        spec: Any = value  # fields read as they are (the native build must not check them on reading)
        known = spec.known
        if not isinstance(known, dict):
            raise WireEncodeError("ResponseSpec.known must be a dict")
        known_out = []
        for header_id, values in known.items():
            if not isinstance(values, list):
                raise WireEncodeError("ResponseSpec.known values must be lists of bytes")
            known_out.append([_int(header_id), [_bytes(v, "a known header value") for v in values]])
        if not isinstance(spec.unknown, list):
            raise WireEncodeError("ResponseSpec.unknown must be a list")
        unknown = _e_pairs(spec.unknown, "ResponseSpec.unknown")
        return [_int(spec.status), _bytes(spec.reason, "reason"), known_out, unknown, _int(spec.flags)]

    def decode(self, raw: object, inc: Incoming) -> object:
        return decode_response_spec(raw)


def decode_response_spec(raw: object) -> ResponseSpec:
    """A ResponseSpec from its meta form (RESPONSE_SPEC); ProtocolError if it does not fit."""
    status, reason, known_raw, unknown_raw, flags = _d_tuple(raw, 5)
    known: dict[int, list[bytes]] = {}
    for item in _d_tuple(known_raw):
        header_id, values = _d_tuple(item, 2)
        key = _d_int(header_id)
        if key in known:
            raise ProtocolError("a known header id appears twice")
        known[key] = [_d_bytes(v) for v in _d_tuple(values)]
    return ResponseSpec(_d_int(status), _d_bytes(reason), known, _d_pairs(unknown_raw), _d_int(flags))


# SendResponse's records, one per distinct meta form (decision 0026 §7): an application sends the same head again
# and again, and the engine memoizes on the record (its validation, framing facts and rendered head), so a record
# decoded anew per response would have the daemon render every head again. Bounded in entries and in the bytes a
# kept record holds; shared by every client (the daemon runs one loop; a record is never changed once sent).
_SPEC_MEMO: dict[object, ResponseSpec] = {}
_SPEC_MEMO_ENTRIES = 64
_SPEC_MEMO_BYTES = 2048  # header bytes of a record that may be kept


def decode_response_spec_shared(raw: object) -> ResponseSpec:
    """As decode_response_spec, but equal meta forms give the one record decoded first (kept when small)."""
    if type(raw) is not tuple or len(raw) != 5:
        return decode_response_spec(raw)
    try:
        kept = _SPEC_MEMO.get(raw)
    except TypeError:  # an unhashable part (a map where an array belongs): decoded, and refused, as it is
        return decode_response_spec(raw)
    # equal is not identical: True == 1 == 1.0, so the ints must be ints for the kept record to be the answer
    if kept is not None and type(raw[0]) is int and type(raw[4]) is int and _int_ids(raw[2]):
        return kept
    spec = decode_response_spec(raw)
    size = len(spec.reason)
    for values in spec.known.values():
        for value in values:
            size += len(value)
    for name, value in spec.unknown:
        size += len(name) + len(value)
    if size <= _SPEC_MEMO_BYTES:
        if len(_SPEC_MEMO) >= _SPEC_MEMO_ENTRIES:
            _SPEC_MEMO.clear()
        _SPEC_MEMO[raw] = spec
    return spec


def _int_ids(known_raw: object) -> bool:
    """Every known header id of a (hashable, hence tuple) known-headers form is an exact int."""
    if type(known_raw) is not tuple:
        return False
    return all(type(item) is tuple and item and type(item[0]) is int for item in known_raw)


class _Chunks(Kind):
    """A list of data chunks: [0, n] memory (next n tail bytes), [1, fd index, offset, length] file,
    [2, name, offset, length] fragment, [3, [[name, value]...]] trailers. One fd per distinct file descriptor."""

    def encode(self, value: object, out: Outgoing) -> object:
        descriptors: list[object] = []
        chunk: Any  # fields read as they are (the native build must not check them on reading)
        for chunk in _seq(value, "chunks"):
            if isinstance(chunk, MemoryChunk):
                descriptors.append([_MEMORY, out.add_tail(chunk.data)])
            elif isinstance(chunk, FileChunk):
                descriptors.append(
                    [
                        _FILE,
                        out.add_fd(chunk.fd),
                        _uint(chunk.offset, "offset"),
                        _uint(chunk.length, "length"),
                    ]
                )
            elif isinstance(chunk, FragmentChunk):
                descriptors.append(
                    [
                        _FRAGMENT,
                        _str(chunk.name),
                        _uint(chunk.offset, "offset"),
                        _uint(chunk.length, "length"),
                    ]
                )
            elif isinstance(chunk, TrailersChunk):
                descriptors.append([_TRAILERS, _e_pairs(chunk.trailers, "trailers")])
            else:
                raise WireEncodeError(f"not a data chunk: {type(chunk).__name__}")
        return descriptors

    def decode(self, raw: object, inc: Incoming) -> object:
        return decode_chunks(raw, inc)


def decode_chunks(raw: object, inc: Incoming) -> list[DataChunk]:
    """A list of data chunks from its meta form (CHUNKS), drawing on the tail and fds of `inc`."""
    chunks: list[DataChunk] = []
    for item in _d_tuple(raw):
        descriptor = _d_tuple(item)
        tag = descriptor[0] if descriptor else None
        if type(tag) is not int:
            raise ProtocolError("a data chunk descriptor starts with an int tag")
        if tag == _MEMORY and len(descriptor) == 2:
            view = inc.take(_d_uint(descriptor[1]))
            chunks.append(MemoryChunk(view if len(view) >= ZERO_COPY_MIN else view.tobytes()))
        elif tag == _FILE and len(descriptor) == 4:
            fd = inc.fd(descriptor[1])
            chunks.append(FileChunk(fd, _d_uint(descriptor[2]), _d_uint(descriptor[3])))
        elif tag == _FRAGMENT and len(descriptor) == 4:
            chunks.append(
                FragmentChunk(_d_str(descriptor[1]), _d_uint(descriptor[2]), _d_uint(descriptor[3]))
            )
        elif tag == _TRAILERS and len(descriptor) == 2:
            chunks.append(TrailersChunk(tuple(_d_pairs(descriptor[1]))))
        else:
            raise ProtocolError(f"bad data chunk descriptor {descriptor!r:.60}")
    return chunks


class _TailBytes(Kind):
    """A bytes field carried in the tail: the meta holds its length."""

    def encode(self, value: object, out: Outgoing) -> object:
        return out.add_tail(value)

    def decode(self, raw: object, inc: Incoming) -> object:
        return inc.take(_d_uint(raw)).tobytes()


def _e_addr(value: object) -> list[object]:
    if not isinstance(value, tuple) or len(value) != 2:
        raise WireEncodeError(f"an address is a (host, port) tuple, not {value!r}")
    return [_str(value[0], "address host"), _uint(value[1], "address port")]


def _d_addr(raw: object) -> tuple[str, int]:
    host, port = _d_tuple(raw, 2)
    return (_d_str(host), _d_uint(port))


_SNAPSHOT_FIELDS = 21


class _Snapshot(Kind):
    """A RequestSnapshot or None, field by field in constructor order; its entity bytes go in the tail."""

    def encode(self, value: object, out: Outgoing) -> object:
        if value is None:
            return None
        if not isinstance(value, RequestSnapshot):
            raise WireEncodeError(f"expected a RequestSnapshot, not {type(value).__name__}")
        # int and tuple fields read as they are (the native build must not turn a bool into an int or check a
        # field's type on reading it); the others through the class, which the native build reads directly (no
        # attribute lookup: a per-request saving, decision 0026 §8), and which hold what was stored
        s: Any = value
        snap: RequestSnapshot = value
        version = s.version
        if not isinstance(version, tuple) or len(version) != 2:
            raise WireEncodeError(f"a version is a (major, minor) tuple, not {version!r}")
        ipv6: object = snap.ipv6
        upgrade: object = snap.upgrade
        if type(ipv6) is not bool or type(upgrade) is not bool:
            raise WireEncodeError("ipv6 and upgrade must be bools")
        content_length = s.content_length
        extra = snap.extra
        return [
            _uint(s.request_id),
            _uint(s.connection_id),
            _uint(s.url_context),
            _uint(s.flags),
            [_uint(version[0]), _uint(version[1])],
            _bytes(snap.method, "method"),
            _bytes(snap.raw_url, "raw_url"),
            _str(snap.full_url),
            _str(snap.host),
            _str(snap.abs_path),
            _str(snap.query),
            _e_addr(s.remote_addr),
            _e_addr(s.local_addr),
            ipv6,
            _e_pairs(snap.headers, "headers"),
            _uint(s.bytes_received),
            out.add_tail(snap.entity),
            None if content_length is None else _uint(content_length),
            upgrade,
            _uint(s.raw_connection_id),
            None if extra is None else _e_value(extra, 0),
        ]

    def decode(self, raw: object, inc: Incoming) -> object:
        return decode_snapshot(raw, inc)


def decode_snapshot(raw: object, inc: Incoming) -> RequestSnapshot | None:
    """A RequestSnapshot (or None) from its meta form (SNAPSHOT), its entity from the tail of `inc`."""
    if raw is None:
        return None
    f = _d_tuple(raw, _SNAPSHOT_FIELDS)
    ipv6, upgrade = f[13], f[18]
    if type(ipv6) is not bool or type(upgrade) is not bool:
        raise ProtocolError("ipv6 and upgrade must be bools")
    extra = None if f[20] is None else _d_value(f[20], 0)
    if extra is not None and type(extra) is not dict:
        raise ProtocolError("snapshot extra must be a map or nil")
    major, minor = _d_tuple(f[4], 2)
    content_length = f[17]
    return RequestSnapshot(
        _d_uint(f[0]),
        _d_uint(f[1]),
        _d_uint(f[2]),
        _d_uint(f[3]),
        (_d_uint(major), _d_uint(minor)),
        _d_bytes(f[5]),
        _d_bytes(f[6]),
        _d_str(f[7]),
        _d_str(f[8]),
        _d_str(f[9]),
        _d_str(f[10]),
        _d_addr(f[11]),
        _d_addr(f[12]),
        ipv6,
        _d_pairs(f[14]),
        _d_uint(f[15]),
        inc.take(_d_uint(f[16])).tobytes(),
        None if content_length is None else _d_uint(content_length),
        upgrade,
        _d_uint(f[19]),
        extra,  # a dict or None, checked above
    )


class _Magic(Kind):
    """The first field of HELLO: the protocol magic, which tells an httpsys peer from anything else."""

    def encode(self, value: object, out: Outgoing) -> object:
        if value != MAGIC:
            raise WireEncodeError("HELLO must carry the protocol magic")
        return MAGIC

    def decode(self, raw: object, inc: Incoming) -> object:
        if raw != MAGIC or type(raw) is not str:
            raise ProtocolError("not an httpsys wire peer (bad magic)")
        return raw


class _Listeners(Kind):
    """Listening sockets passed at a takeover: [(port, scheme, fd)], each fd by its index among the message's."""

    def encode(self, value: object, out: Outgoing) -> object:
        if not isinstance(value, list):
            raise WireEncodeError(f"listeners must be a list, not {type(value).__name__}")
        items: list[object] = []
        for item in value:
            if not (isinstance(item, tuple) and len(item) == 3):
                raise WireEncodeError("a listener is a (port, scheme, fd) tuple")
            port, scheme, fd = item
            items.append([_uint(port, "port"), _str(scheme, "scheme"), out.add_fd(fd)])
        return items

    def decode(self, raw: object, inc: Incoming) -> object:
        if type(raw) is not tuple:
            raise ProtocolError("listeners must be an array")
        out: list[tuple[int, str, int]] = []
        for item in raw:
            if type(item) is not tuple or len(item) != 3:
                raise ProtocolError("a listener must be [port, scheme, fd index]")
            out.append((_d_uint(item[0]), _d_str(item[1]), inc.fd(item[2])))
        return out


UINT: Kind = _UInt()
OPT_UINT: Kind = _OptUInt()
INT: Kind = _Int()
BOOL: Kind = _Bool()
FLOAT: Kind = _Float()
STR: Kind = _Str()
OPT_STR: Kind = _OptStr()
BYTES: Kind = _Bytes()
STR_LIST: Kind = _StrList()
VERSION: Kind = _Version()
LIMITS: Kind = _Limits()
VALUE: Kind = _Value()
STATS: Kind = _Stats()
CACHE_POLICY: Kind = _CachePolicy()
OPT_CACHE_POLICY: Kind = _OptCachePolicy()
LOG_DATA: Kind = _LogData()
RESPONSE_SPEC: Kind = _ResponseSpec()
CHUNKS: Kind = _Chunks()
TAIL_BYTES: Kind = _TailBytes()
SNAPSHOT: Kind = _Snapshot()
LISTENERS: Kind = _Listeners()
MAGIC_KIND: Kind = _Magic()
