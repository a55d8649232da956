"""Slow and flooding clients (asyncio, on a thread of their own) and a probe that measures the server meanwhile.

Responsibility: open many loopback connections that dribble bytes (slowloris, slow POST), read slowly (slow read)
or just sit there (connection flood), each bounded in time, and report how each ended and when; and a probe
thread that sends one normal request on a fresh connection every few milliseconds and records its latency. It
must not judge: the tests decide what the outcomes must be.
"""

from __future__ import annotations

import asyncio
import math
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from hostile.loopback import probe


@dataclass
class Ended:
    """How one attacking connection ended."""

    how: str  # "reset", "eof" (the server closed), "open" (still open when the attack stopped), "refused"
    after: float  # seconds from connect to that end
    received: int = 0  # response bytes read


Attack = Callable[[asyncio.StreamReader, asyncio.StreamWriter, float], Awaitable[Ended]]


async def _watch_close(reader: asyncio.StreamReader, started: float, deadline: float) -> Ended | None:
    """Wait (until `deadline`) for the server to close; None when it did not."""
    received = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            chunk = await asyncio.wait_for(reader.read(65536), remaining)
        except TimeoutError:
            return None
        except (ConnectionResetError, BrokenPipeError):
            return Ended("reset", time.monotonic() - started, received)
        if not chunk:
            return Ended("eof", time.monotonic() - started, received)
        received += len(chunk)


def slowloris(interval: float) -> Attack:
    """An incomplete head, one more header line every `interval` seconds, never the blank line."""

    async def attack(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, deadline: float) -> Ended:
        started = time.monotonic()
        writer.write(b"GET /slow HTTP/1.1\r\nHost: a\r\n")
        n = 0
        while True:
            ended = await _watch_close(reader, started, min(deadline, time.monotonic() + interval))
            if ended is not None:
                return ended
            if time.monotonic() >= deadline:
                return Ended("open", time.monotonic() - started)
            n += 1
            try:
                writer.write(b"X-%d: %d\r\n" % (n, n))
                await writer.drain()
            except (ConnectionResetError, BrokenPipeError):
                return Ended("reset", time.monotonic() - started)

    return attack


def empty_lines(interval: float) -> Attack:
    """Only CRLF, one every `interval` seconds: lines that start no request (must not keep a connection)."""

    async def attack(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, deadline: float) -> Ended:
        started = time.monotonic()
        while True:
            try:
                writer.write(b"\r\n")
                await writer.drain()
            except (ConnectionResetError, BrokenPipeError):
                return Ended("reset", time.monotonic() - started)
            ended = await _watch_close(reader, started, min(deadline, time.monotonic() + interval))
            if ended is not None:
                return ended
            if time.monotonic() >= deadline:
                return Ended("open", time.monotonic() - started)

    return attack


def slow_post(interval: float, stop_after: float | None = None, length: int = 100_000) -> Attack:
    """A complete head announcing `length` body bytes, then one byte every `interval` seconds (stopping to send
    at all after `stop_after` seconds, when given)."""

    async def attack(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, deadline: float) -> Ended:
        started = time.monotonic()
        writer.write(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % length)
        while True:
            ended = await _watch_close(reader, started, min(deadline, time.monotonic() + interval))
            if ended is not None:
                return ended
            if time.monotonic() >= deadline:
                return Ended("open", time.monotonic() - started)
            if stop_after is None or time.monotonic() - started < stop_after:
                try:
                    writer.write(b"x")
                    await writer.drain()
                except (ConnectionResetError, BrokenPipeError):
                    return Ended("reset", time.monotonic() - started)

    return attack


def silent() -> Attack:
    """Connect and send nothing (connection flood)."""

    async def attack(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, deadline: float) -> Ended:
        started = time.monotonic()
        ended = await _watch_close(reader, started, deadline)
        return ended or Ended("open", time.monotonic() - started)

    return attack


async def _slow_reader(port: int, path: bytes, deadline: float, chunk: int, interval: float) -> Ended:
    """A request for a large response over a socket with a tiny receive buffer, read `chunk` bytes per
    `interval` seconds."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.setblocking(False)
    started = time.monotonic()
    received = 0
    try:
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(sock, b"GET " + path + b" HTTP/1.1\r\nHost: a\r\n\r\n")
        while time.monotonic() < deadline:
            try:
                data = await asyncio.wait_for(loop.sock_recv(sock, chunk), interval)
            except TimeoutError:
                continue
            if not data:
                return Ended("eof", time.monotonic() - started, received)
            received += len(data)
            await asyncio.sleep(interval)
        return Ended("open", time.monotonic() - started, received)
    except (ConnectionResetError, BrokenPipeError):
        return Ended("reset", time.monotonic() - started, received)
    except OSError:
        return Ended("refused", time.monotonic() - started, received)
    finally:
        sock.close()


@dataclass
class AttackRun:
    """`count` attacking connections opened at `rate` per second, each running for at most `duration`."""

    port: int
    count: int
    duration: float
    attack: Attack | None = None
    slow_read: tuple[bytes, int, float] | None = None  # (path, bytes per read, seconds between reads)
    rate: float = 500.0
    results: list[Ended] = field(default_factory=list)
    thread: threading.Thread | None = None

    def start(self) -> AttackRun:
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self.thread.start()
        return self

    def join(self, timeout: float = 60.0) -> list[Ended]:
        assert self.thread is not None
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "attack clients did not stop"
        return self.results

    async def _one(self, deadline: float) -> Ended:
        if self.slow_read is not None:
            path, chunk, interval = self.slow_read
            return await _slow_reader(self.port, path, deadline, chunk, interval)
        assert self.attack is not None
        started = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return Ended("refused", time.monotonic() - started)
        try:
            return await self.attack(reader, writer, deadline)
        except (ConnectionResetError, BrokenPipeError):
            return Ended("reset", time.monotonic() - started)
        finally:
            writer.transport.abort()

    async def _main(self) -> None:
        tasks = []
        for _ in range(self.count):
            tasks.append(asyncio.create_task(self._one(time.monotonic() + self.duration)))
            await asyncio.sleep(1.0 / self.rate)
        self.results = list(await asyncio.gather(*tasks))


@dataclass
class Prober:
    """GET /probe on a fresh connection every `interval` seconds, on a thread, until stopped."""

    port: int
    interval: float = 0.05
    samples: list[tuple[float, int, float]] = field(default_factory=list)  # (when, status, seconds)
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> Prober:
        def run() -> None:
            while not self.stop_event.is_set():
                when = time.monotonic()
                status, seconds = probe(self.port, timeout=5.0)
                self.samples.append((when, status, seconds))
                self.stop_event.wait(self.interval)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> list[tuple[float, int, float]]:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(10.0)
        return self.samples


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def latency_summary(samples: list[tuple[float, int, float]]) -> dict[str, float]:
    """p50/p99/max latency of the successful probes (ms) and how many probes failed."""
    ok = [seconds for _when, status, seconds in samples if status == 200]
    return {
        "probes": len(samples),
        "failures": len(samples) - len(ok),
        "p50_ms": round(percentile(ok, 0.50) * 1000, 2),
        "p99_ms": round(percentile(ok, 0.99) * 1000, 2),
        "max_ms": round(max(ok) * 1000, 2) if ok else math.nan,
    }


def baseline(port: int, seconds: float = 1.0) -> dict[str, float]:
    prober = Prober(port).start()
    time.sleep(seconds)
    return latency_summary(prober.stop())
