"""A driver on loopback with a recording application, and clients that send raw bytes whole or byte by byte.

Responsibility: start an embedded driver with short timers and one request queue on `http://+:PORT/`, serve it
with application threads that read each request's body to the end, record what they saw (keyed by the client's
port) and answer; and give tests blocking clients that report exactly what came back (responses, FIN, reset).
It must not judge outcomes: the tests compare what it reports with the corpus and their own expectations.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hostile.corpus import RANGE_ENTITY
from httpsys._core.records import MemoryChunk, RequestSnapshot
from httpsys._core.response import ResponseSpec
from httpsys._core.settings import DriverSettings
from httpsys._core.status import Win32Error
from httpsys._core.timers import TimeoutLimits
from httpsys._transport.embedded import EmbeddedTransport
from portpool import free_port

OK = int(Win32Error.NO_ERROR)
EOF = int(Win32Error.ERROR_HANDLE_EOF)
PROP_TIMEOUTS = 3
PROP_BINDING = 7
FLAG_PROCESS_RANGES = 0x20


class Waiter:
    """A transport completion turned into a blocking result."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.result: tuple[object, ...] = ()

    def __call__(self, *args: object) -> None:
        self.result = args
        self.event.set()

    def wait(self, timeout: float) -> tuple[object, ...] | None:
        return self.result if self.event.wait(timeout) else None


@dataclass(frozen=True)
class Record:
    """One request as an application thread saw it."""

    peer: tuple[str, int]  # the client's address and port
    method: bytes
    target: bytes
    body: bytes
    complete: bool  # the body was read to its end (False: the read failed, the connection went away)


