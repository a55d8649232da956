"""httpsys.win32.structs and httpsys.win32.constants: x64 sizes, construction, defaults, names and values."""

from __future__ import annotations

import copy
import ctypes
import enum
import inspect
import pickle
import socket
import uuid
from typing import Any

import pytest

from httpsys._core import layout
from httpsys._core.status import Win32Error
from httpsys.win32 import constants, structs
from httpsys.win32.constants import *
from httpsys.win32.structs import *
from httpsys.win32.structs import CArray, CBytes, COpaque, CPointer, CScalar, CStruct, fields_of

STRUCT_CLASSES = sorted(
    {obj for obj in vars(structs).values() if isinstance(obj, type) and issubclass(obj, CStruct)} - {CStruct},
    key=lambda cls: cls.__name__,
)


# ----------------------------------------------------------------------------------------------- x64 sizes


@pytest.mark.parametrize(
    ("struct", "size"),
    [
        (HTTP_BINDING_INFO, 16),
        (HTTP_TIMEOUT_LIMIT_INFO, 20),
        (HTTP_LOGGING_INFO, 72),
        (HTTP_REQUEST_V2, 864),
        (HTTP_REQUEST_V1, 848),
        (HTTP_DATA_CHUNK, 32),
        (HTTP_RESPONSE_V1, 552),
        (HTTP_RESPONSE_V2, 568),
        (HTTP_KNOWN_HEADER, 16),
        (HTTP_UNKNOWN_HEADER, 24),
        (HTTP_COOKED_URL, 40),
        (HTTP_STATE_INFO, 8),
        (HTTP_QOS_SETTING_INFO, 16),
        (HTTP_CONNECTION_LIMIT_INFO, 8),
        (HTTP_BANDWIDTH_LIMIT_INFO, 8),
        (HTTP_CACHE_POLICY, 8),
        (HTTP_LISTEN_ENDPOINT_INFO, 8),
        (HTTP_PROPERTY_FLAGS, 4),
        (HTTPAPI_VERSION, 4),
        (HTTP_VERSION, 4),
        (HTTP_BYTE_RANGE, 16),
        (HTTP_TRANSPORT_ADDRESS, 16),
        (HTTP_REQUEST_HEADERS, 688),
        (HTTP_RESPONSE_HEADERS, 512),
        (HTTP_LOG_FIELDS_DATA, 144),
        (HTTP_SERVER_AUTHENTICATION_INFO, 64),
        (HTTP_SSL_INFO, 48),
        (HTTP_SERVICE_CONFIG_SSL_PARAM, 80),
        (HTTP_SERVICE_CONFIG_SSL_SET, 88),
        (HTTP_REQUEST_PROPERTY_SNI, 516),
        (SOCKADDR_IN, 16),
        (SOCKADDR_IN6, 28),
    ],
    ids=lambda x: x.__name__ if isinstance(x, type) else str(x),
)
def test_struct_has_the_x64_size_of_http_h(struct: type[CStruct], size: int) -> None:
    assert sizeof(struct) == size
    assert sizeof(struct()) == size


def test_request_and_response_aliases_are_the_v2_structs() -> None:
    assert HTTP_REQUEST is HTTP_REQUEST_V2
    assert HTTP_RESPONSE is HTTP_RESPONSE_V2


def test_v2_request_extends_v1_at_the_same_offsets() -> None:
    assert issubclass(HTTP_REQUEST_V2, HTTP_REQUEST_V1)
    for f in fields_of(HTTP_REQUEST_V1):
        assert offsetof(HTTP_REQUEST_V2, f.name) == f.offset
    assert offsetof(HTTP_REQUEST_V2, "RequestInfoCount") == 848
    assert offsetof(HTTP_REQUEST_V2, "pRequestInfo") == 856
    assert offsetof(HTTP_RESPONSE_V2, "ResponseInfoCount") == 552


