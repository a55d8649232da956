"""Code ported from .NET's HttpListener or ASP.NET Core's HttpSys server runs as written (issue 13, item 2).

Those ports declare every property struct's ``Flags`` as a plain ULONG and write the names of their interop
tables: ``info.Flags = HTTP_PROPERTY_FLAG_PRESENT``, ``HttpInitialize(..., HTTP_INITIALIZE_SERVER |
HTTP_INITIALIZE_CBT, ...)``. Here a server is built that way end to end, every struct with an HTTP_PROPERTY_FLAGS
field takes the int, and a wrong flags value answers ERROR_INVALID_PARAMETER without changing anything.
"""

from __future__ import annotations

import ctypes
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from httpsys.win32 import *

from .harness import RawClient, Server, configure_transport, free_port, receive, respond, set_verbosity


def set_property(server: Server, target: str, prop: int, info: object) -> int:
    if target == "session":
        return HttpSetServerSessionProperty(server.session, prop, info, sizeof(info))
    return HttpSetUrlGroupProperty(server.group, prop, info, sizeof(info))


def query_property(server: Server, target: str, prop: int, info: object) -> int:
    returned = ctypes.c_ulong()
    if target == "session":
        return HttpQueryServerSessionProperty(server.session, prop, info, sizeof(info), returned)
    return HttpQueryUrlGroupProperty(server.group, prop, info, sizeof(info), returned)


def test_a_server_written_as_httplistener_writes_it_binds_and_serves_a_request(client) -> None:
    configure_transport()
    # HttpListener before Windows 7: probe extended protection with HTTP_INITIALIZE_CBT.
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER | HTTP_INITIALIZE_CBT, None) == NO_ERROR
    try:
        session, group, queue = ctypes.c_ulonglong(), ctypes.c_ulonglong(), ctypes.c_void_p()
        assert HttpCreateServerSession(HTTPAPI_VERSION_2, session, 0) == NO_ERROR
        assert HttpCreateUrlGroup(session.value, group, 0) == NO_ERROR
        assert HttpCreateRequestQueue(HTTPAPI_VERSION_2, None, None, 0, queue) == NO_ERROR

        info = HTTP_BINDING_INFO()
        info.Flags = HTTP_PROPERTY_FLAG_PRESENT
        info.RequestQueueHandle = queue.value
        assert HttpSetUrlGroupProperty(group.value, HttpServerBindingProperty, info, sizeof(info)) == NO_ERROR

        timeouts = HTTP_TIMEOUT_LIMIT_INFO()
        timeouts.Flags = HTTP_PROPERTY_FLAG_PRESENT
        timeouts.IdleConnection = 30
        assert (
            HttpSetUrlGroupProperty(group.value, HttpServerTimeoutsProperty, timeouts, sizeof(timeouts))
            == NO_ERROR
        )

        port = free_port()
        assert HttpAddUrlToUrlGroup(group.value, f"http://+:{port}/app/", 7, 0) == NO_ERROR
        c = client(port)
        c.get("/app/hello", port)
        request = receive(queue.value)
        assert request.UrlContext == 7 and request.CookedUrl.pAbsPath == "/app/hello"
        code, _ = respond(
            queue.value, request.RequestId, b"ported", known={HttpHeaderContentType: b"text/plain"}
        )
        assert code == NO_ERROR
        status, headers, body = c.recv_response()
        assert (status, headers[b"content-type"], body) == (b"HTTP/1.1 200 OK", b"text/plain", b"ported")

        bound = HTTP_BINDING_INFO()
        returned = ctypes.c_ulong()
        assert (
            HttpQueryUrlGroupProperty(group.value, HttpServerBindingProperty, bound, sizeof(bound), returned)
            == NO_ERROR
        )
        assert bound.Flags.Present == 1 and bound.RequestQueueHandle == queue.value

        # Unbinding the way the ports do it: Flags = HTTP_PROPERTY_FLAG_NONE, no handle.
        info.Flags = HTTP_PROPERTY_FLAG_NONE
        info.RequestQueueHandle = None
        assert HttpSetUrlGroupProperty(group.value, HttpServerBindingProperty, info, sizeof(info)) == NO_ERROR
        other = client(port)
        other.get("/app/hello", port)
        assert other.closed_by_peer() in ("reset", "eof") and other.buf == b""  # no queue: Basic verbosity

        assert HttpCloseRequestQueue(queue.value) == NO_ERROR
        assert HttpCloseUrlGroup(group.value) == NO_ERROR
        assert HttpCloseServerSession(session.value) == NO_ERROR
    finally:
        assert HttpTerminate(HTTP_INITIALIZE_SERVER, None) == NO_ERROR


def test_http_initialize_cbt_alone_is_invalid_parameter_as_http_demand_cbt_is() -> None:
    configure_transport()
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_CBT, None) == ERROR_INVALID_PARAMETER
    assert HttpCreateServerSession(HTTPAPI_VERSION_2, ctypes.c_ulonglong(), 0) == ERROR_DLL_INIT_FAILED


