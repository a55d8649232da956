"""The HTTP/2 attacks against a live driver, on the wire (issue 18 item 4), while probes are served.

Each attack runs on its own connection made of raw frames (what a correct client never sends): too many concurrent
streams, a header list past the bound, rapid reset (CVE-2023-44487), a CONTINUATION flood (CVE-2024-27316), an
HPACK bomb, SETTINGS / PING / empty-DATA floods, a zero-window slow read, stream-id exhaustion. Each must end in
GOAWAY or a close of that connection (with an HTTPERR reason where the driver ends it), leave no stream or request
behind, and never stop other clients: an HTTP/1.1 probe and an HTTP/2 probe (fresh connections every 50 ms) run
throughout; their p99 under attack is printed beside the baseline and must stay under 1 s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from hostile.attackers import Prober, latency_summary
from hostile.loopback import LoopbackServer, echo_handler, start_server
from http2.client import H2Client, RawH2
from httpsys._core.settings import DriverSettings
from httpsys._core.timers import TimeoutLimits
from httpsys._engine.http2 import MAX_CONCURRENT_STREAMS

pytestmark = pytest.mark.attacks

PROTOCOL_ERROR = 0x1
ENHANCE_YOUR_CALM = 0xB
P99_BOUND_MS = 1000.0


def h2_app(server: LoopbackServer, snapshot: object) -> None:
    """/hold: never answered while the test runs (keeps streams open); /big: 1 MiB; else the echo answer."""
    raw_url = getattr(snapshot, "raw_url", b"")
    if raw_url.startswith(b"/hold"):
        return
    if raw_url.startswith(b"/big"):
        threading.Thread(
            target=server.respond,
            args=(snapshot.request_id, 200, b"b" * (1 << 20)),
            daemon=True,  # type: ignore[attr-defined]
        ).start()
        return
    echo_handler(server, snapshot)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    settings = DriverSettings(http2_cleartext=True, header_wait_timeout=5, idle_connection_timeout=5)
    timeouts = TimeoutLimits(
        entity_body=5, drain_entity_body=5, header_wait=5, idle_connection=5, min_send_rate=20000
    )
    srv = start_server(settings, timeouts, handler=h2_app, threads=8)
    try:
        yield srv
    finally:
        srv.close()


@dataclass
class H2Prober:
    """GET /probe on a fresh HTTP/2 connection every `interval` seconds, on a thread."""

    port: int
    interval: float = 0.05
    samples: list[tuple[float, int, float]] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> H2Prober:
        def run() -> None:
            while not self.stop_event.is_set():
                when = time.monotonic()
                status = 0
                try:
                    client = H2Client(self.port)
                    status = client.wait(client.request(b"/probe"), 5.0).status
                    client.close()
                except OSError:
                    pass
                self.samples.append((when, status, time.monotonic() - when))
                self.stop_event.wait(self.interval)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> list[tuple[float, int, float]]:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(10.0)
        return self.samples


def under_attack(
    server: LoopbackServer, attack: Callable[[], None]
) -> tuple[dict[str, float], dict[str, float]]:
    """Run `attack` with both probes going; their latency summaries (HTTP/1.1, HTTP/2)."""
    h1 = Prober(server.port).start()
    h2 = H2Prober(server.port).start()
    time.sleep(0.2)
    attack()
    time.sleep(0.3)
    return latency_summary(h1.stop()), latency_summary(h2.stop())


_BASELINE: list[tuple[dict[str, float], dict[str, float]]] = []


def baseline(server: LoopbackServer) -> tuple[dict[str, float], dict[str, float]]:
    """The probes' latencies with no attack (measured once per module)."""
    if not _BASELINE:
        _BASELINE.append(under_attack(server, lambda: time.sleep(0.5)))
    return _BASELINE[0]


