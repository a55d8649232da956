"""The structures of ``http.h`` as Python classes, with their x64 C layout.

Responsibility: one class per HTTP Server API structure, named as in ``http.h`` with the C field names, built
with keyword (or positional, in C order) arguments, every field defaulting to the C zero value. Each class
carries a declarative field table (name, C type) from which its x64 size, alignment and field offsets are
*computed* by the LLP64 rules (``sizeof``, ``alignof``, ``offsetof``), so length parameters can be checked as
on 64-bit Windows and ``HttpReceiveHttpRequest`` can size its buffer.

Python values stand where C has pointers: buffers take any bytes-like object, strings ``str`` or ``bytes``,
arrays sequences, struct pointers struct instances, ``None`` is NULL. Fixed arrays (``KnownHeaders``) are
pre-sized lists. Union members are plain attributes that do not alias each other (``chunk.FromMemory`` and
``chunk.FromFileHandle`` are two objects; the consumer reads the one ``DataChunkType`` names). Socket
addresses are ``SOCKADDR_IN`` / ``SOCKADDR_IN6`` (network byte order port, packed address bytes, family from
the ``socket`` module). A ``Flags`` field typed ``HTTP_PROPERTY_FLAGS`` also takes the plain int
``HTTP_PROPERTY_FLAG_NONE`` (0) / ``HTTP_PROPERTY_FLAG_PRESENT`` (1), as the .NET interop tables declare it.

It must not validate values or do I/O: a struct holds what the caller put in it; the functions that consume
it validate and report ``ERROR_INVALID_PARAMETER``.
"""

# No ``from __future__ import annotations`` here: the field tables are read from evaluated annotations.
import ctypes
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from reprlib import recursive_repr
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    ClassVar,
    Protocol,
    Union,
    dataclass_transform,
    get_args,
    get_origin,
)

__all__ = [
    # layout queries
    "alignof",
    "offsetof",
    "sizeof",
    # socket addresses and other system structures
    "SECURITY_ATTRIBUTES",
    "SOCKADDR_IN",
    "SOCKADDR_IN6",
    # versions, headers, URLs, addresses
    "HTTPAPI_VERSION",
    "HTTP_VERSION",
    "HTTP_COOKED_URL",
    "HTTP_TRANSPORT_ADDRESS",
    "HTTP_KNOWN_HEADER",
    "HTTP_UNKNOWN_HEADER",
    "HTTP_REQUEST_HEADERS",
    "HTTP_RESPONSE_HEADERS",
    "HTTP_MULTIPLE_KNOWN_HEADERS",
    # data chunks
    "HTTP_BYTE_RANGE",
    "HTTP_DATA_CHUNK",
    "HTTP_DATA_CHUNK_FROM_MEMORY",
    "HTTP_DATA_CHUNK_FROM_FILE_HANDLE",
    "HTTP_DATA_CHUNK_FROM_FRAGMENT_CACHE",
    "HTTP_DATA_CHUNK_FROM_FRAGMENT_CACHE_EX",
    "HTTP_DATA_CHUNK_TRAILERS",
    # requests and responses
    "HTTP_REQUEST",
    "HTTP_REQUEST_V1",
    "HTTP_REQUEST_V2",
    "HTTP_RESPONSE",
    "HTTP_RESPONSE_V1",
    "HTTP_RESPONSE_V2",
    "HTTP_RESPONSE_INFO",
    "HTTP_REQUEST_INFO",
    "HTTP_REQUEST_AUTH_INFO",
    "HTTP_REQUEST_CHANNEL_BIND_STATUS",
    "HTTP_REQUEST_TOKEN_BINDING_INFO",
    "HTTP_REQUEST_SIZING_INFO",
    "HTTP_REQUEST_TIMING_INFO",
    "HTTP_REQUEST_TRANSPORT_IDLE_CONNECTION_TIMEOUT_INFO",
    "HTTP_REQUEST_DSCP_INFO",
    "HTTP_REQUEST_INITIAL_PACKET_TTL_INFO",
    "HTTP_SSL_INFO",
    "HTTP_SSL_CLIENT_CERT_INFO",
    "HTTP_SSL_PROTOCOL_INFO",
    # cache and logging
    "HTTP_CACHE_POLICY",
    "HTTP_LOG_DATA",
    "HTTP_LOG_FIELDS_DATA",
    "HTTP_LOGGING_INFO",
    # properties
    "HTTP_PROPERTY_FLAGS",
    "HTTP_STATE_INFO",
    "HTTP_QOS_SETTING_INFO",
    "HTTP_BANDWIDTH_LIMIT_INFO",
    "HTTP_CONNECTION_LIMIT_INFO",
    "HTTP_FLOWRATE_INFO",
    "HTTP_TIMEOUT_LIMIT_INFO",
    "HTTP_BINDING_INFO",
    "HTTP_LISTEN_ENDPOINT_INFO",
    "HTTP_FAST_FORWARD_INFO",
    "HTTP_REQUEST_INFO_PROPERTY_INFO",
    "HTTP_SERVER_AUTHENTICATION_DIGEST_PARAMS",
    "HTTP_SERVER_AUTHENTICATION_BASIC_PARAMS",
    "HTTP_SERVER_AUTHENTICATION_INFO",
    "HTTP_SERVICE_BINDING_BASE",
    "HTTP_SERVICE_BINDING_A",
    "HTTP_SERVICE_BINDING_W",
    "HTTP_CHANNEL_BIND_INFO",
    "HTTP_PROTECTION_LEVEL_INFO",
    "HTTP_DELEGATE_REQUEST_PROPERTY_INFO",
    "HTTP_CREATE_REQUEST_QUEUE_PROPERTY_INFO",
    # per-request properties
    "HTTP_REQUEST_PROPERTY_STREAM_ERROR",
    "HTTP_REQUEST_PROPERTY_SNI",
    "HTTP_QUERY_REQUEST_QUALIFIER_TCP",
    "HTTP_QUERY_REQUEST_QUALIFIER_QUIC",
    "TCP_INFO_v0",
    "TCP_INFO_v1",
    "HTTP_WSK_API_TIMINGS",
    "HTTP_QUIC_STREAM_API_TIMINGS",
    "HTTP_QUIC_CONNECTION_API_TIMINGS",
    "HTTP_QUIC_API_TIMINGS",
    "HTTP_QUIC_STREAM_REQUEST_STATS",
    # service configuration
    "HTTP_SERVICE_CONFIG_SSL_KEY",
    "HTTP_SERVICE_CONFIG_SSL_KEY_EX",
    "HTTP_SERVICE_CONFIG_SSL_SNI_KEY",
    "HTTP_SERVICE_CONFIG_SSL_CCS_KEY",
    "HTTP_SERVICE_CONFIG_SSL_PARAM",
    "HTTP2_WINDOW_SIZE_PARAM",
    "HTTP2_SETTINGS_LIMITS_PARAM",
    "HTTP_PERFORMANCE_PARAM",
    "HTTP_TLS_RESTRICTIONS_PARAM",
    "HTTP_ERROR_HEADERS_PARAM",
    "HTTP_TLS_SESSION_TICKET_KEYS_PARAM",
    "HTTP_CERT_CONFIG_ENTRY",
    "HTTP_CERT_CONFIG_PARAM",
    "HTTP_SERVICE_CONFIG_SSL_PARAM_EX",
    "HTTP_SERVICE_CONFIG_SSL_SET",
    "HTTP_SERVICE_CONFIG_SSL_SNI_SET",
    "HTTP_SERVICE_CONFIG_SSL_CCS_SET",
    "HTTP_SERVICE_CONFIG_SSL_SET_EX",
    "HTTP_SERVICE_CONFIG_SSL_SNI_SET_EX",
    "HTTP_SERVICE_CONFIG_SSL_CCS_SET_EX",
    "HTTP_SERVICE_CONFIG_SSL_QUERY",
    "HTTP_SERVICE_CONFIG_SSL_SNI_QUERY",
    "HTTP_SERVICE_CONFIG_SSL_CCS_QUERY",
    "HTTP_SERVICE_CONFIG_SSL_QUERY_EX",
    "HTTP_SERVICE_CONFIG_SSL_SNI_QUERY_EX",
    "HTTP_SERVICE_CONFIG_SSL_CCS_QUERY_EX",
    "HTTP_SERVICE_CONFIG_IP_LISTEN_PARAM",
    "HTTP_SERVICE_CONFIG_IP_LISTEN_QUERY",
    "HTTP_SERVICE_CONFIG_URLACL_KEY",
    "HTTP_SERVICE_CONFIG_URLACL_PARAM",
    "HTTP_SERVICE_CONFIG_URLACL_SET",
    "HTTP_SERVICE_CONFIG_URLACL_QUERY",
    "HTTP_SERVICE_CONFIG_TIMEOUT_SET",
    "HTTP_SERVICE_CONFIG_CACHE_SET",
    "HTTP_SERVICE_CONFIG_SETTING_SET",
]

# Array bounds from http.h. They equal constants of the same meaning in constants.py (which imports this
# module, so it cannot be imported here); the tests pin the equality.
_REQUEST_KNOWN_HEADERS = 41  # HttpHeaderRequestMaximum
_RESPONSE_KNOWN_HEADERS = 30  # HttpHeaderResponseMaximum
_SNI_HOSTNAME_CHARS = 256  # HTTP_REQUEST_PROPERTY_SNI_HOST_MAX_LENGTH + 1
_SSL_CERT_SHA_HASH_LENGTH = 20
_SSL_CERT_STORE_NAME_LENGTH = 128
_TIMING_SLOTS = 30  # HttpRequestTimingTypeMax
_SIZING_SLOTS = 5  # HttpRequestSizingTypeMax


