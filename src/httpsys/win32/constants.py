"""Constants and enumerations of ``http.h`` with their Win32 numeric values, and the version macros.

Responsibility: every ``HTTP_*`` constant, flag and enumeration value of the HTTP Server API (spec §3), as
plain module-level ints, plus one ``IntEnum`` per C enumeration type (``HTTP_VERB.HttpVerbGET == HttpVerbGET``),
and the few names .NET's interop tables use where ``http.h`` has none (``HTTP_PROPERTY_FLAG_PRESENT`` ...);
the ``HTTPAPI_VERSION_*`` / ``HTTP_VERSION_*`` values and the header macros (``HTTP_EQUAL_VERSION`` ...,
``HTTP_IS_NULL_ID``) as functions; and the Win32 error codes re-exported from ``httpsys._core.status``.

It must not hold behaviour: which call accepts or returns which value is decided where the call is
implemented. The numbers mirror ``http.h`` (SDK 10.0.19041 plus later additions listed in the spec).
"""

from __future__ import annotations

import ctypes
from enum import IntEnum
from typing import Any, Final

from httpsys._core.status import Win32Error

from .structs import HTTP_VERSION, HTTPAPI_VERSION

__all__ = [
    "HTTP_VERB",
    "HttpVerbUnparsed",
    "HttpVerbUnknown",
    "HttpVerbInvalid",
    "HttpVerbOPTIONS",
    "HttpVerbGET",
    "HttpVerbHEAD",
    "HttpVerbPOST",
    "HttpVerbPUT",
    "HttpVerbDELETE",
    "HttpVerbTRACE",
    "HttpVerbCONNECT",
    "HttpVerbTRACK",
    "HttpVerbMOVE",
    "HttpVerbCOPY",
    "HttpVerbPROPFIND",
    "HttpVerbPROPPATCH",
    "HttpVerbMKCOL",
    "HttpVerbLOCK",
    "HttpVerbUNLOCK",
    "HttpVerbSEARCH",
    "HttpVerbMaximum",
    "HTTP_SCHEME",
    "HttpSchemeHttp",
    "HttpSchemeHttps",
    "HttpSchemeMaximum",
    "HTTP_HEADER_ID",
    "HttpHeaderCacheControl",
    "HttpHeaderConnection",
    "HttpHeaderDate",
    "HttpHeaderKeepAlive",
    "HttpHeaderPragma",
    "HttpHeaderTrailer",
    "HttpHeaderTransferEncoding",
    "HttpHeaderUpgrade",
    "HttpHeaderVia",
    "HttpHeaderWarning",
    "HttpHeaderAllow",
    "HttpHeaderContentLength",
    "HttpHeaderContentType",
    "HttpHeaderContentEncoding",
    "HttpHeaderContentLanguage",
    "HttpHeaderContentLocation",
    "HttpHeaderContentMd5",
    "HttpHeaderContentRange",
    "HttpHeaderExpires",
    "HttpHeaderLastModified",
    "HttpHeaderAccept",
    "HttpHeaderAcceptCharset",
    "HttpHeaderAcceptEncoding",
    "HttpHeaderAcceptLanguage",
    "HttpHeaderAuthorization",
    "HttpHeaderCookie",
    "HttpHeaderExpect",
    "HttpHeaderFrom",
    "HttpHeaderHost",
    "HttpHeaderIfMatch",
    "HttpHeaderIfModifiedSince",
    "HttpHeaderIfNoneMatch",
    "HttpHeaderIfRange",
    "HttpHeaderIfUnmodifiedSince",
    "HttpHeaderMaxForwards",
    "HttpHeaderProxyAuthorization",
    "HttpHeaderReferer",
    "HttpHeaderRange",
    "HttpHeaderTe",
    "HttpHeaderTranslate",
    "HttpHeaderUserAgent",
    "HttpHeaderRequestMaximum",
    "HttpHeaderAcceptRanges",
    "HttpHeaderAge",
    "HttpHeaderEtag",
    "HttpHeaderLocation",
    "HttpHeaderProxyAuthenticate",
    "HttpHeaderRetryAfter",
    "HttpHeaderServer",
    "HttpHeaderSetCookie",
    "HttpHeaderVary",
    "HttpHeaderWwwAuthenticate",
    "HttpHeaderResponseMaximum",
    "HttpHeaderMaximum",
    "HTTP_DATA_CHUNK_TYPE",
    "HttpDataChunkFromMemory",
    "HttpDataChunkFromFileHandle",
    "HttpDataChunkFromFragmentCache",
    "HttpDataChunkFromFragmentCacheEx",
    "HttpDataChunkTrailers",
    "HttpDataChunkMaximum",
    "HTTP_SERVER_PROPERTY",
    "HttpServerAuthenticationProperty",
    "HttpServerLoggingProperty",
    "HttpServerQosProperty",
    "HttpServerTimeoutsProperty",
    "HttpServerQueueLengthProperty",
    "HttpServerStateProperty",
    "HttpServer503VerbosityProperty",
    "HttpServerBindingProperty",
    "HttpServerExtendedAuthenticationProperty",
    "HttpServerListenEndpointProperty",
    "HttpServerChannelBindProperty",
    "HttpServerProtectionLevelProperty",
    "HttpServerDelegationProperty",
    "HttpServerFastForwardingProperty",
    "HttpServerRequestInfoProperty",
    "HTTP_ENABLED_STATE",
    "HttpEnabledStateActive",
    "HttpEnabledStateInactive",
    "HTTP_503_RESPONSE_VERBOSITY",
    "Http503ResponseVerbosityBasic",
    "Http503ResponseVerbosityLimited",
    "Http503ResponseVerbosityFull",
    "HTTP_QOS_SETTING_TYPE",
    "HttpQosSettingTypeBandwidth",
    "HttpQosSettingTypeConnectionLimit",
    "HttpQosSettingTypeFlowRate",
    "HTTP_SERVICE_CONFIG_TIMEOUT_KEY",
    "IdleConnectionTimeout",
    "HeaderWaitTimeout",
    "HTTP_SERVICE_CONFIG_CACHE_KEY",
    "MaxCacheResponseSize",
    "CacheRangeChunkSize",
    "HTTP_SERVICE_CONFIG_SETTING_KEY",
    "HttpNone",
    "HttpTlsThrottle",
    "HTTP_SERVICE_BINDING_TYPE",
    "HttpServiceBindingTypeNone",
    "HttpServiceBindingTypeW",
    "HttpServiceBindingTypeA",
    "HTTP_AUTHENTICATION_HARDENING_LEVELS",
    "HttpAuthenticationHardeningLegacy",
    "HttpAuthenticationHardeningMedium",
    "HttpAuthenticationHardeningStrict",
    "HTTP_LOGGING_TYPE",
    "HttpLoggingTypeW3C",
    "HttpLoggingTypeIIS",
    "HttpLoggingTypeNCSA",
    "HttpLoggingTypeRaw",
    "HTTP_LOGGING_ROLLOVER_TYPE",
    "HttpLoggingRolloverSize",
    "HttpLoggingRolloverDaily",
    "HttpLoggingRolloverWeekly",
    "HttpLoggingRolloverMonthly",
    "HttpLoggingRolloverHourly",
    "HTTP_PROTECTION_LEVEL_TYPE",
    "HttpProtectionLevelUnrestricted",
    "HttpProtectionLevelEdgeRestricted",
    "HttpProtectionLevelRestricted",
    "HTTP_LOG_DATA_TYPE",
    "HttpLogDataTypeFields",
    "HTTP_DELEGATE_REQUEST_PROPERTY_ID",
    "DelegateRequestReservedProperty",
    "DelegateRequestDelegateUrlProperty",
    "HTTP_CREATE_REQUEST_QUEUE_PROPERTY_ID",
    "CreateRequestQueueExternalIdProperty",
    "CreateRequestQueueMax",
    "HTTP_AUTH_STATUS",
    "HttpAuthStatusSuccess",
    "HttpAuthStatusNotAuthenticated",
    "HttpAuthStatusFailure",
    "HTTP_REQUEST_AUTH_TYPE",
    "HttpRequestAuthTypeNone",
    "HttpRequestAuthTypeBasic",
    "HttpRequestAuthTypeDigest",
    "HttpRequestAuthTypeNTLM",
    "HttpRequestAuthTypeNegotiate",
    "HttpRequestAuthTypeKerberos",
    "HTTP_REQUEST_SIZING_TYPE",
    "HttpRequestSizingTypeTlsHandshakeLeg1ClientData",
    "HttpRequestSizingTypeTlsHandshakeLeg1ServerData",
    "HttpRequestSizingTypeTlsHandshakeLeg2ClientData",
    "HttpRequestSizingTypeTlsHandshakeLeg2ServerData",
    "HttpRequestSizingTypeHeaders",
    "HttpRequestSizingTypeMax",
    "HTTP_REQUEST_TIMING_TYPE",
    "HttpRequestTimingTypeConnectionStart",
    "HttpRequestTimingTypeDataStart",
    "HttpRequestTimingTypeTlsCertificateLoadStart",
    "HttpRequestTimingTypeTlsCertificateLoadEnd",
    "HttpRequestTimingTypeTlsHandshakeLeg1Start",
    "HttpRequestTimingTypeTlsHandshakeLeg1End",
    "HttpRequestTimingTypeTlsHandshakeLeg2Start",
    "HttpRequestTimingTypeTlsHandshakeLeg2End",
    "HttpRequestTimingTypeTlsAttributesQueryStart",
    "HttpRequestTimingTypeTlsAttributesQueryEnd",
    "HttpRequestTimingTypeTlsClientCertQueryStart",
    "HttpRequestTimingTypeTlsClientCertQueryEnd",
    "HttpRequestTimingTypeHttp2StreamStart",
    "HttpRequestTimingTypeHttp2HeaderDecodeStart",
    "HttpRequestTimingTypeHttp2HeaderDecodeEnd",
    "HttpRequestTimingTypeRequestHeaderParseStart",
    "HttpRequestTimingTypeRequestHeaderParseEnd",
    "HttpRequestTimingTypeRequestRoutingStart",
    "HttpRequestTimingTypeRequestRoutingEnd",
    "HttpRequestTimingTypeRequestQueuedForInspection",
    "HttpRequestTimingTypeRequestDeliveredForInspection",
    "HttpRequestTimingTypeRequestReturnedAfterInspection",
    "HttpRequestTimingTypeRequestQueuedForDelegation",
    "HttpRequestTimingTypeRequestDeliveredForDelegation",
    "HttpRequestTimingTypeRequestReturnedAfterDelegation",
    "HttpRequestTimingTypeRequestQueuedForIO",
    "HttpRequestTimingTypeRequestDeliveredForIO",
    "HttpRequestTimingTypeHttp3StreamStart",
    "HttpRequestTimingTypeHttp3HeaderDecodeStart",
    "HttpRequestTimingTypeHttp3HeaderDecodeEnd",
    "HttpRequestTimingTypeMax",
    "HTTP_REQUEST_INFO_TYPE",
    "HttpRequestInfoTypeAuth",
    "HttpRequestInfoTypeChannelBind",
    "HttpRequestInfoTypeSslProtocol",
    "HttpRequestInfoTypeSslTokenBindingDraft",
    "HttpRequestInfoTypeSslTokenBinding",
    "HttpRequestInfoTypeRequestTiming",
    "HttpRequestInfoTypeTcpInfoV0",
    "HttpRequestInfoTypeRequestSizing",
    "HttpRequestInfoTypeQuicStats",
    "HttpRequestInfoTypeTcpInfoV1",
    "HttpRequestInfoTypeQuicStatsV2",
    "HttpRequestInfoTypeTcpInfoV2",
    "HttpRequestInfoTypeTransportIdleConnectionTimeout",
    "HttpRequestInfoTypeDscpTag",
    "HttpRequestInfoTypeInitialPacketTtl",
    "HTTP_RESPONSE_INFO_TYPE",
    "HttpResponseInfoTypeMultipleKnownHeaders",
    "HttpResponseInfoTypeAuthenticationProperty",
    "HttpResponseInfoTypeQoSProperty",
    "HttpResponseInfoTypeChannelBind",
    "HTTP_CACHE_POLICY_TYPE",
    "HttpCachePolicyNocache",
    "HttpCachePolicyUserInvalidates",
    "HttpCachePolicyTimeToLive",
    "HttpCachePolicyMaximum",
    "HTTP_SERVICE_CONFIG_ID",
    "HttpServiceConfigIPListenList",
    "HttpServiceConfigSSLCertInfo",
    "HttpServiceConfigUrlAclInfo",
    "HttpServiceConfigTimeout",
    "HttpServiceConfigCache",
    "HttpServiceConfigSslSniCertInfo",
    "HttpServiceConfigSslCcsCertInfo",
    "HttpServiceConfigSetting",
    "HttpServiceConfigSslCertInfoEx",
    "HttpServiceConfigSslSniCertInfoEx",
    "HttpServiceConfigSslCcsCertInfoEx",
    "HttpServiceConfigSslScopedCcsCertInfo",
    "HttpServiceConfigSslScopedCcsCertInfoEx",
    "HttpServiceConfigMax",
    "HTTP_SERVICE_CONFIG_QUERY_TYPE",
    "HttpServiceConfigQueryExact",
    "HttpServiceConfigQueryNext",
    "HttpServiceConfigQueryMax",
    "HTTP_SSL_SERVICE_CONFIG_EX_PARAM_TYPE",
    "ExParamTypeHttp2Window",
    "ExParamTypeHttp2SettingsLimits",
    "ExParamTypeHttpPerformance",
    "ExParamTypeTlsRestrictions",
    "ExParamTypeErrorHeaders",
    "ExParamTypeTlsSessionTicketKeys",
    "ExParamTypeCertConfig",
    "ExParamTypeMax",
    "HTTP_PERFORMANCE_PARAM_TYPE",
    "PerformanceParamSendBufferingFlags",
    "PerformanceParamAggressiveICW",
    "PerformanceParamMaxSendBufferSize",
    "PerformanceParamMaxConcurrentClientStreams",
    "PerformanceParamMaxReceiveBufferSize",
    "PerformanceParamDecryptOnSspiThread",
    "PerformanceParamMax",
    "HTTP_REQUEST_PROPERTY",
    "HttpRequestPropertyIsb",
    "HttpRequestPropertyTcpInfoV0",
    "HttpRequestPropertyQuicStats",
    "HttpRequestPropertyTcpInfoV1",
    "HttpRequestPropertySni",
    "HttpRequestPropertyStreamError",
    "HttpRequestPropertyWskApiTimings",
    "HttpRequestPropertyQuicApiTimings",
    "HttpRequestPropertyQuicStatsV2",
    "HttpRequestPropertyQuicStreamStats",
    "HttpRequestPropertyTcpInfoV2",
    "HttpRequestPropertyTlsClientHello",
    "HttpRequestPropertyTransportIdleConnectionTimeout",
    "HttpRequestPropertyDscpTag",
    "HttpRequestPropertyTlsCipherInfo",
    "HTTP_FEATURE_ID",
    "HttpFeatureUnknown",
    "HttpFeatureResponseTrailers",
    "HttpFeatureApiTimings",
    "HttpFeatureDelegateEx",
    "HttpFeatureHttp3",
    "HttpFeatureTlsSessionTickets",
    "HttpFeatureDisableTlsSessionId",
    "HttpFeatureTlsDualCerts",
    "HttpFeatureAutomaticChunkedEncoding",
    "HttpFeatureDedicatedReqQueueDelegationType",
    "HttpFeatureFastForwardResponse",
    "HttpFeatureCacheTlsClientHello",
    "HttpFeatureIdleConnectionTimeoutRequestProperty",
    "HttpFeatureDisableAiaFlag",
    "HttpFeatureDscp",
    "HttpFeatureQueryCipherInfo",
    "HttpFeatureQueryInitialPacketTtl",
    "HttpFeatureTlsHandshakePerformanceCounters",
    "HttpFeatureLast",
    "HttpFeaturemax",
    "HTTP_INITIALIZE_SERVER",
    "HTTP_INITIALIZE_CONFIG",
    "HTTP_DEMAND_CBT",
    "HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING",
    "HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER",
    "HTTP_CREATE_REQUEST_QUEUE_FLAG_DELEGATION",
    "HTTP_RECEIVE_REQUEST_FLAG_COPY_BODY",
    "HTTP_RECEIVE_REQUEST_FLAG_FLUSH_BODY",
    "HTTP_RECEIVE_REQUEST_ENTITY_BODY_FLAG_FILL_BUFFER",
    "HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS",
    "HTTP_REQUEST_FLAG_IP_ROUTED",
    "HTTP_REQUEST_FLAG_HTTP2",
    "HTTP_REQUEST_FLAG_HTTP3",
    "HTTP_SEND_RESPONSE_FLAG_DISCONNECT",
    "HTTP_SEND_RESPONSE_FLAG_MORE_DATA",
    "HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA",
    "HTTP_SEND_RESPONSE_FLAG_ENABLE_NAGLING",
    "HTTP_SEND_RESPONSE_FLAG_PROCESS_RANGES",
    "HTTP_SEND_RESPONSE_FLAG_OPAQUE",
    "HTTP_SEND_RESPONSE_FLAG_GOAWAY",
    "HTTP_SEND_RESPONSE_FLAG_AUTOMATIC_CHUNKING",
    "HTTP_RESPONSE_FLAG_MULTIPLE_ENCODINGS_AVAILABLE",
    "HTTP_RESPONSE_FLAG_MORE_ENTITY_BODY_EXISTS",
    "HTTP_RESPONSE_INFO_FLAGS_PRESERVE_ORDER",
    "HTTP_URL_FLAG_REMOVE_ALL",
    "HTTP_FLUSH_RESPONSE_FLAG_RECURSIVE",
    "HTTP_RECEIVE_SECURE_CHANNEL_TOKEN",
    "HTTP_RECEIVE_FULL_CHAIN",
    "HTTP_NULL_ID",
    "HTTP_BYTE_RANGE_TO_EOF",
    "HTTP_LIMIT_INFINITE",
    "HTTP_MIN_SERVER_QUEUE_LENGTH",
    "HTTP_MAX_SERVER_QUEUE_LENGTH",
    "HTTP_MIN_ALLOWED_BANDWIDTH_THROTTLING_RATE",
    "HTTP_MIN_ALLOWED_LOG_FILE_ROLLOVER_SIZE",
    "HTTP_REQUEST_PROPERTY_SNI_HOST_MAX_LENGTH",
    "HTTP_SSL_CERT_SHA_HASH_LENGTH",
    "HTTP_SSL_CERT_STORE_NAME_LENGTH",
    "HTTP_AUTH_ENABLE_BASIC",
    "HTTP_AUTH_ENABLE_DIGEST",
    "HTTP_AUTH_ENABLE_NTLM",
    "HTTP_AUTH_ENABLE_NEGOTIATE",
    "HTTP_AUTH_ENABLE_KERBEROS",
    "HTTP_AUTH_ENABLE_ALL",
    "HTTP_AUTH_EX_FLAG_ENABLE_KERBEROS_CREDENTIAL_CACHING",
    "HTTP_AUTH_EX_FLAG_CAPTURE_CREDENTIAL",
    "HTTP_REQUEST_AUTH_FLAG_TOKEN_FOR_CACHED_CRED",
    "HTTP_REQUEST_SIZING_INFO_FLAG_TCP_FAST_OPEN",
    "HTTP_REQUEST_SIZING_INFO_FLAG_TLS_SESSION_RESUMPTION",
    "HTTP_REQUEST_SIZING_INFO_FLAG_TLS_FALSE_START",
    "HTTP_REQUEST_SIZING_INFO_FLAG_FIRST_REQUEST",
    "HTTP_CHANNEL_BIND_PROXY",
    "HTTP_CHANNEL_BIND_NO_SERVICE_NAME_CHECK",
    "HTTP_CHANNEL_BIND_DOTLESS_SERVICE",
    "HTTP_CHANNEL_BIND_SECURE_CHANNEL_TOKEN",
    "HTTP_CHANNEL_BIND_CLIENT_SERVICE",
    "HTTP_CHANNEL_BIND_PROXY_COHOSTING",
    "HTTP_LOGGING_FLAG_LOCAL_TIME_ROLLOVER",
    "HTTP_LOGGING_FLAG_USE_UTF8_CONVERSION",
    "HTTP_LOGGING_FLAG_LOG_ERRORS_ONLY",
    "HTTP_LOGGING_FLAG_LOG_SUCCESS_ONLY",
    "HTTP_LOG_FIELD_DATE",
    "HTTP_LOG_FIELD_TIME",
    "HTTP_LOG_FIELD_CLIENT_IP",
    "HTTP_LOG_FIELD_USER_NAME",
    "HTTP_LOG_FIELD_SITE_NAME",
    "HTTP_LOG_FIELD_COMPUTER_NAME",
    "HTTP_LOG_FIELD_SERVER_IP",
    "HTTP_LOG_FIELD_METHOD",
    "HTTP_LOG_FIELD_URI_STEM",
    "HTTP_LOG_FIELD_URI_QUERY",
    "HTTP_LOG_FIELD_STATUS",
    "HTTP_LOG_FIELD_WIN32_STATUS",
    "HTTP_LOG_FIELD_BYTES_SENT",
    "HTTP_LOG_FIELD_BYTES_RECV",
    "HTTP_LOG_FIELD_TIME_TAKEN",
    "HTTP_LOG_FIELD_SERVER_PORT",
    "HTTP_LOG_FIELD_USER_AGENT",
    "HTTP_LOG_FIELD_COOKIE",
    "HTTP_LOG_FIELD_REFERER",
    "HTTP_LOG_FIELD_VERSION",
    "HTTP_LOG_FIELD_HOST",
    "HTTP_LOG_FIELD_SUB_STATUS",
    "HTTP_LOG_FIELD_CLIENT_PORT",
    "HTTP_LOG_FIELD_URI",
    "HTTP_LOG_FIELD_SITE_ID",
    "HTTP_LOG_FIELD_REASON",
    "HTTP_LOG_FIELD_QUEUE_NAME",
    "HTTP_LOG_FIELD_STREAM_ID",
    "HTTP_LOG_FIELD_STREAM_ID_EX",
    "HTTP_LOG_FIELD_TRANSPORT_TYPE",
    "HTTP_LOG_FIELD_CORRELATION_ID",
    "HTTP_LOG_FIELD_FAULT_CODE",
    "HTTP_CERT_CHECK_MODE_NO_REVOCATION",
    "HTTP_CERT_CHECK_MODE_CACHED_REVOCATION",
    "HTTP_CERT_CHECK_MODE_USE_REVOCATION_FRESHNESS",
    "HTTP_CERT_CHECK_MODE_CACHED_URLS",
    "HTTP_CERT_CHECK_MODE_NO_AIA",
    "HTTP_CERT_CHECK_MODE_NO_USAGE_CHECK",
    "HTTP_SERVICE_CONFIG_SSL_FLAG_USE_DS_MAPPER",
    "HTTP_SERVICE_CONFIG_SSL_FLAG_NEGOTIATE_CLIENT_CERT",
    "HTTP_SERVICE_CONFIG_SSL_FLAG_NO_RAW_FILTER",
    "HTTP_SERVICE_CONFIG_SSL_FLAG_REJECT",
    "HTTP_SERVICE_CONFIG_SSL_FLAG_DISABLE_HTTP2",
    "HTTP_SERVICE_CONFIG_SSL_FLAG_DISABLE_QUIC",
    "HTTP_SERVICE_CONFIG_SSL_FLAG_DISABLE_TLS13",
    "HTTP_SERVICE_CONFIG_SSL_FLAG_DISABLE_OCSP_STAPLING",
    "HTTP_SERVICE_CONFIG_SSL_FLAG_ENABLE_TOKEN_BINDING",
    "HTTP_SERVICE_CONFIG_SSL_FLAG_LOG_EXTENDED_EVENTS",
    "HTTP_SERVICE_CONFIG_SSL_FLAG_DISABLE_LEGACY_TLS",
    "HTTP_SERVICE_CONFIG_SSL_FLAG_ENABLE_SESSION_TICKET",
    "HTTP_SERVICE_CONFIG_SSL_FLAG_DISABLE_TLS12",
    "HTTP_SERVICE_CONFIG_SSL_FLAG_ENABLE_CLIENT_CORRELATION",
    "HTTP_SERVICE_CONFIG_SSL_FLAG_DISABLE_SESSION_ID",
    "HTTP_SERVICE_CONFIG_SSL_FLAG_ENABLE_CACHE_CLIENT_HELLO",
    "HTTP_REQUEST_PROPERTY_SNI_FLAG_SNI_USED",
    "HTTP_REQUEST_PROPERTY_SNI_FLAG_NO_SNI",
    "HTTP_PROPERTY_FLAG_NONE",
    "HTTP_PROPERTY_FLAG_PRESENT",
    "HTTP_INITIALIZE_CBT",
    "HTTP_SEND_RESPONSE_FLAG_RAW_HEADER",
    "HTTP_SEND_REQUEST_FLAG_MORE_DATA",
    "HttpResponseInfoTypeQosProperty",
    "NO_ERROR",
    "ERROR_INVALID_FUNCTION",
    "ERROR_FILE_NOT_FOUND",
    "ERROR_PATH_NOT_FOUND",
    "ERROR_ACCESS_DENIED",
    "ERROR_INVALID_HANDLE",
    "ERROR_NOT_ENOUGH_MEMORY",
    "ERROR_OUTOFMEMORY",
    "ERROR_BAD_COMMAND",
    "ERROR_SHARING_VIOLATION",
    "ERROR_HANDLE_EOF",
    "ERROR_NOT_SUPPORTED",
    "ERROR_NETNAME_DELETED",
    "ERROR_INVALID_PARAMETER",
    "ERROR_CALL_NOT_IMPLEMENTED",
    "ERROR_INSUFFICIENT_BUFFER",
    "ERROR_INVALID_NAME",
    "ERROR_ALREADY_EXISTS",
    "ERROR_MORE_DATA",
    "WAIT_TIMEOUT",
    "ERROR_NO_MORE_ITEMS",
    "ERROR_OPERATION_ABORTED",
    "ERROR_IO_INCOMPLETE",
    "ERROR_IO_PENDING",
    "ERROR_NOACCESS",
    "ERROR_DLL_INIT_FAILED",
    "ERROR_SERVICE_NOT_ACTIVE",
    "ERROR_NOT_FOUND",
    "ERROR_CONNECTION_INVALID",
    "ERROR_REVISION_MISMATCH",
    "ERROR_NO_SUCH_LOGON_SESSION",
    "ERROR_INVALID_ID_AUTHORITY",
    "ERROR_NOT_ENOUGH_QUOTA",
    "ERROR_SUCCESS",
    "HTTPAPI_VERSION_1",
    "HTTPAPI_VERSION_2",
    "HTTP_VERSION_UNKNOWN",
    "HTTP_VERSION_0_9",
    "HTTP_VERSION_1_0",
    "HTTP_VERSION_1_1",
    "HTTP_VERSION_2_0",
    "HTTP_VERSION_3_0",
    "HTTP_SET_VERSION",
    "HTTP_EQUAL_VERSION",
    "HTTP_NOT_EQUAL_VERSION",
    "HTTP_GREATER_VERSION",
    "HTTP_GREATER_EQUAL_VERSION",
    "HTTP_LESS_VERSION",
    "HTTP_LESS_EQUAL_VERSION",
    "HTTPAPI_EQUAL_VERSION",
    "HTTPAPI_GREATER_VERSION",
    "HTTPAPI_LESS_VERSION",
    "HTTPAPI_VERSION_GREATER_OR_EQUAL",
    "HTTP_IS_NULL_ID",
    "HTTP_SET_NULL_ID",
]

