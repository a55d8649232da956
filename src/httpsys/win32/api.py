"""The functions of the HTTP Server API (``httpapi.dll``): every ``Http*`` function of spec §2.1.

Responsibility: the exact Win32 shape of each call — positional parameters in the documented order, keyword names
as in the docs, reserved parameters validated, Win32 codes returned as ``int``, out-parameters written through
holders — on top of the transport. Each function validates its arguments (marshal.py), converts structs to plain
records, asks the transport, and writes results back; I/O calls go through ``queue_handle.run_io`` for the
synchronous / overlapped contract. No exception escapes any function. HttpInitialize/HttpTerminate acquire and
release the transport (``set_transport_factory`` lets a test suite run everything against another transport).

It must not implement HTTP behaviour (the driver does) and must not keep request state: request ids, connection
ids, session and group ids are the driver's. Functions without driver support return ERROR_NOT_SUPPORTED
(HttpDeclarePush, HttpGetExtension, SSL records of the configuration store); see docs/decisions/0003-win32-face.md.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import Any, Final, ParamSpec

from httpsys._core.records import FileChunk, MemoryChunk
from httpsys._core.sddl import InvalidSddl, parse_sddl
from httpsys._core.status import Win32Error
from httpsys._core.urlprefix import InvalidUrlPrefix, parse_url_prefix
from httpsys._transport import release_shared_transport, shared_transport
from httpsys._transport.interface import DriverTransport
from httpsys.errors import (
    DllInitFailedError,
    HttpSysError,
    InvalidHandleError,
    InvalidParameterError,
    code_for_error,
)

from .constants import (
    HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER,
    HTTP_CREATE_REQUEST_QUEUE_FLAG_DELEGATION,
    HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING,
    HTTP_DEMAND_CBT,
    HTTP_FLUSH_RESPONSE_FLAG_RECURSIVE,
    HTTP_INITIALIZE_CONFIG,
    HTTP_INITIALIZE_SERVER,
    HTTP_RECEIVE_FULL_CHAIN,
    HTTP_RECEIVE_SECURE_CHANNEL_TOKEN,
    HTTP_URL_FLAG_REMOVE_ALL,
    DelegateRequestDelegateUrlProperty,
    DelegateRequestReservedProperty,
    HttpFeatureAutomaticChunkedEncoding,
    HttpFeatureDelegateEx,
    HttpFeatureResponseTrailers,
    HttpServer503VerbosityProperty,
    HttpServerAuthenticationProperty,
    HttpServerBindingProperty,
    HttpServerChannelBindProperty,
    HttpServerDelegationProperty,
    HttpServerExtendedAuthenticationProperty,
    HttpServerListenEndpointProperty,
    HttpServerLoggingProperty,
    HttpServerProtectionLevelProperty,
    HttpServerQosProperty,
    HttpServerQueueLengthProperty,
    HttpServerStateProperty,
    HttpServerTimeoutsProperty,
    HttpServiceConfigSslCcsCertInfo,
    HttpServiceConfigSslCcsCertInfoEx,
    HttpServiceConfigSSLCertInfo,
    HttpServiceConfigSslCertInfoEx,
    HttpServiceConfigSslScopedCcsCertInfo,
    HttpServiceConfigSslScopedCcsCertInfoEx,
    HttpServiceConfigSslSniCertInfo,
    HttpServiceConfigSslSniCertInfoEx,
    HttpVerbGET,
    HttpVerbHEAD,
)
from .kernel32 import (
    handle_value,
    lookup_handle,
    out_param_present,
    out_param_valid,
    set_alertable_wait,
    store_out_param,
)
from .marshal import (
    as_flag_present,
    as_uint,
    authentication_value,
    cache_policy,
    channel_bind_value,
    counted,
    data_chunk,
    fill_authentication,
    fill_channel_bind,
    fill_listen_endpoint,
    fill_protection_level,
    fill_qos,
    fill_state,
    fill_timeouts,
    listen_endpoint_value,
    logging_value,
    pcwstr,
    protection_level_value,
    qos_value,
    scalar_input,
    state_value,
    string_arg,
    timeouts_value,
    writable_buffer,
)
from .queue_handle import RequestQueueHandle, immediate, run_io
from .request_io import bytes_out as _bytes_out
from .request_io import overlapped_arg as _overlapped
from .request_io import queue_of as _queue
from .request_io import (
    receive_body,
    receive_request,
    send_body,
    send_response,
)
from .request_io import reserved_null as _reserved_null
from .request_io import reserved_zero as _reserved_zero
from .service_config import service_config_store
from .structs import (
    HTTP_BINDING_INFO,
    HTTP_BYTE_RANGE,
    HTTP_CHANNEL_BIND_INFO,
    HTTP_DELEGATE_REQUEST_PROPERTY_INFO,
    HTTP_LISTEN_ENDPOINT_INFO,
    HTTP_LOGGING_INFO,
    HTTP_PROPERTY_FLAGS,
    HTTP_PROTECTION_LEVEL_INFO,
    HTTP_QOS_SETTING_INFO,
    HTTP_QUERY_REQUEST_QUALIFIER_TCP,
    HTTP_REQUEST_CHANNEL_BIND_STATUS,
    HTTP_REQUEST_HEADERS,
    HTTP_REQUEST_PROPERTY_SNI,
    HTTP_REQUEST_PROPERTY_STREAM_ERROR,
    HTTP_SERVER_AUTHENTICATION_INFO,
    HTTP_SSL_CLIENT_CERT_INFO,
    HTTP_STATE_INFO,
    HTTP_TIMEOUT_LIMIT_INFO,
    HTTPAPI_VERSION,
    SECURITY_ATTRIBUTES,
    TCP_INFO_v0,
    TCP_INFO_v1,
    sizeof,
)

__all__ = [
    "HttpAddFragmentToCache",
    "HttpAddUrl",
    "HttpAddUrlToUrlGroup",
    "HttpCancelHttpRequest",
    "HttpCloseRequestQueue",
    "HttpCloseServerSession",
    "HttpCloseUrlGroup",
    "HttpCreateHttpHandle",
    "HttpCreateRequestQueue",
    "HttpCreateServerSession",
    "HttpCreateUrlGroup",
    "HttpDeclarePush",
    "HttpDelegateRequestEx",
    "HttpDeleteServiceConfiguration",
    "HttpFindUrlGroupId",
    "HttpFlushResponseCache",
    "HttpGetExtension",
    "HttpInitialize",
    "HttpIsFeatureSupported",
    "HttpPrepareUrl",
    "HttpQueryRequestProperty",
    "HttpQueryRequestQueueProperty",
    "HttpQueryServerSessionProperty",
    "HttpQueryServiceConfiguration",
    "HttpQueryUrlGroupProperty",
    "HttpReadFragmentFromCache",
    "HttpReceiveClientCertificate",
    "HttpReceiveHttpRequest",
    "HttpReceiveRequestEntityBody",
    "HttpRemoveUrl",
    "HttpRemoveUrlFromUrlGroup",
    "HttpSendHttpResponse",
    "HttpSendResponseEntityBody",
    "HttpSetRequestProperty",
    "HttpSetRequestQueueProperty",
    "HttpSetServerSessionProperty",
    "HttpSetServiceConfiguration",
    "HttpSetUrlGroupProperty",
    "HttpShutdownRequestQueue",
    "HttpTerminate",
    "HttpUpdateServiceConfiguration",
    "HttpWaitForDemandStart",
    "HttpWaitForDisconnect",
    "HttpWaitForDisconnectEx",
]

P = ParamSpec("P")

_OK: Final = int(Win32Error.NO_ERROR)
_INVALID_PARAMETER: Final = int(Win32Error.ERROR_INVALID_PARAMETER)
_INVALID_HANDLE: Final = int(Win32Error.ERROR_INVALID_HANDLE)
_NOT_SUPPORTED: Final = int(Win32Error.ERROR_NOT_SUPPORTED)
_MORE_DATA: Final = int(Win32Error.ERROR_MORE_DATA)
_CONNECTION_INVALID: Final = int(Win32Error.ERROR_CONNECTION_INVALID)
_REVISION_MISMATCH: Final = int(Win32Error.ERROR_REVISION_MISMATCH)
_INSUFFICIENT_BUFFER: Final = int(Win32Error.ERROR_INSUFFICIENT_BUFFER)
_NOT_FOUND: Final = int(Win32Error.ERROR_NOT_FOUND)
_INVALID_NAME: Final = int(Win32Error.ERROR_INVALID_NAME)

_INIT_FLAGS: Final = HTTP_INITIALIZE_SERVER | HTTP_INITIALIZE_CONFIG | HTTP_DEMAND_CBT
_CREATE_QUEUE_FLAGS: Final = (
    HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING
    | HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER
    | HTTP_CREATE_REQUEST_QUEUE_FLAG_DELEGATION
)
_MAX_PATH_BYTES: Final = 260
_SSL_CONFIG_IDS: Final = frozenset(
    {
        HttpServiceConfigSSLCertInfo,
        HttpServiceConfigSslSniCertInfo,
        HttpServiceConfigSslCcsCertInfo,
        HttpServiceConfigSslCertInfoEx,
        HttpServiceConfigSslSniCertInfoEx,
        HttpServiceConfigSslCcsCertInfoEx,
        HttpServiceConfigSslScopedCcsCertInfo,
        HttpServiceConfigSslScopedCcsCertInfoEx,
    }
)
_SUPPORTED_FEATURES: Final = frozenset(
    {HttpFeatureResponseTrailers, HttpFeatureAutomaticChunkedEncoding, HttpFeatureDelegateEx}
)


# ---------------------------------------------------------------------------------------------------------------
# Process state: initialization counts, the transport, what this face opened
# ---------------------------------------------------------------------------------------------------------------


def _release_default(transport: DriverTransport) -> None:
    release_shared_transport(transport)


def _release_by_close(transport: DriverTransport) -> None:
    close = getattr(transport, "close", None)
    if callable(close):
        close()


class _ApiState:
    """HttpInitialize reference counts, the transport they hold, and the objects to clean up at the end."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.server = 0
        self.config = 0
        self.transport: DriverTransport | None = None
        self.factory: Callable[[], DriverTransport] = shared_transport
        self.release: Callable[[DriverTransport], None] = _release_default
        self.queues: set[RequestQueueHandle] = set()
        self.sessions: set[int] = set()
        self.bindings: dict[int, RequestQueueHandle] = {}

    def forget_queue(self, queue: RequestQueueHandle) -> None:
        with self.lock:
            self.queues.discard(queue)
            for group_id in [g for g, q in self.bindings.items() if q is queue]:
                del self.bindings[group_id]


