"""The asyncio face unchanged on HTTP/2 streams (issue 18 item 3): an application written for HTTP/1.1 — reading
the body, streaming a response with the writer (AUTOMATIC_CHUNKING on HTTP/1.1), trailers, respond() — served to
httpx with http2=True, in-process. (ASGI and WSGI through `httpsys run`: test_clients.py.)"""

from __future__ import annotations

import asyncio

import httpx

import httpsys
from httpsys._core.settings import DriverSettings
from portpool import free_port


async def serve_until(port: int, requests: int) -> list[tuple[str, int]]:
    """Answer `requests` requests; what the application saw (http_version, body length)."""
    seen: list[tuple[str, int]] = []
    async with httpsys.ServerSession(settings=DriverSettings(http2_cleartext=True)) as session:
        async with session.request_queue() as queue:
            group = session.url_group()
            group.add_url(f"http://127.0.0.1:{port}/")
            group.bind(queue)
            ready.set()
            async for request in queue:
                body = await request.read()
                seen.append((request.http_version, len(body)))
                if request.path == "/stream":
                    writer = await request.start_response(200, {"Content-Type": "text/plain"})
                    for i in range(3):
                        await writer.write(b"part %d;" % i)
                    await writer.finish(trailers={"X-Parts": "3"})
                else:
                    await request.respond(200, {"Content-Type": "text/plain"}, b"got %d" % len(body))
                if len(seen) == requests:
                    break
    return seen


ready = asyncio.Event()


def test_asyncio_face_serves_http2_streams_unchanged() -> None:
    port = free_port()

    async def main() -> tuple[list[tuple[str, int]], list[httpx.Response]]:
        ready.clear()
        server = asyncio.create_task(serve_until(port, 3))
        await asyncio.wait_for(ready.wait(), 10)
        async with httpx.AsyncClient(http1=False, http2=True, timeout=10) as client:
            upload = await client.post(f"http://127.0.0.1:{port}/up", content=b"z" * 200_000)
            streamed = await client.get(f"http://127.0.0.1:{port}/stream")
            plain = await client.get(f"http://127.0.0.1:{port}/plain")
        return await asyncio.wait_for(server, 10), [upload, streamed, plain]

    seen, (upload, streamed, plain) = asyncio.run(main())
    assert all(r.http_version == "HTTP/2" for r in (upload, streamed, plain))
    assert upload.content == b"got 200000"
    assert (
        streamed.content == b"part 0;part 1;part 2;"
    )  # the chunk framing of HTTP/1.1 never reaches the wire
    assert "transfer-encoding" not in streamed.headers
    assert plain.content == b"got 0"
    assert seen == [("2.0", 200_000), ("2.0", 0), ("2.0", 0)]
