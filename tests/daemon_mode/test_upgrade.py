"""Daemon upgrade without dropping (issue 15 item 7, decision 0024 §3): `httpsys daemon --takeover` receives the
running daemon's listening sockets over its socket (SCM_RIGHTS); the old daemon stops accepting, drains and
exits 0; the application process reconnects, replays its objects and keeps serving. A real client loop runs
through the upgrade and every failed request is counted.

Every daemon here runs on a temporary socket and is stopped; servers bind 127.0.0.1 only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.daemon_process import DaemonProcess
from conformance.harness import free_port
from httpsys._core.records import MemoryChunk, ResponseSpec
from httpsys._transport.remote import RemoteTransport

TESTS_DIR = str(Path(__file__).resolve().parents[1])


def start_app(socket_path: str, port: int, name: str) -> subprocess.Popen[str]:
    """An application process on the daemon: a named queue with http://127.0.0.1:PORT/ registered; it answers
    every request with `ok <path>` from two threads, and prints `ready` once registered."""
    script = textwrap.dedent(
        f"""
        import threading
        from httpsys.win32 import *
        from conformance.harness import bind, create_group, create_queue, create_session, receive, respond
        assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None) == NO_ERROR
        group = create_group(create_session())
        queue = create_queue({name!r})
        assert bind(group, queue) == NO_ERROR
        assert HttpAddUrlToUrlGroup(group, "http://127.0.0.1:{port}/", 0, 0) == NO_ERROR

        def serve():
            while True:
                request = receive(queue, timeout=120)
                code = respond(queue, request.RequestId, b"ok " + request.pRawUrl)[0]
                if code != NO_ERROR:
                    print("respond failed", code, flush=True)

        for _ in range(2):
            threading.Thread(target=serve, daemon=True).start()
        print("ready", flush=True)
        threading.Event().wait()
        """
    )
    env = dict(os.environ, HTTPSYS_DAEMON_SOCKET=socket_path, PYTHONPATH=TESTS_DIR)
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != "ready":
        process.kill()
        raise AssertionError(f"app did not start: {line!r} {process.stderr.read() if process.stderr else ''}")
    return process


def start_takeover(socket_path: str, stderr_path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("HTTPSYS_DAEMON_SOCKET", "NOTIFY_SOCKET")}
    with open(stderr_path, "wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "httpsys.cli", "daemon", "--socket", socket_path, "--takeover"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )


def stop_process(process: subprocess.Popen[bytes] | subprocess.Popen[str], sig: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


class Load:
    """A client loop: one GET per connection (Connection: close) after another, from `threads` threads; each
    result is (time, ok, detail)."""

    def __init__(self, port: int, threads: int = 2) -> None:
        self.port = port
        self.results: list[tuple[float, bool, str]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]
        self._lock = threading.Lock()

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def _run(self, index: int) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            path = f"/t{index}/{n}"
            ok, detail = self._one(path)
            with self._lock:
                self.results.append((time.monotonic(), ok, detail))

    def _one(self, path: str) -> tuple[bool, str]:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=20) as sock:
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
        except OSError as exc:
            return False, f"{path}: {exc!r}"
        if data.startswith(b"HTTP/1.1 200") and data.endswith(b"ok " + path.encode()):
            return True, path
        return False, f"{path}: {data[:200]!r}"

    def count(self, since: float = 0.0) -> int:
        with self._lock:
            return sum(1 for t, ok, _ in self.results if ok and t >= since)

    def failures(self) -> list[str]:
        with self._lock:
            return [detail for _t, ok, detail in self.results if not ok]


@pytest.fixture
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="httpsys-upgrade-") as d:
        yield Path(d)


def wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_an_upgrade_under_steady_load_fails_no_request(workdir: Path) -> None:
    old = DaemonProcess(str(workdir))
    port = free_port()
    app = start_app(old.path, port, "upgrade-" + os.urandom(4).hex())
    new: subprocess.Popen[bytes] | None = None
    new_stderr = workdir / "new.stderr"
    try:
        with Load(port) as load:
            assert wait_for(lambda: load.count() >= 20, 20), load.failures()
            before = load.count()
            new = start_takeover(old.path, new_stderr)
            assert old.process.wait(30) == 0, old.stderr()  # drained and gone
            gone = time.monotonic()
            assert new.poll() is None, new_stderr.read_text()
            # the application serves on through the new daemon
            assert wait_for(lambda: load.count(since=gone) >= 50, 30), (
                load.failures(),
                new_stderr.read_text(),
            )
        assert load.failures() == [], (old.stderr(), new_stderr.read_text())
        assert before >= 20 and load.count(since=gone) >= 50
        assert "takeover by client" in old.stderr() and "taken over: drained" in old.stderr()
        assert "took over" in new_stderr.read_text()
        assert app.poll() is None
    finally:
        stop_process(app, signal.SIGKILL)
        for stream in (app.stdout, app.stderr):
            if stream is not None:
                stream.close()
        new_status = stop_process(new) if new is not None else 0
        old.stop()
    assert new_status == 0, new_stderr.read_text()


def test_takeover_without_a_running_daemon_is_one_line(workdir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "httpsys.cli", "daemon", "--socket", str(workdir / "none.sock"), "--takeover"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("httpsys: --takeover: no daemon to take over at"), lines


def test_ids_held_before_an_upgrade_stay_valid_and_new_objects_work(workdir: Path) -> None:
    """Replay with virtual ids, in one process through the transport itself: a named queue's creator and an opener
    (two connections), a group bound to it with a delegation target, a URL; after the upgrade the old ids answer
    on the new daemon, new objects can be made beside them, and a request is served."""
    old = DaemonProcess(str(workdir))
    new: subprocess.Popen[bytes] | None = None
    new_stderr = workdir / "new.stderr"
    creator = RemoteTransport(old.path)
    opener = RemoteTransport(old.path)
    try:
        name = "replay-" + os.urandom(4).hex()
        code, sid = creator.create_server_session((2, 0))
        assert code == 0
        code, gid = creator.create_url_group(sid)
        assert code == 0
        code, queue = creator.create_request_queue(name, 0, False)
        assert code == 0
        assert creator.set_group_property(gid, 7, queue) == 0  # HttpServerBindingProperty
        assert creator.set_queue_property(queue, 4, 77) == 0  # HttpServerQueueLengthProperty
        port = free_port()
        assert creator.add_url(gid, f"http://127.0.0.1:{port}/app/", 9) == 0
        code, opened = opener.create_request_queue(name, 1, False)  # OPEN_EXISTING
        assert code == 0

        new = start_takeover(old.path, new_stderr)
        assert old.process.wait(30) == 0, old.stderr()
        # every id from before answers, on the new daemon
        assert creator.query_queue_property(queue, 4) == (0, 77)
        code, found = creator.find_url_group_id(f"http://127.0.0.1:{port}/app/x", queue)
        assert (code, found) == (0, gid)
        assert creator.query_group_property(gid, 7) == (0, queue)
        # new objects beside them
        code, gid2 = creator.create_url_group(sid)
        assert code == 0 and gid2 not in (sid, gid, queue)
        assert creator.set_group_property(gid2, 7, queue) == 0
        assert creator.add_url(gid2, f"http://127.0.0.1:{port}/other/", 10) == 0
        # a request reaches the opener's receive through the replayed queue, and is answered
        got: list[tuple[int, object, int]] = []
        received = threading.Event()

        def done(code: int, snapshot: object, length: int) -> None:
            got.append((code, snapshot, length))
            received.set()

        opener.receive_request(opened, 0, 0, None, True, 1, done)
        answer: list[bytes] = []
        t = threading.Thread(target=lambda: answer.append(http_get(port, "/other/z")))
        t.start()
        assert received.wait(10)
        code, snapshot, _ = got[0]
        assert code == 0 and snapshot is not None
        assert snapshot.url_context == 10  # type: ignore[attr-defined]
        sent = threading.Event()
        opener.send_response(
            opened,
            snapshot.request_id,  # type: ignore[attr-defined]
            0,
            ResponseSpec(200, b"OK", {}, []),
            [MemoryChunk(b"replayed")],
            None,
            None,
            lambda code, n: sent.set(),
        )
        assert sent.wait(10)
        t.join(10)
        assert answer and answer[0].startswith(b"HTTP/1.1 200") and answer[0].endswith(b"replayed")
        assert creator.close_url_group(gid2) == 0 and creator.close_url_group(gid) == 0
    finally:
        opener.close()
        creator.close()
        new_status = stop_process(new) if new is not None else 0
        old.stop()
    assert new_status == 0, new_stderr.read_text()


def http_get(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


def test_an_upgrade_under_load_fails_no_request_of_an_asyncio_application(workdir: Path) -> None:
    """The same upgrade with an asyncio-face application, whose own event loop serves its connection to the daemon
    and which keeps receives posted ahead (decision 0025): the reconnect thread hands its calls to that loop."""
    old = DaemonProcess(str(workdir))
    port = free_port()
    env = {**os.environ, "HTTPSYS_DAEMON_SOCKET": old.path}
    worker = str(Path(__file__).with_name("aio_worker.py"))
    name = "upgrade-aio-" + os.urandom(4).hex()
    app = subprocess.Popen(
        [sys.executable, worker, "create", name, str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    new: subprocess.Popen[bytes] | None = None
    new_stderr = workdir / "new.stderr"
    try:
        assert app.stdout is not None and app.stdout.readline().startswith("ready 16")
        with Load(port) as load:
            assert wait_for(lambda: load.count() >= 20, 20), load.failures()
            new = start_takeover(old.path, new_stderr)
            assert old.process.wait(30) == 0, old.stderr()
            gone = time.monotonic()
            assert wait_for(lambda: load.count(since=gone) >= 50, 30), (load.failures(), new_stderr.read_text())
        assert load.failures() == [], (old.stderr(), new_stderr.read_text())
        assert app.poll() is None
    finally:
        stop_process(app, signal.SIGKILL)
        for stream in (app.stdout, app.stderr):
            if stream is not None:
                stream.close()
        new_status = stop_process(new) if new is not None else 0
        old.stop()
    assert new_status == 0, new_stderr.read_text()