_state: Final = _ApiState()


def set_transport_factory(
    factory: Callable[[], DriverTransport] | None = None,
    release: Callable[[DriverTransport], None] | None = None,
) -> None:
    """Choose where HttpInitialize gets its transport (a test hook; None restores the default: the daemon at
    HTTPSYS_DAEMON_SOCKET when set, else the embedded driver).

    ``factory()`` is called by the first HttpInitialize with HTTP_INITIALIZE_SERVER, ``release(transport)`` by
    the matching last HttpTerminate (default: ``transport.close()`` when it has one). It takes effect at the
    next acquisition; a transport already in use is kept until then.
    """
    with _state.lock:
        if factory is None:
            _state.factory = shared_transport
            _state.release = _release_default
        else:
            _state.factory = factory
            _state.release = release if release is not None else _release_by_close


def _server() -> DriverTransport:
    transport = _state.transport
    if _state.server <= 0 or transport is None:
        raise DllInitFailedError("HttpInitialize(HTTP_INITIALIZE_SERVER) has not been called")
    return transport


def _require_config() -> None:
    if _state.config <= 0:
        raise DllInitFailedError("HttpInitialize(HTTP_INITIALIZE_CONFIG) has not been called")


def _new_queue(transport: DriverTransport, handle_id: int, **kwargs: Any) -> RequestQueueHandle:
    queue = RequestQueueHandle(transport, handle_id, on_close=_state.forget_queue, **kwargs)
    with _state.lock:
        _state.queues.add(queue)
    return queue


def _invalid(what: str) -> InvalidParameterError:
    return InvalidParameterError(what)


def _api_version(value: object) -> tuple[int, int]:
    if isinstance(value, HTTPAPI_VERSION):
        return (
            as_uint(value.HttpApiMajorVersion, 16, "HttpApiMajorVersion"),
            as_uint(value.HttpApiMinorVersion, 16, "HttpApiMinorVersion"),
        )
    if isinstance(value, tuple | list) and len(value) == 2:
        return as_uint(value[0], 16, "major version"), as_uint(value[1], 16, "minor version")
    raise _invalid("Version must be an HTTPAPI_VERSION")


def _win32(fn: Callable[P, int]) -> Callable[P, int]:
    """Return the Win32 code of ``fn``; any exception becomes a code (never escapes)."""

    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            return int(fn(*args, **kwargs))
        except HttpSysError as exc:
            return int(exc.winerror)
        except OSError as exc:
            return code_for_error(exc)
        except Exception:
            return _INVALID_PARAMETER

    return call


# ---------------------------------------------------------------------------------------------------------------
# Initialization
# ---------------------------------------------------------------------------------------------------------------


@_win32
def HttpInitialize(Version: object, Flags: object, pReserved: object = None) -> int:
    """Initialize the API for server (HTTP_INITIALIZE_SERVER) and/or configuration (HTTP_INITIALIZE_CONFIG) use."""
    version = _api_version(Version)
    flags = as_uint(Flags, 32, "Flags")
    _reserved_null(pReserved, "pReserved")
    if not flags or flags & ~_INIT_FLAGS:
        return _INVALID_PARAMETER
    if flags & HTTP_DEMAND_CBT and not flags & HTTP_INITIALIZE_SERVER:
        return _INVALID_PARAMETER
    if version not in ((1, 0), (2, 0)):
        return _REVISION_MISMATCH
    with _state.lock:
        if flags & HTTP_INITIALIZE_SERVER:
            if _state.server == 0:
                _state.transport = _state.factory()
                # an alertable transport runs its loop on the threads that wait (decision 0023, amendment 2)
                set_alertable_wait(getattr(_state.transport, "alertable_wait", None))
            _state.server += 1
        if flags & HTTP_INITIALIZE_CONFIG:
            _state.config += 1
    return _OK


@_win32
def HttpTerminate(Flags: object, pReserved: object = None) -> int:
    """Undo one HttpInitialize per flag; the last HTTP_INITIALIZE_SERVER closes what this face opened."""
    flags = as_uint(Flags, 32, "Flags")
    _reserved_null(pReserved, "pReserved")
    if not flags & (HTTP_INITIALIZE_SERVER | HTTP_INITIALIZE_CONFIG) or flags & ~_INIT_FLAGS:
        return _INVALID_PARAMETER
    with _state.lock:
        if flags & HTTP_INITIALIZE_SERVER and _state.server <= 0:
            return _INVALID_PARAMETER
        if flags & HTTP_INITIALIZE_CONFIG and _state.config <= 0:
            return _INVALID_PARAMETER
        if flags & HTTP_INITIALIZE_CONFIG:
            _state.config -= 1
        if flags & HTTP_INITIALIZE_SERVER:
            _state.server -= 1
            if _state.server == 0:
                _shut_down()
    return _OK


def _shut_down() -> None:
    """The last server terminate: close this face's queues and sessions, then release the transport."""
    transport = _state.transport
    _state.transport = None
    for queue in list(_state.queues):
        try:
            queue.close_handle()
        except Exception:
            pass
    _state.queues.clear()
    _state.bindings.clear()
    if transport is None:
        return
    for session_id in list(_state.sessions):
        try:
            transport.close_server_session(session_id)
        except Exception:
            pass
    _state.sessions.clear()
    try:
        _state.release(transport)
    except Exception:
        pass
    finally:
        set_alertable_wait(None)


# ---------------------------------------------------------------------------------------------------------------
# Version 1.0 request queues and URLs
# ---------------------------------------------------------------------------------------------------------------


