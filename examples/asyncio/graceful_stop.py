"""Stopping gracefully on the asyncio face: `python examples/asyncio/graceful_stop.py PORT`; SIGTERM drains."""

import asyncio
import signal
import sys

import httpsys


async def handle(request: httpsys.Request) -> None:
    if request.path == "/slow":
        await asyncio.sleep(0.5)
    await request.respond(200, {"Content-Type": "text/plain"}, b"done " + request.path.encode())


async def main(port: int) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with httpsys.ServerSession() as session:
        async with session.request_queue() as queue:
            group = session.url_group()
            group.add_url(f"http://+:{port}/")
            group.bind(queue)
            handlers: set[asyncio.Task[None]] = set()

            async def receive() -> None:
                async for request in queue:
                    task = asyncio.create_task(handle(request))
                    handlers.add(task)
                    task.add_done_callback(handlers.discard)

            receiver = asyncio.create_task(receive())
            print("ready", flush=True)
            await stop.wait()
            # The port stops accepting, idle connections close, the others end with `Connection: close`; the
            # receive loop goes on taking the requests still queued or arriving on them until all are answered.
            left = await session.drain(handlers, timeout=10.0)
            receiver.cancel()
            print(f"stopped: {left} request(s) cut short", flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
