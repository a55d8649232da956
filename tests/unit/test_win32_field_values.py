"""The win32 face reads struct fields and arguments by value, not by static type: the same answers in both builds.

A struct field holds whatever the caller put there. The compiled build (mypyc, decision 0023 amendment 5) checks a
typed read, so the face reads every field untyped; these tests pin what each kind of value gives — an int
subclass, a ctypes integer in a ULONG/USHORT field, a bytearray where a PCSTR goes are accepted as the interpreted
face accepts them; a float, None or str where an integer goes is ERROR_INVALID_PARAMETER (never a TypeError).
They run unchanged on the pure and the native build (`make test` runs both).
"""

from __future__ import annotations

import ctypes
import enum

import pytest

from httpsys._core.records import CachePolicy, FileChunk, MemoryChunk
from httpsys.errors import HttpSysError, InvalidParameterError
from httpsys.win32 import kernel32, marshal
from httpsys.win32.constants import (
    HttpCachePolicyTimeToLive,
    HttpDataChunkFromFileHandle,
    HttpDataChunkFromMemory,
    HttpHeaderContentType,
    HttpHeaderSetCookie,
    HttpHeaderWwwAuthenticate,
    HttpLogDataTypeFields,
    HttpQosSettingTypeBandwidth,
    HttpResponseInfoTypeMultipleKnownHeaders,
)
from httpsys.win32.structs import (
    HTTP_BANDWIDTH_LIMIT_INFO,
    HTTP_BYTE_RANGE,
    HTTP_CACHE_POLICY,
    HTTP_DATA_CHUNK,
    HTTP_DATA_CHUNK_FROM_FILE_HANDLE,
    HTTP_DATA_CHUNK_FROM_MEMORY,
    HTTP_KNOWN_HEADER,
    HTTP_LOG_DATA,
    HTTP_LOG_FIELDS_DATA,
    HTTP_MULTIPLE_KNOWN_HEADERS,
    HTTP_PROPERTY_FLAGS,
    HTTP_QOS_SETTING_INFO,
    HTTP_RESPONSE_INFO,
    HTTP_RESPONSE_V1,
    HTTP_RESPONSE_V2,
    HTTP_UNKNOWN_HEADER,
)


class Number(int):
    """An int subclass, as an application's own flag or status type would be."""


class Status(enum.IntEnum):
    OK = 200


def _response(**fields: object) -> HTTP_RESPONSE_V2:
    response = HTTP_RESPONSE_V2(StatusCode=200, pReason=b"OK")
    for name, value in fields.items():
        setattr(response, name, value)
    return response


@pytest.mark.parametrize(
    "status",
    [200, Number(200), Status.OK, ctypes.c_ushort(200), ctypes.c_ulong(200), ctypes.c_int(200)],
    ids=["int", "int-subclass", "IntEnum", "c_ushort", "c_ulong", "c_int"],
)
def test_an_integer_field_takes_every_integer_form_the_face_accepts(status: object) -> None:
    spec, chunks = marshal.response_spec(_response(StatusCode=status, Flags=ctypes.c_ulong(0)))
    assert spec.status == 200 and type(spec.status) is int
    assert spec.reason == b"OK" and chunks == []


@pytest.mark.parametrize("value", [200.0, None, "200", b"200", 1 << 16, -(1 << 16)])
def test_a_wrong_value_in_an_integer_field_is_invalid_parameter(value: object) -> None:
    with pytest.raises(InvalidParameterError):
        marshal.response_spec(_response(StatusCode=value))


@pytest.mark.parametrize("value", [1.0, "0", object()])
def test_a_wrong_value_in_a_ulong_flags_field_is_invalid_parameter(value: object) -> None:
    with pytest.raises(InvalidParameterError):
        marshal.response_spec(_response(Flags=value))


def test_string_fields_take_bytearray_str_and_a_ctypes_length() -> None:
    response = _response(pReason=bytearray(b"Fine Really"), ReasonLength=ctypes.c_ushort(4))
    response.Headers.KnownHeaders[HttpHeaderContentType] = HTTP_KNOWN_HEADER(Number(10), "text/plainXX")
    response.Headers.pUnknownHeaders = (
        HTTP_UNKNOWN_HEADER(pName=bytearray(b"X-A"), pRawValue=memoryview(b"1")),
    )
    response.Headers.UnknownHeaderCount = ctypes.c_ushort(1)
    spec, _ = marshal.response_spec(response)
    assert spec.reason == b"Fine"
    assert spec.known == {HttpHeaderContentType: [b"text/plain"]}
    assert spec.unknown == [(b"X-A", b"1")]