def test_well_known_offsets_of_the_request_struct() -> None:
    assert offsetof(HTTP_REQUEST_V1, "ConnectionId") == 8
    assert offsetof(HTTP_REQUEST_V1, "Verb") == 36
    assert offsetof(HTTP_REQUEST_V1, "pUnknownVerb") == 48
    assert offsetof(HTTP_REQUEST_V1, "CookedUrl") == 64
    assert offsetof(HTTP_REQUEST_V1, "Headers") == 120
    assert offsetof(HTTP_REQUEST_V1, "BytesReceived") == 808
    assert offsetof(HTTP_REQUEST_V1, "pSslInfo") == 840
    assert offsetof(HTTP_DATA_CHUNK, "FromMemory") == offsetof(HTTP_DATA_CHUNK, "FromFileHandle") == 8


def test_layout_constants_of_the_core_match_the_structs() -> None:
    assert sizeof(HTTP_REQUEST_V1) == layout.FIXED_V1
    assert sizeof(HTTP_REQUEST_V2) == layout.FIXED_V2
    assert sizeof(HTTP_UNKNOWN_HEADER) == layout.UNKNOWN_HEADER_SIZE
    assert sizeof(HTTP_DATA_CHUNK) == layout.DATA_CHUNK_SIZE
    assert sizeof(SOCKADDR_IN) == layout.SOCKADDR_IN_SIZE
    assert sizeof(SOCKADDR_IN6) == layout.SOCKADDR_IN6_SIZE


