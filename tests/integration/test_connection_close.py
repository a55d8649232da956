"""How a connection ends after its last response, on the wire (decision 0015; docs/security.md §3 "Closing").

A client that asked to close (`Connection: close`, or HTTP/1.0 without keep-alive) and sent nothing after its
request is let go at once: the driver closes its socket behind the response instead of waiting up to 2 s for the
client's FIN. Every other end after a response lingers: FIN first, then what the client still sends is discarded
(no reset that could destroy the response) until it closes or 2 s pass.
"""

from __future__ import annotations

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
