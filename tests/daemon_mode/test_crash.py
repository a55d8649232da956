"""Crash isolation in the daemon (issue 14 item 5): worker processes SIGKILLed under load, some holding nothing,
some mid-frame, some with a request received, mid-response or mid-body-read.

The many-kills test forks its victims from a pre-imported fork server (`forkserver.py`), so a victim costs a
fork and a handshake, not an interpreter start. It kills the full 1,000 workers by default (about 25 s here, in
batches of 50 alive at once, after two warm-up batches); with HTTPSYS_SOAK=1 (the soak switch `make test-attacks`
sets) it kills 5,000. What it checks: every
load request (keep-alive clients on another queue of the same port, all through the kills) is answered 200; every
request a victim had borrowed ends without a complete response and is logged `Connection_Abandoned_By_ReqQueue`
once; receives of dead processes take nothing (a request sent afterwards waits for the next opener); the daemon's
open descriptors return exactly to their baseline and its RSS to within RSS_TOLERANCE (8 MiB) of it.
"""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.daemon_process import DaemonProcess
from conformance.harness import free_port
from daemon_mode.test_cross_process import io, site
from daemon_mode.test_daemon import get
from httpsys._core.records import MemoryChunk, ResponseSpec
from httpsys._transport.remote import RemoteTransport

TESTS_DIR = str(Path(__file__).resolve().parents[1])
SOAK = os.environ.get("HTTPSYS_SOAK") == "1"
VICTIMS = 5000 if SOAK else 1000
BATCH = 50  # victims alive at once: 40 borrow a request, 5 die idle, 5 die mid-frame
# Bytes the daemon's RSS may stay above its warmed-up baseline (allocator slack). Observed: 0-3.3 MiB after 500 or
# 1,000 kills, 4.5 MiB after 2,500, 5-6 MiB after 5,000: a leak below ~1 KiB per kill is not excluded; 2 KiB per
# kill would fail the soak run's 5,000 (decision 0018 §2.1).
RSS_TOLERANCE = 8 << 20
ABANDONED = "Connection_Abandoned_By_ReqQueue"