def _ctypes_of(ctype: Any, cache: dict[Any, Any]) -> Any:
    """An independent ctypes mirror of a C type: the platform C compiler's rules decide size and offsets."""
    fixed = {1: ctypes.c_uint8, 2: ctypes.c_uint16, 4: ctypes.c_uint32, 8: ctypes.c_uint64}
    if isinstance(ctype, type):
        return _ctypes_struct(ctype, cache)
    if isinstance(ctype, CScalar):
        return fixed[ctype.size]
    if isinstance(ctype, CPointer):
        return ctypes.c_void_p
    if isinstance(ctype, CBytes):
        return fixed[ctype.char_size] * ctype.count
    if isinstance(ctype, COpaque):
        return fixed[ctype.align] * (ctype.size // ctype.align)
    assert isinstance(ctype, CArray)
    return _ctypes_of(ctype.element, cache) * ctype.count


def _ctypes_struct(cls: type[CStruct], cache: dict[Any, Any]) -> Any:
    if cls in cache:
        return cache[cls]
    base = next((b for b in cls.__bases__ if issubclass(b, CStruct) and b is not CStruct), None)
    own = [f for f in fields_of(cls) if base is None or f.name not in base._c_names_]
    plain = [(f.name, _ctypes_of(f.ctype, cache)) for f in own if not f.in_union]
    members = [(f.name, _ctypes_of(f.ctype, cache)) for f in own if f.in_union]
    if members:
        union = type(f"{cls.__name__}_u", (ctypes.Union,), {"_fields_": members})
        plain.append(("_u", union))
    parent = _ctypes_struct(base, cache) if base is not None else ctypes.Structure
    mirror = type(f"{cls.__name__}_c", (parent,), {"_fields_": plain})
    cache[cls] = mirror
    return mirror


@pytest.mark.parametrize("struct", STRUCT_CLASSES, ids=lambda cls: cls.__name__)
def test_computed_layout_agrees_with_a_ctypes_mirror(struct: type[CStruct]) -> None:
    mirror = _ctypes_struct(struct, {})
    assert sizeof(struct) == ctypes.sizeof(mirror)
    assert alignof(struct) == ctypes.alignment(mirror)
    for f in fields_of(struct):
        expected = mirror._u.offset if f.in_union else getattr(mirror, f.name).offset
        assert offsetof(struct, f.name) == expected, f.name


def test_sizeof_delegates_to_ctypes_for_ctypes_objects() -> None:
    assert sizeof(ctypes.c_uint16) == 2
    assert sizeof(ctypes.c_uint32()) == 4
    assert sizeof(ctypes.c_char * 10) == 10
    with pytest.raises(TypeError):
        sizeof(42)


# ------------------------------------------------------------------------------------ construction, defaults


def test_fields_default_to_the_c_zero_value() -> None:
    request = HTTP_REQUEST_V2()
    assert request.RequestId == 0
    assert request.pRawUrl is None
    assert request.Version == HTTP_VERSION(0, 0)
    assert request.Headers.UnknownHeaderCount == 0
    assert request.Headers.pUnknownHeaders is None
    assert request.Address.pRemoteAddress is None
    assert request.pRequestInfo is None
    assert HTTP_SERVICE_CONFIG_SSL_PARAM().AppId == uuid.UUID(int=0)
    assert HTTP_REQUEST_PROPERTY_SNI().Hostname == ""
    assert HTTP_CERT_CONFIG_ENTRY().CertHash == bytes(20)
    assert HTTP_REQUEST_TIMING_INFO().RequestTiming == [0] * 30
    assert HTTP_SERVICE_CONFIG_IP_LISTEN_QUERY().AddrList == []
    assert HTTP_DATA_CHUNK_FROM_FILE_HANDLE().FileHandle is None


def test_keyword_construction_sets_fields_by_their_c_names() -> None:
    header = HTTP_KNOWN_HEADER(RawValueLength=9, pRawValue=b"localhost")
    assert (header.RawValueLength, header.pRawValue) == (9, b"localhost")
    binding = HTTP_BINDING_INFO(Flags=HTTP_PROPERTY_FLAGS(Present=1), RequestQueueHandle=7)
    assert binding.Flags.Present == 1
    assert binding.RequestQueueHandle == 7


def test_positional_construction_follows_c_field_order() -> None:
    version = HTTPAPI_VERSION(2, 0)
    assert (version.HttpApiMajorVersion, version.HttpApiMinorVersion) == (2, 0)
    assert list(inspect.signature(HTTP_UNKNOWN_HEADER).parameters) == [
        "NameLength",
        "RawValueLength",
        "pName",
        "pRawValue",
    ]


def test_unknown_keyword_and_unknown_attribute_are_rejected() -> None:
    with pytest.raises(TypeError):
        HTTP_KNOWN_HEADER(RawValueLenght=3)  # type: ignore[call-arg]
    header = HTTP_KNOWN_HEADER()
    with pytest.raises(AttributeError):
        header.RawValueLenght = 3  # type: ignore[attr-defined]


def test_known_headers_are_pre_sized_lists_indexed_by_header_id() -> None:
    request = HTTP_REQUEST_V2()
    response = HTTP_RESPONSE_V2()
    assert len(request.Headers.KnownHeaders) == HttpHeaderRequestMaximum == 41
    assert len(response.Headers.KnownHeaders) == HttpHeaderResponseMaximum == 30
    assert all(isinstance(h, HTTP_KNOWN_HEADER) for h in request.Headers.KnownHeaders)
    response.Headers.KnownHeaders[HttpHeaderServer].pRawValue = b"demo"
    assert response.Headers.KnownHeaders[26].pRawValue == b"demo"


def test_mutable_defaults_are_fresh_per_instance() -> None:
    a, b = HTTP_REQUEST_V2(), HTTP_REQUEST_V2()
    a.Headers.KnownHeaders[HttpHeaderHost].RawValueLength = 5
    a.CookedUrl.FullUrlLength = 10
    assert b.Headers.KnownHeaders[HttpHeaderHost].RawValueLength == 0
    assert b.CookedUrl.FullUrlLength == 0
    assert a.Headers.KnownHeaders is not b.Headers.KnownHeaders


def test_data_chunk_union_members_are_independent_attributes() -> None:
    chunk = HTTP_DATA_CHUNK(DataChunkType=HttpDataChunkFromMemory)
    chunk.FromMemory.pBuffer = b"hello"
    chunk.FromMemory.BufferLength = 5
    assert chunk.FromFileHandle.FileHandle is None
    file_chunk = HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromFileHandle,
        FromFileHandle=HTTP_DATA_CHUNK_FROM_FILE_HANDLE(
            ByteRange=HTTP_BYTE_RANGE(0, HTTP_BYTE_RANGE_TO_EOF), FileHandle=3
        ),
    )
    assert file_chunk.FromFileHandle.ByteRange.Length == 0xFFFFFFFFFFFFFFFF
    assert chunk.Trailers.pTrailers is None


