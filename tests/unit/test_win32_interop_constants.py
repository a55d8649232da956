"""Every constant of the .NET interop tables for HTTP.sys comes out of ``from httpsys.win32 import *`` with its value.

Code ported from ASP.NET Core's HttpSys server or from .NET's HttpListener writes the names of their interop tables
(``info.Flags = HTTP_PROPERTY_FLAG_PRESENT``, ``HTTP_INITIALIZE_CBT`` ...). The tables below list every constant
of those tables with the value the table gives it, written from the public sources named above each table (names
and values only). Where a table uses a C#-style member name (``HTTP_REQUEST_FLAGS.MoreEntityBodyExists``), the row
holds the http.h name of the same constant, with the C# name in a comment. Members without an ``HTTP_*`` /
``Http*`` name (``HTTP_TIMEOUT_TYPE.EntityBody``, ``MaxTimeout`` ...) are not exported; they are listed at the end
and checked against the structures they describe.
"""

from __future__ import annotations

from enum import IntEnum

import pytest

import httpsys.win32 as win32
from httpsys.win32 import *
from httpsys.win32 import constants
from httpsys.win32.structs import fields_of

# --------------------------------------------------------------------------------------------------------------
# ASP.NET Core's HttpSys server: dotnet/aspnetcore, src/Shared/HttpSys/NativeInterop/HttpApiTypes.cs, class
# HttpApiTypes, in the releases before its types moved to CsWin32-generated code (the table with
# HttpServerDelegationProperty = 16, HTTP_FEATURE_ID up to HttpFeatureDelegateEx and HTTP_INITIALIZE_CONFIG).
# --------------------------------------------------------------------------------------------------------------

