"""`ServerSession.drain` (the driver's `drain_server_session`, decision 0012) is scoped to one server session:
a port another session still uses keeps accepting, that session's connections stay keep-alive, and a connection
that reaches the draining session later is drained then. One event loop hosts the driver and the clients."""

from __future__ import annotations

import asyncio

import pytest
import uvloop
from conftest import free_port

from httpsys.aio import Request, ServerSession
from httpsys.aio.objects import driver_for_loop

REQUEST = "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> dict[str, str]:
    """One request on an open connection; the response's headers (its body is `ok`)."""
    writer.write(REQUEST.format(path).encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    assert head.startswith(b"HTTP/1.1 200") and await reader.readexactly(2) == b"ok"
    return headers


async def serve(session: ServerSession, url: str, tasks: set[asyncio.Task[None]]) -> asyncio.Task[None]:
    queue = session.request_queue()
    group = session.url_group()
    group.add_url(url)
    group.bind(queue)

    async def answer(request: Request) -> None:
        await request.respond(200, {"Content-Length": "2"}, b"ok")

    async def receive() -> None:
        async for request in queue:
            task = asyncio.get_running_loop().create_task(answer(request))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    return asyncio.get_running_loop().create_task(receive())


async def scenario() -> None:
    port = free_port()
    a, b = ServerSession().open(), ServerSession().open()
    a_tasks: set[asyncio.Task[None]] = set()
    b_tasks: set[asyncio.Task[None]] = set()
    receivers = [
        await serve(a, f"http://127.0.0.1:{port}/a/", a_tasks),
        await serve(b, f"http://127.0.0.1:{port}/b/", b_tasks),
    ]
    try:
        to_a = await asyncio.open_connection("127.0.0.1", port)
        to_b = await asyncio.open_connection("127.0.0.1", port)
        assert "connection" not in await exchange(*to_a, "/a/1")
        assert "connection" not in await exchange(*to_b, "/b/1")

        drain_a = asyncio.ensure_future(a.drain(a_tasks, timeout=5.0))
        assert await asyncio.wait_for(to_a[0].read(), 5) == b""  # A's idle connection is closed at once
        to_a[1].close()
        assert await drain_a == 0  # ... and once the client closed its side too, the drain is over
        # the port is B's too: it still accepts, and B's connection is still kept alive
        assert "connection" not in await exchange(*to_b, "/b/2")
        late = await asyncio.open_connection("127.0.0.1", port)
        assert "connection" not in await exchange(*late, "/b/3")
        # ... until that connection reaches the draining session: its request is answered, and it is the last
        assert (await exchange(*late, "/a/2"))["connection"] == "close"
        assert await asyncio.wait_for(late[0].read(), 5) == b""

        drain_b = asyncio.ensure_future(b.drain(b_tasks, timeout=5.0))
        assert await asyncio.wait_for(to_b[0].read(), 5) == b""
        with pytest.raises(ConnectionRefusedError):  # every session on the port drains: the port closed
            await asyncio.open_connection("127.0.0.1", port)
        for _reader, writer in (to_b, late):
            writer.close()
        assert await drain_b == 0
    finally:
        for receiver in receivers:
            receiver.cancel()
        a.close()
        b.close()
        driver_for_loop().close()


def test_draining_one_session_leaves_the_port_and_connections_of_another() -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())
