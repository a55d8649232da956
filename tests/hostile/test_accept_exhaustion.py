"""Out of descriptors while connections keep arriving (decision 0027): the listener stops watching its socket for a
second at a time instead of spinning on it, the waiting clients stay in the backlog, and it serves again once
descriptors are free. A real server process with a small RLIMIT_NOFILE, real client sockets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from portpool import free_port

SERVER = """
import resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))
from httpsys.asgi import serve

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})

serve(app, [f"http://127.0.0.1:{sys.argv[1]}/"])
"""




def _get(port: int, timeout: float) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        out = b""
        while chunk := s.recv(4096):
            out += chunk
        return out


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_server(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The server process and its port, once it answers. A free port can be taken by a parallel test between
    `free_port()` and the server's bind (the server then exits at once): that start is retried on a new port, at
    most three times; a server that dies for any other reason fails the same way three times."""
    for attempt in range(3):
        port = free_port()
        err_path = tmp_path / f"server-{attempt}.err"  # a file, not a pipe: a server that logs never blocks
        with err_path.open("wb") as err_file:
            proc = subprocess.Popen(
                [sys.executable, "-c", SERVER, str(port)], stdout=subprocess.DEVNULL, stderr=err_file
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                assert _get(port, 2.0).endswith(b"ok")
                return proc, port
            except OSError:
                if proc.poll() is not None:
                    err = err_path.read_text(errors="replace")
                    if attempt == 2:
                        raise AssertionError(f"the server exited at start:\n{err}") from None
                    break
                if time.monotonic() > deadline:
                    proc.kill()
                    raise
                time.sleep(0.1)
    raise AssertionError("unreachable")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_running_out_of_descriptors_neither_spins_nor_loses_the_listener(tmp_path: Path) -> None:
    proc, port = _start_server(tmp_path)
    held: list[socket.socket] = []
    try:
        for _ in range(80):  # more than the server has descriptors for: the rest wait in the backlog
            held.append(socket.create_connection(("127.0.0.1", port), timeout=2.0))
        time.sleep(0.5)
        before = _cpu_seconds(proc.pid)
        time.sleep(1.5)
        used = _cpu_seconds(proc.pid) - before
        assert used < 0.5, f"the server used {used:.2f} s of CPU in 1.5 s while out of descriptors"
        for sock in held:
            sock.close()
        held.clear()
        deadline = time.monotonic() + 10
        while True:  # served again once the held connections are gone (at most one pause later)
            try:
                response = _get(port, 3.0)
            except OSError:
                response = b""
            if response.endswith(b"ok"):
                break
            assert time.monotonic() < deadline, response
            time.sleep(0.2)
        assert proc.poll() is None
    finally:
        for sock in held:
            sock.close()
        proc.terminate()
        proc.wait(10)
