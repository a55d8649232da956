"""An upgrade to an opaque byte stream: a line-echo protocol over `Upgrade: echo`. `python websocket_echo.py PORT`.

The same mechanism carries WebSocket (see httpsys.asgi for a full WebSocket implementation with wsproto).
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
            for _ in range(count):
                request = await queue.receive()
                if request.headers.get("upgrade") != "echo":
                    await request.respond(426, {"Upgrade": "echo"}, b"upgrade required")
                    continue
                stream = await request.upgrade({"Upgrade": "echo", "Connection": "Upgrade"})
                while data := await stream.read():
                    await stream.write(data.upper())
                await stream.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000))