def test_raw_header_is_the_buffer_data_bit_and_an_entity_body_first_is_invalid_parameter(
    server: Server, client
) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request = server.receive()
    raw = memory_chunk_of(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
    sent = ctypes.c_ulong()
    # The pre-Vista use (headers written by the application on the first HttpSendResponseEntityBody) is not
    # there: no response was started, so the call is invalid and nothing reaches the client.
    assert (
        HttpSendResponseEntityBody(
            server.queue,
            request.RequestId,
            HTTP_SEND_RESPONSE_FLAG_RAW_HEADER,
            1,
            [raw],
            sent,
            None,
            0,
            None,
            None,
        )
        == ERROR_INVALID_PARAMETER
    )
    assert c.closed_by_peer(0.2) == "open" and c.buf == b""
    code, _ = respond(server.queue, request.RequestId, b"buffered", flags=HTTP_SEND_RESPONSE_FLAG_RAW_HEADER)
    assert code == NO_ERROR
    assert c.recv_response()[2] == b"buffered"


def memory_chunk_of(data: bytes) -> HTTP_DATA_CHUNK:
    return HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromMemory, FromMemory=HTTP_DATA_CHUNK_FROM_MEMORY(data)
    )


# ----- every struct whose Flags is an HTTP_PROPERTY_FLAGS ------------------------------------------------------


@dataclass(frozen=True)
class PropertyCase:
    """How a port sets one property: where, which, the struct built around a Flags value, and what to read back."""

    target: str  # "session" or "group"
    prop: int
    build: Callable[[Server, object], object]
    empty: Callable[[], object] | None  # a struct to query into; None: the property cannot be queried
    stored: Callable[[object], object] | None = None  # what the query must show after the set


_LOG_DIR = tempfile.mkdtemp(prefix="httpsys-ported-logs-")

CASES: dict[str, PropertyCase] = {
    "HTTP_BINDING_INFO": PropertyCase(
        "group",
        HttpServerBindingProperty,
        lambda s, flags: HTTP_BINDING_INFO(flags, s.queue),
        HTTP_BINDING_INFO,
        lambda out: out.RequestQueueHandle is not None,
    ),
    "HTTP_TIMEOUT_LIMIT_INFO": PropertyCase(
        "session",
        HttpServerTimeoutsProperty,
        lambda s, flags: HTTP_TIMEOUT_LIMIT_INFO(Flags=flags, EntityBody=11, HeaderWait=12, MinSendRate=400),
        HTTP_TIMEOUT_LIMIT_INFO,
        lambda out: (out.EntityBody, out.HeaderWait, out.MinSendRate) == (11, 12, 400),
    ),
    "HTTP_STATE_INFO": PropertyCase(
        "group",
        HttpServerStateProperty,
        lambda s, flags: HTTP_STATE_INFO(flags, HttpEnabledStateInactive),
        HTTP_STATE_INFO,
        lambda out: out.State == HttpEnabledStateInactive,
    ),
    "HTTP_BANDWIDTH_LIMIT_INFO": PropertyCase(
        "session",
        HttpServerQosProperty,
        lambda s, flags: HTTP_QOS_SETTING_INFO(
            HttpQosSettingTypeBandwidth, HTTP_BANDWIDTH_LIMIT_INFO(flags, 4096)
        ),
        lambda: HTTP_QOS_SETTING_INFO(HttpQosSettingTypeBandwidth, HTTP_BANDWIDTH_LIMIT_INFO()),
        lambda out: out.QosSetting.MaxBandwidth == 4096,
    ),
    "HTTP_CONNECTION_LIMIT_INFO": PropertyCase(
        "group",
        HttpServerQosProperty,
        lambda s, flags: HTTP_QOS_SETTING_INFO(
            HttpQosSettingTypeConnectionLimit, HTTP_CONNECTION_LIMIT_INFO(flags, 9)
        ),
        lambda: HTTP_QOS_SETTING_INFO(HttpQosSettingTypeConnectionLimit, HTTP_CONNECTION_LIMIT_INFO()),
        lambda out: out.QosSetting.MaxConnections == 9,
    ),
    "HTTP_SERVER_AUTHENTICATION_INFO": PropertyCase(
        "session",
        HttpServerAuthenticationProperty,
        lambda s, flags: HTTP_SERVER_AUTHENTICATION_INFO(Flags=flags, AuthSchemes=HTTP_AUTH_ENABLE_NEGOTIATE),
        HTTP_SERVER_AUTHENTICATION_INFO,
        lambda out: out.AuthSchemes == HTTP_AUTH_ENABLE_NEGOTIATE,
    ),
    "HTTP_LISTEN_ENDPOINT_INFO": PropertyCase(
        "group",
        HttpServerListenEndpointProperty,
        lambda s, flags: HTTP_LISTEN_ENDPOINT_INFO(flags, 1),
        HTTP_LISTEN_ENDPOINT_INFO,
        lambda out: out.EnableSharing == 1,
    ),
    "HTTP_PROTECTION_LEVEL_INFO": PropertyCase(
        "group",
        HttpServerProtectionLevelProperty,
        lambda s, flags: HTTP_PROTECTION_LEVEL_INFO(flags, HttpProtectionLevelEdgeRestricted),
        HTTP_PROTECTION_LEVEL_INFO,
        lambda out: out.Level == HttpProtectionLevelEdgeRestricted,
    ),
    "HTTP_LOGGING_INFO": PropertyCase(
        "session",
        HttpServerLoggingProperty,
        lambda s, flags: HTTP_LOGGING_INFO(
            Flags=flags,
            DirectoryName=_LOG_DIR,
            Format=HttpLoggingTypeW3C,
            Fields=HTTP_LOG_FIELD_DATE,
            RolloverType=HttpLoggingRolloverDaily,
        ),
        None,  # settable, not queryable (spec §3.6)
    ),
}

