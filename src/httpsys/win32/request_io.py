"""The four calls of every request's path (receive the request, read its body, send the response, send more of
it): their argument checks and completions, compiled in the native build (decision 0023, amendment 6).

Responsibility: the body of HttpReceiveHttpRequest, HttpReceiveRequestEntityBody, HttpSendHttpResponse and
HttpSendResponseEntityBody after `api.py` found the transport, and the small argument checks `api.py` shares
with its other calls. An invalid argument raises an `HttpSysError` subclass, which `api.py`'s wrapper turns
into its Win32 code; nothing here is public. It must not implement HTTP behaviour (the driver does) nor keep
request state.
"""

from __future__ import annotations

from typing import Any, Final

from httpsys._core.records import RequestSnapshot
from httpsys._core.status import Win32Error
from httpsys._transport.interface import DriverTransport
from httpsys.errors import InvalidHandleError, InvalidParameterError

from .constants import (
    HTTP_RECEIVE_REQUEST_ENTITY_BODY_FLAG_FILL_BUFFER,
    HTTP_RECEIVE_REQUEST_FLAG_COPY_BODY,
    HTTP_RECEIVE_REQUEST_FLAG_FLUSH_BODY,
)
from .kernel32 import LPOVERLAPPED, OVERLAPPED, lookup_handle, out_param_present, out_param_valid
from .marshal import (
    MAX_SEND_CHUNKS,
    as_uint,
    cache_policy,
    data_chunks,
    exact_array,
    fill_request,
    log_fields,
    request_buffer,
    response_spec,
    writable_buffer,
    zero_request,
)
from .queue_handle import IoOperation, RequestQueueHandle

_OK: Final = int(Win32Error.NO_ERROR)
_INVALID_PARAMETER: Final = int(Win32Error.ERROR_INVALID_PARAMETER)
_MORE_DATA: Final = int(Win32Error.ERROR_MORE_DATA)
_CONNECTION_INVALID: Final = int(Win32Error.ERROR_CONNECTION_INVALID)


def queue_of(handle: object) -> RequestQueueHandle:
    queue = lookup_handle(handle, RequestQueueHandle)
    if queue is None or queue.closed:
        raise InvalidHandleError("not a request queue handle")
    return queue


def overlapped_arg(value: object) -> OVERLAPPED | None:
    if value is None:
        return None
    if isinstance(value, OVERLAPPED):
        return value
    if isinstance(value, LPOVERLAPPED):
        return value.value
    raise InvalidParameterError("Overlapped must be an OVERLAPPED or None")


def bytes_out(holder: object, overlapped: OVERLAPPED | None, what: str) -> None:
    """A bytes out-parameter: a usable holder or NULL; NULL on a synchronous call is invalid (decision 0003)."""
    if not out_param_valid(holder):
        raise InvalidParameterError(f"{what} must be an integer holder or None")
    if overlapped is None and not out_param_present(holder):
        raise InvalidParameterError(f"{what} must not be NULL on a synchronous call")


def reserved_zero(value: object, what: str) -> None:
    if as_uint(value, 32, what):
        raise InvalidParameterError(f"{what} is reserved and must be 0")


def reserved_null(value: object, what: str) -> None:
    if value is not None:
        raise InvalidParameterError(f"{what} is reserved and must be NULL")


def receive_request(
    transport: DriverTransport,
    RequestQueueHandle: object,
    RequestId: object,
    Flags: object,
    RequestBuffer: object,
    RequestBufferLength: object,
    BytesReturned: object = None,
    Overlapped: object = None,
) -> int:
    """Retrieve the next request (RequestId HTTP_NULL_ID) or a given one into an HTTP_REQUEST instance."""
    queue = queue_of(RequestQueueHandle)
    request_id = as_uint(RequestId, 64, "RequestId")
    flags = as_uint(Flags, 32, "Flags")
    if flags & ~(HTTP_RECEIVE_REQUEST_FLAG_COPY_BODY | HTTP_RECEIVE_REQUEST_FLAG_FLUSH_BODY):
        return _INVALID_PARAMETER
    buffer, v2 = request_buffer(RequestBuffer)
    length = as_uint(RequestBufferLength, 32, "RequestBufferLength")
    overlapped = overlapped_arg(Overlapped)
    bytes_out(BytesReturned, overlapped, "BytesReturned")

    op = IoOperation(queue, overlapped, _received_request, (queue, buffer))
    try:
        transport.receive_request(queue.handle_id, request_id, flags, length, v2, op.token, op)
    except Exception as exc:
        return op.failed(exc, BytesReturned)
    return op.issued(BytesReturned)