# --------------------------------------------------------------------------------------------------------------
# Enumerations: the C enum type as an IntEnum, and each value as a module-level int.
# --------------------------------------------------------------------------------------------------------------


class HTTP_VERB(IntEnum):
    """Request method (spec §3.1); anything else valid is HttpVerbUnknown."""

    HttpVerbUnparsed = 0
    HttpVerbUnknown = 1
    HttpVerbInvalid = 2
    HttpVerbOPTIONS = 3
    HttpVerbGET = 4
    HttpVerbHEAD = 5
    HttpVerbPOST = 6
    HttpVerbPUT = 7
    HttpVerbDELETE = 8
    HttpVerbTRACE = 9
    HttpVerbCONNECT = 10
    HttpVerbTRACK = 11
    HttpVerbMOVE = 12
    HttpVerbCOPY = 13
    HttpVerbPROPFIND = 14
    HttpVerbPROPPATCH = 15
    HttpVerbMKCOL = 16
    HttpVerbLOCK = 17
    HttpVerbUNLOCK = 18
    HttpVerbSEARCH = 19
    HttpVerbMaximum = 20


HttpVerbUnparsed: Final = 0
HttpVerbUnknown: Final = 1
HttpVerbInvalid: Final = 2
HttpVerbOPTIONS: Final = 3
HttpVerbGET: Final = 4
HttpVerbHEAD: Final = 5
HttpVerbPOST: Final = 6
HttpVerbPUT: Final = 7
HttpVerbDELETE: Final = 8
HttpVerbTRACE: Final = 9
HttpVerbCONNECT: Final = 10
HttpVerbTRACK: Final = 11
HttpVerbMOVE: Final = 12
HttpVerbCOPY: Final = 13
HttpVerbPROPFIND: Final = 14
HttpVerbPROPPATCH: Final = 15
HttpVerbMKCOL: Final = 16
HttpVerbLOCK: Final = 17
HttpVerbUNLOCK: Final = 18
HttpVerbSEARCH: Final = 19
HttpVerbMaximum: Final = 20


