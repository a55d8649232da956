"""In-process hello harness: keep-alive `GET /` through the asyncio face or the ASGI adapter, with no sockets.

Responsibility: drive a fixed number of requests through the real driver and one face (the asyncio-face server of
bench/servers/httpsys_aio.py, or `ASGIServer` running bench/servers/bench_asgi.py's app) on fake transports, so
that the server's instructions per request can be compared without the kernel, the client or wrk (decision 0031,
amendment 1). It must not be used for wall-clock figures: it leaves out the sockets and uvloop's I/O.

usage: inprocess_hello.py aio|asgi WARMUP REQUESTS [PORT]
    prints the CPU µs per request on stderr; under callgrind take (Ir(N2) - Ir(N1)) / (N2 - N1) of two runs:
    valgrind --tool=callgrind python bench/inprocess_hello.py asgi 1000 1000
    valgrind --tool=callgrind python bench/inprocess_hello.py asgi 1000 6000
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent / "servers"))

from httpsys._engine.http11 import Http11Connection
from httpsys.aio.objects import driver_for_loop

CONNECTIONS = 50


class CountingTransport:
    """The parts of an asyncio transport the connection uses; counts writes (one per response here)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.writes = 0
        self.closing = False

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", self.port)}.get(name, default)

    def write(self, data: object) -> None:
        self.writes += 1

    def writelines(self, segments: object) -> None:
        self.writes += 1

    def is_closing(self) -> bool:
        return self.closing

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


async def drive(driver: Any, port: int, rounds: int) -> None:
    """`rounds` rounds of one request on each of CONNECTIONS keep-alive connections, each round answered."""
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: wrk\r\n\r\n" % port
    connections = []
    for _ in range(CONNECTIONS):
        connection = Http11Connection(driver, port, "http")
        transport = CountingTransport(port)
        connection.connection_made(transport)  # type: ignore[arg-type]
        connections.append((connection, transport))
    for _ in range(rounds):
        wanted = [transport.writes + 1 for _, transport in connections]
        for connection, _ in connections:
            connection.data_received(request)
        for _ in range(1000):
            if all(t.writes >= w for (_, t), w in zip(connections, wanted, strict=True)):
                break
            await asyncio.sleep(0)
        else:
            raise SystemExit("a round was not answered")
    for connection, transport in connections:
        transport.closing = True
        connection.connection_lost(None)


async def main(kind: str, warmup: int, requests: int, port: int) -> None:
    driver = driver_for_loop().driver
    if kind == "aio":
        from httpsys_aio import serve

        task = asyncio.ensure_future(serve(port, None))
        await asyncio.sleep(0.2)
    else:
        from bench_asgi import app

        from httpsys.asgi import ASGIServer

        server = ASGIServer(app, [f"http://127.0.0.1:{port}/"])
        task = asyncio.ensure_future(server.run(asyncio.Event()))
        await server.started.wait()
    await drive(driver, port, warmup // CONNECTIONS)
    rounds = requests // CONNECTIONS
    started = time.process_time()
    await drive(driver, port, rounds)
    spent = time.process_time() - started
    print(
        f"{kind}: {rounds * CONNECTIONS} requests, {spent / (rounds * CONNECTIONS) * 1e6:.2f} µs CPU each",
        file=sys.stderr,
    )
    sys.stderr.flush()
    del task
    os._exit(0)  # the instructions of a shutdown are not the question here


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[1] not in ("aio", "asgi"):
        raise SystemExit(__doc__)
    uvloop.run(
        main(
            sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 18931
        )
    )
