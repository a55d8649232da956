"""The ARCHITECTURE §5 contract: names, signatures, codes as ints, and no exception for any input."""

from __future__ import annotations

import ctypes
import inspect

import pytest

import httpsys.win32 as win32
from httpsys.win32 import *
from httpsys.win32 import api

from .harness import Server

SPEC_FUNCTIONS = [
    "HttpInitialize", "HttpTerminate", "HttpCreateHttpHandle", "HttpAddUrl", "HttpRemoveUrl",
    "HttpReceiveHttpRequest", "HttpReceiveRequestEntityBody", "HttpSendHttpResponse", "HttpSendResponseEntityBody",
    "HttpWaitForDisconnect", "HttpReceiveClientCertificate", "HttpAddFragmentToCache", "HttpReadFragmentFromCache",
    "HttpFlushResponseCache", "HttpSetServiceConfiguration", "HttpQueryServiceConfiguration",
    "HttpDeleteServiceConfiguration", "HttpUpdateServiceConfiguration", "HttpCreateServerSession",
    "HttpCloseServerSession", "HttpSetServerSessionProperty", "HttpQueryServerSessionProperty",
    "HttpCreateUrlGroup", "HttpCloseUrlGroup", "HttpAddUrlToUrlGroup", "HttpRemoveUrlFromUrlGroup",
    "HttpSetUrlGroupProperty", "HttpQueryUrlGroupProperty", "HttpCreateRequestQueue", "HttpCloseRequestQueue",
    "HttpSetRequestQueueProperty", "HttpQueryRequestQueueProperty", "HttpShutdownRequestQueue",
    "HttpWaitForDisconnectEx", "HttpCancelHttpRequest", "HttpWaitForDemandStart", "HttpPrepareUrl",
    "HttpDeclarePush", "HttpSetRequestProperty", "HttpQueryRequestProperty", "HttpDelegateRequestEx",
    "HttpFindUrlGroupId", "HttpIsFeatureSupported", "HttpGetExtension",
]  # fmt: skip

DOCUMENTED_PARAMETERS = {
    "HttpSendResponseEntityBody": [
        "RequestQueueHandle", "RequestId", "Flags", "EntityChunkCount", "EntityChunks", "BytesSent", "Reserved1",
        "Reserved2", "Overlapped", "LogData",
    ],
    "HttpSendHttpResponse": [
        "RequestQueueHandle", "RequestId", "Flags", "HttpResponse", "CachePolicy", "BytesSent", "Reserved1",
        "Reserved2", "Overlapped", "LogData",
    ],
    "HttpReceiveHttpRequest": [
        "RequestQueueHandle", "RequestId", "Flags", "RequestBuffer", "RequestBufferLength", "BytesReturned",
        "Overlapped",
    ],
    "HttpReceiveRequestEntityBody": [
        "RequestQueueHandle", "RequestId", "Flags", "EntityBuffer", "EntityBufferLength", "BytesReturned",
        "Overlapped",
    ],
    "HttpAddUrlToUrlGroup": ["UrlGroupId", "pFullyQualifiedUrl", "UrlContext", "Reserved"],
    "HttpCreateRequestQueue": ["Version", "Name", "SecurityAttributes", "Flags", "RequestQueueHandle"],
    "HttpQueryRequestQueueProperty": [
        "RequestQueueHandle", "Property", "PropertyInformation", "PropertyInformationLength", "Reserved1",
        "ReturnLength", "Reserved2",
    ],
}  # fmt: skip


def test_star_import_gives_every_function_of_the_spec() -> None:
    assert len(SPEC_FUNCTIONS) == 44
    for name in SPEC_FUNCTIONS:
        assert name in win32.__all__ and callable(getattr(win32, name))


def test_star_import_gives_constants_structs_codes_and_kernel32_helpers() -> None:
    for name in ("HTTP_RESPONSE_V2", "HTTP_DATA_CHUNK", "HTTP_BINDING_INFO", "OVERLAPPED", "LPOVERLAPPED",
                 "CreateIoCompletionPort", "GetLastError", "sizeof", "HttpHeaderContentType"):  # fmt: skip
        assert name in win32.__all__
    assert (NO_ERROR, ERROR_IO_PENDING, ERROR_MORE_DATA, ERROR_CONNECTION_INVALID) == (0, 997, 234, 1229)
    assert WAIT_TIMEOUT == 258 and win32.__all__.count("WAIT_TIMEOUT") == 1
    assert len(win32.__all__) == len(set(win32.__all__))
    assert sizeof(HTTP_REQUEST_V2) == 864 and sizeof(HTTP_TIMEOUT_LIMIT_INFO) == 20


@pytest.mark.parametrize("name", sorted(DOCUMENTED_PARAMETERS))
def test_parameters_are_positional_in_documented_order_with_documented_names(name: str) -> None:
    parameters = list(inspect.signature(getattr(win32, name)).parameters.values())
    assert [p.name for p in parameters] == DOCUMENTED_PARAMETERS[name]
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters)


def test_keyword_arguments_use_the_documented_names(server: Server) -> None:
    got = ctypes.c_ulong()
    code = HttpReceiveHttpRequest(
        RequestQueueHandle=server.queue,
        RequestId=0xBAD,
        Flags=0,
        RequestBuffer=HTTP_REQUEST_V2(),
        RequestBufferLength=4096,
        BytesReturned=got,
        Overlapped=None,
    )
    assert code == ERROR_CONNECTION_INVALID


GARBAGE = [None, 0, -1, 2**70, 3.5, "text", b"bytes", object(), [], [object()], {}, ctypes.c_ulong(7),
           HTTP_REQUEST_V2(), HTTP_DATA_CHUNK(DataChunkType=77), OVERLAPPED(), LPOVERLAPPED()]  # fmt: skip


def _calls(fn: object, live: list[object]) -> list[tuple[tuple[object, ...], dict[str, object]]]:
    count = len(inspect.signature(fn).parameters)  # type: ignore[arg-type]
    out: list[tuple[tuple[object, ...], dict[str, object]]] = [
        ((), {}),
        ((None,) * 20, {}),
        ((), {"Bogus": 1}),
    ]
    for base in (None, 0):
        for i in range(count):
            for value in [*GARBAGE, *live]:
                args = [base] * count
                args[i] = value
                out.append((tuple(args), {}))
    return out


@pytest.mark.parametrize("name", SPEC_FUNCTIONS)
def test_no_input_makes_a_function_raise(server: Server, name: str) -> None:
    fn = getattr(win32, name)
    for args, kwargs in _calls(fn, [server.queue, server.session, server.group]):
        result = fn(*args, **kwargs)
        if name == "HttpIsFeatureSupported":
            assert isinstance(result, bool)
        else:
            assert type(result) is int, (name, args, kwargs)
    # Undo what the garbage may have changed in the process-wide state.
    while HttpTerminate(HTTP_INITIALIZE_SERVER, None) == NO_ERROR:
        pass
    while HttpTerminate(HTTP_INITIALIZE_CONFIG, None) == NO_ERROR:
        pass
    assert (
        HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER | HTTP_INITIALIZE_CONFIG, None) == NO_ERROR
    )


def test_every_function_has_a_docstring_and_the_module_lists_them() -> None:
    assert sorted(api.__all__) == sorted(SPEC_FUNCTIONS)
    for name in SPEC_FUNCTIONS:
        assert getattr(win32, name).__doc__