# --------------------------------------------------------------------------------------------------------------
# C types of the x64 (LLP64) Windows ABI. A field's C type decides its size, alignment and default value.
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CScalar:
    """An integer type (``USHORT``, ``ULONG``, an ``enum`` ...): naturally aligned, default 0."""

    name: str
    size: int
    signed: bool = False

    @property
    def align(self) -> int:
        return self.size


@dataclass(frozen=True, slots=True)
class CPointer:
    """A pointer or handle (8 bytes on x64), default ``None`` (NULL). ``kind`` says what the Python value is."""

    kind: str
    size: int = 8
    align: int = 8


@dataclass(frozen=True, slots=True)
class CBytes:
    """An inline array of ``count`` characters (``UCHAR x[n]`` / ``WCHAR x[n]``) held as ``bytes`` / ``str``."""

    count: int
    char_size: int  # 1: UCHAR, Python bytes; 2: WCHAR, Python str

    @property
    def size(self) -> int:
        return self.count * self.char_size

    @property
    def align(self) -> int:
        return self.char_size


@dataclass(frozen=True, slots=True)
class COpaque:
    """A system structure embedded by value whose Python value is not a struct (GUID, SOCKADDR_STORAGE ...)."""

    name: str
    size: int
    align: int
    default: Any


@dataclass(frozen=True, slots=True)
class CArray:
    """An inline array ``T x[count]`` of scalars or structs, held as a pre-sized list.

    A ``flexible`` array (``T x[ANYSIZE_ARRAY]``) counts one element in the size and defaults to ``[]``.
    """

    element: "CScalar | type[CStruct] | COpaque"
    count: int
    flexible: bool = False

    @property
    def size(self) -> int:
        return _size_of(self.element) * self.count

    @property
    def align(self) -> int:
        return _align_of(self.element)


class _UnionMember:
    """Marker: the field is a member of the struct's anonymous union (consecutive members share an offset)."""

    def __repr__(self) -> str:
        return "UNION"


UNION: Any = _UnionMember()

CType = Union[CScalar, CPointer, CBytes, COpaque, CArray, "type[CStruct]"]


class C:
    """The C types the field tables use (x64 Windows sizes: ``ULONG`` is 4 bytes, pointers 8)."""

    UCHAR = CScalar("UCHAR", 1)
    BOOLEAN = CScalar("BOOLEAN", 1)
    USHORT = CScalar("USHORT", 2)
    ULONG = CScalar("ULONG", 4)
    LONG = CScalar("LONG", 4, signed=True)
    ENUM = CScalar("enum", 4, signed=True)
    ULONGLONG = CScalar("ULONGLONG", 8)
    PCSTR = CPointer("PCSTR")  # 8-bit string: bytes or str
    PCWSTR = CPointer("PCWSTR")  # UTF-16 string: str (or bytes)
    PVOID = CPointer("PVOID")  # untyped memory: a bytes-like object or a struct instance
    HANDLE = CPointer("HANDLE")  # an int handle (or an fd / object with fileno() for file handles)
    PSOCKADDR = CPointer("PSOCKADDR")  # SOCKADDR_IN or SOCKADDR_IN6
    PTR = CPointer("PTR")  # pointer to a struct (an instance) or to an array of structs (a sequence)
    GUID = COpaque("GUID", 16, 4, uuid.UUID(int=0))
    SOCKADDR_STORAGE = COpaque("SOCKADDR_STORAGE", 128, 8, None)
    IN_ADDR = COpaque("IN_ADDR", 4, 4, bytes(4))
    IN6_ADDR = COpaque("IN6_ADDR", 16, 2, bytes(16))

    @staticmethod
    def array(element: "CScalar | type[CStruct] | COpaque", count: int, *, flexible: bool = False) -> CArray:
        return CArray(element, count, flexible)

    @staticmethod
    def chars(count: int) -> CBytes:
        return CBytes(count, 1)

    @staticmethod
    def wchars(count: int) -> CBytes:
        return CBytes(count, 2)


def _size_of(ctype: "CType") -> int:
    if isinstance(ctype, type):
        return ctype._c_size_
    return ctype.size


def _align_of(ctype: "CType") -> int:
    if isinstance(ctype, type):
        return ctype._c_align_
    return ctype.align


def _round_up(offset: int, align: int) -> int:
    return (offset + align - 1) // align * align


# --------------------------------------------------------------------------------------------------------------
# The struct machinery: field tables, computed layout, generated constructors.
# --------------------------------------------------------------------------------------------------------------


class _Missing:
    def __repr__(self) -> str:
        return "<default>"


_MISSING: Any = _Missing()
_ZERO: Any = _Missing()  # class-body default meaning "the C zero value of the field's type"


@dataclass(frozen=True, slots=True)
class CField:
    """One field of a struct: its C name, C type, byte offset, and whether it sits in the anonymous union."""

    name: str
    ctype: "CType"
    offset: int
    in_union: bool = False

    @property
    def size(self) -> int:
        return _size_of(self.ctype)


def _default_of(ctype: "CType") -> tuple[Any, Callable[[], Any] | None]:
    """(immutable default value, or a factory for a fresh mutable one)."""
    if isinstance(ctype, type):
        return None, ctype
    if isinstance(ctype, CScalar):
        return 0, None
    if isinstance(ctype, CPointer):
        return None, None
    if isinstance(ctype, CBytes):
        return ("" if ctype.char_size == 2 else bytes(ctype.count)), None
    if isinstance(ctype, COpaque):
        return ctype.default, None
    element, count = ctype.element, ctype.count
    if ctype.flexible:
        return None, list
    if isinstance(element, type):
        struct = element
        return None, lambda: [struct() for _ in range(count)]
    value, _ = _default_of(element)
    return None, lambda: [value] * count


def _zero_value(ctype: "CType") -> Any:
    """A fresh C zero value of ``ctype`` (what a field holds when not given)."""
    value, factory = _default_of(ctype)
    return value if factory is None else factory()


def _field_ctype(owner: str, name: str, annotation: Any) -> "tuple[CType, bool] | None":
    """The C type declared by a class-body annotation, and whether it is a union member; None if not a field."""
    origin = get_origin(annotation)
    if annotation is ClassVar or origin is ClassVar:
        return None
    if origin is Annotated:
        python_type, *metadata = get_args(annotation)
        tag = metadata[0]
        if tag is UNION:
            if not (isinstance(python_type, type) and issubclass(python_type, CStruct)):
                raise TypeError(f"{owner}.{name}: a union member must be a struct")
            return python_type, True
        if isinstance(tag, CScalar | CPointer | CBytes | COpaque | CArray):
            return tag, False
        if isinstance(tag, type) and issubclass(
            tag, CStruct
        ):  # a struct by value that also takes another form
            return tag, False
        raise TypeError(f"{owner}.{name}: unknown C type {tag!r}")
    if isinstance(annotation, type) and issubclass(annotation, CStruct):
        return annotation, False
    raise TypeError(f"{owner}.{name}: annotate as Annotated[<python type>, <C type>] or a struct class")


def _make_init(qualname: str, fields: Sequence[CField]) -> Callable[..., None]:
    """Generate ``__init__(self, <field>=<default>, ...)``: fast, introspectable, positional in C order."""
    namespace: dict[str, Any] = {"_MISSING": _MISSING}
    params: list[str] = []
    body: list[str] = []
    for f in fields:
        value, factory = _default_of(f.ctype)
        if factory is None:
            namespace[f"_d_{f.name}"] = value
            params.append(f"{f.name}=_d_{f.name}")
            body.append(f"    self.{f.name} = {f.name}")
        else:
            namespace[f"_f_{f.name}"] = factory
            params.append(f"{f.name}=_MISSING")
            body.append(f"    self.{f.name} = _f_{f.name}() if {f.name} is _MISSING else {f.name}")
    source = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) if body else "    pass")
    exec(source, namespace)
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{qualname}.__init__"
    return init


