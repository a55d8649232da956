"""httpsys variant: the ASGI adapter (`httpsys.asgi.ASGIServer`) running the same raw ASGI app as the peers.

Responsibility: start the adapter on one URL prefix with bench_asgi.app, on uvloop, until SIGTERM. It must not
change the application: the comparison with uvicorn, granian and hypercorn is only fair with the identical app.

`ASGIServer(app, urls).run()` is taken either way it may come: a coroutine (awaited with a stop event that
SIGTERM sets) or a blocking call.

usage: httpsys_asgi.py PORT   (the file route reads $BENCH_FILE, as for the peers)
"""

from __future__ import annotations

import asyncio
import inspect
import signal
import sys

import uvloop
from bench_asgi import app

from httpsys.asgi import ASGIServer


async def serve_until_signal(server: ASGIServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await server.run(stop)


if __name__ == "__main__":
    port = int(sys.argv[1])
    server = ASGIServer(app, [f"http://127.0.0.1:{port}/"])
    print(f"httpsys asgi on 127.0.0.1:{port}", flush=True)
    if inspect.iscoroutinefunction(server.run):
        uvloop.run(serve_until_signal(server))
    else:
        server.run()
