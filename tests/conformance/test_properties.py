"""Server-session and URL-group properties with their structs, lengths and ERROR_MORE_DATA (§2.2, §3.6, §3.7)."""

from __future__ import annotations

import ctypes
import tempfile
import time

import pytest

from httpsys.win32 import *

from .harness import Server, create_group, create_session, receive, respond, set_verbosity


def set_session(session: int, prop: int, info: object, length: int | None = None) -> int:
    return HttpSetServerSessionProperty(session, prop, info, sizeof(info) if length is None else length)


def set_group(group: int, prop: int, info: object, length: int | None = None) -> int:
    return HttpSetUrlGroupProperty(group, prop, info, sizeof(info) if length is None else length)


def query_session(session: int, prop: int, info: object, length: int | None = None) -> tuple[int, int]:
    returned = ctypes.c_ulong(0xAAAA)
    code = HttpQueryServerSessionProperty(
        session, prop, info, sizeof(info) if length is None else length, returned
    )
    return code, returned.value


def query_group(group: int, prop: int, info: object, length: int | None = None) -> tuple[int, int]:
    returned = ctypes.c_ulong(0xAAAA)
    code = HttpQueryUrlGroupProperty(group, prop, info, sizeof(info) if length is None else length, returned)
    return code, returned.value


def timeouts(**values: int) -> HTTP_TIMEOUT_LIMIT_INFO:
    return HTTP_TIMEOUT_LIMIT_INFO(Flags=HTTP_PROPERTY_FLAGS(1), **values)


def test_timeouts_round_trip_on_sessions_and_groups(initialized: None) -> None:
    session = create_session()
    group = create_group(session)
    assert (
        set_session(session, HttpServerTimeoutsProperty, timeouts(EntityBody=30, MinSendRate=300)) == NO_ERROR
    )
    assert set_group(group, HttpServerTimeoutsProperty, timeouts(IdleConnection=7, HeaderWait=9)) == NO_ERROR
    out = HTTP_TIMEOUT_LIMIT_INFO()
    assert query_session(session, HttpServerTimeoutsProperty, out) == (NO_ERROR, 20)
    assert (out.EntityBody, out.MinSendRate, out.IdleConnection) == (30, 300, 0)
    assert out.Flags.Present == 1
    assert query_group(group, HttpServerTimeoutsProperty, out) == (NO_ERROR, 20)
    assert (out.IdleConnection, out.HeaderWait, out.EntityBody) == (7, 9, 0)


def test_present_zero_clears_a_property(initialized: None) -> None:
    session = create_session()
    assert set_session(session, HttpServerTimeoutsProperty, timeouts(EntityBody=30)) == NO_ERROR
    assert (
        set_session(session, HttpServerTimeoutsProperty, HTTP_TIMEOUT_LIMIT_INFO(EntityBody=99)) == NO_ERROR
    )
    out = HTTP_TIMEOUT_LIMIT_INFO()
    assert query_session(session, HttpServerTimeoutsProperty, out)[0] == NO_ERROR
    assert out.EntityBody == 0


def test_property_information_must_be_the_struct_of_at_least_its_size(initialized: None) -> None:
    session = create_session()
    info = timeouts(EntityBody=30)
    prop = HttpServerTimeoutsProperty
    assert set_session(session, prop, info, 19) == ERROR_INVALID_PARAMETER
    assert set_session(session, prop, info, 0) == ERROR_INVALID_PARAMETER
    assert HttpSetServerSessionProperty(session, prop, None, 20) == ERROR_INVALID_PARAMETER
    assert set_session(session, prop, HTTP_STATE_INFO(), 20) == ERROR_INVALID_PARAMETER
    assert set_session(session, prop, info, 64) == NO_ERROR  # a larger buffer is fine
    assert set_session(session, 0x7777, info) == ERROR_INVALID_PARAMETER


def test_query_with_a_small_buffer_is_more_data_with_the_needed_length(initialized: None) -> None:
    session = create_session()
    out = HTTP_TIMEOUT_LIMIT_INFO()
    assert query_session(session, HttpServerTimeoutsProperty, out, 8) == (ERROR_MORE_DATA, 20)
    assert query_session(session, HttpServerTimeoutsProperty, out, 0)[0] == ERROR_INVALID_PARAMETER
    assert (
        query_session(session, HttpServerTimeoutsProperty, HTTP_STATE_INFO(), 20)[0]
        == ERROR_INVALID_PARAMETER
    )
    group = create_group(session)
    assert query_group(group, HttpServerStateProperty, HTTP_STATE_INFO(), 4) == (ERROR_MORE_DATA, 8)
    returned = "not a holder"
    assert HttpQueryServerSessionProperty(session, HttpServerTimeoutsProperty, out, 20, returned) == (
        ERROR_INVALID_PARAMETER
    )


