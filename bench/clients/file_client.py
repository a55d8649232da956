"""Load client for the server-bound file scenario: N keep-alive connections, each in its own process, downloading
one URL over and over into a 4 MiB buffer (wrk reads 8 KiB per call and runs out of CPU before a good server).

Responsibility: measure bytes and responses per second for a bounded time, check every response is a 200 with a
Content-Length body, and print one JSON line for bench/run.py. It must not talk to anything but 127.0.0.1.

usage: file_client.py URL [CONNECTIONS=4] [SECONDS=5]
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from urllib.parse import urlsplit

RECV_BUFFER = 4 * 1024 * 1024


def read_head(sock: socket.socket, pending: bytes) -> tuple[int, int, bytes]:
    """(status, content length, bytes after the head) of the next response; -1 length if none was given."""
    data = pending
    while True:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            break
        more = sock.recv(65536)
        if not more:
            raise ConnectionError("server closed the connection")
        data += more
    lines = data[:end].split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = -1
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, length, data[end + 4 :]


def download(url: str, seconds: float, out: int) -> None:
    """One connection's loop; writes "bytes responses errors" to the pipe `out`."""
    parts = urlsplit(url)
    assert parts.hostname in ("127.0.0.1", "localhost", "::1"), "loopback only"
    host, port = parts.hostname, parts.port or 80
    request = f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    buf = bytearray(RECV_BUFFER)
    view = memoryview(buf)
    total = responses = errors = 0
    deadline = time.monotonic() + seconds
    sock = socket.create_connection((host, port))
    pending = b""
    try:
        while time.monotonic() < deadline:
            sock.sendall(request)
            status, length, body = read_head(sock, pending)
            if status != 200 or length < 0:
                errors += 1
                break
            got = min(len(body), length)
            pending = body[length:]
            while got < length:
                n = sock.recv_into(view[: min(RECV_BUFFER, length - got)])
                if not n:
                    raise ConnectionError("server closed the connection")
                got += n
            total += length
            responses += 1
    except (OSError, ValueError, IndexError):
        errors += 1
    finally:
        sock.close()
    os.write(out, f"{total} {responses} {errors}\n".encode())


def main() -> None:
    url = sys.argv[1]
    conns = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
    read_end, write_end = os.pipe()
    started = time.monotonic()
    children = []
    for _ in range(conns):
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            try:
                download(url, seconds, write_end)
            finally:
                os._exit(0)
        children.append(pid)
    os.close(write_end)
    with os.fdopen(read_end) as results:
        rows = [line.split() for line in results]
    for pid in children:
        os.waitpid(pid, 0)
    wall = time.monotonic() - started
    total = sum(int(r[0]) for r in rows)
    responses = sum(int(r[1]) for r in rows)
    errors = sum(int(r[2]) for r in rows) + (conns - len(rows))
    print(
        "BENCH_JSON "
        + json.dumps(
            {
                "requests": responses,
                "bytes": total,
                "duration_s": wall,
                "rps": responses / wall,
                "bytes_per_s": total / wall,
                "errors": errors,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
