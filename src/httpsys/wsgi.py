"""The WSGI adapter (PEP 3333): run a WSGI application on an HTTP.sys request queue with a bounded thread pool.

Responsibility: receive requests on the event loop, build each PEP 3333 environ, call the application in a worker
thread, and carry its body reads and response writes back to the loop (where the driver lives); a response that is
complete when the application returns is sent from the loop in one call, a file from `wsgi.file_wrapper` with
zero-copy sendfile. It must not frame HTTP (the driver writes every byte) nor touch the driver from a worker thread
except through coroutines scheduled on the loop.

Example:
    from httpsys.wsgi import serve
    serve(flask_app, ["http://+:8000/"], threads=16)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Coroutine, Iterable, Iterator
from types import TracebackType
from typing import Any, TypeVar
from wsgiref.types import WSGIApplication, WSGIEnvironment

from httpsys.aio import Request, RequestQueue, ResponseWriter, ServerSession, UrlGroup
from httpsys.aio.access import log_access
from httpsys.aio.objects import drain_tasks, open_url_queue, wait_stop_or_failure

__all__ = ["FileWrapper", "WSGIServer", "serve"]

logger = logging.getLogger("httpsys.wsgi")

T = TypeVar("T")
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]

_READ_SIZE = 64 * 1024
_LEAVE_TIMEOUT = 5.0  # seconds for a cancelled receive to come back from the daemon (`_leave_queue`)
_PREFETCH_LIMIT = 64 * 1024  # bodies up to this declared length are read on the loop before the app runs
_ERROR_HEADERS = [("Content-Type", "text/plain; charset=utf-8")]
_ERROR_BODY = b"Internal Server Error"
_HEADER_KEY_CACHE_LIMIT = 1024
_VERSIONS = {(1, 1): "HTTP/1.1", (1, 0): "HTTP/1.0"}

# what a worker hands back to the loop
_WHOLE = 0  # (status, reason, headers, body): send it in one call
_FILE = 1  # (status, reason, headers, wrapper, length): sendfile, then close the wrapper
_DONE = 2  # the worker streamed the response itself
_ERROR = 3  # nothing was sent: answer 500
_ABORT = 4  # a response was started and cannot be completed: cancel the request


class FileWrapper:
    """`wsgi.file_wrapper`: returned by the application, a file is sent with sendfile instead of being read.

    Example:
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "application/pdf")])
            return environ["wsgi.file_wrapper"](open("report.pdf", "rb"))
    """

    def __init__(self, filelike: Any, blksize: int = 8192) -> None:
        self.filelike = filelike
        self.blksize = blksize

    def fileno(self) -> int | None:
        """The descriptor for sendfile, None when the object has none (then it is read like any iterable)."""
        try:
            fd = self.filelike.fileno()
        except (AttributeError, OSError, ValueError):
            return None
        return fd if isinstance(fd, int) and fd >= 0 else None

    def seekable(self) -> bool:
        return bool(getattr(self.filelike, "seekable", lambda: False)())

    def seek(self, offset: int, whence: int = 0) -> int:
        return int(self.filelike.seek(offset, whence))

    def tell(self) -> int:
        return int(self.filelike.tell())

    def __iter__(self) -> FileWrapper:
        return self  # its own iterator, so that a range wrapper can seek it (werkzeug does)

    def __next__(self) -> bytes:
        block: bytes = self.filelike.read(self.blksize)
        if not block:
            raise StopIteration
        return block

    def close(self) -> None:
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()


class _Input:
    """`wsgi.input`: the request body, read through the driver on the loop from the worker thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, request: Request, data: bytes, eof: bool) -> None:
        self._loop = loop
        self._request = request
        self._buf = bytearray(data)
        self._eof = eof

    def _fill(self) -> bool:
        """Append the next body bytes to the buffer; False at the end of the body."""
        if self._eof:
            return False
        chunk = asyncio.run_coroutine_threadsafe(self._request.read_chunk(_READ_SIZE), self._loop).result()
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        return True

    def read(self, size: int | None = -1) -> bytes:
        buf = self._buf
        if size is None or size < 0:
            while self._fill():
                pass
            data = bytes(buf)
            buf.clear()
            return data
        while len(buf) < size and self._fill():
            pass
        data = bytes(buf[:size])
        del buf[:size]
        return data

    def read1(self, size: int = -1) -> bytes:
        if not self._buf:
            self._fill()
        return self.read(len(self._buf) if size < 0 else min(size, len(self._buf)))

    def readline(self, size: int | None = -1) -> bytes:
        buf = self._buf
        limit = size if size is not None and size >= 0 else None
        start = 0
        while True:
            end = buf.find(b"\n", start)
            if end >= 0:
                cut = end + 1
                break
            if limit is not None and len(buf) >= limit:
                cut = limit
                break
            start = len(buf)
            if not self._fill():
                cut = len(buf)
                break
        if limit is not None:
            cut = min(cut, limit)
        data = bytes(buf[:cut])
        del buf[:cut]
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines: list[bytes] = []
        total = 0
        while line := self.readline():
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


