"""httpsys variant: the win32 face, synchronous calls served by a pool of threads (the classic HTTP.sys sample).

Responsibility: each thread loops HttpReceiveHttpRequest -> (HttpReceiveRequestEntityBody) ->
HttpSendHttpResponse (-> HttpSendResponseEntityBody) with no OVERLAPPED, as a C program ported line by line would.
It must not use anything but the documented `httpsys.win32` calls.

usage: httpsys_win32_sync.py PORT [THREADS=8]
"""

from __future__ import annotations

import ctypes.wintypes
import os
import signal
import sys
import threading
from typing import Any

from win32_queue import (
    BODY_READ,
    HELLO_RESPONSE,
    NOT_FOUND,
    REQUEST_BUFFER_LENGTH,
    STREAM_CHUNKS,
    STREAM_COUNT,
    STREAM_HEAD,
    echo_response,
    new_request_buffer,
    open_request_queue,
    raw_url,
)

from httpsys.win32 import (
    ERROR_HANDLE_EOF,
    ERROR_MORE_DATA,
    HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS,
    HTTP_SEND_RESPONSE_FLAG_MORE_DATA,
    NO_ERROR,
    HttpReceiveHttpRequest,
    HttpReceiveRequestEntityBody,
    HttpSendHttpResponse,
    HttpSendResponseEntityBody,
)


def read_body(queue: Any, request_id: int) -> bytes:
    buf = bytearray(BODY_READ)
    got = ctypes.wintypes.ULONG()
    parts: list[bytes] = []
    while True:
        code = HttpReceiveRequestEntityBody(queue, request_id, 0, buf, len(buf), got, None)
        if code == ERROR_HANDLE_EOF:
            return b"".join(parts)
        if code != NO_ERROR:
            raise ConnectionError(code)
        parts.append(bytes(buf[: got.value]))


def send(queue: Any, request_id: int, flags: int, resp: Any) -> int:
    sent = ctypes.wintypes.ULONG()
    code: int = HttpSendHttpResponse(queue, request_id, flags, resp, None, sent, None, 0, None, None)
    return code


def worker(queue: Any) -> None:
    request = new_request_buffer()
    got = ctypes.wintypes.ULONG()
    sent = ctypes.wintypes.ULONG()
    while True:
        code = HttpReceiveHttpRequest(queue, 0, 0, request, REQUEST_BUFFER_LENGTH, got, None)
        if code == ERROR_MORE_DATA:  # a very large head: fetch it again by its id with the size asked for
            size = got.value
            request = new_request_buffer()
            code = HttpReceiveHttpRequest(queue, request.RequestId, 0, request, size, got, None)
        if code != NO_ERROR:
            if code == ERROR_MORE_DATA:
                continue
            return  # the queue was closed
        rid = request.RequestId
        url = raw_url(request)
        if url == b"/":
            send(queue, rid, 0, HELLO_RESPONSE)
        elif url == b"/echo":
            try:
                body = (
                    read_body(queue, rid)
                    if request.Flags & HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS
                    else b""
                )
            except ConnectionError:
                continue
            send(queue, rid, 0, echo_response(body))
        elif url == b"/stream":
            if send(queue, rid, HTTP_SEND_RESPONSE_FLAG_MORE_DATA, STREAM_HEAD) != NO_ERROR:
                continue
            for i in range(STREAM_COUNT):
                flags = HTTP_SEND_RESPONSE_FLAG_MORE_DATA if i < STREAM_COUNT - 1 else 0
                code = HttpSendResponseEntityBody(
                    queue, rid, flags, 1, STREAM_CHUNKS, sent, None, 0, None, None
                )
                if code != NO_ERROR:
                    break
        else:
            send(queue, rid, 0, NOT_FOUND)


def main() -> None:
    port = int(sys.argv[1])
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    # the alertable driver (docs/win32.md): the loop runs on the worker that waits; HTTPSYS_WIN32_ALERTABLE=0 in
    # the environment measures the driver on its own thread instead
    os.environ.setdefault("HTTPSYS_WIN32_ALERTABLE", "1")
    queue = open_request_queue(port)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    pool = [threading.Thread(target=worker, args=(queue,), daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    print(f"httpsys win32 sync ({threads} threads) on 127.0.0.1:{port}", flush=True)
    for thread in pool:
        thread.join()


if __name__ == "__main__":
    main()
