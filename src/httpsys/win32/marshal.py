"""Marshalling between the ``http.h`` struct classes and the plain records the transport carries.

Responsibility: read what a caller put into ``HTTP_RESPONSE``, ``HTTP_DATA_CHUNK``, ``HTTP_CACHE_POLICY``,
``HTTP_LOG_FIELDS_DATA`` and the property structures, validate it as the C API does (types, lengths, counts) and
turn it into ``ResponseSpec`` / data-chunk records / plain property values; and the other way round, write a
``RequestSnapshot`` or a queried property value into the caller's struct instance in place. Invalid input raises
an ``HttpSysError`` (``InvalidParameterError`` unless another code is documented) that the API wrapper turns into
the returned code. It must not call the transport or keep state.

Length and count fields (decision 0003): a length or count field inside a struct that is 0 is "left out" and
derived from the Python object it describes; a non-zero one must not exceed the object and is honoured (only that
many bytes / entries are used, as C reads them). ``HTTP_BYTE_RANGE`` is a range, not a length, and keeps its C
meaning. ``PCSTR`` values given as ``str`` are encoded as UTF-8; ``PCWSTR`` lengths count UTF-16 bytes.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any, Final

from httpsys._core.known_headers import split_request_headers
from httpsys._core.records import (
    CachePolicy,
    DataChunk,
    FileChunk,
    FragmentChunk,
    MemoryChunk,
    RequestSnapshot,
    TrailersChunk,
)
from httpsys._core.response import ResponseSpec, validate_trailers
from httpsys._core.status import Win32Error
from httpsys._core.timers import TimeoutLimits
from httpsys._core.verbs import VERB_UNKNOWN, verb_id
from httpsys.errors import HttpSysError, InvalidHandleError, InvalidParameterError, error_for_code

from .constants import (
    HTTP_LIMIT_INFINITE,
    HTTP_MIN_ALLOWED_BANDWIDTH_THROTTLING_RATE,
    HTTP_MIN_ALLOWED_LOG_FILE_ROLLOVER_SIZE,
    HTTP_RESPONSE_INFO_FLAGS_PRESERVE_ORDER,
    HttpAuthenticationHardeningStrict,
    HttpCachePolicyMaximum,
    HttpDataChunkFromFileHandle,
    HttpDataChunkFromFragmentCache,
    HttpDataChunkFromFragmentCacheEx,
    HttpDataChunkFromMemory,
    HttpDataChunkTrailers,
    HttpEnabledStateInactive,
    HttpHeaderResponseMaximum,
    HttpHeaderWwwAuthenticate,
    HttpLogDataTypeFields,
    HttpLoggingRolloverHourly,
    HttpLoggingRolloverSize,
    HttpLoggingTypeIIS,
    HttpLoggingTypeNCSA,
    HttpLoggingTypeRaw,
    HttpLoggingTypeW3C,
    HttpProtectionLevelEdgeRestricted,
    HttpQosSettingTypeBandwidth,
    HttpQosSettingTypeConnectionLimit,
    HttpQosSettingTypeFlowRate,
    HttpRequestInfoTypeSslProtocol,
    HttpResponseInfoTypeChannelBind,
    HttpResponseInfoTypeMultipleKnownHeaders,
    HttpServiceBindingTypeA,
    HttpServiceBindingTypeNone,
    HttpServiceBindingTypeW,
)
from .structs import (
    HTTP_BANDWIDTH_LIMIT_INFO,
    HTTP_BYTE_RANGE,
    HTTP_CACHE_POLICY,
    HTTP_CONNECTION_LIMIT_INFO,
    HTTP_COOKED_URL,
    HTTP_DATA_CHUNK,
    HTTP_DATA_CHUNK_FROM_MEMORY,
    HTTP_FLOWRATE_INFO,
    HTTP_KNOWN_HEADER,
    HTTP_LOG_DATA,
    HTTP_LOG_FIELDS_DATA,
    HTTP_MULTIPLE_KNOWN_HEADERS,
    HTTP_PROPERTY_FLAGS,
    HTTP_REQUEST_HEADERS,
    HTTP_REQUEST_INFO,
    HTTP_REQUEST_V1,
    HTTP_REQUEST_V2,
    HTTP_RESPONSE_HEADERS,
    HTTP_RESPONSE_INFO,
    HTTP_RESPONSE_V1,
    HTTP_RESPONSE_V2,
    HTTP_SERVER_AUTHENTICATION_BASIC_PARAMS,
    HTTP_SERVER_AUTHENTICATION_DIGEST_PARAMS,
    HTTP_SERVER_AUTHENTICATION_INFO,
    HTTP_SERVICE_BINDING_A,
    HTTP_SERVICE_BINDING_BASE,
    HTTP_SERVICE_BINDING_W,
    HTTP_SSL_CLIENT_CERT_INFO,
    HTTP_SSL_INFO,
    HTTP_SSL_PROTOCOL_INFO,
    HTTP_TRANSPORT_ADDRESS,
    HTTP_UNKNOWN_HEADER,
    HTTP_VERSION,
    fields_of,
    sizeof,
)

__all__ = [
    "MAX_RESPONSE_CHUNKS",
    "MAX_SEND_CHUNKS",
    "as_flag_present",
    "as_uint",
    "cache_policy",
    "data_chunk",
    "data_chunks",
    "fill_request",
    "input_buffer",
    "log_fields",
    "pcstr",
    "pcwstr",
    "response_spec",
    "scalar_input",
    "writable_buffer",
    "zero_request",
]

MAX_RESPONSE_CHUNKS: Final = 100  # HTTP_RESPONSE.EntityChunkCount
MAX_SEND_CHUNKS: Final = 9999  # HttpSendResponseEntityBody EntityChunkCount

_INTEGER_CODES: Final = frozenset("bBhHiIlLqQP")
_CArgObject: Final = type(ctypes.byref(ctypes.c_int()))


def _invalid(what: str) -> InvalidParameterError:
    return InvalidParameterError(what)


# ---------------------------------------------------------------------------------------------------------------
# Scalars, strings and buffers
# ---------------------------------------------------------------------------------------------------------------


def _integer(value: object) -> int | None:
    """An int from an int (bool and IntEnum included) or a ctypes integer scalar; None otherwise."""
    if isinstance(value, int):
        return int(value)
    if isinstance(value, ctypes._SimpleCData) and getattr(type(value), "_type_", "") in _INTEGER_CODES:
        raw = value.value
        return 0 if raw is None else int(raw)
    return None


def as_uint(value: object, bits: int, what: str) -> int:
    """An unsigned C integer of ``bits`` bits (negative values are taken as two's complement, as C does)."""
    if type(value) is int and 0 <= value < 1 << bits:  # the common case first (no bool, no ctypes)
        return value
    number = _integer(value)
    if number is None or not -(1 << (bits - 1)) <= number < (1 << bits):
        raise _invalid(f"{what} must be an integer of {bits} bits, not {value!r}")
    return number & ((1 << bits) - 1)


def as_flag_present(flags: object, what: str) -> bool:
    """``HTTP_PROPERTY_FLAGS.Present`` from an ``HTTP_PROPERTY_FLAGS`` instance or a plain int.

    The int is the ULONG the .NET interop tables write (HTTP_PROPERTY_FLAG_NONE 0, HTTP_PROPERTY_FLAG_PRESENT 1).
    Present is one bit and the other 31 are reserved: any value but 0 or 1, in either form, is invalid.
    """
    holder: Any = flags  # struct fields are read untyped: any value reaches as_uint (compiled build)
    value = holder.Present if isinstance(flags, HTTP_PROPERTY_FLAGS) else flags
    number = as_uint(value, 32, what)
    if number > 1:
        raise _invalid(
            f"{what} must be HTTP_PROPERTY_FLAG_NONE (0) or HTTP_PROPERTY_FLAG_PRESENT (1), not {value!r}"
        )
    return number == 1


def scalar_input(value: object, what: str) -> int:
    """An input pointer to a scalar: a plain int, a ctypes scalar, or ``byref``/``pointer``/array of one."""
    target: object = value
    for _ in range(3):
        if isinstance(target, _CArgObject):
            target = getattr(target, "_obj", None)
        elif isinstance(target, ctypes._Pointer):
            if not target:
                raise _invalid(f"{what} is NULL")
            target = target.contents
        elif isinstance(target, ctypes.Array) and len(target) >= 1:
            target = target[0]
        else:
            break
    if target is None:
        raise _invalid(f"{what} is NULL")
    return as_uint(target, 32, what)


def pcstr(value: object, length: object, what: str) -> bytes | None:
    """A ``PCSTR`` with its byte length: None for NULL; ``str`` is UTF-8; length 0 = the whole value."""
    if type(length) is int and type(value) is bytes and 0 <= length <= len(value):  # the common case first
        return value if length == 0 or length == len(value) else value[:length]
    if value is None and type(length) is int and length == 0:
        return None
    count = as_uint(length, 32, what + " length")
    if value is None:
        if count:
            raise _invalid(f"{what} is NULL but its length is {count}")
        return None
    if isinstance(value, str):
        data = value.encode("utf-8")
    elif isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
    elif isinstance(value, ctypes.Array) and getattr(value, "_type_", None) is ctypes.c_char:
        data = bytes(value.value)
    else:
        raise _invalid(f"{what} must be str or bytes, not {type(value).__name__}")
    if count == 0:
        return data
    if count > len(data):
        raise _invalid(f"{what} length {count} exceeds the {len(data)} bytes given")
    return data[:count]


def pcwstr(value: object, length: object, what: str) -> str | None:
    """A ``PCWSTR`` with its length in bytes of UTF-16: None for NULL; length 0 = the whole string."""
    count = as_uint(length, 32, what + " length")
    if value is None:
        if count:
            raise _invalid(f"{what} is NULL but its length is {count}")
        return None
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes | bytearray | memoryview):
        try:
            text = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid(f"{what} is not valid text") from None
    else:
        raise _invalid(f"{what} must be str, not {type(value).__name__}")
    if count == 0:
        return text
    encoded = text.encode("utf-16-le", "surrogatepass")
    if count % 2 or count > len(encoded):
        raise _invalid(f"{what} length {count} does not fit the {len(encoded)} UTF-16 bytes given")
    return encoded[:count].decode("utf-16-le", "surrogatepass")


