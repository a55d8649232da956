"""Several processes on one daemon (issue 14 item 4): HttpWaitForDemandStart across processes, the response and
fragment caches living in the daemon (served while the application that filled them is stopped or gone), and
what one process may do with another's objects and requests.

Applications are real processes (`app_process.App`) or separate connections (`RemoteTransport`, each one an
owner to the daemon, as a process is). Every test starts its own daemon and stops every process it started.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conformance.daemon_process import DaemonProcess
from conformance.harness import free_port
from daemon_mode.app_process import App
from daemon_mode.test_daemon import get
from httpsys._core.records import CachePolicy, FragmentChunk, MemoryChunk
from httpsys._core.response import ResponseSpec
from httpsys._transport.remote import RemoteTransport
from httpsys.win32 import (
    ERROR_ACCESS_DENIED,
    ERROR_CONNECTION_INVALID,
    ERROR_INVALID_ID_AUTHORITY,
    ERROR_INVALID_PARAMETER,
    ERROR_PATH_NOT_FOUND,
    HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER,
    HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING,
    NO_ERROR,
)

OPEN_EXISTING = HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING
BINDING = 7  # HttpServerBindingProperty
KEEP = CachePolicy(1, 0)  # HttpCachePolicyUserInvalidates


@pytest.fixture
def daemon() -> Iterator[DaemonProcess]:
    d = DaemonProcess()
    try:
        yield d
    finally:
        assert d.stop() == 0


@pytest.fixture
def apps(daemon: DaemonProcess) -> Iterator[Callable[[], App]]:
    started: list[App] = []

    def start() -> App:
        app = App(daemon.path)
        started.append(app)
        return app

    try:
        yield start
    finally:
        for app in started:
            app.stop()


@pytest.fixture
def connect(daemon: DaemonProcess) -> Iterator[Callable[[], RemoteTransport]]:
    opened: list[RemoteTransport] = []

    def make() -> RemoteTransport:
        transport = RemoteTransport(daemon.path)
        opened.append(transport)
        return transport

    try:
        yield make
    finally:
        for transport in reversed(opened):
            transport.close()


def unique(tag: str) -> str:
    return f"{tag}-{os.getpid()}-{time.monotonic_ns()}"


def site(transport: RemoteTransport, queue: int, port: int, path: str = "/") -> int:
    """A session and a group on 127.0.0.1:port`path`, bound to `queue` (a handle of `transport`); the group."""
    code, session = transport.create_server_session((2, 0))
    assert code == NO_ERROR
    code, group = transport.create_url_group(session)
    assert code == NO_ERROR
    assert transport.set_group_property(group, BINDING, queue) == NO_ERROR
    assert transport.add_url(group, f"http://127.0.0.1:{port}{path}", 0) == NO_ERROR
    return group


def io(start: Callable[[Callable[..., None]], None], timeout: float = 10.0) -> tuple[Any, ...]:
    """Start an I/O call with a completion and wait for it; the completion's arguments."""
    got: list[tuple[Any, ...]] = []
    finished = threading.Event()

    def done(*result: Any) -> None:
        got.append(result)
        finished.set()

    start(done)
    assert finished.wait(timeout), "the operation did not complete"
    return got[0]


def in_thread(fn: Callable[[], bytes]) -> tuple[threading.Thread, list[bytes]]:
    result: list[bytes] = []
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    return thread, result


def respond(transport: RemoteTransport, queue: int, request_id: int, body: bytes, policy: Any = None) -> int:
    spec = ResponseSpec(200, b"OK", {}, [])
    code, _sent = io(
        lambda done: transport.send_response(
            queue, request_id, 0, spec, [MemoryChunk(body)], policy, None, done
        )
    )
    return int(code)


def receive(transport: RemoteTransport, queue: int, token: int = 1) -> Any:
    code, snapshot, _length = io(
        lambda done: transport.receive_request(queue, 0, 0, None, True, token, done), timeout=15
    )
    assert code == NO_ERROR and snapshot is not None
    return snapshot


