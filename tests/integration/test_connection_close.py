"""How a connection ends after its last response, on the wire (decision 0015; docs/security.md §3 "Closing").

A client that asked to close (`Connection: close`, or HTTP/1.0 without keep-alive) and sent nothing after its
request is let go at once: the driver closes its socket behind the response instead of waiting up to 2 s for the
client's FIN. Every other end after a response lingers: FIN first, then what the client still sends is discarded
(no reset that could destroy the response) until it closes or 2 s pass.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest
from conftest import RawClient, Server

# daemon mode: it counts the in-process driver's connection objects (tests/conftest.py)
pytestmark = pytest.mark.embedded_only("inside")

DISCONNECT = 0x1  # HTTP_SEND_RESPONSE_FLAG_DISCONNECT


def get(path: bytes, extra: bytes = b"", version: bytes = b"1.1") -> bytes:
    return b"GET " + path + b" HTTP/" + version + b"\r\nHost: a\r\n" + extra + b"\r\n"


def connections(server: Server) -> int:
    return len(server.transport.driver.connections)


def gone_within(server: Server, seconds: float) -> bool:
    """Whether the driver holds no connection any more within `seconds`."""
    deadline = time.monotonic() + seconds
    while connections(server):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def answered(server: Server, client: RawClient, request: bytes, flags: int = 0) -> dict[bytes, bytes]:
    """Send `request`, answer it with "bye", read the response and the server's FIN; the client stays open."""
    client.send(request)
    snapshot = server.receive()
    server.respond(snapshot.request_id, body=b"bye", flags=flags)
    status, headers, body = client.recv_response()
    assert (status, body) == (b"HTTP/1.1 200 OK", b"bye")
    assert client.closed_by_peer(2.0) == "eof"
    return headers


def test_a_client_that_asked_to_close_is_let_go_without_waiting_for_its_fin(server: Server) -> None:
    client = RawClient(server.port)
    headers = answered(server, client, get(b"/", b"Connection: close\r\n"))
    assert headers[b"connection"] == b"close"
    assert gone_within(server, 0.5)  # the client has not closed its end: no lingering for it
    client.close()


def test_an_http10_request_without_keep_alive_is_let_go_at_once(server: Server) -> None:
    client = RawClient(server.port)
    answered(server, client, get(b"/", version=b"1.0"))
    assert gone_within(server, 0.5)
    client.close()


def test_a_keep_alive_request_the_application_closes_still_lingers(server: Server) -> None:
    client = RawClient(server.port)
    answered(server, client, get(b"/"), flags=DISCONNECT)
    client.send(get(b"/next"))  # the client did not ask to close: it may still be sending
    time.sleep(0.3)
    assert connections(server) == 1  # lingering: discarding what comes, waiting for the client's FIN
    assert client.closed_by_peer(0.2) == "eof"  # discarded without a reset
    client.close()
    assert gone_within(server, 1.0)  # the client's FIN ends the lingering close


def test_a_client_that_sent_more_after_its_close_request_still_gets_a_lingering_close(
    server: Server,
) -> None:
    client = RawClient(server.port)
    headers = answered(server, client, get(b"/1", b"Connection: close\r\n") + get(b"/2"))
    assert headers[b"connection"] == b"close"
    time.sleep(0.3)
    assert connections(server) == 1  # /2 was received (and is discarded): the close lingers
    assert [s.raw_url for s in server.seen] == [b"/1"]
    client.close()
    assert gone_within(server, 1.0)


def test_many_clients_that_ask_to_close_leave_no_connection_behind(
    server: Server, client_factory: Callable[[int], RawClient]
) -> None:
    clients = [client_factory(server.port) for _ in range(20)]
    for i, client in enumerate(clients):
        answered(server, client, get(b"/%d" % i, b"Connection: close\r\n"))
    assert gone_within(server, 0.5)
    stats = server.transport.statistics()
    assert stats["requests_in_flight"] == 0


def _pattern(size: int) -> bytes:
    return (bytes(range(256)) * (size // 256 + 1))[:size]


def _slow_reader(port: int, rcvbuf: int) -> socket.socket:
    """A client socket whose receive buffer is fixed before it connects (so the window stays small)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(5.0)
    sock.connect(("127.0.0.1", port))
    return sock


def _read_until(sock: socket.socket, got: bytearray, size: int) -> None:
    while len(got) < size:
        chunk = sock.recv(min(16384, size - len(got)))
        if not chunk:
            raise EOFError(len(got))
        got += chunk


def _read_to_eof(sock: socket.socket, got: bytearray) -> str:
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return "reset"
        if not chunk:
            return "eof"
        got += chunk


@pytest.mark.parametrize("size", [100 * 1024, 8 * 1024 * 1024])
def test_closing_at_once_never_truncates_a_response_the_client_is_still_reading(
    server: Server, size: int
) -> None:
    """The close without lingering (decision 0015, measured again in 0027) happens once the last byte is with the
    kernel, not with the client: the socket is closed while the client is still reading, and the kernel must
    deliver the rest and then a FIN, never a reset."""
    body = _pattern(size)
    worker = server.serve_in_thread(lambda srv, snap: srv.respond(snap.request_id, body=body), 1)
    sock = _slow_reader(server.port, 64 * 1024)
    try:
        sock.sendall(get(b"/big", b"Connection: close\r\n"))
        got = bytearray()
        _read_until(sock, got, 1)  # the response has begun
        head_end = -1
        while head_end < 0:
            _read_until(sock, got, len(got) + 1)
            head_end = got.find(b"\r\n\r\n")
        total = head_end + 4 + size
        # read all but the last 32 KiB, then stop reading: the rest fits in the kernel's buffers, so the driver
        # has handed over its last byte and closes while the client has not read it yet
        _read_until(sock, got, total - 32 * 1024)
        assert gone_within(server, 2.0)
        assert len(got) < total
        assert _read_to_eof(sock, got) == "eof"
    finally:
        sock.close()
    worker.join(5)
    head, payload = bytes(got[: head_end + 4]), bytes(got[head_end + 4 :])
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nConnection: close\r\n" in head
    assert len(payload) == size
    assert payload == body
