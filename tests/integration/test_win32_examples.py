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
from ports import free_port

ROOT = Path(__file__).resolve().parents[2]
ECHO_SERVER = ROOT / "examples" / "win32" / "echo_server.py"
WEBSOCKET_ECHO = ROOT / "examples" / "win32" / "websocket_echo.py"


def test_docs_page_shows_the_win32_example_files_verbatim() -> None:
    page = (ROOT / "docs" / "win32.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    for example in (ECHO_SERVER, WEBSOCKET_ECHO):
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
