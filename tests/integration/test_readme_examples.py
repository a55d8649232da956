"""The README's quick starts run as shown: each is executed against a real socket."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from ports import free_port

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _block(title: str) -> str:
    match = re.search(rf"## {re.escape(title)}\n\n```python\n(.*?)```", README, re.S)
    assert match, title
    return match.group(1)


def _get(port: int, deadline: float) -> bytes:
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                data = b""
                while b"Hello, world!" not in data:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                return data
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_win32_quick_start_answers_one_request() -> None:
    port = free_port()
    code = _block("Quick start (win32)").replace("8080", str(port))
    answers: list[bytes] = []
    client = threading.Thread(target=lambda: answers.append(_get(port, time.monotonic() + 10)))
    client.start()
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    client.join(10)
    assert answers and answers[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert answers[0].endswith(b"\r\n\r\nHello, world!")
    from httpsys.win32 import HTTP_INITIALIZE_SERVER, HttpTerminate

    HttpTerminate(HTTP_INITIALIZE_SERVER, None)


def test_asyncio_quick_start_answers_hello_world() -> None:
    port = free_port()
    code = _block("Quick start (asyncio)").replace("8080", str(port))
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        answer = _get(port, time.monotonic() + 15)
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        assert answer.endswith(b"Hello, world!")
    finally:
        proc.kill()
        proc.wait(5)