class HTTP_SCHEME(IntEnum):
    """URL scheme."""

    HttpSchemeHttp = 0
    HttpSchemeHttps = 1
    HttpSchemeMaximum = 2


HttpSchemeHttp: Final = 0
HttpSchemeHttps: Final = 1
HttpSchemeMaximum: Final = 2


class HTTP_HEADER_ID(IntEnum):
    """Known-header index: request ids 0-40, response ids 20-29 reuse 20+ (index the right array)."""

    HttpHeaderCacheControl = 0
    HttpHeaderConnection = 1
    HttpHeaderDate = 2
    HttpHeaderKeepAlive = 3
    HttpHeaderPragma = 4
    HttpHeaderTrailer = 5
    HttpHeaderTransferEncoding = 6
    HttpHeaderUpgrade = 7
    HttpHeaderVia = 8
    HttpHeaderWarning = 9
    HttpHeaderAllow = 10
    HttpHeaderContentLength = 11
    HttpHeaderContentType = 12
    HttpHeaderContentEncoding = 13
    HttpHeaderContentLanguage = 14
    HttpHeaderContentLocation = 15
    HttpHeaderContentMd5 = 16
    HttpHeaderContentRange = 17
    HttpHeaderExpires = 18
    HttpHeaderLastModified = 19
    HttpHeaderAccept = 20
    HttpHeaderAcceptCharset = 21
    HttpHeaderAcceptEncoding = 22
    HttpHeaderAcceptLanguage = 23
    HttpHeaderAuthorization = 24
    HttpHeaderCookie = 25
    HttpHeaderExpect = 26
    HttpHeaderFrom = 27
    HttpHeaderHost = 28
    HttpHeaderIfMatch = 29
    HttpHeaderIfModifiedSince = 30
    HttpHeaderIfNoneMatch = 31
    HttpHeaderIfRange = 32
    HttpHeaderIfUnmodifiedSince = 33
    HttpHeaderMaxForwards = 34
    HttpHeaderProxyAuthorization = 35
    HttpHeaderReferer = 36
    HttpHeaderRange = 37
    HttpHeaderTe = 38
    HttpHeaderTranslate = 39
    HttpHeaderUserAgent = 40
    HttpHeaderRequestMaximum = 41
    HttpHeaderAcceptRanges = 20
    HttpHeaderAge = 21
    HttpHeaderEtag = 22
    HttpHeaderLocation = 23
    HttpHeaderProxyAuthenticate = 24
    HttpHeaderRetryAfter = 25
    HttpHeaderServer = 26
    HttpHeaderSetCookie = 27
    HttpHeaderVary = 28
    HttpHeaderWwwAuthenticate = 29
    HttpHeaderResponseMaximum = 30
    HttpHeaderMaximum = 41