ASPNETCORE_HTTPAPITYPES: list[tuple[str, int]] = [
    # enum HTTP_SERVER_PROPERTY
    ("HttpServerAuthenticationProperty", 0),
    ("HttpServerLoggingProperty", 1),
    ("HttpServerQosProperty", 2),
    ("HttpServerTimeoutsProperty", 3),
    ("HttpServerQueueLengthProperty", 4),
    ("HttpServerStateProperty", 5),
    ("HttpServer503VerbosityProperty", 6),
    ("HttpServerBindingProperty", 7),
    ("HttpServerExtendedAuthenticationProperty", 8),
    ("HttpServerListenEndpointProperty", 9),
    ("HttpServerChannelBindProperty", 10),
    ("HttpServerProtectionLevelProperty", 11),
    ("HttpServerDelegationProperty", 16),
    # enum HTTP_REQUEST_INFO_TYPE (older releases listed SslTokenBinding right after SslProtocol, without
    # the Draft, so at 3; http.h, HttpListener and later releases: Draft 3, SslTokenBinding 4)
    ("HttpRequestInfoTypeAuth", 0),
    ("HttpRequestInfoTypeChannelBind", 1),
    ("HttpRequestInfoTypeSslProtocol", 2),
    ("HttpRequestInfoTypeSslTokenBindingDraft", 3),
    ("HttpRequestInfoTypeSslTokenBinding", 4),
    ("HttpRequestInfoTypeRequestTiming", 5),
    ("HttpRequestInfoTypeTcpInfoV0", 6),
    ("HttpRequestInfoTypeRequestSizing", 7),
    ("HttpRequestInfoTypeQuicStats", 8),
    ("HttpRequestInfoTypeTcpInfoV1", 9),
    # enum HTTP_RESPONSE_INFO_TYPE (the table spells the third "Qos", http.h "QoS"; both names are exported)
    ("HttpResponseInfoTypeMultipleKnownHeaders", 0),
    ("HttpResponseInfoTypeAuthenticationProperty", 1),
    ("HttpResponseInfoTypeQosProperty", 2),
    # enum HTTP_REQUEST_PROPERTY
    ("HttpRequestPropertyIsb", 0),
    ("HttpRequestPropertyTcpInfoV0", 1),
    ("HttpRequestPropertyQuicStats", 2),
    ("HttpRequestPropertyTcpInfoV1", 3),
    ("HttpRequestPropertySni", 4),
    ("HttpRequestPropertyStreamError", 5),
    # enum HTTP_DELEGATE_REQUEST_PROPERTY_ID
    ("DelegateRequestReservedProperty", 0),
    ("DelegateRequestDelegateUrlProperty", 1),
    # enum HTTP_FEATURE_ID
    ("HttpFeatureUnknown", 0),
    ("HttpFeatureResponseTrailers", 1),
    ("HttpFeatureApiTimings", 2),
    ("HttpFeatureDelegateEx", 3),
    # const HTTP_REQUEST_PROPERTY_SNI_HOST_MAX_LENGTH; enum HTTP_REQUEST_PROPERTY_SNI_FLAGS
    ("HTTP_REQUEST_PROPERTY_SNI_HOST_MAX_LENGTH", 255),
    ("HTTP_REQUEST_PROPERTY_SNI_FLAG_SNI_USED", 0x1),
    ("HTTP_REQUEST_PROPERTY_SNI_FLAG_NO_SNI", 0x2),
    # enum HTTP_CACHE_POLICY_TYPE
    ("HttpCachePolicyNocache", 0),
    ("HttpCachePolicyUserInvalidates", 1),
    ("HttpCachePolicyTimeToLive", 2),
    # enum HTTP_SERVICE_BINDING_TYPE
    ("HttpServiceBindingTypeNone", 0),
    ("HttpServiceBindingTypeW", 1),
    ("HttpServiceBindingTypeA", 2),
    # enum HTTP_VERB
    ("HttpVerbUnparsed", 0),
    ("HttpVerbUnknown", 1),
    ("HttpVerbInvalid", 2),
    ("HttpVerbOPTIONS", 3),
    ("HttpVerbGET", 4),
    ("HttpVerbHEAD", 5),
    ("HttpVerbPOST", 6),
    ("HttpVerbPUT", 7),
    ("HttpVerbDELETE", 8),
    ("HttpVerbTRACE", 9),
    ("HttpVerbCONNECT", 10),
    ("HttpVerbTRACK", 11),
    ("HttpVerbMOVE", 12),
    ("HttpVerbCOPY", 13),
    ("HttpVerbPROPFIND", 14),
    ("HttpVerbPROPPATCH", 15),
    ("HttpVerbMKCOL", 16),
    ("HttpVerbLOCK", 17),
    ("HttpVerbUNLOCK", 18),
    ("HttpVerbSEARCH", 19),
    ("HttpVerbMaximum", 20),
    # enum HTTP_DATA_CHUNK_TYPE
    ("HttpDataChunkFromMemory", 0),
    ("HttpDataChunkFromFileHandle", 1),
    ("HttpDataChunkFromFragmentCache", 2),
    ("HttpDataChunkFromFragmentCacheEx", 3),
    ("HttpDataChunkTrailers", 4),
    ("HttpDataChunkMaximum", 5),
    # enum HTTP_RESPONSE_INFO_FLAGS: PreserveOrder
    ("HTTP_RESPONSE_INFO_FLAGS_PRESERVE_ORDER", 1),
    # enum HTTP_REQUEST_FLAGS: MoreEntityBodyExists, IPRouted, Http2, Http3
    ("HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS", 1),
    ("HTTP_REQUEST_FLAG_IP_ROUTED", 2),
    ("HTTP_REQUEST_FLAG_HTTP2", 4),
    ("HTTP_REQUEST_FLAG_HTTP3", 8),
    # enum HTTP_AUTH_STATUS
    ("HttpAuthStatusSuccess", 0),
    ("HttpAuthStatusNotAuthenticated", 1),
    ("HttpAuthStatusFailure", 2),
    # enum HTTP_REQUEST_AUTH_TYPE
    ("HttpRequestAuthTypeNone", 0),
    ("HttpRequestAuthTypeBasic", 1),
    ("HttpRequestAuthTypeDigest", 2),
    ("HttpRequestAuthTypeNTLM", 3),
    ("HttpRequestAuthTypeNegotiate", 4),
    ("HttpRequestAuthTypeKerberos", 5),
    # enum HTTP_QOS_SETTING_TYPE
    ("HttpQosSettingTypeBandwidth", 0),
    ("HttpQosSettingTypeConnectionLimit", 1),
    ("HttpQosSettingTypeFlowRate", 2),
    # enum HTTP_FLAGS ("see http.w for definitions"); its NONE is the property flag's "not present"
    ("HTTP_PROPERTY_FLAG_NONE", 0x0),
    ("HTTP_RECEIVE_REQUEST_FLAG_COPY_BODY", 0x1),
    ("HTTP_RECEIVE_SECURE_CHANNEL_TOKEN", 0x1),
    ("HTTP_SEND_RESPONSE_FLAG_DISCONNECT", 0x1),
    ("HTTP_SEND_RESPONSE_FLAG_MORE_DATA", 0x2),
    ("HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA", 0x4),
    ("HTTP_SEND_RESPONSE_FLAG_RAW_HEADER", 0x4),
    ("HTTP_SEND_REQUEST_FLAG_MORE_DATA", 0x1),
    ("HTTP_PROPERTY_FLAG_PRESENT", 0x1),
    ("HTTP_INITIALIZE_SERVER", 0x1),
    ("HTTP_INITIALIZE_CONFIG", 0x2),
    ("HTTP_INITIALIZE_CBT", 0x4),
    ("HTTP_SEND_RESPONSE_FLAG_OPAQUE", 0x40),
    ("HTTP_SEND_RESPONSE_FLAG_GOAWAY", 0x100),
    # enum HTTP_AUTH_EX_FLAGS
    ("HTTP_AUTH_EX_FLAG_ENABLE_KERBEROS_CREDENTIAL_CACHING", 1),
    ("HTTP_AUTH_EX_FLAG_CAPTURE_CREDENTIAL", 2),
    # enum HTTP_AUTH_TYPES
    ("HTTP_AUTH_ENABLE_BASIC", 0x1),
    ("HTTP_AUTH_ENABLE_DIGEST", 0x2),
    ("HTTP_AUTH_ENABLE_NTLM", 0x4),
    ("HTTP_AUTH_ENABLE_NEGOTIATE", 0x8),
    ("HTTP_AUTH_ENABLE_KERBEROS", 0x10),
    # enum HTTP_CREATE_REQUEST_QUEUE_FLAG: OpenExisting, Controller, Delegation
    ("HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING", 1),
    ("HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER", 2),
    ("HTTP_CREATE_REQUEST_QUEUE_FLAG_DELEGATION", 8),
    # HTTP_RESPONSE_HEADER_ID.Enum
    ("HttpHeaderCacheControl", 0),
    ("HttpHeaderConnection", 1),
    ("HttpHeaderDate", 2),
    ("HttpHeaderKeepAlive", 3),
    ("HttpHeaderPragma", 4),
    ("HttpHeaderTrailer", 5),
    ("HttpHeaderTransferEncoding", 6),
    ("HttpHeaderUpgrade", 7),
    ("HttpHeaderVia", 8),
    ("HttpHeaderWarning", 9),
    ("HttpHeaderAllow", 10),
    ("HttpHeaderContentLength", 11),
    ("HttpHeaderContentType", 12),
    ("HttpHeaderContentEncoding", 13),
    ("HttpHeaderContentLanguage", 14),
    ("HttpHeaderContentLocation", 15),
    ("HttpHeaderContentMd5", 16),
    ("HttpHeaderContentRange", 17),
    ("HttpHeaderExpires", 18),
    ("HttpHeaderLastModified", 19),
    ("HttpHeaderAcceptRanges", 20),
    ("HttpHeaderAge", 21),
    ("HttpHeaderEtag", 22),
    ("HttpHeaderLocation", 23),
    ("HttpHeaderProxyAuthenticate", 24),
    ("HttpHeaderRetryAfter", 25),
    ("HttpHeaderServer", 26),
    ("HttpHeaderSetCookie", 27),
    ("HttpHeaderVary", 28),
    ("HttpHeaderWwwAuthenticate", 29),
    ("HttpHeaderResponseMaximum", 30),
    ("HttpHeaderMaximum", 41),
]

