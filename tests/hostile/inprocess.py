"""An Http11Connection driven in-process: a fake transport, a stub driver and a recording application.

Responsibility: feed bytes into the real HTTP/1.1 adapter exactly as given (no sockets, no event loop, a fake
clock), run a small application that reads every delivered request's body to the end and answers it, and
report what happened — the requests the adapter handed over, the bytes it wrote, whether it closed or reset.
It must not re-implement parsing: all parsing is the adapter's; the stub only stands in for the driver's
routing and queueing (it cooks the URL with the real canonicalizer, as the driver does, and answers a refusal
with the canned response).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from httpsys._core.canned import CannedResponse, RequestRejected, render_canned
from httpsys._core.canonical import cook_url
from httpsys._core.settings import DriverSettings
from httpsys._core.status import Win32Error
from httpsys._core.timers import DeadlineHeap, TimerEntry, TimerKind
from httpsys._engine.http11 import Http11Connection
from httpsys._engine.request import BodyRead, Request

OK = int(Win32Error.NO_ERROR)
EOF = int(Win32Error.ERROR_HANDLE_EOF)
DATE = b"Thu, 01 Jan 2026 00:00:00 GMT"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def app_response(index: int, close: bool) -> bytes:
    """The stub application's answer to the `index`-th delivered request."""
    body = b"r%d" % index
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(body)
    if close:
        head += b"Connection: close\r\n"
    return head + b"\r\n" + body


CANNED_BYTES = {kind: render_canned(kind, DATE, server_header=True) for kind in CannedResponse}


class FakeTransport:
    """The parts of asyncio.Transport the adapter uses, recording writes and the close."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.closing = False
        self.aborted = False
        self.paused = False
        self.writes_after_close = 0
        self.eof_sent = False  # write_eof(): the server half-closed (lingering close)

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 80)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.closing or self.eof_sent:
            self.writes_after_close += 1
            return
        self.written += data

    def writelines(self, segments: Iterable[bytes | bytearray | memoryview]) -> None:
        for segment in segments:
            self.write(segment)

    def is_closing(self) -> bool:
        return self.closing

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof_sent = True

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True
        self.aborted = True

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


@dataclass
class Delivered:
    """One request as the application saw it."""

    request: Request
    index: int  # position among the delivered requests
    body: bytearray = field(default_factory=bytearray)
    outcome: str = "reading"  # "reading", "answered", "failed" (the body read failed: connection gone)


class FakeLoop:
    """call_later on the stub driver's fake clock."""

    def __init__(self, driver: StubDriver) -> None:
        self.driver = driver
        self.scheduled: list[FakeHandle] = []

    def call_later(self, delay: float, callback: Callable[..., None], *args: object) -> FakeHandle:
        handle = FakeHandle(self.driver.now + delay, callback, args)
        self.scheduled.append(handle)
        return handle

    def due(self, until: float) -> FakeHandle | None:
        live = [h for h in self.scheduled if not h.cancelled and h.when <= until]
        return min(live, key=lambda h: h.when) if live else None