def judged(name: str, server: LoopbackServer, result: tuple[dict[str, float], dict[str, float]]) -> None:
    base = baseline(server)
    print(f"\n{name}: h1 {result[0]} h2 {result[1]} | baseline h1 {base[0]} h2 {base[1]}")
    for summary in result:
        assert summary["failures"] == 0, summary
        assert summary["p99_ms"] < P99_BOUND_MS, summary


def no_stream_left(server: LoopbackServer, timeout: float = 5.0) -> None:
    """Every HTTP/2 connection the attacks opened is gone with its streams (memory bounded)."""
    deadline = time.monotonic() + timeout
    driver = server.transport.driver
    streams = -1
    while time.monotonic() < deadline:
        streams = server.transport._call(
            lambda: sum(len(getattr(conn, "streams", {})) for conn in driver.connections.values())
        )
        if not streams:
            return
        time.sleep(0.05)
    pytest.fail(f"{streams} streams still open")


def errors(server: LoopbackServer, reason: str) -> int:
    return sum(1 for entry in list(server.transport.driver.error_log) if entry[1] == reason)


def http2_errors(server: LoopbackServer) -> list[str]:
    """HTTPERR reasons of HTTP/2 connection errors logged so far."""
    return [
        str(entry[1])
        for entry in list(server.transport.driver.error_log)
        if str(entry[1]).startswith("HTTP2_")
    ]


def test_too_many_concurrent_streams_end_the_connection(server: LoopbackServer) -> None:
    raw = RawH2(server.port)
    raw.read_frames()

    def attack() -> None:
        frames = b"".join(
            raw.headers(1 + 2 * i, raw.block(b"/hold")) for i in range(MAX_CONCURRENT_STREAMS + 5)
        )
        raw.send(frames)
        assert raw.wait_closed(5.0)

    judged("max concurrent streams", server, under_attack(server, attack))
    assert raw.goaway in (PROTOCOL_ERROR, 0x7)  # PROTOCOL_ERROR (or REFUSED_STREAM) per RFC 9113 §5.1.2
    assert errors(server, "HTTP2_PROTOCOL_ERROR") >= 1
    raw.close()
    no_stream_left(server)


def test_header_list_past_the_bound_ends_the_connection(server: LoopbackServer) -> None:
    raw = RawH2(server.port)
    before = len(http2_errors(server))

    def attack() -> None:
        block = raw.block(b"/", [(b"x-big-%d" % i, b"v" * 8000) for i in range(20)])  # 160 KB decoded
        frames = raw.headers(1, block[:16384], end_headers=False)
        rest = block[16384:]
        while rest:
            frames += raw.continuation(1, rest[:16384], end=len(rest) <= 16384)
            rest = rest[16384:]
        raw.send(frames)
        assert raw.wait_closed(5.0)

    judged("header list size", server, under_attack(server, attack))
    assert raw.goaway is not None and raw.goaway != 0
    assert len(http2_errors(server)) == before + 1
    raw.close()
    no_stream_left(server)


def test_rapid_reset_ends_the_connection(server: LoopbackServer) -> None:
    raw = RawH2(server.port)
    before = errors(server, "HTTP2_RapidReset")

    def attack() -> None:
        stream_id = 1
        for _burst in range(10):
            frames = []
            for _ in range(100):
                frames.append(raw.headers(stream_id, raw.block(b"/reset")))
                frames.append(raw.rst(stream_id))
                stream_id += 2
            if not raw.send(b"".join(frames)):
                break
        assert raw.wait_closed(5.0)

    judged("rapid reset", server, under_attack(server, attack))
    assert raw.goaway == ENHANCE_YOUR_CALM
    assert errors(server, "HTTP2_RapidReset") == before + 1
    raw.close()
    no_stream_left(server)