# --------------------------------------------------------------------------------------------------------------
# .NET's HttpListener: microsoft/referencesource, System/net/System/Net/UnsafeNativeMethods.cs, class
# UnsafeNclNativeMethods (nested ErrorCodes and HttpApi), and dotnet/runtime,
# src/libraries/Common/src/Interop/Windows/HttpApi/Interop.HttpApi.cs and Interop.ErrorCodes.cs (Interop.HttpApi).
# --------------------------------------------------------------------------------------------------------------

HTTPLISTENER_HTTPAPI: list[tuple[str, int]] = [
    # UnsafeNclNativeMethods.ErrorCodes / Interop.HttpApi error codes
    ("ERROR_SUCCESS", 0),
    ("ERROR_HANDLE_EOF", 38),
    ("ERROR_NOT_SUPPORTED", 50),
    ("ERROR_INVALID_PARAMETER", 87),
    ("ERROR_ALREADY_EXISTS", 183),
    ("ERROR_MORE_DATA", 234),
    ("ERROR_OPERATION_ABORTED", 995),
    ("ERROR_IO_PENDING", 997),
    ("ERROR_NOT_FOUND", 1168),
    ("ERROR_CONNECTION_INVALID", 1229),
    # enum HTTP_SERVER_PROPERTY
    ("HttpServerAuthenticationProperty", 0),
    ("HttpServerLoggingProperty", 1),
    ("HttpServerQosProperty", 2),
    ("HttpServerTimeoutsProperty", 3),
    ("HttpServerQueueLengthProperty", 4),
    ("HttpServerStateProperty", 5),
    ("HttpServer503VerbosityProperty", 6),
    ("HttpServerBindingProperty", 7),
    ("HttpServerExtendedAuthenticationProperty", 8),
    ("HttpServerListenEndpointProperty", 9),
    ("HttpServerChannelBindProperty", 10),
    ("HttpServerProtectionLevelProperty", 11),
    # enum HTTP_REQUEST_INFO_TYPE
    ("HttpRequestInfoTypeAuth", 0),
    ("HttpRequestInfoTypeChannelBind", 1),
    ("HttpRequestInfoTypeSslProtocol", 2),
    ("HttpRequestInfoTypeSslTokenBindingDraft", 3),
    ("HttpRequestInfoTypeSslTokenBinding", 4),
    # enum HTTP_RESPONSE_INFO_TYPE
    ("HttpResponseInfoTypeMultipleKnownHeaders", 0),
    ("HttpResponseInfoTypeAuthenticationProperty", 1),
    ("HttpResponseInfoTypeQosProperty", 2),
    # enum HTTP_SERVICE_BINDING_TYPE
    ("HttpServiceBindingTypeNone", 0),
    ("HttpServiceBindingTypeW", 1),
    ("HttpServiceBindingTypeA", 2),
    # enum HTTP_VERB
    ("HttpVerbUnparsed", 0),
    ("HttpVerbUnknown", 1),
    ("HttpVerbInvalid", 2),
    ("HttpVerbOPTIONS", 3),
    ("HttpVerbGET", 4),
    ("HttpVerbHEAD", 5),
    ("HttpVerbPOST", 6),
    ("HttpVerbPUT", 7),
    ("HttpVerbDELETE", 8),
    ("HttpVerbTRACE", 9),
    ("HttpVerbCONNECT", 10),
    ("HttpVerbTRACK", 11),
    ("HttpVerbMOVE", 12),
    ("HttpVerbCOPY", 13),
    ("HttpVerbPROPFIND", 14),
    ("HttpVerbPROPPATCH", 15),
    ("HttpVerbMKCOL", 16),
    ("HttpVerbLOCK", 17),
    ("HttpVerbUNLOCK", 18),
    ("HttpVerbSEARCH", 19),
    ("HttpVerbMaximum", 20),
    # enum HTTP_DATA_CHUNK_TYPE (HttpDataChunkMaximum: see DIFFERENCES)
    ("HttpDataChunkFromMemory", 0),
    ("HttpDataChunkFromFileHandle", 1),
    ("HttpDataChunkFromFragmentCache", 2),
    ("HttpDataChunkMaximum", 3),
    # enum HTTP_FLAGS ("see http.w for definitions"); its NONE is the property flag's "not present"
    ("HTTP_PROPERTY_FLAG_NONE", 0x0),
    ("HTTP_RECEIVE_REQUEST_FLAG_COPY_BODY", 0x1),
    ("HTTP_RECEIVE_SECURE_CHANNEL_TOKEN", 0x1),
    ("HTTP_SEND_RESPONSE_FLAG_DISCONNECT", 0x1),
    ("HTTP_SEND_RESPONSE_FLAG_MORE_DATA", 0x2),
    ("HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA", 0x4),
    ("HTTP_SEND_RESPONSE_FLAG_RAW_HEADER", 0x4),
    ("HTTP_SEND_REQUEST_FLAG_MORE_DATA", 0x1),
    ("HTTP_PROPERTY_FLAG_PRESENT", 0x1),
    ("HTTP_INITIALIZE_SERVER", 0x1),
    ("HTTP_INITIALIZE_CBT", 0x4),
    ("HTTP_SEND_RESPONSE_FLAG_OPAQUE", 0x40),
    # consts HttpHeaderRequestMaximum (HttpRequestHeader.UserAgent + 1), HttpHeaderResponseMaximum
    ("HttpHeaderRequestMaximum", 41),
    ("HttpHeaderResponseMaximum", 30),
    # HTTP_RESPONSE_HEADER_ID.Enum
    ("HttpHeaderCacheControl", 0),
    ("HttpHeaderConnection", 1),
    ("HttpHeaderDate", 2),
    ("HttpHeaderKeepAlive", 3),
    ("HttpHeaderPragma", 4),
    ("HttpHeaderTrailer", 5),
    ("HttpHeaderTransferEncoding", 6),
    ("HttpHeaderUpgrade", 7),
    ("HttpHeaderVia", 8),
    ("HttpHeaderWarning", 9),
    ("HttpHeaderAllow", 10),
    ("HttpHeaderContentLength", 11),
    ("HttpHeaderContentType", 12),
    ("HttpHeaderContentEncoding", 13),
    ("HttpHeaderContentLanguage", 14),
    ("HttpHeaderContentLocation", 15),
    ("HttpHeaderContentMd5", 16),
    ("HttpHeaderContentRange", 17),
    ("HttpHeaderExpires", 18),
    ("HttpHeaderLastModified", 19),
    ("HttpHeaderAcceptRanges", 20),
    ("HttpHeaderAge", 21),
    ("HttpHeaderEtag", 22),
    ("HttpHeaderLocation", 23),
    ("HttpHeaderProxyAuthenticate", 24),
    ("HttpHeaderRetryAfter", 25),
    ("HttpHeaderServer", 26),
    ("HttpHeaderSetCookie", 27),
    ("HttpHeaderVary", 28),
    ("HttpHeaderWwwAuthenticate", 29),
    ("HttpHeaderMaximum", 41),
]