def test_structs_compare_by_type_and_every_field() -> None:
    assert HTTP_VERSION(1, 1) == HTTP_VERSION(1, 1)
    assert HTTP_VERSION(1, 1) != HTTP_VERSION(1, 0)
    assert HTTP_VERSION(1, 1) != HTTPAPI_VERSION(1, 1)
    assert HTTP_REQUEST_V1() != HTTP_REQUEST_V2()
    assert HTTP_REQUEST_V2(RequestId=3) == HTTP_REQUEST_V2(RequestId=3)
    with pytest.raises(TypeError):
        hash(HTTP_VERSION(1, 1))


def test_repr_shows_fields_and_only_set_entries_of_long_arrays() -> None:
    assert repr(HTTP_KNOWN_HEADER(3, b"abc")) == "HTTP_KNOWN_HEADER(RawValueLength=3, pRawValue=b'abc')"
    headers = HTTP_REQUEST_HEADERS()
    headers.KnownHeaders[HttpHeaderHost] = HTTP_KNOWN_HEADER(9, b"localhost")
    text = repr(headers)
    assert "41 entries" in text
    assert "28: HTTP_KNOWN_HEADER(RawValueLength=9, pRawValue=b'localhost')" in text
    assert "FromMemory" in repr(HTTP_DATA_CHUNK(FromMemory=HTTP_DATA_CHUNK_FROM_MEMORY(b"x", 1)))
    assert "FromFileHandle" not in repr(HTTP_DATA_CHUNK())


def test_structs_survive_pickle_and_deepcopy() -> None:
    request = HTTP_REQUEST_V2(RequestId=9, pRawUrl=b"/x")
    request.Headers.KnownHeaders[HttpHeaderHost].pRawValue = b"h"
    assert pickle.loads(pickle.dumps(request)) == request
    clone = copy.deepcopy(request)
    assert clone == request
    assert clone.Headers is not request.Headers


def _eager_headers(known: dict[int, bytes], unknown: list[tuple[bytes, bytes]]) -> HTTP_REQUEST_HEADERS:
    table = [HTTP_KNOWN_HEADER() for _ in range(HttpHeaderRequestMaximum)]
    for index, value in known.items():
        table[index] = HTTP_KNOWN_HEADER(len(value), value)
    return HTTP_REQUEST_HEADERS(
        UnknownHeaderCount=len(unknown),
        pUnknownHeaders=[HTTP_UNKNOWN_HEADER(len(n), len(v), n, v) for n, v in unknown] or None,
        KnownHeaders=table,
    )


def test_received_headers_read_as_the_eager_struct_and_are_built_once() -> None:
    known = {HttpHeaderHost: b"example.com", HttpHeaderIfMatch: b""}
    unknown = [(b"X-One", b"1"), (b"X-Two", b"")]
    headers = HTTP_REQUEST_HEADERS.received(known, unknown)
    assert type(headers) is HTTP_REQUEST_HEADERS
    assert headers.UnknownHeaderCount == 2 and headers.TrailerCount == 0 and headers.pTrailers is None
    assert headers == _eager_headers(known, unknown)
    table = headers.KnownHeaders
    assert headers.KnownHeaders is table  # built on the first read, then an ordinary field
    table[HttpHeaderHost].pRawValue = b"changed"
    assert headers.KnownHeaders[HttpHeaderHost].pRawValue == b"changed"
    assert headers.KnownHeaders[HttpHeaderIfMatch] == HTTP_KNOWN_HEADER(0, b"")  # present and empty
    assert HTTP_REQUEST_HEADERS.received(known, []).pUnknownHeaders is None
    other = HTTP_REQUEST_HEADERS.received(known, unknown)
    assert other.KnownHeaders is not table and other.KnownHeaders[HttpHeaderHost].pRawValue == b"example.com"
    with pytest.raises(AttributeError):
        _ = headers.NoSuchField  # type: ignore[attr-defined]


