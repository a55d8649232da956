"""Integration fixtures: a real driver on loopback, driven through the transport, and raw-socket clients.

In HTTPSYS_TEST_MODE=daemon (tests/conftest.py) the transport is a RemoteTransport to the session's daemon; a test
that asks for its own DriverSettings skips there (the daemon's settings apply, docs/daemon.md).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ports import free_port

from httpsys._core.records import DataChunk, MemoryChunk, RequestSnapshot
from httpsys._core.response import ResponseSpec
from httpsys._core.settings import DriverSettings
from httpsys._core.status import Win32Error
from httpsys._transport.embedded import EmbeddedTransport
from httpsys._transport.interface import DriverTransport
from httpsys._transport.remote import RemoteTransport

OK = int(Win32Error.NO_ERROR)
DAEMON_MODE = os.environ.get("HTTPSYS_TEST_MODE") == "daemon"


def new_transport(settings: DriverSettings | None = None) -> DriverTransport:
    """An embedded driver with `settings`, or in daemon mode a connection to the session's daemon (a test with
    its own settings skips there: the daemon's settings apply)."""
    if not DAEMON_MODE:
        return EmbeddedTransport(settings=settings)
    if settings is not None and settings != DriverSettings():
        pytest.skip(
            "daemon mode: driver settings are the daemon's, not the test's DriverSettings "
            "(docs/daemon.md: What differs from embedded mode, driver settings)"
        )
    return DaemonClient(os.environ["HTTPSYS_DAEMON_SOCKET"])


# statistics() entries that are levels (what is there now), not counts since the driver started
GAUGES = frozenset(
    {"connections", "requests_in_flight", "listeners", "queued", "cache_entries", "cache_bytes"}
    | {"cache_remembered", "log_backlog"}
)


def counted_since(baseline: dict[str, int], now: dict[str, int]) -> dict[str, int]:
    """statistics() `now` less the counts of `baseline` (levels as they are)."""
    return {k: v if k in GAUGES else v - baseline.get(k, 0) for k, v in now.items()}


class DaemonClient(RemoteTransport):
    """A connection to the session's daemon whose statistics() counts from when it connected: the daemon's
    counters are shared by every test of the session (docs/daemon.md), and each test asserts what its own
    requests counted. Levels (GAUGES) are the daemon's as they are."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._baseline = super().statistics()

    def statistics(self) -> dict[str, int]:
        return counted_since(self._baseline, super().statistics())


def httperr_events(server: Server, at_least: int = 0, timeout: float = 3.0) -> list[tuple[str, int]]:
    """(reason, status) of each HTTPERR event on the server's port, oldest first: the embedded driver's in-memory
    log, or in daemon mode the lines the daemon wrote to its HTTPERR files (written by its log thread, so this
    waits up to `timeout` for `at_least` of them; with 0 it reads what is written now, so a line still on its way
    is not seen — timing tests cannot afford a settling wait). Status 0 where the line has none."""
    if not DAEMON_MODE:
        return [(r[1], r[5]) for r in server.transport.driver.error_log]
    deadline = time.monotonic() + timeout
    while True:
        events = _daemon_httperr_events(server.port)[server.httperr_before :]
        if len(events) >= at_least or time.monotonic() > deadline:
            return events
        time.sleep(0.02)


def _daemon_httperr_events(port: int) -> list[tuple[str, int]]:
    """(reason, status) of every line on `port` in the session daemon's HTTPERR files so far, oldest first."""
    directory = Path(os.environ["HTTPSYS_TEST_DAEMON_ERROR_LOG_DIR"])
    events: list[tuple[str, int]] = []
    for path in sorted(directory.glob("httperr*.log")):
        for line in path.read_text(errors="replace").splitlines():
            fields = line.split(" ")
            # date time c-ip c-port s-ip s-port cs-version cs-method cs-uri sc-status s-siteid s-reason ...
            if line.startswith("#") or len(fields) < 13 or fields[5] != str(port):
                continue
            events.append((fields[11], int(fields[9]) if fields[9].isdigit() else 0))
    return events