# Where a table's value is not today's http.h value, httpsys exports the http.h value (what HTTP.sys itself uses).
# (table, name): (the table's value, the exported value, why).
DIFFERENCES: dict[tuple[str, str], tuple[int, int, str]] = {
    ("HttpListener", "HttpDataChunkMaximum"): (
        3,
        5,
        "HttpListener copied the Windows Vista header, before HttpDataChunkFromFragmentCacheEx (3) and "
        "HttpDataChunkTrailers (4) were added; ASP.NET Core's table and today's http.h say 5",
    ),
}

# Every name a port may write, with the value it gets from httpsys.win32.
TABLES = {"ASP.NET Core HttpApiTypes": ASPNETCORE_HTTPAPITYPES, "HttpListener": HTTPLISTENER_HTTPAPI}
ROWS = [(table, name, value) for table, rows in TABLES.items() for name, value in rows]

star: dict[str, object] = {}
exec("from httpsys.win32 import *", star)


def expected_value(table: str, name: str, value: int) -> int:
    difference = DIFFERENCES.get((table, name))
    if difference is None:
        return value
    assert difference[0] == value, "DIFFERENCES must quote the table's own value"
    return difference[1]


@pytest.mark.parametrize(("table", "name", "value"), ROWS, ids=[f"{t}:{n}" for t, n, _ in ROWS])
def test_star_import_gives_every_interop_constant_with_its_value(table: str, name: str, value: int) -> None:
    assert name in win32.__all__, f"{name} ({table}) is not exported"
    exported = star[name]
    assert isinstance(exported, int) and not isinstance(exported, bool)
    assert exported == expected_value(table, name, value)


