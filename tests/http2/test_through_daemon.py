"""HTTP/2 cleartext through the shared daemon (`httpsys daemon --http2-cleartext`): an application process that
uses the daemon (HTTPSYS_DAEMON_SOCKET) serves streams as an embedded driver does — a large file on one stream,
streams of one connection together, HTTP/1.1 beside on the same port. The module starts a daemon of its own with
h2c on: the session daemon of the daemon-mode pass keeps HTTP.sys's default (h2c off), which the conformance
suites of that pass expect."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance.daemon_process import DaemonProcess
from http2.client import H2Client
from integration.ports import free_port

BIG = os.urandom(3 * 1024 * 1024 + 1234)  # several batches of frames and more than the socket buffer


class ThroughDaemon:
    """`httpsys serve SITE` whose driver is the daemon's; stopped with SIGINT."""

    def __init__(self, daemon: DaemonProcess, site: Path) -> None:
        self.port = free_port()
        env = dict(os.environ, HTTPSYS_DAEMON_SOCKET=daemon.path)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "httpsys.cli",
                "serve",
                str(site),
                "--port",
                str(self.port),
                "--no-access-log",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.communicate()
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/small.txt", timeout=0.5)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        pytest.fail("the application never answered through the daemon")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThroughDaemon]:
    site = tmp_path_factory.mktemp("site")
    (site / "big.bin").write_bytes(BIG)
    (site / "small.txt").write_bytes(b"small over the daemon")
    daemon = DaemonProcess(None, "--http2-cleartext")
    try:
        app = ThroughDaemon(daemon, site)
        try:
            yield app
        finally:
            app.stop()
    finally:
        assert daemon.stop() == 0, daemon.stderr()


def test_a_large_file_arrives_whole_on_one_stream_through_the_daemon(served: ThroughDaemon) -> None:
    client = H2Client(served.port, timeout=10.0)
    sid = client.request(b"/big.bin")
    result = client.wait(sid, 30.0)
    assert result.status == 200 and result.ended and result.reset is None
    assert result.header(b"content-length") == str(len(BIG)).encode()
    assert result.body == BIG
    assert not client.closed and client.goaway is None
    client.close()


def test_streams_of_one_connection_are_served_together_through_the_daemon(served: ThroughDaemon) -> None:
    client = H2Client(served.port, timeout=10.0)
    ids = [client.request(b"/small.txt") for _ in range(8)] + [client.request(b"/big.bin")]
    results = [client.wait(sid, 30.0) for sid in ids]
    assert [r.status for r in results] == [200] * 9
    assert all(r.body == b"small over the daemon" for r in results[:8])
    assert results[8].body == BIG
    client.close()


def test_http11_is_served_beside_http2_on_the_daemons_port(served: ThroughDaemon) -> None:
    reply = httpx.get(f"http://127.0.0.1:{served.port}/small.txt", timeout=10.0)
    assert reply.http_version == "HTTP/1.1" and reply.content == b"small over the daemon"
