"""Hello-world server on the asyncio face (benchmark target): `python bench/hello_aio.py PORT`."""

from __future__ import annotations

import asyncio
import sys

import uvloop

import httpsys

BODY = b"Hello, world!"
HEADERS = {"Content-Type": "text/plain"}


async def main(port: int) -> None:
    async with httpsys.ServerSession() as session:
        async with session.request_queue() as queue:
            group = session.url_group()
            group.add_url(f"http://+:{port}/")
            group.bind(queue)
            async for request in queue:
                await request.respond(200, HEADERS, BODY)


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8080))