class FakeHandle:
    def __init__(self, when: float, callback: Callable[..., None], args: tuple[object, ...]) -> None:
        self.when = when
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class StubDriver:
    """What Http11Connection needs from the driver: clock, timers, dispatch, canned responses, accounting."""

    def __init__(self, settings: DriverSettings | None = None, early_answer: bool = False) -> None:
        self.settings = (settings or DriverSettings()).validated()
        self.now = 1000.0
        self.timers: DeadlineHeap[Http11Connection] = DeadlineHeap()
        self.loop = FakeLoop(self)
        self.early_answer = early_answer  # answer before reading the body (HTTP.sys then drains it)
        self.delivered: list[Delivered] = []
        self.canned: list[CannedResponse] = []
        self.fired: list[TimerKind] = []
        self.lost: list[Request] = []
        self.withdrawn: list[Request] = []
        self.ready: deque[Callable[[], None]] = deque()
        self.live_connections = 0

    # ----- the driver interface ------------------------------------------------------------------------------
    def clock(self) -> float:
        return self.now

    def arm_timer_at(
        self, deadline: float, kind: TimerKind, owner: Http11Connection
    ) -> TimerEntry[Http11Connection]:
        return self.timers.arm(deadline, kind, owner)

    def connection_made(self, conn: Http11Connection) -> bool:
        conn.connection_id = 1
        self.live_connections += 1
        return True

    def connection_lost(self, conn: Http11Connection) -> None:
        self.live_connections -= 1

    def request_lost(self, request: Request) -> None:
        self.lost.append(request)

    def withdraw(self, request: Request) -> None:
        self.withdrawn.append(request)

    def canned_sent(self, conn: Http11Connection, kind: CannedResponse, reason: str | None) -> None:
        self.canned.append(kind)

    def render_canned(self, kind: CannedResponse) -> bytes:
        return CANNED_BYTES[kind]

    def timer_fired(self, conn: Http11Connection, kind: TimerKind) -> None:
        self.fired.append(kind)

    def dispatch(self, request: Request) -> None:
        conn = request.channel
        assert isinstance(conn, Http11Connection)
        try:
            cook_url(
                request.raw_url,
                request.host_header,
                scheme="http",
                local_port=80,
                local_ip="127.0.0.1",
                settings=self.settings.url,
            )
        except RequestRejected as exc:
            conn.write_canned(exc.kind, exc.httperr_reason)
            return
        entry = Delivered(request, len(self.delivered))
        request.delivered = True
        self.delivered.append(entry)
        if self.early_answer:
            self.ready.append(lambda: self._answer(entry))
        else:
            self.ready.append(lambda: self._read(entry))

    # ----- the application ------------------------------------------------------------------------------------
    def _read(self, entry: Delivered) -> None:
        def done(code: int, data: bytes) -> None:
            if code == OK:
                entry.body += data
                self.ready.append(lambda: self._read(entry))
            elif code == EOF:
                self.ready.append(lambda: self._answer(entry))
            else:
                entry.outcome = "failed"

        entry.request.read_body(BodyRead(65536, False, done))

    def _answer(self, entry: Delivered) -> None:
        request = entry.request
        conn = request.channel
        assert isinstance(conn, Http11Connection)
        if conn.closed or request.body_failed:
            entry.outcome = "failed"
            return
        close = not request.keep_alive
        request.response_started = True
        request.response_status = 200
        request.response_close = close
        request.response_done = True
        request.send_pending = True
        entry.outcome = "answered"

        def sent(code: int, nbytes: int) -> None:
            request.send_pending = False
            if code == OK:
                conn.request_finished(request, close)
            else:
                entry.outcome = "failed"

        conn.send([app_response(entry.index, close)], False, False, sent)

    def run_ready(self) -> None:
        """Run the application's queued steps (what the event loop would do between reads)."""
        steps = 0
        while self.ready:
            self.ready.popleft()()
            steps += 1
            assert steps < 1_000_000, "application steps do not converge"

    def fire_timers(self, until: float) -> None:
        """Advance the fake clock to `until`, firing every timer that expires on the way, in order."""
        while True:
            nxt = self.timers.next_deadline()
            handle = self.loop.due(until)
            if handle is not None and (nxt is None or handle.when < nxt):
                self.now = max(self.now, handle.when)
                handle.cancelled = True
                handle.callback(*handle.args)
                self.run_ready()
                continue
            if nxt is None or nxt > until:
                break
            self.now = max(self.now, nxt)
            for entry in self.timers.pop_expired(self.now):
                entry.owner.timer_expired(entry)
            self.run_ready()
        self.now = max(self.now, until)


@dataclass
class AdapterRun:
    """What one run of the adapter produced."""

    driver: StubDriver
    conn: Http11Connection
    transport: FakeTransport
    fed: int  # bytes handed to data_received before the adapter closed or stopped reading

    @property
    def written(self) -> bytes:
        return bytes(self.transport.written)

    @property
    def answered(self) -> list[tuple[bytes, bytes, bytes]]:
        """(method, raw URL, body) of each request the application read completely and answered."""
        return [
            (d.request.method, d.request.raw_url, bytes(d.body))
            for d in self.driver.delivered
            if d.outcome == "answered"
        ]

    @property
    def canned(self) -> list[CannedResponse]:
        return self.driver.canned

    def settle(self, seconds: float) -> None:
        """Let `seconds` of fake time pass, firing timers; a connection they end is then lost."""
        self.driver.fire_timers(self.driver.now + seconds)
        finish_close(self.conn, self.transport, self.driver)


def run_adapter(
    pieces: Iterable[bytes],
    settings: DriverSettings | None = None,
    early_answer: bool = False,
    client_eof: bool = False,
    settle: float | None = None,
) -> AdapterRun:
    """Feed `pieces` one data_received call each, letting the application run between pieces.

    With `client_eof` the client half-closes after the last piece; with `settle` the fake clock then advances by
    that many seconds, firing timers. A piece arriving while reading is paused waits, as the kernel would hold
    it, and is fed once reading resumes (or never, when it does not).
    """
    driver = StubDriver(settings, early_answer)
    conn = Http11Connection(driver, 80, "http")  # type: ignore[arg-type]
    transport = FakeTransport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    fed = 0
    backlog = deque(pieces)
    while backlog and not transport.closing:
        if transport.paused:
            break
        piece = backlog.popleft()
        conn.data_received(piece)
        fed += len(piece)
        driver.run_ready()
        finish_close(conn, transport, driver)
    if client_eof and not transport.closing and not transport.paused and not conn.eof_received():
        transport.close()  # asyncio closes the transport when eof_received() does not ask to keep it
    run = AdapterRun(driver, conn, transport, fed)
    if settle is not None:
        run.settle(settle)
    else:
        finish_close(conn, transport, driver)
    return run


def finish_close(conn: Http11Connection, transport: FakeTransport, driver: StubDriver) -> None:
    """What a well-behaved client and the event loop do once the server ends the connection: after a FIN the
    client reads everything and closes its side too; a closed transport reports connection_lost."""
    if transport.eof_sent and not transport.closing and not conn.closed and not conn.eof_received():
        transport.close()
    if transport.closing and not conn.closed:
        conn.connection_lost(None)
        driver.run_ready()


def byte_pieces(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]
