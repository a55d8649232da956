"""32 threads on one queue (ARCHITECTURE §5.9, issue 16 item 3): synchronous, completion-port and event-driven
receives and sends at once, with CancelIoEx racing them and CloseHandle ending them. No completion is lost, none
is delivered twice, nothing deadlocks, every request is answered exactly once, and it all ends within 30 s."""

from __future__ import annotations

import ctypes
import itertools
import random
import threading
import time
from collections import Counter

import pytest

from httpsys.win32 import *

from .harness import RawClient, Server, make_response

IOCP_THREADS = 10  # each keeps 2 receives outstanding on the completion port
SYNC_THREADS = 8
EVENT_THREADS = 8  # receive + send with an event (low bit set: no packet), waited with GetOverlappedResult
CANCELLERS = 4
CLIENTS = 2
CONNECTIONS = 4  # per client
REQUESTS = 150  # per client
assert IOCP_THREADS + SYNC_THREADS + EVENT_THREADS + CANCELLERS + CLIENTS == 32
DEADLINE = 30.0
STARTED = (NO_ERROR, ERROR_IO_PENDING, ERROR_MORE_DATA)  # return codes after which a completion follows


class Ctx(OVERLAPPED):
    """A receive on the completion port; ``op`` names the operation it carries now."""

    def __init__(self) -> None:
        super().__init__()
        self.op = 0
        self.request = HTTP_REQUEST_V2()


