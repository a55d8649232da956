"""The win32 face and issue 13's connection semantics (docs/decisions/0013-connection-semantics.md).

* https prefixes are accepted by HttpAddUrlToUrlGroup and HttpAddUrl as HTTP.sys accepts them (§1.3), but until
  TLS exists no SSL binding can, so the port never answers in plaintext: the connection is reset. http and https
  cannot share a port (§1.3, §5.11, item 48), in either order.
* An application `Server` given as an unknown header is the Server header: sent once, with the HTTP.sys suffix
  (§5.3, item 91).
* HTTP_LOG_FIELDS_DATA left with ServerPort 0 does not log `s-port` 0: the connection's port is kept.
* A kept-open HTTP/1.0 connection says `Connection: keep-alive` (§5.4, item 115).
"""

from __future__ import annotations

import ctypes
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from httpsys.win32 import *

from .harness import RawClient, Server, create_group, create_queue, create_session, free_port, make_response
from .strict_client import StrictClient


@pytest.fixture
def strict() -> Iterator[Callable[[int], StrictClient]]:
    clients: list[StrictClient] = []

    def factory(port: int) -> StrictClient:
        c = StrictClient(port)
        clients.append(c)
        return c

    yield factory
    for c in clients:
        c.close()


def send(server: Server, request_id: int, response: object, log: object = None) -> int:
    sent = ctypes.c_ulong()
    return HttpSendHttpResponse(server.queue, request_id, 0, response, None, sent, None, 0, None, log)


def plaintext_reply(port: int) -> bytes:
    """Every byte a plaintext request to `port` gets back (the reset may come at any step)."""
    received = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            while chunk := sock.recv(65536):
                received += chunk
    except ConnectionError:
        pass
    return received


# ------------------------------------------------------------------------------------------------------ https
def test_https_prefix_is_accepted_by_a_url_group_and_its_port_never_answers_in_plaintext(
    initialized: None,
) -> None:
    group = create_group(create_session())
    queue = create_queue()
    binding = HTTP_BINDING_INFO(HTTP_PROPERTY_FLAGS(1), queue)
    assert HttpSetUrlGroupProperty(group, HttpServerBindingProperty, binding, sizeof(binding)) == NO_ERROR
    port = free_port()
    url = f"https://127.0.0.1:{port}/secure/"
    assert HttpAddUrlToUrlGroup(group, url, 7, 0) == NO_ERROR
    assert plaintext_reply(port) == b""
    assert HttpRemoveUrlFromUrlGroup(group, url, 0) == NO_ERROR


def test_https_prefix_is_accepted_by_a_v1_queue_and_its_port_never_answers_in_plaintext(
    initialized: None,
) -> None:
    handle = ctypes.c_void_p()
    assert HttpCreateHttpHandle(handle, 0) == NO_ERROR
    port = free_port()
    assert HttpAddUrl(handle.value, f"https://+:{port}/", None) == NO_ERROR
    assert plaintext_reply(port) == b""
    assert CloseHandle(handle.value)


@pytest.mark.parametrize(("first", "second"), [("http", "https"), ("https", "http")])
def test_http_and_https_cannot_share_a_port_in_either_order(
    initialized: None, first: str, second: str
) -> None:
    group = create_group(create_session())
    port = free_port()
    assert HttpAddUrlToUrlGroup(group, f"{first}://+:{port}/", 0, 0) == NO_ERROR
    assert HttpAddUrlToUrlGroup(group, f"{second}://+:{port}/other/", 0, 0) == ERROR_ALREADY_EXISTS
    assert HttpAddUrlToUrlGroup(group, f"{second}://127.0.0.1:{port}/", 0, 0) == ERROR_ALREADY_EXISTS
    assert HttpAddUrlToUrlGroup(group, f"{first}://127.0.0.1:{port}/more/", 0, 0) == NO_ERROR


