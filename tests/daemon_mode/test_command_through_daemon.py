"""`httpsys run/serve/demo` through the daemon (HTTPSYS_DAEMON_SOCKET): real `httpsys daemon` and command
subprocesses and HTTP clients. The listening socket is the daemon's (read from /proc), the command is one of its
clients (its pid in the daemon's log), SIGTERM stops the command (exit 0) and leaves the daemon serving; a daemon
that is not there is one line naming the socket and exit 1 at once.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.daemon_process import DaemonProcess
from conformance.harness import free_port

HELLO_ASGI = """
import os

async def app(scope, receive, send):
    assert scope["type"] == "http"
    body = b"asgi pid %d" % os.getpid()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
"""

HELLO_WSGI = """
import os

def app(environ, start_response):
    body = b"wsgi pid %d" % os.getpid()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


@pytest.fixture
def daemon() -> Iterator[DaemonProcess]:
    d = DaemonProcess()
    try:
        yield d
    finally:
        assert d.stop() == 0


def command(args: list[str], cwd: Path, socket_path: str) -> subprocess.Popen[str]:
    env = dict(os.environ, HTTPSYS_DAEMON_SOCKET=socket_path)
    return subprocess.Popen(
        [sys.executable, "-m", "httpsys.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def get(port: int, path: str = "/") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_serving(process: subprocess.Popen[str], port: int, path: str = "/", timeout: float = 20.0) -> bytes:
    """The first 200 body from `path`, once the command answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the command exited with {process.returncode}: {err or out}")
        try:
            status, body = get(port, path)
        except OSError:
            time.sleep(0.05)
            continue
        if status == 200:
            return body
        time.sleep(0.05)
    pytest.fail("the command never answered")


def listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on TCP `port` (IPv4 and IPv6), from /proc/net."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    inodes.add(inode)
    return inodes


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def stop(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=20)
    return process.returncode, out, err


def assert_served_by_daemon(daemon: DaemonProcess, process: subprocess.Popen[str], port: int) -> None:
    """The port's listener is a socket of the daemon's, not of the command's; the command is a daemon client."""
    listeners = listening_inodes(port)
    assert listeners, "nothing listens on the port"
    assert listeners <= socket_inodes(daemon.process.pid)
    assert not listeners & socket_inodes(process.pid)
    assert f"pid={process.pid} " in daemon.stderr()


@pytest.mark.parametrize(("source", "kind"), [(HELLO_ASGI, b"asgi"), (HELLO_WSGI, b"wsgi")])
def test_run_serves_through_the_daemon_and_sigterm_leaves_the_daemon_running(
    daemon: DaemonProcess, tmp_path: Path, source: str, kind: bytes
) -> None:
    (tmp_path / "hello.py").write_text(source)
    port = free_port()
    process = command(["run", "hello:app", "--port", str(port)], tmp_path, daemon.path)
    try:
        body = wait_serving(process, port)
        assert body == kind + b" pid %d" % process.pid  # the application runs in the command's process
        assert_served_by_daemon(daemon, process, port)
    finally:
        status, out, err = stop(process)
    assert status == 0, err
    assert f"httpsys running hello:app ({kind.decode().upper()})" in out
    assert daemon.process.poll() is None  # the daemon serves on; the fixture stops it (exit 0)
    with pytest.raises(OSError):
        get(port)  # the command's registration left with it


def test_serve_and_demo_go_through_the_daemon(daemon: DaemonProcess, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "hello.txt").write_bytes(b"hello through the daemon\n")
    port = free_port()
    serve = command(["serve", str(site), "--port", str(port)], tmp_path, daemon.path)
    try:
        assert wait_serving(serve, port, "/hello.txt") == b"hello through the daemon\n"  # a file chunk's fd
        assert_served_by_daemon(daemon, serve, port)
    finally:
        assert stop(serve)[0] == 0
    port = free_port()
    demo = command(["demo", "--url", f"http://127.0.0.1:{port}/"], tmp_path, daemon.path)
    try:
        assert b"requests" in wait_serving(demo, port, "/_stats.json")
        assert_served_by_daemon(daemon, demo, port)
    finally:
        assert stop(demo)[0] == 0


@pytest.mark.parametrize(
    "args", [["run", "hello:app"], ["run", "hello:app", "--workers", "2"], ["serve", "."], ["demo"]]
)
def test_a_missing_daemon_is_one_line_naming_the_socket_and_exit_1_at_once(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "hello.py").write_text(HELLO_ASGI)
    missing = str(tmp_path / "no-daemon.sock")
    started = time.monotonic()
    process = command([*args, "--port", str(free_port())], tmp_path, missing)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1
    assert time.monotonic() - started < 10
    errors = [line for line in err.splitlines() if missing in line and "no httpsys daemon" in line]
    assert len(errors) == 1, err
    assert "HTTPSYS_DAEMON_SOCKET" in errors[0] and "ERROR_SERVICE_NOT_ACTIVE" in errors[0]
    if "--workers" not in args:
        assert err.splitlines() == errors  # the single line
    assert "Traceback" not in err and "running" not in out


def test_a_url_registered_by_another_process_through_the_daemon_is_named_so(
    daemon: DaemonProcess, tmp_path: Path
) -> None:
    """Through the daemon a port is shared by URL prefix: a second command on a URL the first one registered is
    told that the URL is already registered with the daemon (ERROR_ALREADY_EXISTS), exit 2, and the first one
    serves on; a second command on another path of the same port serves beside it."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "hello.txt").write_bytes(b"first\n")
    port = free_port()
    first = command(["serve", str(site), "--port", str(port)], tmp_path, daemon.path)
    try:
        assert wait_serving(first, port, "/hello.txt") == b"first\n"
        second = command(["serve", str(site), "--port", str(port)], tmp_path, daemon.path)
        _out, err = second.communicate(timeout=30)
        assert second.returncode == 2
        assert err.splitlines() == [
            f"httpsys: URL prefix 'http://127.0.0.1:{port}/' (ERROR_ALREADY_EXISTS): already registered with the "
            "daemon, by another process or another --url"
        ]
        other = tmp_path / "other"
        other.mkdir()
        (other / "hello.txt").write_bytes(b"second\n")
        beside = command(["serve", str(other), "--url", f"http://127.0.0.1:{port}/other/"], tmp_path, daemon.path)
        try:
            assert wait_serving(beside, port, "/other/hello.txt") == b"second\n"
            assert get(port, "/hello.txt") == (200, b"first\n")
        finally:
            assert stop(beside)[0] == 0
    finally:
        assert stop(first)[0] == 0
