"""Two URL groups, two queues, one port — routed by URL prefix: `python routing.py PORT [COUNT]`."""

import asyncio
import sys

import httpsys


async def serve(queue: httpsys.RequestQueue, name: bytes, count: int) -> None:
    for _ in range(count):
        request = await queue.receive()
        body = b"%s saw %s (context %d)" % (name, request.path.encode(), request.url_context)
        await request.respond(200, {"Content-Type": "text/plain"}, body)


async def main(port: int, count: int) -> None:
    async with httpsys.ServerSession() as session:
        api_queue = session.request_queue()
        site_queue = session.request_queue()
        api = session.url_group()
        api.add_url(f"http://+:{port}/api/", context=1)
        api.bind(api_queue)
        site = session.url_group()
        site.add_url(f"http://+:{port}/", context=2)
        site.bind(site_queue)
        print("ready", flush=True)
        await asyncio.gather(serve(api_queue, b"api", count), serve(site_queue, b"site", count))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000))