def string_arg(value: object, what: str, *, required: bool = True) -> str | None:
    """A ``PCWSTR`` function parameter (no length): str (or UTF-8 bytes); None is NULL."""
    if value is None:
        if required:
            raise _invalid(f"{what} is NULL")
        return None
    return pcwstr(value, 0, what)


def input_buffer(value: object, what: str) -> memoryview:
    """A readable ``PVOID`` buffer as a flat byte view (bytes-like objects, ctypes arrays and structures)."""
    if isinstance(value, str):
        raise _invalid(f"{what} must be a bytes-like object, not str")
    try:
        view = memoryview(value)  # type: ignore[arg-type]
    except TypeError:
        raise _invalid(f"{what} must be a bytes-like object, not {type(value).__name__}") from None
    return _flat(view, what)


def writable_buffer(value: object, what: str) -> memoryview:
    """A writable ``PVOID`` buffer (bytearray, writable memoryview, ctypes array) as a flat byte view."""
    try:
        view = memoryview(value)  # type: ignore[arg-type]
    except TypeError:
        raise _invalid(f"{what} must be a writable buffer, not {type(value).__name__}") from None
    if view.readonly:
        raise _invalid(f"{what} is read-only")
    return _flat(view, what)


def _flat(view: memoryview, what: str) -> memoryview:
    if view.format == "B" and view.ndim == 1:
        return view
    try:
        return view.cast("B")
    except TypeError:
        raise _invalid(f"{what} must be a contiguous buffer") from None