class _Exchange:
    """One request/response between the loop and a worker thread: start_response, write(), the body stream."""

    __slots__ = (
        "content_length",
        "environ",
        "head",
        "headers",
        "loop",
        "reason",
        "request",
        "sent",
        "status",
        "writer",
    )

    def __init__(
        self, loop: asyncio.AbstractEventLoop, request: Request, environ: WSGIEnvironment, head: bool
    ) -> None:
        self.loop = loop
        self.request = request
        self.environ = environ
        self.head = head
        self.status: int | None = None
        self.reason = b""
        self.headers: list[tuple[str, str]] = []
        self.content_length: int | None = None
        self.sent = False  # the status line went to the driver
        self.writer: ResponseWriter | None = None

    def on_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Any:
        if exc_info is not None and exc_info[0] is not None:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response called a second time without exc_info")
        code, _, reason = status.partition(" ")
        if len(code) != 3 or not code.isdigit():
            raise ValueError(f"bad WSGI status {status!r}")
        self.status = int(code)
        self.reason = reason.encode("latin-1")
        self.headers = headers
        self.content_length = None
        for name, value in headers:
            if len(name) == 14 and name.lower() == "content-length":
                with contextlib.suppress(ValueError):
                    self.content_length = int(value)
        return self.write

    def write(self, data: bytes) -> None:
        """The legacy write() callable and the streaming path: headers first (once), then body bytes."""
        if self.status is None:
            raise AssertionError("write() before start_response()")
        if not self.sent:
            self.sent = True
            self.on_loop(self._start(data))
        elif data and not self.head:
            writer = self.writer
            assert writer is not None
            self.on_loop(writer.write(data))

    async def _start(self, data: bytes) -> None:
        assert self.status is not None
        writer = self.writer = await self.request.start_response(
            self.status, self.headers, reason=self.reason
        )
        if data and not self.head:
            await writer.write(data)

    async def _finish(self) -> None:
        if self.writer is not None:
            await self.writer.finish()