HttpHeaderCacheControl: Final = 0
HttpHeaderConnection: Final = 1
HttpHeaderDate: Final = 2
HttpHeaderKeepAlive: Final = 3
HttpHeaderPragma: Final = 4
HttpHeaderTrailer: Final = 5
HttpHeaderTransferEncoding: Final = 6
HttpHeaderUpgrade: Final = 7
HttpHeaderVia: Final = 8
HttpHeaderWarning: Final = 9
HttpHeaderAllow: Final = 10
HttpHeaderContentLength: Final = 11
HttpHeaderContentType: Final = 12
HttpHeaderContentEncoding: Final = 13
HttpHeaderContentLanguage: Final = 14
HttpHeaderContentLocation: Final = 15
HttpHeaderContentMd5: Final = 16
HttpHeaderContentRange: Final = 17
HttpHeaderExpires: Final = 18
HttpHeaderLastModified: Final = 19
HttpHeaderAccept: Final = 20
HttpHeaderAcceptCharset: Final = 21
HttpHeaderAcceptEncoding: Final = 22
HttpHeaderAcceptLanguage: Final = 23
HttpHeaderAuthorization: Final = 24
HttpHeaderCookie: Final = 25
HttpHeaderExpect: Final = 26
HttpHeaderFrom: Final = 27
HttpHeaderHost: Final = 28
HttpHeaderIfMatch: Final = 29
HttpHeaderIfModifiedSince: Final = 30
HttpHeaderIfNoneMatch: Final = 31
HttpHeaderIfRange: Final = 32
HttpHeaderIfUnmodifiedSince: Final = 33
HttpHeaderMaxForwards: Final = 34
HttpHeaderProxyAuthorization: Final = 35
HttpHeaderReferer: Final = 36
HttpHeaderRange: Final = 37
HttpHeaderTe: Final = 38
HttpHeaderTranslate: Final = 39
HttpHeaderUserAgent: Final = 40
HttpHeaderRequestMaximum: Final = 41
HttpHeaderAcceptRanges: Final = 20
HttpHeaderAge: Final = 21
HttpHeaderEtag: Final = 22
HttpHeaderLocation: Final = 23
HttpHeaderProxyAuthenticate: Final = 24
HttpHeaderRetryAfter: Final = 25
HttpHeaderServer: Final = 26
HttpHeaderSetCookie: Final = 27
HttpHeaderVary: Final = 28
HttpHeaderWwwAuthenticate: Final = 29
HttpHeaderResponseMaximum: Final = 30
HttpHeaderMaximum: Final = 41


class HTTP_DATA_CHUNK_TYPE(IntEnum):
    """Which union member of HTTP_DATA_CHUNK is meant."""

    HttpDataChunkFromMemory = 0
    HttpDataChunkFromFileHandle = 1
    HttpDataChunkFromFragmentCache = 2
    HttpDataChunkFromFragmentCacheEx = 3
    HttpDataChunkTrailers = 4
    HttpDataChunkMaximum = 5


HttpDataChunkFromMemory: Final = 0
HttpDataChunkFromFileHandle: Final = 1
HttpDataChunkFromFragmentCache: Final = 2
HttpDataChunkFromFragmentCacheEx: Final = 3
HttpDataChunkTrailers: Final = 4
HttpDataChunkMaximum: Final = 5


class HTTP_SERVER_PROPERTY(IntEnum):
    """Property of a server session, URL group or request queue."""

    HttpServerAuthenticationProperty = 0
    HttpServerLoggingProperty = 1
    HttpServerQosProperty = 2
    HttpServerTimeoutsProperty = 3
    HttpServerQueueLengthProperty = 4
    HttpServerStateProperty = 5
    HttpServer503VerbosityProperty = 6
    HttpServerBindingProperty = 7
    HttpServerExtendedAuthenticationProperty = 8
    HttpServerListenEndpointProperty = 9
    HttpServerChannelBindProperty = 10
    HttpServerProtectionLevelProperty = 11
    HttpServerDelegationProperty = 16
    HttpServerFastForwardingProperty = 18
    HttpServerRequestInfoProperty = 19


HttpServerAuthenticationProperty: Final = 0
HttpServerLoggingProperty: Final = 1
HttpServerQosProperty: Final = 2
HttpServerTimeoutsProperty: Final = 3
HttpServerQueueLengthProperty: Final = 4
HttpServerStateProperty: Final = 5
HttpServer503VerbosityProperty: Final = 6
HttpServerBindingProperty: Final = 7
HttpServerExtendedAuthenticationProperty: Final = 8
HttpServerListenEndpointProperty: Final = 9
HttpServerChannelBindProperty: Final = 10
HttpServerProtectionLevelProperty: Final = 11
HttpServerDelegationProperty: Final = 16
HttpServerFastForwardingProperty: Final = 18
HttpServerRequestInfoProperty: Final = 19


class HTTP_ENABLED_STATE(IntEnum):
    """State of a session, URL group or request queue."""

    HttpEnabledStateActive = 0
    HttpEnabledStateInactive = 1


HttpEnabledStateActive: Final = 0
HttpEnabledStateInactive: Final = 1


class HTTP_503_RESPONSE_VERBOSITY(IntEnum):
    """What a request queue answers when HTTP.sys itself rejects with 503."""

    Http503ResponseVerbosityBasic = 0
    Http503ResponseVerbosityLimited = 1
    Http503ResponseVerbosityFull = 2


Http503ResponseVerbosityBasic: Final = 0
Http503ResponseVerbosityLimited: Final = 1
Http503ResponseVerbosityFull: Final = 2


class HTTP_QOS_SETTING_TYPE(IntEnum):
    """Which struct HTTP_QOS_SETTING_INFO.QosSetting points to."""

    HttpQosSettingTypeBandwidth = 0
    HttpQosSettingTypeConnectionLimit = 1
    HttpQosSettingTypeFlowRate = 2


HttpQosSettingTypeBandwidth: Final = 0
HttpQosSettingTypeConnectionLimit: Final = 1
HttpQosSettingTypeFlowRate: Final = 2


class HTTP_SERVICE_CONFIG_TIMEOUT_KEY(IntEnum):
    """Driver-wide timer of HTTP_SERVICE_CONFIG_TIMEOUT_SET."""

    IdleConnectionTimeout = 0
    HeaderWaitTimeout = 1


IdleConnectionTimeout: Final = 0
HeaderWaitTimeout: Final = 1


class HTTP_SERVICE_CONFIG_CACHE_KEY(IntEnum):
    """Driver-wide cache setting of HTTP_SERVICE_CONFIG_CACHE_SET."""

    MaxCacheResponseSize = 0
    CacheRangeChunkSize = 1


MaxCacheResponseSize: Final = 0
CacheRangeChunkSize: Final = 1


class HTTP_SERVICE_CONFIG_SETTING_KEY(IntEnum):
    """Driver-wide setting of HTTP_SERVICE_CONFIG_SETTING_SET."""

    HttpNone = 0
    HttpTlsThrottle = 1


HttpNone: Final = 0
HttpTlsThrottle: Final = 1


class HTTP_SERVICE_BINDING_TYPE(IntEnum):
    """Kind of HTTP_SERVICE_BINDING_* string."""

    HttpServiceBindingTypeNone = 0
    HttpServiceBindingTypeW = 1
    HttpServiceBindingTypeA = 2


HttpServiceBindingTypeNone: Final = 0
HttpServiceBindingTypeW: Final = 1
HttpServiceBindingTypeA: Final = 2


class HTTP_AUTHENTICATION_HARDENING_LEVELS(IntEnum):
    """Extended-protection hardening of HTTP_CHANNEL_BIND_INFO."""

    HttpAuthenticationHardeningLegacy = 0
    HttpAuthenticationHardeningMedium = 1
    HttpAuthenticationHardeningStrict = 2


HttpAuthenticationHardeningLegacy: Final = 0
HttpAuthenticationHardeningMedium: Final = 1
HttpAuthenticationHardeningStrict: Final = 2


class HTTP_LOGGING_TYPE(IntEnum):
    """Log file format."""

    HttpLoggingTypeW3C = 0
    HttpLoggingTypeIIS = 1
    HttpLoggingTypeNCSA = 2
    HttpLoggingTypeRaw = 3


HttpLoggingTypeW3C: Final = 0
HttpLoggingTypeIIS: Final = 1
HttpLoggingTypeNCSA: Final = 2
HttpLoggingTypeRaw: Final = 3


class HTTP_LOGGING_ROLLOVER_TYPE(IntEnum):
    """When a log file is rolled over."""

    HttpLoggingRolloverSize = 0
    HttpLoggingRolloverDaily = 1
    HttpLoggingRolloverWeekly = 2
    HttpLoggingRolloverMonthly = 3
    HttpLoggingRolloverHourly = 4


