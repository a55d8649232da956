"""An echo server written against httpsys.win32 exactly as a C program uses httpapi.dll.

It initializes the HTTP Server API, creates a server session, a URL group and a request queue, binds the group to
the queue, registers the URL prefix, then receives requests one at a time, reads each entity body and sends it
back as the response body (with the request's Content-Type). When ``--count`` requests have been answered (or on
Ctrl-C) it removes the URL and closes everything in reverse order.

    python examples/win32/echo_server.py --url http://+:8080/ --count 10
    curl -d 'hello' http://localhost:8080/
"""

from __future__ import annotations

import argparse
import ctypes
import sys

from httpsys.win32 import (
    ERROR_CONNECTION_INVALID,
    ERROR_HANDLE_EOF,
    ERROR_MORE_DATA,
    HTTP_BINDING_INFO,
    HTTP_DATA_CHUNK,
    HTTP_DATA_CHUNK_FROM_MEMORY,
    HTTP_INITIALIZE_SERVER,
    HTTP_KNOWN_HEADER,
    HTTP_NULL_ID,
    HTTP_PROPERTY_FLAGS,
    HTTP_REQUEST_V2,
    HTTP_RESPONSE_V2,
    HTTP_URL_FLAG_REMOVE_ALL,
    HTTPAPI_VERSION_2,
    NO_ERROR,
    HttpAddUrlToUrlGroup,
    HttpCloseRequestQueue,
    HttpCloseServerSession,
    HttpCloseUrlGroup,
    HttpCreateRequestQueue,
    HttpCreateServerSession,
    HttpCreateUrlGroup,
    HttpDataChunkFromMemory,
    HttpHeaderContentType,
    HttpInitialize,
    HttpReceiveHttpRequest,
    HttpReceiveRequestEntityBody,
    HttpRemoveUrlFromUrlGroup,
    HttpSendHttpResponse,
    HttpServerBindingProperty,
    HttpSetUrlGroupProperty,
    HttpTerminate,
    sizeof,
)

REQUEST_BUFFER = 4096
BODY_BUFFER = 64 * 1024


class Win32Failure(Exception):
    def __init__(self, call: str, code: int) -> None:
        super().__init__(f"{call} failed with Win32 error {code}")
        self.code = code


def check(call: str, code: int) -> None:
    if code != NO_ERROR:
        raise Win32Failure(call, code)


def receive_request(queue: int) -> HTTP_REQUEST_V2:
    """The next request; a request larger than the buffer is fetched again by its id (ERROR_MORE_DATA)."""
    request_id = HTTP_NULL_ID
    length = REQUEST_BUFFER
    while True:
        request = HTTP_REQUEST_V2()
        returned = ctypes.c_ulong()
        code = HttpReceiveHttpRequest(queue, request_id, 0, request, length, returned, None)
        if code == NO_ERROR:
            return request
        if code == ERROR_MORE_DATA:
            request_id, length = request.RequestId, returned.value
        elif code == ERROR_CONNECTION_INVALID and request_id != HTTP_NULL_ID:
            request_id, length = HTTP_NULL_ID, REQUEST_BUFFER  # the peer went away meanwhile
        else:
            raise Win32Failure("HttpReceiveHttpRequest", code)


def read_entity_body(queue: int, request: HTTP_REQUEST_V2) -> bytes:
    body = bytearray()
    buffer = bytearray(BODY_BUFFER)
    returned = ctypes.c_ulong()
    while True:
        code = HttpReceiveRequestEntityBody(queue, request.RequestId, 0, buffer, len(buffer), returned, None)
        if code == ERROR_HANDLE_EOF:
            return bytes(body)
        check("HttpReceiveRequestEntityBody", code)
        body += buffer[: returned.value]


def send_echo(queue: int, request: HTTP_REQUEST_V2, body: bytes) -> int:
    response = HTTP_RESPONSE_V2(StatusCode=200, pReason=b"OK")
    content_type = request.Headers.KnownHeaders[HttpHeaderContentType].pRawValue
    response.Headers.KnownHeaders[HttpHeaderContentType] = HTTP_KNOWN_HEADER(
        pRawValue=content_type or b"application/octet-stream"
    )
    if body:
        response.EntityChunkCount = 1
        response.pEntityChunks = [
            HTTP_DATA_CHUNK(
                DataChunkType=HttpDataChunkFromMemory, FromMemory=HTTP_DATA_CHUNK_FROM_MEMORY(body)
            )
        ]
    sent = ctypes.c_ulong()
    return HttpSendHttpResponse(queue, request.RequestId, 0, response, None, sent, None, 0, None, None)


def serve(url: str, count: int | None) -> int:
    check("HttpInitialize", HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None))
    session = ctypes.c_ulonglong()
    group = ctypes.c_ulonglong()
    queue = ctypes.c_void_p()
    served = 0
    try:
        check("HttpCreateServerSession", HttpCreateServerSession(HTTPAPI_VERSION_2, session, 0))
        check("HttpCreateUrlGroup", HttpCreateUrlGroup(session.value, group, 0))
        check("HttpCreateRequestQueue", HttpCreateRequestQueue(HTTPAPI_VERSION_2, None, None, 0, queue))
        binding = HTTP_BINDING_INFO(HTTP_PROPERTY_FLAGS(1), queue.value)
        check(
            "HttpSetUrlGroupProperty",
            HttpSetUrlGroupProperty(group.value, HttpServerBindingProperty, binding, sizeof(binding)),
        )
        check("HttpAddUrlToUrlGroup", HttpAddUrlToUrlGroup(group.value, url, 0, 0))
        print(f"listening on {url}", flush=True)
        handle = int(queue.value or 0)
        while count is None or served < count:
            request = receive_request(handle)
            body = read_entity_body(handle, request)
            code = send_echo(handle, request, body)
            if code not in (NO_ERROR, ERROR_CONNECTION_INVALID):  # a client that left is not our failure
                raise Win32Failure("HttpSendHttpResponse", code)
            served += 1
    except KeyboardInterrupt:
        pass
    finally:
        if group.value:
            HttpRemoveUrlFromUrlGroup(group.value, None, HTTP_URL_FLAG_REMOVE_ALL)
            HttpCloseUrlGroup(group.value)
        if queue.value:
            HttpCloseRequestQueue(queue.value)
        if session.value:
            HttpCloseServerSession(session.value)
        HttpTerminate(HTTP_INITIALIZE_SERVER, None)
    print(f"served {served} requests", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Echo server on the Win32-style HTTP Server API")
    parser.add_argument("--url", default="http://+:8080/", help="URL prefix to register")
    parser.add_argument("--count", type=int, default=None, help="stop after this many requests")
    args = parser.parse_args(argv)
    try:
        return serve(args.url, args.count)
    except Win32Failure as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