@dataclass
class LoopbackServer:
    transport: EmbeddedTransport
    port: int
    session: int
    group: int
    queue: int
    records: list[Record] = field(default_factory=list)
    exceptions: list[dict[str, object]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    # ----- blocking calls over the transport --------------------------------------------------------------
    def receive(self, timeout: float = 0.5) -> RequestSnapshot | int | None:
        """A request, a Win32 error code, or None when nothing arrived in time (the receive is cancelled)."""
        w = Waiter()
        token = id(w)
        self.transport.receive_request(self.queue, 0, 0, None, True, token, w)
        result = w.wait(timeout)
        if result is None:
            self.transport.cancel_io(self.queue, token)
            result = w.wait(5.0)
            if result is None or result[0] != OK:
                return None
        code, snapshot, _size = result
        if code != OK:
            return int(code)  # type: ignore[call-overload]
        assert isinstance(snapshot, RequestSnapshot)
        return snapshot

    def read_body(self, request_id: int, timeout: float = 30.0) -> tuple[bytes, bool]:
        """The whole body and whether it ended normally."""
        out = bytearray()
        while True:
            w = Waiter()
            self.transport.receive_body(self.queue, request_id, 65536, False, 0, w)
            result = w.wait(timeout)
            if result is None:
                return bytes(out), False
            code, data = result
            if code == EOF:
                return bytes(out), True
            if code != OK:
                return bytes(out), False
            assert isinstance(data, bytes)
            out += data

    def respond(self, request_id: int, status: int = 200, body: bytes = b"", flags: int = 0) -> int:
        spec = ResponseSpec(status=status, reason=b"OK", known={}, unknown=[])
        w = Waiter()
        chunks = [MemoryChunk(body)] if body else []
        self.transport.send_response(self.queue, request_id, flags, spec, chunks, None, None, w)
        result = w.wait(30.0)
        return int(result[0]) if result is not None else -1  # type: ignore[call-overload]

    def record(self, snapshot: RequestSnapshot, body: bytes, complete: bool) -> None:
        entry = Record(tuple(snapshot.remote_addr), snapshot.method, snapshot.raw_url, body, complete)
        with self.lock:
            self.records.append(entry)

    def records_for(self, peer: tuple[str, int]) -> list[Record]:
        with self.lock:
            return [r for r in self.records if r.peer == peer]

    def errors_for(self, peer: tuple[str, int]) -> list[str]:
        """HTTPERR reasons logged for the connection from `peer`."""
        return [entry[1] for entry in list(self.transport.driver.error_log) if tuple(entry[2]) == peer]

    # ----- application threads ------------------------------------------------------------------------------
    def serve(self, handler: Callable[[LoopbackServer, RequestSnapshot], None], threads: int = 8) -> None:
        def run() -> None:
            while not self.stopping.is_set():
                snapshot = self.receive(0.25)
                if isinstance(snapshot, RequestSnapshot):
                    handler(self, snapshot)
                elif isinstance(snapshot, int):
                    time.sleep(0.05)  # the handle is shut down or closed: keep polling until told to stop

        for _ in range(threads):
            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop_serving(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=5.0)
        self.threads.clear()
        self.stopping.clear()

    def close(self) -> None:
        self.stop_serving()
        self.transport.close()

    def wait_idle(self, timeout: float = 5.0) -> dict[str, int]:
        """Statistics once no connection, request or queued request is left (or the last ones seen)."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.transport.statistics()
            if not (stats["connections"] or stats["requests_in_flight"] or stats["queued"]):
                return stats
            if time.monotonic() > deadline:
                return stats
            time.sleep(0.05)


def echo_handler(server: LoopbackServer, snapshot: RequestSnapshot) -> None:
    """Read the body, record, answer `METHOD target length` (or the range entity with PROCESS_RANGES)."""
    body, complete = server.read_body(snapshot.request_id)
    server.record(snapshot, body, complete)
    if not complete:
        return
    if snapshot.raw_url.startswith(b"/range"):
        server.respond(snapshot.request_id, body=RANGE_ENTITY, flags=FLAG_PROCESS_RANGES)
    elif snapshot.method == b"HEAD":
        server.respond(snapshot.request_id)
    else:
        server.respond(snapshot.request_id, body=b"%s %s %d" % (snapshot.method, snapshot.raw_url, len(body)))


def start_server(
    settings: DriverSettings | None = None,
    timeouts: TimeoutLimits | None = None,
    handler: Callable[[LoopbackServer, RequestSnapshot], None] | None = echo_handler,
    threads: int = 8,
) -> LoopbackServer:
    """A driver with `settings` (short HeaderWait/IdleConnection by default) serving `http://+:PORT/`."""
    settings = settings or DriverSettings(header_wait_timeout=1, idle_connection_timeout=5)
    transport = EmbeddedTransport(settings=settings)
    code, session = transport.create_server_session((2, 0))
    assert code == OK
    code, group = transport.create_url_group(session)
    assert code == OK
    code, queue = transport.create_request_queue(None, 0, False)
    assert code == OK
    assert transport.set_group_property(group, PROP_BINDING, queue) == OK
    limits = timeouts or TimeoutLimits(entity_body=1, drain_entity_body=1, header_wait=1, idle_connection=5)
    assert transport.set_group_property(group, PROP_TIMEOUTS, limits) == OK
    for _attempt in range(50):  # a port free a moment ago may be taken by now
        port = free_port()
        code = transport.add_url(group, f"http://+:{port}/", 1)
        if code != int(Win32Error.ERROR_SHARING_VIOLATION):
            break
    assert code == OK
    server = LoopbackServer(transport, port, session, group, queue)
    transport.loop.call_soon_threadsafe(
        transport.loop.set_exception_handler, lambda _loop, context: server.exceptions.append(context)
    )
    if handler is not None:
        server.serve(handler, threads)
    return server


# ================================================================================================ clients
@dataclass
class Response:
    status: int
    headers: dict[bytes, bytes]
    body: bytes


@dataclass
class WireResult:
    """What one client connection observed."""

    peer: tuple[str, int]  # the client's (address, port): unique per connection, see RawClient
    responses: list[Response]
    interim: int  # 1xx responses seen
    end: str  # "eof", "reset", "open" (still open when we stopped waiting)
    send_failed: bool
    follow_up: Response | None = None  # the answer to the follow-up request, when one was sent
    leftover: bytes = b""


def parse_responses(buf: bytes) -> tuple[list[Response], int, bytes]:
    """Complete responses at the start of `buf` (Content-Length framed), 1xx counted apart, and the rest."""
    responses: list[Response] = []
    interim = 0
    while True:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return responses, interim, buf
        lines = buf[:end].split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        status = int(parts[1])
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200:
            interim += 1
            buf = buf[end + 4 :]
            continue
        length = int(headers.get(b"content-length", b"0"))
        if len(buf) < end + 4 + length:
            return responses, interim, buf
        responses.append(Response(status, headers, buf[end + 4 : end + 4 + length]))
        buf = buf[end + 4 + length :]


_SOURCES = itertools.count(1)


def source_address() -> str:
    """A loopback address of its own for each client (127.0.0.0/8 is all loopback): with the port the kernel
    picks, a peer that no earlier connection had, so records and HTTPERR lines map to one connection."""
    n = next(_SOURCES) % (1 << 22)
    return f"127.{64 + (n >> 16)}.{(n >> 8) & 0xFF}.{n & 0xFF}"


class RawClient:
    """One TCP connection with TCP_NODELAY from its own loopback address; sends exact bytes, whole or one
    byte per send."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(
            ("127.0.0.1", port), timeout=timeout, source_address=(source_address(), 0)
        )
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        name = self.sock.getsockname()
        self.peer = (str(name[0]), int(name[1]))
        self.buf = b""

    def send(self, data: bytes, split: bool = False, split_limit: int = 4096, gap: float = 0.0001) -> bool:
        """Send `data`; split: one byte per send (the first `split_limit` bytes), the rest in one send.
        False when the server closed the connection before everything was sent."""
        try:
            if not split:
                self.sock.sendall(data)
                return True
            for i in range(min(len(data), split_limit)):
                self.sock.send(data[i : i + 1])
                if gap:
                    time.sleep(gap)
            if len(data) > split_limit:
                self.sock.sendall(data[split_limit:])
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def read(self, until_responses: int, timeout: float) -> tuple[list[Response], int, str]:
        """Read until `until_responses` final responses arrived, or the server closed, or `timeout` passed."""
        deadline = time.monotonic() + timeout
        responses: list[Response] = []
        interim = 0
        while True:
            got, more_interim, self.buf = parse_responses(self.buf)
            responses += got
            interim += more_interim
            if until_responses and len(responses) >= until_responses:
                return responses, interim, "open"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return responses, interim, "open"
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return responses, interim, "reset"
            except TimeoutError:
                return responses, interim, "open"
            if not chunk:
                got, more_interim, self.buf = parse_responses(self.buf)
                return responses + got, interim + more_interim, "eof"
            self.buf += chunk

    def end_state(self, timeout: float) -> str:
        """'eof', 'reset', 'open' (nothing within `timeout`) or 'data' (unexpected bytes arrived)."""
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
        with contextlib.suppress(OSError):
            self.sock.close()