# ----- HttpWaitForDemandStart ---------------------------------------------------------------------------------------


def test_demand_start_wakes_the_controller_process_when_another_process_s_url_gets_the_first_request(
    daemon: DaemonProcess, apps: Callable[[], App], connect: Callable[[], RemoteTransport]
) -> None:
    """The controller (creator, HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER) waits in its own process; the URL is
    registered by another process through the queue it opened by name. The first request wakes the controller
    and stays queued for a receive. A process that only opened the queue may not wait: ERROR_INVALID_ID_AUTHORITY
    (spec: only the controller process)."""
    name = unique("demand")
    controller = apps()
    assert controller.call("queue", name, HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER) == [NO_ERROR]
    worker = connect()
    code, opened = worker.create_request_queue(name, OPEN_EXISTING, False)
    assert code == NO_ERROR
    port = free_port()
    site(worker, opened, port)
    assert io(lambda done: worker.wait_demand_start(opened, 5, done)) == (ERROR_INVALID_ID_AUTHORITY,)
    controller.send("wait_demand")
    assert not controller.pending(wait=0.5)  # no request yet: the controller still waits
    caller, answer = in_thread(lambda: get(port, "/first"))
    assert controller.answer() == [NO_ERROR]  # woken by the first request, in another process
    snapshot = receive(worker, opened)  # the request waited on the queue meanwhile
    assert respond(worker, opened, snapshot.request_id, b"started on demand") == NO_ERROR
    caller.join(10)
    assert answer and answer[0].startswith(b"HTTP/1.1 200 OK") and answer[0].endswith(b"started on demand")


# ----- the caches live in the daemon --------------------------------------------------------------------------------


def test_a_cached_response_is_served_while_its_process_is_stopped_and_after_it_exits(
    daemon: DaemonProcess, apps: Callable[[], App], connect: Callable[[], RemoteTransport]
) -> None:
    """The response cache belongs to the daemon's URL registrations, not to the process that filled it: a hit
    needs no application, so it is served while that process is SIGSTOPped and after it is gone, as long as the
    registration (and its queue) lives; when the registering process goes, its entries go with its URLs, and a
    process registering the URL again gets its own requests."""
    name = unique("cache")
    owner = connect()
    code, queue = owner.create_request_queue(name, 0, False)
    assert code == NO_ERROR
    port = free_port()
    site(owner, queue, port)
    worker = apps()
    assert worker.call("queue", name, OPEN_EXISTING) == [NO_ERROR]
    worker.send("receive")
    caller, first = in_thread(lambda: get(port, "/page"))
    code, request_id, path = worker.answer()
    assert code == NO_ERROR and path == "/page"
    assert worker.call("respond", request_id, "cached by the worker", True) == [NO_ERROR]
    caller.join(10)
    assert first and first[0].endswith(b"cached by the worker")
    os.kill(worker.pid, signal.SIGSTOP)
    try:
        stopped = get(port, "/page", timeout=5)
        assert stopped.startswith(b"HTTP/1.1 200 OK") and stopped.endswith(b"cached by the worker")
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.process.wait(10)
    gone = get(port, "/page", timeout=5)
    assert gone.startswith(b"HTTP/1.1 200 OK") and gone.endswith(b"cached by the worker")
    owner.close()  # the registering process goes: its URL, and the entry under it, vanish
    successor = connect()
    code, fresh_queue = successor.create_request_queue(None, 0, False)
    assert code == NO_ERROR
    site(successor, fresh_queue, port)
    caller, again = in_thread(lambda: get(port, "/page"))
    snapshot = receive(successor, fresh_queue)  # not answered from the old entry: the request reaches the app
    assert respond(successor, fresh_queue, snapshot.request_id, b"fresh") == NO_ERROR
    caller.join(10)
    assert again and again[0].endswith(b"fresh")