def test_a_known_header_table_given_as_a_tuple_is_read_like_the_list() -> None:
    response = _response()
    table = list(response.Headers.KnownHeaders)
    table[HttpHeaderContentType] = HTTP_KNOWN_HEADER(0, b"text/plain")
    response.Headers.KnownHeaders = tuple(table)
    assert marshal.response_spec(response)[0].known == {HttpHeaderContentType: [b"text/plain"]}


@pytest.mark.parametrize("table", [None, 5, b"abc", "abc", [object()]])
def test_a_known_header_table_of_the_wrong_type_is_invalid_parameter(table: object) -> None:
    response = _response()
    response.Headers.KnownHeaders = table
    with pytest.raises(InvalidParameterError):
        marshal.response_spec(response)


def test_a_wrong_struct_where_a_struct_goes_is_invalid_parameter() -> None:
    with pytest.raises(InvalidParameterError):
        marshal.response_spec(object())
    with pytest.raises(InvalidParameterError):
        marshal.response_spec(_response(Headers=None))
    with pytest.raises(InvalidParameterError):
        marshal.response_spec(_response(Version=(1, 1)))


def test_data_chunk_fields_take_ctypes_and_subclassed_integers() -> None:
    memory = HTTP_DATA_CHUNK(
        DataChunkType=Number(HttpDataChunkFromMemory),
        FromMemory=HTTP_DATA_CHUNK_FROM_MEMORY(pBuffer=bytearray(b"hello"), BufferLength=ctypes.c_ulong(4)),
    )
    chunk = marshal.data_chunk(memory)
    assert isinstance(chunk, MemoryChunk) and bytes(chunk.data) == b"hell"
    file_chunk = HTTP_DATA_CHUNK(
        DataChunkType=ctypes.c_ulong(HttpDataChunkFromFileHandle),
        FromFileHandle=HTTP_DATA_CHUNK_FROM_FILE_HANDLE(
            ByteRange=HTTP_BYTE_RANGE(StartingOffset=ctypes.c_ulonglong(3), Length=Number(7)), FileHandle=9
        ),
    )
    assert marshal.data_chunk(file_chunk) == FileChunk(9, 3, 7)


@pytest.mark.parametrize("value", [4.0, None, "4"])
def test_a_wrong_buffer_length_is_invalid_parameter(value: object) -> None:
    chunk = HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromMemory,
        FromMemory=HTTP_DATA_CHUNK_FROM_MEMORY(pBuffer=b"hello", BufferLength=value),
    )
    with pytest.raises(InvalidParameterError):
        marshal.data_chunk(chunk)


def test_a_wrong_byte_range_is_invalid_parameter() -> None:
    chunk = HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromFileHandle,
        FromFileHandle=HTTP_DATA_CHUNK_FROM_FILE_HANDLE(
            ByteRange=HTTP_BYTE_RANGE(StartingOffset=0.5), FileHandle=9
        ),
    )
    with pytest.raises(InvalidParameterError):
        marshal.data_chunk(chunk)


def test_cache_policy_and_log_fields_take_ctypes_integers() -> None:
    policy = HTTP_CACHE_POLICY(Policy=ctypes.c_ulong(HttpCachePolicyTimeToLive), SecondsToLive=Number(5))
    assert marshal.cache_policy(policy) == CachePolicy(HttpCachePolicyTimeToLive, 5)
    log = HTTP_LOG_FIELDS_DATA(
        Base=HTTP_LOG_DATA(Type=ctypes.c_ulong(HttpLogDataTypeFields)), ServerPort=ctypes.c_ushort(8080)
    )
    fields = marshal.log_fields(log)
    assert fields is not None and fields["ServerPort"] == 8080
    with pytest.raises(InvalidParameterError):
        marshal.cache_policy(HTTP_CACHE_POLICY(Policy=None))
    with pytest.raises(InvalidParameterError):
        marshal.log_fields(HTTP_LOG_FIELDS_DATA(Base=HTTP_LOG_DATA(Type=1.0)))