def test_received_headers_keep_what_the_caller_wrote_before_reading() -> None:
    headers = HTTP_REQUEST_HEADERS.received({HttpHeaderHost: b"h"}, [(b"X-A", b"a")])
    mine = [HTTP_KNOWN_HEADER() for _ in range(HttpHeaderRequestMaximum)]
    headers.KnownHeaders = mine
    assert headers.KnownHeaders is mine
    assert headers.pUnknownHeaders == [HTTP_UNKNOWN_HEADER(3, 1, b"X-A", b"a")]


def test_received_structs_survive_pickle_deepcopy_and_repr() -> None:
    request = HTTP_REQUEST_V2(RequestId=9)
    request.Headers = HTTP_REQUEST_HEADERS.received({HttpHeaderHost: b"h"}, [(b"X-A", b"a")])
    request.Address = HTTP_TRANSPORT_ADDRESS.received(("127.0.0.1", 80), ("::1", 8080, 0, 0), False)
    for clone in (pickle.loads(pickle.dumps(request)), copy.deepcopy(request), copy.copy(request)):
        assert clone == request
    assert "28: HTTP_KNOWN_HEADER(RawValueLength=1, pRawValue=b'h')" in repr(request)
    assert request.Address.pRemoteAddress == SOCKADDR_IN.from_address(("127.0.0.1", 80))
    assert request.Address.pLocalAddress == SOCKADDR_IN6.from_address(("::1", 8080, 0, 0))
    assert HTTP_TRANSPORT_ADDRESS.received((), ("", 0), False) == HTTP_TRANSPORT_ADDRESS()
    assert HTTP_TRANSPORT_ADDRESS.received(("not an address", 1), (), False).pRemoteAddress is None


def test_sockaddr_in_holds_port_in_network_byte_order() -> None:
    addr = SOCKADDR_IN.from_address(("127.0.0.1", 8080))
    assert addr.sin_family == socket.AF_INET
    assert addr.sin_port == socket.htons(8080)
    assert addr.sin_addr == b"\x7f\x00\x00\x01"
    assert addr.to_address() == ("127.0.0.1", 8080)


def test_sockaddr_in6_round_trips_a_python_address() -> None:
    addr = SOCKADDR_IN6.from_address(("::1", 443, 0, 2))
    assert addr.sin6_family == socket.AF_INET6
    assert addr.sin6_addr == bytes(15) + b"\x01"
    assert addr.to_address() == ("::1", 443, 0, 2)


def test_array_bounds_of_structs_equal_the_constants() -> None:
    assert len(HTTP_REQUEST_HEADERS().KnownHeaders) == HttpHeaderRequestMaximum
    assert len(HTTP_RESPONSE_HEADERS().KnownHeaders) == HttpHeaderResponseMaximum
    sni = fields_of(HTTP_REQUEST_PROPERTY_SNI)[0].ctype
    assert isinstance(sni, CBytes)
    assert sni.count == HTTP_REQUEST_PROPERTY_SNI_HOST_MAX_LENGTH + 1
    timing = fields_of(HTTP_REQUEST_TIMING_INFO)[1].ctype
    assert isinstance(timing, CArray)
    assert timing.count == HttpRequestTimingTypeMax
    entry = fields_of(HTTP_CERT_CONFIG_ENTRY)
    assert entry[0].size == HTTP_SSL_CERT_SHA_HASH_LENGTH
    assert entry[1].size == 2 * HTTP_SSL_CERT_STORE_NAME_LENGTH


# ------------------------------------------------------------------------------------------- names and values


def test_every_name_in_all_exists_and_names_do_not_collide() -> None:
    for module in (structs, constants):
        assert len(module.__all__) == len(set(module.__all__))
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert missing == []
    assert set(structs.__all__).isdisjoint(constants.__all__)


def test_every_struct_class_is_exported() -> None:
    assert {cls.__name__ for cls in STRUCT_CLASSES} <= set(structs.__all__)