def test_a_fragment_outlives_the_process_that_added_it_and_goes_with_its_queue(
    daemon: DaemonProcess, apps: Callable[[], App], connect: Callable[[], RemoteTransport]
) -> None:
    """Fragments belong to the queue (spec: only the owning queue may overwrite or delete them): one added by a
    worker that was then SIGKILLed is still read and sent by another process of the queue. When the queue itself
    closes its fragments go, so the name is free for the next queue registered there."""
    name = unique("fragment")
    owner = connect()
    code, queue = owner.create_request_queue(name, 0, False)
    assert code == NO_ERROR
    port = free_port()
    site(owner, queue, port)
    fragment = f"http://127.0.0.1:{port}/frag/a"
    worker = apps()
    assert worker.call("queue", name, OPEN_EXISTING) == [NO_ERROR]
    assert worker.call("fragment", fragment, "made by the worker") == [NO_ERROR]
    os.kill(worker.pid, signal.SIGKILL)
    worker.process.wait(10)
    assert owner.read_fragment(queue, fragment) == (NO_ERROR, b"made by the worker")
    caller, answer = in_thread(lambda: get(port, "/uses-fragment"))
    snapshot = receive(owner, queue)
    spec = ResponseSpec(200, b"OK", {}, [])
    code, _ = io(
        lambda done: owner.send_response(
            queue, snapshot.request_id, 0, spec, [FragmentChunk(fragment)], None, None, done
        )
    )
    assert code == NO_ERROR
    caller.join(10)
    assert answer and answer[0].endswith(b"made by the worker")
    other = connect()  # another queue on the same port may not overwrite a live queue's fragment
    code, other_queue = other.create_request_queue(None, 0, False)
    assert code == NO_ERROR
    site(other, other_queue, port, "/frag/")
    assert other.add_fragment(other_queue, fragment, b"taken", KEEP) == ERROR_ACCESS_DENIED
    assert owner.close_request_queue(queue) == NO_ERROR  # the last handle: the queue and its fragments go
    assert other.read_fragment(other_queue, fragment)[0] == ERROR_PATH_NOT_FOUND
    assert other.add_fragment(other_queue, fragment, b"taken", KEEP) == NO_ERROR
    assert other.read_fragment(other_queue, fragment) == (NO_ERROR, b"taken")


# ----- ownership (item 20) ------------------------------------------------------------------------------------------


def test_a_request_borrowed_by_one_process_cannot_be_answered_read_or_cancelled_by_another(
    daemon: DaemonProcess, connect: Callable[[], RemoteTransport]
) -> None:
    """Two openers of one named queue: the request belongs to the handle that received it. The other process
    gets ERROR_CONNECTION_INVALID for it (as for a request id its handle never received) and may not set the
    creator's queue properties (ERROR_INVALID_PARAMETER, non-creator); the owner answers as usual."""
    name = unique("borrowed")
    owner = connect()
    code, queue = owner.create_request_queue(name, 0, False)
    assert code == NO_ERROR
    port = free_port()
    site(owner, queue, port)
    other = connect()
    code, opened = other.create_request_queue(name, OPEN_EXISTING, False)
    assert code == NO_ERROR
    caller, answer = in_thread(lambda: get(port, "/mine"))
    snapshot = receive(owner, queue)
    rid = snapshot.request_id
    assert respond(other, opened, rid, b"stolen") == ERROR_CONNECTION_INVALID
    assert io(lambda done: other.receive_body(opened, rid, 100, False, 2, done)) == (
        ERROR_CONNECTION_INVALID,
        b"",
    )
    assert other.cancel_request(opened, rid) == ERROR_CONNECTION_INVALID
    assert other.cancel_request(queue, rid) != NO_ERROR  # the owner's handle is not the other's to name
    assert other.set_queue_property(opened, 4, 10) == ERROR_INVALID_PARAMETER  # only the creator sets
    assert other.shutdown_request_queue(queue) == ERROR_INVALID_PARAMETER  # not its handle
    assert respond(owner, queue, rid, b"answered by its owner") == NO_ERROR
    caller.join(10)
    assert answer and answer[0].endswith(b"answered by its owner")
