"""The examples of docs/asyncio.md run against real sockets, and the page shows exactly the example files."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ports import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "asyncio"


def _start(name: str, *args: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / name), str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", proc.stderr.read() if proc.stderr else line
    return proc, port


@pytest.fixture
def running() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait(5)


def test_docs_page_shows_the_example_files_verbatim() -> None:
    page = (ROOT / "docs" / "asyncio.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    for name in (
        "hello.py",
        "echo_stream.py",
        "routing.py",
        "websocket_echo.py",
        "cached.py",
        "graceful_stop.py",
    ):
        assert (EXAMPLES / name).read_text() in blocks, name


def test_hello_example_answers_hello_world(running: list[subprocess.Popen[str]]) -> None:
    proc, port = _start("hello.py", "2")
    running.append(proc)
    with httpx.Client() as client:
        response = client.get(f"http://127.0.0.1:{port}/anything")
        assert response.status_code == 200
        assert response.text == "Hello, world!"
        assert response.headers["server"] == "Microsoft-HTTPAPI/2.0"


def test_echo_stream_example_hashes_the_upload_and_streams_chunked(
    running: list[subprocess.Popen[str]],
) -> None:
    proc, port = _start("echo_stream.py", "1")
    running.append(proc)
    body = bytes(range(256)) * 4096  # 1 MiB
    response = httpx.post(f"http://127.0.0.1:{port}/upload/file", content=body, timeout=10)
    assert response.status_code == 200
    assert response.headers.get("transfer-encoding") == "chunked"
    import hashlib

    assert response.text == f"bytes: {len(body)}\nsha256: {hashlib.sha256(body).hexdigest()}\n"


def test_routing_example_sends_api_and_site_to_their_queues(running: list[subprocess.Popen[str]]) -> None:
    proc, port = _start("routing.py", "1")
    running.append(proc)
    api = httpx.get(f"http://127.0.0.1:{port}/api/users", timeout=5)
    site = httpx.get(f"http://127.0.0.1:{port}/index.html", timeout=5)
    assert api.text == "api saw /api/users (context 1)"
    assert site.text == "site saw /index.html (context 2)"


def test_upgrade_example_echoes_raw_bytes_after_101(running: list[subprocess.Popen[str]]) -> None:
    proc, port = _start("websocket_echo.py", "1")
    running.append(proc)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
        rest = head.split(b"\r\n\r\n", 1)[1]
        sock.sendall(b"hello opaque world")
        deadline = time.monotonic() + 5
        while len(rest) < 18 and time.monotonic() < deadline:
            rest += sock.recv(4096)
        assert rest == b"HELLO OPAQUE WORLD"
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(4096) == b""  # the server closes after the client's end of stream


def test_cached_example_pages_come_from_the_driver_until_flushed(
    running: list[subprocess.Popen[str]],
) -> None:
    proc, port = _start("cached.py")
    running.append(proc)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        assert [client.get("/news").text for _ in range(3)] == ["page /news built by request 1"] * 3
        assert client.get("/about").text == "page /about built by request 2"
        assert client.get("/news").text == "page /news built by request 1"
        assert client.get("/flush").text == "flushed"
        assert client.get("/news").text == "page /news built by request 4"
        assert client.get("/about").text == "page /about built by request 5"


def test_graceful_stop_example_finishes_the_request_in_flight_with_connection_close(
    running: list[subprocess.Popen[str]],
) -> None:
    proc, port = _start("graceful_stop.py")
    running.append(proc)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as idle:
        idle.sendall(b"GET /idle HTTP/1.1\r\nHost: x\r\n\r\n")
        assert idle.recv(65536).endswith(b"done /idle")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as busy:
            busy.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.2)
            proc.send_signal(signal.SIGTERM)
            assert idle.recv(65536) == b""  # the idle keep-alive connection is closed at once
            data = b""
            while chunk := busy.recv(65536):  # the response in flight, then the close
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"\r\nConnection: close" in head and body == b"done /slow"
    out, _err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and out == "stopped: 0 request(s) cut short\n"
