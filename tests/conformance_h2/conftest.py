"""The HTTP/2 conformance harness: h2spec's published case list as pytest cases (h2spec itself cannot be
installed on these machines). A driver with cleartext HTTP/2 and an echo application on loopback; a client that
writes frames byte by byte as the case says (no library checks what it sends) and reads what the server does.

Verdicts follow h2spec's: a connection error is a GOAWAY with one of the expected codes (a close of the connection
is accepted, as h2spec does); a stream error is an RST_STREAM with one of the codes, or a connection error.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator

import hpack
import pytest

from hostile.loopback import LoopbackServer, echo_handler, start_server
from httpsys._core.settings import DriverSettings

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = (
    range(10)
)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR, SETTINGS_TIMEOUT = 0x0, 0x1, 0x2, 0x3, 0x4
STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL, COMPRESSION_ERROR = 0x5, 0x6, 0x7, 0x8, 0x9


def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """One frame exactly as given (RFC 9113 §4.1)."""
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream_id) + payload


def settings(*pairs: tuple[int, int], ack: bool = False) -> bytes:
    return frame(SETTINGS, ACK if ack else 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


class Frame:
    __slots__ = ("flags", "kind", "payload", "stream_id")

    def __init__(self, kind: int, flags: int, stream_id: int, payload: bytes) -> None:
        self.kind = kind
        self.flags = flags
        self.stream_id = stream_id
        self.payload = payload

    @property
    def error_code(self) -> int:
        if self.kind == GOAWAY:
            return int(struct.unpack(">I", self.payload[4:8])[0])
        return int(struct.unpack(">I", self.payload[:4])[0])


class Conn:
    """One connection after the handshake (preface, SETTINGS both ways, ACKs)."""

    def __init__(self, port: int, handshake: bool = True) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.encoder = hpack.Encoder()
        self.frames: list[Frame] = []
        self.buf = b""
        self.closed = False
        self.server_settings: dict[int, int] = {}
        if handshake:
            self.send(PREFACE + settings())
            assert self.wait_for(lambda f: f.kind == SETTINGS and not f.flags & ACK), "no server SETTINGS"
            self.send(settings(ack=True))
            self.wait_for(lambda f: f.kind == SETTINGS and bool(f.flags & ACK))

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True

    def block(
        self, path: bytes = b"/", extra: list[tuple[bytes, bytes]] | None = None, method: bytes = b"GET"
    ) -> bytes:
        fields = [
            (b":method", method),
            (b":scheme", b"http"),
            (b":path", path),
            (b":authority", b"localhost"),
        ]
        return bytes(self.encoder.encode(fields + (extra or [])))

    def read(self, timeout: float = 0.5) -> list[Frame]:
        new: list[Frame] = []
        if self.closed:
            return new
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 20)
        except TimeoutError:
            return new
        except OSError:
            self.closed = True
            return new
        if not data:
            self.closed = True
            return new
        self.buf += data
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + length:
                break
            kind, flags = self.buf[3], self.buf[4]
            stream_id = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
            got = Frame(kind, flags, stream_id, self.buf[9 : 9 + length])
            self.buf = self.buf[9 + length :]
            if got.kind == SETTINGS and not got.flags & ACK:
                for i in range(0, len(got.payload) - 5, 6):
                    key, value = struct.unpack(">HI", got.payload[i : i + 6])
                    self.server_settings[key] = value
            new.append(got)
        self.frames.extend(new)
        return new

    def wait_for(self, predicate, timeout: float = 3.0) -> Frame | None:  # type: ignore[no-untyped-def]
        for got in self.frames:
            if predicate(got):
                return got
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.closed:
            for got in self.read(0.1):
                if predicate(got):
                    return got
        return None

    def connection_error(self, *codes: int) -> bool:
        """GOAWAY with one of `codes` (or the connection closed)."""
        goaway = self.wait_for(lambda f: f.kind == GOAWAY)
        if goaway is not None:
            return goaway.error_code in codes
        return self.closed or self.wait_closed()

    def stream_error(self, stream_id: int, *codes: int) -> bool:
        """RST_STREAM on `stream_id` with one of `codes`, or a connection error with one of them."""
        got = self.wait_for(lambda f: (f.kind == RST_STREAM and f.stream_id == stream_id) or f.kind == GOAWAY)
        if got is not None:
            return got.error_code in codes
        return self.closed

    def wait_closed(self, timeout: float = 3.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.closed:
            self.read(0.1)
        return self.closed

    def response(self, stream_id: int) -> Frame | None:
        """The HEADERS frame answering `stream_id`."""
        return self.wait_for(lambda f: f.kind == HEADERS and f.stream_id == stream_id)

    def alive(self) -> bool:
        """The connection still works: a PING is answered."""
        self.send(frame(PING, 0, 0, b"alive!!!"))
        return (
            self.wait_for(lambda f: f.kind == PING and f.flags & ACK and f.payload == b"alive!!!") is not None
        )

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    srv = start_server(
        DriverSettings(http2_cleartext=True, header_wait_timeout=5, idle_connection_timeout=10),
        handler=echo_handler,
        threads=4,
    )
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture
def conn(server: LoopbackServer) -> Iterator[Conn]:
    c = Conn(server.port)
    try:
        yield c
    finally:
        c.close()