def exchange(
    port: int,
    raw: bytes,
    responses: int,
    split: bool = False,
    follow_up: bool = False,
    timeout: float = 4.0,
) -> WireResult:
    """Send `raw`, collect `responses` final responses and how the connection ends; with `follow_up`, send a
    GET /follow on the same connection afterwards and collect its answer."""
    client = RawClient(port)
    try:
        # On the wire the first 1 KiB goes one byte per send (the in-process runs split every byte of every case):
        # a longer byte-by-byte head would race the 1 s HeaderWait on a loaded machine.
        sent = client.send(raw, split=split, split_limit=1024)
        got, interim, end = client.read(responses, timeout)
        follow: Response | None = None
        if end == "open" and follow_up:
            if client.send(b"GET /follow HTTP/1.1\r\nHost: a\r\n\r\n"):
                more, _, end = client.read(1, timeout)
                follow = more[0] if more else None
                got_end = client.end_state(0.05) if end == "open" else end
                end = got_end if got_end != "data" else "open"
        elif end == "open":
            end = client.end_state(timeout)
        return WireResult(client.peer, got, interim, end, not sent, follow, client.buf)
    finally:
        client.close()


def probe(port: int, path: bytes = b"/probe", timeout: float = 5.0) -> tuple[int, float]:
    """One GET on a fresh connection: (status, seconds taken); status 0 when it failed or timed out."""
    start = time.monotonic()
    try:
        client = RawClient(port, timeout=timeout)
    except OSError:
        return 0, time.monotonic() - start
    try:
        if not client.send(b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n\r\n"):
            return 0, time.monotonic() - start
        got, _, _ = client.read(1, timeout)
        return (got[0].status if got else 0), time.monotonic() - start
    except OSError:
        return 0, time.monotonic() - start
    finally:
        client.close()