def test_multiple_known_headers_read_ctypes_counts_and_flags() -> None:
    entries = [HTTP_KNOWN_HEADER(0, b"Basic realm=x"), HTTP_KNOWN_HEADER(0, b"Negotiate")]
    info = HTTP_RESPONSE_INFO(
        Type=ctypes.c_ulong(HttpResponseInfoTypeMultipleKnownHeaders),
        pInfo=HTTP_MULTIPLE_KNOWN_HEADERS(
            HeaderId=Number(HttpHeaderWwwAuthenticate),
            Flags=ctypes.c_ulong(0),
            KnownHeaderCount=ctypes.c_ushort(2),
            KnownHeaders=entries,
        ),
    )
    response = _response(pResponseInfo=[info], ResponseInfoCount=ctypes.c_ushort(1))
    spec, _ = marshal.response_spec(response)
    assert spec.known[HttpHeaderWwwAuthenticate] == [b"Negotiate", b"Basic realm=x"]  # reordered by scheme
    info.pInfo.KnownHeaderCount = 2.0
    with pytest.raises(InvalidParameterError):
        marshal.response_spec(response)


def test_multiple_known_headers_add_to_the_table_entry_of_the_same_header() -> None:
    response = _response()
    response.Headers.KnownHeaders[HttpHeaderSetCookie] = HTTP_KNOWN_HEADER(0, b"a=1")
    more = HTTP_MULTIPLE_KNOWN_HEADERS(
        HeaderId=HttpHeaderSetCookie,
        KnownHeaders=[HTTP_KNOWN_HEADER(0, b"b=2"), HTTP_KNOWN_HEADER(0, b"c=3")],
    )
    response.pResponseInfo = [HTTP_RESPONSE_INFO(Type=HttpResponseInfoTypeMultipleKnownHeaders, pInfo=more)]
    response.ResponseInfoCount = 1
    assert marshal.response_spec(response)[0].known[HttpHeaderSetCookie] == [b"a=1", b"b=2", b"c=3"]
    response.Headers.KnownHeaders[HttpHeaderSetCookie] = HTTP_KNOWN_HEADER()
    assert marshal.response_spec(response)[0].known[HttpHeaderSetCookie] == [b"b=2", b"c=3"]


def test_property_flags_and_qos_fields_take_ctypes_integers() -> None:
    assert marshal.as_flag_present(HTTP_PROPERTY_FLAGS(ctypes.c_ulong(1)), "Flags") is True
    assert marshal.as_flag_present(Number(0), "Flags") is False
    with pytest.raises(InvalidParameterError):
        marshal.as_flag_present(HTTP_PROPERTY_FLAGS(1.0), "Flags")
    setting = HTTP_BANDWIDTH_LIMIT_INFO(Flags=HTTP_PROPERTY_FLAGS(1), MaxBandwidth=ctypes.c_ulong(2048))
    info = HTTP_QOS_SETTING_INFO(QosType=ctypes.c_ulong(HttpQosSettingTypeBandwidth), QosSetting=setting)
    assert marshal.qos_value(info) == (HttpQosSettingTypeBandwidth, 2048)
    setting.MaxBandwidth = None
    with pytest.raises(InvalidParameterError):
        marshal.qos_value(info)


def test_v1_and_v2_responses_read_the_same() -> None:
    v1 = HTTP_RESPONSE_V1(StatusCode=ctypes.c_ushort(204), pReason=b"No Content")
    assert marshal.response_spec(v1)[0].status == 204


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5),
        (Number(5), 5),
        (ctypes.c_ulong(5), 5),
        (ctypes.c_void_p(5), 5),
        (None, 0),
        (-1, kernel32.INVALID_HANDLE_VALUE),
        (ctypes.c_void_p(0xFFFFFFFFFFFFFFFF), kernel32.INVALID_HANDLE_VALUE),
        (5.0, None),
        ("5", None),
        (ctypes.c_double(5), None),
        (object(), None),
    ],
)
def test_handle_values_accept_the_integer_forms_and_nothing_else(value: object, expected: int | None) -> None:
    number = kernel32.handle_value(value)
    assert number == expected
    assert number is None or type(number) is int


@pytest.mark.parametrize("value", [1.5, None, "1", object()])
def test_kernel32_calls_answer_a_wrong_typed_argument_with_a_code(value: object) -> None:
    assert kernel32.SetEvent(value) is False
    assert kernel32.GetLastError() == 6  # ERROR_INVALID_HANDLE
    assert kernel32.WaitForSingleObject(value, 0) == kernel32.WAIT_FAILED


def test_errors_carry_win32_codes() -> None:
    with pytest.raises(HttpSysError) as info:
        marshal.response_spec(_response(StatusCode=1.5))
    assert info.value.winerror == 87