@dataclass_transform(eq_default=True, kw_only_default=False)
class _CStructMeta(type):
    """Builds, from the class-body annotations, the field table, the x64 layout, ``__slots__`` and ``__init__``."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> type:
        declared: list[tuple[str, CType, bool]] = []
        for field_name, annotation in namespace.get("__annotations__", {}).items():
            found = _field_ctype(name, field_name, annotation)
            if found is None:
                continue
            default = namespace.pop(field_name, _ZERO)
            if default is not _ZERO:
                raise TypeError(f"{name}.{field_name}: defaults come from the C type; assign _ZERO")
            declared.append((field_name, found[0], found[1]))
        # A struct the face fills from a received request may defer some fields (``_c_deferred_``): one more slot
        # holds what they are built from, and they are built on first read (``_DeferredFields``).
        namespace["__slots__"] = tuple(n for n, _, _ in declared) + (
            ("_c_pending_",) if "_c_deferred_" in namespace else ()
        )
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)

        base = next((b for b in bases if isinstance(b, _CStructMeta)), None)
        fields: list[CField] = list(getattr(base, "_c_fields_", ()))
        # A derived struct (HTTP_REQUEST_V2 : HTTP_REQUEST_V1) lays out its base as a whole sub-object first.
        offset: int = getattr(base, "_c_size_", 0)
        align: int = getattr(base, "_c_align_", 1)
        i = 0
        while i < len(declared):
            field_name, ctype, in_union = declared[i]
            if not in_union:
                a = _align_of(ctype)
                offset = _round_up(offset, a)
                fields.append(CField(field_name, ctype, offset))
                offset += _size_of(ctype)
                align = max(align, a)
                i += 1
                continue
            members = []
            while i < len(declared) and declared[i][2]:
                members.append(declared[i])
                i += 1
            union_align = max(_align_of(m[1]) for m in members)
            union_size = _round_up(max(_size_of(m[1]) for m in members), union_align)
            offset = _round_up(offset, union_align)
            fields.extend(CField(m[0], m[1], offset, in_union=True) for m in members)
            offset += union_size
            align = max(align, union_align)

        struct_cls: Any = cls
        struct_cls._c_fields_ = tuple(fields)
        struct_cls._c_names_ = tuple(f.name for f in fields)
        struct_cls._c_offsets_ = {f.name: f.offset for f in fields}
        struct_cls._c_align_ = align
        struct_cls._c_size_ = _round_up(offset, align) if fields else 0
        if "__init__" not in namespace:
            struct_cls.__init__ = _make_init(namespace.get("__qualname__", name), fields)
        return cls


class CStruct(metaclass=_CStructMeta):
    """Base of every ``http.h`` structure. Fields are slots; equality compares type and every field."""

    __slots__ = ()
    _c_fields_: ClassVar[tuple[CField, ...]]
    _c_names_: ClassVar[tuple[str, ...]]
    _c_offsets_: ClassVar[dict[str, int]]
    _c_size_: ClassVar[int]
    _c_align_: ClassVar[int]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CStruct):
            return NotImplemented
        if type(self) is not type(other):
            return False
        return all(getattr(self, n) == getattr(other, n) for n in self._c_names_)

    __hash__ = None  # type: ignore[assignment]  # mutable, like a C struct

    @recursive_repr()
    def __repr__(self) -> str:
        parts = []
        for f in self._c_fields_:
            value = getattr(self, f.name)
            if f.in_union and value == _zero_value(f.ctype):
                continue  # an untouched union member says nothing
            parts.append(f"{f.name}={_repr_value(f, value)}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _repr_value(field: CField, value: Any) -> str:
    ctype = field.ctype
    if isinstance(ctype, CArray) and not ctype.flexible and isinstance(value, list) and len(value) > 8:
        zero = _zero_value(ctype) if ctype.count == len(value) else None
        changed = {i: v for i, v in enumerate(value) if zero is None or v != zero[i]}
        return f"[{len(value)} entries; non-zero: {changed!r}]"
    return repr(value)


def fields_of(struct: "type[CStruct] | CStruct") -> tuple[CField, ...]:
    """The field table of a struct class or instance, in C order, with computed offsets."""
    cls = struct if isinstance(struct, type) else type(struct)
    return cls._c_fields_


def sizeof(obj: Any) -> int:
    """x64 C size in bytes of a struct class or instance; ctypes types and instances go to ``ctypes.sizeof``.

    Note: on Linux ``ctypes.wintypes.ULONG`` is ``c_ulong`` (8 bytes, and the same type as ``c_ulonglong``), so
    ``sizeof(ULONG())`` is 8 here where 64-bit Windows says 4.
    """
    if isinstance(obj, CStruct):
        return type(obj)._c_size_
    if isinstance(obj, type) and issubclass(obj, CStruct):
        return obj._c_size_
    return ctypes.sizeof(obj)


def alignof(obj: "type[CStruct] | CStruct") -> int:
    """x64 C alignment of a struct class or instance."""
    cls = obj if isinstance(obj, type) else type(obj)
    return cls._c_align_


def offsetof(obj: "type[CStruct] | CStruct", field: str) -> int:
    """Byte offset of ``field`` in the x64 layout (``FIELD_OFFSET``); KeyError for an unknown field."""
    cls = obj if isinstance(obj, type) else type(obj)
    return cls._c_offsets_[field]


# --------------------------------------------------------------------------------------------------------------
# Python types of the field values.
# --------------------------------------------------------------------------------------------------------------


class SupportsFileno(Protocol):
    def fileno(self) -> int: ...


CString = str | bytes | bytearray | memoryview | None

_UCHAR = Annotated[int, C.UCHAR]
_BOOLEAN = Annotated[int, C.BOOLEAN]
_USHORT = Annotated[int, C.USHORT]
_ULONG = Annotated[int, C.ULONG]
_LONG = Annotated[int, C.LONG]
_ENUM = Annotated[int, C.ENUM]
_ULONGLONG = Annotated[int, C.ULONGLONG]
_PCSTR = Annotated[CString, C.PCSTR]
_PCWSTR = Annotated[CString, C.PCWSTR]
_PVOID = Annotated[Any, C.PVOID]
_HANDLE = Annotated[int | None, C.HANDLE]


# --------------------------------------------------------------------------------------------------------------
# System structures the HTTP structures point to.
# --------------------------------------------------------------------------------------------------------------


class SOCKADDR_IN(CStruct):
    """IPv4 socket address (16 bytes). ``sin_port`` is in network byte order, ``sin_addr`` 4 packed bytes."""

    sin_family: _USHORT = _ZERO
    sin_port: _USHORT = _ZERO
    sin_addr: Annotated[bytes, C.IN_ADDR] = _ZERO
    sin_zero: Annotated[bytes, C.chars(8)] = _ZERO

    @classmethod
    def from_address(cls, address: tuple[str, int]) -> "SOCKADDR_IN":
        """From a Python ``(host, port)`` tuple as ``socket`` returns it."""
        host, port = address[0], address[1]
        return cls(socket.AF_INET, socket.htons(port), socket.inet_pton(socket.AF_INET, host))

    def to_address(self) -> tuple[str, int]:
        """The Python ``(host, port)`` tuple."""
        return socket.inet_ntop(socket.AF_INET, bytes(self.sin_addr)), socket.ntohs(self.sin_port)


class SOCKADDR_IN6(CStruct):
    """IPv6 socket address (28 bytes). ``sin6_port`` is in network byte order, ``sin6_addr`` 16 packed bytes."""

    sin6_family: _USHORT = _ZERO
    sin6_port: _USHORT = _ZERO
    sin6_flowinfo: _ULONG = _ZERO
    sin6_addr: Annotated[bytes, C.IN6_ADDR] = _ZERO
    sin6_scope_id: _ULONG = _ZERO

    @classmethod
    def from_address(cls, address: tuple[str, int] | tuple[str, int, int, int]) -> "SOCKADDR_IN6":
        """From a Python ``(host, port[, flowinfo, scope_id])`` tuple as ``socket`` returns it."""
        flowinfo = address[2] if len(address) > 2 else 0
        scope_id = address[3] if len(address) > 3 else 0
        packed = socket.inet_pton(socket.AF_INET6, address[0].split("%", 1)[0])
        return cls(socket.AF_INET6, socket.htons(address[1]), flowinfo, packed, scope_id)

    def to_address(self) -> tuple[str, int, int, int]:
        """The Python ``(host, port, flowinfo, scope_id)`` tuple."""
        host = socket.inet_ntop(socket.AF_INET6, bytes(self.sin6_addr))
        return host, socket.ntohs(self.sin6_port), self.sin6_flowinfo, self.sin6_scope_id


SockAddr = SOCKADDR_IN | SOCKADDR_IN6
_PSOCKADDR = Annotated[SockAddr | None, C.PSOCKADDR]
_SOCKADDR_STORAGE = Annotated[SockAddr | None, C.SOCKADDR_STORAGE]


class SECURITY_ATTRIBUTES(CStruct):
    """``SECURITY_ATTRIBUTES`` (HttpCreateRequestQueue): descriptor bytes/SDDL and handle inheritance."""

    nLength: _ULONG = _ZERO
    lpSecurityDescriptor: _PVOID = _ZERO
    bInheritHandle: _LONG = _ZERO


# --------------------------------------------------------------------------------------------------------------
# Versions, headers, URLs, addresses (spec §3.1, §3.2).
# --------------------------------------------------------------------------------------------------------------


class HTTPAPI_VERSION(CStruct):
    """Version of the API (not of the protocol): {1,0} or {2,0}."""

    HttpApiMajorVersion: _USHORT = _ZERO
    HttpApiMinorVersion: _USHORT = _ZERO


class HTTP_VERSION(CStruct):
    """Protocol version of a request (0.9, 1.0, 1.1, 2.0, 3.0)."""

    MajorVersion: _USHORT = _ZERO
    MinorVersion: _USHORT = _ZERO


class HTTP_KNOWN_HEADER(CStruct):
    """Value of a known header; its name is implied by its ``HttpHeader*`` index."""

    RawValueLength: _USHORT = _ZERO
    pRawValue: _PCSTR = _ZERO


_REQUEST_KNOWN_HEADER_ARRAY = Annotated[
    list[HTTP_KNOWN_HEADER], C.array(HTTP_KNOWN_HEADER, _REQUEST_KNOWN_HEADERS)
]
_RESPONSE_KNOWN_HEADER_ARRAY = Annotated[
    list[HTTP_KNOWN_HEADER], C.array(HTTP_KNOWN_HEADER, _RESPONSE_KNOWN_HEADERS)
]


class HTTP_UNKNOWN_HEADER(CStruct):
    """A header outside the known set: name (without the colon) and value."""

    NameLength: _USHORT = _ZERO
    RawValueLength: _USHORT = _ZERO
    pName: _PCSTR = _ZERO
    pRawValue: _PCSTR = _ZERO


class HTTP_COOKED_URL(CStruct):
    """Canonicalized UTF-16 URL and its parts (lengths in bytes, without the NUL)."""

    FullUrlLength: _USHORT = _ZERO
    HostLength: _USHORT = _ZERO
    AbsPathLength: _USHORT = _ZERO
    QueryStringLength: _USHORT = _ZERO
    pFullUrl: _PCWSTR = _ZERO
    pHost: _PCWSTR = _ZERO
    pAbsPath: _PCWSTR = _ZERO
    pQueryString: _PCWSTR = _ZERO


def _build_deferred(struct: Any, name: str) -> Any:
    """A deferred field of a received struct, built on its first read and stored in its slot.

    ``__getattr__`` runs only when a slot is unset: for a deferred field of an instance made by ``received``
    (what it is built from waits in the ``_c_pending_`` slot), and otherwise for a name the struct does not have.
    """
    cls = type(struct)
    if name in cls._c_deferred_:
        try:
            pending = object.__getattribute__(struct, "_c_pending_")
        except AttributeError:
            pending = None
        if pending is not None:
            value = cls._c_build_(name, pending)
            object.__setattr__(struct, name, value)
            return value
    raise AttributeError(f"{cls.__name__!r} object has no attribute {name!r}")


def _sockaddr_from(address: tuple[Any, ...], ipv6: bool) -> "SOCKADDR_IN | SOCKADDR_IN6 | None":
    """A socket address from a Python address tuple (None when there is none, as for a Unix socket)."""
    if not address or not address[0]:
        return None
    host = str(address[0])
    port = int(address[1])
    if ipv6 or ":" in host:
        return SOCKADDR_IN6.from_address((host, port, *address[2:4]))
    return SOCKADDR_IN.from_address((host, port))


class HTTP_TRANSPORT_ADDRESS(CStruct):
    """Remote and local socket addresses of the connection."""

    pRemoteAddress: _PSOCKADDR = _ZERO
    pLocalAddress: _PSOCKADDR = _ZERO

    # A received request's addresses are built when first read (``received``; decision 0023, amendment 3).
    _c_deferred_: ClassVar[tuple[str, ...]] = ("pRemoteAddress", "pLocalAddress")

    @classmethod
    def received(
        cls, remote: tuple[Any, ...], local: tuple[Any, ...], ipv6: bool
    ) -> "HTTP_TRANSPORT_ADDRESS":
        """The addresses of a received request, from the driver's address tuples; each built on first read."""
        address = cls.__new__(cls)
        object.__setattr__(address, "_c_pending_", (remote, local, ipv6))
        return address

    @staticmethod
    def _c_build_(name: str, pending: tuple[tuple[Any, ...], tuple[Any, ...], bool]) -> Any:
        remote, local, ipv6 = pending
        try:
            return _sockaddr_from(remote if name == "pRemoteAddress" else local, ipv6)
        except (OSError, ValueError, TypeError, IndexError):
            return None  # not an IP address (the driver gives none such): NULL, never an exception on a read

    if not TYPE_CHECKING:

        def __getattr__(self, name):
            return _build_deferred(self, name)


