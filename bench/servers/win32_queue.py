"""The request queue and the prebuilt responses of the two win32 variants (thread pool, completion port).

Responsibility: open a server session, a URL group and a request queue with the documented `httpsys.win32`
calls (ARCHITECTURE §5, spec §2), and build the HTTP_RESPONSE_V2 / HTTP_DATA_CHUNK structs the variants send.
It must not receive or send anything: the variants do their own I/O, synchronous or overlapped.

Everything is imported by name from `httpsys.win32`, so a face that is not there yet fails at import time and the
benchmark reports the variant as unavailable.
"""

from __future__ import annotations

import ctypes
import ctypes.wintypes
from typing import Any

from httpsys.win32 import (
    HTTP_BINDING_INFO,
    HTTP_DATA_CHUNK,
    HTTP_DATA_CHUNK_FROM_MEMORY,
    HTTP_INITIALIZE_SERVER,
    HTTP_KNOWN_HEADER,
    HTTP_PROPERTY_FLAGS,
    HTTP_REQUEST_V2,
    HTTP_RESPONSE_V2,
    HTTPAPI_VERSION_2,
    NO_ERROR,
    HttpAddUrlToUrlGroup,
    HttpCreateRequestQueue,
    HttpCreateServerSession,
    HttpCreateUrlGroup,
    HttpDataChunkFromMemory,
    HttpHeaderContentLength,
    HttpHeaderContentType,
    HttpInitialize,
    HttpServerBindingProperty,
    HttpSetUrlGroupProperty,
    sizeof,
)

REQUEST_BUFFER_LENGTH = 16 * 1024  # what the samples pass: room for the fixed part, strings and headers
BODY_READ = 64 * 1024
STREAM_PIECE = b"x" * 1024
STREAM_COUNT = 100
HELLO = b"Hello, world!"


class Win32CallFailed(RuntimeError):
    """A setup call returned something other than NO_ERROR."""


def check(name: str, code: int) -> None:
    if code != NO_ERROR:
        raise Win32CallFailed(f"{name} returned {code}")


def open_request_queue(port: int) -> Any:
    """HttpInitialize, a server session, a URL group with http://127.0.0.1:PORT/, a queue bound to it."""
    check("HttpInitialize", HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None))
    session_id = ctypes.c_ulonglong()
    check("HttpCreateServerSession", HttpCreateServerSession(HTTPAPI_VERSION_2, session_id, 0))
    group_id = ctypes.c_ulonglong()
    check("HttpCreateUrlGroup", HttpCreateUrlGroup(session_id.value, group_id, 0))
    queue = ctypes.wintypes.HANDLE()
    check("HttpCreateRequestQueue", HttpCreateRequestQueue(HTTPAPI_VERSION_2, None, None, 0, queue))
    check("HttpAddUrlToUrlGroup", HttpAddUrlToUrlGroup(group_id.value, f"http://127.0.0.1:{port}/", 0, 0))
    binding = HTTP_BINDING_INFO(Flags=HTTP_PROPERTY_FLAGS(Present=1), RequestQueueHandle=queue.value)
    check(
        "HttpSetUrlGroupProperty",
        HttpSetUrlGroupProperty(
            group_id.value, HttpServerBindingProperty, binding, sizeof(HTTP_BINDING_INFO)
        ),
    )
    return queue.value


def new_request_buffer() -> Any:
    return HTTP_REQUEST_V2()


def raw_url(request: Any) -> bytes:
    """The request target as sent (pRawUrl), whatever bytes-like or str form the struct holds."""
    value = request.pRawUrl
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("latin-1")
    return bytes(value)[: request.RawUrlLength or None]


def memory_chunk(data: bytes) -> Any:
    return HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromMemory,
        FromMemory=HTTP_DATA_CHUNK_FROM_MEMORY(pBuffer=data, BufferLength=len(data)),
    )


def response(content_type: bytes, chunks: list[Any], content_length: int | None = None) -> Any:
    """A 200 OK HTTP_RESPONSE_V2 with Content-Type (and Content-Length when the body comes later)."""
    resp = HTTP_RESPONSE_V2(StatusCode=200, pReason=b"OK", ReasonLength=2)
    known = resp.Headers.KnownHeaders
    known[HttpHeaderContentType] = HTTP_KNOWN_HEADER(pRawValue=content_type, RawValueLength=len(content_type))
    if content_length is not None:
        value = str(content_length).encode()
        known[HttpHeaderContentLength] = HTTP_KNOWN_HEADER(pRawValue=value, RawValueLength=len(value))
    if chunks:
        resp.EntityChunkCount = len(chunks)
        resp.pEntityChunks = chunks
    return resp


def not_found() -> Any:
    return HTTP_RESPONSE_V2(StatusCode=404, pReason=b"Not Found", ReasonLength=9)


HELLO_RESPONSE = response(b"text/plain", [memory_chunk(HELLO)])
STREAM_HEAD = response(b"application/octet-stream", [], STREAM_COUNT * len(STREAM_PIECE))
STREAM_CHUNKS = [memory_chunk(STREAM_PIECE)]
NOT_FOUND = not_found()


def echo_response(body: bytes) -> Any:
    return response(b"application/octet-stream", [memory_chunk(body)] if body else [])