def test_unknown_session_or_group_ids_are_invalid_parameter(initialized: None) -> None:
    info = timeouts(EntityBody=30)
    assert set_session(0xDEAD, HttpServerTimeoutsProperty, info) == ERROR_INVALID_PARAMETER
    assert set_group(0xDEAD, HttpServerTimeoutsProperty, info) == ERROR_INVALID_PARAMETER
    assert (
        query_session(0xDEAD, HttpServerTimeoutsProperty, HTTP_TIMEOUT_LIMIT_INFO())[0]
        == ERROR_INVALID_PARAMETER
    )
    assert (
        query_group(0xDEAD, HttpServerTimeoutsProperty, HTTP_TIMEOUT_LIMIT_INFO())[0]
        == ERROR_INVALID_PARAMETER
    )


def test_group_only_properties_are_invalid_on_sessions(initialized: None) -> None:
    session = create_session()
    binding = HTTP_BINDING_INFO(HTTP_PROPERTY_FLAGS(0), None)
    assert set_session(session, HttpServerBindingProperty, binding) == ERROR_INVALID_PARAMETER
    assert set_session(session, HttpServerListenEndpointProperty, HTTP_LISTEN_ENDPOINT_INFO()) == (
        ERROR_INVALID_PARAMETER
    )
    assert (
        set_session(session, HttpServerQueueLengthProperty, ctypes.c_ulong(5), 4) == ERROR_INVALID_PARAMETER
    )


def test_state_round_trip_and_an_inactive_session_refuses_requests(server: Server, client) -> None:
    out = HTTP_STATE_INFO()
    assert query_session(server.session, HttpServerStateProperty, out) == (NO_ERROR, 8)
    assert out.State == HttpEnabledStateActive
    inactive = HTTP_STATE_INFO(HTTP_PROPERTY_FLAGS(1), HttpEnabledStateInactive)
    assert set_session(server.session, HttpServerStateProperty, inactive) == NO_ERROR
    assert query_session(server.session, HttpServerStateProperty, out)[0] == NO_ERROR
    assert out.State == HttpEnabledStateInactive
    set_verbosity(server.queue, Http503ResponseVerbosityLimited)
    c = client(server.port)
    c.get("/", server.port)
    assert c.recv_response()[0] == b"HTTP/1.1 503 Service Unavailable"
    assert set_session(
        server.session, HttpServerStateProperty, HTTP_STATE_INFO(HTTP_PROPERTY_FLAGS(1), 5)
    ) == (ERROR_INVALID_PARAMETER)


def test_group_state_inactive_refuses_its_requests(server: Server, client) -> None:
    set_verbosity(server.queue, Http503ResponseVerbosityLimited)
    inactive = HTTP_STATE_INFO(HTTP_PROPERTY_FLAGS(1), HttpEnabledStateInactive)
    assert set_group(server.group, HttpServerStateProperty, inactive) == NO_ERROR
    c = client(server.port)
    c.get("/", server.port)
    assert c.recv_response()[0] == b"HTTP/1.1 503 Service Unavailable"


def bandwidth(rate: int, present: int = 1) -> HTTP_QOS_SETTING_INFO:
    return HTTP_QOS_SETTING_INFO(
        HttpQosSettingTypeBandwidth, HTTP_BANDWIDTH_LIMIT_INFO(HTTP_PROPERTY_FLAGS(present), rate)
    )


def test_qos_bandwidth_limits_and_queries(initialized: None) -> None:
    session = create_session()
    assert set_session(session, HttpServerQosProperty, bandwidth(100)) == ERROR_INVALID_PARAMETER
    assert set_session(
        session, HttpServerQosProperty, bandwidth(HTTP_MIN_ALLOWED_BANDWIDTH_THROTTLING_RATE)
    ) == (NO_ERROR)
    out = HTTP_QOS_SETTING_INFO(HttpQosSettingTypeBandwidth, HTTP_BANDWIDTH_LIMIT_INFO())
    assert query_session(session, HttpServerQosProperty, out) == (NO_ERROR, 16)
    assert out.QosSetting.MaxBandwidth == 1024 and out.QosSetting.Flags.Present == 1
    assert set_session(session, HttpServerQosProperty, bandwidth(HTTP_LIMIT_INFINITE)) == NO_ERROR
    assert set_session(session, HttpServerQosProperty, bandwidth(0, present=0)) == NO_ERROR
    assert query_session(session, HttpServerQosProperty, out)[0] == NO_ERROR
    assert out.QosSetting.Flags.Present == 0
    wrong = HTTP_QOS_SETTING_INFO(HttpQosSettingTypeBandwidth, HTTP_CONNECTION_LIMIT_INFO())
    assert set_session(session, HttpServerQosProperty, wrong) == ERROR_INVALID_PARAMETER