class HTTP_REQUEST_HEADERS(CStruct):
    """Request headers: unknown headers, trailers (unused), and the 41 known headers by ``HttpHeader*`` id."""

    UnknownHeaderCount: _USHORT = _ZERO
    pUnknownHeaders: Annotated[Sequence[HTTP_UNKNOWN_HEADER] | None, C.PTR] = _ZERO
    TrailerCount: _USHORT = _ZERO
    pTrailers: Annotated[Sequence[HTTP_UNKNOWN_HEADER] | None, C.PTR] = _ZERO
    KnownHeaders: _REQUEST_KNOWN_HEADER_ARRAY = _ZERO

    # A received request's header table and unknown-header entries are built when first read, from the one parse
    # (``received``; decision 0023, amendment 3): most servers read a few known headers or none.
    _c_deferred_: ClassVar[tuple[str, ...]] = ("KnownHeaders", "pUnknownHeaders")

    @classmethod
    def received(cls, known: dict[int, bytes], unknown: list[tuple[bytes, bytes]]) -> "HTTP_REQUEST_HEADERS":
        """The headers of a received request (known values by ``HttpHeader*`` id, unknown ones in order).

        ``UnknownHeaderCount`` is set at once; ``KnownHeaders`` (41 fresh entries, a present empty header
        ``(0, b"")``) and ``pUnknownHeaders`` (None when there is none) are built on first read.
        """
        headers = cls.__new__(cls)
        headers.UnknownHeaderCount = len(unknown)
        headers.TrailerCount = 0
        headers.pTrailers = None
        object.__setattr__(headers, "_c_pending_", (known, unknown))
        return headers

    @staticmethod
    def _c_build_(name: str, pending: tuple[dict[int, bytes], list[tuple[bytes, bytes]]]) -> Any:
        known, unknown = pending
        if name == "KnownHeaders":
            table = [HTTP_KNOWN_HEADER() for _ in range(_REQUEST_KNOWN_HEADERS)]
            for index, value in known.items():
                table[index] = HTTP_KNOWN_HEADER(len(value), value)
            return table
        return [HTTP_UNKNOWN_HEADER(len(n), len(v), n, v) for n, v in unknown] or None

    if not TYPE_CHECKING:

        def __getattr__(self, name):
            return _build_deferred(self, name)


class HTTP_RESPONSE_HEADERS(CStruct):
    """Response headers: unknown headers, trailers (reserved), and the 30 known headers by ``HttpHeader*`` id."""

    UnknownHeaderCount: _USHORT = _ZERO
    pUnknownHeaders: Annotated[Sequence[HTTP_UNKNOWN_HEADER] | None, C.PTR] = _ZERO
    TrailerCount: _USHORT = _ZERO
    pTrailers: Annotated[Sequence[HTTP_UNKNOWN_HEADER] | None, C.PTR] = _ZERO
    KnownHeaders: _RESPONSE_KNOWN_HEADER_ARRAY = _ZERO


class HTTP_MULTIPLE_KNOWN_HEADERS(CStruct):
    """Several values for one known response header (``HttpResponseInfoTypeMultipleKnownHeaders``)."""

    HeaderId: _ENUM = _ZERO
    Flags: _ULONG = _ZERO
    KnownHeaderCount: _USHORT = _ZERO
    KnownHeaders: Annotated[Sequence[HTTP_KNOWN_HEADER] | None, C.PTR] = _ZERO


# --------------------------------------------------------------------------------------------------------------
# Data chunks (spec §3.4).
# --------------------------------------------------------------------------------------------------------------


class HTTP_BYTE_RANGE(CStruct):
    """A byte range; ``Length == HTTP_BYTE_RANGE_TO_EOF`` means up to the end."""

    StartingOffset: _ULONGLONG = _ZERO
    Length: _ULONGLONG = _ZERO


class HTTP_DATA_CHUNK_FROM_MEMORY(CStruct):
    """``HTTP_DATA_CHUNK.FromMemory``: a bytes-like buffer."""

    pBuffer: _PVOID = _ZERO
    BufferLength: _ULONG = _ZERO


class HTTP_DATA_CHUNK_FROM_FILE_HANDLE(CStruct):
    """``HTTP_DATA_CHUNK.FromFileHandle``: a range of a file (an fd or an object with ``fileno()``)."""

    ByteRange: HTTP_BYTE_RANGE = _ZERO
    FileHandle: Annotated[int | SupportsFileno | None, C.HANDLE] = _ZERO


class HTTP_DATA_CHUNK_FROM_FRAGMENT_CACHE(CStruct):
    """``HTTP_DATA_CHUNK.FromFragmentCache``: a whole cached fragment by name."""

    FragmentNameLength: _USHORT = _ZERO
    pFragmentName: _PCWSTR = _ZERO


class HTTP_DATA_CHUNK_FROM_FRAGMENT_CACHE_EX(CStruct):
    """``HTTP_DATA_CHUNK.FromFragmentCacheEx``: a range of a cached fragment by name."""

    ByteRange: HTTP_BYTE_RANGE = _ZERO
    pFragmentName: _PCWSTR = _ZERO


class HTTP_DATA_CHUNK_TRAILERS(CStruct):
    """``HTTP_DATA_CHUNK.Trailers``: response trailers."""

    TrailerCount: _USHORT = _ZERO
    pTrailers: Annotated[Sequence[HTTP_UNKNOWN_HEADER] | None, C.PTR] = _ZERO


class HTTP_DATA_CHUNK(CStruct):
    """One piece of an entity body; ``DataChunkType`` says which union member is meant."""

    DataChunkType: _ENUM = _ZERO
    FromMemory: Annotated[HTTP_DATA_CHUNK_FROM_MEMORY, UNION] = _ZERO
    FromFileHandle: Annotated[HTTP_DATA_CHUNK_FROM_FILE_HANDLE, UNION] = _ZERO
    FromFragmentCache: Annotated[HTTP_DATA_CHUNK_FROM_FRAGMENT_CACHE, UNION] = _ZERO
    FromFragmentCacheEx: Annotated[HTTP_DATA_CHUNK_FROM_FRAGMENT_CACHE_EX, UNION] = _ZERO
    Trailers: Annotated[HTTP_DATA_CHUNK_TRAILERS, UNION] = _ZERO


# --------------------------------------------------------------------------------------------------------------
# SSL, authentication and request-info structures (spec §3.8).
# --------------------------------------------------------------------------------------------------------------


class HTTP_SSL_CLIENT_CERT_INFO(CStruct):
    """Client certificate of a TLS connection (HttpReceiveClientCertificate)."""

    CertFlags: _ULONG = _ZERO
    CertEncodedSize: _ULONG = _ZERO
    pCertEncoded: _PVOID = _ZERO
    Token: _HANDLE = _ZERO
    CertDeniedByMapper: _BOOLEAN = _ZERO


class HTTP_SSL_INFO(CStruct):
    """TLS information of a request (``HTTP_REQUEST.pSslInfo``)."""

    ServerCertKeySize: _USHORT = _ZERO
    ConnectionKeySize: _USHORT = _ZERO
    ServerCertIssuerSize: _ULONG = _ZERO
    ServerCertSubjectSize: _ULONG = _ZERO
    pServerCertIssuer: _PCSTR = _ZERO
    pServerCertSubject: _PCSTR = _ZERO
    pClientCertInfo: Annotated[HTTP_SSL_CLIENT_CERT_INFO | None, C.PTR] = _ZERO
    SslClientCertNegotiated: _ULONG = _ZERO


