"""A strict HTTP/1.1 client for byte-exact wire checks: a raw loopback socket whose every byte goes through h11.

Responsibility: send a request (h11 serializes it), read the response back through `h11.Connection(h11.CLIENT)`
and hand the test both the parsed events (status, header lines with their original case, body, trailers) and the
exact bytes that arrived. It must not be lenient: anything h11 refuses (bad framing, a malformed head, a body longer
or shorter than announced) raises and fails the test; it must not reach into the server.
"""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass, field

import h11

DATE_LINE = re.compile(
    rb"Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-3][0-9] "
    rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-2][0-9]:[0-5][0-9]:[0-6][0-9] GMT\r\n"
)


@dataclass
class Reply:
    """One response as h11 parsed it, plus the bytes that carried it."""

    status: int
    reason: bytes
    http_version: bytes
    headers: list[tuple[bytes, bytes]]  # original name case, in wire order
    body: bytes = b""
    trailers: list[tuple[bytes, bytes]] = field(default_factory=list)
    raw: bytes = b""  # every byte received while this reply was read (head, body framing, trailers)
    closed: bool = False  # the server closed the connection to end (or right after) this response
    informational: list[int] = field(default_factory=list)  # 1xx seen before the final status (100 Continue)

    def header(self, name: bytes) -> bytes | None:
        values = self.values(name)
        return values[0] if values else None

    def values(self, name: bytes) -> list[bytes]:
        lname = name.lower()
        return [v for n, v in self.headers if n.lower() == lname]

    def names(self) -> list[bytes]:
        return [n for n, _ in self.headers]

    @property
    def head(self) -> bytes:
        """The head bytes exactly as received (status line through the empty line)."""
        end = self.raw.index(b"\r\n\r\n") + 4
        return self.raw[:end]


class StrictClient:
    """Exact requests out, h11-validated responses in; keep-alive aware."""

    def __init__(self, port: int, timeout: float = 5.0, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.port = port
        self.conn = h11.Connection(h11.CLIENT)
        self.pending_raw = bytearray()

    # ----- requests -----------------------------------------------------------------------------------------
    def request(
        self,
        method: bytes = b"GET",
        target: bytes = b"/",
        headers: list[tuple[bytes, bytes]] | None = None,
        body: bytes = b"",
    ) -> None:
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
        fields = [(b"Host", b"localhost:%d" % self.port), *(headers or [])]
        if body or method in (b"POST", b"PUT", b"PATCH"):
            fields.append((b"Content-Length", b"%d" % len(body)))  # HTTP.sys answers 411 without framing
        data = self.conn.send(h11.Request(method=method, target=target, headers=fields)) or b""
        if body:
            data += self.conn.send(h11.Data(data=body)) or b""
        data += self.conn.send(h11.EndOfMessage()) or b""
        self.sock.sendall(data)

    def get(self, target: bytes = b"/", headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.request(b"GET", target, headers)

    # ----- responses ----------------------------------------------------------------------------------------
    def _more(self, deadline: float) -> bytes:
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = self.sock.recv(1 << 20)
        except ConnectionResetError:
            data = b""
        self.conn.receive_data(data)
        return data

    def reply(self, timeout: float = 5.0) -> Reply:
        """Read one whole response (a 101 ends the exchange: what follows it is not HTTP)."""
        deadline = time.monotonic() + timeout
        raw = bytearray(self.pending_raw)
        self.pending_raw.clear()
        reply: Reply | None = None
        informational: list[int] = []
        body = bytearray()
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                if time.monotonic() > deadline:
                    raise TimeoutError(bytes(raw))
                raw += self._more(deadline)
                continue
            if isinstance(event, h11.InformationalResponse):
                if event.status_code == 101:
                    return Reply(
                        101,
                        bytes(event.reason),
                        bytes(event.http_version),
                        list(event.headers.raw_items()),
                        raw=bytes(raw),
                        informational=informational,
                    )
                informational.append(event.status_code)
            elif isinstance(event, h11.Response):
                reply = Reply(
                    event.status_code,
                    bytes(event.reason),
                    bytes(event.http_version),
                    list(event.headers.raw_items()),
                    informational=informational,
                )
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert reply is not None
                reply.body = bytes(body)
                reply.trailers = list(event.headers.raw_items())
                reply.raw = bytes(raw)
                reply.closed = self.conn.their_state is h11.CLOSED or self.conn.their_state is h11.MUST_CLOSE
                return reply
            elif isinstance(event, h11.ConnectionClosed):
                raise EOFError(bytes(raw))

    def trailing(self) -> bytes:
        """After a 101: the bytes that followed the head in the same reads (the start of the new protocol)."""
        return bytes(self.conn.trailing_data[0])

    def server_closed(self, timeout: float = 5.0) -> bool:
        """True once the server closed the connection (EOF or reset) with nothing more sent."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
        if data:
            self.pending_raw += data
            return False
        return True

    def close(self) -> None:
        self.sock.close()