@_win32
def HttpCreateHttpHandle(RequestQueueHandle: object, Reserved: object = 0) -> int:
    """Create a version 1.0 request queue; its handle is written to the ``RequestQueueHandle`` holder."""
    transport = _server()
    if not out_param_present(RequestQueueHandle):
        return _INVALID_PARAMETER
    _reserved_zero(Reserved, "Reserved")
    code, handle_id = transport.create_request_queue(None, 0, True)
    if code != _OK:
        return code
    queue = _new_queue(transport, handle_id, v1=True)
    if not store_out_param(RequestQueueHandle, queue.value):
        queue.close_handle()
        return _INVALID_PARAMETER
    return _OK


@_win32
def HttpAddUrl(RequestQueueHandle: object, FullyQualifiedUrl: object, Reserved: object = None) -> int:
    """Register a URL prefix on a version 1.0 request queue."""
    transport = _server()
    queue = _queue(RequestQueueHandle)
    url = string_arg(FullyQualifiedUrl, "FullyQualifiedUrl")
    _reserved_null(Reserved, "Reserved")
    assert url is not None
    return transport.add_url_v1(queue.handle_id, url)


@_win32
def HttpRemoveUrl(RequestQueueHandle: object, FullyQualifiedUrl: object) -> int:
    """Unregister a URL prefix (the exact string registered) from a version 1.0 request queue."""
    transport = _server()
    if not handle_value(RequestQueueHandle):
        return _INVALID_PARAMETER  # a NULL queue is an invalid parameter here (Wine tests on Windows)
    queue = _queue(RequestQueueHandle)
    url = string_arg(FullyQualifiedUrl, "FullyQualifiedUrl")
    assert url is not None
    return transport.remove_url_v1(queue.handle_id, url)


# ---------------------------------------------------------------------------------------------------------------
# Receiving requests and entity bodies
# ---------------------------------------------------------------------------------------------------------------


@_win32
def HttpReceiveHttpRequest(
    RequestQueueHandle: object,
    RequestId: object,
    Flags: object,
    RequestBuffer: object,
    RequestBufferLength: object,
    BytesReturned: object = None,
    Overlapped: object = None,
) -> int:
    """Retrieve the next request (RequestId HTTP_NULL_ID) or a given one into an HTTP_REQUEST instance."""
    return receive_request(
        _server(),
        RequestQueueHandle,
        RequestId,
        Flags,
        RequestBuffer,
        RequestBufferLength,
        BytesReturned,
        Overlapped,
    )


@_win32
def HttpReceiveRequestEntityBody(
    RequestQueueHandle: object,
    RequestId: object,
    Flags: object,
    EntityBuffer: object,
    EntityBufferLength: object,
    BytesReturned: object = None,
    Overlapped: object = None,
) -> int:
    """Read entity-body bytes of a request into a writable buffer (ERROR_HANDLE_EOF when none are left)."""
    return receive_body(
        _server(),
        RequestQueueHandle,
        RequestId,
        Flags,
        EntityBuffer,
        EntityBufferLength,
        BytesReturned,
        Overlapped,
    )


# ---------------------------------------------------------------------------------------------------------------
# Sending responses
# ---------------------------------------------------------------------------------------------------------------


@_win32
def HttpSendHttpResponse(
    RequestQueueHandle: object,
    RequestId: object,
    Flags: object,
    HttpResponse: object,
    CachePolicy: object = None,
    BytesSent: object = None,
    Reserved1: object = None,
    Reserved2: object = 0,
    Overlapped: object = None,
    LogData: object = None,
) -> int:
    """Send the status line, headers and optional entity chunks of the response to a request."""
    return send_response(
        _server(),
        RequestQueueHandle,
        RequestId,
        Flags,
        HttpResponse,
        CachePolicy,
        BytesSent,
        Reserved1,
        Reserved2,
        Overlapped,
        LogData,
    )


@_win32
def HttpSendResponseEntityBody(
    RequestQueueHandle: object,
    RequestId: object,
    Flags: object,
    EntityChunkCount: object,
    EntityChunks: object,
    BytesSent: object = None,
    Reserved1: object = None,
    Reserved2: object = 0,
    Overlapped: object = None,
    LogData: object = None,
) -> int:
    """Send (more) entity-body data chunks of a response (seed page: every sentence is a requirement)."""
    return send_body(
        _server(),
        RequestQueueHandle,
        RequestId,
        Flags,
        EntityChunkCount,
        EntityChunks,
        BytesSent,
        Reserved1,
        Reserved2,
        Overlapped,
        LogData,
    )


# ---------------------------------------------------------------------------------------------------------------
# Connections, cancellation, demand start, client certificates
# ---------------------------------------------------------------------------------------------------------------


def _code_only(code: int) -> tuple[int, int]:
    return code, 0


def _wait_for_disconnect(handle: object, connection: object, overlapped_arg: object) -> int:
    transport = _server()
    queue = _queue(handle)
    connection_id = as_uint(connection, 64, "ConnectionId")
    overlapped = _overlapped(overlapped_arg)

    def start(token: int, done: Callable[..., None]) -> None:
        transport.wait_disconnect(queue.handle_id, connection_id, token, done)

    return run_io(queue, overlapped, None, start, _code_only)


@_win32
def HttpWaitForDisconnect(RequestQueueHandle: object, ConnectionId: object, Overlapped: object = None) -> int:
    """Complete when the connection closes (at once if it already has)."""
    return _wait_for_disconnect(RequestQueueHandle, ConnectionId, Overlapped)


@_win32
def HttpWaitForDisconnectEx(
    RequestQueueHandle: object, ConnectionId: object, Reserved: object = 0, Overlapped: object = None
) -> int:
    """HttpWaitForDisconnect with a reserved parameter that must be 0."""
    _server()
    _reserved_zero(Reserved, "Reserved")
    return _wait_for_disconnect(RequestQueueHandle, ConnectionId, Overlapped)


@_win32
def HttpCancelHttpRequest(RequestQueueHandle: object, RequestId: object, Overlapped: object = None) -> int:
    """Cancel a request and close its connection."""
    transport = _server()
    queue = _queue(RequestQueueHandle)
    request_id = as_uint(RequestId, 64, "RequestId")
    overlapped = _overlapped(Overlapped)
    start = immediate(lambda: transport.cancel_request(queue.handle_id, request_id))
    return run_io(queue, overlapped, None, start, _code_only)


@_win32
def HttpWaitForDemandStart(RequestQueueHandle: object, Overlapped: object = None) -> int:
    """Controller only: complete when a request arrives on the queue."""
    transport = _server()
    queue = _queue(RequestQueueHandle)
    overlapped = _overlapped(Overlapped)

    def start(token: int, done: Callable[..., None]) -> None:
        transport.wait_demand_start(queue.handle_id, token, done)

    return run_io(queue, overlapped, None, start, _code_only)