class WSGIServer:
    """Serve a WSGI application on a request queue bound to the given URL prefixes.

    Example:
        server = WSGIServer(flask_app, ["http://+:8000/"], threads=16)
        await server.run(stop)          # returns after stop.set() and a graceful shutdown

    With `open_existing=True` the server receives from the named queue `queue_name` that another process created
    and bound to its URLs (HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING, through the daemon) and registers no URL
    of its own, as a worker of `httpsys run --workers` does; `wsgi.multiprocess` is then True.
    """

    def __init__(
        self,
        app: WSGIApplication,
        urls: list[str],
        *,
        threads: int = 8,
        queue_name: str | None = None,
        shutdown_timeout: float = 10.0,
        root_path: str = "",
        backlog: int | None = None,
        access_log: bool = False,
        open_existing: bool = False,
    ) -> None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        if open_existing and not queue_name:
            raise ValueError("open_existing needs the queue_name of a queue another process created")
        self.app = app
        self.urls = list(urls)
        self.threads = threads
        self.queue_name = queue_name
        self.shutdown_timeout = shutdown_timeout
        self.root_path = root_path.rstrip("/")
        self.backlog = threads if backlog is None else backlog
        self.access_log = access_log
        self.open_existing = open_existing
        self._leaving = False  # a worker on a shared queue stopped receiving (`_leave_queue`)
        self.started = asyncio.Event()
        self.session: ServerSession | None = None
        self.queue: RequestQueue | None = None
        self.group: UrlGroup | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._tasks: dict[int, asyncio.Task[None]] = {}  # by request id
        self._active = 0
        self._room: asyncio.Future[None] | None = None
        self._keys: dict[bytes, str | None] = {}
        self._base: dict[str, Any] = {
            "wsgi.version": (1, 0),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": open_existing,  # other processes may serve the same queue
            "wsgi.run_once": False,
            "wsgi.file_wrapper": FileWrapper,
            "wsgi.input_terminated": True,
            "SERVER_SOFTWARE": "httpsys",
            "SCRIPT_NAME": self.root_path,
        }

    # ----- running -------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Serve until `stop` is set (or the task is cancelled), then shut down gracefully."""
        loop = asyncio.get_running_loop()
        self._pool = concurrent.futures.ThreadPoolExecutor(self.threads, thread_name_prefix="httpsys-wsgi")
        session = self.session = ServerSession()
        receiver: asyncio.Task[None] | None = None
        try:
            session.open()
            if self.open_existing:
                queue = session.request_queue(self.queue_name, open_existing=True)
            else:
                queue, self.group = open_url_queue(session, self.urls, self.queue_name)
            self.queue = queue
            receiver = loop.create_task(self._receive_requests(queue))
            self.started.set()
            await wait_stop_or_failure(receiver, stop)
        finally:
            try:
                await self._drain(receiver)
            finally:
                session.close()
                self._pool.shutdown(wait=False, cancel_futures=True)
                self.started.clear()

    async def _receive_requests(self, queue: RequestQueue) -> None:
        loop = asyncio.get_running_loop()
        limit = self.threads + self.backlog
        while True:
            if self._active >= limit:
                self._room = loop.create_future()
                await self._room
            if self._leaving and not queue.prefetched:  # what had already arrived is served
                return
            try:
                request = await queue.receive()
            except OSError:
                if queue.closed or self._leaving:
                    return
                raise
            self._active += 1
            self._tasks[request.snapshot.request_id] = loop.create_task(self._handle(request))

    async def _leave_queue(self, receiver: asyncio.Task[None]) -> None:
        """A worker on a queue other processes serve (`open_existing`) stops taking requests first: its waiting
        receives are cancelled, and a request that raced to this process meanwhile is still served."""
        self._leaving = True
        queue = self.queue
        if queue is not None and not queue.closed:
            with contextlib.suppress(OSError):
                queue.stop_receiving()
        room = self._room
        if room is not None and not room.done():
            room.set_result(None)
        await asyncio.wait({receiver}, timeout=_LEAVE_TIMEOUT)

    async def _drain(self, receiver: asyncio.Task[None] | None) -> None:
        """Graceful shutdown (`ServerSession.drain`): stop accepting, close idle keep-alive connections, end the
        others with `Connection: close` after their current response, and answer the requests queued, in flight or
        still arriving on them within shutdown_timeout; then cancel what still runs."""
        if self.open_existing and receiver is not None:
            await self._leave_queue(receiver)
        if self.session is not None:
            await drain_tasks(self.session, self._tasks.values(), receiver, self.shutdown_timeout, logger)

    # ----- one request ---------------------------------------------------------------------------------
    async def _handle(self, request: Request) -> None:
        loop = asyncio.get_running_loop()
        try:
            environ = self._environ(request)
            head = request.snapshot.method == b"HEAD"
            environ["wsgi.input"] = await self._input(loop, request, environ)
            exchange = _Exchange(loop, request, environ, head)
            assert self._pool is not None
            outcome = await loop.run_in_executor(self._pool, self._call_app, exchange)
            await self._complete(loop, exchange, outcome)
            if self.access_log:
                log_access(request, _logged_status(exchange, outcome[0]))
        except asyncio.CancelledError:
            with contextlib.suppress(OSError):
                request.cancel()
            raise
        except OSError as exc:
            logger.debug("client went away during %r: %r", request, exc)
        except Exception:
            logger.exception("WSGI server error for %r", request)
            with contextlib.suppress(OSError):
                request.cancel()
        finally:
            self._active -= 1
            self._tasks.pop(request.snapshot.request_id, None)
            room = self._room
            if room is not None and not room.done():
                room.set_result(None)

    async def _input(
        self, loop: asyncio.AbstractEventLoop, request: Request, environ: dict[str, Any]
    ) -> _Input:
        """wsgi.input; a small body with a declared length is read here, saving the worker its thread hops."""
        if not request.has_body:
            return _Input(loop, request, b"", True)
        length = environ.get("CONTENT_LENGTH")
        if length is not None and length.isdigit() and int(length) <= _PREFETCH_LIMIT:
            want = int(length)
            parts: list[bytes] = []
            got = 0
            while got < want:
                chunk = await request.read_chunk(want - got)
                if not chunk:
                    break
                parts.append(chunk)
                got += len(chunk)
            return _Input(loop, request, b"".join(parts), True)
        return _Input(loop, request, b"", False)

    def _environ(self, request: Request) -> dict[str, Any]:
        snap = request.snapshot
        environ = self._base.copy()
        path = snap.abs_path.encode("utf-8").decode("latin-1")
        root = self.root_path
        if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
            path = path[len(root) :]
        raw_url = snap.raw_url.decode("latin-1")
        host, local = snap.host, snap.local_addr
        server_name = host[: host.find("]") + 1] if host.startswith("[") else host.partition(":")[0]
        environ["REQUEST_METHOD"] = snap.method.decode("latin-1")
        environ["PATH_INFO"] = path
        environ["QUERY_STRING"] = snap.query[1:]
        environ["RAW_URI"] = environ["REQUEST_URI"] = raw_url
        environ["SERVER_PROTOCOL"] = (
            _VERSIONS.get(snap.version) or f"HTTP/{snap.version[0]}.{snap.version[1]}"
        )
        environ["SERVER_NAME"] = server_name or local[0]
        environ["SERVER_PORT"] = str(local[1])
        environ["REMOTE_ADDR"] = snap.remote_addr[0]
        environ["REMOTE_PORT"] = str(snap.remote_addr[1])
        environ["wsgi.url_scheme"] = "https" if snap.full_url[4] == "s" else "http"
        keys = self._keys
        for name, value in snap.headers:
            key = keys.get(name, "")
            if key == "":
                key = _environ_key(name)
                if len(keys) < _HEADER_KEY_CACHE_LIMIT:
                    keys[name] = key
            if key is None:
                continue
            text = value.decode("latin-1")
            if key in environ:
                text = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + text
            environ[key] = text
        return environ

    # ----- in the worker thread ------------------------------------------------------------------------
    def _call_app(self, x: _Exchange) -> tuple[int, Any]:
        try:
            result = self.app(x.environ, x.start_response)
        except Exception:
            logger.exception("exception in WSGI application for %r", x.request)
            return (_ABORT, None) if x.sent else (_ERROR, None)
        outcome: tuple[int, Any] = (_ERROR, None)
        try:
            outcome = self._consume(x, result)
        except Exception as exc:
            if isinstance(exc, OSError) and x.sent:
                logger.debug("client went away during %r: %r", x.request, exc)
            else:
                logger.exception("exception in WSGI application for %r", x.request)
            outcome = (_ABORT, None) if x.sent else (_ERROR, None)
        finally:
            if outcome[0] != _FILE:  # a file is closed once the loop has sent it
                _close(result)
        return outcome

    def _consume(self, x: _Exchange, result: Iterable[bytes]) -> tuple[int, Any]:
        if not x.sent:
            if isinstance(result, FileWrapper) and result.fileno() is not None:
                if x.status is None:
                    raise AssertionError("the application returned before calling start_response()")
                return _FILE, result
            if isinstance(result, (list, tuple)) and len(result) <= 1:
                return self._whole(x, result[0] if result else b"")
        for chunk in result:
            if not chunk:
                continue
            if not x.sent:
                length = x.content_length
                if length is not None and len(chunk) >= length:
                    return self._whole(x, chunk[:length])
            x.write(chunk)
        if not x.sent:
            return self._whole(x, b"")
        x.on_loop(x._finish())
        return _DONE, None

    def _whole(self, x: _Exchange, body: bytes) -> tuple[int, Any]:
        if x.status is None:
            raise AssertionError("the application returned before calling start_response()")
        return _WHOLE, body

    # ----- back on the loop ----------------------------------------------------------------------------
    async def _complete(
        self, loop: asyncio.AbstractEventLoop, x: _Exchange, outcome: tuple[int, Any]
    ) -> None:
        kind, payload = outcome
        request = x.request
        if kind == _WHOLE:
            assert x.status is not None
            headers: list[tuple[str, str]] = x.headers
            if x.head:
                if x.content_length is None and payload:
                    headers = [*headers, ("Content-Length", str(len(payload)))]
                payload = b""
            await request.respond(x.status, headers, payload, reason=x.reason)
        elif kind == _FILE:
            assert x.status is not None
            wrapper: FileWrapper = payload
            try:
                if x.head:
                    await request.respond(x.status, x.headers, reason=x.reason)
                else:
                    fd = wrapper.fileno()
                    assert fd is not None
                    offset = os.lseek(fd, 0, os.SEEK_CUR)
                    await request.send_file(fd, x.status, x.headers, offset=offset, length=x.content_length)
            finally:
                assert self._pool is not None
                await loop.run_in_executor(self._pool, _close, wrapper)
        elif kind == _ERROR:
            await request.respond(500, _ERROR_HEADERS, _ERROR_BODY)
        elif kind == _ABORT:
            request.cancel()


def _logged_status(x: _Exchange, kind: int) -> int:
    """The status that went on the wire for an exchange `_complete` handled (500 when the application failed
    before starting a response)."""
    if kind == _ERROR or x.status is None:
        return 500
    return x.status


def _environ_key(name: bytes) -> str | None:
    """The environ key of a request header: HTTP_X_NAME, CONTENT_TYPE/LENGTH, None for names with '_'."""
    text = name.decode("latin-1")
    if "_" in text:
        return None  # "X_Forwarded_For" would pose as "X-Forwarded-For": dropped, as gunicorn and nginx do
    upper = text.upper().replace("-", "_")
    if upper in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return upper
    return "HTTP_" + upper


def _close(result: object) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            logger.exception("the WSGI result's close() failed")


def serve(app: WSGIApplication, urls: list[str], **kw: Any) -> None:
    """Run `app` on `urls` until SIGINT/SIGTERM, on uvloop when available.

    Example:
        serve(app, ["http://+:8000/"], threads=16)
    """

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await WSGIServer(app, urls, **kw).run(stop)

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(main())
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())