def counted(items: object, count: object, what: str, limit: int | None = None) -> list[Any]:
    """A struct's pointer-to-array with its count field: count 0 = every entry given, else the first ``count``.

    A single struct instance stands for a one-element array.
    """
    number = as_uint(count, 32, what + " count")
    if items is None:
        if number:
            raise _invalid(f"{what} is NULL but its count is {number}")
        return []
    # a list first (no ABC check)
    if type(items) is list or (
        isinstance(items, Sequence) and not isinstance(items, str | bytes | bytearray)
    ):
        seq = list(items)
    elif hasattr(type(items), "_c_fields_"):
        seq = [items]
    else:
        raise _invalid(f"{what} must be a sequence, not {type(items).__name__}")
    if number:
        if number > len(seq):
            raise _invalid(f"{what} count {number} exceeds the {len(seq)} entries given")
        seq = seq[:number]
    if limit is not None and len(seq) > limit:
        raise _invalid(f"{what}: {len(seq)} entries, at most {limit} allowed")
    return seq


def exact_array(items: object, count: object, what: str, limit: int) -> list[Any]:
    """A function parameter array with its count parameter, as C reads it: exactly ``count`` entries."""
    number = as_uint(count, 32, what + " count")
    if number > limit:
        raise _invalid(f"{what} count {number} exceeds {limit}")
    if number == 0:
        return []
    if items is None:
        raise _invalid(f"{what} is NULL but its count is {number}")
    if type(items) is list:  # the common case first (no ABC check)
        seq = items
    elif isinstance(items, Sequence) and not isinstance(items, str | bytes | bytearray):
        seq = list(items)
    elif hasattr(type(items), "_c_fields_"):
        seq = [items]
    else:
        raise _invalid(f"{what} must be a sequence, not {type(items).__name__}")
    if number > len(seq):
        raise _invalid(f"{what} count {number} exceeds the {len(seq)} entries given")
    return seq[:number]


# ---------------------------------------------------------------------------------------------------------------
# Data chunks, cache policy, log data
# ---------------------------------------------------------------------------------------------------------------


def _file_descriptor(handle: object) -> int:
    if isinstance(handle, bool):
        raise InvalidHandleError("FileHandle must be a file descriptor")
    number = _integer(handle)
    if number is None:
        fileno = getattr(handle, "fileno", None)
        if fileno is None or not callable(fileno):
            raise _invalid("FileHandle must be a file descriptor or an object with fileno()")
        try:
            number = int(fileno())
        except Exception:
            raise InvalidHandleError("FileHandle.fileno() failed") from None
    if number < 0:
        raise InvalidHandleError("FileHandle is not an open file descriptor")
    return number


def _byte_range(value: object, what: str) -> tuple[int, int]:
    if not isinstance(value, HTTP_BYTE_RANGE):
        raise _invalid(f"{what} must be an HTTP_BYTE_RANGE")
    byte_range: Any = value
    return as_uint(byte_range.StartingOffset, 64, what), as_uint(byte_range.Length, 64, what)


def unknown_headers(items: list[Any], what: str) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    for entry in items:
        if not isinstance(entry, HTTP_UNKNOWN_HEADER):
            raise _invalid(f"{what} entries must be HTTP_UNKNOWN_HEADER")
        item: Any = entry
        name = pcstr(item.pName, item.NameLength, what + " pName")
        if not name:
            raise _invalid(f"{what}: an unknown header needs a name")
        value = pcstr(item.pRawValue, item.RawValueLength, what + " pRawValue") or b""
        out.append((name, value))
    return out


def data_chunk(value: object) -> DataChunk:
    """One ``HTTP_DATA_CHUNK`` as a plain record."""
    if not isinstance(value, HTTP_DATA_CHUNK):
        raise _invalid("a data chunk must be an HTTP_DATA_CHUNK")
    chunk: Any = value
    kind = as_uint(chunk.DataChunkType, 32, "DataChunkType")
    if kind == HttpDataChunkFromMemory:
        if not isinstance(chunk.FromMemory, HTTP_DATA_CHUNK_FROM_MEMORY):
            raise _invalid("FromMemory must be an HTTP_DATA_CHUNK_FROM_MEMORY")
        memory: Any = chunk.FromMemory
        length = as_uint(memory.BufferLength, 32, "BufferLength")
        if memory.pBuffer is None:
            if length:
                raise _invalid("pBuffer is NULL but BufferLength is not 0")
            return MemoryChunk(b"")
        if isinstance(memory.pBuffer, bytes) and (length == 0 or length == len(memory.pBuffer)):
            return MemoryChunk(memory.pBuffer)
        view = input_buffer(memory.pBuffer, "pBuffer")
        if length > len(view):
            raise _invalid(f"BufferLength {length} exceeds the {len(view)} bytes of pBuffer")
        return MemoryChunk(view if length == 0 else view[:length])
    if kind == HttpDataChunkFromFileHandle:
        part = chunk.FromFileHandle
        offset, count = _byte_range(part.ByteRange, "ByteRange")
        return FileChunk(_file_descriptor(part.FileHandle), offset, count)
    if kind == HttpDataChunkFromFragmentCache:
        fragment = chunk.FromFragmentCache
        name = pcwstr(fragment.pFragmentName, fragment.FragmentNameLength, "pFragmentName")
        if not name:
            raise _invalid("pFragmentName is required")
        return FragmentChunk(name)
    if kind == HttpDataChunkFromFragmentCacheEx:
        fragment_ex = chunk.FromFragmentCacheEx
        offset, count = _byte_range(fragment_ex.ByteRange, "ByteRange")
        name = pcwstr(fragment_ex.pFragmentName, 0, "pFragmentName")
        if not name:
            raise _invalid("pFragmentName is required")
        return FragmentChunk(name, offset, count)
    if kind == HttpDataChunkTrailers:
        trailers = chunk.Trailers
        fields = unknown_headers(counted(trailers.pTrailers, trailers.TrailerCount, "pTrailers"), "pTrailers")
        if validate_trailers(fields) != Win32Error.NO_ERROR:
            raise _invalid("a trailer field is not allowed")
        return TrailersChunk(tuple(fields))
    raise _invalid(f"unknown DataChunkType {kind}")


