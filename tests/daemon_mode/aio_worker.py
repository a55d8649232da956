"""An asyncio-face application process on a named request queue through the daemon, for the prefetch tests.

Responsibility: serve `GET /...` with `<pid> ok <path>` from the named queue (creating it and binding the URL when
told to, else opening it with OPEN_EXISTING), keeping the queue's default receives posted ahead; print `ready`
once it receives; on SIGTERM leave the queue the graceful way (`stop_receiving()`, then answer what had already
arrived) and exit 0 printing `served <count>`. It must not reach under the public API.

usage: aio_worker.py create|open QUEUE_NAME PORT   (HTTPSYS_DAEMON_SOCKET set)
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import httpsys


async def main(mode: str, name: str, port: int) -> int:
    served = 0
    pid = str(os.getpid()).encode()
    async with httpsys.ServerSession() as session:
        queue = session.request_queue(name, open_existing=mode == "open")
        if mode == "create":
            group = session.url_group()
            group.add_url(f"http://127.0.0.1:{port}/")
            group.bind(queue)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, queue.stop_receiving)
        first = asyncio.ensure_future(queue.receive())
        await asyncio.sleep(0.2)  # the receives are posted
        print(f"ready {queue.prefetch}", flush=True)
        request = await first
        while True:
            await request.respond(200, {"Content-Type": "text/plain"}, pid + b" ok " + request.raw_url)
            served += 1
            try:
                request = await queue.receive()
            except httpsys.HttpSysError:
                break
        print(f"served {served} left {queue.prefetched}", flush=True)
        queue.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