HttpLoggingRolloverSize: Final = 0
HttpLoggingRolloverDaily: Final = 1
HttpLoggingRolloverWeekly: Final = 2
HttpLoggingRolloverMonthly: Final = 3
HttpLoggingRolloverHourly: Final = 4


class HTTP_PROTECTION_LEVEL_TYPE(IntEnum):
    """Edge-traversal protection of a URL group."""

    HttpProtectionLevelUnrestricted = 0
    HttpProtectionLevelEdgeRestricted = 1
    HttpProtectionLevelRestricted = 2


HttpProtectionLevelUnrestricted: Final = 0
HttpProtectionLevelEdgeRestricted: Final = 1
HttpProtectionLevelRestricted: Final = 2


class HTTP_LOG_DATA_TYPE(IntEnum):
    """Kind of HTTP_LOG_DATA."""

    HttpLogDataTypeFields = 0


HttpLogDataTypeFields: Final = 0


class HTTP_DELEGATE_REQUEST_PROPERTY_ID(IntEnum):
    """Property of HttpDelegateRequestEx."""

    DelegateRequestReservedProperty = 0
    DelegateRequestDelegateUrlProperty = 1


DelegateRequestReservedProperty: Final = 0
DelegateRequestDelegateUrlProperty: Final = 1


class HTTP_CREATE_REQUEST_QUEUE_PROPERTY_ID(IntEnum):
    """Property given when creating a request queue."""

    CreateRequestQueueExternalIdProperty = 1
    CreateRequestQueueMax = 2


CreateRequestQueueExternalIdProperty: Final = 1
CreateRequestQueueMax: Final = 2


class HTTP_AUTH_STATUS(IntEnum):
    """Result of kernel-mode authentication."""

    HttpAuthStatusSuccess = 0
    HttpAuthStatusNotAuthenticated = 1
    HttpAuthStatusFailure = 2


HttpAuthStatusSuccess: Final = 0
HttpAuthStatusNotAuthenticated: Final = 1
HttpAuthStatusFailure: Final = 2


class HTTP_REQUEST_AUTH_TYPE(IntEnum):
    """Authentication scheme used by a request."""

    HttpRequestAuthTypeNone = 0
    HttpRequestAuthTypeBasic = 1
    HttpRequestAuthTypeDigest = 2
    HttpRequestAuthTypeNTLM = 3
    HttpRequestAuthTypeNegotiate = 4
    HttpRequestAuthTypeKerberos = 5


HttpRequestAuthTypeNone: Final = 0
HttpRequestAuthTypeBasic: Final = 1
HttpRequestAuthTypeDigest: Final = 2
HttpRequestAuthTypeNTLM: Final = 3
HttpRequestAuthTypeNegotiate: Final = 4
HttpRequestAuthTypeKerberos: Final = 5


class HTTP_REQUEST_SIZING_TYPE(IntEnum):
    """Index into HTTP_REQUEST_SIZING_INFO.RequestSizing."""

    HttpRequestSizingTypeTlsHandshakeLeg1ClientData = 0
    HttpRequestSizingTypeTlsHandshakeLeg1ServerData = 1
    HttpRequestSizingTypeTlsHandshakeLeg2ClientData = 2
    HttpRequestSizingTypeTlsHandshakeLeg2ServerData = 3
    HttpRequestSizingTypeHeaders = 4
    HttpRequestSizingTypeMax = 5


HttpRequestSizingTypeTlsHandshakeLeg1ClientData: Final = 0
HttpRequestSizingTypeTlsHandshakeLeg1ServerData: Final = 1
HttpRequestSizingTypeTlsHandshakeLeg2ClientData: Final = 2
HttpRequestSizingTypeTlsHandshakeLeg2ServerData: Final = 3
HttpRequestSizingTypeHeaders: Final = 4
HttpRequestSizingTypeMax: Final = 5


class HTTP_REQUEST_TIMING_TYPE(IntEnum):
    """Index into HTTP_REQUEST_TIMING_INFO.RequestTiming."""

    HttpRequestTimingTypeConnectionStart = 0
    HttpRequestTimingTypeDataStart = 1
    HttpRequestTimingTypeTlsCertificateLoadStart = 2
    HttpRequestTimingTypeTlsCertificateLoadEnd = 3
    HttpRequestTimingTypeTlsHandshakeLeg1Start = 4
    HttpRequestTimingTypeTlsHandshakeLeg1End = 5
    HttpRequestTimingTypeTlsHandshakeLeg2Start = 6
    HttpRequestTimingTypeTlsHandshakeLeg2End = 7
    HttpRequestTimingTypeTlsAttributesQueryStart = 8
    HttpRequestTimingTypeTlsAttributesQueryEnd = 9
    HttpRequestTimingTypeTlsClientCertQueryStart = 10
    HttpRequestTimingTypeTlsClientCertQueryEnd = 11
    HttpRequestTimingTypeHttp2StreamStart = 12
    HttpRequestTimingTypeHttp2HeaderDecodeStart = 13
    HttpRequestTimingTypeHttp2HeaderDecodeEnd = 14
    HttpRequestTimingTypeRequestHeaderParseStart = 15
    HttpRequestTimingTypeRequestHeaderParseEnd = 16
    HttpRequestTimingTypeRequestRoutingStart = 17
    HttpRequestTimingTypeRequestRoutingEnd = 18
    HttpRequestTimingTypeRequestQueuedForInspection = 19
    HttpRequestTimingTypeRequestDeliveredForInspection = 20
    HttpRequestTimingTypeRequestReturnedAfterInspection = 21
    HttpRequestTimingTypeRequestQueuedForDelegation = 22
    HttpRequestTimingTypeRequestDeliveredForDelegation = 23
    HttpRequestTimingTypeRequestReturnedAfterDelegation = 24
    HttpRequestTimingTypeRequestQueuedForIO = 25
    HttpRequestTimingTypeRequestDeliveredForIO = 26
    HttpRequestTimingTypeHttp3StreamStart = 27
    HttpRequestTimingTypeHttp3HeaderDecodeStart = 28
    HttpRequestTimingTypeHttp3HeaderDecodeEnd = 29
    HttpRequestTimingTypeMax = 30


HttpRequestTimingTypeConnectionStart: Final = 0
HttpRequestTimingTypeDataStart: Final = 1
HttpRequestTimingTypeTlsCertificateLoadStart: Final = 2
HttpRequestTimingTypeTlsCertificateLoadEnd: Final = 3
HttpRequestTimingTypeTlsHandshakeLeg1Start: Final = 4
HttpRequestTimingTypeTlsHandshakeLeg1End: Final = 5
HttpRequestTimingTypeTlsHandshakeLeg2Start: Final = 6
HttpRequestTimingTypeTlsHandshakeLeg2End: Final = 7
HttpRequestTimingTypeTlsAttributesQueryStart: Final = 8
HttpRequestTimingTypeTlsAttributesQueryEnd: Final = 9
HttpRequestTimingTypeTlsClientCertQueryStart: Final = 10
HttpRequestTimingTypeTlsClientCertQueryEnd: Final = 11
HttpRequestTimingTypeHttp2StreamStart: Final = 12
HttpRequestTimingTypeHttp2HeaderDecodeStart: Final = 13
HttpRequestTimingTypeHttp2HeaderDecodeEnd: Final = 14
HttpRequestTimingTypeRequestHeaderParseStart: Final = 15
HttpRequestTimingTypeRequestHeaderParseEnd: Final = 16
HttpRequestTimingTypeRequestRoutingStart: Final = 17
HttpRequestTimingTypeRequestRoutingEnd: Final = 18
HttpRequestTimingTypeRequestQueuedForInspection: Final = 19
HttpRequestTimingTypeRequestDeliveredForInspection: Final = 20
HttpRequestTimingTypeRequestReturnedAfterInspection: Final = 21
HttpRequestTimingTypeRequestQueuedForDelegation: Final = 22
HttpRequestTimingTypeRequestDeliveredForDelegation: Final = 23
HttpRequestTimingTypeRequestReturnedAfterDelegation: Final = 24
HttpRequestTimingTypeRequestQueuedForIO: Final = 25
HttpRequestTimingTypeRequestDeliveredForIO: Final = 26
HttpRequestTimingTypeHttp3StreamStart: Final = 27
HttpRequestTimingTypeHttp3HeaderDecodeStart: Final = 28
HttpRequestTimingTypeHttp3HeaderDecodeEnd: Final = 29
HttpRequestTimingTypeMax: Final = 30


class HTTP_REQUEST_INFO_TYPE(IntEnum):
    """Kind of an HTTP_REQUEST_INFO item of a V2 request."""

    HttpRequestInfoTypeAuth = 0
    HttpRequestInfoTypeChannelBind = 1
    HttpRequestInfoTypeSslProtocol = 2
    HttpRequestInfoTypeSslTokenBindingDraft = 3
    HttpRequestInfoTypeSslTokenBinding = 4
    HttpRequestInfoTypeRequestTiming = 5
    HttpRequestInfoTypeTcpInfoV0 = 6
    HttpRequestInfoTypeRequestSizing = 7
    HttpRequestInfoTypeQuicStats = 8
    HttpRequestInfoTypeTcpInfoV1 = 9
    HttpRequestInfoTypeQuicStatsV2 = 10
    HttpRequestInfoTypeTcpInfoV2 = 11
    HttpRequestInfoTypeTransportIdleConnectionTimeout = 12
    HttpRequestInfoTypeDscpTag = 13
    HttpRequestInfoTypeInitialPacketTtl = 14


HttpRequestInfoTypeAuth: Final = 0
HttpRequestInfoTypeChannelBind: Final = 1
HttpRequestInfoTypeSslProtocol: Final = 2
HttpRequestInfoTypeSslTokenBindingDraft: Final = 3
HttpRequestInfoTypeSslTokenBinding: Final = 4
HttpRequestInfoTypeRequestTiming: Final = 5
HttpRequestInfoTypeTcpInfoV0: Final = 6
HttpRequestInfoTypeRequestSizing: Final = 7
HttpRequestInfoTypeQuicStats: Final = 8
HttpRequestInfoTypeTcpInfoV1: Final = 9
HttpRequestInfoTypeQuicStatsV2: Final = 10
HttpRequestInfoTypeTcpInfoV2: Final = 11
HttpRequestInfoTypeTransportIdleConnectionTimeout: Final = 12
HttpRequestInfoTypeDscpTag: Final = 13
HttpRequestInfoTypeInitialPacketTtl: Final = 14