@_win32
def HttpReceiveClientCertificate(
    RequestQueueHandle: object,
    ConnectionId: object,
    Flags: object,
    SslClientCertInfo: object,
    SslClientCertInfoSize: object,
    BytesReceived: object = None,
    Overlapped: object = None,
) -> int:
    """The client certificate (or channel-binding token) of a TLS connection.

    The certificate the client gave in the handshake (a binding with NEGOTIATE_CLIENT_CERT, or --ssl-cert-reqs),
    else one asked for now with TLS 1.3 post-handshake authentication (the call completes when the client has
    answered: ERROR_IO_PENDING when overlapped): HTTP_SSL_CLIENT_CERT_INFO with the DER bytes, ERROR_MORE_DATA
    with CertEncodedSize when the buffer holds only the struct (the certificate stays: call again with more);
    ERROR_NOT_FOUND when the client sent none or cannot be asked (TLS 1.2, no post_handshake_auth offered,
    HTTP/2, through the daemon), on plain connections and for channel-binding tokens (decision 0021).
    """
    transport = _server()
    queue = _queue(RequestQueueHandle)
    connection_id = as_uint(ConnectionId, 64, "ConnectionId")
    flags = as_uint(Flags, 32, "Flags")
    if flags & ~(HTTP_RECEIVE_SECURE_CHANNEL_TOKEN | HTTP_RECEIVE_FULL_CHAIN):
        return _INVALID_PARAMETER
    expected: type[HTTP_SSL_CLIENT_CERT_INFO] | type[HTTP_REQUEST_CHANNEL_BIND_STATUS] = (
        HTTP_REQUEST_CHANNEL_BIND_STATUS
        if flags & HTTP_RECEIVE_SECURE_CHANNEL_TOKEN
        else HTTP_SSL_CLIENT_CERT_INFO
    )
    if not isinstance(SslClientCertInfo, expected):
        return _INVALID_PARAMETER
    size = as_uint(SslClientCertInfoSize, 32, "SslClientCertInfoSize")
    overlapped = _overlapped(Overlapped)
    _bytes_out(BytesReceived, overlapped, "BytesReceived")
    if size < sizeof(expected):
        return _INSUFFICIENT_BUFFER
    if connection_id == 0:
        return run_io(queue, overlapped, BytesReceived, immediate(lambda: _CONNECTION_INVALID), _code_only)
    if flags & HTTP_RECEIVE_SECURE_CHANNEL_TOKEN or not isinstance(
        SslClientCertInfo, HTTP_SSL_CLIENT_CERT_INFO
    ):
        return run_io(queue, overlapped, BytesReceived, immediate(lambda: _NOT_FOUND), _code_only)
    info = SslClientCertInfo
    tls = queue.tls_connections.get(connection_id)
    cert = tls.get("client_cert") if tls is not None else None
    if isinstance(cert, bytes) and cert:  # negotiated in the handshake: the request's TLS facts have it
        flags_value = tls.get("client_cert_flags") if tls is not None else 0
        result = _fill_client_cert(info, size, cert, flags_value if isinstance(flags_value, int) else 0)

        def start(token: int, done: Callable[..., None]) -> None:
            done(*result)

        return run_io(queue, overlapped, BytesReceived, start, _code_and_bytes)

    def ask(token: int, done: Callable[..., None]) -> None:
        # none yet: the driver asks the client (TLS 1.3 post-handshake authentication, decision 0021)
        transport.receive_client_certificate(queue.handle_id, connection_id, token, done)

    def answered(code: int, der: bytes, cert_flags: int) -> tuple[int, int]:
        if code != _OK or not der:
            return code, 0
        if tls is not None:  # the connection's later calls answer from the facts, as for a negotiated one
            queue.tls_connections[connection_id] = {
                **tls,
                "client_cert": der,
                "client_cert_flags": cert_flags,
            }
        return _fill_client_cert(info, size, der, cert_flags)

    return run_io(queue, overlapped, BytesReceived, ask, answered)


def _fill_client_cert(info: HTTP_SSL_CLIENT_CERT_INFO, size: int, cert: bytes, flags: int) -> tuple[int, int]:
    """HTTP_SSL_CLIENT_CERT_INFO for `cert`: (NO_ERROR, bytes) when `size` holds the struct and the encoded
    certificate, else (ERROR_MORE_DATA, the size needed) with only the struct filled."""
    needed = sizeof(HTTP_SSL_CLIENT_CERT_INFO) + len(cert)
    info.CertFlags = flags
    info.CertEncodedSize = len(cert)
    info.Token = 0
    info.CertDeniedByMapper = 0
    if size < needed:
        info.pCertEncoded = None
        return _MORE_DATA, needed
    info.pCertEncoded = cert
    return _OK, needed


def _code_and_bytes(code: int, count: int) -> tuple[int, int]:
    return code, count


# ---------------------------------------------------------------------------------------------------------------
# Fragment cache
# ---------------------------------------------------------------------------------------------------------------


def _chunk_bytes(chunk: object) -> bytes:
    record = data_chunk(chunk)
    if isinstance(record, MemoryChunk):
        return bytes(record.data)
    if isinstance(record, FileChunk):
        try:
            size = os.fstat(record.fd).st_size
            count = size - record.offset if record.length == 0xFFFFFFFFFFFFFFFF else record.length
            if record.offset > size or count < 0 or record.offset + count > size:
                raise _invalid("ByteRange is outside the file")
            return os.pread(record.fd, count, record.offset)
        except OSError:
            raise InvalidHandleError("FileHandle cannot be read") from None
    raise _invalid("a fragment is added from a FromMemory or FromFileHandle chunk")


@_win32
def HttpAddFragmentToCache(
    RequestQueueHandle: object,
    UrlPrefix: object,
    DataChunk: object,
    CachePolicy: object,
    Overlapped: object = None,
) -> int:
    """Store (or overwrite) a named fragment in the response cache."""
    transport = _server()
    queue = _queue(RequestQueueHandle)
    name = string_arg(UrlPrefix, "UrlPrefix")
    assert name is not None
    data = _chunk_bytes(DataChunk)
    policy = cache_policy(CachePolicy, required=True)
    assert policy is not None
    overlapped = _overlapped(Overlapped)
    start = immediate(lambda: transport.add_fragment(queue.handle_id, name, data, policy))
    return run_io(queue, overlapped, None, start, _code_only)


@_win32
def HttpReadFragmentFromCache(
    RequestQueueHandle: object,
    UrlPrefix: object,
    ByteRange: object,
    Buffer: object,
    BufferLength: object,
    BytesRead: object = None,
    Overlapped: object = None,
) -> int:
    """Read a cached fragment (or a byte range of it); a small buffer gives ERROR_MORE_DATA + the size needed."""
    transport = _server()
    queue = _queue(RequestQueueHandle)
    name = string_arg(UrlPrefix, "UrlPrefix")
    assert name is not None
    if ByteRange is not None and not isinstance(ByteRange, HTTP_BYTE_RANGE):
        return _INVALID_PARAMETER
    offset = 0 if ByteRange is None else as_uint(ByteRange.StartingOffset, 64, "StartingOffset")
    count = None if ByteRange is None else as_uint(ByteRange.Length, 64, "Length")
    length = as_uint(BufferLength, 32, "BufferLength")
    view = None if Buffer is None else writable_buffer(Buffer, "Buffer")
    if (view is None and length) or (view is not None and length > len(view)):
        return _INVALID_PARAMETER
    overlapped = _overlapped(Overlapped)
    _bytes_out(BytesRead, overlapped, "BytesRead")

    def start(token: int, done: Callable[..., None]) -> None:
        done(*transport.read_fragment(queue.handle_id, name))

    def apply(code: int, data: bytes) -> tuple[int, int]:
        if code != _OK:
            return code, 0
        end = len(data) if count is None or count == 0xFFFFFFFFFFFFFFFF else offset + count
        if offset > len(data) or end > len(data):
            return _INVALID_PARAMETER, 0
        part = data[offset:end]
        if len(part) > length:
            return _MORE_DATA, len(part)
        if view is not None:
            view[: len(part)] = part
        return _OK, len(part)

    return run_io(queue, overlapped, BytesRead, start, apply)


@_win32
def HttpFlushResponseCache(
    RequestQueueHandle: object, UrlPrefix: object, Flags: object, Overlapped: object = None
) -> int:
    """Remove cached fragments/responses under a prefix (HTTP_FLUSH_RESPONSE_FLAG_RECURSIVE: descendants too)."""
    transport = _server()
    queue = _queue(RequestQueueHandle)
    name = string_arg(UrlPrefix, "UrlPrefix")
    assert name is not None
    flags = as_uint(Flags, 32, "Flags")
    if flags & ~HTTP_FLUSH_RESPONSE_FLAG_RECURSIVE:
        return _INVALID_PARAMETER
    overlapped = _overlapped(Overlapped)
    recursive = bool(flags & HTTP_FLUSH_RESPONSE_FLAG_RECURSIVE)
    start = immediate(lambda: transport.flush_cache(queue.handle_id, name, recursive))
    return run_io(queue, overlapped, None, start, _code_only)


# ---------------------------------------------------------------------------------------------------------------
# Service configuration
# ---------------------------------------------------------------------------------------------------------------


def _config_call(service_handle: object, overlapped: object) -> None:
    _require_config()
    if handle_value(service_handle) != 0:
        raise InvalidHandleError("ServiceHandle is reserved and must be 0")
    _reserved_null(overlapped, "pOverlapped")