def test_the_names_the_port_issue_quotes_are_exported_with_their_values() -> None:
    assert (HTTP_PROPERTY_FLAG_NONE, HTTP_PROPERTY_FLAG_PRESENT) == (0, 1)
    assert HTTP_INITIALIZE_CBT == HTTP_DEMAND_CBT == 4
    assert HTTP_SEND_REQUEST_FLAG_MORE_DATA == 1
    assert HTTP_SEND_RESPONSE_FLAG_RAW_HEADER == HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA == 4
    assert HttpResponseInfoTypeQosProperty == HTTP_RESPONSE_INFO_TYPE.HttpResponseInfoTypeQoSProperty == 2


def test_the_tables_agree_with_each_other_except_where_listed() -> None:
    seen: dict[str, tuple[str, int]] = {}
    for table, name, value in ROWS:
        value = expected_value(table, name, value)
        if name in seen:
            assert seen[name][1] == value, (name, seen[name], (table, value))
        seen[name] = (table, value)
    assert len(seen) > 150


def test_a_name_that_is_a_member_of_an_http_h_enumeration_has_the_member_value() -> None:
    members = {
        member.name: int(member)
        for enum in vars(constants).values()
        if isinstance(enum, type) and issubclass(enum, IntEnum)
        for member in enum
    }
    checked = [name for _table, name, _value in ROWS if name in members]
    assert all(members[name] == star[name] for name in checked)
    assert len(set(checked)) > 100