class HTTP_RESPONSE_INFO_TYPE(IntEnum):
    """Kind of an HTTP_RESPONSE_INFO item of a V2 response."""

    HttpResponseInfoTypeMultipleKnownHeaders = 0
    HttpResponseInfoTypeAuthenticationProperty = 1
    HttpResponseInfoTypeQoSProperty = 2
    HttpResponseInfoTypeChannelBind = 3


HttpResponseInfoTypeMultipleKnownHeaders: Final = 0
HttpResponseInfoTypeAuthenticationProperty: Final = 1
HttpResponseInfoTypeQoSProperty: Final = 2
HttpResponseInfoTypeChannelBind: Final = 3


class HTTP_CACHE_POLICY_TYPE(IntEnum):
    """Kernel cache policy."""

    HttpCachePolicyNocache = 0
    HttpCachePolicyUserInvalidates = 1
    HttpCachePolicyTimeToLive = 2
    HttpCachePolicyMaximum = 3


HttpCachePolicyNocache: Final = 0
HttpCachePolicyUserInvalidates: Final = 1
HttpCachePolicyTimeToLive: Final = 2
HttpCachePolicyMaximum: Final = 3


class HTTP_SERVICE_CONFIG_ID(IntEnum):
    """Kind of machine-wide configuration record."""

    HttpServiceConfigIPListenList = 0
    HttpServiceConfigSSLCertInfo = 1
    HttpServiceConfigUrlAclInfo = 2
    HttpServiceConfigTimeout = 3
    HttpServiceConfigCache = 4
    HttpServiceConfigSslSniCertInfo = 5
    HttpServiceConfigSslCcsCertInfo = 6
    HttpServiceConfigSetting = 7
    HttpServiceConfigSslCertInfoEx = 8
    HttpServiceConfigSslSniCertInfoEx = 9
    HttpServiceConfigSslCcsCertInfoEx = 10
    HttpServiceConfigSslScopedCcsCertInfo = 11
    HttpServiceConfigSslScopedCcsCertInfoEx = 12
    HttpServiceConfigMax = 13


HttpServiceConfigIPListenList: Final = 0
HttpServiceConfigSSLCertInfo: Final = 1
HttpServiceConfigUrlAclInfo: Final = 2
HttpServiceConfigTimeout: Final = 3
HttpServiceConfigCache: Final = 4
HttpServiceConfigSslSniCertInfo: Final = 5
HttpServiceConfigSslCcsCertInfo: Final = 6
HttpServiceConfigSetting: Final = 7
HttpServiceConfigSslCertInfoEx: Final = 8
HttpServiceConfigSslSniCertInfoEx: Final = 9
HttpServiceConfigSslCcsCertInfoEx: Final = 10
HttpServiceConfigSslScopedCcsCertInfo: Final = 11
HttpServiceConfigSslScopedCcsCertInfoEx: Final = 12
HttpServiceConfigMax: Final = 13


class HTTP_SERVICE_CONFIG_QUERY_TYPE(IntEnum):
    """Exact lookup or enumeration by token."""

    HttpServiceConfigQueryExact = 0
    HttpServiceConfigQueryNext = 1
    HttpServiceConfigQueryMax = 2


HttpServiceConfigQueryExact: Final = 0
HttpServiceConfigQueryNext: Final = 1
HttpServiceConfigQueryMax: Final = 2


class HTTP_SSL_SERVICE_CONFIG_EX_PARAM_TYPE(IntEnum):
    """Which union member of HTTP_SERVICE_CONFIG_SSL_PARAM_EX is meant."""

    ExParamTypeHttp2Window = 0
    ExParamTypeHttp2SettingsLimits = 1
    ExParamTypeHttpPerformance = 2
    ExParamTypeTlsRestrictions = 3
    ExParamTypeErrorHeaders = 4
    ExParamTypeTlsSessionTicketKeys = 5
    ExParamTypeCertConfig = 6
    ExParamTypeMax = 7


ExParamTypeHttp2Window: Final = 0
ExParamTypeHttp2SettingsLimits: Final = 1
ExParamTypeHttpPerformance: Final = 2
ExParamTypeTlsRestrictions: Final = 3
ExParamTypeErrorHeaders: Final = 4
ExParamTypeTlsSessionTicketKeys: Final = 5
ExParamTypeCertConfig: Final = 6
ExParamTypeMax: Final = 7


class HTTP_PERFORMANCE_PARAM_TYPE(IntEnum):
    """Kind of HTTP_PERFORMANCE_PARAM."""

    PerformanceParamSendBufferingFlags = 0
    PerformanceParamAggressiveICW = 1
    PerformanceParamMaxSendBufferSize = 2
    PerformanceParamMaxConcurrentClientStreams = 3
    PerformanceParamMaxReceiveBufferSize = 4
    PerformanceParamDecryptOnSspiThread = 5
    PerformanceParamMax = 6


PerformanceParamSendBufferingFlags: Final = 0
PerformanceParamAggressiveICW: Final = 1
PerformanceParamMaxSendBufferSize: Final = 2
PerformanceParamMaxConcurrentClientStreams: Final = 3
PerformanceParamMaxReceiveBufferSize: Final = 4
PerformanceParamDecryptOnSspiThread: Final = 5
PerformanceParamMax: Final = 6


class HTTP_REQUEST_PROPERTY(IntEnum):
    """Per-request property of HttpSetRequestProperty / HttpQueryRequestProperty."""

    HttpRequestPropertyIsb = 0
    HttpRequestPropertyTcpInfoV0 = 1
    HttpRequestPropertyQuicStats = 2
    HttpRequestPropertyTcpInfoV1 = 3
    HttpRequestPropertySni = 4
    HttpRequestPropertyStreamError = 5
    HttpRequestPropertyWskApiTimings = 6
    HttpRequestPropertyQuicApiTimings = 7
    HttpRequestPropertyQuicStatsV2 = 8
    HttpRequestPropertyQuicStreamStats = 9
    HttpRequestPropertyTcpInfoV2 = 10
    HttpRequestPropertyTlsClientHello = 11
    HttpRequestPropertyTransportIdleConnectionTimeout = 12
    HttpRequestPropertyDscpTag = 13
    HttpRequestPropertyTlsCipherInfo = 14


HttpRequestPropertyIsb: Final = 0
HttpRequestPropertyTcpInfoV0: Final = 1
HttpRequestPropertyQuicStats: Final = 2
HttpRequestPropertyTcpInfoV1: Final = 3
HttpRequestPropertySni: Final = 4
HttpRequestPropertyStreamError: Final = 5
HttpRequestPropertyWskApiTimings: Final = 6
HttpRequestPropertyQuicApiTimings: Final = 7
HttpRequestPropertyQuicStatsV2: Final = 8
HttpRequestPropertyQuicStreamStats: Final = 9
HttpRequestPropertyTcpInfoV2: Final = 10
HttpRequestPropertyTlsClientHello: Final = 11
HttpRequestPropertyTransportIdleConnectionTimeout: Final = 12
HttpRequestPropertyDscpTag: Final = 13
HttpRequestPropertyTlsCipherInfo: Final = 14


class HTTP_FEATURE_ID(IntEnum):
    """Feature probed by HttpIsFeatureSupported."""

    HttpFeatureUnknown = 0
    HttpFeatureResponseTrailers = 1
    HttpFeatureApiTimings = 2
    HttpFeatureDelegateEx = 3
    HttpFeatureHttp3 = 4
    HttpFeatureTlsSessionTickets = 5
    HttpFeatureDisableTlsSessionId = 6
    HttpFeatureTlsDualCerts = 7
    HttpFeatureAutomaticChunkedEncoding = 8
    HttpFeatureDedicatedReqQueueDelegationType = 9
    HttpFeatureFastForwardResponse = 0xA
    HttpFeatureCacheTlsClientHello = 0xB
    HttpFeatureIdleConnectionTimeoutRequestProperty = 0xC
    HttpFeatureDisableAiaFlag = 0xD
    HttpFeatureDscp = 0xE
    HttpFeatureQueryCipherInfo = 0xF
    HttpFeatureQueryInitialPacketTtl = 0x10
    HttpFeatureTlsHandshakePerformanceCounters = 0x11
    HttpFeatureLast = 0x12
    HttpFeaturemax = 0xFFFFFFFF


HttpFeatureUnknown: Final = 0
HttpFeatureResponseTrailers: Final = 1
HttpFeatureApiTimings: Final = 2
HttpFeatureDelegateEx: Final = 3
HttpFeatureHttp3: Final = 4
HttpFeatureTlsSessionTickets: Final = 5
HttpFeatureDisableTlsSessionId: Final = 6
HttpFeatureTlsDualCerts: Final = 7
HttpFeatureAutomaticChunkedEncoding: Final = 8
HttpFeatureDedicatedReqQueueDelegationType: Final = 9
HttpFeatureFastForwardResponse: Final = 0xA
HttpFeatureCacheTlsClientHello: Final = 0xB
HttpFeatureIdleConnectionTimeoutRequestProperty: Final = 0xC
HttpFeatureDisableAiaFlag: Final = 0xD
HttpFeatureDscp: Final = 0xE
HttpFeatureQueryCipherInfo: Final = 0xF
HttpFeatureQueryInitialPacketTtl: Final = 0x10
HttpFeatureTlsHandshakePerformanceCounters: Final = 0x11
HttpFeatureLast: Final = 0x12
HttpFeaturemax: Final = 0xFFFFFFFF

# --------------------------------------------------------------------------------------------------------------
# Flags, limits and special values.
# --------------------------------------------------------------------------------------------------------------

# HttpInitialize / HttpTerminate flags
HTTP_INITIALIZE_SERVER: Final = 1
HTTP_INITIALIZE_CONFIG: Final = 2
HTTP_DEMAND_CBT: Final = 4

# HttpCreateRequestQueue flags
HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING: Final = 1
HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER: Final = 2
HTTP_CREATE_REQUEST_QUEUE_FLAG_DELEGATION: Final = 8