def data_chunks(chunks: list[Any]) -> list[DataChunk]:
    return [data_chunk(chunk) for chunk in chunks]


def cache_policy(value: object, *, required: bool = False) -> CachePolicy | None:
    """``HTTP_CACHE_POLICY`` as a ``CachePolicy`` record (None for NULL unless required)."""
    if value is None:
        if required:
            raise _invalid("CachePolicy is required")
        return None
    if not isinstance(value, HTTP_CACHE_POLICY):
        raise _invalid("CachePolicy must be an HTTP_CACHE_POLICY")
    struct: Any = value
    policy = as_uint(struct.Policy, 32, "Policy")
    if policy >= HttpCachePolicyMaximum:
        raise _invalid(f"unknown cache policy {policy}")
    return CachePolicy(policy, as_uint(struct.SecondsToLive, 32, "SecondsToLive"))


_LOG_WIDE: Final = ("UserName", "UriStem")
_LOG_NARROW: Final = (
    "ClientIp",
    "ServerName",
    "ServiceName",
    "ServerIp",
    "Method",
    "UriQuery",
    "Host",
    "UserAgent",
    "Cookie",
    "Referrer",
)
_LOG_NUMBERS: Final = (
    ("ServerPort", 16),
    ("ProtocolStatus", 16),
    ("Win32Status", 32),
    ("MethodNum", 32),
    ("SubStatus", 16),
)


def log_fields(value: object) -> dict[str, object] | None:
    """``HTTP_LOG_FIELDS_DATA`` as a plain dict (text fields left NULL/empty are omitted, numbers are all kept:
    the log formatter reads ServerPort 0 as unset); None for NULL."""
    if value is None:
        return None
    if isinstance(value, HTTP_LOG_DATA) or not isinstance(value, HTTP_LOG_FIELDS_DATA):
        raise _invalid("LogData must be an HTTP_LOG_FIELDS_DATA")
    fields: Any = value
    base: Any = fields.Base  # read through this name: a narrowed `fields.Base.Type` would be a typed read
    if not isinstance(fields.Base, HTTP_LOG_DATA) or as_uint(base.Type, 32, "Type") != HttpLogDataTypeFields:
        raise _invalid("LogData.Base.Type must be HttpLogDataTypeFields")
    out: dict[str, object] = {}
    for name in _LOG_WIDE:
        text = pcwstr(getattr(value, name), getattr(value, name + "Length"), name)
        if text:
            out[name] = text
    for name in _LOG_NARROW:
        data = pcstr(getattr(value, name), getattr(value, name + "Length"), name)
        if data:
            out[name] = data
    for name, bits in _LOG_NUMBERS:
        out[name] = as_uint(getattr(value, name), bits, name)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------------------------------------------

_AUTH_SCHEME_ORDER: Final = {b"negotiate": 0, b"ntlm": 1, b"digest": 2, b"basic": 3}


def _auth_rank(value: bytes) -> int:
    scheme = value.split(b" ", 1)[0].strip().lower()
    return _AUTH_SCHEME_ORDER.get(scheme, len(_AUTH_SCHEME_ORDER))


def response_spec(response: object) -> tuple[ResponseSpec, list[DataChunk]]:
    """``HTTP_RESPONSE_V1``/``V2`` as (ResponseSpec, entity data chunks)."""
    if not isinstance(response, HTTP_RESPONSE_V1):
        raise _invalid("HttpResponse must be an HTTP_RESPONSE_V1 or HTTP_RESPONSE_V2")
    # Every struct field is read through an untyped name (here and throughout): the compiled build checks a typed
    # read, and a field holds whatever the caller put there (a ctypes integer, an int subclass, a bytearray).
    struct: Any = response
    flags = as_uint(struct.Flags, 32, "Flags")
    if flags & ~0x3:
        raise _invalid(f"unknown HTTP_RESPONSE flags {flags:#x}")
    if not isinstance(struct.Version, HTTP_VERSION):
        raise _invalid("Version must be an HTTP_VERSION")
    status = as_uint(struct.StatusCode, 16, "StatusCode")
    reason = pcstr(struct.pReason, struct.ReasonLength, "pReason") or b""
    if not isinstance(struct.Headers, HTTP_RESPONSE_HEADERS):
        raise _invalid("Headers must be an HTTP_RESPONSE_HEADERS")
    headers: Any = struct.Headers
    if as_uint(headers.TrailerCount, 16, "TrailerCount") or headers.pTrailers is not None:
        raise _invalid("HTTP_RESPONSE_HEADERS.TrailerCount/pTrailers are reserved")
    known: dict[int, list[bytes]] = {}
    table: Any = headers.KnownHeaders
    if type(table) is not list and (not isinstance(table, Sequence) or isinstance(table, str | bytes)):
        raise _invalid("KnownHeaders must be a sequence of HTTP_KNOWN_HEADER")
    for index, entry in enumerate(table):
        if entry is None:
            continue
        if entry.__class__ is not HTTP_KNOWN_HEADER and not isinstance(entry, HTTP_KNOWN_HEADER):
            raise _invalid("KnownHeaders entries must be HTTP_KNOWN_HEADER")
        header: Any = entry
        raw, length = header.pRawValue, header.RawValueLength
        if raw is None and type(length) is int and length == 0:
            continue  # absent (the common case: most of the table)
        value = pcstr(raw, length, f"KnownHeaders[{index}]")
        if not value:
            continue  # a known header of length 0 is absent
        if index >= HttpHeaderResponseMaximum:
            raise _invalid(f"KnownHeaders[{index}] is outside the response header table")
        known[index] = [value]
    unknown = unknown_headers(
        counted(headers.pUnknownHeaders, headers.UnknownHeaderCount, "pUnknownHeaders"), "pUnknownHeaders"
    )
    chunks = data_chunks(
        counted(struct.pEntityChunks, struct.EntityChunkCount, "pEntityChunks", MAX_RESPONSE_CHUNKS)
    )
    if isinstance(response, HTTP_RESPONSE_V2):
        _response_info(struct, known)
    return ResponseSpec(status=status, reason=reason, known=known, unknown=unknown, flags=flags), chunks


