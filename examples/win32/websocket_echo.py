"""A WebSocket echo server written against httpsys.win32 exactly as a C program uses httpapi.dll.

HTTP.sys does not speak WebSocket: it only hands the connection over. The server receives the upgrade request,
checks the RFC 6455 handshake, answers `101 Switching Protocols` with Sec-WebSocket-Accept using
HTTP_SEND_RESPONSE_FLAG_OPAQUE, and from then on the connection is an opaque byte stream: client bytes arrive
through HttpReceiveRequestEntityBody, server bytes leave through HttpSendResponseEntityBody, and this file does
the framing itself — masked client frames, text (checked UTF-8), binary, ping/pong, close, and messages
fragmented over several frames with control frames in between. Each upgraded connection is served on its own
thread; every send on a connection comes from that thread, one at a time (the page's rule for one RequestId).

    python examples/win32/websocket_echo.py --url http://+:8080/ --count 10
    python -m websockets ws://localhost:8080/
"""

from __future__ import annotations

import argparse
import base64
import ctypes
import hashlib
import struct
import sys
import threading

from httpsys.win32 import (
    ERROR_CONNECTION_INVALID,
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
    HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA,
    HTTP_SEND_RESPONSE_FLAG_MORE_DATA,
    HTTP_SEND_RESPONSE_FLAG_OPAQUE,
    HTTP_UNKNOWN_HEADER,
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
    HttpHeaderConnection,
    HttpHeaderContentType,
    HttpHeaderUpgrade,
    HttpInitialize,
    HttpReceiveHttpRequest,
    HttpReceiveRequestEntityBody,
    HttpRemoveUrlFromUrlGroup,
    HttpSendHttpResponse,
    HttpSendResponseEntityBody,
    HttpServerBindingProperty,
    HttpSetUrlGroupProperty,
    HttpTerminate,
    HttpVerbGET,
    sizeof,
)

REQUEST_BUFFER = 4096
READ_BUFFER = 64 * 1024
MAX_MESSAGE = 16 * 1024 * 1024  # larger messages are refused with close code 1009
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
NORMAL, PROTOCOL_ERROR, INVALID_DATA, TOO_BIG = 1000, 1002, 1007, 1009

# Every send of a connection uses BUFFER_DATA, as the seed page asks of synchronous I/O, and uses it consistently
# from the 101 (HttpSendHttpResponse) to the last HttpSendResponseEntityBody.
STREAM = HTTP_SEND_RESPONSE_FLAG_MORE_DATA | HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA
LAST = HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA


class Win32Failure(Exception):
    def __init__(self, call: str, code: int) -> None:
        super().__init__(f"{call} failed with Win32 error {code}")
        self.code = code


class ProtocolError(Exception):
    """The peer broke RFC 6455: close the connection with this status code."""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(why)
        self.code = code


class Gone(Exception):
    """The client went away (end of stream or a failed send)."""


def check(call: str, code: int) -> None:
    if code != NO_ERROR:
        raise Win32Failure(call, code)


# ----- the HTTP side: requests, the handshake, sends -------------------------------------------------------------


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


def text(value: object) -> bytes:
    """A PCSTR field of a received HTTP_REQUEST (bytes; NULL is empty)."""
    return bytes(value) if isinstance(value, bytes | bytearray | memoryview) else b""


def known_header(request: HTTP_REQUEST_V2, index: int) -> bytes:
    return text(request.Headers.KnownHeaders[index].pRawValue)


def unknown_header(request: HTTP_REQUEST_V2, name: bytes) -> bytes:
    for header in (request.Headers.pUnknownHeaders or [])[: request.Headers.UnknownHeaderCount]:
        if text(header.pName).lower() == name.lower():
            return text(header.pRawValue)
    return b""


def tokens(value: bytes) -> set[bytes]:
    return {token.strip().lower() for token in value.split(b",")}


def handshake_key(request: HTTP_REQUEST_V2) -> tuple[bytes | None, str]:
    """The Sec-WebSocket-Key of a valid opening handshake (RFC 6455 §4.2.1), or None and why not."""
    if request.Verb != HttpVerbGET:
        return None, "a WebSocket handshake is a GET"
    if b"websocket" not in tokens(known_header(request, HttpHeaderUpgrade)):
        return None, "Upgrade: websocket is required"
    if b"upgrade" not in tokens(known_header(request, HttpHeaderConnection)):
        return None, "Connection: Upgrade is required"
    if unknown_header(request, b"Sec-WebSocket-Version").strip() != b"13":
        return None, "Sec-WebSocket-Version: 13 is required"
    key = unknown_header(request, b"Sec-WebSocket-Key").strip()
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError
    except ValueError:
        return None, "Sec-WebSocket-Key must be 16 bytes in base64"
    return key, ""


def accept_value(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def memory(data: bytes) -> HTTP_DATA_CHUNK:
    return HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromMemory, FromMemory=HTTP_DATA_CHUNK_FROM_MEMORY(data)
    )


def refuse(queue: int, request: HTTP_REQUEST_V2, why: str) -> None:
    """426 Upgrade Required (with the version we speak) and the reason as text."""
    text = why.encode() + b"\n"
    response = HTTP_RESPONSE_V2(StatusCode=426, pReason=b"Upgrade Required", EntityChunkCount=1)
    response.pEntityChunks = [memory(text)]
    response.Headers.KnownHeaders[HttpHeaderContentType] = HTTP_KNOWN_HEADER(pRawValue=b"text/plain")
    response.Headers.KnownHeaders[HttpHeaderUpgrade] = HTTP_KNOWN_HEADER(pRawValue=b"websocket")
    response.Headers.pUnknownHeaders = [HTTP_UNKNOWN_HEADER(pName=b"Sec-WebSocket-Version", pRawValue=b"13")]
    response.Headers.UnknownHeaderCount = 1
    sent = ctypes.c_ulong()
    HttpSendHttpResponse(queue, request.RequestId, 0, response, None, sent, None, 0, None, None)


def switch_protocols(queue: int, request_id: int, key: bytes) -> bool:
    """101 with OPAQUE: from here on the connection carries raw bytes both ways."""
    response = HTTP_RESPONSE_V2(StatusCode=101, pReason=b"Switching Protocols")
    response.Headers.KnownHeaders[HttpHeaderUpgrade] = HTTP_KNOWN_HEADER(pRawValue=b"websocket")
    response.Headers.pUnknownHeaders = [
        HTTP_UNKNOWN_HEADER(pName=b"Connection", pRawValue=b"Upgrade"),
        HTTP_UNKNOWN_HEADER(pName=b"Sec-WebSocket-Accept", pRawValue=accept_value(key)),
    ]
    response.Headers.UnknownHeaderCount = 2
    sent = ctypes.c_ulong()
    flags = HTTP_SEND_RESPONSE_FLAG_OPAQUE | STREAM
    return (
        HttpSendHttpResponse(queue, request_id, flags, response, None, sent, None, 0, None, None) == NO_ERROR
    )


def send_bytes(queue: int, request_id: int, data: bytes, last: bool = False) -> None:
    """Raw bytes on the opaque connection; the last send (without MORE_DATA) ends it and closes the socket."""
    chunks = [memory(data)] if data else []
    sent = ctypes.c_ulong()
    code = HttpSendResponseEntityBody(
        queue, request_id, LAST if last else STREAM, len(chunks), chunks, sent, None, 0, None, None
    )
    if code != NO_ERROR:
        raise Gone(f"HttpSendResponseEntityBody: {code}")


# ----- the WebSocket side: frames --------------------------------------------------------------------------------


def frame(opcode: int, payload: bytes) -> bytes:
    """One unfragmented, unmasked server frame (RFC 6455 §5.2)."""
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return head + payload


def unmask(payload: bytes, key: bytes) -> bytes:
    if not payload:
        return payload
    repeated = (key * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(repeated, "little")).to_bytes(
        len(payload), "little"
    )


class OpaqueReader:
    """Exact reads from the client's side of the opaque connection (HttpReceiveRequestEntityBody)."""

    def __init__(self, queue: int, request_id: int) -> None:
        self.queue = queue
        self.request_id = request_id
        self.buffer = bytearray(READ_BUFFER)
        self.pending = bytearray()

    def read(self, count: int) -> bytes:
        while len(self.pending) < count:
            returned = ctypes.c_ulong()
            code = HttpReceiveRequestEntityBody(
                self.queue, self.request_id, 0, self.buffer, len(self.buffer), returned, None
            )
            if code != NO_ERROR:  # ERROR_HANDLE_EOF: the client ended its stream; anything else: it is gone
                raise Gone(f"HttpReceiveRequestEntityBody: {code}")
            self.pending += self.buffer[: returned.value]
        data = bytes(self.pending[:count])
        del self.pending[:count]
        return data


def read_frame(reader: OpaqueReader) -> tuple[bool, int, bytes]:
    """(fin, opcode, unmasked payload) of the next client frame; ProtocolError for anything RFC 6455 forbids."""
    first, second = reader.read(2)
    fin, opcode, masked, size = bool(first & 0x80), first & 0x0F, bool(second & 0x80), second & 0x7F
    if first & 0x70:
        raise ProtocolError(PROTOCOL_ERROR, "reserved bits set without an extension")
    if opcode not in (CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG):
        raise ProtocolError(PROTOCOL_ERROR, f"unknown opcode {opcode:#x}")
    if not masked:
        raise ProtocolError(PROTOCOL_ERROR, "client frames must be masked")
    if size == 126:
        size = struct.unpack("!H", reader.read(2))[0]
    elif size == 127:
        size = struct.unpack("!Q", reader.read(8))[0]
        if size >> 63:
            raise ProtocolError(PROTOCOL_ERROR, "64-bit length with the top bit set")
    if opcode >= CLOSE and (not fin or size > 125):
        raise ProtocolError(PROTOCOL_ERROR, "control frames are short and never fragmented")
    if size > MAX_MESSAGE:
        raise ProtocolError(TOO_BIG, "frame too large")
    key = reader.read(4)
    return fin, opcode, unmask(reader.read(size), key)


def close_payload(payload: bytes) -> bytes:
    """What to answer a client's close frame with (its status code echoed), or ProtocolError."""
    if not payload:
        return b""
    if len(payload) == 1:
        raise ProtocolError(PROTOCOL_ERROR, "a close payload has at least two bytes")
    code = struct.unpack("!H", payload[:2])[0]
    if code < 1000 or code in (1004, 1005, 1006, 1015) or 1016 <= code < 3000 or code >= 5000:
        raise ProtocolError(PROTOCOL_ERROR, f"close code {code} may not be sent")
    try:
        payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(INVALID_DATA, "close reason is not UTF-8") from None
    return struct.pack("!H", code)


def echo(queue: int, request_id: int) -> None:
    """Echo every message until the close handshake (or a protocol error, or the client leaving)."""
    reader = OpaqueReader(queue, request_id)
    message_opcode: int | None = None
    parts: list[bytes] = []
    size = 0
    try:
        while True:
            fin, opcode, payload = read_frame(reader)
            if opcode == PING:
                send_bytes(queue, request_id, frame(PONG, payload))
                continue
            if opcode == PONG:
                continue
            if opcode == CLOSE:
                send_bytes(queue, request_id, frame(CLOSE, close_payload(payload)), last=True)
                return
            if opcode == CONTINUATION:
                if message_opcode is None:
                    raise ProtocolError(PROTOCOL_ERROR, "continuation without a message")
            elif message_opcode is not None:
                raise ProtocolError(PROTOCOL_ERROR, "new message before the last one ended")
            else:
                message_opcode = opcode
            parts.append(payload)
            size += len(payload)
            if size > MAX_MESSAGE:
                raise ProtocolError(TOO_BIG, "message too large")
            if fin:
                message = b"".join(parts)
                if message_opcode == TEXT:
                    try:
                        message.decode("utf-8")
                    except UnicodeDecodeError:
                        raise ProtocolError(INVALID_DATA, "text message is not UTF-8") from None
                send_bytes(queue, request_id, frame(message_opcode, message))
                message_opcode, parts, size = None, [], 0
    except ProtocolError as error:
        try:
            send_bytes(queue, request_id, frame(CLOSE, struct.pack("!H", error.code)), last=True)
        except Gone:
            pass
    except Gone:
        try:
            send_bytes(queue, request_id, b"", last=True)  # end our side too (fails quietly if already gone)
        except Gone:
            pass


def serve_connection(queue: int, request: HTTP_REQUEST_V2) -> threading.Thread | None:
    key, why = handshake_key(request)
    if key is None:
        refuse(queue, request, why)
        return None
    if not switch_protocols(queue, request.RequestId, key):
        return None  # the client left before the 101 went out
    thread = threading.Thread(target=echo, args=(queue, request.RequestId), daemon=True)
    thread.start()
    return thread


def serve(url: str, count: int | None) -> int:
    check("HttpInitialize", HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None))
    session = ctypes.c_ulonglong()
    group = ctypes.c_ulonglong()
    queue = ctypes.c_void_p()
    served = 0
    threads: list[threading.Thread] = []
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
            thread = serve_connection(handle, receive_request(handle))
            if thread is not None:
                threads.append(thread)
            served += 1
        for thread in threads:
            thread.join()
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
    parser = argparse.ArgumentParser(description="WebSocket echo server on the Win32-style HTTP Server API")
    parser.add_argument("--url", default="http://+:8080/", help="URL prefix to register")
    parser.add_argument(
        "--count", type=int, default=None, help="stop after this many requests (and their sockets)"
    )
    args = parser.parse_args(argv)
    try:
        return serve(args.url, args.count)
    except Win32Failure as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