# HttpReceiveHttpRequest / HttpReceiveRequestEntityBody flags
HTTP_RECEIVE_REQUEST_FLAG_COPY_BODY: Final = 1
HTTP_RECEIVE_REQUEST_FLAG_FLUSH_BODY: Final = 2
HTTP_RECEIVE_REQUEST_ENTITY_BODY_FLAG_FILL_BUFFER: Final = 1

# HTTP_REQUEST.Flags
HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS: Final = 1
HTTP_REQUEST_FLAG_IP_ROUTED: Final = 2
HTTP_REQUEST_FLAG_HTTP2: Final = 4
HTTP_REQUEST_FLAG_HTTP3: Final = 8

# HttpSendHttpResponse / HttpSendResponseEntityBody flags
HTTP_SEND_RESPONSE_FLAG_DISCONNECT: Final = 1
HTTP_SEND_RESPONSE_FLAG_MORE_DATA: Final = 2
HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA: Final = 4
HTTP_SEND_RESPONSE_FLAG_ENABLE_NAGLING: Final = 8
HTTP_SEND_RESPONSE_FLAG_PROCESS_RANGES: Final = 0x20
HTTP_SEND_RESPONSE_FLAG_OPAQUE: Final = 0x40
HTTP_SEND_RESPONSE_FLAG_GOAWAY: Final = 0x100
HTTP_SEND_RESPONSE_FLAG_AUTOMATIC_CHUNKING: Final = 0x200

# HTTP_RESPONSE.Flags and HTTP_MULTIPLE_KNOWN_HEADERS.Flags
HTTP_RESPONSE_FLAG_MULTIPLE_ENCODINGS_AVAILABLE: Final = 1
HTTP_RESPONSE_FLAG_MORE_ENTITY_BODY_EXISTS: Final = 2
HTTP_RESPONSE_INFO_FLAGS_PRESERVE_ORDER: Final = 1

# URL, cache and client-certificate flags
HTTP_URL_FLAG_REMOVE_ALL: Final = 1
HTTP_FLUSH_RESPONSE_FLAG_RECURSIVE: Final = 1
HTTP_RECEIVE_SECURE_CHANNEL_TOKEN: Final = 1
HTTP_RECEIVE_FULL_CHAIN: Final = 2

# Limits and special values
HTTP_NULL_ID: Final = 0
HTTP_BYTE_RANGE_TO_EOF: Final = 0xFFFFFFFFFFFFFFFF
HTTP_LIMIT_INFINITE: Final = 0xFFFFFFFF
HTTP_MIN_SERVER_QUEUE_LENGTH: Final = 1
HTTP_MAX_SERVER_QUEUE_LENGTH: Final = 0x7FFFFFFF
HTTP_MIN_ALLOWED_BANDWIDTH_THROTTLING_RATE: Final = 0x400
HTTP_MIN_ALLOWED_LOG_FILE_ROLLOVER_SIZE: Final = 0x100000
HTTP_REQUEST_PROPERTY_SNI_HOST_MAX_LENGTH: Final = 0xFF
HTTP_SSL_CERT_SHA_HASH_LENGTH: Final = 0x14
HTTP_SSL_CERT_STORE_NAME_LENGTH: Final = 0x80

# HTTP_SERVER_AUTHENTICATION_INFO.AuthSchemes and .ExFlags
HTTP_AUTH_ENABLE_BASIC: Final = 1
HTTP_AUTH_ENABLE_DIGEST: Final = 2
HTTP_AUTH_ENABLE_NTLM: Final = 4
HTTP_AUTH_ENABLE_NEGOTIATE: Final = 8
HTTP_AUTH_ENABLE_KERBEROS: Final = 0x10
HTTP_AUTH_ENABLE_ALL: Final = 0x1F
HTTP_AUTH_EX_FLAG_ENABLE_KERBEROS_CREDENTIAL_CACHING: Final = 1
HTTP_AUTH_EX_FLAG_CAPTURE_CREDENTIAL: Final = 2

# HTTP_REQUEST_AUTH_INFO.Flags and HTTP_REQUEST_SIZING_INFO.Flags
HTTP_REQUEST_AUTH_FLAG_TOKEN_FOR_CACHED_CRED: Final = 1
HTTP_REQUEST_SIZING_INFO_FLAG_TCP_FAST_OPEN: Final = 1
HTTP_REQUEST_SIZING_INFO_FLAG_TLS_SESSION_RESUMPTION: Final = 2
HTTP_REQUEST_SIZING_INFO_FLAG_TLS_FALSE_START: Final = 4
HTTP_REQUEST_SIZING_INFO_FLAG_FIRST_REQUEST: Final = 8

# HTTP_CHANNEL_BIND_INFO.Flags
HTTP_CHANNEL_BIND_PROXY: Final = 1
HTTP_CHANNEL_BIND_NO_SERVICE_NAME_CHECK: Final = 2
HTTP_CHANNEL_BIND_DOTLESS_SERVICE: Final = 4
HTTP_CHANNEL_BIND_SECURE_CHANNEL_TOKEN: Final = 8
HTTP_CHANNEL_BIND_CLIENT_SERVICE: Final = 0x10
HTTP_CHANNEL_BIND_PROXY_COHOSTING: Final = 0x20

# HTTP_LOGGING_INFO.LoggingFlags
HTTP_LOGGING_FLAG_LOCAL_TIME_ROLLOVER: Final = 1
HTTP_LOGGING_FLAG_USE_UTF8_CONVERSION: Final = 2
HTTP_LOGGING_FLAG_LOG_ERRORS_ONLY: Final = 4
HTTP_LOGGING_FLAG_LOG_SUCCESS_ONLY: Final = 8

# HTTP_LOGGING_INFO.Fields (W3C field mask; CLIENT_PORT .. QUEUE_NAME are error-log fields)
HTTP_LOG_FIELD_DATE: Final = 1
HTTP_LOG_FIELD_TIME: Final = 2
HTTP_LOG_FIELD_CLIENT_IP: Final = 4
HTTP_LOG_FIELD_USER_NAME: Final = 8
HTTP_LOG_FIELD_SITE_NAME: Final = 0x10
HTTP_LOG_FIELD_COMPUTER_NAME: Final = 0x20
HTTP_LOG_FIELD_SERVER_IP: Final = 0x40
HTTP_LOG_FIELD_METHOD: Final = 0x80
HTTP_LOG_FIELD_URI_STEM: Final = 0x100
HTTP_LOG_FIELD_URI_QUERY: Final = 0x200
HTTP_LOG_FIELD_STATUS: Final = 0x400
HTTP_LOG_FIELD_WIN32_STATUS: Final = 0x800
HTTP_LOG_FIELD_BYTES_SENT: Final = 0x1000
HTTP_LOG_FIELD_BYTES_RECV: Final = 0x2000
HTTP_LOG_FIELD_TIME_TAKEN: Final = 0x4000
HTTP_LOG_FIELD_SERVER_PORT: Final = 0x8000
HTTP_LOG_FIELD_USER_AGENT: Final = 0x10000
HTTP_LOG_FIELD_COOKIE: Final = 0x20000
HTTP_LOG_FIELD_REFERER: Final = 0x40000
HTTP_LOG_FIELD_VERSION: Final = 0x80000
HTTP_LOG_FIELD_HOST: Final = 0x100000
HTTP_LOG_FIELD_SUB_STATUS: Final = 0x200000
HTTP_LOG_FIELD_CLIENT_PORT: Final = 0x400000
HTTP_LOG_FIELD_URI: Final = 0x800000
HTTP_LOG_FIELD_SITE_ID: Final = 0x1000000
HTTP_LOG_FIELD_REASON: Final = 0x2000000
HTTP_LOG_FIELD_QUEUE_NAME: Final = 0x4000000
HTTP_LOG_FIELD_STREAM_ID: Final = 0x8000000
HTTP_LOG_FIELD_STREAM_ID_EX: Final = 0x10000000
HTTP_LOG_FIELD_TRANSPORT_TYPE: Final = 0x20000000
HTTP_LOG_FIELD_CORRELATION_ID: Final = 0x40000000
HTTP_LOG_FIELD_FAULT_CODE: Final = 0x80000000

# HTTP_SERVICE_CONFIG_SSL_PARAM.DefaultCertCheckMode
HTTP_CERT_CHECK_MODE_NO_REVOCATION: Final = 1
HTTP_CERT_CHECK_MODE_CACHED_REVOCATION: Final = 2
HTTP_CERT_CHECK_MODE_USE_REVOCATION_FRESHNESS: Final = 4
HTTP_CERT_CHECK_MODE_CACHED_URLS: Final = 8
HTTP_CERT_CHECK_MODE_NO_AIA: Final = 0x10
HTTP_CERT_CHECK_MODE_NO_USAGE_CHECK: Final = 0x10000

# HTTP_SERVICE_CONFIG_SSL_PARAM.DefaultFlags
HTTP_SERVICE_CONFIG_SSL_FLAG_USE_DS_MAPPER: Final = 1
HTTP_SERVICE_CONFIG_SSL_FLAG_NEGOTIATE_CLIENT_CERT: Final = 2
HTTP_SERVICE_CONFIG_SSL_FLAG_NO_RAW_FILTER: Final = 4
HTTP_SERVICE_CONFIG_SSL_FLAG_REJECT: Final = 8
HTTP_SERVICE_CONFIG_SSL_FLAG_DISABLE_HTTP2: Final = 0x10
HTTP_SERVICE_CONFIG_SSL_FLAG_DISABLE_QUIC: Final = 0x20
HTTP_SERVICE_CONFIG_SSL_FLAG_DISABLE_TLS13: Final = 0x40
HTTP_SERVICE_CONFIG_SSL_FLAG_DISABLE_OCSP_STAPLING: Final = 0x80
HTTP_SERVICE_CONFIG_SSL_FLAG_ENABLE_TOKEN_BINDING: Final = 0x100
HTTP_SERVICE_CONFIG_SSL_FLAG_LOG_EXTENDED_EVENTS: Final = 0x200
HTTP_SERVICE_CONFIG_SSL_FLAG_DISABLE_LEGACY_TLS: Final = 0x400
HTTP_SERVICE_CONFIG_SSL_FLAG_ENABLE_SESSION_TICKET: Final = 0x800
HTTP_SERVICE_CONFIG_SSL_FLAG_DISABLE_TLS12: Final = 0x1000
HTTP_SERVICE_CONFIG_SSL_FLAG_ENABLE_CLIENT_CORRELATION: Final = 0x2000
HTTP_SERVICE_CONFIG_SSL_FLAG_DISABLE_SESSION_ID: Final = 0x4000
HTTP_SERVICE_CONFIG_SSL_FLAG_ENABLE_CACHE_CLIENT_HELLO: Final = 0x8000