def test_continuation_flood_ends_the_connection(server: LoopbackServer) -> None:
    raw = RawH2(server.port)
    before = len(http2_errors(server))

    def attack() -> None:
        frames = raw.headers(1, raw.block(b"/"), end_headers=False)
        filler = raw.continuation(1, b"\x40\x01a\x01b" * 1000)  # literal fields that never end the block
        for _ in range(50):
            if not raw.send(frames + filler * 10):
                break
            frames = b""
        assert raw.wait_closed(5.0)

    judged("CONTINUATION flood", server, under_attack(server, attack))
    # h2 refuses a header block of more than 64 CONTINUATION frames: a connection error (the GOAWAY may be lost
    # to the reset of a client that never reads; the HTTPERR line is not)
    assert raw.goaway != 0
    assert len(http2_errors(server)) == before + 1
    raw.close()
    no_stream_left(server)


def test_hpack_bomb_ends_the_connection(server: LoopbackServer) -> None:
    raw = RawH2(server.port)
    before = len(http2_errors(server))

    def attack() -> None:
        # one 4 KB field into the dynamic table, then a block that names it again and again (1 byte each)
        first = raw.block(b"/bomb", [(b"x-bomb", b"z" * 4000)])
        raw.send(raw.headers(1, first))
        raw.read_frames(0.2)
        # 0xBE: "indexed field 62", the newest dynamic table entry (x-bomb): 5,000 of them decode to 20 MB
        bomb = raw.block(b"/bomb") + bytes([0xBE]) * 5000
        raw.send(raw.headers(3, bomb[:16000], end_headers=True))
        assert raw.wait_closed(5.0)

    judged("HPACK bomb", server, under_attack(server, attack))
    assert raw.goaway is not None and raw.goaway != 0
    assert len(http2_errors(server)) == before + 1
    raw.close()
    no_stream_left(server)


@pytest.mark.parametrize("kind", ["settings", "ping", "empty-data"])
def test_control_frame_floods_end_the_connection(server: LoopbackServer, kind: str) -> None:
    raw = RawH2(server.port)
    before = errors(server, "HTTP2_Flood")

    def attack() -> None:
        if kind == "settings":
            frame = raw.frame_settings(INITIAL_WINDOW_SIZE=65535)
        elif kind == "ping":
            frame = raw.ping()
        else:
            raw.send(raw.headers(1, raw.block(b"/hold", [(b"content-length", b"10")]), end_stream=False))
            frame = raw.data(1)
        for _ in range(20):
            if not raw.send(frame * 500):
                break
        assert raw.wait_closed(5.0)

    judged(f"{kind} flood", server, under_attack(server, attack))
    assert raw.goaway == ENHANCE_YOUR_CALM
    assert errors(server, "HTTP2_Flood") == before + 1
    raw.close()
    no_stream_left(server)


def test_zero_window_slow_read_resets_the_stream_only(server: LoopbackServer) -> None:
    client = H2Client(server.port, window=0)  # never opens its stream windows
    before = errors(server, "Timer_MinBytesPerSecond")
    holder: list[int] = []

    def attack() -> None:
        stream = client.request(b"/big")
        holder.append(stream)
        deadline = time.monotonic() + 8.0
        while time.monotonic() < deadline and client.streams[stream].reset is None:
            client.pump(0.1)

    judged("zero-window slow read", server, under_attack(server, attack))
    assert client.streams[holder[0]].reset is not None  # RST_STREAM on that stream, after MinSendRate's bound
    assert errors(server, "Timer_MinBytesPerSecond") == before + 1
    assert not client.closed  # the connection itself stays
    client.close()
    no_stream_left(server)


def test_stream_id_exhaustion_ends_with_graceful_goaway(server: LoopbackServer) -> None:
    raw = RawH2(server.port)
    last = (1 << 31) - 1

    def attack() -> None:
        raw.send(raw.headers(last, raw.block(b"/last")))
        assert raw.wait_closed(5.0)

    judged("stream-id exhaustion", server, under_attack(server, attack))
    assert raw.goaway == 0  # NO_ERROR: the last stream was served, the client must reconnect
    from hyperframe.frame import HeadersFrame

    assert any(isinstance(f, HeadersFrame) and f.stream_id == last for f in raw.frames)
    raw.close()
    no_stream_left(server)
