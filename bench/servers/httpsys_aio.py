"""httpsys variant: the Pythonic asyncio API (`httpsys.ServerSession`), driver hosted on the same uvloop loop.

Responsibility: answer the benchmark routes the way an application written against the asyncio face would: a
receive loop that answers the cheap route inline and gives the others a task. It must not reach under the
public API.

usage: httpsys_aio.py PORT [FILE]
Routes: GET / -> "Hello, world!"; POST /echo -> the body back; GET /stream -> a streamed response written in
100 MORE_DATA writes of 1 KiB; GET /big.bin -> FILE with a file-handle chunk (sendfile).
"""

from __future__ import annotations

import asyncio
import signal
import sys

import uvloop

import httpsys

HELLO_HEADERS = {"Content-Type": "text/plain"}
OCTET_HEADERS = {"Content-Type": "application/octet-stream"}
STREAM_PIECE = b"x" * 1024
STREAM_COUNT = 100
STREAM_HEADERS = {**OCTET_HEADERS, "Content-Length": str(len(STREAM_PIECE) * STREAM_COUNT)}
FILE_HEADERS = OCTET_HEADERS


async def answer(request: httpsys.Request, file_path: str | None) -> None:
    """Every route but the hello world (run as its own task)."""
    path = request.raw_url
    try:
        if path == b"/echo":
            body = await request.read()
            await request.respond(200, OCTET_HEADERS, body)
        elif path == b"/stream":
            writer = await request.start_response(200, STREAM_HEADERS)
            for _ in range(STREAM_COUNT):
                await writer.write(STREAM_PIECE)
            await writer.finish()
        elif path == b"/big.bin" and file_path:
            await request.send_file(file_path, headers=FILE_HEADERS)
        else:
            await request.respond(404)
    except ConnectionError:
        pass  # the client went away mid-response


async def serve(port: int, file_path: str | None) -> None:
    tasks: set[asyncio.Task[None]] = set()
    async with httpsys.ServerSession() as session, session.request_queue() as queue:
        group = session.url_group()
        group.add_url(f"http://127.0.0.1:{port}/")
        group.bind(queue)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, queue.close)
        loop.add_signal_handler(signal.SIGINT, queue.close)
        print(f"httpsys aio listening on 127.0.0.1:{port}", flush=True)
        async for request in queue:
            if request.raw_url == b"/":
                try:
                    await request.respond(200, HELLO_HEADERS, b"Hello, world!")
                except ConnectionError:
                    pass
            else:
                task = asyncio.ensure_future(answer(request, file_path))
                tasks.add(task)
                task.add_done_callback(tasks.discard)


if __name__ == "__main__":
    uvloop.run(serve(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None))