# HTTP_REQUEST_PROPERTY_SNI.Flags
HTTP_REQUEST_PROPERTY_SNI_FLAG_SNI_USED: Final = 1
HTTP_REQUEST_PROPERTY_SNI_FLAG_NO_SNI: Final = 2

# --------------------------------------------------------------------------------------------------------------
# Names the .NET interop tables use where http.h has none (ASP.NET Core's HttpSys server, HttpApiTypes; .NET's
# HttpListener, UnsafeNclNativeMethods.HttpApi / Interop.HttpApi), so code ported from them finds every constant
# it writes. Same values as there; what each means here is said next to it.
# --------------------------------------------------------------------------------------------------------------

# HTTP_PROPERTY_FLAGS as the ULONG it is (the bit-field Present:1 is bit 0). A Flags field typed
# HTTP_PROPERTY_FLAGS takes either int as well as an HTTP_PROPERTY_FLAGS instance; any other value is
# ERROR_INVALID_PARAMETER.
HTTP_PROPERTY_FLAG_NONE: Final = 0
HTTP_PROPERTY_FLAG_PRESENT: Final = 1
# HttpInitialize: the interop name of HTTP_DEMAND_CBT (the same bit, accepted only together with SERVER).
HTTP_INITIALIZE_CBT: Final = 4
# The old name of the send bit http.h now calls HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA; a send given it buffers, as
# today's HTTP.sys does. Its pre-Vista meaning (raw headers on an HttpSendResponseEntityBody without a prior
# HttpSendHttpResponse) does not exist: that call answers ERROR_INVALID_PARAMETER.
HTTP_SEND_RESPONSE_FLAG_RAW_HEADER: Final = 4
# Flag of the client-side HttpSendHttpRequest / HttpSendRequestEntityBody, which the server API (and httpsys)
# does not have; exported with its value for code that declares it.
HTTP_SEND_REQUEST_FLAG_MORE_DATA: Final = 1
# HTTP_RESPONSE_INFO_TYPE 2 as the interop tables spell it (http.h: HttpResponseInfoTypeQoSProperty).
HttpResponseInfoTypeQosProperty: Final = 2

# --------------------------------------------------------------------------------------------------------------
# Win32 error codes (the single table is httpsys._core.status.Win32Error).
# --------------------------------------------------------------------------------------------------------------

NO_ERROR: Final = int(Win32Error.NO_ERROR)
ERROR_INVALID_FUNCTION: Final = int(Win32Error.ERROR_INVALID_FUNCTION)
ERROR_FILE_NOT_FOUND: Final = int(Win32Error.ERROR_FILE_NOT_FOUND)
ERROR_PATH_NOT_FOUND: Final = int(Win32Error.ERROR_PATH_NOT_FOUND)
ERROR_ACCESS_DENIED: Final = int(Win32Error.ERROR_ACCESS_DENIED)
ERROR_INVALID_HANDLE: Final = int(Win32Error.ERROR_INVALID_HANDLE)
ERROR_NOT_ENOUGH_MEMORY: Final = int(Win32Error.ERROR_NOT_ENOUGH_MEMORY)
ERROR_OUTOFMEMORY: Final = int(Win32Error.ERROR_OUTOFMEMORY)
ERROR_BAD_COMMAND: Final = int(Win32Error.ERROR_BAD_COMMAND)
ERROR_SHARING_VIOLATION: Final = int(Win32Error.ERROR_SHARING_VIOLATION)
ERROR_HANDLE_EOF: Final = int(Win32Error.ERROR_HANDLE_EOF)
ERROR_NOT_SUPPORTED: Final = int(Win32Error.ERROR_NOT_SUPPORTED)
ERROR_NETNAME_DELETED: Final = int(Win32Error.ERROR_NETNAME_DELETED)
ERROR_INVALID_PARAMETER: Final = int(Win32Error.ERROR_INVALID_PARAMETER)
ERROR_CALL_NOT_IMPLEMENTED: Final = int(Win32Error.ERROR_CALL_NOT_IMPLEMENTED)
ERROR_INSUFFICIENT_BUFFER: Final = int(Win32Error.ERROR_INSUFFICIENT_BUFFER)
ERROR_INVALID_NAME: Final = int(Win32Error.ERROR_INVALID_NAME)
ERROR_ALREADY_EXISTS: Final = int(Win32Error.ERROR_ALREADY_EXISTS)
ERROR_MORE_DATA: Final = int(Win32Error.ERROR_MORE_DATA)
WAIT_TIMEOUT: Final = int(Win32Error.WAIT_TIMEOUT)
ERROR_NO_MORE_ITEMS: Final = int(Win32Error.ERROR_NO_MORE_ITEMS)
ERROR_OPERATION_ABORTED: Final = int(Win32Error.ERROR_OPERATION_ABORTED)
ERROR_IO_INCOMPLETE: Final = int(Win32Error.ERROR_IO_INCOMPLETE)
ERROR_IO_PENDING: Final = int(Win32Error.ERROR_IO_PENDING)
ERROR_NOACCESS: Final = int(Win32Error.ERROR_NOACCESS)
ERROR_DLL_INIT_FAILED: Final = int(Win32Error.ERROR_DLL_INIT_FAILED)
ERROR_SERVICE_NOT_ACTIVE: Final = int(Win32Error.ERROR_SERVICE_NOT_ACTIVE)
ERROR_NOT_FOUND: Final = int(Win32Error.ERROR_NOT_FOUND)
ERROR_CONNECTION_INVALID: Final = int(Win32Error.ERROR_CONNECTION_INVALID)
ERROR_REVISION_MISMATCH: Final = int(Win32Error.ERROR_REVISION_MISMATCH)
ERROR_NO_SUCH_LOGON_SESSION: Final = int(Win32Error.ERROR_NO_SUCH_LOGON_SESSION)
ERROR_INVALID_ID_AUTHORITY: Final = int(Win32Error.ERROR_INVALID_ID_AUTHORITY)
ERROR_NOT_ENOUGH_QUOTA: Final = int(Win32Error.ERROR_NOT_ENOUGH_QUOTA)
ERROR_SUCCESS: Final = int(Win32Error.NO_ERROR)


# --------------------------------------------------------------------------------------------------------------
# Versions and the header macros.
# --------------------------------------------------------------------------------------------------------------

HTTPAPI_VERSION_1: Final = HTTPAPI_VERSION(1, 0)
HTTPAPI_VERSION_2: Final = HTTPAPI_VERSION(2, 0)
HTTP_VERSION_UNKNOWN: Final = HTTP_VERSION(0, 0)
HTTP_VERSION_0_9: Final = HTTP_VERSION(0, 9)
HTTP_VERSION_1_0: Final = HTTP_VERSION(1, 0)
HTTP_VERSION_1_1: Final = HTTP_VERSION(1, 1)
HTTP_VERSION_2_0: Final = HTTP_VERSION(2, 0)
HTTP_VERSION_3_0: Final = HTTP_VERSION(3, 0)


def HTTP_SET_VERSION(version: HTTP_VERSION, major: int, minor: int) -> None:
    """Set ``version`` to ``{major, minor}`` in place."""
    version.MajorVersion = major
    version.MinorVersion = minor


def HTTP_EQUAL_VERSION(version: HTTP_VERSION, major: int, minor: int) -> bool:
    return version.MajorVersion == major and version.MinorVersion == minor


def HTTP_GREATER_VERSION(version: HTTP_VERSION, major: int, minor: int) -> bool:
    return version.MajorVersion > major or (version.MajorVersion == major and version.MinorVersion > minor)


def HTTP_LESS_VERSION(version: HTTP_VERSION, major: int, minor: int) -> bool:
    return version.MajorVersion < major or (version.MajorVersion == major and version.MinorVersion < minor)


def HTTP_NOT_EQUAL_VERSION(version: HTTP_VERSION, major: int, minor: int) -> bool:
    return not HTTP_EQUAL_VERSION(version, major, minor)


def HTTP_GREATER_EQUAL_VERSION(version: HTTP_VERSION, major: int, minor: int) -> bool:
    return not HTTP_LESS_VERSION(version, major, minor)


def HTTP_LESS_EQUAL_VERSION(version: HTTP_VERSION, major: int, minor: int) -> bool:
    return not HTTP_GREATER_VERSION(version, major, minor)


def HTTPAPI_EQUAL_VERSION(version: HTTPAPI_VERSION, major: int, minor: int) -> bool:
    return version.HttpApiMajorVersion == major and version.HttpApiMinorVersion == minor


def HTTPAPI_GREATER_VERSION(version: HTTPAPI_VERSION, major: int, minor: int) -> bool:
    return version.HttpApiMajorVersion > major or (
        version.HttpApiMajorVersion == major and version.HttpApiMinorVersion > minor
    )


def HTTPAPI_LESS_VERSION(version: HTTPAPI_VERSION, major: int, minor: int) -> bool:
    return version.HttpApiMajorVersion < major or (
        version.HttpApiMajorVersion == major and version.HttpApiMinorVersion < minor
    )


def HTTPAPI_VERSION_GREATER_OR_EQUAL(version: HTTPAPI_VERSION, major: int, minor: int) -> bool:
    return not HTTPAPI_LESS_VERSION(version, major, minor)


def _id_holder(pid: Any) -> Any:
    """The ctypes scalar behind ``pid``: the holder itself, ``byref(holder)`` or ``pointer(holder)``."""
    if isinstance(pid, ctypes._Pointer):
        return pid.contents
    obj = getattr(pid, "_obj", None)  # what ctypes.byref() wraps
    return pid if obj is None else obj


def HTTP_IS_NULL_ID(pid: Any) -> bool:
    """``*pid == HTTP_NULL_ID``; ``pid`` is an id holder (``c_ulonglong``, byref/pointer of one) or an int."""
    if isinstance(pid, int):
        return pid == HTTP_NULL_ID
    value: int = _id_holder(pid).value
    return value == HTTP_NULL_ID


def HTTP_SET_NULL_ID(pid: Any) -> None:
    """``*pid = HTTP_NULL_ID`` on an id holder (``c_ulonglong()``, or byref/pointer of one)."""
    _id_holder(pid).value = HTTP_NULL_ID