def test_every_enum_value_is_also_a_plain_module_level_int() -> None:
    enums: list[type[enum.IntEnum]] = [
        obj
        for obj in vars(constants).values()
        if isinstance(obj, type) and issubclass(obj, enum.IntEnum) and obj.__module__ == constants.__name__
    ]
    assert len(enums) >= 30
    for enum_type in enums:
        assert enum_type.__name__ in constants.__all__
        for name, member in enum_type.__members__.items():
            value = getattr(constants, name)
            assert type(value) is int, name
            assert value == member.value, name
            assert name in constants.__all__


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HttpVerbGET", 4),
        ("HttpVerbSEARCH", 19),
        ("HttpVerbMaximum", 20),
        ("HttpHeaderCacheControl", 0),
        ("HttpHeaderContentLength", 11),
        ("HttpHeaderHost", 28),
        ("HttpHeaderUserAgent", 40),
        ("HttpHeaderRequestMaximum", 41),
        ("HttpHeaderAcceptRanges", 20),
        ("HttpHeaderWwwAuthenticate", 29),
        ("HttpHeaderResponseMaximum", 30),
        ("HttpHeaderMaximum", 41),
        ("HttpDataChunkFromMemory", 0),
        ("HttpDataChunkTrailers", 4),
        ("HttpDataChunkMaximum", 5),
        ("HttpServerAuthenticationProperty", 0),
        ("HttpServer503VerbosityProperty", 6),
        ("HttpServerBindingProperty", 7),
        ("HttpServerProtectionLevelProperty", 11),
        ("HttpServerDelegationProperty", 16),
        ("Http503ResponseVerbosityFull", 2),
        ("HttpEnabledStateInactive", 1),
        ("HttpQosSettingTypeFlowRate", 2),
        ("HttpCachePolicyTimeToLive", 2),
        ("HttpLoggingTypeRaw", 3),
        ("HttpLoggingRolloverHourly", 4),
        ("HttpServiceConfigSslCcsCertInfo", 6),
        ("HttpServiceConfigQueryNext", 1),
        ("HttpRequestInfoTypeTcpInfoV1", 9),
        ("HttpRequestPropertyStreamError", 5),
        ("HttpFeatureHttp3", 4),
        ("HttpFeaturemax", 0xFFFFFFFF),
        ("HTTP_INITIALIZE_SERVER", 0x1),
        ("HTTP_INITIALIZE_CONFIG", 0x2),
        ("HTTP_DEMAND_CBT", 0x4),
        ("HTTP_CREATE_REQUEST_QUEUE_FLAG_DELEGATION", 0x8),
        ("HTTP_RECEIVE_REQUEST_FLAG_FLUSH_BODY", 0x2),
        ("HTTP_RECEIVE_REQUEST_ENTITY_BODY_FLAG_FILL_BUFFER", 0x1),
        ("HTTP_REQUEST_FLAG_HTTP3", 0x8),
        ("HTTP_SEND_RESPONSE_FLAG_DISCONNECT", 0x1),
        ("HTTP_SEND_RESPONSE_FLAG_MORE_DATA", 0x2),
        ("HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA", 0x4),
        ("HTTP_SEND_RESPONSE_FLAG_ENABLE_NAGLING", 0x8),
        ("HTTP_SEND_RESPONSE_FLAG_PROCESS_RANGES", 0x20),
        ("HTTP_SEND_RESPONSE_FLAG_OPAQUE", 0x40),
        ("HTTP_SEND_RESPONSE_FLAG_GOAWAY", 0x100),
        ("HTTP_SEND_RESPONSE_FLAG_AUTOMATIC_CHUNKING", 0x200),
        ("HTTP_RESPONSE_FLAG_MORE_ENTITY_BODY_EXISTS", 0x2),
        ("HTTP_URL_FLAG_REMOVE_ALL", 0x1),
        ("HTTP_FLUSH_RESPONSE_FLAG_RECURSIVE", 0x1),
        ("HTTP_BYTE_RANGE_TO_EOF", 0xFFFFFFFFFFFFFFFF),
        ("HTTP_LIMIT_INFINITE", 0xFFFFFFFF),
        ("HTTP_MIN_SERVER_QUEUE_LENGTH", 1),
        ("HTTP_MAX_SERVER_QUEUE_LENGTH", 0x7FFFFFFF),
        ("HTTP_MIN_ALLOWED_BANDWIDTH_THROTTLING_RATE", 1024),
        ("HTTP_MIN_ALLOWED_LOG_FILE_ROLLOVER_SIZE", 1024 * 1024),
        ("HTTP_NULL_ID", 0),
        ("HTTP_AUTH_ENABLE_KERBEROS", 0x10),
        ("HTTP_AUTH_ENABLE_ALL", 0x1F),
        ("HTTP_AUTH_EX_FLAG_CAPTURE_CREDENTIAL", 0x2),
        ("HTTP_CHANNEL_BIND_PROXY_COHOSTING", 0x20),
        ("HTTP_LOGGING_FLAG_LOG_SUCCESS_ONLY", 0x8),
        ("HTTP_LOG_FIELD_SUB_STATUS", 0x200000),
        ("HTTP_LOG_FIELD_QUEUE_NAME", 0x4000000),
        ("HTTP_LOG_FIELD_CORRELATION_ID", 0x40000000),
        ("HTTP_SERVICE_CONFIG_SSL_FLAG_DISABLE_TLS12", 0x1000),
        ("HTTP_REQUEST_PROPERTY_SNI_HOST_MAX_LENGTH", 255),
    ],
)
def test_constant_has_its_win32_value(name: str, value: int) -> None:
    assert getattr(constants, name) == value
    assert name in constants.__all__


