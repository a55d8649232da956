"""Let the driver answer repeated requests from its response cache: `python cached.py PORT [COUNT]`.

Each page names the request that built it, so a page the driver answers from its cache shows an older number.
"""

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
            for built in range(1, count + 1):
                request = await queue.receive()
                if request.path == "/flush":  # drop every cached page on this port
                    queue.flush_cache(f"http://+:{port}/", recursive=True)
                    await request.respond(200, {"Content-Type": "text/plain"}, b"flushed")
                    continue
                body = b"page %s built by request %d" % (request.path.encode(), built)
                policy = httpsys.CachePolicy.time_to_live(60)  # or .user_invalidates(): until flushed
                await request.respond(200, {"Content-Type": "text/plain"}, body, cache=policy)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000))