def test_connection_limit_is_a_group_setting(server: Server, client) -> None:
    limit = HTTP_QOS_SETTING_INFO(
        HttpQosSettingTypeConnectionLimit, HTTP_CONNECTION_LIMIT_INFO(HTTP_PROPERTY_FLAGS(1), 1)
    )
    assert set_session(server.session, HttpServerQosProperty, limit) == ERROR_INVALID_PARAMETER
    assert set_group(server.group, HttpServerQosProperty, limit) == NO_ERROR
    out = HTTP_QOS_SETTING_INFO(HttpQosSettingTypeConnectionLimit)
    assert query_group(server.group, HttpServerQosProperty, out)[0] == NO_ERROR
    assert out.QosSetting.MaxConnections == 1
    set_verbosity(server.queue, Http503ResponseVerbosityLimited)
    first = client(server.port)
    first.get("/", server.port)
    request = server.receive()
    second = client(server.port)
    second.get("/", server.port)
    outcome = second.closed_by_peer()  # 503 ConnLimit, or a reset at the driver-wide Basic verbosity
    assert outcome in ("reset", "eof") or second.buf.startswith(b"HTTP/1.1 503 ")
    respond(server.queue, request.RequestId)
    assert first.recv_response()[0] == b"HTTP/1.1 200 OK"


_LOG_DIR = tempfile.mkdtemp(prefix="httpsys-logs-")


def logging_info(fmt: int = HttpLoggingTypeW3C, directory: str | None = _LOG_DIR) -> HTTP_LOGGING_INFO:
    return HTTP_LOGGING_INFO(
        Flags=HTTP_PROPERTY_FLAGS(1),
        DirectoryName=directory,
        Format=fmt,
        Fields=HTTP_LOG_FIELD_DATE | HTTP_LOG_FIELD_TIME,
        RolloverType=HttpLoggingRolloverDaily,
    )


def test_logging_is_settable_but_not_queryable(initialized: None) -> None:
    session = create_session()
    group = create_group(session)
    assert sizeof(HTTP_LOGGING_INFO) == 72
    assert set_session(session, HttpServerLoggingProperty, logging_info()) == NO_ERROR
    assert set_session(session, HttpServerLoggingProperty, logging_info(HttpLoggingTypeRaw)) == NO_ERROR
    assert set_group(group, HttpServerLoggingProperty, logging_info(HttpLoggingTypeNCSA)) == NO_ERROR
    assert (
        set_group(group, HttpServerLoggingProperty, logging_info(HttpLoggingTypeRaw))
        == ERROR_INVALID_PARAMETER
    )
    assert (
        set_session(session, HttpServerLoggingProperty, logging_info(HttpLoggingTypeIIS))
        == ERROR_INVALID_PARAMETER
    )
    assert (
        set_session(session, HttpServerLoggingProperty, logging_info(directory=None))
        == ERROR_INVALID_PARAMETER
    )
    assert set_session(session, HttpServerLoggingProperty, logging_info(), 71) == ERROR_INVALID_PARAMETER
    both = logging_info()
    both.LoggingFlags = HTTP_LOGGING_FLAG_LOG_ERRORS_ONLY | HTTP_LOGGING_FLAG_LOG_SUCCESS_ONLY
    assert set_session(session, HttpServerLoggingProperty, both) == ERROR_INVALID_PARAMETER
    small = logging_info()
    small.RolloverType, small.RolloverSize = HttpLoggingRolloverSize, 1000
    assert set_session(session, HttpServerLoggingProperty, small) == ERROR_INVALID_PARAMETER
    assert (
        query_session(session, HttpServerLoggingProperty, HTTP_LOGGING_INFO())[0] == ERROR_INVALID_PARAMETER
    )


def test_authentication_round_trip(initialized: None) -> None:
    session = create_session()
    info = HTTP_SERVER_AUTHENTICATION_INFO(
        Flags=HTTP_PROPERTY_FLAGS(1),
        AuthSchemes=HTTP_AUTH_ENABLE_BASIC | HTTP_AUTH_ENABLE_NEGOTIATE,
        ReceiveMutualAuth=1,
        BasicParams=HTTP_SERVER_AUTHENTICATION_BASIC_PARAMS(Realm="realm"),
    )
    assert set_session(session, HttpServerAuthenticationProperty, info) == NO_ERROR
    out = HTTP_SERVER_AUTHENTICATION_INFO()
    assert query_session(session, HttpServerAuthenticationProperty, out) == (NO_ERROR, 64)
    assert out.AuthSchemes == HTTP_AUTH_ENABLE_BASIC | HTTP_AUTH_ENABLE_NEGOTIATE
    assert (
        out.ReceiveMutualAuth == 1 and out.BasicParams.Realm == "realm" and out.BasicParams.RealmLength == 10
    )
    info.AuthSchemes = 0x100
    assert set_session(session, HttpServerAuthenticationProperty, info) == ERROR_INVALID_PARAMETER