class Book:
    """What every thread reports: operations issued (a completion must follow) and completions seen."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ops = itertools.count(1)
        self.issued: set[int] = set()
        self.completed: Counter[int] = Counter()
        self.answered: Counter[int] = Counter()  # request ids answered
        self.errors: list[object] = []
        self.aborted = 0  # completions with ERROR_OPERATION_ABORTED (the races were exercised)
        self.pending: list[OVERLAPPED] = []  # what the cancellers aim at
        self.stop = threading.Event()

    def issue(self, code: int, op: int, ov: OVERLAPPED) -> bool:
        with self.lock:
            if code in STARTED:
                self.issued.add(op)
                self.pending.append(ov)
                if len(self.pending) > 64:
                    del self.pending[:32]
                return True
        return False

    def complete(self, op: int) -> None:
        with self.lock:
            self.completed[op] += 1

    def error(self, *what: object) -> None:
        with self.lock:
            self.errors.append(what)


def answer(queue: int, book: Book, request: HTTP_REQUEST_V2) -> None:
    """Answer synchronously (most workers) with the path and request id in the body."""
    rid = request.RequestId
    body = bytes(request.pRawUrl) + b" %d" % rid
    sent = ctypes.c_ulong()
    code = HttpSendHttpResponse(queue, rid, 0, make_response(body=body), None, sent, None, 0, None, None)
    if code == NO_ERROR:
        with book.lock:
            book.answered[rid] += 1
    elif code not in (ERROR_CONNECTION_INVALID, ERROR_INVALID_HANDLE, ERROR_OPERATION_ABORTED):
        book.error("send", code)


def iocp_worker(queue: int, port: int, book: Book) -> None:
    def post(ctx: Ctx) -> None:
        while not book.stop.is_set():
            ctx.op = next(book.ops)
            ctx.request = HTTP_REQUEST_V2()
            code = HttpReceiveHttpRequest(queue, HTTP_NULL_ID, 0, ctx.request, 16384, None, ctx)
            # A cancellation that lands before the call returns fails it at once: no completion follows.
            if book.issue(code, ctx.op, ctx) or code != ERROR_OPERATION_ABORTED:
                return

    for _ in range(2):
        post(Ctx())
    nbytes, key, holder = ctypes.c_ulong(), ctypes.c_size_t(), LPOVERLAPPED()
    while True:
        ok = GetQueuedCompletionStatus(port, nbytes, key, holder, 100)
        ctx = holder.value
        if ctx is None:
            if GetLastError() == WAIT_TIMEOUT and not book.stop.is_set():
                continue
            if GetLastError() == WAIT_TIMEOUT:
                return  # stopped and drained
            book.error("gqcs", GetLastError())
            return
        if not isinstance(ctx, Ctx):
            book.error("foreign packet", ctx)
            continue
        book.complete(ctx.op)
        code = NO_ERROR if ok else GetLastError()
        if code == ERROR_OPERATION_ABORTED:
            with book.lock:
                book.aborted += 1
        if code == NO_ERROR:
            answer(queue, book, ctx.request)
        elif code not in (ERROR_OPERATION_ABORTED, ERROR_MORE_DATA):
            book.error("iocp receive", code)
        post(ctx)


def sync_worker(queue: int, book: Book) -> None:
    request = HTTP_REQUEST_V2()
    got = ctypes.c_ulong()
    while not book.stop.is_set():
        code = HttpReceiveHttpRequest(queue, HTTP_NULL_ID, 0, request, 16384, got, None)
        if code == NO_ERROR:
            answer(queue, book, request)
        elif code == ERROR_INVALID_HANDLE:
            return
        elif code != ERROR_OPERATION_ABORTED:
            book.error("sync receive", code)
            return


def event_worker(queue: int, book: Book) -> None:
    event = CreateEvent(None, True, False, None)
    try:
        while not book.stop.is_set():
            request = HTTP_REQUEST_V2()
            ov = OVERLAPPED(hEvent=event | 1)  # low bit: the completion is not posted to the port
            op = next(book.ops)
            code = HttpReceiveHttpRequest(queue, HTTP_NULL_ID, 0, request, 16384, None, ov)
            if not book.issue(code, op, ov):
                if code == ERROR_OPERATION_ABORTED:  # cancelled before the call returned: no completion
                    continue
                if code != ERROR_INVALID_HANDLE:
                    book.error("event receive", code)
                return
            if WaitForSingleObject(event, 20_000) != WAIT_OBJECT_0:
                book.error("event wait timed out", op)
                return
            nbytes = ctypes.c_ulong()
            ok = GetOverlappedResult(queue, ov, nbytes, True)
            book.complete(op)
            if not ok:
                if GetLastError() == ERROR_OPERATION_ABORTED:
                    with book.lock:
                        book.aborted += 1
                elif GetLastError() != ERROR_MORE_DATA:
                    book.error("event result", GetLastError())
                continue
            rid = request.RequestId
            body = bytes(request.pRawUrl) + b" %d" % rid
            send_ov = OVERLAPPED(hEvent=event | 1)
            op = next(book.ops)
            code = HttpSendHttpResponse(
                queue, rid, 0, make_response(body=body), None, None, None, 0, send_ov, None
            )
            if not book.issue(code, op, send_ov):
                if code not in (ERROR_CONNECTION_INVALID, ERROR_INVALID_HANDLE):
                    book.error("event send", code)
                continue
            ok = GetOverlappedResult(queue, send_ov, nbytes, True)
            book.complete(op)
            if ok:
                with book.lock:
                    book.answered[rid] += 1
    finally:
        CloseHandle(event)


def canceller(queue: int, book: Book, seed: int) -> None:
    rng = random.Random(seed)
    while not book.stop.is_set():
        with book.lock:
            target = rng.choice(book.pending) if book.pending else None
        if rng.random() < 0.05:
            CancelIoEx(queue, None)  # every pending operation of the handle, every thread's
        elif (
            target is not None
            and not CancelIoEx(queue, target)
            and GetLastError() not in (ERROR_NOT_FOUND, ERROR_INVALID_HANDLE)
        ):
            book.error("cancel", GetLastError())
        time.sleep(0.002)


def client(port: int, index: int, book: Book, answers: list[tuple[bytes, bytes]]) -> None:
    conns = [RawClient(port, timeout=20) for _ in range(CONNECTIONS)]
    try:
        for i in range(REQUESTS):
            c = conns[i % CONNECTIONS]
            path = f"/c{index}/r{i}"
            c.get(path, port)
            _status, _headers, body = c.recv_response(timeout=20)
            answers.append((path.encode(), body))
    except Exception as exc:  # reported by the test
        book.error("client", index, repr(exc))
    finally:
        for c in conns:
            c.close()


@pytest.mark.timeout(90)
def test_thirty_two_threads_mixing_sync_overlapped_cancel_and_close_lose_and_double_nothing(
    server: Server,
) -> None:
    began = time.monotonic()
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, 0, 0, 0)
    assert port and CreateIoCompletionPort(server.queue, port, 7, 0) == port
    book = Book()
    answers: list[tuple[bytes, bytes]] = []
    workers = [
        threading.Thread(target=iocp_worker, args=(server.queue, port, book)) for _ in range(IOCP_THREADS)
    ]
    workers += [threading.Thread(target=sync_worker, args=(server.queue, book)) for _ in range(SYNC_THREADS)]
    workers += [
        threading.Thread(target=event_worker, args=(server.queue, book)) for _ in range(EVENT_THREADS)
    ]
    workers += [threading.Thread(target=canceller, args=(server.queue, book, i)) for i in range(CANCELLERS)]
    clients = [threading.Thread(target=client, args=(server.port, i, book, answers)) for i in range(CLIENTS)]
    for t in workers + clients:
        t.daemon = True
        t.start()
    for t in clients:
        t.join(DEADLINE)
    # Every request of the clients was answered before the end; now CloseHandle races whatever is pending.
    assert CloseHandle(server.queue)
    book.stop.set()
    for t in workers:
        t.join(max(0.1, DEADLINE - (time.monotonic() - began)))
    elapsed = time.monotonic() - began
    CloseHandle(port)
    assert not [t.name for t in workers + clients if t.is_alive()], "a thread is stuck (deadlock)"
    assert elapsed < DEADLINE
    assert not book.errors, book.errors[:5]
    assert book.aborted > 0  # cancellations and the close did race pending operations
    # no lost completion, no double completion, no completion of something never issued
    assert set(book.completed) == book.issued, sorted(book.issued ^ set(book.completed))[:10]
    assert all(count == 1 for count in book.completed.values()), [
        o for o, n in book.completed.items() if n > 1
    ]
    # every request answered exactly once, each with its own answer
    assert len(answers) == CLIENTS * REQUESTS
    for path, body in answers:
        echoed_path, _, rid = body.partition(b" ")
        assert echoed_path == path
        assert book.answered[int(rid)] == 1
    assert sum(book.answered.values()) == CLIENTS * REQUESTS