@_win32
def HttpSetServiceConfiguration(
    ServiceHandle: object,
    ConfigId: object,
    pConfigInformation: object,
    ConfigInformationLength: object,
    pOverlapped: object = None,
) -> int:
    """Create a configuration record (ERROR_ALREADY_EXISTS if it exists)."""
    _config_call(ServiceHandle, pOverlapped)
    config_id = as_uint(ConfigId, 32, "ConfigId")
    length = as_uint(ConfigInformationLength, 32, "ConfigInformationLength")
    if pConfigInformation is None:
        return _INVALID_PARAMETER
    return service_config_store().set(config_id, pConfigInformation, length)


@_win32
def HttpQueryServiceConfiguration(
    ServiceHandle: object,
    ConfigId: object,
    pInput: object = None,
    InputLength: object = 0,
    pOutput: object = None,
    OutputLength: object = 0,
    pReturnLength: object = None,
    pOverlapped: object = None,
) -> int:
    """Read one configuration record (exact key) or enumerate them (dwToken 0, 1, ... until ERROR_NO_MORE_ITEMS)."""
    _config_call(ServiceHandle, pOverlapped)
    config_id = as_uint(ConfigId, 32, "ConfigId")
    input_length = as_uint(InputLength, 32, "InputLength")
    output_length = as_uint(OutputLength, 32, "OutputLength")
    return service_config_store().query(
        config_id, pInput, input_length, pOutput, output_length, pReturnLength
    )


@_win32
def HttpDeleteServiceConfiguration(
    ServiceHandle: object,
    ConfigId: object,
    pConfigInformation: object,
    ConfigInformationLength: object,
    pOverlapped: object = None,
) -> int:
    """Delete a configuration record (ERROR_FILE_NOT_FOUND if missing)."""
    _config_call(ServiceHandle, pOverlapped)
    config_id = as_uint(ConfigId, 32, "ConfigId")
    length = as_uint(ConfigInformationLength, 32, "ConfigInformationLength")
    if pConfigInformation is None:
        return _INVALID_PARAMETER
    return service_config_store().delete(config_id, pConfigInformation, length)


@_win32
def HttpUpdateServiceConfiguration(
    Handle: object, ConfigId: object, ConfigInfo: object, ConfigInfoLength: object, Overlapped: object = None
) -> int:
    """Atomically update an SSL binding record (ERROR_FILE_NOT_FOUND if missing); the next connection uses it.
    The extended (...Ex) records are ERROR_NOT_SUPPORTED."""
    _config_call(Handle, Overlapped)
    config_id = as_uint(ConfigId, 32, "ConfigId")
    length = as_uint(ConfigInfoLength, 32, "ConfigInfoLength")
    if config_id not in _SSL_CONFIG_IDS:
        return _INVALID_PARAMETER
    if ConfigInfo is None:
        return _INVALID_PARAMETER
    return service_config_store().update(config_id, ConfigInfo, length)


# ---------------------------------------------------------------------------------------------------------------
# Server sessions and URL groups
# ---------------------------------------------------------------------------------------------------------------


@_win32
def HttpCreateServerSession(Version: object, ServerSessionId: object, Reserved: object = 0) -> int:
    """Create a server session; its id is written to the ``ServerSessionId`` holder."""
    transport = _server()
    if not out_param_present(ServerSessionId):
        return _INVALID_PARAMETER
    _reserved_zero(Reserved, "Reserved")
    code, session_id = transport.create_server_session(_api_version(Version))
    if code != _OK:
        return code
    with _state.lock:
        _state.sessions.add(session_id)
    if not store_out_param(ServerSessionId, session_id):
        transport.close_server_session(session_id)
        return _INVALID_PARAMETER
    return _OK


@_win32
def HttpCloseServerSession(ServerSessionId: object) -> int:
    """Close a server session and every URL group in it."""
    transport = _server()
    session_id = as_uint(ServerSessionId, 64, "ServerSessionId")
    code = transport.close_server_session(session_id)
    if code == _OK:
        with _state.lock:
            _state.sessions.discard(session_id)
    return code


@_win32
def HttpCreateUrlGroup(ServerSessionId: object, pUrlGroupId: object, Reserved: object = 0) -> int:
    """Create a URL group under a session; its id is written to the ``pUrlGroupId`` holder (untouched on error)."""
    transport = _server()
    session_id = as_uint(ServerSessionId, 64, "ServerSessionId")
    if not out_param_present(pUrlGroupId):
        return _INVALID_PARAMETER
    _reserved_zero(Reserved, "Reserved")
    code, group_id = transport.create_url_group(session_id)
    if code != _OK:
        return code
    if not store_out_param(pUrlGroupId, group_id):
        transport.close_url_group(group_id)
        return _INVALID_PARAMETER
    return _OK


@_win32
def HttpCloseUrlGroup(UrlGroupId: object) -> int:
    """Close a URL group, removing its URLs."""
    transport = _server()
    group_id = as_uint(UrlGroupId, 64, "UrlGroupId")
    code = transport.close_url_group(group_id)
    if code == _OK:
        with _state.lock:
            _state.bindings.pop(group_id, None)
    return code


@_win32
def HttpAddUrlToUrlGroup(
    UrlGroupId: object, pFullyQualifiedUrl: object, UrlContext: object = 0, Reserved: object = 0
) -> int:
    """Register a URL prefix in a group with the UrlContext reported in each request it routes."""
    transport = _server()
    group_id = as_uint(UrlGroupId, 64, "UrlGroupId")
    url = string_arg(pFullyQualifiedUrl, "pFullyQualifiedUrl")
    assert url is not None
    context = as_uint(UrlContext, 64, "UrlContext")
    _reserved_zero(Reserved, "Reserved")
    return transport.add_url(group_id, url, context)


@_win32
def HttpRemoveUrlFromUrlGroup(UrlGroupId: object, pFullyQualifiedUrl: object, Flags: object = 0) -> int:
    """Unregister one URL (exact string) or, with HTTP_URL_FLAG_REMOVE_ALL and a NULL URL, all of them."""
    transport = _server()
    group_id = as_uint(UrlGroupId, 64, "UrlGroupId")
    flags = as_uint(Flags, 32, "Flags")
    if flags & ~HTTP_URL_FLAG_REMOVE_ALL:
        return _INVALID_PARAMETER
    remove_all = bool(flags & HTTP_URL_FLAG_REMOVE_ALL)
    url = string_arg(pFullyQualifiedUrl, "pFullyQualifiedUrl", required=not remove_all)
    if remove_all and url is not None:
        return _INVALID_PARAMETER
    return transport.remove_url(group_id, url, remove_all)


# ----- properties of sessions and groups ---------------------------------------------------------------------

_SESSION_SET: Final[dict[int, type[Any]]] = {
    HttpServerTimeoutsProperty: HTTP_TIMEOUT_LIMIT_INFO,
    HttpServerStateProperty: HTTP_STATE_INFO,
    HttpServerQosProperty: HTTP_QOS_SETTING_INFO,
    HttpServerLoggingProperty: HTTP_LOGGING_INFO,
    HttpServerAuthenticationProperty: HTTP_SERVER_AUTHENTICATION_INFO,
    HttpServerExtendedAuthenticationProperty: HTTP_SERVER_AUTHENTICATION_INFO,
    HttpServerChannelBindProperty: HTTP_CHANNEL_BIND_INFO,
}
_GROUP_SET: Final[dict[int, type[Any]]] = {
    **_SESSION_SET,
    HttpServerBindingProperty: HTTP_BINDING_INFO,
    HttpServerListenEndpointProperty: HTTP_LISTEN_ENDPOINT_INFO,
    HttpServerProtectionLevelProperty: HTTP_PROTECTION_LEVEL_INFO,
    HttpServerDelegationProperty: HTTP_BINDING_INFO,
}
_SESSION_QUERY: Final = {k: v for k, v in _SESSION_SET.items() if k != HttpServerLoggingProperty}
_GROUP_QUERY: Final = {
    k: v for k, v in _GROUP_SET.items() if k not in (HttpServerLoggingProperty, HttpServerDelegationProperty)
}


def _binding_value(
    info: HTTP_BINDING_INFO, transport: DriverTransport
) -> tuple[int | None, RequestQueueHandle | None]:
    if not as_flag_present(info.Flags, "Flags") or not handle_value(info.RequestQueueHandle):
        return None, None
    queue = lookup_handle(info.RequestQueueHandle, RequestQueueHandle)
    if queue is None or queue.closed or queue.transport is not transport:
        raise _invalid("RequestQueueHandle is not an open request queue")
    return queue.handle_id, queue