def _response_info(response: Any, known: dict[int, list[bytes]]) -> None:
    infos = counted(response.pResponseInfo, response.ResponseInfoCount, "pResponseInfo")
    reorder: set[int] = set()
    for entry in infos:
        if not isinstance(entry, HTTP_RESPONSE_INFO):
            raise _invalid("pResponseInfo entries must be HTTP_RESPONSE_INFO")
        info: Any = entry
        kind = as_uint(info.Type, 32, "Type")
        if kind == HttpResponseInfoTypeMultipleKnownHeaders:
            if not isinstance(info.pInfo, HTTP_MULTIPLE_KNOWN_HEADERS):
                raise _invalid("pInfo must be an HTTP_MULTIPLE_KNOWN_HEADERS")
            multiple: Any = info.pInfo
            header_id = as_uint(multiple.HeaderId, 32, "HeaderId")
            if header_id >= HttpHeaderResponseMaximum:
                raise _invalid(f"HeaderId {header_id} is outside the response header table")
            entries = counted(multiple.KnownHeaders, multiple.KnownHeaderCount, "KnownHeaders")
            values = known.setdefault(header_id, [])
            for item in entries:
                if not isinstance(item, HTTP_KNOWN_HEADER):
                    raise _invalid("HTTP_MULTIPLE_KNOWN_HEADERS entries must be HTTP_KNOWN_HEADER")
                known_header: Any = item
                value = pcstr(known_header.pRawValue, known_header.RawValueLength, "KnownHeaders")
                if value:
                    values.append(value)
            if not values:
                del known[header_id]
            flags = as_uint(multiple.Flags, 32, "Flags")
            if header_id == HttpHeaderWwwAuthenticate and not flags & HTTP_RESPONSE_INFO_FLAGS_PRESERVE_ORDER:
                reorder.add(header_id)
        elif kind > HttpResponseInfoTypeChannelBind:
            raise _invalid(f"unknown HTTP_RESPONSE_INFO type {kind}")
        # Authentication, QoS and channel-bind response info are accepted and have no effect yet.
    for header_id in reorder:
        if header_id in known:
            known[header_id].sort(key=_auth_rank)


# ---------------------------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------------------------


def zero_request(request: Any) -> None:
    """Reset every field of the caller's HTTP_REQUEST to its C zero value."""
    fresh = type(request)()
    for field in fields_of(request):
        setattr(request, field.name, getattr(fresh, field.name))


def _utf16_bytes(text: str) -> int:
    if text.isascii():
        return 2 * len(text)
    return len(text.encode("utf-16-le", "surrogatepass"))


def fill_request(request: Any, snap: RequestSnapshot) -> None:
    """Write a received request into the caller's ``HTTP_REQUEST_V1``/``V2`` instance, every field."""
    request.Flags = snap.flags
    request.ConnectionId = snap.connection_id
    request.RequestId = snap.request_id
    request.UrlContext = snap.url_context
    request.Version = HTTP_VERSION(snap.version[0], snap.version[1])
    verb = verb_id(snap.method)
    request.Verb = verb
    if verb == VERB_UNKNOWN:
        request.UnknownVerbLength = len(snap.method)
        request.pUnknownVerb = snap.method
    else:
        request.UnknownVerbLength = 0
        request.pUnknownVerb = None
    request.RawUrlLength = len(snap.raw_url)
    request.pRawUrl = snap.raw_url
    full = snap.full_url
    host_at = full.find(snap.host) if snap.host else -1
    host = full[host_at : host_at + len(snap.host)] if host_at >= 0 else snap.host
    request.CookedUrl = HTTP_COOKED_URL(
        FullUrlLength=_utf16_bytes(full),
        HostLength=_utf16_bytes(host),
        AbsPathLength=_utf16_bytes(snap.abs_path),
        QueryStringLength=_utf16_bytes(snap.query),
        pFullUrl=full,
        pHost=host,
        pAbsPath=snap.abs_path,
        pQueryString=snap.query or None,
    )
    # The addresses, the 41-entry known-header table and the unknown-header entries are built when first read
    # (decision 0023, amendment 3); the header split is done now, so UnknownHeaderCount is exact.
    request.Address = HTTP_TRANSPORT_ADDRESS.received(snap.remote_addr, snap.local_addr, snap.ipv6)
    known, unknown = split_request_headers(snap.headers)
    request.Headers = HTTP_REQUEST_HEADERS.received(known, unknown)
    request.BytesReceived = snap.bytes_received
    if snap.entity:
        request.EntityChunkCount = 1
        request.pEntityChunks = [
            HTTP_DATA_CHUNK(
                DataChunkType=HttpDataChunkFromMemory,
                FromMemory=HTTP_DATA_CHUNK_FROM_MEMORY(pBuffer=snap.entity, BufferLength=len(snap.entity)),
            )
        ]
    else:
        request.EntityChunkCount = 0
        request.pEntityChunks = None
    request.RawConnectionId = snap.raw_connection_id
    tls: Any = snap.extra.get("tls") if snap.extra else None
    request.pSslInfo = ssl_info(tls) if isinstance(tls, dict) else None
    if isinstance(request, HTTP_REQUEST_V2):
        if isinstance(tls, dict):
            request.RequestInfoCount = 1
            request.pRequestInfo = [
                HTTP_REQUEST_INFO(
                    InfoType=HttpRequestInfoTypeSslProtocol,
                    InfoLength=sizeof(HTTP_SSL_PROTOCOL_INFO),
                    pInfo=HTTP_SSL_PROTOCOL_INFO(
                        Protocol=tls["protocol"],
                        CipherType=tls["cipher_type"],
                        CipherStrength=tls["cipher_strength"],
                        HashType=tls["hash_type"],
                        HashStrength=tls["hash_strength"],
                        KeyExchangeType=tls["key_exchange_type"],
                        KeyExchangeStrength=tls["key_exchange_strength"],
                    ),
                )
            ]
        else:
            request.RequestInfoCount = 0
            request.pRequestInfo = None