# ------------------------------------------------------------------------------------------------ Server header
def test_unknown_server_header_is_sent_once_with_the_httpapi_suffix(server: Server, strict) -> None:
    c = strict(server.port)
    c.request(b"GET", b"/")
    response = make_response(body=b"x", unknown=[(b"X-Before", b"1"), (b"Server", b"MyApp/2.1")])
    assert send(server, server.receive().RequestId, response) == NO_ERROR
    reply = c.reply()
    assert reply.values(b"Server") == [b"MyApp/2.1 Microsoft-HTTPAPI/2.0"]
    assert reply.names()[:3] == [b"Server", b"X-Before", b"Date"]  # at the known header's place


def test_known_and_unknown_server_headers_share_one_line(server: Server, strict) -> None:
    c = strict(server.port)
    c.request(b"GET", b"/")
    response = make_response(body=b"x", known={HttpHeaderServer: b"Front"}, unknown=[(b"server", b"Back")])
    assert send(server, server.receive().RequestId, response) == NO_ERROR
    assert c.reply().values(b"Server") == [b"Front Back Microsoft-HTTPAPI/2.0"]


# -------------------------------------------------------------------------------------------------- log s-port
def w3c_rows(directory: Path, count: int, timeout: float = 5.0) -> list[dict[str, str]]:
    """The data lines of the W3C files in `directory`, waited for until there are `count` (the log writer runs on
    its own thread)."""
    deadline = time.monotonic() + timeout
    while True:
        rows: list[dict[str, str]] = []
        names: list[str] = []
        for path in sorted(directory.glob("*.log")):
            for line in path.read_bytes().decode().split("\r\n"):
                if line.startswith("#Fields: "):
                    names = line[9:].split(" ")
                elif line and not line.startswith("#"):
                    rows.append(dict(zip(names, line.split(" "), strict=True)))
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.02)


def test_log_data_leaving_server_port_zero_logs_the_connection_port(server: Server, tmp_path: Path) -> None:
    info = HTTP_LOGGING_INFO(
        Flags=HTTP_PROPERTY_FLAGS(1),
        LoggingFlags=HTTP_LOGGING_FLAG_USE_UTF8_CONVERSION,
        DirectoryName=str(tmp_path),
        Format=HttpLoggingTypeW3C,
        Fields=HTTP_LOG_FIELD_SERVER_PORT | HTTP_LOG_FIELD_URI_STEM,
        RolloverType=HttpLoggingRolloverDaily,
    )
    assert HttpSetUrlGroupProperty(server.group, HttpServerLoggingProperty, info, sizeof(info)) == NO_ERROR
    c = RawClient(server.port)
    try:
        c.send(f"GET /logged HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
        log = HTTP_LOG_FIELDS_DATA(Base=HTTP_LOG_DATA(HttpLogDataTypeFields), UriStem="/logged")
        assert log.ServerPort == 0  # left unset, as most applications leave it
        assert send(server, server.receive().RequestId, make_response(body=b"ok"), log) == NO_ERROR
        assert c.recv_response()[2] == b"ok"
        c.send(f"GET /given HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
        log = HTTP_LOG_FIELDS_DATA(
            Base=HTTP_LOG_DATA(HttpLogDataTypeFields), UriStem="/given", ServerPort=8443
        )
        assert send(server, server.receive().RequestId, make_response(body=b"ok"), log) == NO_ERROR
        assert c.recv_response()[2] == b"ok"
    finally:
        c.close()
    rows = w3c_rows(tmp_path, 2)
    assert [(row["cs-uri-stem"], row["s-port"]) for row in rows] == [
        ("/logged", str(server.port)),
        ("/given", "8443"),  # a port the application does give is its to log
    ]


# ---------------------------------------------------------------------------------------------- HTTP/1.0 keep-alive
def test_http10_keep_alive_responses_say_so_and_the_connection_serves_the_next(server: Server) -> None:
    c = RawClient(server.port)
    try:
        for body in (b"one", b"two"):
            c.send(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            assert send(server, server.receive().RequestId, make_response(body=body)) == NO_ERROR
            status, headers, received = c.recv_response()
            assert (status, headers[b"connection"], received) == (b"HTTP/1.1 200 OK", b"keep-alive", body)
    finally:
        c.close()
