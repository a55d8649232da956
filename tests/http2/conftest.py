"""Fixtures of the HTTP/2 suites: a driver on loopback with cleartext HTTP/2 enabled (prior knowledge), whose
requests the test itself receives and answers through the transport (the calls HttpReceiveHttpRequest,
HttpSendHttpResponse and HttpSendResponseEntityBody make)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hostile.loopback import LoopbackServer, Waiter, start_server
from httpsys._core.records import DataChunk, MemoryChunk, RequestSnapshot
from httpsys._core.response import ResponseSpec
from httpsys._core.settings import DriverSettings


class Api:
    """The blocking calls the tests make on the driver, by RequestId."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server

    def receive(self, timeout: float = 5.0) -> RequestSnapshot:
        snapshot = self.server.receive(timeout)
        assert isinstance(snapshot, RequestSnapshot), snapshot
        return snapshot

    def respond(
        self,
        request_id: int,
        status: int = 200,
        chunks: list[DataChunk] | None = None,
        flags: int = 0,
        unknown: list[tuple[bytes, bytes]] | None = None,
        known: dict[int, list[bytes]] | None = None,
    ) -> int:
        result = self.start_response(request_id, status, chunks, flags, unknown, known).wait(10.0)
        assert result is not None
        return int(result[0])  # type: ignore[call-overload]

    def start_response(
        self,
        request_id: int,
        status: int = 200,
        chunks: list[DataChunk] | None = None,
        flags: int = 0,
        unknown: list[tuple[bytes, bytes]] | None = None,
        known: dict[int, list[bytes]] | None = None,
    ) -> Waiter:
        """HttpSendHttpResponse without waiting for it (a send larger than the client's window completes only
        as the client reads)."""
        spec = ResponseSpec(status=status, reason=b"OK", known=known or {}, unknown=unknown or [])
        w = Waiter()
        self.server.transport.send_response(
            self.server.queue, request_id, flags, spec, chunks or [], None, None, w
        )
        return w

    def send_body(self, request_id: int, chunks: list[DataChunk], flags: int = 0) -> int:
        w = Waiter()
        self.server.transport.send_body(self.server.queue, request_id, flags, chunks, None, w)
        result = w.wait(10.0)
        assert result is not None
        return int(result[0])  # type: ignore[call-overload]

    def read(self, request_id: int, size: int = 65536, timeout: float = 5.0) -> tuple[int, bytes]:
        w = Waiter()
        self.server.transport.receive_body(self.server.queue, request_id, size, False, 0, w)
        result = w.wait(timeout)
        assert result is not None
        return int(result[0]), bytes(result[1])  # type: ignore[call-overload, arg-type]


def memory(data: bytes) -> list[DataChunk]:
    return [MemoryChunk(data)]


@pytest.fixture
def h2_server() -> Iterator[LoopbackServer]:
    """A driver with `http2_cleartext` on, no application threads (the test answers)."""
    server = start_server(
        DriverSettings(http2_cleartext=True, header_wait_timeout=5, idle_connection_timeout=10), handler=None
    )
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def api(h2_server: LoopbackServer) -> Api:
    return Api(h2_server)