# --------------------------------------------------------------------------------------------------------------
# Members of those tables without an HTTP_* / Http* name: not exported (a C# enum type or an internal constant of
# the port), but each describes something httpsys has, and that is checked here.
#   HTTP_TIMEOUT_TYPE { EntityBody, DrainEntityBody, RequestQueue, IdleConnection, HeaderWait, MinSendRate } and
#   const int MaxTimeout = 6: the timers of HTTP_TIMEOUT_LIMIT_INFO after Flags, in order.
#   HTTP_API_VERSION { Invalid, Version10, Version20 }: HTTPAPI_VERSION_1 / HTTPAPI_VERSION_2.
#   IPv4AddressSize = 16, IPv6AddressSize = 28 (Interop.HttpApi): the sizes of SOCKADDR_IN / SOCKADDR_IN6.
#   SniPropertySizeInBytes = 2 * (HTTP_REQUEST_PROPERTY_SNI_HOST_MAX_LENGTH + 1) + 4 (HttpApiTypes): the size of
#   HTTP_REQUEST_PROPERTY_SNI.
#   HTTP_FLAGS.NONE, HTTP_AUTH_TYPES.NONE, HTTP_AUTH_EX_FLAGS.NONE, HTTP_CREATE_REQUEST_QUEUE_FLAG.None,
#   HTTP_RESPONSE_INFO_FLAGS.None, HTTP_REQUEST_FLAGS.None: 0, "no flag" (HTTP_FLAGS.NONE is exported as
#   HTTP_PROPERTY_FLAG_NONE above).
#   TOKENBINDING_* (HttpListener): constants of the Token Binding API (tokenbinding.h), not of the HTTP Server API.
# --------------------------------------------------------------------------------------------------------------

HTTP_TIMEOUT_TYPE = [
    "EntityBody",
    "DrainEntityBody",
    "RequestQueue",
    "IdleConnection",
    "HeaderWait",
    "MinSendRate",
]
MAX_TIMEOUT = 6


def test_the_timeout_type_enumeration_names_the_timers_of_http_timeout_limit_info_in_order() -> None:
    fields = [f.name for f in fields_of(HTTP_TIMEOUT_LIMIT_INFO)]
    assert fields[0] == "Flags"
    assert fields[1:] == HTTP_TIMEOUT_TYPE and len(fields[1:]) == MAX_TIMEOUT


def test_the_other_unexported_members_match_what_they_describe() -> None:
    assert (HTTPAPI_VERSION_1.HttpApiMajorVersion, HTTPAPI_VERSION_1.HttpApiMinorVersion) == (
        1,
        0,
    )  # Version10
    assert (HTTPAPI_VERSION_2.HttpApiMajorVersion, HTTPAPI_VERSION_2.HttpApiMinorVersion) == (
        2,
        0,
    )  # Version20
    assert sizeof(SOCKADDR_IN) == 16 and sizeof(SOCKADDR_IN6) == 28
    assert sizeof(HTTP_REQUEST_PROPERTY_SNI) == 2 * (HTTP_REQUEST_PROPERTY_SNI_HOST_MAX_LENGTH + 1) + 4 == 516
