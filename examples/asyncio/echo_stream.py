"""Read a request body as it arrives and stream a chunked answer: `python echo_stream.py PORT [COUNT]`."""

import asyncio
import hashlib
import sys

import httpsys


async def handle(request: httpsys.Request) -> None:
    digest = hashlib.sha256()
    size = 0
    async for chunk in request.stream():
        digest.update(chunk)
        size += len(chunk)
    # No Content-Length: the driver frames the body as chunked for HTTP/1.1 clients.
    writer = await request.start_response(200, {"Content-Type": "text/plain"})
    await writer.write(b"bytes: %d\n" % size)
    await writer.write(b"sha256: %s\n" % digest.hexdigest().encode())
    await writer.finish(trailers={"X-Body-Size": str(size)})


async def main(port: int, count: int) -> None:
    async with httpsys.ServerSession() as session:
        async with session.request_queue() as queue:
            group = session.url_group()
            group.add_url(f"http://+:{port}/upload/")
            group.bind(queue)
            print("ready", flush=True)
            for _ in range(count):
                request = await queue.receive()
                await handle(request)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000))
