"""The alertable driver (HTTPSYS_WIN32_ALERTABLE, decision 0023 amendment 2): its loop runs on the threads that
wait, a one-thread completion-port server crosses no thread, and a program that never waits is still served.

The whole conformance suite also passes with HTTPSYS_WIN32_ALERTABLE=1 (the last test runs the 32-thread stress
test that way).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from httpsys._transport.alertable import AlertableTransport
from httpsys.win32 import *
from httpsys.win32 import api as win32_api

from .harness import ALL_INIT, EMBEDDED, RawClient, Server, make_response, make_server

pytestmark = pytest.mark.skipif(not EMBEDDED, reason="the alertable driver is an embedded transport")

ROOT = Path(__file__).resolve().parents[2]
HELLO = b"Hello, world!"


@pytest.fixture
def alertable() -> Iterator[tuple[AlertableTransport, Server]]:
    made: list[AlertableTransport] = []

    def factory() -> AlertableTransport:
        made.append(AlertableTransport())
        return made[0]

    win32_api.set_transport_factory(factory)
    assert HttpInitialize(HTTPAPI_VERSION_2, ALL_INIT, None) == NO_ERROR
    try:
        yield made[0], make_server()
    finally:
        assert HttpTerminate(ALL_INIT, None) == NO_ERROR
        win32_api.set_transport_factory(None)


def _hello() -> HTTP_RESPONSE_V2:
    return make_response(200, b"OK", HELLO)


def test_one_completion_port_thread_runs_the_driver_itself_and_hands_nothing_over(
    alertable: tuple[AlertableTransport, Server],
) -> None:
    transport, server = alertable
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, 0, 0, 1)
    assert port and CreateIoCompletionPort(server.queue, port, 1, 0) == port
    total = 60
    answers: list[bytes] = []

    def clients() -> None:
        for _ in range(3):
            c = RawClient(server.port)
            for _ in range(total // 3):
                c.get("/")
                answers.append(c.recv_response()[2])
            c.close()

    loop_threads: set[int] = set()
    contexts = [OVERLAPPED() for _ in range(4)]
    requests = {id(ov): HTTP_REQUEST_V2() for ov in contexts}
    for ov in contexts:
        assert (
            HttpReceiveHttpRequest(server.queue, 0, 0, requests[id(ov)], 16384, None, ov) == ERROR_IO_PENDING
        )
    worker = threading.Thread(target=clients)
    worker.start()
    nbytes, key, holder = ctypes.c_ulong(), ctypes.c_size_t(), LPOVERLAPPED()
    served = 0
    while served < total:
        assert GetQueuedCompletionStatus(port, nbytes, key, holder, 10_000), GetLastError()
        ov = holder.value
        assert ov is not None
        if transport.on_driver_thread():
            loop_threads.add(threading.get_ident())  # never: the loop is not ours between waits
        request = requests[id(ov)]
        sent = ctypes.c_ulong()
        assert (
            HttpSendHttpResponse(
                server.queue, request.RequestId, 0, _hello(), None, sent, None, 0, None, None
            )
            == 0
        )
        served += 1
        code = HttpReceiveHttpRequest(server.queue, 0, 0, request, 16384, None, ov)
        assert code in (ERROR_IO_PENDING, NO_ERROR)
    worker.join(10)
    assert answers == [HELLO] * total
    assert not loop_threads
    # each hand-over is a thread crossing; with the driver on its own thread every call above would be one
    assert transport.handed_over <= total // 10
    CloseHandle(port)


def test_a_program_that_never_waits_is_served_by_the_standby_thread(
    alertable: tuple[AlertableTransport, Server],
) -> None:
    _transport, server = alertable
    event = CreateEvent(None, True, False, None)
    ov = OVERLAPPED(hEvent=event)
    request = HTTP_REQUEST_V2()
    assert HttpReceiveHttpRequest(server.queue, 0, 0, request, 16384, None, ov) == ERROR_IO_PENDING
    client = RawClient(server.port)
    client.get("/polled")
    deadline = time.monotonic() + 5
    while not HasOverlappedIoCompleted(ov):  # polling, never blocking in the face
        assert time.monotonic() < deadline, "the receive never completed without a waiting thread"
        time.sleep(0.005)
    assert request.pRawUrl == b"/polled"
    sent = ctypes.c_ulong()
    assert (
        HttpSendHttpResponse(server.queue, request.RequestId, 0, _hello(), None, sent, None, 0, None, None)
        == 0
    )
    # a blocking socket read: the send completes with nobody waiting in the face
    assert client.recv_response()[2] == HELLO
    client.close()
    CloseHandle(event)


def test_a_wait_times_out_while_another_thread_runs_the_loop(
    alertable: tuple[AlertableTransport, Server],
) -> None:
    transport, server = alertable
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, 0, 0, 0)
    owner_result: list[bool] = []

    def owner() -> None:
        nbytes, key, holder = ctypes.c_ulong(), ctypes.c_size_t(), LPOVERLAPPED()
        owner_result.append(GetQueuedCompletionStatus(port, nbytes, key, holder, 5_000))

    t = threading.Thread(target=owner)
    t.start()
    time.sleep(0.1)  # the owner runs the loop, blocked in GetQueuedCompletionStatus
    event = CreateEvent(None, True, False, None)
    began = time.monotonic()
    assert WaitForSingleObject(event, 100) == WAIT_TIMEOUT
    assert time.monotonic() - began < 3
    assert PostQueuedCompletionStatus(port, 0, 9, None)
    t.join(5)
    assert owner_result == [True]
    # the loop is free again: a synchronous call from this thread runs it
    client = RawClient(server.port)
    client.get("/sync")
    request = HTTP_REQUEST_V2()
    got = ctypes.c_ulong()
    assert HttpReceiveHttpRequest(server.queue, 0, 0, request, 16384, got, None) == NO_ERROR
    assert request.pRawUrl == b"/sync"
    assert not transport.on_driver_thread()
    CloseHandle(event)
    CloseHandle(port)
    client.close()


def test_a_synchronous_call_from_inside_an_event_loop_is_completed_by_the_standby_thread(
    alertable: tuple[AlertableTransport, Server],
) -> None:
    _transport, server = alertable
    client = RawClient(server.port)
    client.get("/from-asyncio")

    async def blocking_receive() -> tuple[int, bytes | None]:
        # this thread runs its own loop and cannot run the driver's: it parks instead of raising
        request = HTTP_REQUEST_V2()
        got = ctypes.c_ulong()
        code = HttpReceiveHttpRequest(server.queue, 0, 0, request, 16384, got, None)
        return code, request.pRawUrl

    assert asyncio.run(blocking_receive()) == (NO_ERROR, b"/from-asyncio")
    client.close()


@pytest.mark.timeout(120)
def test_the_thirty_two_thread_stress_test_passes_with_the_alertable_driver() -> None:
    env = dict(os.environ, HTTPSYS_WIN32_ALERTABLE="1")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/conformance/test_thread_stress.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout
