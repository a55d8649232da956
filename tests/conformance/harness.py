"""Conformance harness: transport selection, servers built through the win32 API, helpers and a raw client.

Every test in this folder talks to httpsys only through ``httpsys.win32`` (and loopback sockets), so the suite
runs unchanged against another transport: set ``HTTPSYS_CONFORMANCE_TRANSPORT=package.module:factory`` (a
callable returning a DriverTransport; optional ``:release`` callable taking it) to run it on, e.g., the shared
daemon, or set ``HTTPSYS_TEST_MODE=daemon`` to run it against a real ``httpsys daemon`` subprocess. Tests that
only pass on a shared (multi-process) transport are xfail(strict) while ``EMBEDDED``.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from httpsys.win32 import *
from httpsys.win32 import api as win32_api
from portpool import free_port

TRANSPORT_SPEC = os.environ.get("HTTPSYS_CONFORMANCE_TRANSPORT")
DAEMON_MODE = os.environ.get("HTTPSYS_TEST_MODE") == "daemon"  # a real daemon subprocess (conftest.py)
EMBEDDED = TRANSPORT_SPEC is None and not DAEMON_MODE
ALL_INIT = HTTP_INITIALIZE_SERVER | HTTP_INITIALIZE_CONFIG

only_shared = pytest.mark.xfail(
    EMBEDDED, strict=True, reason="needs the shared-daemon transport (several processes on one driver)"
)


def _resolve(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def configure_transport() -> None:
    if TRANSPORT_SPEC is None:
        win32_api.set_transport_factory(None)
        return
    parts = TRANSPORT_SPEC.split(":")
    factory = _resolve(f"{parts[0]}:{parts[1]}")
    release = _resolve(f"{parts[0]}:{parts[2]}") if len(parts) > 2 else None
    win32_api.set_transport_factory(factory, release)




def ulong() -> ctypes.c_ulong:
    return ctypes.c_ulong(0xDEAD)


# ---------------------------------------------------------------------------------------------------------------
# Servers built through the win32 API
# ---------------------------------------------------------------------------------------------------------------


def create_session() -> int:
    holder = ctypes.c_ulonglong()
    assert HttpCreateServerSession(HTTPAPI_VERSION_2, holder, 0) == NO_ERROR
    return holder.value


def create_group(session: int) -> int:
    holder = ctypes.c_ulonglong()
    assert HttpCreateUrlGroup(session, holder, 0) == NO_ERROR
    return holder.value


def create_queue(name: str | None = None, flags: int = 0) -> int:
    holder = wintypes_handle()
    assert HttpCreateRequestQueue(HTTPAPI_VERSION_2, name, None, flags, holder) == NO_ERROR
    return int(holder.value or 0)


def wintypes_handle() -> ctypes.c_void_p:
    return ctypes.c_void_p()


def bind(group: int, queue: int | None) -> int:
    info = HTTP_BINDING_INFO(HTTP_PROPERTY_FLAGS(1 if queue else 0), queue)
    return HttpSetUrlGroupProperty(group, HttpServerBindingProperty, info, sizeof(info))


def set_verbosity(queue: int, level: int) -> None:
    value = ctypes.c_ulong(level)
    assert (
        HttpSetRequestQueueProperty(
            queue, HttpServer503VerbosityProperty, value, ctypes.sizeof(value), 0, None
        )
        == NO_ERROR
    )


@dataclass
class Server:
    session: int
    group: int
    queue: int
    port: int
    url: str
    context: int = 42
    requests: list[HTTP_REQUEST_V2] = field(default_factory=list)

    def receive(self, flags: int = 0, size: int = 16384, timeout: float = 10.0) -> HTTP_REQUEST_V2:
        return receive(self.queue, flags, size, timeout)


def make_server(path: str = "/", context: int = 42) -> Server:
    session = create_session()
    group = create_group(session)
    queue = create_queue()
    assert bind(group, queue) == NO_ERROR
    for _ in range(10):  # another process may take the port between the probe and the registration
        port = free_port()
        url = f"http://+:{port}{path}"
        code = HttpAddUrlToUrlGroup(group, url, context, 0)
        if code != ERROR_SHARING_VIOLATION:
            break
    assert code == NO_ERROR
    return Server(session, group, queue, port, url, context)


# ---------------------------------------------------------------------------------------------------------------
# Blocking helpers with timeouts (an overlapped call waited on, so a failing test cannot hang)
# ---------------------------------------------------------------------------------------------------------------


def wait(queue: int, ov: OVERLAPPED, timeout: float = 10.0) -> tuple[bool, int, int]:
    """(ok, last error, bytes) of an overlapped operation; fails the test if it does not complete in time."""
    nbytes = ctypes.c_ulong()
    ok = GetOverlappedResultEx(queue, ov, nbytes, int(timeout * 1000), False)
    error = GetLastError()
    if not ok and error == WAIT_TIMEOUT:
        CancelIoEx(queue, ov)
        pytest.fail("operation did not complete in time")
    return bool(ok), (0 if ok else error), nbytes.value


def receive(queue: int, flags: int = 0, size: int = 16384, timeout: float = 10.0) -> HTTP_REQUEST_V2:
    request = HTTP_REQUEST_V2()
    ov = OVERLAPPED()
    code = HttpReceiveHttpRequest(queue, HTTP_NULL_ID, flags, request, size, None, ov)
    assert code in (NO_ERROR, ERROR_IO_PENDING), code
    ok, error, _ = wait(queue, ov, timeout)
    assert ok, error
    return request


def memory_chunk(data: bytes) -> HTTP_DATA_CHUNK:
    return HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromMemory, FromMemory=HTTP_DATA_CHUNK_FROM_MEMORY(pBuffer=data)
    )


def make_response(
    status: int = 200,
    reason: bytes = b"OK",
    body: bytes | None = None,
    known: dict[int, bytes] | None = None,
    unknown: list[tuple[bytes, bytes]] | None = None,
) -> HTTP_RESPONSE_V2:
    response = HTTP_RESPONSE_V2(StatusCode=status, pReason=reason)
    for index, value in (known or {}).items():
        response.Headers.KnownHeaders[index] = HTTP_KNOWN_HEADER(len(value), value)
    if unknown:
        response.Headers.pUnknownHeaders = [HTTP_UNKNOWN_HEADER(pName=n, pRawValue=v) for n, v in unknown]
        response.Headers.UnknownHeaderCount = len(unknown)
    if body is not None:
        response.pEntityChunks = [memory_chunk(body)]
        response.EntityChunkCount = 1
    return response


def respond(
    queue: int, request_id: int, body: bytes = b"", flags: int = 0, status: int = 200, **kwargs: Any
) -> tuple[int, int]:
    sent = ctypes.c_ulong()
    response = make_response(status, body=body, **kwargs)
    code = HttpSendHttpResponse(queue, request_id, flags, response, None, sent, None, 0, None, None)
    return code, sent.value


def send_body(queue: int, request_id: int, data: bytes, flags: int = 0) -> tuple[int, int]:
    sent = ctypes.c_ulong()
    chunks = [memory_chunk(data)] if data else []
    code = HttpSendResponseEntityBody(
        queue, request_id, flags, len(chunks), chunks, sent, None, 0, None, None
    )
    return code, sent.value


def read_body(queue: int, request_id: int, size: int = 65536) -> tuple[int, bytes]:
    buffer = bytearray(size)
    got = ctypes.c_ulong()
    code = HttpReceiveRequestEntityBody(queue, request_id, 0, buffer, size, got, None)
    return code, bytes(buffer[: got.value])


def read_all(queue: int, request_id: int) -> bytes:
    out = bytearray()
    while True:
        code, data = read_body(queue, request_id)
        if code == ERROR_HANDLE_EOF:
            return bytes(out)
        assert code == NO_ERROR, code
        out += data


def known_value(request: HTTP_REQUEST_V1, index: int) -> bytes | None:
    header = request.Headers.KnownHeaders[index]
    return None if header.pRawValue is None else bytes(header.pRawValue)


def unknown_headers(request: HTTP_REQUEST_V1) -> list[tuple[bytes, bytes]]:
    items = request.Headers.pUnknownHeaders or []
    return [(bytes(h.pName), bytes(h.pRawValue)) for h in items[: request.Headers.UnknownHeaderCount]]


# ---------------------------------------------------------------------------------------------------------------
# Raw loopback client
# ---------------------------------------------------------------------------------------------------------------


class RawClient:
    """A plain TCP client that sends exact bytes and reads exact bytes."""

    def __init__(self, port: int, timeout: float = 5.0, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def get(self, path: str = "/", port: int | None = None, extra: bytes = b"") -> None:
        host = f"localhost:{port}" if port else "localhost"
        self.send(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n".encode() + extra + b"\r\n")

    def _fill(self, deadline: float) -> None:
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError(self.buf)
        self.buf += chunk

    def recv_until(self, marker: bytes, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            self._fill(deadline)
        idx = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:idx], self.buf[idx:]
        return out

    def recv_exact(self, n: int, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_response(self, timeout: float = 5.0) -> tuple[bytes, dict[bytes, bytes], bytes]:
        """One Content-Length-delimited response: (status line, headers with lower-case names, body)."""
        head = self.recv_until(b"\r\n\r\n", timeout)
        lines = head[:-4].split(b"\r\n")
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get(b"content-length", b"0"))
        body = self.recv_exact(length, timeout) if length else b""
        return lines[0], headers, body

    def recv_all(self, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            self.buf += chunk
        out, self.buf = self.buf, b""
        return out

    def closed_by_peer(self, timeout: float = 5.0) -> str:
        """'eof', 'reset', 'data' or 'open' after waiting for the server to close the connection."""
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            return "reset"
        except TimeoutError:
            return "open"
        if chunk:
            self.buf += chunk
            return "data"
        return "eof"

    def close(self) -> None:
        self.sock.close()
