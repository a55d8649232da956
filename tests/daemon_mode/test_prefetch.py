"""Receives posted ahead through the daemon (decision 0025) with real processes: two asyncio-face applications on
one named queue, each keeping its default receives posted.

Every request is answered exactly once (the applications' own counts add up to the requests the clients sent,
and each client got the answer to its own path), both processes serve, and a process that leaves the queue
(SIGTERM: `stop_receiving()`, then answer what had already arrived) loses no request: every client still gets a
200 and the daemon resets no connection. Each test starts its own daemon and stops every process it started.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.daemon_process import DaemonProcess
from conformance.harness import free_port

WORKER = str(Path(__file__).with_name("aio_worker.py"))


@pytest.fixture
def daemon() -> Iterator[DaemonProcess]:
    d = DaemonProcess()
    try:
        yield d
    finally:
        assert d.stop() == 0


class Worker:
    def __init__(self, daemon: DaemonProcess, mode: str, name: str, port: int) -> None:
        env = {**os.environ, "HTTPSYS_DAEMON_SOCKET": daemon.path}
        self.process = subprocess.Popen(
            [sys.executable, WORKER, mode, name, str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("ready "), line + self.stderr()
        self.prefetch = int(line.split()[1])

    def stderr(self) -> str:
        if self.process.poll() is None:
            return ""
        assert self.process.stderr is not None
        return self.process.stderr.read()

    def leave(self, timeout: float = 20.0) -> tuple[int, int]:
        """SIGTERM and wait: (requests served, slots left at exit)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=timeout)
        assert self.process.returncode == 0, err
        words = out.split()
        assert words[0] == "served", out + err
        return int(words[1]), int(words[3])

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def clients(port: int, count: int, threads: int, progress: threading.Semaphore | None = None) -> list[str]:
    """`count` keep-alive GETs of distinct paths over `threads` connections; each answer's body."""
    bodies: list[str] = []
    failures: list[BaseException] = []

    def run(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        try:
            for n in range(index, count, threads):
                conn.request("GET", f"/r{n}")
                response = conn.getresponse()
                body = response.read().decode()
                assert response.status == 200, (response.status, body)
                assert body.endswith(f" /r{n}"), body  # the answer to this very request
                bodies.append(body)
                if progress is not None:
                    progress.release()
        except BaseException as exc:  # reported by the test below
            failures.append(exc)
        finally:
            conn.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(60)
    assert not failures, failures[:3]
    return bodies


def test_two_processes_with_prefetch_answer_each_request_exactly_once(daemon: DaemonProcess) -> None:
    port = free_port()
    first = Worker(daemon, "create", "prefetch-q", port)
    second = Worker(daemon, "open", "prefetch-q", port)
    try:
        assert first.prefetch == second.prefetch == 16
        bodies = clients(port, 300, 6)
        assert len(bodies) == 300
        pids = {body.split()[0] for body in bodies}
        assert pids == {str(second.process.pid), str(first.process.pid)}  # both served
        served_second, left_second = second.leave()
        served_first, left_first = first.leave()
        assert served_first + served_second == 300  # each request reached exactly one application, once
        assert left_first == left_second == 0
    finally:
        second.kill()
        first.kill()
    assert "Connection_Abandoned_By_ReqQueue" not in daemon.error_log()


def test_a_process_leaving_a_shared_queue_under_load_loses_no_request(daemon: DaemonProcess) -> None:
    port = free_port()
    first = Worker(daemon, "create", "prefetch-leave", port)
    second = Worker(daemon, "open", "prefetch-leave", port)
    try:
        progress = threading.Semaphore(0)
        result: list[list[str]] = []
        load = threading.Thread(target=lambda: result.append(clients(port, 600, 8, progress)))
        load.start()
        for _ in range(150):  # well under way, with requests posted ahead in both processes
            assert progress.acquire(timeout=30)
        served_second, left_second = second.leave()
        load.join(90)
        assert result, "the clients did not finish"
        bodies = result[0]
        assert len(bodies) == 600  # every client got its 200 (the clients assert status and path)
        assert left_second == 0
        served_first, _left = first.leave()
        assert served_first + served_second == 600
        assert served_second > 0
    finally:
        second.kill()
        first.kill()
    assert "Connection_Abandoned_By_ReqQueue" not in daemon.error_log()


def test_receives_posted_ahead_are_served_oldest_first_across_processes(daemon: DaemonProcess) -> None:
    """First's 16 receives are posted before second's, and each receive taken is posted again behind the others:
    one request at a time, the daemon hands 16 to the first process, then 16 to the second, then the first's
    again (HTTP.sys: each request to the oldest posted receive, whichever process posted it)."""
    port = free_port()
    first = Worker(daemon, "create", "prefetch-order", port)
    second = Worker(daemon, "open", "prefetch-order", port)
    try:
        served_by = [body.split()[0] for body in clients(port, 48, 1)]
        a, b = str(first.process.pid), str(second.process.pid)
        assert served_by == [a] * 16 + [b] * 16 + [a] * 16, served_by
    finally:
        second.kill()
        first.kill()