class Waiter:
    """Turns a transport `done` callback into a blocking result."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.result: tuple[object, ...] = ()

    def __call__(self, *args: object) -> None:
        self.result = args
        self.event.set()

    def wait(self, timeout: float = 10.0) -> tuple[object, ...]:
        assert self.event.wait(timeout), "driver did not complete the operation"
        return self.result


@dataclass
class Server:
    transport: EmbeddedTransport  # a RemoteTransport in daemon mode (same interface)
    port: int
    session: int
    group: int
    queue: int
    url: str
    seen: list[RequestSnapshot] = field(default_factory=list)
    # daemon mode: HTTPERR lines on this port number written before this server existed (an earlier test of the
    # session that was given the same free port) are not this test's
    httperr_before: int = 0

    # ----- blocking helpers over the transport ---------------------------------------------------------------
    def receive(self, flags: int = 0, timeout: float = 10.0) -> RequestSnapshot:
        w = Waiter()
        self.transport.receive_request(self.queue, 0, flags, None, True, 0, w)
        code, snap, _n = w.wait(timeout)
        assert code == OK, code
        assert isinstance(snap, RequestSnapshot)
        self.seen.append(snap)
        return snap

    def read_body(self, request_id: int, size: int = 65536, fill: bool = False) -> tuple[int, bytes]:
        w = Waiter()
        self.transport.receive_body(self.queue, request_id, size, fill, 0, w)
        code, data = w.wait()
        assert isinstance(code, int) and isinstance(data, bytes)
        return code, data

    def read_all(self, request_id: int) -> bytes:
        out = bytearray()
        while True:
            code, data = self.read_body(request_id)
            if code == int(Win32Error.ERROR_HANDLE_EOF):
                return bytes(out)
            assert code == OK, code
            out += data

    def respond(
        self,
        request_id: int,
        status: int = 200,
        body: bytes = b"",
        headers: dict[int, list[bytes]] | None = None,
        unknown: list[tuple[bytes, bytes]] | None = None,
        flags: int = 0,
        chunks: list[DataChunk] | None = None,
        reason: bytes = b"OK",
    ) -> tuple[int, int]:
        spec = ResponseSpec(status=status, reason=reason, known=headers or {}, unknown=unknown or [])
        w = Waiter()
        self.transport.send_response(
            self.queue,
            request_id,
            flags,
            spec,
            chunks if chunks is not None else ([MemoryChunk(body)] if body else []),
            None,
            None,
            w,
        )
        code, n = w.wait()
        assert isinstance(code, int) and isinstance(n, int)
        return code, n

    def send_body(self, request_id: int, data: bytes, flags: int = 0) -> tuple[int, int]:
        w = Waiter()
        self.transport.send_body(self.queue, request_id, flags, [MemoryChunk(data)] if data else [], None, w)
        code, n = w.wait()
        assert isinstance(code, int) and isinstance(n, int)
        return code, n

    def serve_in_thread(
        self, handler: Callable[[Server, RequestSnapshot], None], count: int
    ) -> threading.Thread:
        def run() -> None:
            for _ in range(count):
                handler(self, self.receive(timeout=20))

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t


def make_server(settings: DriverSettings | None = None, path: str = "/") -> tuple[EmbeddedTransport, Server]:
    transport: Any = new_transport(settings)
    port = free_port()
    code, session = transport.create_server_session((2, 0))
    assert code == OK
    code, group = transport.create_url_group(session)
    assert code == OK
    code, queue = transport.create_request_queue(None, 0, False)
    assert code == OK
    assert transport.set_group_property(group, 7, queue) == OK
    url = f"http://+:{port}{path}"
    for _ in range(10):  # another process may take the port between the probe and the registration
        code = transport.add_url(group, url, 42)
        if code != int(Win32Error.ERROR_SHARING_VIOLATION):
            break
        port = free_port()
        url = f"http://+:{port}{path}"
    assert code == OK
    server = Server(transport, port, session, group, queue, url)
    if DAEMON_MODE:
        server.httperr_before = len(_daemon_httperr_events(port))
    return transport, server


@pytest.fixture
def server() -> Iterator[Server]:
    transport, srv = make_server()
    try:
        yield srv
    finally:
        transport.close()


@pytest.fixture
def make() -> Iterator[Callable[..., Server]]:
    made: list[EmbeddedTransport] = []

    def factory(settings: DriverSettings | None = None, path: str = "/") -> Server:
        transport, srv = make_server(settings, path)
        made.append(transport)
        return srv

    yield factory
    for t in made:
        t.close()


class RawClient:
    """A plain TCP client that sends exact bytes and reads exact bytes."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv_until(self, marker: bytes, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        idx = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:idx], self.buf[idx:]
        return out

    def recv_exact(self, n: int, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_response(self, timeout: float = 5.0) -> tuple[bytes, dict[bytes, bytes], bytes]:
        """One response with a Content-Length body: (status line, headers (lower-case names), body)."""
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
        """Everything until the server closes (EOF)."""
        deadline = time.monotonic() + timeout
        while True:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            self.buf += chunk
        out, self.buf = self.buf, b""
        return out

    def closed_by_peer(self, timeout: float = 5.0) -> str:
        """'eof', 'reset' or 'open' after waiting for the server to close the connection."""
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


@pytest.fixture
def client_factory() -> Iterator[Callable[[int], RawClient]]:
    clients: list[RawClient] = []

    def factory(port: int) -> RawClient:
        c = RawClient(port)
        clients.append(c)
        return c

    yield factory
    for c in clients:
        c.close()
