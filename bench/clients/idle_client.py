"""Load client for the idle-connection scenario: open N keep-alive connections, one request each, then hold them.

Responsibility: open the connections (a bounded number connecting at once), read each one's response, report
"BENCH_READY" so bench/run.py can sample the server's memory, wait for a line on stdin, count how many
connections the server still holds open, close them all with a reset (no TIME_WAIT left behind), and print one
JSON line. It must not talk to anything but 127.0.0.1 and must stop by itself (every wait is bounded).

usage: idle_client.py PORT PATH CONNECTIONS [CONCURRENCY=200] [TIMEOUT=60]
"""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import struct
import sys
import time

HOST = "127.0.0.1"


async def read_response(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> bool:
    """Read one response with a Content-Length body; True if it was a 200."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = await loop.sock_recv(sock, 65536)
        if not more:
            return False
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        more = await loop.sock_recv(sock, 65536)
        if not more:
            return False
        body += more
    return lines[0].split(b" ")[1:2] == [b"200"]


async def open_one(
    loop: asyncio.AbstractEventLoop,
    port: int,
    request: bytes,
    gate: asyncio.Semaphore,
    held: list[socket.socket],
) -> bool:
    async with gate:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (HOST, port))
            await loop.sock_sendall(sock, request)
            ok = await read_response(loop, sock)
        except OSError:
            ok = False
        if ok:
            held.append(sock)
        else:
            sock.close()
        return ok


def still_open(sock: socket.socket) -> bool:
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def reset_close(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


async def main() -> None:
    port, path, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    concurrency = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 60.0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 1024), hard))
    loop = asyncio.get_running_loop()
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode()
    gate = asyncio.Semaphore(concurrency)
    held: list[socket.socket] = []
    started = time.monotonic()
    jobs = [asyncio.ensure_future(open_one(loop, port, request, gate, held)) for _ in range(count)]
    _done, pending = await asyncio.wait(jobs, timeout=timeout)
    for job in pending:
        job.cancel()
    opened = len(held)
    print(f"BENCH_READY {opened} {time.monotonic() - started:.3f}", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    alive = sum(1 for sock in held if still_open(sock))
    for sock in held:
        reset_close(sock)
    result = {
        "requested": count,
        "opened": opened,
        "failed": count - opened,
        "alive_at_measure": alive,
        "open_seconds": time.monotonic() - started,
        "timed_out": len(pending),
    }
    print("BENCH_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
