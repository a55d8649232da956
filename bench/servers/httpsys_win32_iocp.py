"""httpsys variant: the win32 face with OVERLAPPED I/O and a completion port (the IIS / ASP.NET shape).

Responsibility: keep a fixed set of receives outstanding on the request queue, each carried by its own
OVERLAPPED context; one thread dequeues completions with GetQueuedCompletionStatus and advances each context's
state machine (receive -> body -> send -> receive again). It must not use anything but the documented
`httpsys.win32` calls.

usage: httpsys_win32_iocp.py PORT [OUTSTANDING=128] [THREADS=1]
"""

from __future__ import annotations

import ctypes
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
    ERROR_IO_PENDING,
    ERROR_MORE_DATA,
    ERROR_OPERATION_ABORTED,
    HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS,
    HTTP_SEND_RESPONSE_FLAG_MORE_DATA,
    INFINITE,
    INVALID_HANDLE_VALUE,
    LPOVERLAPPED,
    NO_ERROR,
    OVERLAPPED,
    CreateIoCompletionPort,
    GetLastError,
    GetQueuedCompletionStatus,
    HttpReceiveHttpRequest,
    HttpReceiveRequestEntityBody,
    HttpSendHttpResponse,
    HttpSendResponseEntityBody,
)

RECEIVE, BODY, STREAM, FINAL = range(4)
STARTED = (NO_ERROR, ERROR_IO_PENDING)  # both post a completion packet (no SKIP_COMPLETION_PORT_ON_SUCCESS)


class IoContext(OVERLAPPED):
    """One outstanding receive and whatever it leads to: the C idiom of a struct that embeds its OVERLAPPED."""

    def __init__(self) -> None:
        super().__init__()
        self.state = RECEIVE
        self.request = new_request_buffer()
        self.request_id = 0
        self.body = bytearray(BODY_READ)
        self.parts: list[bytes] = []
        self.pieces = 0


class Server:
    def __init__(self, queue: Any) -> None:
        self.queue = queue

    # ----- posting operations ------------------------------------------------------------------------------
    def receive(self, ctx: IoContext) -> None:
        ctx.state = RECEIVE
        ctx.parts.clear()
        code = HttpReceiveHttpRequest(self.queue, 0, 0, ctx.request, REQUEST_BUFFER_LENGTH, None, ctx)
        if code not in STARTED and code != ERROR_MORE_DATA:
            ctx.state = -1  # the queue is gone: this context retires

    def send_response(self, ctx: IoContext, flags: int, resp: Any, state: int) -> None:
        ctx.state = state
        code = HttpSendHttpResponse(self.queue, ctx.request_id, flags, resp, None, None, None, 0, ctx, None)
        if code not in STARTED:
            self.receive(ctx)  # the client went away: nothing will complete, take the next request

    def read_body(self, ctx: IoContext) -> None:
        ctx.state = BODY
        code = HttpReceiveRequestEntityBody(self.queue, ctx.request_id, 0, ctx.body, len(ctx.body), None, ctx)
        if code == ERROR_HANDLE_EOF:
            self.send_response(ctx, 0, echo_response(b"".join(ctx.parts)), FINAL)
        elif code not in STARTED:
            self.receive(ctx)

    def send_piece(self, ctx: IoContext) -> None:
        ctx.pieces += 1
        last = ctx.pieces == STREAM_COUNT
        flags = 0 if last else HTTP_SEND_RESPONSE_FLAG_MORE_DATA
        ctx.state = FINAL if last else STREAM
        code = HttpSendResponseEntityBody(
            self.queue, ctx.request_id, flags, 1, STREAM_CHUNKS, None, None, 0, ctx, None
        )
        if code not in STARTED:
            self.receive(ctx)

    # ----- completions -------------------------------------------------------------------------------------
    def completed(self, ctx: IoContext, ok: bool, nbytes: int) -> None:
        code = NO_ERROR if ok else GetLastError()
        if ctx.state == RECEIVE:
            if code == ERROR_MORE_DATA:  # a very large head: fetch it again by id, synchronously
                need = ctypes.wintypes.ULONG()
                rid = ctx.request.RequestId
                ctx.request = new_request_buffer()
                code = HttpReceiveHttpRequest(self.queue, rid, 0, ctx.request, nbytes, need, None)
            if code == ERROR_OPERATION_ABORTED:
                ctx.state = -1
                return
            if code != NO_ERROR:
                self.receive(ctx)
                return
            self.route(ctx)
        elif ctx.state == BODY:
            if code == NO_ERROR:
                ctx.parts.append(bytes(ctx.body[:nbytes]))
                self.read_body(ctx)
            elif code == ERROR_HANDLE_EOF:
                self.send_response(ctx, 0, echo_response(b"".join(ctx.parts)), FINAL)
            else:
                self.receive(ctx)
        elif ctx.state == STREAM:
            if code == NO_ERROR:
                self.send_piece(ctx)
            else:
                self.receive(ctx)
        else:  # FINAL: the response is out, take the next request
            self.receive(ctx)

    def route(self, ctx: IoContext) -> None:
        request = ctx.request
        ctx.request_id = request.RequestId
        url = raw_url(request)
        if url == b"/":
            self.send_response(ctx, 0, HELLO_RESPONSE, FINAL)
        elif url == b"/echo":
            if request.Flags & HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS:
                self.read_body(ctx)
            else:
                self.send_response(ctx, 0, echo_response(b""), FINAL)
        elif url == b"/stream":
            ctx.pieces = 0
            self.send_response(ctx, HTTP_SEND_RESPONSE_FLAG_MORE_DATA, STREAM_HEAD, STREAM)
        else:
            self.send_response(ctx, 0, NOT_FOUND, FINAL)


def dequeue(server: Server, port: int) -> None:
    nbytes = ctypes.wintypes.DWORD()
    key = ctypes.c_size_t()
    holder = LPOVERLAPPED()
    while True:
        ok = GetQueuedCompletionStatus(port, nbytes, key, holder, INFINITE)
        ctx = holder.value
        if ctx is None:
            return  # the port was closed
        assert isinstance(ctx, IoContext)
        server.completed(ctx, bool(ok), nbytes.value)


def main() -> None:
    port_number = int(sys.argv[1])
    outstanding = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    queue = open_request_queue(port_number)
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, 0, 0, threads)
    if not port or not CreateIoCompletionPort(queue, port, 1, 0):
        raise SystemExit(f"CreateIoCompletionPort failed: {GetLastError()}")
    server = Server(queue)
    contexts = [IoContext() for _ in range(outstanding)]
    for ctx in contexts:
        server.receive(ctx)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    pool = [threading.Thread(target=dequeue, args=(server, port), daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    print(
        f"httpsys win32 iocp ({outstanding} receives, {threads} threads) on 127.0.0.1:{port_number}",
        flush=True,
    )
    for thread in pool:
        thread.join()


if __name__ == "__main__":
    main()