def ssl_info(tls: dict[str, Any]) -> HTTP_SSL_INFO:
    """HTTP_REQUEST.pSslInfo from a request's TLS facts (decision 0021)."""
    issuer = str(tls["server_cert_issuer"]).encode()
    subject = str(tls["server_cert_subject"]).encode()
    cert = bytes(tls["client_cert"] or b"")
    return HTTP_SSL_INFO(
        ServerCertKeySize=tls["server_cert_key_size"],
        ConnectionKeySize=tls["connection_key_size"],
        ServerCertIssuerSize=len(issuer),
        ServerCertSubjectSize=len(subject),
        pServerCertIssuer=issuer,
        pServerCertSubject=subject,
        pClientCertInfo=(
            HTTP_SSL_CLIENT_CERT_INFO(
                CertFlags=tls["client_cert_flags"], CertEncodedSize=len(cert), pCertEncoded=cert
            )
            if cert
            else None
        ),
        SslClientCertNegotiated=1 if tls["client_cert_negotiated"] else 0,
    )


def request_buffer(value: object) -> tuple[HTTP_REQUEST_V1, bool]:
    """The caller's request buffer and whether it is the V2 layout."""
    if not isinstance(value, HTTP_REQUEST_V1):
        raise _invalid("RequestBuffer must be an HTTP_REQUEST_V2 or HTTP_REQUEST_V1 instance")
    return value, isinstance(value, HTTP_REQUEST_V2)


# ---------------------------------------------------------------------------------------------------------------
# Server-session and URL-group properties (HttpSet/Query{ServerSession,UrlGroup}Property)
# ---------------------------------------------------------------------------------------------------------------


def _ushort_field(value: object, what: str) -> int:
    return as_uint(value, 16, what)


def timeouts_value(info: Any) -> TimeoutLimits | None:
    if not as_flag_present(info.Flags, "Flags"):
        return None
    return TimeoutLimits(
        entity_body=_ushort_field(info.EntityBody, "EntityBody"),
        drain_entity_body=_ushort_field(info.DrainEntityBody, "DrainEntityBody"),
        request_queue=_ushort_field(info.RequestQueue, "RequestQueue"),
        idle_connection=_ushort_field(info.IdleConnection, "IdleConnection"),
        header_wait=_ushort_field(info.HeaderWait, "HeaderWait"),
        min_send_rate=as_uint(info.MinSendRate, 32, "MinSendRate"),
    )


def fill_timeouts(info: Any, value: object) -> None:
    limits = value if isinstance(value, TimeoutLimits) else TimeoutLimits()
    info.Flags = HTTP_PROPERTY_FLAGS(1)
    info.EntityBody = limits.entity_body
    info.DrainEntityBody = limits.drain_entity_body
    info.RequestQueue = limits.request_queue
    info.IdleConnection = limits.idle_connection
    info.HeaderWait = limits.header_wait
    info.MinSendRate = limits.min_send_rate


def state_value(info: Any) -> bool:
    if not as_flag_present(info.Flags, "Flags"):
        return True  # not set here: active (the default)
    state = as_uint(info.State, 32, "State")
    if state > HttpEnabledStateInactive:
        raise _invalid(f"unknown HTTP_ENABLED_STATE {state}")
    return state != HttpEnabledStateInactive


def fill_state(info: Any, value: object) -> None:
    info.Flags = HTTP_PROPERTY_FLAGS(1)
    info.State = 0 if value is not False else HttpEnabledStateInactive


def qos_value(info: Any) -> tuple[int, object]:
    kind = as_uint(info.QosType, 32, "QosType")
    setting: Any = info.QosSetting
    if kind == HttpQosSettingTypeBandwidth:
        if not isinstance(info.QosSetting, HTTP_BANDWIDTH_LIMIT_INFO):
            raise _invalid("QosSetting must be an HTTP_BANDWIDTH_LIMIT_INFO")
        if not as_flag_present(setting.Flags, "Flags"):
            return kind, None
        rate = as_uint(setting.MaxBandwidth, 32, "MaxBandwidth")
        if rate != HTTP_LIMIT_INFINITE and rate < HTTP_MIN_ALLOWED_BANDWIDTH_THROTTLING_RATE:
            raise _invalid(f"MaxBandwidth {rate} is below {HTTP_MIN_ALLOWED_BANDWIDTH_THROTTLING_RATE}")
        return kind, rate
    if kind == HttpQosSettingTypeConnectionLimit:
        if not isinstance(info.QosSetting, HTTP_CONNECTION_LIMIT_INFO):
            raise _invalid("QosSetting must be an HTTP_CONNECTION_LIMIT_INFO")
        if not as_flag_present(setting.Flags, "Flags"):
            return kind, None
        return kind, as_uint(setting.MaxConnections, 32, "MaxConnections")
    if kind == HttpQosSettingTypeFlowRate:
        if not isinstance(info.QosSetting, HTTP_FLOWRATE_INFO):
            raise _invalid("QosSetting must be an HTTP_FLOWRATE_INFO")
        if not as_flag_present(setting.Flags, "Flags"):
            return kind, None
        return kind, (
            as_uint(setting.MaxBandwidth, 32, "MaxBandwidth"),
            as_uint(setting.MaxPeakBandwidth, 32, "MaxPeakBandwidth"),
            as_uint(setting.BurstSize, 32, "BurstSize"),
        )
    raise _invalid(f"unknown QosType {kind}")


