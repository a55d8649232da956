"""The win32 examples run as their users run them: the echo server in a subprocess, spoken to over loopback.

docs/win32.md shows the example files verbatim (checked here); the WebSocket example is driven by
test_win32_websocket.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from ports import free_port

ROOT = Path(__file__).resolve().parents[2]
ECHO_SERVER = ROOT / "examples" / "win32" / "echo_server.py"
WEBSOCKET_ECHO = ROOT / "examples" / "win32" / "websocket_echo.py"
IOCP_SERVER = ROOT / "examples" / "win32" / "iocp_server.py"


def test_docs_page_shows_the_win32_example_files_verbatim() -> None:
    page = (ROOT / "docs" / "win32.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    for example in (ECHO_SERVER, WEBSOCKET_ECHO, IOCP_SERVER):
        assert example.read_text() in blocks, example.name


def test_echo_server_echoes_bodies_handles_large_heads_and_exits_after_count() -> None:
    port = free_port()
    env = dict(os.environ)  # the example imports the httpsys installed in this environment (source or wheel)
    proc = subprocess.Popen(
        [sys.executable, str(ECHO_SERVER), "--url", f"http://+:{port}/", "--count", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == f"listening on http://+:{port}/"
        big = os.urandom(200_000)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            first = http.post("/echo", content=b"hello", headers={"Content-Type": "text/plain"})
            assert (first.status_code, first.content) == (200, b"hello")
            assert first.headers["content-type"] == "text/plain"
            second = http.post("/big", content=big)
            assert second.content == big
            assert second.headers["content-type"] == "application/octet-stream"
            third = http.get("/empty", headers={"X-Large": "x" * 6000})  # over the 4 KB request buffer
            assert third.status_code == 200 and third.content == b""
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "served 3 requests" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("driver", ["alertable", "driver-thread"])
def test_iocp_server_answers_every_route_with_large_heads_and_stops_on_sigterm(
    tmp_path: Path, driver: str
) -> None:
    port = free_port()
    big_file = tmp_path / "big.bin"
    content = os.urandom(3 * 1024 * 1024 + 17)
    big_file.write_bytes(content)
    argv = [sys.executable, str(IOCP_SERVER), "--url", f"http://+:{port}/", "--outstanding", "8"]
    if driver == "driver-thread":
        argv.append("--driver-thread")
    proc = subprocess.Popen(
        [*argv, "--file", str(big_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == f"iocp server (8 receives, 1 threads) on http://+:{port}/"
        body = os.urandom(200_000)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            for _ in range(20):  # more requests than receives outstanding: each context is reused
                hello = http.get("/")
                assert (hello.status_code, hello.content) == (200, b"Hello, world!")
            assert http.post("/echo", content=body).content == body  # read in 64 KiB overlapped reads
            assert http.post("/echo", content=b"").content == b""
            stream = http.get("/stream")  # 100 HttpSendResponseEntityBody(MORE_DATA) writes of 1 KiB
            assert (stream.status_code, stream.content) == (200, b"x" * 102_400)
            assert http.get("/big.bin").content == content  # HttpDataChunkFromFileHandle
            large = http.get(
                "/", headers={"X-Large": "x" * 15_800}
            )  # over the 16 KiB buffer: ERROR_MORE_DATA
            assert large.content == b"Hello, world!"
            assert http.get("/missing").status_code == 404
        proc.terminate()
        _out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