def test_error_codes_are_re_exported_as_plain_ints() -> None:
    for member in Win32Error:
        value = getattr(constants, member.name)
        assert type(value) is int
        assert value == member.value
        assert member.name in constants.__all__
    assert constants.ERROR_SUCCESS == NO_ERROR == 0
    assert ERROR_INVALID_PARAMETER == 87
    assert ERROR_CONNECTION_INVALID == 1229


def test_api_and_protocol_version_constants() -> None:
    assert HTTPAPI_VERSION(1, 0) == HTTPAPI_VERSION_1
    assert HTTPAPI_VERSION(2, 0) == HTTPAPI_VERSION_2
    assert HTTP_VERSION(0, 0) == HTTP_VERSION_UNKNOWN
    assert HTTP_VERSION(0, 9) == HTTP_VERSION_0_9
    assert HTTP_VERSION(1, 1) == HTTP_VERSION_1_1
    assert HTTP_VERSION(3, 0) == HTTP_VERSION_3_0


def test_version_macros_compare_major_then_minor() -> None:
    v = HTTP_VERSION()
    HTTP_SET_VERSION(v, 1, 1)
    assert HTTP_EQUAL_VERSION(v, 1, 1)
    assert HTTP_NOT_EQUAL_VERSION(v, 1, 0)
    assert HTTP_GREATER_VERSION(v, 1, 0)
    assert HTTP_GREATER_VERSION(v, 0, 9)
    assert not HTTP_GREATER_VERSION(v, 2, 0)
    assert HTTP_LESS_VERSION(v, 2, 0)
    assert HTTP_GREATER_EQUAL_VERSION(v, 1, 1)
    assert HTTP_LESS_EQUAL_VERSION(v, 1, 1)
    assert not HTTP_LESS_EQUAL_VERSION(v, 1, 0)
    api = HTTPAPI_VERSION(2, 0)
    assert HTTPAPI_EQUAL_VERSION(api, 2, 0)
    assert HTTPAPI_GREATER_VERSION(api, 1, 0)
    assert HTTPAPI_LESS_VERSION(api, 2, 1)
    assert HTTPAPI_VERSION_GREATER_OR_EQUAL(api, 2, 0)
    assert not HTTPAPI_VERSION_GREATER_OR_EQUAL(api, 3, 0)


def test_null_id_macros_work_on_holders_byref_and_pointers() -> None:
    holder = ctypes.c_ulonglong(42)
    assert not HTTP_IS_NULL_ID(holder)
    assert not HTTP_IS_NULL_ID(ctypes.byref(holder))
    HTTP_SET_NULL_ID(ctypes.byref(holder))
    assert holder.value == HTTP_NULL_ID
    assert HTTP_IS_NULL_ID(ctypes.pointer(holder))
    holder.value = 7
    HTTP_SET_NULL_ID(ctypes.pointer(holder))
    assert HTTP_IS_NULL_ID(holder)
    assert HTTP_IS_NULL_ID(0)
    assert not HTTP_IS_NULL_ID(5)
