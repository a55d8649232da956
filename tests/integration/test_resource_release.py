"""Closed connections are released at once: nothing in the driver (timers included) keeps them alive."""

from __future__ import annotations

import gc
import socket
import time

import pytest
from conftest import Server

from httpsys._engine.http11 import Http11Connection

# daemon mode: it looks for the in-process driver's connection objects (tests/conftest.py)
pytestmark = pytest.mark.embedded_only("inside")


def _live_connections() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is Http11Connection)


def test_connection_close_requests_leave_no_connection_objects_behind(server: Server) -> None:
    before = _live_connections()
    count = 200
    thread = server.serve_in_thread(lambda srv, req: srv.respond(req.request_id, body=b"hi"), count)
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := sock.recv(4096):
                data += chunk
            assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    thread.join(10)
    for _ in range(100):  # the client saw EOF; the driver's connection_lost may run a moment later
        stats = server.transport.statistics()
        if stats["connections"] == 0:
            break
        time.sleep(0.01)
    assert stats["connections"] == 0
    assert stats["requests_in_flight"] == 0
    # The driver thread drops each connection in connection_lost; give it a moment to run.
    for _ in range(50):
        if _live_connections() <= before:
            break
        time.sleep(0.02)
    assert _live_connections() <= before
    # cancelled timer entries hold no connection and are compacted away
    assert all(entry[2].owner is None for entry in server.transport.driver.timers._heap if entry[2].cancelled)
