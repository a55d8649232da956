"""The remote transport served by the application's own event loop (decision 0025), with a real daemon.

An asyncio application through the daemon runs no private driver thread: the loop reads the daemon's socket and
settles the awaitables itself. Synchronous calls made on that loop wait while serving the connection (other
completions keep arriving), calls from other threads are handed to the loop, a daemon that goes away fails
pending and later calls at once, and a small final response completes once handed over (a head the driver
refuses is still raised at once), with a failure the daemon reports later logged and raised by the request's next
call, and no response byte lost.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator

import pytest

from conformance.daemon_process import DaemonProcess
from conformance.harness import free_port
from httpsys import HttpSysError, ServerSession
from httpsys._transport.remote import RemoteTransport
from httpsys.aio.objects import RequestQueue
from httpsys.errors import InvalidParameterError


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[DaemonProcess]:
    d = DaemonProcess()
    monkeypatch.setenv("HTTPSYS_DAEMON_SOCKET", d.path)
    try:
        yield d
    finally:
        d.stop()


def exchange(port: int, raw: bytes, timeout: float = 10.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        return data


def get(port: int, path: str = "/") -> bytes:
    return exchange(port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())


def serve(test: Callable[[ServerSession, RequestQueue, int], Awaitable[None]]) -> None:
    async def main() -> None:
        port = free_port()
        async with ServerSession() as session, session.request_queue() as queue:
            group = session.url_group()
            group.add_url(f"http://127.0.0.1:{port}/")
            group.bind(queue)
            await test(session, queue, port)

    asyncio.run(main())


def test_an_asyncio_application_runs_no_driver_thread(daemon: DaemonProcess) -> None:
    async def body(session: ServerSession, queue: RequestQueue, port: int) -> None:
        transport = session.transport
        assert isinstance(transport, RemoteTransport)
        assert transport.served_by_caller_loop
        assert transport.on_driver_thread()
        assert not [t for t in threading.enumerate() if t.name == "httpsys-remote"]
        client = asyncio.get_running_loop().run_in_executor(None, get, port)
        request = await queue.receive()
        await request.respond(200, {"Content-Type": "text/plain"}, b"served by the loop")
        answer = await client
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        assert answer.endswith(b"served by the loop")

    serve(body)


def test_a_synchronous_call_on_the_loop_lets_completions_arrive_meanwhile(daemon: DaemonProcess) -> None:
    async def body(session: ServerSession, queue: RequestQueue, port: int) -> None:
        waiting = asyncio.ensure_future(queue.receive())
        await asyncio.sleep(0.05)  # the receives are posted
        client = asyncio.get_running_loop().run_in_executor(None, get, port)
        await asyncio.sleep(0.3)  # the request is on its way to this process
        for _ in range(20):  # synchronous round trips on the loop thread
            assert queue.queue_length > 0
        request = await asyncio.wait_for(waiting, 10)
        await request.respond(200, None, b"ok")
        assert (await client).endswith(b"ok")

    serve(body)


def test_calls_from_another_thread_are_handed_to_the_loop(daemon: DaemonProcess) -> None:
    async def body(session: ServerSession, queue: RequestQueue, port: int) -> None:
        transport = session.transport
        loop = asyncio.get_running_loop()
        stats = await loop.run_in_executor(None, transport.statistics)
        assert isinstance(stats, dict) and stats
        code, length = await loop.run_in_executor(None, transport.query_queue_property, queue.handle, 4)
        assert code == 0 and isinstance(length, int)

    serve(body)


def test_a_daemon_that_goes_away_fails_pending_and_later_calls_at_once(daemon: DaemonProcess) -> None:
    async def body(session: ServerSession, queue: RequestQueue, port: int) -> None:
        waiting = asyncio.ensure_future(queue.receive())
        await asyncio.sleep(0.05)
        daemon.process.kill()
        with pytest.raises(HttpSysError):
            await asyncio.wait_for(waiting, 10)
        with pytest.raises(HttpSysError):
            session.url_group()  # a synchronous call after the loss: an error, never a hang

    serve(body)  # closing the session's objects after the loss returns too


def test_a_small_response_completes_once_handed_over_and_no_byte_is_lost(daemon: DaemonProcess) -> None:
    bodies = [bytes([65 + i % 26]) * (1000 * (i + 1)) for i in range(40)]  # 1 000 .. 40 000 bytes

    async def body(session: ServerSession, queue: RequestQueue, port: int) -> None:
        assert queue._early
        loop = asyncio.get_running_loop()
        clients = [loop.run_in_executor(None, get, port, f"/{i}") for i in range(len(bodies))]
        for _ in bodies:
            request = await queue.receive()
            index = int(request.path[1:])
            sent = await request.respond(200, {"Content-Type": "application/octet-stream"}, bodies[index])
            assert sent == len(bodies[index])  # the body handed over: the daemon's answer is not awaited
        answers = await asyncio.gather(*clients)
        for index, answer in enumerate(answers):
            head, _, got = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK"), head
            assert got == bodies[index]
        for _ in range(500):  # the daemon's completions follow the bytes the clients already have
            if queue._early_bytes == 0:
                break
            await asyncio.sleep(0.01)
        assert queue._early_bytes == 0  # every completion came back and was accounted

    serve(body)


def test_a_head_the_driver_refuses_is_raised_by_respond_as_embedded(daemon: DaemonProcess) -> None:
    async def body(session: ServerSession, queue: RequestQueue, port: int) -> None:
        client = asyncio.get_running_loop().run_in_executor(None, get, port)
        request = await queue.receive()
        # a header value with a line break: checked before handing over, so the daemon's refusal is awaited
        with pytest.raises(InvalidParameterError):
            await request.respond(200, {"X-Bad": "a\nb"}, b"never sent")
        await request.respond(200, None, b"replaced")  # the request is still open: another response may go
        assert (await client).endswith(b"replaced")

    serve(body)


def test_a_failure_the_daemon_reports_later_is_logged_and_raised_by_the_next_call(
    daemon: DaemonProcess, caplog: pytest.LogCaptureFixture
) -> None:
    async def body(session: ServerSession, queue: RequestQueue, port: int) -> None:
        client = asyncio.get_running_loop().run_in_executor(None, get, port)
        request = await queue.receive()
        assert session.transport.cancel_request(queue.handle, request.request_id) == 0
        await request.respond(200, None, b"too late")  # handed over: returns before the daemon answers
        for _ in range(500):
            if request._failure:
                break
            await asyncio.sleep(0.01)
        assert request._failure
        with pytest.raises(HttpSysError) as failure:  # the request's next call raises the failure
            await request.read_chunk()
        assert failure.value.winerror == request._failure
        assert b"too late" not in await client

    with caplog.at_level(logging.INFO, logger="httpsys.aio"):
        serve(body)
    messages = [r.getMessage() for r in caplog.records if r.name == "httpsys.aio"]
    assert any("was not delivered" in m or "failed after respond() returned" in m for m in messages), messages


def test_a_big_response_still_waits_for_the_daemon(daemon: DaemonProcess) -> None:
    async def body(session: ServerSession, queue: RequestQueue, port: int) -> None:
        big = b"z" * (256 << 10)
        client = asyncio.get_running_loop().run_in_executor(None, get, port)
        request = await queue.receive()
        sent = await request.respond(200, None, big)
        assert sent > len(big)  # the daemon's count, head included: this send was awaited
        assert (await client).endswith(big)

    serve(body)


def test_closing_a_loop_served_connection_on_its_loop_releases_its_descriptors(daemon: DaemonProcess) -> None:
    async def main() -> None:
        before = len(os.listdir("/proc/self/fd"))
        transport = RemoteTransport(daemon.path, io_barrier=False, loop=asyncio.get_running_loop())
        assert len(os.listdir("/proc/self/fd")) == before + 3  # the socket and the hand-over pipe
        code, session_id = transport.create_server_session((2, 0))
        assert code == 0 and session_id
        transport.close()
        assert len(os.listdir("/proc/self/fd")) == before
        code, _ = transport.create_server_session((2, 0))
        assert code != 0  # a closed connection fails calls at once
        await asyncio.sleep(0)  # the loop goes on running

    asyncio.run(main())


def test_a_forked_child_fails_at_once_and_leaves_the_parents_connection_working(daemon: DaemonProcess) -> None:
    async def body(session: ServerSession, queue: RequestQueue, port: int) -> None:
        transport = session.transport
        pid = os.fork()
        if pid == 0:  # the child: every call fails at once, never waits for the parent's loop
            code, _ = transport.create_server_session((2, 0))
            os._exit(0 if code != 0 else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        code, session_id = transport.create_server_session((2, 0))  # the parent's connection still works
        assert code == 0 and session_id
        assert transport.close_server_session(session_id) == 0

    serve(body)