WRONG_FLAGS = [
    2,
    3,
    0x80000001,
    0xFFFFFFFF,
    -1,
    HTTP_PROPERTY_FLAGS(2),
    HTTP_PROPERTY_FLAGS(0xFFFFFFFF),
    "1",
    None,
]


def query(server: Server, case: PropertyCase) -> object:
    assert case.empty is not None
    out = case.empty()
    assert query_property(server, case.target, case.prop, out) == NO_ERROR
    return out


def flags_of(out: object) -> HTTP_PROPERTY_FLAGS:
    holder = out.QosSetting if isinstance(out, HTTP_QOS_SETTING_INFO) else out
    flags = holder.Flags  # type: ignore[attr-defined]
    assert isinstance(flags, HTTP_PROPERTY_FLAGS)  # a query writes the struct form
    return flags


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_int_http_property_flag_present_sets_the_property_as_the_struct_does(
    server: Server, name: str
) -> None:
    case = CASES[name]
    assert (
        set_property(server, case.target, case.prop, case.build(server, HTTP_PROPERTY_FLAG_PRESENT))
        == NO_ERROR
    )
    if case.empty is not None and case.stored is not None:
        out = query(server, case)
        assert flags_of(out).Present == 1 and case.stored(out)
    # the same call with the struct form is the same
    assert (
        set_property(server, case.target, case.prop, case.build(server, HTTP_PROPERTY_FLAGS(1))) == NO_ERROR
    )


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("wrong", WRONG_FLAGS, ids=repr)
def test_any_other_flags_value_is_invalid_parameter_and_changes_nothing(
    server: Server, name: str, wrong: object
) -> None:
    case = CASES[name]
    assert (
        set_property(server, case.target, case.prop, case.build(server, HTTP_PROPERTY_FLAG_PRESENT))
        == NO_ERROR
    )
    assert set_property(server, case.target, case.prop, case.build(server, wrong)) == ERROR_INVALID_PARAMETER
    if case.empty is not None and case.stored is not None:
        out = query(server, case)
        assert flags_of(out).Present == 1 and case.stored(out)


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.empty is not None))
def test_the_int_http_property_flag_none_clears_the_property(server: Server, name: str) -> None:
    case = CASES[name]
    assert (
        set_property(server, case.target, case.prop, case.build(server, HTTP_PROPERTY_FLAG_PRESENT))
        == NO_ERROR
    )
    assert (
        set_property(server, case.target, case.prop, case.build(server, HTTP_PROPERTY_FLAG_NONE)) == NO_ERROR
    )
    out = query(server, case)
    assert case.stored is not None and not case.stored(out)


def test_a_connection_limit_set_with_the_int_flag_limits_connections(server: Server, client) -> None:
    limit = HTTP_CONNECTION_LIMIT_INFO()
    limit.Flags = HTTP_PROPERTY_FLAG_PRESENT
    limit.MaxConnections = 1
    info = HTTP_QOS_SETTING_INFO(HttpQosSettingTypeConnectionLimit, limit)
    assert set_property(server, "group", HttpServerQosProperty, info) == NO_ERROR
    set_verbosity(server.queue, Http503ResponseVerbosityLimited)
    first = client(server.port)
    first.get("/", server.port)
    request = server.receive()
    second: RawClient = client(server.port)
    second.get("/", server.port)
    outcome = second.closed_by_peer()  # 503 ConnLimit, or a reset at the driver-wide Basic verbosity
    assert outcome in ("reset", "eof") or second.buf.startswith(b"HTTP/1.1 503 ")
    assert respond(server.queue, request.RequestId, b"first")[0] == NO_ERROR
    assert first.recv_response()[2] == b"first"