def _property_value(prop: int, info: object, length: int, *, session: bool) -> object:
    table = _SESSION_SET if session else _GROUP_SET
    cls = table.get(prop)
    if cls is None or info is None or length == 0:
        raise _invalid("property not valid for this object, or no property information")
    if not isinstance(info, cls) or length < sizeof(cls):
        raise _invalid(f"PropertyInformation must be a {cls.__name__} of at least {sizeof(cls)} bytes")
    if prop == HttpServerTimeoutsProperty:
        return timeouts_value(info)
    if prop == HttpServerStateProperty:
        return state_value(info)
    if prop == HttpServerQosProperty:
        return qos_value(info)
    if prop == HttpServerLoggingProperty:
        return logging_value(info, session=session)
    if prop in (HttpServerAuthenticationProperty, HttpServerExtendedAuthenticationProperty):
        return authentication_value(info)
    if prop == HttpServerChannelBindProperty:
        return channel_bind_value(info)
    if prop == HttpServerListenEndpointProperty:
        return listen_endpoint_value(info)
    if prop == HttpServerProtectionLevelProperty:
        return protection_level_value(info)
    raise _invalid("unhandled property")  # Binding and Delegation are handled by the caller


def _fill_property(prop: int, info: Any, value: object) -> None:
    if prop == HttpServerTimeoutsProperty:
        fill_timeouts(info, value)
    elif prop == HttpServerStateProperty:
        fill_state(info, value)
    elif prop == HttpServerQosProperty:
        fill_qos(info, value)
    elif prop in (HttpServerAuthenticationProperty, HttpServerExtendedAuthenticationProperty):
        fill_authentication(info, value)
    elif prop == HttpServerChannelBindProperty:
        fill_channel_bind(info, value)
    elif prop == HttpServerListenEndpointProperty:
        fill_listen_endpoint(info, value)
    elif prop == HttpServerProtectionLevelProperty:
        fill_protection_level(info, value)


def _query_property(
    prop: int,
    info: object,
    length: int,
    return_length: object,
    table: dict[int, type[Any]],
    query: Callable[[], tuple[int, object]],
) -> int:
    if not out_param_valid(return_length):
        return _INVALID_PARAMETER
    cls = table.get(prop)
    if cls is None or info is None or length == 0:
        return _INVALID_PARAMETER
    code, value = query()
    if code != _OK:
        return code
    needed = sizeof(cls)
    if length < needed:
        store_out_param(return_length, needed)
        return _MORE_DATA
    if not isinstance(info, cls):
        return _INVALID_PARAMETER
    _fill_property(prop, info, value)
    store_out_param(return_length, needed)
    return _OK


@_win32
def HttpSetServerSessionProperty(
    ServerSessionId: object, Property: object, PropertyInformation: object, PropertyInformationLength: object
) -> int:
    """Set a server-session property (timeouts, state, QoS bandwidth, logging, authentication, channel bind)."""
    transport = _server()
    session_id = as_uint(ServerSessionId, 64, "ServerSessionId")
    prop = as_uint(Property, 32, "Property")
    length = as_uint(PropertyInformationLength, 32, "PropertyInformationLength")
    value = _property_value(prop, PropertyInformation, length, session=True)
    return transport.set_session_property(session_id, prop, value)


@_win32
def HttpQueryServerSessionProperty(
    ServerSessionId: object,
    Property: object,
    PropertyInformation: object,
    PropertyInformationLength: object,
    ReturnLength: object = None,
) -> int:
    """Query a server-session property into the caller's struct (too small: ERROR_MORE_DATA + ReturnLength)."""
    transport = _server()
    session_id = as_uint(ServerSessionId, 64, "ServerSessionId")
    prop = as_uint(Property, 32, "Property")
    length = as_uint(PropertyInformationLength, 32, "PropertyInformationLength")
    return _query_property(
        prop,
        PropertyInformation,
        length,
        ReturnLength,
        _SESSION_QUERY,
        lambda: transport.query_session_property(session_id, prop),
    )


@_win32
def HttpSetUrlGroupProperty(
    UrlGroupId: object, Property: object, PropertyInformation: object, PropertyInformationLength: object
) -> int:
    """Set a URL-group property; HttpServerBindingProperty binds the group to a request queue (or unbinds)."""
    transport = _server()
    group_id = as_uint(UrlGroupId, 64, "UrlGroupId")
    prop = as_uint(Property, 32, "Property")
    length = as_uint(PropertyInformationLength, 32, "PropertyInformationLength")
    if prop in (HttpServerBindingProperty, HttpServerDelegationProperty):
        info = PropertyInformation
        if info is None or length == 0:
            return _INVALID_PARAMETER
        if not isinstance(info, HTTP_BINDING_INFO) or length < sizeof(HTTP_BINDING_INFO):
            return _INVALID_PARAMETER
        if prop == HttpServerDelegationProperty:
            # Present=1 adds the queue to the group's delegation targets, Present=0 removes it (both name it)
            present = as_flag_present(info.Flags, "Flags")
            target = lookup_handle(info.RequestQueueHandle, RequestQueueHandle)
            if target is None or target.closed or target.transport is not transport:
                return _INVALID_PARAMETER
            return transport.set_group_property(group_id, prop, (present, target.handle_id))
        handle_id, queue = _binding_value(info, transport)
        code = transport.set_group_property(group_id, prop, handle_id)
        if code == _OK and prop == HttpServerBindingProperty:
            with _state.lock:
                if queue is None:
                    _state.bindings.pop(group_id, None)
                else:
                    _state.bindings[group_id] = queue
        return code
    value = _property_value(prop, PropertyInformation, length, session=False)
    return transport.set_group_property(group_id, prop, value)


@_win32
def HttpQueryUrlGroupProperty(
    UrlGroupId: object,
    Property: object,
    PropertyInformation: object,
    PropertyInformationLength: object,
    ReturnLength: object = None,
) -> int:
    """Query a URL-group property into the caller's struct (too small: ERROR_MORE_DATA + ReturnLength)."""
    transport = _server()
    group_id = as_uint(UrlGroupId, 64, "UrlGroupId")
    prop = as_uint(Property, 32, "Property")
    length = as_uint(PropertyInformationLength, 32, "PropertyInformationLength")
    if prop == HttpServerBindingProperty:

        def query_binding() -> tuple[int, object]:
            code, _value = transport.query_group_property(group_id, prop)
            return code, _state.bindings.get(group_id)

        code = _query_property(prop, PropertyInformation, length, ReturnLength, _GROUP_QUERY, query_binding)
        if code == _OK:
            assert isinstance(PropertyInformation, HTTP_BINDING_INFO)
            queue = _state.bindings.get(group_id)
            live = queue is not None and not queue.closed
            PropertyInformation.Flags = HTTP_PROPERTY_FLAGS(1 if live else 0)
            PropertyInformation.RequestQueueHandle = queue.value if live and queue is not None else None
        return code
    return _query_property(
        prop,
        PropertyInformation,
        length,
        ReturnLength,
        _GROUP_QUERY,
        lambda: transport.query_group_property(group_id, prop),
    )


# ---------------------------------------------------------------------------------------------------------------
# Version 2.0 request queues
# ---------------------------------------------------------------------------------------------------------------


