"""httpsys variant: the driver's response cache, filled through the win32 face (HTTP_CACHE_POLICY).

Responsibility: answer `GET /` with the 13-byte hello world and an HTTP_CACHE_POLICY (TimeToLive, one hour), so
that every later `GET /` is answered by the driver from its cache without reaching this process; and answer
`GET /cache-probe.txt` with a per-request counter under the same policy, so that the harness can tell whether
the cache really answers (a cached probe repeats its first counter). It must not use anything but the
documented `httpsys.win32` calls.

usage: httpsys_win32_cache.py PORT [THREADS=4]
"""

from __future__ import annotations

import ctypes.wintypes
import itertools
import os
import signal
import sys
import threading
from typing import Any

from win32_queue import (
    HELLO_RESPONSE,
    NOT_FOUND,
    REQUEST_BUFFER_LENGTH,
    memory_chunk,
    new_request_buffer,
    open_request_queue,
    raw_url,
    response,
)

from httpsys.win32 import (
    ERROR_MORE_DATA,
    HTTP_CACHE_POLICY,
    NO_ERROR,
    HttpCachePolicyTimeToLive,
    HttpReceiveHttpRequest,
    HttpSendHttpResponse,
)

POLICY = HTTP_CACHE_POLICY(Policy=HttpCachePolicyTimeToLive, SecondsToLive=3600)
probe_counter = itertools.count(1)


def worker(queue: Any) -> None:
    request = new_request_buffer()
    got = ctypes.wintypes.ULONG()
    sent = ctypes.wintypes.ULONG()
    while True:
        code = HttpReceiveHttpRequest(queue, 0, 0, request, REQUEST_BUFFER_LENGTH, got, None)
        if code != NO_ERROR:
            if code == ERROR_MORE_DATA:  # a head this large is never sent here
                continue
            return
        url = raw_url(request)
        if url == b"/":
            resp, policy = HELLO_RESPONSE, POLICY
        elif url == b"/cache-probe.txt":
            resp, policy = response(b"text/plain", [memory_chunk(b"%06d" % next(probe_counter))]), POLICY
        else:
            resp, policy = NOT_FOUND, None
        HttpSendHttpResponse(queue, request.RequestId, 0, resp, policy, sent, None, 0, None, None)


def main() -> None:
    port = int(sys.argv[1])
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    queue = open_request_queue(port)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    pool = [threading.Thread(target=worker, args=(queue,), daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    print(f"httpsys win32 cache ({threads} threads) on 127.0.0.1:{port}", flush=True)
    for thread in pool:
        thread.join()


if __name__ == "__main__":
    main()
