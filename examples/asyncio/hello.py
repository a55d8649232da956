"""Hello world on the asyncio face: `python examples/asyncio/hello.py PORT [COUNT]` serves COUNT requests."""

import asyncio
import sys

import httpsys


async def main(port: int, count: int) -> None:
    async with httpsys.ServerSession() as session:
        async with session.request_queue() as queue:
            group = session.url_group()
            group.add_url(f"http://+:{port}/")
            group.bind(queue)
            print("ready", flush=True)
            for _ in range(count):
                request = await queue.receive()
                await request.respond(200, {"Content-Type": "text/plain"}, b"Hello, world!")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000))