def fill_qos(info: Any, value: object) -> None:
    """The driver answers (max_bandwidth, max_connections); the caller named the kind in QosType."""
    kind = as_uint(info.QosType, 32, "QosType")
    bandwidth, connections = value if isinstance(value, tuple) and len(value) == 2 else (None, None)
    if kind == HttpQosSettingTypeBandwidth:
        setting = info.QosSetting
        if not isinstance(setting, HTTP_BANDWIDTH_LIMIT_INFO):
            setting = info.QosSetting = HTTP_BANDWIDTH_LIMIT_INFO()
        setting.Flags = HTTP_PROPERTY_FLAGS(0 if bandwidth is None else 1)
        setting.MaxBandwidth = HTTP_LIMIT_INFINITE if bandwidth is None else int(bandwidth)
    elif kind == HttpQosSettingTypeConnectionLimit:
        limit = info.QosSetting
        if not isinstance(limit, HTTP_CONNECTION_LIMIT_INFO):
            limit = info.QosSetting = HTTP_CONNECTION_LIMIT_INFO()
        limit.Flags = HTTP_PROPERTY_FLAGS(0 if connections is None else 1)
        limit.MaxConnections = HTTP_LIMIT_INFINITE if connections is None else int(connections)
    else:
        raise _invalid(f"QosType {kind} cannot be queried")


def logging_value(info: Any, *, session: bool) -> dict[str, object] | None:
    """HTTP_LOGGING_INFO as a plain dict (stored by the driver; logging itself is not implemented yet)."""
    if not as_flag_present(info.Flags, "Flags"):
        return None
    flags = as_uint(info.LoggingFlags, 32, "LoggingFlags")
    if flags & ~0xF or (flags & 0x4 and flags & 0x8):
        raise _invalid("LoggingFlags: unknown bits, or LOG_ERRORS_ONLY with LOG_SUCCESS_ONLY")
    software = pcwstr(info.SoftwareName, info.SoftwareNameLength, "SoftwareName")
    if software is not None and _utf16_bytes(software) > 260 * 2:
        raise _invalid("SoftwareName is longer than MAX_PATH")
    directory = pcwstr(info.DirectoryName, info.DirectoryNameLength, "DirectoryName")
    if not directory or _utf16_bytes(directory) > 424:
        raise _invalid("DirectoryName is required and at most 424 bytes")
    fmt = as_uint(info.Format, 32, "Format")
    allowed = (
        (HttpLoggingTypeW3C, HttpLoggingTypeRaw)
        if session
        else (HttpLoggingTypeW3C, HttpLoggingTypeIIS, HttpLoggingTypeNCSA)
    )
    if fmt not in allowed:
        raise _invalid(f"logging Format {fmt} is not allowed here")
    if info.pExtFields is not None or as_uint(info.NumOfExtFields, 16, "NumOfExtFields"):
        raise _invalid("pExtFields/NumOfExtFields are reserved")
    if as_uint(info.MaxRecordSize, 16, "MaxRecordSize"):
        raise _invalid("MaxRecordSize is reserved")
    rollover = as_uint(info.RolloverType, 32, "RolloverType")
    if rollover > HttpLoggingRolloverHourly:
        raise _invalid(f"unknown RolloverType {rollover}")
    size = as_uint(info.RolloverSize, 32, "RolloverSize")
    if rollover == HttpLoggingRolloverSize:
        if size != HTTP_LIMIT_INFINITE and size < HTTP_MIN_ALLOWED_LOG_FILE_ROLLOVER_SIZE:
            raise _invalid("RolloverSize is below HTTP_MIN_ALLOWED_LOG_FILE_ROLLOVER_SIZE")
    elif size:
        raise _invalid("RolloverSize is only used with HttpLoggingRolloverSize")
    return {
        "logging_flags": flags,
        "software_name": software,
        "directory": directory,
        "format": fmt,
        "fields": as_uint(info.Fields, 32, "Fields"),
        "rollover_type": rollover,
        "rollover_size": size,
        "security_descriptor": None
        if info.pSecurityDescriptor is None
        else bytes(input_buffer(info.pSecurityDescriptor, "pSecurityDescriptor")),
    }


def authentication_value(info: Any) -> dict[str, object] | None:
    if not as_flag_present(info.Flags, "Flags"):
        return None
    schemes = as_uint(info.AuthSchemes, 32, "AuthSchemes")
    if schemes & ~0x1F:
        raise _invalid(f"unknown AuthSchemes bits {schemes:#x}")
    ex_flags = as_uint(info.ExFlags, 8, "ExFlags")
    if ex_flags & ~0x3:
        raise _invalid(f"unknown ExFlags bits {ex_flags:#x}")
    if not isinstance(info.DigestParams, HTTP_SERVER_AUTHENTICATION_DIGEST_PARAMS) or not isinstance(
        info.BasicParams, HTTP_SERVER_AUTHENTICATION_BASIC_PARAMS
    ):
        raise _invalid("DigestParams/BasicParams have the wrong type")
    digest: Any = info.DigestParams
    basic: Any = info.BasicParams
    return {
        "auth_schemes": schemes,
        "receive_mutual_auth": bool(as_uint(info.ReceiveMutualAuth, 8, "ReceiveMutualAuth")),
        "receive_context_handle": bool(as_uint(info.ReceiveContextHandle, 8, "ReceiveContextHandle")),
        "disable_ntlm_credential_caching": bool(
            as_uint(info.DisableNTLMCredentialCaching, 8, "DisableNTLMCredentialCaching")
        ),
        "ex_flags": ex_flags,
        "digest_domain": pcwstr(digest.DomainName, digest.DomainNameLength, "DomainName"),
        "digest_realm": pcwstr(digest.Realm, digest.RealmLength, "Realm"),
        "basic_realm": pcwstr(basic.Realm, basic.RealmLength, "Realm"),
    }


