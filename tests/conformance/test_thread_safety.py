"""Any number of threads may call concurrently (ARCHITECTURE §5.9): 8 synchronous workers, 1,000 requests."""

from __future__ import annotations

import ctypes
import threading
from collections import Counter

from httpsys.win32 import *

from .harness import RawClient, Server, make_response

WORKERS = 8
CLIENTS = 10
PER_CLIENT = 100


def worker(queue: int, seen: list[int], lock: threading.Lock, errors: list[object]) -> None:
    request = HTTP_REQUEST_V2()
    got, sent = ctypes.c_ulong(), ctypes.c_ulong()
    while True:
        code = HttpReceiveHttpRequest(queue, HTTP_NULL_ID, 0, request, 4096, got, None)
        if code in (ERROR_OPERATION_ABORTED, ERROR_INVALID_HANDLE):
            return  # the queue was shut down
        if code != NO_ERROR:
            errors.append(("receive", code))
            return
        request_id = request.RequestId
        with lock:
            seen.append(request_id)
        response = make_response(body=bytes(request.pRawUrl) + b" %d" % request_id)
        code = HttpSendHttpResponse(queue, request_id, 0, response, None, sent, None, 0, None, None)
        if code != NO_ERROR:
            errors.append(("send", code))


def client_run(port: int, index: int, answers: list[tuple[bytes, bytes]], errors: list[object]) -> None:
    c = RawClient(port, timeout=20)
    try:
        for i in range(PER_CLIENT):
            path = f"/c{index}/r{i}"
            c.get(path, port)
            _status, _headers, body = c.recv_response(timeout=20)
            answers.append((path.encode(), body))
    except Exception as exc:  # reported by the test
        errors.append(("client", index, repr(exc)))
    finally:
        c.close()


def test_eight_threads_answer_a_thousand_requests_exactly_once(server: Server) -> None:
    seen: list[int] = []
    lock = threading.Lock()
    errors: list[object] = []
    answers: list[tuple[bytes, bytes]] = []
    workers = [
        threading.Thread(target=worker, args=(server.queue, seen, lock, errors), daemon=True)
        for _ in range(WORKERS)
    ]
    clients = [
        threading.Thread(target=client_run, args=(server.port, i, answers, errors), daemon=True)
        for i in range(CLIENTS)
    ]
    for t in workers + clients:
        t.start()
    for t in clients:
        t.join(60)
    assert HttpShutdownRequestQueue(server.queue) == NO_ERROR
    for t in workers:
        t.join(10)
    assert not errors
    assert not any(t.is_alive() for t in workers + clients)
    total = CLIENTS * PER_CLIENT
    assert len(answers) == total
    assert len(seen) == total and len(set(seen)) == total  # every request received once, unique ids
    answered_ids = Counter()
    for path, body in answers:
        echoed_path, _, request_id = body.partition(b" ")
        assert echoed_path == path  # each client got the answer to its own request
        answered_ids[int(request_id)] += 1
    assert set(answered_ids) == set(seen) and max(answered_ids.values()) == 1