@_win32
def HttpCreateRequestQueue(
    Version: object,
    Name: object = None,
    SecurityAttributes: object = None,
    Flags: object = 0,
    RequestQueueHandle: object = None,
) -> int:
    """Create (or, with OPEN_EXISTING, open by name) a request queue; the handle goes to the holder."""
    transport = _server()
    if not out_param_present(RequestQueueHandle):
        return _INVALID_PARAMETER
    version = _api_version(Version)
    flags = as_uint(Flags, 32, "Flags")
    name = string_arg(Name, "Name", required=False)
    if SecurityAttributes is not None and not isinstance(SecurityAttributes, SECURITY_ATTRIBUTES):
        return _INVALID_PARAMETER
    if version != (2, 0):
        return _REVISION_MISMATCH
    if flags & ~_CREATE_QUEUE_FLAGS:
        return _INVALID_PARAMETER
    open_existing = bool(flags & HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING)
    if open_existing and (
        name is None or SecurityAttributes is not None or flags & HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER
    ):
        return _INVALID_PARAMETER
    if name is not None:
        if len(name.encode("utf-16-le", "surrogatepass")) > _MAX_PATH_BYTES:
            return _INVALID_PARAMETER
        if not name or "\\" in name or "\x00" in name:
            return _INVALID_NAME
    valid, security = _queue_sddl(SecurityAttributes)
    if not valid:
        return _INVALID_PARAMETER
    code, handle_id = (
        transport.create_request_queue(name, flags, False, security)
        if security
        else transport.create_request_queue(name, flags, False)
    )
    if code != _OK:
        return code
    queue = _new_queue(
        transport,
        handle_id,
        creator=not open_existing,
        controller=bool(flags & HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER),
        name=name,
        security_attributes=SecurityAttributes,
    )
    if not store_out_param(RequestQueueHandle, queue.value):
        queue.close_handle()
        return _INVALID_PARAMETER
    return _OK


def _queue_sddl(attributes: object) -> tuple[bool, str | None]:
    """(valid, the SDDL text of SecurityAttributes.lpSecurityDescriptor or None when none is given); not valid:
    not a descriptor the driver understands (ERROR_INVALID_PARAMETER). Decision 0020: SDDL strings only."""
    if not isinstance(attributes, SECURITY_ATTRIBUTES):
        return True, None
    descriptor = attributes.lpSecurityDescriptor
    if descriptor is None or (isinstance(descriptor, int) and descriptor == 0):
        return True, None
    try:
        return True, parse_sddl(descriptor).text
    except InvalidSddl:
        return False, None


@_win32
def HttpCloseRequestQueue(RequestQueueHandle: object) -> int:
    """Close a request queue handle; its pending I/O completes with ERROR_OPERATION_ABORTED."""
    _server()
    return _queue(RequestQueueHandle).close_handle()


@_win32
def HttpShutdownRequestQueue(RequestQueueHandle: object) -> int:
    """Stop delivering requests to this handle and cancel its pending operations and unanswered requests."""
    transport = _server()
    queue = _queue(RequestQueueHandle)
    return transport.shutdown_request_queue(queue.handle_id)


_QUEUE_PROPERTIES: Final = frozenset(
    {HttpServerQueueLengthProperty, HttpServer503VerbosityProperty, HttpServerStateProperty}
)
_ULONG_SIZES: Final = (4, 8)  # x64 Windows ULONG, and ctypes.c_ulong on Linux


@_win32
def HttpSetRequestQueueProperty(
    RequestQueueHandle: object,
    Property: object,
    PropertyInformation: object,
    PropertyInformationLength: object,
    Reserved1: object = 0,
    Reserved2: object = None,
) -> int:
    """Set the queue length, 503 verbosity or state (a bare HTTP_ENABLED_STATE) of a request queue."""
    transport = _server()
    queue = _queue(RequestQueueHandle)
    prop = as_uint(Property, 32, "Property")
    length = as_uint(PropertyInformationLength, 32, "PropertyInformationLength")
    _reserved_zero(Reserved1, "Reserved1")
    _reserved_null(Reserved2, "Reserved2")
    if queue.v1:
        return _NOT_SUPPORTED
    info = PropertyInformation
    if prop not in _QUEUE_PROPERTIES or info is None or length not in _ULONG_SIZES:
        return _INVALID_PARAMETER
    if hasattr(type(info), "_c_fields_"):
        return _INVALID_PARAMETER  # queue properties are bare ULONG / enum values, not structs
    return transport.set_queue_property(queue.handle_id, prop, scalar_input(info, "PropertyInformation"))


@_win32
def HttpQueryRequestQueueProperty(
    RequestQueueHandle: object,
    Property: object,
    PropertyInformation: object,
    PropertyInformationLength: object,
    Reserved1: object = 0,
    ReturnLength: object = None,
    Reserved2: object = None,
) -> int:
    """Query a request-queue property into a ctypes scalar holder (too small: ERROR_MORE_DATA + ReturnLength)."""
    transport = _server()
    queue = _queue(RequestQueueHandle)
    prop = as_uint(Property, 32, "Property")
    length = as_uint(PropertyInformationLength, 32, "PropertyInformationLength")
    _reserved_zero(Reserved1, "Reserved1")
    _reserved_null(Reserved2, "Reserved2")
    if not out_param_valid(ReturnLength):
        return _INVALID_PARAMETER
    if queue.v1:
        return _NOT_SUPPORTED
    if prop not in _QUEUE_PROPERTIES or PropertyInformation is None or length == 0:
        return _INVALID_PARAMETER
    code, value = transport.query_queue_property(queue.handle_id, prop)
    if code != _OK:
        return code
    if length < 4:
        store_out_param(ReturnLength, 4)
        return _MORE_DATA
    if not out_param_present(PropertyInformation) or not store_out_param(PropertyInformation, value):
        return _INVALID_PARAMETER
    store_out_param(ReturnLength, 4)
    return _OK


# ---------------------------------------------------------------------------------------------------------------
# Newer functions
# ---------------------------------------------------------------------------------------------------------------