def test_channel_bind_round_trip(initialized: None) -> None:
    group = create_group(create_session())
    names = [HTTP_SERVICE_BINDING_W(HTTP_SERVICE_BINDING_BASE(HttpServiceBindingTypeW), "HTTP/host", 18)]
    info = HTTP_CHANNEL_BIND_INFO(HttpAuthenticationHardeningMedium, HTTP_CHANNEL_BIND_PROXY, names, 1)
    assert set_group(group, HttpServerChannelBindProperty, info) == NO_ERROR
    out = HTTP_CHANNEL_BIND_INFO()
    assert query_group(group, HttpServerChannelBindProperty, out) == (NO_ERROR, 24)
    assert (out.Hardening, out.Flags, out.NumberOfServiceNames) == (
        HttpAuthenticationHardeningMedium,
        HTTP_CHANNEL_BIND_PROXY,
        1,
    )
    assert out.ServiceNames[0].Buffer == "HTTP/host"
    info.Hardening = 9
    assert set_group(group, HttpServerChannelBindProperty, info) == ERROR_INVALID_PARAMETER


def test_listen_endpoint_and_protection_level_are_group_properties(initialized: None) -> None:
    group = create_group(create_session())
    assert set_group(
        group, HttpServerListenEndpointProperty, HTTP_LISTEN_ENDPOINT_INFO(HTTP_PROPERTY_FLAGS(1), 1)
    ) == (NO_ERROR)
    endpoint = HTTP_LISTEN_ENDPOINT_INFO()
    assert query_group(group, HttpServerListenEndpointProperty, endpoint)[0] == NO_ERROR
    assert endpoint.EnableSharing == 1
    level = HTTP_PROTECTION_LEVEL_INFO(HTTP_PROPERTY_FLAGS(1), HttpProtectionLevelEdgeRestricted)
    assert set_group(group, HttpServerProtectionLevelProperty, level) == NO_ERROR
    out = HTTP_PROTECTION_LEVEL_INFO()
    assert query_group(group, HttpServerProtectionLevelProperty, out)[0] == NO_ERROR
    assert out.Level == HttpProtectionLevelEdgeRestricted
    restricted = HTTP_PROTECTION_LEVEL_INFO(HTTP_PROPERTY_FLAGS(1), HttpProtectionLevelRestricted)
    assert set_group(group, HttpServerProtectionLevelProperty, restricted) == ERROR_INVALID_PARAMETER


def test_binding_query_reports_the_bound_queue(server: Server) -> None:
    out = HTTP_BINDING_INFO()
    assert query_group(server.group, HttpServerBindingProperty, out) == (NO_ERROR, 16)
    assert out.Flags.Present == 1 and out.RequestQueueHandle == server.queue
    assert set_group(server.group, HttpServerBindingProperty, HTTP_BINDING_INFO()) == NO_ERROR
    assert query_group(server.group, HttpServerBindingProperty, out)[0] == NO_ERROR
    assert out.Flags.Present == 0 and out.RequestQueueHandle is None


@pytest.mark.parametrize("prop", [HttpServerBindingProperty, HttpServerDelegationProperty])
def test_binding_info_length_is_checked(server: Server, prop: int) -> None:
    info = HTTP_BINDING_INFO(HTTP_PROPERTY_FLAGS(1), server.queue)
    assert sizeof(HTTP_BINDING_INFO) == 16
    assert set_group(server.group, prop, info, 15) == ERROR_INVALID_PARAMETER
    assert set_group(server.group, prop, HTTP_STATE_INFO(), 16) == ERROR_INVALID_PARAMETER
    assert set_group(server.group, prop, info) == NO_ERROR


def test_header_wait_timer_closes_a_silent_connection(server: Server, client) -> None:
    limits = timeouts(HeaderWait=1, IdleConnection=1)
    assert set_group(server.group, HttpServerTimeoutsProperty, limits) == NO_ERROR
    c = client(server.port)
    c.get("/", server.port)
    respond(server.queue, receive(server.queue).RequestId)
    c.recv_response()
    started = time.monotonic()
    c.send(b"GET / HTTP/1.1\r\n")  # an unfinished head
    assert c.closed_by_peer(5) in ("eof", "reset")
    assert time.monotonic() - started < 4