class HTTP_SSL_PROTOCOL_INFO(CStruct):
    """``HttpRequestInfoTypeSslProtocol`` payload."""

    Protocol: _ULONG = _ZERO
    CipherType: _ULONG = _ZERO
    CipherStrength: _ULONG = _ZERO
    HashType: _ULONG = _ZERO
    HashStrength: _ULONG = _ZERO
    KeyExchangeType: _ULONG = _ZERO
    KeyExchangeStrength: _ULONG = _ZERO


class HTTP_REQUEST_INFO(CStruct):
    """One extra item of a V2 request (``pRequestInfo``); ``pInfo`` is the struct named by ``InfoType``."""

    InfoType: _ENUM = _ZERO
    InfoLength: _ULONG = _ZERO
    pInfo: _PVOID = _ZERO


class HTTP_REQUEST_AUTH_INFO(CStruct):
    """``HttpRequestInfoTypeAuth`` payload: result of kernel-mode authentication."""

    AuthStatus: _ENUM = _ZERO
    SecStatus: _LONG = _ZERO
    Flags: _ULONG = _ZERO
    AuthType: _ENUM = _ZERO
    AccessToken: _HANDLE = _ZERO
    ContextAttributes: _ULONG = _ZERO
    PackedContextLength: _ULONG = _ZERO
    PackedContextType: _ULONG = _ZERO
    PackedContext: _PVOID = _ZERO
    MutualAuthDataLength: _ULONG = _ZERO
    pMutualAuthData: _PCSTR = _ZERO
    PackageNameLength: _USHORT = _ZERO
    pPackageName: _PCWSTR = _ZERO


class HTTP_REQUEST_TOKEN_BINDING_INFO(CStruct):
    """``HttpRequestInfoTypeSslTokenBinding`` payload."""

    TokenBinding: _PVOID = _ZERO
    TokenBindingSize: _ULONG = _ZERO
    EKM: _PVOID = _ZERO
    EKMSize: _ULONG = _ZERO
    KeyType: _UCHAR = _ZERO


class HTTP_REQUEST_SIZING_INFO(CStruct):
    """``HttpRequestInfoTypeRequestSizing`` payload (sizes indexed by ``HttpRequestSizingType*``)."""

    Flags: _ULONGLONG = _ZERO
    RequestIndex: _ULONG = _ZERO
    RequestSizingCount: _ULONG = _ZERO
    RequestSizing: Annotated[list[int], C.array(C.ULONGLONG, _SIZING_SLOTS)] = _ZERO


class HTTP_REQUEST_TIMING_INFO(CStruct):
    """``HttpRequestInfoTypeRequestTiming`` payload (timestamps indexed by ``HttpRequestTimingType*``)."""

    RequestTimingCount: _ULONG = _ZERO
    RequestTiming: Annotated[list[int], C.array(C.ULONGLONG, _TIMING_SLOTS)] = _ZERO


class HTTP_REQUEST_TRANSPORT_IDLE_CONNECTION_TIMEOUT_INFO(CStruct):
    """``HttpRequestInfoTypeTransportIdleConnectionTimeout`` payload (seconds)."""

    TransportIdleConnectionTimeout: _USHORT = _ZERO


class HTTP_REQUEST_DSCP_INFO(CStruct):
    """``HttpRequestInfoTypeDscpTag`` payload."""

    DscpTag: _UCHAR = _ZERO


class HTTP_REQUEST_INITIAL_PACKET_TTL_INFO(CStruct):
    """``HttpRequestInfoTypeInitialPacketTtl`` payload."""

    InitialPacketTtl: _UCHAR = _ZERO


class HTTP_SERVICE_BINDING_BASE(CStruct):
    """Header of a service-name binding (``HttpServiceBindingType*``)."""

    Type: _ENUM = _ZERO


class HTTP_SERVICE_BINDING_A(CStruct):
    """Service name as an 8-bit string."""

    Base: HTTP_SERVICE_BINDING_BASE = _ZERO
    Buffer: _PCSTR = _ZERO
    BufferSize: _ULONG = _ZERO


class HTTP_SERVICE_BINDING_W(CStruct):
    """Service name as a UTF-16 string."""

    Base: HTTP_SERVICE_BINDING_BASE = _ZERO
    Buffer: _PCWSTR = _ZERO
    BufferSize: _ULONG = _ZERO


ServiceBinding = HTTP_SERVICE_BINDING_BASE | HTTP_SERVICE_BINDING_A | HTTP_SERVICE_BINDING_W


class HTTP_REQUEST_CHANNEL_BIND_STATUS(CStruct):
    """Channel-binding token of a connection (HttpReceiveClientCertificate with SECURE_CHANNEL_TOKEN)."""

    ServiceName: Annotated[ServiceBinding | None, C.PTR] = _ZERO
    ChannelToken: _PVOID = _ZERO
    ChannelTokenSize: _ULONG = _ZERO
    Flags: _ULONG = _ZERO


# --------------------------------------------------------------------------------------------------------------
# Requests and responses (spec §3.2, §3.3).
# --------------------------------------------------------------------------------------------------------------


class HTTP_REQUEST_V1(CStruct):
    """A received request (HttpReceiveHttpRequest), API 1.0 layout: 848 bytes on x64."""

    Flags: _ULONG = _ZERO
    ConnectionId: _ULONGLONG = _ZERO
    RequestId: _ULONGLONG = _ZERO
    UrlContext: _ULONGLONG = _ZERO
    Version: HTTP_VERSION = _ZERO
    Verb: _ENUM = _ZERO
    UnknownVerbLength: _USHORT = _ZERO
    RawUrlLength: _USHORT = _ZERO
    pUnknownVerb: _PCSTR = _ZERO
    pRawUrl: _PCSTR = _ZERO
    CookedUrl: HTTP_COOKED_URL = _ZERO
    Address: HTTP_TRANSPORT_ADDRESS = _ZERO
    Headers: HTTP_REQUEST_HEADERS = _ZERO
    BytesReceived: _ULONGLONG = _ZERO
    EntityChunkCount: _USHORT = _ZERO
    pEntityChunks: Annotated[Sequence[HTTP_DATA_CHUNK] | None, C.PTR] = _ZERO
    RawConnectionId: _ULONGLONG = _ZERO
    pSslInfo: Annotated[HTTP_SSL_INFO | None, C.PTR] = _ZERO


class HTTP_REQUEST_V2(HTTP_REQUEST_V1):
    """A received request, API 2.0 layout (V1 fields, then the request-info array): 864 bytes on x64."""

    RequestInfoCount: _USHORT = _ZERO
    pRequestInfo: Annotated[Sequence[HTTP_REQUEST_INFO] | None, C.PTR] = _ZERO


HTTP_REQUEST = HTTP_REQUEST_V2


class HTTP_RESPONSE_INFO(CStruct):
    """One extra item of a V2 response; ``pInfo`` is the struct named by ``Type``."""

    Type: _ENUM = _ZERO
    Length: _ULONG = _ZERO
    pInfo: _PVOID = _ZERO


class HTTP_RESPONSE_V1(CStruct):
    """A response to send (HttpSendHttpResponse), API 1.0 layout: 552 bytes on x64."""

    Flags: _ULONG = _ZERO
    Version: HTTP_VERSION = _ZERO
    StatusCode: _USHORT = _ZERO
    ReasonLength: _USHORT = _ZERO
    pReason: _PCSTR = _ZERO
    Headers: HTTP_RESPONSE_HEADERS = _ZERO
    EntityChunkCount: _USHORT = _ZERO
    pEntityChunks: Annotated[Sequence[HTTP_DATA_CHUNK] | None, C.PTR] = _ZERO


class HTTP_RESPONSE_V2(HTTP_RESPONSE_V1):
    """A response to send, API 2.0 layout (V1 fields, then the response-info array): 568 bytes on x64."""

    ResponseInfoCount: _USHORT = _ZERO
    pResponseInfo: Annotated[Sequence[HTTP_RESPONSE_INFO] | None, C.PTR] = _ZERO


HTTP_RESPONSE = HTTP_RESPONSE_V2


# --------------------------------------------------------------------------------------------------------------
# Cache and logging (spec §3.5).
# --------------------------------------------------------------------------------------------------------------


class HTTP_CACHE_POLICY(CStruct):
    """Kernel cache policy of a response or fragment."""

    Policy: _ENUM = _ZERO
    SecondsToLive: _ULONG = _ZERO


class HTTP_LOG_DATA(CStruct):
    """Header of the log data passed on the last send (``HttpLogDataTypeFields``)."""

    Type: _ENUM = _ZERO


class HTTP_LOG_FIELDS_DATA(CStruct):
    """W3C log fields of a response (lengths in bytes; NULL and 0 leave a field out)."""

    Base: HTTP_LOG_DATA = _ZERO
    UserNameLength: _USHORT = _ZERO
    UriStemLength: _USHORT = _ZERO
    ClientIpLength: _USHORT = _ZERO
    ServerNameLength: _USHORT = _ZERO
    ServiceNameLength: _USHORT = _ZERO
    ServerIpLength: _USHORT = _ZERO
    MethodLength: _USHORT = _ZERO
    UriQueryLength: _USHORT = _ZERO
    HostLength: _USHORT = _ZERO
    UserAgentLength: _USHORT = _ZERO
    CookieLength: _USHORT = _ZERO
    ReferrerLength: _USHORT = _ZERO
    UserName: _PCWSTR = _ZERO
    UriStem: _PCWSTR = _ZERO
    ClientIp: _PCSTR = _ZERO
    ServerName: _PCSTR = _ZERO
    ServiceName: _PCSTR = _ZERO
    ServerIp: _PCSTR = _ZERO
    Method: _PCSTR = _ZERO
    UriQuery: _PCSTR = _ZERO
    Host: _PCSTR = _ZERO
    UserAgent: _PCSTR = _ZERO
    Cookie: _PCSTR = _ZERO
    Referrer: _PCSTR = _ZERO
    ServerPort: _USHORT = _ZERO
    ProtocolStatus: _USHORT = _ZERO
    Win32Status: _ULONG = _ZERO
    MethodNum: _ENUM = _ZERO
    SubStatus: _USHORT = _ZERO


