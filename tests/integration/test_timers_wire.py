"""Driver timers on the wire with 1-second settings (spec §3.7, §5.4, §5.7, §6 items 87, 116; reliability §2.2).

Each timer ends the connection with a TCP reset (never a 408) and logs its HTTPERR reason: HeaderWait bounds the
whole head (slowloris), IdleConnection an idle keep-alive connection, EntityBody a stalled upload (re-armed by
each arrival), DrainEntityBody the drain of an unread body, RequestQueue a request nobody receives, MinSendRate a
client that does not read its response.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from conftest import RawClient, Server, Waiter, httperr_events

from httpsys._core.settings import DriverSettings
from httpsys._core.status import Win32Error
from httpsys._core.timers import TimeoutLimits

OK = int(Win32Error.NO_ERROR)
GONE = int(Win32Error.ERROR_CONNECTION_INVALID)
PROP_TIMEOUTS = 3
MORE_DATA = 0x2


def limits(server: Server, **values: int) -> None:
    assert server.transport.set_group_property(server.group, PROP_TIMEOUTS, TimeoutLimits(**values)) == OK


def reset_after(client: RawClient, timeout: float = 4.0, trickle: bytes | None = None) -> float:
    """Seconds until the peer resets the connection (trickling `trickle` every 0.25 s meanwhile)."""
    start = time.monotonic()
    deadline = start + timeout
    while time.monotonic() < deadline:
        outcome = client.closed_by_peer(0.25)
        if outcome == "reset":
            return time.monotonic() - start
        assert outcome == "open", (outcome, client.buf)  # no 408, no FIN
        if trickle is not None:
            try:
                client.send(trickle)
            except (ConnectionResetError, BrokenPipeError):
                assert client.closed_by_peer(1.0) in ("reset", "eof")
                return time.monotonic() - start
    raise AssertionError("connection was not reset")


def reasons(server: Server, expected: int = 1) -> list[str]:
    """The HTTPERR reasons logged on the server's port (waiting for `expected` of them in daemon mode)."""
    return [reason for reason, _status in httperr_events(server, expected)]


def test_header_wait_resets_a_slowloris_head(make: Callable[..., Server]) -> None:
    server = make(DriverSettings(header_wait_timeout=1))
    client = RawClient(server.port)
    client.send(b"GET / HTTP/1.1\r\nHost: a\r\n")
    # a byte every 0.25 s keeps the socket busy, but HeaderWait is a deadline for the whole head
    elapsed = reset_after(client, trickle=b"X-S: 1\r\n")
    assert 0.8 <= elapsed <= 2.0, elapsed
    assert client.buf == b""
    assert reasons(server) == ["Timer_HeaderWait"]
    assert server.transport.statistics()["queued"] == 0
    client.close()


def test_header_wait_stops_once_the_head_is_complete(make: Callable[..., Server]) -> None:
    server = make(DriverSettings(header_wait_timeout=1))
    client = RawClient(server.port)
    client.send(b"GET / HTTP/1.1\r\n")
    time.sleep(0.05)
    client.send(b"Host: a\r\n\r\n")  # a head in two pieces arms HeaderWait
    request = server.receive()
    time.sleep(1.3)  # the application is slow: no timer runs against it
    assert server.respond(request.request_id, body=b"late")[0] == OK
    assert client.recv_response()[2] == b"late"
    assert reasons(server, 0) == []
    client.close()


def test_idle_connection_resets_a_silent_new_connection(make: Callable[..., Server]) -> None:
    server = make(DriverSettings(idle_connection_timeout=1))
    client = RawClient(server.port)
    elapsed = reset_after(client)
    assert 0.8 <= elapsed <= 2.0, elapsed
    assert reasons(server) == ["Timer_ConnectionIdle"]
    client.close()


def test_idle_connection_resets_an_idle_keep_alive_connection(server: Server) -> None:
    limits(server, idle_connection=1)
    client = RawClient(server.port)
    client.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    request = server.receive()
    server.respond(request.request_id, body=b"x")
    assert client.recv_response()[2] == b"x"
    elapsed = reset_after(client)
    assert 0.8 <= elapsed <= 2.0, elapsed
    assert reasons(server) == ["Timer_ConnectionIdle"]
    client.close()


def test_per_app_header_wait_applies_from_the_second_request(server: Server) -> None:
    limits(server, header_wait=1)
    client = RawClient(server.port)
    client.send(b"GET / HTTP/1.1\r\n")
    assert client.closed_by_peer(1.3) == "open"  # first head: driver-wide HeaderWait (120 s)
    client.send(b"Host: a\r\n\r\n")
    request = server.receive()
    server.respond(request.request_id, body=b"x")
    assert client.recv_response()[2] == b"x"
    client.send(b"GET /2 HTTP/1.1\r\n")
    elapsed = reset_after(client)
    assert 0.8 <= elapsed <= 2.0, elapsed
    assert reasons(server) == ["Timer_HeaderWait"]
    client.close()