@pytest.fixture
def daemon() -> Iterator[DaemonProcess]:
    d = DaemonProcess()
    try:
        yield d
    finally:
        assert d.stop() == 0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class ForkServer:
    """The fork server process; `spawn()` forks victims and waits until each has a receive posted."""

    def __init__(self, socket_path: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daemon_mode.forkserver", socket_path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=dict(os.environ, PYTHONPATH=TESTS_DIR),
        )

    def command(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def line(self) -> str:
        assert self.process.stdout is not None
        text = self.process.stdout.readline().decode()
        assert text, "the fork server ended"
        assert not text.startswith("error"), text
        return text

    def spawn(self, mode: str, queue: str, count: int) -> None:
        self.command(f"spawn {mode} {queue} {count}")
        for _ in range(count):
            assert self.line().startswith("ready ")

    def reap(self) -> tuple[int, int]:
        self.command("reap")
        text = self.line()
        assert text.startswith("reaped "), text
        _, count, killed = text.split()
        return int(count), int(killed)

    def close(self) -> None:
        if self.process.poll() is None:
            self.command("quit")
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class Load:
    """Keep-alive HTTP clients on `/load/` and the answering side: this process's connection to the daemon
    re-posts a receive on each completion and answers every request (all on its loop thread)."""

    def __init__(self, transport: RemoteTransport, queue: int, port: int, clients: int = 4) -> None:
        self.transport = transport
        self.queue = queue
        self.port = port
        self.ok = 0
        self.errors: list[str] = []
        self.running = True
        self.spec = ResponseSpec(200, b"OK", {}, [])
        for token in range(1, 5):  # four receives kept posted
            transport.receive_request(queue, 0, 0, None, True, token, self._received(token))
        self.threads = [threading.Thread(target=self._client, args=(i,)) for i in range(clients)]
        for thread in self.threads:
            thread.start()

    def _received(self, token: int) -> Any:
        def done(code: int, snapshot: Any, length: int) -> None:
            if code != 0 or snapshot is None:
                if self.running:
                    self.errors.append(f"receive completed with {code}")
                return
            self.transport.send_response(
                self.queue,
                snapshot.request_id,
                0,
                self.spec,
                [MemoryChunk(b"load ok")],
                None,
                None,
                lambda code, nbytes: None,
            )
            self.transport.receive_request(self.queue, 0, 0, None, True, token, done)

        return done

    def _client(self, index: int) -> None:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=20) as sock:
                number = 0
                while self.running:
                    number += 1
                    sock.sendall(f"GET /load/{index}/{number} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                    answer = b""
                    while not answer.endswith(b"load ok"):
                        chunk = sock.recv(4096)
                        if not chunk:
                            raise ConnectionError(f"closed after {answer!r}")
                        answer += chunk
                    if not answer.startswith(b"HTTP/1.1 200 OK"):
                        raise ConnectionError(f"answered {answer!r}")
                    self.ok += 1
        except Exception as exc:  # reported to the test
            self.errors.append(f"client {index}: {exc!r}")

    def stop(self) -> None:
        self.running = False
        for thread in self.threads:
            thread.join(30)


def victim_requests(port: int, batch: int, start: int) -> list[tuple[str, socket.socket]]:
    """One HTTP request per borrowing victim, kinds in turn; a mid-body request sends only part of its body."""
    kinds = ("received", "midresponse", "midbody")
    sent: list[tuple[str, socket.socket]] = []
    for i in range(batch):
        kind = kinds[(start + i) % 3]
        sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        if kind == "midbody":
            sock.sendall(b"POST /v/midbody/%d HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" % i)
            sock.sendall(b"b" * 10000)
        else:
            sock.sendall(f"GET /v/{kind}/{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        sent.append((kind, sock))
    return sent


def finish(requests: list[tuple[str, socket.socket]], timeout: float = 30.0) -> list[tuple[str, bytes]]:
    """Read every victim connection until the daemon ends it (EOF or reset); what each received."""
    selector = selectors.DefaultSelector()
    got: dict[socket.socket, bytearray] = {}
    for kind, sock in requests:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, kind)
        got[sock] = bytearray()
    results: list[tuple[str, bytes]] = []
    deadline = time.monotonic() + timeout
    while selector.get_map() and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                chunk = b""
            if chunk:
                got[sock] += chunk
                continue
            selector.unregister(sock)
            results.append((key.data, bytes(got[sock])))
            sock.close()
    for key in list(selector.get_map().values()):
        results.append((f"{key.data} never ended", bytes(got[key.fileobj])))  # type: ignore[index]
        key.fileobj.close()  # type: ignore[union-attr]
    selector.close()
    return results


def complete(answer: bytes) -> bool:
    head, sep, body = answer.partition(b"\r\n\r\n")
    return bool(sep) and head.startswith(b"HTTP/1.1 ") and len(body) >= 100000


def kill_round(server: ForkServer, port: int, victims: str, idle: str, start: int) -> int:
    """One batch: 40 borrowing victims, 5 idle, 5 mid-frame; all die. The number that had borrowed a request."""
    borrowing = BATCH - 10
    server.spawn("borrow", victims, borrowing)
    server.spawn("idle", idle, 5)
    server.spawn("midframe", idle, 5)
    results = finish(victim_requests(port, borrowing, start))
    assert len(results) == borrowing
    for kind, answer in results:
        assert "never" not in kind, f"{kind}: {answer[:100]!r}"
        assert not complete(answer), f"{kind}: a dead worker's request was answered"
        if kind != "midresponse":
            assert answer == b"", f"{kind}: {answer[:100]!r}"  # reset before any response byte
    assert server.reap() == (BATCH, BATCH)  # every victim died by SIGKILL at its point
    return borrowing


def settle(pid: int, fds: int, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    now = open_fds(pid)
    while now != fds and time.monotonic() < deadline:
        time.sleep(0.05)
        now = open_fds(pid)
    return now


def settle_rss(pid: int, bound: int, timeout: float = 5.0) -> int:
    """The daemon's RSS once it is at most `bound` (or the time is up): the daemon runs a full garbage collection
    COLLECT_DELAY (1 s) after a client goes, which frees what the dead workers left (decision 0018 §2.3)."""
    deadline = time.monotonic() + timeout
    while (now := rss(pid)) > bound and time.monotonic() < deadline:
        time.sleep(0.1)
    return now


def wait_for_log(daemon: DaemonProcess, count: int, timeout: float = 10.0) -> int:
    """The number of Connection_Abandoned_By_ReqQueue lines in HTTPERR, once it reaches `count` (or the time is
    up)."""
    deadline = time.monotonic() + timeout
    while (logged := daemon.error_log().count(ABANDONED)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return logged


def test_workers_killed_under_load_lose_only_what_they_borrowed_and_the_daemon_returns_to_baseline(
    daemon: DaemonProcess,
) -> None:
    tag = f"{os.getpid()}-{time.monotonic_ns()}"
    victims, idle, load_name = f"victims-{tag}", f"idle-{tag}", f"load-{tag}"
    owner = RemoteTransport(daemon.path)
    server = ForkServer(daemon.path)
    load: Load | None = None
    try:
        port = free_port()
        queues = {}
        for name, path in ((load_name, "/load/"), (victims, "/v/"), (idle, "/idle/")):
            code, queues[name] = owner.create_request_queue(name, 0, False)
            assert code == 0
            site(owner, queues[name], port, path)
        load = Load(owner, queues[load_name], port)
        pid = daemon.process.pid
        # lazily made structures exist from now on, and the allocator has seen a few batches' peaks
        warm_up = sum(kill_round(server, port, victims, idle, n) for n in range(2))
        wait_for_log(daemon, warm_up)
        time.sleep(0.2)
        fds = open_fds(pid)
        baseline_rss = rss(pid)
        borrowed = 0
        started = time.monotonic()
        for round_number in range(VICTIMS // BATCH):
            borrowed += kill_round(server, port, victims, idle, round_number)
        elapsed = time.monotonic() - started
        assert settle(pid, fds) == fds  # every descriptor of the dead workers and their requests is closed
        after_rss = settle_rss(pid, baseline_rss + RSS_TOLERANCE)
        assert after_rss <= baseline_rss + RSS_TOLERANCE, (baseline_rss, after_rss)
        assert wait_for_log(daemon, warm_up + borrowed) == warm_up + borrowed  # each borrowed one logged once
        load.stop()
        assert load.errors == [] and load.ok > 0, load.errors[:5]
        print(
            f"{VICTIMS} victims in {elapsed:.1f} s; {load.ok} load requests answered; "
            f"daemon fds {fds}, RSS {baseline_rss >> 10} KiB -> {after_rss >> 10} KiB"
        )
        # the dead processes' receives took nothing: a request to the idle queue waits for the next opener
        caller_result: list[bytes] = []
        caller = threading.Thread(target=lambda: caller_result.append(get(port, "/idle/late")))
        caller.start()
        survivor = RemoteTransport(daemon.path)
        try:
            code, opened = survivor.create_request_queue(idle, 1, False)
            assert code == 0
            code, snapshot, _ = io(lambda done: survivor.receive_request(opened, 0, 0, None, True, 1, done))
            assert code == 0 and snapshot.raw_url == b"/idle/late"
            code, _ = io(
                lambda done: survivor.send_response(
                    opened, snapshot.request_id, 0, ResponseSpec(200, b"OK", {}, []),
                    [MemoryChunk(b"kept for the survivor")], None, None, done,
                )
            )  # fmt: skip
            assert code == 0
            caller.join(10)
            assert caller_result and caller_result[0].endswith(b"kept for the survivor")
        finally:
            survivor.close()
        assert "Traceback" not in daemon.stderr()
    finally:
        if load is not None:
            load.stop()
        server.close()
        owner.close()


def test_a_killed_process_s_registrations_vanish_and_the_queue_keeps_its_waiting_requests_under_its_timer(
    daemon: DaemonProcess,
) -> None:
    """A process that opened a named queue and registered a URL of its own is SIGKILLed while two requests wait on
    the queue: its URL stops routing (404) and may be registered by another process; the waiting requests stay
    for the other openers — the oldest goes to the next receive — and one nobody receives is reset when the
    RequestQueue timer (3 s here) expires, logged Timer_AppPool."""
    from daemon_mode.app_process import App
    from httpsys._core.timers import TimeoutLimits

    name = f"timer-{os.getpid()}-{time.monotonic_ns()}"
    owner = RemoteTransport(daemon.path)
    app = App(daemon.path)
    survivor = RemoteTransport(daemon.path)
    try:
        port = free_port()
        code, queue = owner.create_request_queue(name, 0, False)
        assert code == 0
        group = site(owner, queue, port, "/q/")
        assert (
            owner.set_group_property(group, 3, TimeoutLimits(request_queue=3)) == 0
        )  # HttpServerTimeoutsProperty
        assert app.call("queue", name, 1) == [0]
        assert app.call("site", f"http://127.0.0.1:{port}/a/") == [0]
        results: dict[str, bytes] = {}
        callers = [
            threading.Thread(target=lambda p=p: results.__setitem__(p, get(port, p)))
            for p in ("/q/1", "/q/2")
        ]
        for caller in callers:
            caller.start()
            time.sleep(0.1)  # /q/1 arrives first
        os.kill(app.pid, 9)
        app.process.wait(10)
        deadline = time.monotonic() + 5
        while not (gone := get(port, "/a/x")).startswith(b"HTTP/1.1 404") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gone.startswith(b"HTTP/1.1 404")  # the dead process's registration vanished
        code, opened = survivor.create_request_queue(name, 1, False)
        assert code == 0
        code, snapshot, _ = io(lambda done: survivor.receive_request(opened, 0, 0, None, True, 1, done))
        assert code == 0 and snapshot.raw_url == b"/q/1"  # the oldest waiting request, kept for this opener
        code, _ = io(
            lambda done: survivor.send_response(
                opened, snapshot.request_id, 0, ResponseSpec(200, b"OK", {}, []),
                [MemoryChunk(b"kept")], None, None, done,
            )
        )  # fmt: skip
        assert code == 0
        for caller in callers:
            caller.join(15)
        assert results["/q/1"].endswith(b"kept")
        assert results["/q/2"] == b""  # reset by the RequestQueue timer: nobody received it
        deadline = time.monotonic() + 5
        while "Timer_AppPool" not in daemon.error_log() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "Timer_AppPool" in daemon.error_log()
        # the URL is free for another process
        _, other_session = survivor.create_server_session((2, 0))
        _, other_group = survivor.create_url_group(other_session)
        assert survivor.add_url(other_group, f"http://127.0.0.1:{port}/a/", 0) == 0
    finally:
        survivor.close()
        app.stop()
        owner.close()