class HTTP_PROPERTY_FLAGS(CStruct):
    """First field of every property struct: ``Present`` (C bit-field ``ULONG Present:1``)."""

    Present: _ULONG = _ZERO


# A Flags field typed HTTP_PROPERTY_FLAGS: the struct, or the ULONG it is as the .NET interop tables declare it
# (HTTP_PROPERTY_FLAG_NONE 0 / HTTP_PROPERTY_FLAG_PRESENT 1). Defaults to HTTP_PROPERTY_FLAGS().
_PROPERTY_FLAGS = Annotated[HTTP_PROPERTY_FLAGS | int, HTTP_PROPERTY_FLAGS]


class HTTP_LOGGING_INFO(CStruct):
    """``HttpServerLoggingProperty``: where and how to write the access log."""

    Flags: _PROPERTY_FLAGS = _ZERO
    LoggingFlags: _ULONG = _ZERO
    SoftwareName: _PCWSTR = _ZERO
    SoftwareNameLength: _USHORT = _ZERO
    DirectoryNameLength: _USHORT = _ZERO
    DirectoryName: _PCWSTR = _ZERO
    Format: _ENUM = _ZERO
    Fields: _ULONG = _ZERO
    pExtFields: _PVOID = _ZERO
    NumOfExtFields: _USHORT = _ZERO
    MaxRecordSize: _USHORT = _ZERO
    RolloverType: _ENUM = _ZERO
    RolloverSize: _ULONG = _ZERO
    pSecurityDescriptor: _PVOID = _ZERO


# --------------------------------------------------------------------------------------------------------------
# Server-session / URL-group / request-queue properties (spec §3.6, §3.7).
# --------------------------------------------------------------------------------------------------------------


class HTTP_STATE_INFO(CStruct):
    """``HttpServerStateProperty`` of a session or URL group."""

    Flags: _PROPERTY_FLAGS = _ZERO
    State: _ENUM = _ZERO


class HTTP_BANDWIDTH_LIMIT_INFO(CStruct):
    """``HttpQosSettingTypeBandwidth`` setting (bytes per second)."""

    Flags: _PROPERTY_FLAGS = _ZERO
    MaxBandwidth: _ULONG = _ZERO


class HTTP_CONNECTION_LIMIT_INFO(CStruct):
    """``HttpQosSettingTypeConnectionLimit`` setting."""

    Flags: _PROPERTY_FLAGS = _ZERO
    MaxConnections: _ULONG = _ZERO


class HTTP_FLOWRATE_INFO(CStruct):
    """``HttpQosSettingTypeFlowRate`` setting."""

    Flags: _PROPERTY_FLAGS = _ZERO
    MaxBandwidth: _ULONG = _ZERO
    MaxPeakBandwidth: _ULONG = _ZERO
    BurstSize: _ULONG = _ZERO


QosSettingInfo = HTTP_BANDWIDTH_LIMIT_INFO | HTTP_CONNECTION_LIMIT_INFO | HTTP_FLOWRATE_INFO


class HTTP_QOS_SETTING_INFO(CStruct):
    """``HttpServerQosProperty``: ``QosSetting`` is the struct named by ``QosType``."""

    QosType: _ENUM = _ZERO
    QosSetting: Annotated[QosSettingInfo | None, C.PTR] = _ZERO


class HTTP_TIMEOUT_LIMIT_INFO(CStruct):
    """``HttpServerTimeoutsProperty``: timers in seconds and the minimum send rate in bytes per second."""

    Flags: _PROPERTY_FLAGS = _ZERO
    EntityBody: _USHORT = _ZERO
    DrainEntityBody: _USHORT = _ZERO
    RequestQueue: _USHORT = _ZERO
    IdleConnection: _USHORT = _ZERO
    HeaderWait: _USHORT = _ZERO
    MinSendRate: _ULONG = _ZERO


class HTTP_BINDING_INFO(CStruct):
    """``HttpServerBindingProperty`` / ``HttpServerDelegationProperty``: the request queue of a URL group."""

    Flags: _PROPERTY_FLAGS = _ZERO
    RequestQueueHandle: _HANDLE = _ZERO


class HTTP_LISTEN_ENDPOINT_INFO(CStruct):
    """``HttpServerListenEndpointProperty``."""

    Flags: _PROPERTY_FLAGS = _ZERO
    EnableSharing: _BOOLEAN = _ZERO


class HTTP_FAST_FORWARD_INFO(CStruct):
    """``HttpServerFastForwardingProperty``."""

    Flags: _PROPERTY_FLAGS = _ZERO
    EnableFastForwarding: _BOOLEAN = _ZERO


class HTTP_REQUEST_INFO_PROPERTY_INFO(CStruct):
    """``HttpServerRequestInfoProperty``."""

    Flags: _PROPERTY_FLAGS = _ZERO
    RequestInfoFlags: _ULONGLONG = _ZERO


class HTTP_SERVER_AUTHENTICATION_DIGEST_PARAMS(CStruct):
    """Digest parameters of ``HTTP_SERVER_AUTHENTICATION_INFO``."""

    DomainNameLength: _USHORT = _ZERO
    DomainName: _PCWSTR = _ZERO
    RealmLength: _USHORT = _ZERO
    Realm: _PCWSTR = _ZERO


class HTTP_SERVER_AUTHENTICATION_BASIC_PARAMS(CStruct):
    """Basic parameters of ``HTTP_SERVER_AUTHENTICATION_INFO``."""

    RealmLength: _USHORT = _ZERO
    Realm: _PCWSTR = _ZERO


class HTTP_SERVER_AUTHENTICATION_INFO(CStruct):
    """``HttpServerAuthenticationProperty`` / ``HttpServerExtendedAuthenticationProperty``."""

    Flags: _PROPERTY_FLAGS = _ZERO
    AuthSchemes: _ULONG = _ZERO
    ReceiveMutualAuth: _BOOLEAN = _ZERO
    ReceiveContextHandle: _BOOLEAN = _ZERO
    DisableNTLMCredentialCaching: _BOOLEAN = _ZERO
    ExFlags: _UCHAR = _ZERO
    DigestParams: HTTP_SERVER_AUTHENTICATION_DIGEST_PARAMS = _ZERO
    BasicParams: HTTP_SERVER_AUTHENTICATION_BASIC_PARAMS = _ZERO


class HTTP_CHANNEL_BIND_INFO(CStruct):
    """``HttpServerChannelBindProperty``: extended protection hardening and service names."""

    Hardening: _ENUM = _ZERO
    Flags: _ULONG = _ZERO
    ServiceNames: Annotated[Sequence[ServiceBinding] | None, C.PTR] = _ZERO
    NumberOfServiceNames: _ULONG = _ZERO


class HTTP_PROTECTION_LEVEL_INFO(CStruct):
    """``HttpServerProtectionLevelProperty``."""

    Flags: _PROPERTY_FLAGS = _ZERO
    Level: _ENUM = _ZERO


class HTTP_DELEGATE_REQUEST_PROPERTY_INFO(CStruct):
    """One property of HttpDelegateRequestEx (``DelegateRequestDelegateUrlProperty``: a URL string)."""

    PropertyId: _ENUM = _ZERO
    PropertyInfoLength: _ULONG = _ZERO
    PropertyInfo: _PVOID = _ZERO


class HTTP_CREATE_REQUEST_QUEUE_PROPERTY_INFO(CStruct):
    """One property given when creating a request queue (``CreateRequestQueueExternalIdProperty``)."""

    PropertyId: _ENUM = _ZERO
    PropertyInfoLength: _ULONG = _ZERO
    PropertyInfo: _PVOID = _ZERO


# --------------------------------------------------------------------------------------------------------------
# Per-request properties (HttpSetRequestProperty / HttpQueryRequestProperty).
# --------------------------------------------------------------------------------------------------------------


class HTTP_REQUEST_PROPERTY_STREAM_ERROR(CStruct):
    """``HttpRequestPropertyStreamError``: reset the HTTP/2 or HTTP/3 stream with this code."""

    ErrorCode: _ULONG = _ZERO


class HTTP_REQUEST_PROPERTY_SNI(CStruct):
    """``HttpRequestPropertySni``: the TLS server name (``WCHAR Hostname[256]``) and SNI flags."""

    Hostname: Annotated[str, C.wchars(_SNI_HOSTNAME_CHARS)] = _ZERO
    Flags: _ULONG = _ZERO


class HTTP_QUERY_REQUEST_QUALIFIER_TCP(CStruct):
    """Qualifier of the TCP-info request properties."""

    Freshness: _ULONGLONG = _ZERO