def _received_request(
    context: tuple[RequestQueueHandle, Any], code: int, snap: RequestSnapshot | None, needed: int
) -> tuple[int, int]:
    """HttpReceiveHttpRequest's completion: fill the caller's HTTP_REQUEST from the driver's snapshot."""
    queue, buffer = context
    if snap is not None and snap.extra is not None:
        remember_tls(queue.tls_connections, snap)
    if code == _OK and snap is not None:
        fill_request(buffer, snap)
        return _OK, needed
    if code == _MORE_DATA and snap is not None:
        zero_request(buffer)
        buffer.RequestId = snap.request_id
        buffer.ConnectionId = snap.connection_id
        return _MORE_DATA, needed
    return code, 0


def receive_body(
    transport: DriverTransport,
    RequestQueueHandle: object,
    RequestId: object,
    Flags: object,
    EntityBuffer: object,
    EntityBufferLength: object,
    BytesReturned: object = None,
    Overlapped: object = None,
) -> int:
    """Read entity-body bytes of a request into a writable buffer (ERROR_HANDLE_EOF when none are left)."""
    queue = queue_of(RequestQueueHandle)
    request_id = as_uint(RequestId, 64, "RequestId")
    flags = as_uint(Flags, 32, "Flags")
    if flags & ~HTTP_RECEIVE_REQUEST_ENTITY_BODY_FLAG_FILL_BUFFER:
        return _INVALID_PARAMETER
    view = writable_buffer(EntityBuffer, "EntityBuffer")
    length = as_uint(EntityBufferLength, 32, "EntityBufferLength")
    if length == 0 or length > len(view):
        return _INVALID_PARAMETER
    overlapped = overlapped_arg(Overlapped)
    bytes_out(BytesReturned, overlapped, "BytesReturned")
    fill = bool(flags & HTTP_RECEIVE_REQUEST_ENTITY_BODY_FLAG_FILL_BUFFER)

    op = IoOperation(queue, overlapped, _received_body, view)
    try:
        transport.receive_body(queue.handle_id, request_id, length, fill, op.token, op)
    except Exception as exc:
        return op.failed(exc, BytesReturned)
    return op.issued(BytesReturned)


def _received_body(view: memoryview, code: int, data: bytes) -> tuple[int, int]:
    """HttpReceiveRequestEntityBody's completion: copy the bytes into the caller's buffer."""
    if code != _OK:
        return code, 0
    view[: len(data)] = data
    return _OK, len(data)


def _sent(context: object, code: int, nbytes: int) -> tuple[int, int]:
    return code, (nbytes if code == _OK else 0)


def send_response(
    transport: DriverTransport,
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
    queue = queue_of(RequestQueueHandle)
    request_id = as_uint(RequestId, 64, "RequestId")
    flags = as_uint(Flags, 32, "Flags")
    reserved_null(Reserved1, "Reserved1")
    reserved_zero(Reserved2, "Reserved2")
    overlapped = overlapped_arg(Overlapped)
    spec, chunks = response_spec(HttpResponse)
    policy = cache_policy(CachePolicy)
    log = log_fields(LogData)
    if request_id == 0:
        return _CONNECTION_INVALID
    bytes_out(BytesSent, overlapped, "BytesSent")

    op = IoOperation(queue, overlapped, _sent)
    try:
        transport.send_response(queue.handle_id, request_id, flags, spec, chunks, policy, log, op, op.token)
    except Exception as exc:
        return op.failed(exc, BytesSent)
    return op.issued(BytesSent)


def send_body(
    transport: DriverTransport,
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
    queue = queue_of(RequestQueueHandle)
    request_id = as_uint(RequestId, 64, "RequestId")
    flags = as_uint(Flags, 32, "Flags")
    reserved_null(Reserved1, "Reserved1")
    reserved_zero(Reserved2, "Reserved2")
    overlapped = overlapped_arg(Overlapped)
    chunks = data_chunks(exact_array(EntityChunks, EntityChunkCount, "EntityChunks", MAX_SEND_CHUNKS))
    log = log_fields(LogData)
    if request_id == 0:
        return _CONNECTION_INVALID
    bytes_out(BytesSent, overlapped, "BytesSent")

    op = IoOperation(queue, overlapped, _sent)
    try:
        transport.send_body(queue.handle_id, request_id, flags, chunks, log, op, op.token)
    except Exception as exc:
        return op.failed(exc, BytesSent)
    return op.issued(BytesSent)


def remember_tls(table: dict[int, dict[str, object]], snap: RequestSnapshot) -> None:
    """Keep a received request's TLS facts by ConnectionId (the last 4096 connections) for
    HttpReceiveClientCertificate."""
    extra = snap.extra
    tls = extra.get("tls") if extra is not None else None
    if isinstance(tls, dict):
        if snap.connection_id not in table and len(table) >= 4096:
            del table[next(iter(table))]
        table[snap.connection_id] = tls