def _prepared_url(url: str) -> str:
    """Scheme and host lower-cased, IDN host labels in their Unicode form (nameprep through IDNA 2003)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise _invalid("Url must start with http:// or https://")
    slash = rest.find("/")
    authority, path = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise _invalid("unterminated IPv6 literal")
        host, port_part = authority[: end + 1].lower(), authority[end + 1 :]
    else:
        host, colon, port = authority.rpartition(":")
        if not colon:
            host, port_part = authority, ""
        else:
            port_part = ":" + port
        if host not in ("+", "*"):
            try:
                host = host.encode("idna").decode("idna")
            except UnicodeError:
                raise _invalid("the host name is not a valid (internationalized) domain name") from None
            host = host.lower()
    if port_part and not port_part[1:].isdigit():
        raise _invalid("the port must be decimal")
    prepared = f"{scheme.lower()}://{host}{port_part}{path}"
    try:
        parse_url_prefix(prepared if path else prepared + "/")
    except InvalidUrlPrefix:
        pass  # a URL (not only a prefix) may be prepared; only the syntax checks above apply
    return prepared


@_win32
def HttpPrepareUrl(Reserved: object, Flags: object, Url: object, PreparedUrl: object) -> int:
    """Normalize a URL for registration; the result goes to a ``ctypes.c_wchar_p()`` holder (decision 0003)."""
    _reserved_null(Reserved, "Reserved")
    _reserved_zero(Flags, "Flags")
    url = string_arg(Url, "Url")
    assert url is not None
    if not out_param_present(PreparedUrl):
        return _INVALID_PARAMETER
    if not store_out_param(PreparedUrl, _prepared_url(url)):
        return _INVALID_PARAMETER
    return _OK


@_win32
def HttpDeclarePush(
    RequestQueueHandle: object,
    RequestId: object,
    Verb: object,
    Path: object,
    Query: object = None,
    Headers: object = None,
) -> int:
    """HTTP/2 server push: ERROR_NOT_SUPPORTED after validating arguments (push is not offered: browsers removed it;
    decision 0022)."""
    _server()
    _queue(RequestQueueHandle)
    as_uint(RequestId, 64, "RequestId")
    if as_uint(Verb, 32, "Verb") not in (HttpVerbGET, HttpVerbHEAD):
        return _INVALID_PARAMETER
    path = string_arg(Path, "Path")
    if not path or not path.startswith("/"):
        return _INVALID_PARAMETER
    if Query is not None and not isinstance(Query, str | bytes):
        return _INVALID_PARAMETER
    if isinstance(Query, str | bytes) and Query[:1] in ("?", b"?"):
        return _INVALID_PARAMETER
    if Headers is not None and not isinstance(Headers, HTTP_REQUEST_HEADERS):
        return _INVALID_PARAMETER
    return _NOT_SUPPORTED


@_win32
def HttpSetRequestProperty(
    RequestQueueHandle: object,
    Id: object,
    PropertyId: object,
    Input: object,
    InputPropertySize: object,
    Overlapped: object = None,
) -> int:
    """Per-request properties. HttpRequestPropertyStreamError (an HTTP_REQUEST_PROPERTY_STREAM_ERROR): the code
    the request's HTTP/2 stream is reset with when it is cancelled (ERROR_INVALID_PARAMETER for an HTTP/1.x
    request); other properties: ERROR_INVALID_FUNCTION (docs/http2.md, decision 0022)."""
    transport = _server()
    queue = _queue(RequestQueueHandle)
    request_id = as_uint(Id, 64, "Id")
    prop = as_uint(PropertyId, 32, "PropertyId")
    size = as_uint(InputPropertySize, 32, "InputPropertySize")
    overlapped = _overlapped(Overlapped)
    value = 0
    if prop == _STREAM_ERROR:
        if not isinstance(Input, HTTP_REQUEST_PROPERTY_STREAM_ERROR) or size < sizeof(Input):
            return _INVALID_PARAMETER
        value = as_uint(Input.ErrorCode, 32, "ErrorCode")
    start = immediate(lambda: transport.set_request_property(queue.handle_id, request_id, prop, value))
    return run_io(queue, overlapped, None, start, _code_only)


_STREAM_ERROR = 5  # HttpRequestPropertyStreamError


@_win32
def HttpQueryRequestProperty(
    RequestQueueHandle: object,
    Id: object,
    PropertyId: object,
    Qualifier: object,
    QualifierSize: object,
    Output: object,
    OutputBufferSize: object,
    BytesReturned: object = None,
    Overlapped: object = None,
) -> int:
    """Per-request properties of the request's connection, into the caller's ``Output``:
    HttpRequestPropertyIsb (a ``ctypes.c_ulonglong()``: the bytes the congestion window allows in flight),
    HttpRequestPropertyTcpInfoV0/V1 (a ``TCP_INFO_v0()``/``TCP_INFO_v1()`` from Linux's TCP_INFO; Qualifier None
    or an HTTP_QUERY_REQUEST_QUALIFIER_TCP, every answer is fresh), HttpRequestPropertySni (an
    ``HTTP_REQUEST_PROPERTY_SNI()``, https requests). ``OutputBufferSize`` below the struct's size:
    ERROR_MORE_DATA with the size in ``BytesReturned``. Other properties, and SNI on plaintext:
    ERROR_INVALID_FUNCTION (docs/http2.md, decision 0022)."""
    transport = _server()
    queue = _queue(RequestQueueHandle)
    request_id = as_uint(Id, 64, "Id")
    prop = as_uint(PropertyId, 32, "PropertyId")
    qualifier_size = as_uint(QualifierSize, 32, "QualifierSize")
    size = as_uint(OutputBufferSize, 32, "OutputBufferSize")
    if not out_param_valid(BytesReturned):
        return _INVALID_PARAMETER
    overlapped = _overlapped(Overlapped)
    tcp_qualifier = prop in (_TCP_INFO_V0, _TCP_INFO_V1) and Qualifier is not None
    if tcp_qualifier and (
        not isinstance(Qualifier, HTTP_QUERY_REQUEST_QUALIFIER_TCP) or qualifier_size < sizeof(Qualifier)
    ):
        return _INVALID_PARAMETER
    code, value = transport.query_request_property(queue.handle_id, request_id, prop)
    needed = 0
    if code == _OK:
        code, needed = _fill_request_property(prop, value, Output, size)

    def start(token: int, done: Callable[..., None]) -> None:
        done(code, needed)

    return run_io(queue, overlapped, BytesReturned, start, lambda c, n: (c, n))


_TCP_INFO_V0 = 1  # HttpRequestPropertyTcpInfoV0
_TCP_INFO_V1 = 3  # HttpRequestPropertyTcpInfoV1
_REQUEST_QUERY_OUTPUT: dict[int, type[Any]] = {
    1: TCP_INFO_v0,
    3: TCP_INFO_v1,
    4: HTTP_REQUEST_PROPERTY_SNI,
}


def _fill_request_property(prop: int, value: object, output: object, size: int) -> tuple[int, int]:
    """(code, bytes returned) of writing a queried request property into the caller's output."""
    if prop == 0:  # HttpRequestPropertyIsb: a ULONG64
        if size < 8:
            return _MORE_DATA, 8
        if not store_out_param(output, int(value)):  # type: ignore[call-overload]
            return _INVALID_PARAMETER, 0
        return _OK, 8
    cls = _REQUEST_QUERY_OUTPUT[prop]
    needed = sizeof(cls)
    if size < needed:
        return _MORE_DATA, needed
    if not isinstance(output, cls) or not isinstance(value, dict):
        return _INVALID_PARAMETER, 0
    for name, field in value.items():
        setattr(output, name, field)
    return _OK, needed


@_win32
def HttpDelegateRequestEx(
    RequestQueueHandle: object,
    DelegateQueueHandle: object,
    RequestId: object,
    DelegateUrlGroupId: object,
    PropertyInfoSetSize: object,
    PropertyInfoSet: object,
) -> int:
    """Move a received request (head read, body unread, no response started) to another queue, as if it had been
    routed there; the source can no longer use its RequestId (decision 0024 §1). DelegateUrlGroupId 0 with a
    ``DelegateRequestDelegateUrlProperty`` lets the driver find the destination group by URL."""
    transport = _server()
    source = _queue(RequestQueueHandle)
    target = _queue(DelegateQueueHandle)
    if source.transport is not transport or target.transport is not transport:
        raise InvalidHandleError("not a request queue handle of this HttpInitialize")
    request_id = as_uint(RequestId, 64, "RequestId")
    group_id = as_uint(DelegateUrlGroupId, 64, "DelegateUrlGroupId")
    as_uint(PropertyInfoSetSize, 32, "PropertyInfoSetSize")
    url: str | None = None
    for prop in counted(PropertyInfoSet, 0, "PropertyInfoSet"):
        if not isinstance(prop, HTTP_DELEGATE_REQUEST_PROPERTY_INFO):
            return _INVALID_PARAMETER
        prop_id = as_uint(prop.PropertyId, 32, "PropertyId")
        if prop_id == DelegateRequestDelegateUrlProperty:
            url = pcwstr(prop.PropertyInfo, prop.PropertyInfoLength, "DelegateUrl")
            if not url:
                return _INVALID_PARAMETER
        elif prop_id != DelegateRequestReservedProperty:
            return _INVALID_PARAMETER
    return transport.delegate_request(source.handle_id, target.handle_id, request_id, group_id, url)


@_win32
def HttpFindUrlGroupId(FullyQualifiedUrl: object, RequestQueueHandle: object, UrlGroupId: object) -> int:
    """The URL group bound to the queue whose registration best matches the URL, written to ``UrlGroupId``
    (no match: ERROR_FILE_NOT_FOUND; a malformed URL: ERROR_INVALID_PARAMETER)."""
    transport = _server()
    url = string_arg(FullyQualifiedUrl, "FullyQualifiedUrl")
    queue = _queue(RequestQueueHandle)
    if not out_param_present(UrlGroupId):
        return _INVALID_PARAMETER
    if queue.transport is not transport:
        raise InvalidHandleError("not a request queue handle of this HttpInitialize")
    code, group_id = transport.find_url_group_id(url or "", queue.handle_id)
    if code != _OK:
        return code
    if not store_out_param(UrlGroupId, group_id):
        return _INVALID_PARAMETER
    return _OK


def _win32_bool(fn: Callable[P, bool]) -> Callable[P, bool]:
    """A BOOL function: any exception is FALSE (never escapes)."""

    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> bool:
        try:
            return bool(fn(*args, **kwargs))
        except Exception:
            return False

    return call


@_win32_bool
def HttpIsFeatureSupported(FeatureId: object) -> bool:
    """Whether this implementation supports a feature (needs HTTP_INITIALIZE_CONFIG, else False)."""
    if _state.config <= 0:
        return False
    return as_uint(FeatureId, 32, "FeatureId") in _SUPPORTED_FEATURES


@_win32
def HttpGetExtension(Version: object, Extension: object, Buffer: object, BufferSize: object) -> int:
    """Undocumented in the SDK: ERROR_NOT_SUPPORTED."""
    return _NOT_SUPPORTED