class TCP_INFO_v0(CStruct):
    """``HttpRequestPropertyTcpInfoV0`` (mstcpip.h): the request's TCP connection as the kernel sees it; filled
    from Linux's TCP_INFO (fields Linux does not count are 0; docs/http2.md has the mapping)."""

    # TCPSTATE: CLOSED 0, LISTEN 1, SYN_SENT 2, SYN_RCVD 3, ESTABLISHED 4, ... TIME_WAIT 10
    State: _ENUM = _ZERO
    Mss: _ULONG = _ZERO
    ConnectionTimeMs: _ULONGLONG = _ZERO
    TimestampsEnabled: _BOOLEAN = _ZERO
    RttUs: _ULONG = _ZERO
    MinRttUs: _ULONG = _ZERO
    BytesInFlight: _ULONG = _ZERO
    Cwnd: _ULONG = _ZERO
    SndWnd: _ULONG = _ZERO
    RcvWnd: _ULONG = _ZERO
    RcvBuf: _ULONG = _ZERO
    BytesOut: _ULONGLONG = _ZERO
    BytesIn: _ULONGLONG = _ZERO
    BytesReordered: _ULONG = _ZERO
    BytesRetrans: _ULONG = _ZERO
    FastRetrans: _ULONG = _ZERO
    DupAcksIn: _ULONG = _ZERO
    TimeoutEpisodes: _ULONG = _ZERO
    SynRetrans: _UCHAR = _ZERO


class TCP_INFO_v1(CStruct):
    """``HttpRequestPropertyTcpInfoV1`` (mstcpip.h): TCP_INFO_v0's fields and the send-limit statistics."""

    State: _ENUM = _ZERO
    Mss: _ULONG = _ZERO
    ConnectionTimeMs: _ULONGLONG = _ZERO
    TimestampsEnabled: _BOOLEAN = _ZERO
    RttUs: _ULONG = _ZERO
    MinRttUs: _ULONG = _ZERO
    BytesInFlight: _ULONG = _ZERO
    Cwnd: _ULONG = _ZERO
    SndWnd: _ULONG = _ZERO
    RcvWnd: _ULONG = _ZERO
    RcvBuf: _ULONG = _ZERO
    BytesOut: _ULONGLONG = _ZERO
    BytesIn: _ULONGLONG = _ZERO
    BytesReordered: _ULONG = _ZERO
    BytesRetrans: _ULONG = _ZERO
    FastRetrans: _ULONG = _ZERO
    DupAcksIn: _ULONG = _ZERO
    TimeoutEpisodes: _ULONG = _ZERO
    SynRetrans: _UCHAR = _ZERO
    SndLimTransRwin: _ULONG = _ZERO
    SndLimTimeRwin: _ULONG = _ZERO
    SndLimBytesRwin: _ULONGLONG = _ZERO
    SndLimTransCwnd: _ULONG = _ZERO
    SndLimTimeCwnd: _ULONG = _ZERO
    SndLimBytesCwnd: _ULONGLONG = _ZERO
    SndLimTransSnd: _ULONG = _ZERO
    SndLimTimeSnd: _ULONG = _ZERO
    SndLimBytesSnd: _ULONGLONG = _ZERO


class HTTP_QUERY_REQUEST_QUALIFIER_QUIC(CStruct):
    """Qualifier of the QUIC-stats request properties."""

    Freshness: _ULONGLONG = _ZERO


class HTTP_WSK_API_TIMINGS(CStruct):
    """``HttpRequestPropertyWskApiTimings``."""

    ConnectCount: _ULONGLONG = _ZERO
    ConnectSum: _ULONGLONG = _ZERO
    DisconnectCount: _ULONGLONG = _ZERO
    DisconnectSum: _ULONGLONG = _ZERO
    SendCount: _ULONGLONG = _ZERO
    SendSum: _ULONGLONG = _ZERO
    ReceiveCount: _ULONGLONG = _ZERO
    ReceiveSum: _ULONGLONG = _ZERO
    ReleaseCount: _ULONGLONG = _ZERO
    ReleaseSum: _ULONGLONG = _ZERO
    ControlSocketCount: _ULONGLONG = _ZERO
    ControlSocketSum: _ULONGLONG = _ZERO


class HTTP_QUIC_STREAM_API_TIMINGS(CStruct):
    """QUIC stream API call timings."""

    OpenCount: _ULONGLONG = _ZERO
    OpenSum: _ULONGLONG = _ZERO
    CloseCount: _ULONGLONG = _ZERO
    CloseSum: _ULONGLONG = _ZERO
    StartCount: _ULONGLONG = _ZERO
    StartSum: _ULONGLONG = _ZERO
    ShutdownCount: _ULONGLONG = _ZERO
    ShutdownSum: _ULONGLONG = _ZERO
    SendCount: _ULONGLONG = _ZERO
    SendSum: _ULONGLONG = _ZERO
    ReceiveSetEnabledCount: _ULONGLONG = _ZERO
    ReceiveSetEnabledSum: _ULONGLONG = _ZERO
    GetParamCount: _ULONGLONG = _ZERO
    GetParamSum: _ULONGLONG = _ZERO
    SetParamCount: _ULONGLONG = _ZERO
    SetParamSum: _ULONGLONG = _ZERO
    SetCallbackHandlerCount: _ULONGLONG = _ZERO
    SetCallbackHandlerSum: _ULONGLONG = _ZERO


class HTTP_QUIC_CONNECTION_API_TIMINGS(CStruct):
    """QUIC connection API call timings."""

    OpenTime: _ULONGLONG = _ZERO
    CloseTime: _ULONGLONG = _ZERO
    StartTime: _ULONGLONG = _ZERO
    ShutdownTime: _ULONGLONG = _ZERO
    SecConfigCreateTime: _ULONGLONG = _ZERO
    SecConfigDeleteTime: _ULONGLONG = _ZERO
    GetParamCount: _ULONGLONG = _ZERO
    GetParamSum: _ULONGLONG = _ZERO
    SetParamCount: _ULONGLONG = _ZERO
    SetParamSum: _ULONGLONG = _ZERO
    SetCallbackHandlerCount: _ULONGLONG = _ZERO
    SetCallbackHandlerSum: _ULONGLONG = _ZERO
    ControlStreamTimings: HTTP_QUIC_STREAM_API_TIMINGS = _ZERO


class HTTP_QUIC_API_TIMINGS(CStruct):
    """``HttpRequestPropertyQuicApiTimings``."""

    ConnectionTimings: HTTP_QUIC_CONNECTION_API_TIMINGS = _ZERO
    StreamTimings: HTTP_QUIC_STREAM_API_TIMINGS = _ZERO


class HTTP_QUIC_STREAM_REQUEST_STATS(CStruct):
    """``HttpRequestPropertyQuicStreamStats``."""

    StreamWaitStart: _ULONGLONG = _ZERO
    StreamWaitEnd: _ULONGLONG = _ZERO
    RequestHeadersCompressionStart: _ULONGLONG = _ZERO
    RequestHeadersCompressionEnd: _ULONGLONG = _ZERO
    ResponseHeadersDecompressionStart: _ULONGLONG = _ZERO
    ResponseHeadersDecompressionEnd: _ULONGLONG = _ZERO
    RequestHeadersCompressedSize: _ULONGLONG = _ZERO
    ResponseHeadersCompressedSize: _ULONGLONG = _ZERO


# --------------------------------------------------------------------------------------------------------------
# Service configuration (spec §3.9).
# --------------------------------------------------------------------------------------------------------------


class HTTP_SERVICE_CONFIG_SSL_KEY(CStruct):
    """Key of an SSL binding: an IP:port (0.0.0.0:port for all addresses)."""

    pIpPort: _PSOCKADDR = _ZERO


class HTTP_SERVICE_CONFIG_SSL_KEY_EX(CStruct):
    """Key of an extended SSL binding (address held by value in a SOCKADDR_STORAGE)."""

    IpPort: _SOCKADDR_STORAGE = _ZERO


class HTTP_SERVICE_CONFIG_SSL_SNI_KEY(CStruct):
    """Key of an SNI SSL binding: port and host name."""

    IpPort: _SOCKADDR_STORAGE = _ZERO
    Host: _PCWSTR = _ZERO


class HTTP_SERVICE_CONFIG_SSL_CCS_KEY(CStruct):
    """Key of a central-certificate-store SSL binding: the port."""

    LocalAddress: _SOCKADDR_STORAGE = _ZERO


class HTTP_SERVICE_CONFIG_SSL_PARAM(CStruct):
    """Certificate and options of an SSL binding (``AppId`` is a ``uuid.UUID``)."""

    SslHashLength: _ULONG = _ZERO
    pSslHash: _PVOID = _ZERO
    AppId: Annotated[uuid.UUID, C.GUID] = _ZERO
    pSslCertStoreName: _PCWSTR = _ZERO
    DefaultCertCheckMode: _ULONG = _ZERO
    DefaultRevocationFreshnessTime: _ULONG = _ZERO
    DefaultRevocationUrlRetrievalTimeout: _ULONG = _ZERO
    pDefaultSslCtlIdentifier: _PCWSTR = _ZERO
    pDefaultSslCtlStoreName: _PCWSTR = _ZERO
    DefaultFlags: _ULONG = _ZERO


class HTTP2_WINDOW_SIZE_PARAM(CStruct):
    """``ExParamTypeHttp2Window``."""

    Http2ReceiveWindowSize: _ULONG = _ZERO


class HTTP2_SETTINGS_LIMITS_PARAM(CStruct):
    """``ExParamTypeHttp2SettingsLimits``."""

    Http2MaxSettingsPerFrame: _ULONG = _ZERO
    Http2MaxSettingsPerMinute: _ULONG = _ZERO


class HTTP_PERFORMANCE_PARAM(CStruct):
    """``ExParamTypeHttpPerformance``: one ``PerformanceParam*`` value in ``Buffer``."""

    Type: _ENUM = _ZERO
    BufferSize: _ULONG = _ZERO
    Buffer: _PVOID = _ZERO


