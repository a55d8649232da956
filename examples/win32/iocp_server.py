"""An HTTP.sys server on an I/O completion port: the shape of the MSDN asynchronous samples (and of IIS).

The request queue is associated with a completion port; a fixed set of IO_CONTEXT structures, each embedding its
OVERLAPPED, keeps HttpReceiveHttpRequest calls outstanding; worker threads loop on GetQueuedCompletionStatus and
advance the context whose operation completed (receive -> read body -> send -> receive again). With
FILE_SKIP_COMPLETION_PORT_ON_SUCCESS an operation that succeeds at once posts no packet and its context goes on
at once on the same thread. On httpsys this example asks for the alertable driver (HTTPSYS_WIN32_ALERTABLE=1): the
driver's loop runs on the worker while it waits in GetQueuedCompletionStatus, so a request never crosses threads;
`--driver-thread` keeps the driver on its own thread instead (docs/win32.md, decision 0023).

    python examples/win32/iocp_server.py --url http://+:8080/ [--outstanding 128] [--threads 1] [--file FILE]
                                         [--driver-thread]
    curl http://localhost:8080/            # Hello, world!
    curl -d 'hello' http://localhost:8080/echo
    curl http://localhost:8080/stream      # 100 KiB in 100 HttpSendResponseEntityBody(MORE_DATA) writes of 1 KiB
    curl http://localhost:8080/big.bin     # FILE, sent from its handle (HttpDataChunkFromFileHandle)

It stops on Ctrl-C or SIGTERM: the queue is shut down (every outstanding receive completes with
ERROR_OPERATION_ABORTED), the port closed, and everything released in reverse order.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
import threading
from typing import Any

from httpsys.win32 import (
    ERROR_HANDLE_EOF,
    ERROR_INVALID_HANDLE,
    ERROR_IO_PENDING,
    ERROR_MORE_DATA,
    ERROR_OPERATION_ABORTED,
    FILE_SKIP_COMPLETION_PORT_ON_SUCCESS,
    HTTP_BINDING_INFO,
    HTTP_BYTE_RANGE,
    HTTP_BYTE_RANGE_TO_EOF,
    HTTP_DATA_CHUNK,
    HTTP_DATA_CHUNK_FROM_FILE_HANDLE,
    HTTP_DATA_CHUNK_FROM_MEMORY,
    HTTP_INITIALIZE_SERVER,
    HTTP_KNOWN_HEADER,
    HTTP_PROPERTY_FLAGS,
    HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS,
    HTTP_REQUEST_V2,
    HTTP_RESPONSE_V2,
    HTTP_SEND_RESPONSE_FLAG_MORE_DATA,
    HTTPAPI_VERSION_2,
    INFINITE,
    INVALID_HANDLE_VALUE,
    LPOVERLAPPED,
    NO_ERROR,
    OVERLAPPED,
    CloseHandle,
    CreateIoCompletionPort,
    GetLastError,
    GetQueuedCompletionStatus,
    HttpAddUrlToUrlGroup,
    HttpCloseRequestQueue,
    HttpCloseServerSession,
    HttpCloseUrlGroup,
    HttpCreateRequestQueue,
    HttpCreateServerSession,
    HttpCreateUrlGroup,
    HttpDataChunkFromFileHandle,
    HttpDataChunkFromMemory,
    HttpHeaderContentLength,
    HttpHeaderContentType,
    HttpInitialize,
    HttpReceiveHttpRequest,
    HttpReceiveRequestEntityBody,
    HttpSendHttpResponse,
    HttpSendResponseEntityBody,
    HttpServerBindingProperty,
    HttpSetUrlGroupProperty,
    HttpShutdownRequestQueue,
    HttpTerminate,
    SetFileCompletionNotificationModes,
    sizeof,
)

REQUEST_BUFFER_LENGTH = 16 * 1024  # room for the fixed part, strings and headers (the samples' size)
BODY_READ = 64 * 1024
HELLO = b"Hello, world!"
STREAM_PIECE = b"x" * 1024
STREAM_COUNT = 100
# The operation a context has outstanding (IIS calls these the stages of its request state machine).
RECEIVE, READ_BODY, SEND_MORE, SEND_LAST = range(4)
RETIRED = -1
Step = (
    tuple[int, int] | None
)  # what an issued operation left to do now: (code, bytes), or None (a packet follows)


class Win32Failure(Exception):
    def __init__(self, call: str, code: int) -> None:
        super().__init__(f"{call} failed with Win32 error {code}")
        self.code = code


def check(call: str, code: int) -> None:
    if code != NO_ERROR:
        raise Win32Failure(call, code)


def memory_chunk(data: bytes) -> HTTP_DATA_CHUNK:
    return HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromMemory,
        FromMemory=HTTP_DATA_CHUNK_FROM_MEMORY(pBuffer=data, BufferLength=len(data)),
    )


def response(content_type: bytes, chunks: list[HTTP_DATA_CHUNK], content_length: int | None = None) -> Any:
    """A 200 OK HTTP_RESPONSE_V2 (Content-Length given when the body follows in later writes)."""
    resp = HTTP_RESPONSE_V2(StatusCode=200, pReason=b"OK", ReasonLength=2)
    known = resp.Headers.KnownHeaders
    known[HttpHeaderContentType] = HTTP_KNOWN_HEADER(pRawValue=content_type, RawValueLength=len(content_type))
    if content_length is not None:
        value = str(content_length).encode()
        known[HttpHeaderContentLength] = HTTP_KNOWN_HEADER(pRawValue=value, RawValueLength=len(value))
    if chunks:
        resp.EntityChunkCount = len(chunks)
        resp.pEntityChunks = chunks
    return resp


class IO_CONTEXT(OVERLAPPED):
    """One outstanding receive and the request it leads to: the C idiom of a struct embedding its OVERLAPPED."""

    def __init__(self) -> None:
        super().__init__()
        self.stage = RECEIVE
        self.request = HTTP_REQUEST_V2()
        self.body = bytearray(BODY_READ)
        self.parts: list[bytes] = []
        self.pieces = 0
        self.nbytes = ctypes.c_ulong()  # bytes of an operation that finished at once


class Server:
    """The request queue, the prebuilt responses, and the state machine every worker thread advances."""

    def __init__(self, queue: int, file_handle: int | None) -> None:
        self.queue = queue
        self.hello = response(b"text/plain", [memory_chunk(HELLO)])
        self.not_found = HTTP_RESPONSE_V2(StatusCode=404, pReason=b"Not Found", ReasonLength=9)
        self.stream_head = response(b"application/octet-stream", [], STREAM_COUNT * len(STREAM_PIECE))
        self.stream_piece = [memory_chunk(STREAM_PIECE)]
        self.file = None
        if file_handle is not None:
            chunk = HTTP_DATA_CHUNK(
                DataChunkType=HttpDataChunkFromFileHandle,
                FromFileHandle=HTTP_DATA_CHUNK_FROM_FILE_HANDLE(
                    ByteRange=HTTP_BYTE_RANGE(StartingOffset=0, Length=HTTP_BYTE_RANGE_TO_EOF),
                    FileHandle=file_handle,
                ),
            )
            self.file = response(b"application/octet-stream", [chunk])

    # ----- issuing operations ------------------------------------------------------------------------------------
    # Each returns None when a completion packet will follow, or (code, bytes) when the operation is already over:
    # it succeeded at once (FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: no packet, the caller goes on inline) or failed
    # at once (no packet either).
    def finished(self, ctx: IO_CONTEXT, code: int) -> Step:
        if code in (ERROR_IO_PENDING, ERROR_MORE_DATA):  # a warning status completes like a success
            return None
        return code, ctx.nbytes.value if code == NO_ERROR else 0

    def post_receive(self, ctx: IO_CONTEXT) -> Step:
        ctx.stage = RECEIVE
        ctx.parts.clear()
        code = HttpReceiveHttpRequest(self.queue, 0, 0, ctx.request, REQUEST_BUFFER_LENGTH, ctx.nbytes, ctx)
        return self.finished(ctx, code)

    def send_response(self, ctx: IO_CONTEXT, flags: int, resp: Any, stage: int) -> Step:
        ctx.stage = stage
        request_id = ctx.request.RequestId
        code = HttpSendHttpResponse(self.queue, request_id, flags, resp, None, ctx.nbytes, None, 0, ctx, None)
        return self.finished(ctx, code)

    def read_body(self, ctx: IO_CONTEXT) -> Step:
        ctx.stage = READ_BODY
        request_id = ctx.request.RequestId
        code = HttpReceiveRequestEntityBody(self.queue, request_id, 0, ctx.body, BODY_READ, ctx.nbytes, ctx)
        return self.finished(ctx, code)

    def send_echo(self, ctx: IO_CONTEXT) -> Step:
        body = b"".join(ctx.parts)
        chunks = [memory_chunk(body)] if body else []
        return self.send_response(ctx, 0, response(b"application/octet-stream", chunks), SEND_LAST)

    def send_piece(self, ctx: IO_CONTEXT) -> Step:
        ctx.pieces += 1
        last = ctx.pieces == STREAM_COUNT
        ctx.stage = SEND_LAST if last else SEND_MORE
        flags = 0 if last else HTTP_SEND_RESPONSE_FLAG_MORE_DATA
        request_id = ctx.request.RequestId
        code = HttpSendResponseEntityBody(
            self.queue, request_id, flags, 1, self.stream_piece, ctx.nbytes, None, 0, ctx, None
        )
        return self.finished(ctx, code)

    # ----- completions -------------------------------------------------------------------------------------------
    def advance(self, ctx: IO_CONTEXT, code: int, nbytes: int) -> None:
        """Handle a completion, then each one that follows at once, until an operation is pending."""
        step: Step = (code, nbytes)
        while step is not None:
            step = self.completed(ctx, *step)

    def completed(self, ctx: IO_CONTEXT, code: int, nbytes: int) -> Step:
        if ctx.stage == RECEIVE:
            if code == ERROR_MORE_DATA:  # a very large head: fetch it again by its id, with the size needed
                request_id = ctx.request.RequestId
                ctx.request = HTTP_REQUEST_V2()
                code = HttpReceiveHttpRequest(
                    self.queue, request_id, 0, ctx.request, nbytes, ctx.nbytes, None
                )
            if code == NO_ERROR:
                return self.route(ctx)
            if code in (ERROR_OPERATION_ABORTED, ERROR_INVALID_HANDLE):
                ctx.stage = RETIRED  # the queue is shut down: this context retires
                return None
            return self.post_receive(ctx)  # that request is gone (its client left): take the next one
        if ctx.stage == READ_BODY:
            if code == NO_ERROR:
                ctx.parts.append(bytes(ctx.body[:nbytes]))
                return self.read_body(ctx)
            if code == ERROR_HANDLE_EOF:
                return self.send_echo(ctx)
            return self.post_receive(ctx)
        if ctx.stage == SEND_MORE and code == NO_ERROR:
            return self.send_piece(ctx)
        return self.post_receive(ctx)  # the response is out (or the client left): take the next request

    def route(self, ctx: IO_CONTEXT) -> Step:
        request = ctx.request
        url = request.pRawUrl
        if url == b"/":
            return self.send_response(ctx, 0, self.hello, SEND_LAST)
        if url == b"/echo":
            if request.Flags & HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS:
                return self.read_body(ctx)
            return self.send_echo(ctx)
        if url == b"/stream":
            ctx.pieces = 0
            return self.send_response(ctx, HTTP_SEND_RESPONSE_FLAG_MORE_DATA, self.stream_head, SEND_MORE)
        if url == b"/big.bin" and self.file is not None:
            return self.send_response(ctx, 0, self.file, SEND_LAST)
        return self.send_response(ctx, 0, self.not_found, SEND_LAST)


def worker_thread(server: Server, iocp: int) -> None:
    """The MSDN worker: dequeue a completion, advance its context, repeat until the port is closed."""
    nbytes = ctypes.c_ulong()
    key = ctypes.c_size_t()
    overlapped = LPOVERLAPPED()
    while True:
        ok = GetQueuedCompletionStatus(iocp, nbytes, key, overlapped, INFINITE)
        ctx = overlapped.value
        if ctx is None:
            return  # the port was closed (ERROR_ABANDONED_WAIT_0)
        assert isinstance(ctx, IO_CONTEXT)
        server.advance(ctx, NO_ERROR if ok else GetLastError(), nbytes.value)


def serve(url: str, outstanding: int, threads: int, file_path: str | None) -> None:
    check("HttpInitialize", HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None))
    session, group, queue = ctypes.c_ulonglong(), ctypes.c_ulonglong(), ctypes.c_void_p()
    iocp = 0
    file_handle = os.open(file_path, os.O_RDONLY) if file_path else None
    try:
        check("HttpCreateServerSession", HttpCreateServerSession(HTTPAPI_VERSION_2, session, 0))
        check("HttpCreateUrlGroup", HttpCreateUrlGroup(session.value, group, 0))
        check("HttpCreateRequestQueue", HttpCreateRequestQueue(HTTPAPI_VERSION_2, None, None, 0, queue))
        binding = HTTP_BINDING_INFO(HTTP_PROPERTY_FLAGS(1), queue.value)
        check(
            "HttpSetUrlGroupProperty",
            HttpSetUrlGroupProperty(group.value, HttpServerBindingProperty, binding, sizeof(binding)),
        )
        check("HttpAddUrlToUrlGroup", HttpAddUrlToUrlGroup(group.value, url, 0, 0))
        handle = int(queue.value or 0)
        iocp = CreateIoCompletionPort(INVALID_HANDLE_VALUE, 0, 0, threads)
        if not iocp or CreateIoCompletionPort(handle, iocp, 1, 0) != iocp:
            raise Win32Failure("CreateIoCompletionPort", GetLastError())
        # An operation that succeeds at once posts no packet: its issuer goes on with it (as IIS does).
        if not SetFileCompletionNotificationModes(handle, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS):
            raise Win32Failure("SetFileCompletionNotificationModes", GetLastError())
        server = Server(handle, file_handle)
        for _ in range(outstanding):
            ctx = IO_CONTEXT()
            step = server.post_receive(ctx)
            if step is not None:
                server.advance(ctx, *step)
        pool = [
            threading.Thread(target=worker_thread, args=(server, iocp), name=f"iocp-worker-{i}", daemon=True)
            for i in range(threads)
        ]
        for thread in pool:
            thread.start()
        print(f"iocp server ({outstanding} receives, {threads} threads) on {url}", flush=True)
        for thread in pool:
            thread.join()
    finally:
        if queue.value:
            HttpShutdownRequestQueue(
                queue.value
            )  # outstanding receives complete with ERROR_OPERATION_ABORTED
        if iocp:
            CloseHandle(iocp)  # the workers' GetQueuedCompletionStatus returns: they exit
        if queue.value:
            HttpCloseRequestQueue(queue.value)
        if group.value:
            HttpCloseUrlGroup(group.value)
        if session.value:
            HttpCloseServerSession(session.value)
        HttpTerminate(HTTP_INITIALIZE_SERVER, None)
        if file_handle is not None:
            os.close(file_handle)


def stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the server as Ctrl-C does


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default="http://+:8080/", help="URL prefix to serve (default http://+:8080/)"
    )
    parser.add_argument(
        "--outstanding", type=int, default=128, help="receives kept outstanding (default 128)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="GetQueuedCompletionStatus threads (default 1)"
    )
    parser.add_argument("--file", help="the file /big.bin sends from its handle")
    parser.add_argument(
        "--driver-thread",
        action="store_true",
        help="run the driver on its own thread (not on the waiting workers)",
    )
    args = parser.parse_args(argv)
    if not args.driver_thread:
        os.environ.setdefault("HTTPSYS_WIN32_ALERTABLE", "1")  # read by the first HttpInitialize
    signal.signal(signal.SIGTERM, stop)
    try:
        serve(args.url, args.outstanding, args.threads, args.file)
    except KeyboardInterrupt:
        pass
    except Win32Failure as exc:
        print(f"iocp_server: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