def test_entity_body_timer_resets_a_stalled_upload_and_fails_the_read(server: Server) -> None:
    limits(server, entity_body=1)
    client = RawClient(server.port)
    client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123")
    request = server.receive()
    assert server.read_body(request.request_id) == (OK, b"0123")
    pending = Waiter()
    server.transport.receive_body(server.queue, request.request_id, 100, False, 0, pending)
    elapsed = reset_after(client, trickle=None)
    assert elapsed <= 2.0, elapsed
    assert pending.wait() == (GONE, b"")
    assert reasons(server) == ["Timer_EntityBody"]
    client.close()


def test_entity_body_timer_is_re_armed_by_each_arrival(server: Server) -> None:
    limits(server, entity_body=1)
    client = RawClient(server.port)
    client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")
    request = server.receive()
    got = b""
    for byte in b"abcd":  # 4 x 0.3 s = 1.2 s in all, never 1 s without data
        time.sleep(0.3)
        client.send(bytes([byte]))
        code, data = server.read_body(request.request_id)
        assert code == OK
        got += data
    assert got == b"abcd"
    assert reasons(server, 0) == []
    elapsed = reset_after(client)
    assert 0.8 <= elapsed <= 2.0, elapsed
    assert reasons(server) == ["Timer_EntityBody"]
    client.close()


def test_drain_entity_body_timer_resets_when_the_rest_never_comes(server: Server) -> None:
    limits(server, drain_entity_body=1)
    client = RawClient(server.port)
    client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123")
    request = server.receive()
    server.respond(request.request_id, body=b"early")
    assert client.recv_response()[2] == b"early"
    elapsed = reset_after(client)
    assert 0.8 <= elapsed <= 2.0, elapsed
    assert reasons(server) == ["Timer_EntityBody"]
    client.close()


def test_request_queue_timer_resets_a_request_nobody_receives(server: Server) -> None:
    limits(server, request_queue=1)
    client = RawClient(server.port)
    client.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    elapsed = reset_after(client)
    assert 0.8 <= elapsed <= 2.0, elapsed
    assert client.buf == b""
    stats = server.transport.statistics()
    assert stats["queued"] == 0
    assert reasons(server)[0] in ("Timer_AppPool", "Timer_ReqQueue")
    client.close()


def test_request_queue_timer_expires_each_waiting_request_at_its_own_deadline(server: Server) -> None:
    # one RequestQueue timer serves the whole queue: after the first expiry it must re-arm for the next request
    limits(server, request_queue=1)
    first = RawClient(server.port)
    first.send(b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n")
    time.sleep(0.5)
    second = RawClient(server.port)
    second.send(b"GET /second HTTP/1.1\r\nHost: a\r\n\r\n")
    sent_second = time.monotonic()
    assert reset_after(first) <= 1.5
    reset_after(second)
    total = time.monotonic() - sent_second  # the second request's own deadline, not the first one's
    assert 0.8 <= total <= 2.0, total
    assert server.transport.statistics()["queued"] == 0
    assert len(reasons(server, 2)) == 2
    first.close()
    second.close()


def test_a_request_received_in_time_is_not_reset_by_the_queue_timer(server: Server) -> None:
    limits(server, request_queue=1)
    client = RawClient(server.port)
    client.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    time.sleep(0.3)
    request = server.receive()
    time.sleep(1.2)  # past the queue deadline: the request left the queue, so nothing fires for it
    code, _sent = server.respond(request.request_id, body=b"late but fine")
    assert code == OK
    assert client.closed_by_peer(1.0) == "data"
    assert client.buf.startswith(b"HTTP/1.1 200 OK\r\n") and client.buf.endswith(b"late but fine")
    assert client.closed_by_peer(0.3) == "open"
    assert reasons(server, 0) == []
    client.close()


def test_min_send_rate_resets_a_client_that_never_reads(server: Server) -> None:
    limits(server, min_send_rate=1_000_000)
    client = RawClient(server.port)
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    request = server.receive()
    size = 32 * 1024 * 1024
    start = time.monotonic()
    code, _sent = server.respond(request.request_id, body=b"z" * size)
    elapsed = time.monotonic() - start
    assert code == GONE
    assert elapsed <= 4.0, elapsed
    assert reasons(server) == ["Timer_MinBytesPerSecond"]
    assert server.transport.statistics()["connections"] == 0
    client.close()