def fill_authentication(info: Any, value: object) -> None:
    stored = value if isinstance(value, dict) else None
    if stored is None:
        fresh = HTTP_SERVER_AUTHENTICATION_INFO()
        for field in fields_of(fresh):
            setattr(info, field.name, getattr(fresh, field.name))
        return
    info.Flags = HTTP_PROPERTY_FLAGS(1)
    info.AuthSchemes = int(stored["auth_schemes"])
    info.ReceiveMutualAuth = int(bool(stored["receive_mutual_auth"]))
    info.ReceiveContextHandle = int(bool(stored["receive_context_handle"]))
    info.DisableNTLMCredentialCaching = int(bool(stored["disable_ntlm_credential_caching"]))
    info.ExFlags = int(stored["ex_flags"])
    domain, realm, basic = stored["digest_domain"], stored["digest_realm"], stored["basic_realm"]
    info.DigestParams = HTTP_SERVER_AUTHENTICATION_DIGEST_PARAMS(
        _utf16_bytes(domain) if isinstance(domain, str) else 0,
        domain,
        _utf16_bytes(realm) if isinstance(realm, str) else 0,
        realm,
    )
    info.BasicParams = HTTP_SERVER_AUTHENTICATION_BASIC_PARAMS(
        _utf16_bytes(basic) if isinstance(basic, str) else 0, basic
    )


def channel_bind_value(info: Any) -> dict[str, object]:
    hardening = as_uint(info.Hardening, 32, "Hardening")
    if hardening > HttpAuthenticationHardeningStrict:
        raise _invalid(f"unknown Hardening {hardening}")
    flags = as_uint(info.Flags, 32, "Flags")
    if flags & ~0x3F:
        raise _invalid(f"unknown channel-bind flags {flags:#x}")
    names: list[tuple[int, str | bytes]] = []
    entry: Any
    for entry in counted(info.ServiceNames, info.NumberOfServiceNames, "ServiceNames"):
        binding: Any = entry
        if isinstance(entry, HTTP_SERVICE_BINDING_W):
            text = pcwstr(binding.Buffer, binding.BufferSize, "Buffer")
            names.append((HttpServiceBindingTypeW, text or ""))
        elif isinstance(entry, HTTP_SERVICE_BINDING_A):
            data = pcstr(binding.Buffer, binding.BufferSize, "Buffer")
            names.append((HttpServiceBindingTypeA, data or b""))
        elif isinstance(entry, HTTP_SERVICE_BINDING_BASE) and binding.Type == HttpServiceBindingTypeNone:
            names.append((HttpServiceBindingTypeNone, ""))
        else:
            raise _invalid("ServiceNames entries must be HTTP_SERVICE_BINDING_W/A")
    return {"hardening": hardening, "flags": flags, "service_names": names}


def fill_channel_bind(info: Any, value: object) -> None:
    stored: dict[str, Any] = (
        value if isinstance(value, dict) else {"hardening": 0, "flags": 0, "service_names": []}
    )
    info.Hardening = int(stored["hardening"])
    info.Flags = int(stored["flags"])
    bindings: list[HTTP_SERVICE_BINDING_BASE | HTTP_SERVICE_BINDING_A | HTTP_SERVICE_BINDING_W] = []
    names = stored["service_names"]
    assert isinstance(names, list)
    for kind, name in names:
        if kind == HttpServiceBindingTypeW and isinstance(name, str):
            bindings.append(HTTP_SERVICE_BINDING_W(HTTP_SERVICE_BINDING_BASE(kind), name, _utf16_bytes(name)))
        elif kind == HttpServiceBindingTypeA and isinstance(name, bytes):
            bindings.append(HTTP_SERVICE_BINDING_A(HTTP_SERVICE_BINDING_BASE(kind), name, len(name)))
        else:
            bindings.append(HTTP_SERVICE_BINDING_BASE(HttpServiceBindingTypeNone))
    info.ServiceNames = bindings or None
    info.NumberOfServiceNames = len(bindings)


def listen_endpoint_value(info: Any) -> dict[str, object] | None:
    if not as_flag_present(info.Flags, "Flags"):
        return None
    return {"enable_sharing": bool(as_uint(info.EnableSharing, 8, "EnableSharing"))}


def fill_listen_endpoint(info: Any, value: object) -> None:
    info.Flags = HTTP_PROPERTY_FLAGS(1 if isinstance(value, dict) else 0)
    info.EnableSharing = int(bool(value["enable_sharing"])) if isinstance(value, dict) else 0


def protection_level_value(info: Any) -> dict[str, object] | None:
    if not as_flag_present(info.Flags, "Flags"):
        return None
    level = as_uint(info.Level, 32, "Level")
    if level > HttpProtectionLevelEdgeRestricted:
        raise _invalid(f"protection level {level} is not supported")
    return {"level": level}


def fill_protection_level(info: Any, value: object) -> None:
    info.Flags = HTTP_PROPERTY_FLAGS(1 if isinstance(value, dict) else 0)
    info.Level = int(value["level"]) if isinstance(value, dict) else 0


def raise_code(code: int, what: str = "") -> HttpSysError:
    """An exception carrying ``code`` (for codes other than ERROR_INVALID_PARAMETER)."""
    return error_for_code(code, what or None)
