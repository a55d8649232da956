"""SIGHUP (and the RELOAD call) re-read the configuration store and apply it to the running daemon without
dropping a connection (ARCHITECTURE §8.1, issue 15 item 7, decision 0020): steady load through ten reloads
counts zero failed requests, and what the reloads read is in force afterwards."""

from __future__ import annotations

import ctypes
import http.client
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.daemon_process import DaemonProcess
from conformance.harness import bind, create_group, create_queue, create_session, free_port, respond
from httpsys._config import TIMEOUT, URLACL, ConfigStore
from httpsys.cli import main
from httpsys.win32 import *
from httpsys.win32 import api as win32_api


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DaemonProcess, int, Path]]:
    """A daemon with its own store, and this process serving http://+:PORT/ through it (answers 200 "ok")."""
    config = tmp_path / "config"
    daemon = DaemonProcess(str(tmp_path), "--config-dir", str(config))
    monkeypatch.setenv("HTTPSYS_DAEMON_SOCKET", daemon.path)
    win32_api.set_transport_factory(None)
    assert (
        HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER | HTTP_INITIALIZE_CONFIG, None) == NO_ERROR
    )
    port = free_port()
    queue = create_queue()
    group = create_group(create_session())
    assert bind(group, queue) == NO_ERROR
    assert HttpAddUrlToUrlGroup(group, f"http://+:{port}/", 0, 0) == NO_ERROR

    def serve() -> None:
        while True:
            request = HTTP_REQUEST_V2()
            got = ctypes.c_ulong()
            if HttpReceiveHttpRequest(queue, HTTP_NULL_ID, 0, request, 16384, got, None) != NO_ERROR:
                return
            respond(queue, request.RequestId, b"ok")

    servers = [threading.Thread(target=serve, daemon=True) for _ in range(2)]
    for server in servers:
        server.start()
    try:
        yield daemon, port, config
    finally:
        HttpCloseRequestQueue(queue)
        for server in servers:
            server.join(10)
        HttpTerminate(HTTP_INITIALIZE_SERVER | HTTP_INITIALIZE_CONFIG, None)
        assert daemon.stop() == 0


class Load:
    """Requests back to back on keep-alive connections (a new connection every 5 requests), counting outcomes."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.ok = 0
        self.failures: list[str] = []
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while self.running:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                for _ in range(5):
                    conn.request("GET", "/load")
                    response = conn.getresponse()
                    body = response.read()
                    if response.status == 200 and body == b"ok":
                        self.ok += 1
                    else:
                        self.failures.append(f"{response.status} {body[:60]!r}")
            except (OSError, http.client.HTTPException) as exc:
                self.failures.append(repr(exc))
            finally:
                conn.close()

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.running = False
        self.thread.join(30)


def status_of(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_ten_reloads_under_steady_load_fail_no_request_and_apply_the_store(
    served: tuple[DaemonProcess, int, Path],
) -> None:
    daemon, port, config = served
    assert status_of(port, "/reserved/x") == 200
    with Load(port) as load:
        time.sleep(0.3)
        for i in range(10):
            if i == 5:  # an edit the running daemon learns of only by reloading (another writer on the file)
                store = ConfigStore(str(config))
                assert store.set(URLACL, f"http://+:{port}/reserved/", "D:(A;;GX;;;WD)") == 0
                assert store.set(TIMEOUT, 1, 30) == 0
                store.close()
            daemon.process.send_signal(signal.SIGHUP)
            time.sleep(0.15)
        assert main(["config", "reload"]) == 0  # the administration call does the same
        time.sleep(0.3)
    assert load.failures == []
    assert load.ok > 50
    assert daemon.stderr().count("reloaded") == 11
    assert status_of(port, "/reserved/x") == 400  # the reservation read by the reload is in force (item 57)
    assert status_of(port, "/load") == 200