class HTTP_TLS_RESTRICTIONS_PARAM(CStruct):
    """``ExParamTypeTlsRestrictions``."""

    RestrictionCount: _ULONG = _ZERO
    TlsRestrictions: _PVOID = _ZERO


class HTTP_ERROR_HEADERS_PARAM(CStruct):
    """``ExParamTypeErrorHeaders``: extra headers on HTTP.sys-generated responses with this status."""

    StatusCode: _USHORT = _ZERO
    HeaderCount: _USHORT = _ZERO
    Headers: Annotated[Sequence[HTTP_UNKNOWN_HEADER] | None, C.PTR] = _ZERO


class HTTP_TLS_SESSION_TICKET_KEYS_PARAM(CStruct):
    """``ExParamTypeTlsSessionTicketKeys``."""

    SessionTicketKeyCount: _ULONG = _ZERO
    SessionTicketKeys: _PVOID = _ZERO


class HTTP_CERT_CONFIG_ENTRY(CStruct):
    """One certificate of ``ExParamTypeCertConfig``: SHA-1 hash and store name."""

    CertHash: Annotated[bytes, C.chars(_SSL_CERT_SHA_HASH_LENGTH)] = _ZERO
    CertStoreName: Annotated[str, C.wchars(_SSL_CERT_STORE_NAME_LENGTH)] = _ZERO


class HTTP_CERT_CONFIG_PARAM(CStruct):
    """``ExParamTypeCertConfig``."""

    CertConfigCount: _ULONG = _ZERO
    CertConfigs: Annotated[Sequence[HTTP_CERT_CONFIG_ENTRY] | None, C.PTR] = _ZERO


class HTTP_SERVICE_CONFIG_SSL_PARAM_EX(CStruct):
    """Extended SSL binding parameter; ``ParamType`` says which union member is meant."""

    ParamType: _ENUM = _ZERO
    Flags: _ULONGLONG = _ZERO
    Http2WindowSizeParam: Annotated[HTTP2_WINDOW_SIZE_PARAM, UNION] = _ZERO
    Http2SettingsLimitsParam: Annotated[HTTP2_SETTINGS_LIMITS_PARAM, UNION] = _ZERO
    HttpPerformanceParam: Annotated[HTTP_PERFORMANCE_PARAM, UNION] = _ZERO
    HttpTlsRestrictionsParam: Annotated[HTTP_TLS_RESTRICTIONS_PARAM, UNION] = _ZERO
    HttpErrorHeadersParam: Annotated[HTTP_ERROR_HEADERS_PARAM, UNION] = _ZERO
    HttpTlsSessionTicketKeysParam: Annotated[HTTP_TLS_SESSION_TICKET_KEYS_PARAM, UNION] = _ZERO
    HttpCertConfigParam: Annotated[HTTP_CERT_CONFIG_PARAM, UNION] = _ZERO


class HTTP_SERVICE_CONFIG_SSL_SET(CStruct):
    """``HttpServiceConfigSSLCertInfo`` record."""

    KeyDesc: HTTP_SERVICE_CONFIG_SSL_KEY = _ZERO
    ParamDesc: HTTP_SERVICE_CONFIG_SSL_PARAM = _ZERO


class HTTP_SERVICE_CONFIG_SSL_SNI_SET(CStruct):
    """``HttpServiceConfigSslSniCertInfo`` record."""

    KeyDesc: HTTP_SERVICE_CONFIG_SSL_SNI_KEY = _ZERO
    ParamDesc: HTTP_SERVICE_CONFIG_SSL_PARAM = _ZERO


class HTTP_SERVICE_CONFIG_SSL_CCS_SET(CStruct):
    """``HttpServiceConfigSslCcsCertInfo`` record."""

    KeyDesc: HTTP_SERVICE_CONFIG_SSL_CCS_KEY = _ZERO
    ParamDesc: HTTP_SERVICE_CONFIG_SSL_PARAM = _ZERO


class HTTP_SERVICE_CONFIG_SSL_SET_EX(CStruct):
    """``HttpServiceConfigSslCertInfoEx`` record."""

    KeyDesc: HTTP_SERVICE_CONFIG_SSL_KEY_EX = _ZERO
    ParamDesc: HTTP_SERVICE_CONFIG_SSL_PARAM_EX = _ZERO


class HTTP_SERVICE_CONFIG_SSL_SNI_SET_EX(CStruct):
    """``HttpServiceConfigSslSniCertInfoEx`` record."""

    KeyDesc: HTTP_SERVICE_CONFIG_SSL_SNI_KEY = _ZERO
    ParamDesc: HTTP_SERVICE_CONFIG_SSL_PARAM_EX = _ZERO


class HTTP_SERVICE_CONFIG_SSL_CCS_SET_EX(CStruct):
    """``HttpServiceConfigSslCcsCertInfoEx`` record."""

    KeyDesc: HTTP_SERVICE_CONFIG_SSL_CCS_KEY = _ZERO
    ParamDesc: HTTP_SERVICE_CONFIG_SSL_PARAM_EX = _ZERO


class HTTP_SERVICE_CONFIG_SSL_QUERY(CStruct):
    """Query of SSL records: exact key, or enumeration by ``dwToken``."""

    QueryDesc: _ENUM = _ZERO
    KeyDesc: HTTP_SERVICE_CONFIG_SSL_KEY = _ZERO
    dwToken: _ULONG = _ZERO


class HTTP_SERVICE_CONFIG_SSL_SNI_QUERY(CStruct):
    """Query of SNI SSL records."""

    QueryDesc: _ENUM = _ZERO
    KeyDesc: HTTP_SERVICE_CONFIG_SSL_SNI_KEY = _ZERO
    dwToken: _ULONG = _ZERO


class HTTP_SERVICE_CONFIG_SSL_CCS_QUERY(CStruct):
    """Query of central-certificate-store SSL records."""

    QueryDesc: _ENUM = _ZERO
    KeyDesc: HTTP_SERVICE_CONFIG_SSL_CCS_KEY = _ZERO
    dwToken: _ULONG = _ZERO


class HTTP_SERVICE_CONFIG_SSL_QUERY_EX(CStruct):
    """Query of extended SSL records for one ``ParamType``."""

    QueryDesc: _ENUM = _ZERO
    KeyDesc: HTTP_SERVICE_CONFIG_SSL_KEY_EX = _ZERO
    dwToken: _ULONG = _ZERO
    ParamType: _ENUM = _ZERO


class HTTP_SERVICE_CONFIG_SSL_SNI_QUERY_EX(CStruct):
    """Query of extended SNI SSL records for one ``ParamType``."""

    QueryDesc: _ENUM = _ZERO
    KeyDesc: HTTP_SERVICE_CONFIG_SSL_SNI_KEY = _ZERO
    dwToken: _ULONG = _ZERO
    ParamType: _ENUM = _ZERO


class HTTP_SERVICE_CONFIG_SSL_CCS_QUERY_EX(CStruct):
    """Query of extended central-certificate-store SSL records for one ``ParamType``."""

    QueryDesc: _ENUM = _ZERO
    KeyDesc: HTTP_SERVICE_CONFIG_SSL_CCS_KEY = _ZERO
    dwToken: _ULONG = _ZERO
    ParamType: _ENUM = _ZERO


class HTTP_SERVICE_CONFIG_IP_LISTEN_PARAM(CStruct):
    """``HttpServiceConfigIPListenList`` record: one address to listen on."""

    AddrLength: _USHORT = _ZERO
    pAddress: _PSOCKADDR = _ZERO


class HTTP_SERVICE_CONFIG_IP_LISTEN_QUERY(CStruct):
    """The IP listen list (``AddrList[ANYSIZE_ARRAY]``; a list of addresses, empty by default)."""

    AddrCount: _ULONG = _ZERO
    AddrList: Annotated[list[SockAddr], C.array(C.SOCKADDR_STORAGE, 1, flexible=True)] = _ZERO


class HTTP_SERVICE_CONFIG_URLACL_KEY(CStruct):
    """Key of a URL reservation: the URL prefix."""

    pUrlPrefix: _PCWSTR = _ZERO


class HTTP_SERVICE_CONFIG_URLACL_PARAM(CStruct):
    """Security descriptor (SDDL string) of a URL reservation."""

    pStringSecurityDescriptor: _PCWSTR = _ZERO


class HTTP_SERVICE_CONFIG_URLACL_SET(CStruct):
    """``HttpServiceConfigUrlAclInfo`` record."""

    KeyDesc: HTTP_SERVICE_CONFIG_URLACL_KEY = _ZERO
    ParamDesc: HTTP_SERVICE_CONFIG_URLACL_PARAM = _ZERO


class HTTP_SERVICE_CONFIG_URLACL_QUERY(CStruct):
    """Query of URL reservations: exact key, or enumeration by ``dwToken``."""

    QueryDesc: _ENUM = _ZERO
    KeyDesc: HTTP_SERVICE_CONFIG_URLACL_KEY = _ZERO
    dwToken: _ULONG = _ZERO


class HTTP_SERVICE_CONFIG_TIMEOUT_SET(CStruct):
    """``HttpServiceConfigTimeout`` record: a driver-wide timer in seconds."""

    KeyDesc: _ENUM = _ZERO
    ParamDesc: _USHORT = _ZERO


class HTTP_SERVICE_CONFIG_CACHE_SET(CStruct):
    """``HttpServiceConfigCache`` record."""

    KeyDesc: _ENUM = _ZERO
    ParamDesc: _ULONG = _ZERO


class HTTP_SERVICE_CONFIG_SETTING_SET(CStruct):
    """``HttpServiceConfigSetting`` record."""

    KeyDesc: _ENUM = _ZERO
    ParamDesc: _ULONG = _ZERO
