"""The ASGI 3 adapter: run an ASGI application (HTTP, WebSocket, lifespan) on an HTTP.sys request queue.

Responsibility: turn each received request into an ASGI scope with `receive`/`send` callables, run the application
in one task per request (with a cap on concurrent requests), speak WebSocket frames with wsproto over the opaque
stream of an upgraded request, run the lifespan protocol, and shut down gracefully. It must not frame HTTP: every
HTTP byte is written by the driver through the asyncio face (`httpsys.aio`), which is all this module calls.

Example:
    from httpsys.asgi import serve
    serve(app, ["http://+:8000/"])
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import signal
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable, MutableMapping
from types import TracebackType
from typing import Any

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Message, Ping, TextMessage
from wsproto.extensions import Extension, PerMessageDeflate
from wsproto.handshake import server_extensions_handshake
from wsproto.utilities import generate_accept_token, split_comma_header

from httpsys._lifespan_error import LifespanError
from httpsys.aio import OpaqueStream, Request, RequestQueue, ResponseWriter, ServerSession, UrlGroup
from httpsys.aio.access import log_access
from httpsys.aio.objects import drain_tasks, open_url_queue, wait_stop_or_failure
from httpsys.errors import ConnectionInvalidError

__all__ = ["ASGIApp", "ASGIServer", "LifespanError", "serve"]

Scope = MutableMapping[str, Any]
ASGIMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[ASGIMessage]]
Send = Callable[[ASGIMessage], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("httpsys.asgi")

_ASGI = {"version": "3.0", "spec_version": "2.4"}
_LIFESPAN_ASGI = {"version": "3.0", "spec_version": "2.0"}
_VERSIONS = {(1, 1): "1.1", (1, 0): "1.0", (2, 0): "2", (0, 9): "0.9"}
_METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")}
_READ_SIZE = 256 * 1024
_WS_CLOSE_TIMEOUT = 5.0
_LEAVE_TIMEOUT = 5.0  # seconds for a cancelled receive to come back from the daemon (`_leave_queue`)
_ERROR_BODY = b"Internal Server Error"
_ERROR_HEADERS = [(b"content-type", b"text/plain; charset=utf-8")]
_ENDED = object()  # what stepping an eagerly started request gives when it ended without waiting

# websocket cycle states
_WS_CONNECTING = 0  # websocket.connect not yet received by the app
_WS_HANDSHAKE = 1  # the app knows of the connection; no accept, close or denial yet
_WS_OPEN = 2  # accepted: frames flow
_WS_RESPONDING = 3  # a denial response (websocket.http.response.*) is under way
_WS_DONE = 4  # rejected, denied or disconnected


def _content_length(headers: list[tuple[bytes, bytes]]) -> int:
    """The declared request Content-Length, or -1 (chunked or absent)."""
    for name, value in headers:
        if len(name) == 14 and name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return -1


def _http_version(version: tuple[int, int]) -> str:
    """The scope's http_version ("1.1", "1.0", "2") without hashing a tuple for the usual versions."""
    major, minor = version
    if major == 1:
        if minor == 1:
            return "1.1"
        if minor == 0:
            return "1.0"
    elif major == 2 and minor == 0:
        return "2"
    return _VERSIONS.get(version) or f"{major}.{minor}"


def _method_name(method: bytes) -> str:
    if method == b"GET":
        return "GET"
    return _METHODS.get(method) or method.decode("latin-1")


def _split_target(raw_url: bytes) -> tuple[bytes, bytes]:
    """The request target as sent -> (path bytes, query bytes without '?')."""
    path, _, query = raw_url.partition(b"?")
    if path[:1] != b"/":
        scheme_end = path.find(b"://")
        if scheme_end >= 0:  # absolute-form: drop scheme and authority
            slash = path.find(b"/", scheme_end + 3)
            path = path[slash:] if slash >= 0 else b"/"
    return path, query


# ================================================================================================ HTTP
class _HTTPCycle:
    """One HTTP request seen through ASGI: `receive` gives the body then http.disconnect, `send` answers."""

    __slots__ = (
        "_body_left",
        "_body_pending",
        "_head",
        "_headers",
        "_more_body",
        "_request",
        "_status",
        "_trailer_list",
        "_trailers",
        "_waiters",
        "_watcher",
        "_writer",
        "complete",
        "disconnected",
        "send_failed",
        "started",
    )

    def __init__(self, request: Request, head: bool) -> None:
        self._request = request
        self._head = head
        self._more_body = request.has_body  # body bytes still to ask the driver for
        self._body_pending = True  # the last http.request message is still to be delivered
        self._body_left = -2  # -2: not looked up yet; -1: unknown (chunked); else bytes still expected
        self._status: int | None = None
        self._headers: Iterable[tuple[bytes, bytes]] = ()
        self._trailers = False
        self._trailer_list: list[tuple[bytes, bytes]] | None = None
        self._writer: ResponseWriter | None = None
        self._waiters: list[asyncio.Future[None]] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self.started = False  # something was handed to the driver
        self.complete = False  # the response is finished (or failed)
        self.disconnected = False
        self.send_failed = False

    # ----- receive -------------------------------------------------------------------------------------
    async def receive(self) -> ASGIMessage:
        if self._more_body:
            return await self._read_body()
        if self._body_pending:
            self._body_pending = False
            return {"type": "http.request", "body": b"", "more_body": False}
        if not (self.complete or self.disconnected):
            await self._wait_disconnect()
        return {"type": "http.disconnect"}

    async def _read_body(self) -> ASGIMessage:
        request = self._request
        left = self._body_left
        if left == -2:
            left = self._body_left = _content_length(request.snapshot.headers)
        try:
            chunk = await request.read_chunk(_READ_SIZE)
        except ConnectionError:
            self._more_body = self._body_pending = False
            self.disconnected = True
            return {"type": "http.disconnect"}
        if not chunk:
            self._more_body = self._body_pending = False
            return {"type": "http.request", "body": b"", "more_body": False}
        if left >= 0:
            left -= len(chunk)
            self._body_left = left
            if left <= 0:  # the declared length is in: no need to ask the driver for EOF
                self._more_body = self._body_pending = False
        return {"type": "http.request", "body": chunk, "more_body": self._more_body}

    async def _wait_disconnect(self) -> None:
        """Wait (lazily: the watcher starts on first need) until the client leaves or the response is done."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._waiters
        if waiters is None:
            waiters = self._waiters = []
        waiters.append(waiter)
        if self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch())
        try:
            await waiter
        finally:
            if not waiter.done():
                waiters.remove(waiter)

    async def _watch(self) -> None:
        try:
            await self._request.wait_disconnected()
        except OSError:
            pass
        self.disconnected = True
        self._wake()

    def _wake(self) -> None:
        waiters = self._waiters
        if waiters:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
            waiters.clear()

    def close(self) -> None:
        """The application returned: stop the disconnect watcher if one runs."""
        if self._watcher is not None and not self._watcher.done():
            self._watcher.cancel()

    # ----- send ----------------------------------------------------------------------------------------
    async def send(self, message: ASGIMessage) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            if isinstance(message, dict):  # the usual message: compiled, a dict's own lookups, no method call
                body = message.get("body", b"")
                more = message.get("more_body", False)
            else:
                body = message.get("body", b"")
                more = message.get("more_body", False)
            status = self._status
            if (
                status is None
                or more
                or self._writer is not None
                or self._trailers
                or self._head
                or self.complete
                or self._waiters
            ):
                await self._send_body(body, more)
                return
            # The common shape, a whole response in one body message: handed to the driver in one call, with no
            # coroutine between this one and the driver (`_send_body` does the same through `respond`).
            request = self._request
            self.started = self.complete = True
            try:
                result = request._respond_begin(status, self._headers, body, None, False, None)
                if type(result) is not tuple:
                    result = await result
                request._respond_end(result)
            except ConnectionError:
                self.send_failed = True
                raise
            except BaseException:
                self.complete = False  # refused (bad header) or interrupted: the server must end the request
                raise
        elif kind == "http.response.start":
            if self._status is not None:
                raise RuntimeError("http.response.start sent twice")
            if isinstance(message, dict):  # as above
                self._status = message["status"]
                self._headers = message.get("headers") or ()
                self._trailers = bool(message.get("trailers", False))
            else:
                self._status = message["status"]
                self._headers = message.get("headers") or ()
                self._trailers = bool(message.get("trailers", False))
        elif kind == "http.response.trailers":
            await self._send_trailers(message)
        elif kind == "http.response.pathsend":
            await self._send_file(message["path"], 0, None, False)
        elif kind == "http.response.zerocopysend":
            file = message["file"]
            fd = file if isinstance(file, int) else file.fileno()
            offset = message.get("offset")
            if offset is None:
                offset = os.lseek(fd, 0, os.SEEK_CUR)
            await self._send_file(fd, offset, message.get("count"), message.get("more_body", False))
        else:
            raise ValueError(f"unexpected ASGI message type {kind!r} for an HTTP connection")

    def _check_open(self, what: str) -> int:
        status = self._status
        if status is None:
            raise RuntimeError(f"{what} sent before http.response.start")
        if self.complete:
            if self.disconnected or self.send_failed:
                raise ConnectionInvalidError("the client disconnected")
            raise RuntimeError(f"{what} sent after the response was complete")
        return status

    async def _send_body(self, body: bytes, more: bool) -> None:
        status = self._check_open("http.response.body")
        writer = self._writer
        request = self._request
        try:
            if writer is None:
                if not more and not self._trailers:
                    self.started = self.complete = True
                    if self._head:
                        await request.respond(status, self._head_headers(len(body)))
                    else:
                        await request.respond(status, self._headers, body)
                    if self._waiters:
                        self._wake()
                    return
                self.started = True
                writer = self._writer = await request.start_response(status, self._headers)
            if body and not self._head:
                await writer.write(body)
            if not more:
                if self._trailers:
                    self._trailer_list = []
                else:
                    self.complete = True
                    await writer.finish()
                    if self._waiters:
                        self._wake()
        except ConnectionError:
            self.complete = self.send_failed = True
            raise
        except BaseException:
            self.complete = False  # refused (bad header) or interrupted: the server must end the request
            raise

    def _head_headers(self, length: int) -> list[tuple[bytes, bytes]]:
        """HEAD: the body is not sent, but a Content-Length the app did not give still describes it."""
        headers = list(self._headers)
        if not any(name.lower() in (b"content-length", b"transfer-encoding") for name, _ in headers):
            headers.append((b"content-length", b"%d" % length))
        return headers

    async def _send_trailers(self, message: ASGIMessage) -> None:
        self._check_open("http.response.trailers")
        trailers = self._trailer_list
        writer = self._writer
        if trailers is None or writer is None:
            raise RuntimeError("http.response.trailers needs trailers=True and the final body message first")
        trailers.extend(message.get("headers") or ())
        if not message.get("more_trailers", False):
            self.complete = True
            try:
                await writer.finish(trailers=trailers)
            except ConnectionError:
                self.send_failed = True
                raise
            except BaseException:
                self.complete = False
                raise
            if self._waiters:
                self._wake()

    async def _send_file(self, file: str | int, offset: int, count: int | None, more: bool) -> None:
        status = self._check_open("a file response")
        request = self._request
        writer = self._writer
        try:
            if writer is None and not more and not self._trailers:
                self.started = self.complete = True
                if self._head:
                    await request.respond(status, self._headers)
                else:
                    await request.send_file(file, status, self._headers, offset=offset, length=count)
                if self._waiters:
                    self._wake()
                return
            if writer is None:
                self.started = True
                writer = self._writer = await request.start_response(status, self._headers)
            if not self._head:
                if isinstance(file, str):
                    fd = os.open(file, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
                    try:
                        await writer.write_file(fd, offset, count)
                    finally:
                        os.close(fd)
                else:
                    await writer.write_file(file, offset, count)
            if not more:
                if self._trailers:
                    self._trailer_list = []
                else:
                    self.complete = True
                    await writer.finish()
                    if self._waiters:
                        self._wake()
        except ConnectionError:
            self.complete = self.send_failed = True
            raise
        except BaseException:
            self.complete = False  # refused (bad header) or interrupted: the server must end the request
            raise


# ================================================================================================ WebSocket
def _handshake_problem(headers: list[tuple[bytes, bytes]]) -> tuple[int, list[tuple[bytes, bytes]]] | None:
    """A (status, headers) answer for an unusable WebSocket handshake, None when it is fine (RFC 6455 §4.2.1)."""
    key = version = None
    connection_upgrade = False
    for name, value in headers:
        if name == b"sec-websocket-key":
            key = value
        elif name == b"sec-websocket-version":
            version = value
        elif name == b"connection":
            connection_upgrade = connection_upgrade or any(
                token.strip().lower() == b"upgrade" for token in value.split(b",")
            )
    if version is None or version.strip() != b"13":
        return 426, [(b"Sec-WebSocket-Version", b"13")]
    if not key or not connection_upgrade:
        return 400, []
    return None


class _WebSocketCycle:
    """One WebSocket session seen through ASGI, with wsproto framing over the request's opaque stream."""

    __slots__ = (
        "_conn",
        "_denial_body",
        "_denial_headers",
        "_denial_status",
        "_disconnect",
        "_headers",
        "_lock",
        "_max_size",
        "_parts",
        "_pending",
        "_reading",
        "_request",
        "_size",
        "_stream",
        "_text",
        "close_sent",
        "state",
    )

    def __init__(self, request: Request, headers: list[tuple[bytes, bytes]], max_size: int) -> None:
        self._request = request
        self._headers = headers
        self._max_size = max_size
        self.state = _WS_CONNECTING
        self._stream: OpaqueStream | None = None
        self._conn: Connection | None = None
        self._lock = asyncio.Lock()
        self._pending: deque[ASGIMessage] = deque()
        self._reading: asyncio.Task[bytes] | None = None
        self._disconnect: ASGIMessage | None = None
        self._parts: list[Any] = []
        self._size = 0
        self._text = False
        self._denial_status = 0
        self._denial_headers: Iterable[tuple[bytes, bytes]] = ()
        self._denial_body: list[bytes] = []
        self.close_sent = False

    # ----- receive -------------------------------------------------------------------------------------
    async def receive(self) -> ASGIMessage:
        if self.state == _WS_CONNECTING:
            self.state = _WS_HANDSHAKE
            return {"type": "websocket.connect"}
        if self._pending:
            return self._pending.popleft()
        if self._disconnect is not None:
            return self._disconnect
        if self.state != _WS_OPEN:
            raise RuntimeError("websocket.receive before websocket.accept")
        conn = self._conn
        assert conn is not None
        while not self._pending:
            data = await self._read()
            if not data:
                await self._disconnected(1006, "")
                break
            conn.receive_data(data)
            await self._process(conn)
        return self._pending.popleft()

    async def _read(self) -> bytes:
        """The next bytes from the stream; a cancelled receive leaves the read running for the next one."""
        reading = self._reading
        if reading is None:
            stream = self._stream
            assert stream is not None
            reading = self._reading = asyncio.get_running_loop().create_task(stream.read())
        data = await asyncio.shield(reading)
        self._reading = None
        return data

    async def _process(self, conn: Connection) -> None:
        for event in conn.events():
            if isinstance(event, Message):
                self._size += len(event.data)
                if self._size > self._max_size:
                    await self._close_with(conn, 1009, "message too big")
                    await self._disconnected(1009, "message too big")
                    return
                self._text = isinstance(event, TextMessage)
                self._parts.append(event.data)
                if event.message_finished:
                    parts, self._parts, self._size = self._parts, [], 0
                    if self._text:
                        self._pending.append({"type": "websocket.receive", "text": "".join(parts)})
                    else:
                        self._pending.append({"type": "websocket.receive", "bytes": b"".join(parts)})
            elif isinstance(event, Ping):
                if conn.state != ConnectionState.OPEN:
                    continue  # closing: a pong may no longer be sent
                with contextlib.suppress(OSError):
                    await self._write(conn.send(event.response()))
            elif isinstance(event, CloseConnection):
                if conn.state == ConnectionState.REMOTE_CLOSING or (
                    conn.state == ConnectionState.OPEN and not self.close_sent
                ):
                    with contextlib.suppress(OSError):
                        await self._write(conn.send(event.response()))
                    self.close_sent = True
                await self._disconnected(event.code, event.reason or "")
                return

    async def _close_with(self, conn: Connection, code: int, reason: str) -> None:
        if not self.close_sent and conn.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            self.close_sent = True
            with contextlib.suppress(OSError):
                await self._write(conn.send(CloseConnection(code=code, reason=reason)))

    async def _disconnected(self, code: int, reason: str) -> None:
        self._disconnect = {"type": "websocket.disconnect", "code": code, "reason": reason}
        self._pending.append(self._disconnect)
        self.state = _WS_DONE
        await self._close_stream()

    async def _write(self, data: bytes) -> None:
        stream = self._stream
        assert stream is not None
        try:
            async with self._lock:
                await stream.write(data)
        except ConnectionError:
            if self._disconnect is None:
                self._disconnect = {"type": "websocket.disconnect", "code": 1006, "reason": ""}
            self.state = _WS_DONE
            raise

    async def _close_stream(self) -> None:
        stream = self._stream
        if stream is not None:
            async with self._lock:
                await stream.close()

    # ----- send ----------------------------------------------------------------------------------------
    async def send(self, message: ASGIMessage) -> None:
        kind = message["type"]
        if kind == "websocket.send":
            conn = self._conn
            if conn is None or self.state != _WS_OPEN or self.close_sent:
                if self.state in (_WS_CONNECTING, _WS_HANDSHAKE):
                    raise RuntimeError("websocket.send before websocket.accept")
                raise ConnectionInvalidError("the WebSocket is closed")
            text = message.get("text")
            if text is not None:
                data = conn.send(TextMessage(data=text))
            else:
                data = conn.send(BytesMessage(data=message.get("bytes") or b""))
            await self._write(data)
        elif kind == "websocket.accept":
            await self._accept(message)
        elif kind == "websocket.close":
            if self.state in (_WS_CONNECTING, _WS_HANDSHAKE):
                self.state = _WS_DONE
                self._disconnect = {"type": "websocket.disconnect", "code": message.get("code", 1000)}
                await self._request.respond(403, _ERROR_HEADERS, b"Forbidden")
            elif self.state == _WS_OPEN and self._conn is not None:
                await self._close_with(self._conn, message.get("code") or 1000, message.get("reason") or "")
        elif kind == "websocket.http.response.start":
            if self.state not in (_WS_CONNECTING, _WS_HANDSHAKE):
                raise RuntimeError("websocket.http.response.start after the handshake was answered")
            self.state = _WS_RESPONDING
            self._denial_status = message["status"]
            self._denial_headers = message.get("headers") or ()
        elif kind == "websocket.http.response.body":
            if self.state != _WS_RESPONDING:
                raise RuntimeError("websocket.http.response.body without websocket.http.response.start")
            self._denial_body.append(message.get("body", b""))
            if not message.get("more_body", False):
                self.state = _WS_DONE
                self._disconnect = {"type": "websocket.disconnect", "code": 1000}
                body = b"".join(self._denial_body)
                await self._request.respond(self._denial_status, self._denial_headers, body)
        else:
            raise ValueError(f"unexpected ASGI message type {kind!r} for a WebSocket")

    async def _accept(self, message: ASGIMessage) -> None:
        if self.state not in (_WS_CONNECTING, _WS_HANDSHAKE):
            raise RuntimeError("websocket.accept after the handshake was answered")
        key = b""
        offers: list[str] = []
        for name, value in self._headers:
            if name == b"sec-websocket-key":
                key = value.strip()
            elif name == b"sec-websocket-extensions":
                offers.extend(split_comma_header(value))
        response: list[tuple[bytes, bytes]] = [
            (b"Upgrade", b"websocket"),
            (b"Connection", b"Upgrade"),
            (b"Sec-WebSocket-Accept", generate_accept_token(key)),
        ]
        subprotocol = message.get("subprotocol")
        if subprotocol:
            response.append((b"Sec-WebSocket-Protocol", subprotocol.encode("ascii")))
        extensions: list[Extension] = []
        if offers:
            deflate = PerMessageDeflate()
            accepted = server_extensions_handshake(offers, [deflate])
            if accepted:
                response.append((b"Sec-WebSocket-Extensions", accepted))
                extensions.append(deflate)
        response.extend((bytes(n), bytes(v)) for n, v in message.get("headers") or ())
        self._stream = await self._request.upgrade(response)
        self._conn = Connection(ConnectionType.SERVER, extensions)
        self.state = _WS_OPEN

    # ----- the end -------------------------------------------------------------------------------------
    async def going_away(self) -> None:
        """Server shutdown: ask the client to close (1012 Service Restart)."""
        if self.state == _WS_OPEN and self._conn is not None:
            await self._close_with(self._conn, 1012, "server shutting down")

    async def finish(self, failed: bool) -> None:
        """The application returned (or failed): complete whatever it left open."""
        state = self.state
        if state in (_WS_CONNECTING, _WS_HANDSHAKE, _WS_RESPONDING):
            self.state = _WS_DONE
            if failed:
                await self._request.respond(500, _ERROR_HEADERS, _ERROR_BODY)
            else:
                await self._request.respond(403, _ERROR_HEADERS, b"Forbidden")
            return
        conn = self._conn
        if state == _WS_OPEN and conn is not None:
            await self._close_with(conn, 1011 if failed else 1000, "")
            # wait (bounded) for the client's close frame, then close the connection from our side
            try:
                async with asyncio.timeout(_WS_CLOSE_TIMEOUT):
                    while self._disconnect is None:
                        data = await self._read()
                        if not data:
                            break
                        conn.receive_data(data)
                        for event in conn.events():
                            if isinstance(event, CloseConnection):
                                self._disconnect = {"type": "websocket.disconnect", "code": event.code}
            except (TimeoutError, OSError):
                pass
            self.state = _WS_DONE
        if self._reading is not None:
            self._reading.cancel()
        with contextlib.suppress(OSError):
            await self._close_stream()


# ================================================================================================ lifespan
class _Lifespan:
    """The lifespan protocol: one long-lived call of the application, told of startup and shutdown."""

    def __init__(self, app: ASGIApp, state: dict[str, Any], required: bool) -> None:
        loop = asyncio.get_running_loop()
        self.app = app
        self.state = state
        self.required = required
        self.supported = True
        self._startup: asyncio.Future[None] = loop.create_future()
        self._shutdown: asyncio.Future[None] = loop.create_future()
        self._shutdown_asked: asyncio.Future[None] = loop.create_future()
        self._started = False
        self._task: asyncio.Task[None] | None = None

    async def startup(self) -> None:
        """Run the startup phase; LifespanError if the application reports a failure."""
        self._task = asyncio.get_running_loop().create_task(self._main())
        await self._startup

    async def shutdown(self, timeout: float) -> None:
        task = self._task
        if task is None or task.done():
            return
        if not self._shutdown_asked.done():
            self._shutdown_asked.set_result(None)
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._shutdown)
        except TimeoutError:
            logger.warning("ASGI lifespan shutdown did not complete within %.1f s", timeout)
            task.cancel()

    async def _main(self) -> None:
        scope: Scope = {"type": "lifespan", "asgi": dict(_LIFESPAN_ASGI), "state": self.state}
        try:
            await self.app(scope, self._receive, self._send)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if not self._startup.done():
                if self.required:
                    logger.exception("ASGI lifespan startup failed")
                    self._startup.set_exception(LifespanError(f"lifespan startup raised {exc!r}"))
                else:
                    self.supported = False
                    logger.info(
                        "ASGI 'lifespan' protocol appears unsupported (%r): continuing without it", exc
                    )
                    self._startup.set_result(None)
            else:
                logger.exception("ASGI lifespan task failed")
        finally:
            if not self._startup.done():
                self.supported = False
                if self.required:
                    self._startup.set_exception(
                        LifespanError("the application returned during lifespan startup")
                    )
                else:
                    self._startup.set_result(None)
            if not self._shutdown.done():
                self._shutdown.set_result(None)

    async def _receive(self) -> ASGIMessage:
        if not self._started:
            self._started = True
            return {"type": "lifespan.startup"}
        await self._shutdown_asked
        return {"type": "lifespan.shutdown"}

    async def _send(self, message: ASGIMessage) -> None:
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            if not self._startup.done():
                self._startup.set_result(None)
        elif kind == "lifespan.startup.failed":
            text = message.get("message", "")
            logger.error("ASGI lifespan startup failed: %s", text)
            if not self._startup.done():
                self._startup.set_exception(LifespanError(f"lifespan startup failed: {text}"))
        elif kind == "lifespan.shutdown.complete":
            if not self._shutdown.done():
                self._shutdown.set_result(None)
        elif kind == "lifespan.shutdown.failed":
            logger.error("ASGI lifespan shutdown failed: %s", message.get("message", ""))
            if not self._shutdown.done():
                self._shutdown.set_result(None)
        else:
            raise ValueError(f"unexpected ASGI lifespan message type {kind!r}")


# ================================================================================================ eager start
class _Resumed:
    """The rest of a request's coroutine that was started eagerly and then had to wait: awaited by the task that
    started it, it hands that task what the coroutine waits for and goes on with it in the request's own context,
    exactly as a task of its own would (a cancellation of the task is thrown into the coroutine)."""

    __slots__ = ("_context", "_coro", "_first", "_waiting")

    def __init__(
        self, coro: Coroutine[Any, Any, None], context: contextvars.Context, waiting: object
    ) -> None:
        self._coro = coro
        self._context = context
        self._waiting = waiting  # what the coroutine's first step yielded: the future it waits for (or None)
        self._first = True

    def __await__(self) -> Generator[Any, None, None]:
        return self  # an iterator with send and throw: what `await` needs

    def __iter__(self) -> _Resumed:
        return self

    def __next__(self) -> object:
        return self.send(None)

    def send(self, value: None) -> object:
        if self._first:
            self._first = False
            return self._waiting
        return self._context.run(self._coro.send, value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> object:
        self._first = False
        return self._context.run(self._coro.throw, typ if val is None else val)

    def close(self) -> None:
        self._context.run(self._coro.close)


# ================================================================================================ the server
class ASGIServer:
    """Serve an ASGI 3 application on a request queue bound to the given URL prefixes.

    Example:
        server = ASGIServer(app, ["http://+:8000/"])
        stop = asyncio.Event()
        await server.run(stop)          # returns after stop.set() and a graceful shutdown

        async with ASGIServer(app, ["http://+:8000/api/"]) as server:   # serves in the background
            ...

    With `open_existing=True` the server receives from the named queue `queue_name` that another process created
    and bound to its URLs (HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING, through the daemon): it registers no URL
    of its own (`urls` are then only informative), as a worker of `httpsys run --workers` does.

    Each request's application call starts at once in the task that received the request (`eager_start`, as
    Python 3.12's eager tasks do): a response that needs no waiting is complete without a task of its own. When the
    application first waits, that task goes on with it to its end, in the request's own context (a copy, as a new
    task would have), and a new task takes over receiving. Until its first wait, `asyncio.current_task()` is the
    receiving task rather than one of the request's own; `eager_start=False` gives every request a new task from
    the start (docs/decisions/0031-asgi-per-request-cost.md).
    """

    def __init__(
        self,
        app: ASGIApp,
        urls: list[str],
        *,
        queue_name: str | None = None,
        root_path: str = "",
        lifespan: str = "auto",
        concurrency: int = 1000,
        shutdown_timeout: float = 10.0,
        ws_max_size: int = 16 * 1024 * 1024,
        access_log: bool = False,
        open_existing: bool = False,
        eager_start: bool = True,
    ) -> None:
        if lifespan not in ("auto", "on", "off"):
            raise ValueError(f"lifespan must be 'auto', 'on' or 'off', not {lifespan!r}")
        if open_existing and not queue_name:
            raise ValueError("open_existing needs the queue_name of a queue another process created")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.app = app
        self.urls = list(urls)
        self.queue_name = queue_name
        self.root_path = root_path.rstrip("/")
        self.lifespan = lifespan
        self.concurrency = concurrency
        self.shutdown_timeout = shutdown_timeout
        self.ws_max_size = ws_max_size
        self.access_log = access_log
        self.open_existing = open_existing
        self.eager_start = eager_start
        self._leaving = False  # a worker on a shared queue stopped receiving (`_leave_queue`)
        self.state: dict[str, Any] = {}
        self.started = asyncio.Event()
        self.session: ServerSession | None = None
        self.queue: RequestQueue | None = None
        self.group: UrlGroup | None = None
        self._tasks: dict[int, asyncio.Task[None]] = {}  # by request id
        self._websockets: set[_WebSocketCycle] = set()
        self._active = 0
        self._room: asyncio.Future[None] | None = None
        self._root_bytes = self.root_path.encode("utf-8")
        self._extensions: dict[str, Any] = {
            "http.response.trailers": {},
            "http.response.pathsend": {},
            "http.response.zerocopysend": {},
        }
        self._ws_extensions: dict[str, Any] = {"websocket.http.response": {}}
        # what every HTTP scope starts from (`_handle` copies it and fills in the request's entries)
        self._http_scope: dict[str, Any] = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/",
            "raw_path": b"/",
            "query_string": b"",
            "root_path": self.root_path,
            "headers": [],
            "client": None,
            "server": None,
            "state": None,
            "extensions": self._extensions,
        }
        # the extensions with the TLS extension, made once per TLS connection, not per request: a connection's
        # requests carry the same `extra` object (its TLS facts), so it is the key (`_tls_extensions`)
        self._tls_made: dict[int, tuple[dict[str, object], dict[str, Any]]] = {}
        self._ws_tls_made: dict[int, tuple[dict[str, object], dict[str, Any]]] = {}
        self._background: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._receiver: asyncio.Task[None] | None = None  # the task receiving now (eager start moves it)
        self._receiving: asyncio.Future[None] | None = None  # settled when receiving ends (its failure)

    # ----- running -------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Serve until `stop` is set (or the task is cancelled), then shut down gracefully."""
        loop = asyncio.get_running_loop()
        lifespan: _Lifespan | None = None
        if self.lifespan != "off":
            lifespan = _Lifespan(self.app, self.state, self.lifespan == "on")
            await lifespan.startup()
        session = self.session = ServerSession()
        receiver: asyncio.Task[None] | None = None
        # No `await` in a `finally` block in this module: compiled by mypyc, such an await loses track of an
        # exception thrown into it (a cancellation the awaited code handles escapes anyway; decision 0009).
        try:
            session.open()
            if self.open_existing:
                queue = session.request_queue(self.queue_name, open_existing=True)
            else:
                queue, self.group = open_url_queue(session, self.urls, self.queue_name)
            self.queue = queue
            receiver = loop.create_task(self._receive(queue))
            self.started.set()
            await wait_stop_or_failure(receiver, stop)
        except BaseException:
            await self._shut_down(receiver, lifespan, session)
            raise
        await self._shut_down(receiver, lifespan, session)

    async def _shut_down(
        self, receiver: asyncio.Task[None] | None, lifespan: _Lifespan | None, session: ServerSession
    ) -> None:
        """Drain, then run the lifespan shutdown and close the session even when draining fails."""
        try:
            await self._drain(receiver)
        except BaseException:
            await self._close(lifespan, session)
            raise
        await self._close(lifespan, session)

    async def _close(self, lifespan: _Lifespan | None, session: ServerSession) -> None:
        try:
            if lifespan is not None:
                await lifespan.shutdown(self.shutdown_timeout)
        finally:
            session.close()
            self.started.clear()

    async def _receive(self, queue: RequestQueue) -> None:
        """Stands for the receiving, whichever task does it (eager start hands it from task to task): ends when
        receiving ends, with its failure; cancelled (by the drain), it cancels the task receiving now."""
        loop = asyncio.get_running_loop()
        receiving = self._receiving = loop.create_future()
        self._receiver = loop.create_task(self._receive_requests(queue))
        try:
            await receiving
        except asyncio.CancelledError:
            receiver = self._receiver
            if receiver is not None and not receiver.done():
                receiver.cancel()
            raise

    def _stopped_receiving(self, failure: BaseException | None) -> None:
        receiving = self._receiving
        if receiving is None or receiving.done():
            return
        if failure is None:
            receiving.set_result(None)
        elif isinstance(failure, asyncio.CancelledError):
            receiving.cancel()
        else:
            receiving.set_exception(failure)

    async def _receive_requests(self, queue: RequestQueue) -> None:
        """Receive requests and run their application calls; with eager start, go on with the first one that has
        to wait, to its end, once another task has taken over receiving."""
        try:
            resumed = await self._receive_until_wait(queue)
        except Exception as exc:
            # handed to `_receive` (its task's failure), not left unretrieved in this one
            self._stopped_receiving(exc)
            return
        except BaseException as ended:  # its own name: compiled, one `as` name holds one exception type
            self._stopped_receiving(ended)
            raise
        if resumed is None:
            self._stopped_receiving(None)
            return
        await resumed

    async def _receive_until_wait(self, queue: RequestQueue) -> _Resumed | None:
        """The receive loop: None when receiving ends; with eager start, the rest of a request that has to wait
        (a new task receives from then on)."""
        loop = asyncio.get_running_loop()
        handle = self._handle
        tasks = self._tasks
        limit = self.concurrency
        eager = self.eager_start
        while True:
            if self._active >= limit:
                self._room = loop.create_future()
                await self._room
            if self._leaving and not queue.prefetched:  # what had already arrived is served
                return None
            try:
                request = await queue.receive()
            except OSError:
                if queue.closed or self._leaving:
                    return None
                raise
            self._active += 1
            if not eager:
                tasks[request.snapshot.request_id] = loop.create_task(handle(request))
                continue
            coro = handle(request)
            context = contextvars.copy_context()
            try:
                # `next` with a default steps the coroutine without a StopIteration reaching this frame (a caught
                # exception costs a traceback entry in the compiled build): `_ENDED` means it returned
                waiting = context.run(next, coro.__await__(), _ENDED)
            except asyncio.CancelledError:
                continue  # the application cancelled itself: the request has ended (`_failed`)
            except Exception:
                logger.exception("ASGI request handling failed for %r", request)
                continue
            if waiting is _ENDED:
                continue  # answered without waiting: no task was needed
            # The application waits: this task goes on with it (its `current_task()` stays the same), and a new
            # task takes over receiving.
            this = asyncio.current_task()
            if this is not None:
                tasks[request.snapshot.request_id] = this
            self._receiver = loop.create_task(self._receive_requests(queue))
            return _Resumed(coro, context, waiting)

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
        """Graceful shutdown (`ServerSession.drain`): the session's ports stop accepting, idle keep-alive
        connections close, the others end with `Connection: close` after their current response; open WebSockets
        are asked to close (1012). The receiver keeps taking the requests already queued or still arriving on
        open connections; once those are answered and the connections closed (or after shutdown_timeout) it stops,
        and what still runs is cancelled.
        """
        if self.open_existing and receiver is not None:
            await self._leave_queue(receiver)
        for ws in list(self._websockets):
            with contextlib.suppress(OSError):
                await ws.going_away()
        session = self.session
        if session is not None:
            await drain_tasks(session, self._tasks.values(), receiver, self.shutdown_timeout, logger)

    async def __aenter__(self) -> ASGIServer:
        self._stop = asyncio.Event()
        self._background = asyncio.get_running_loop().create_task(self.run(self._stop))
        started = asyncio.get_running_loop().create_task(self.started.wait())
        await asyncio.wait((self._background, started), return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if self._background.done():
            self._background.result()  # raises what went wrong
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._stop is not None and self._background is not None:
            self._stop.set()
            await self._background

    # ----- one request ---------------------------------------------------------------------------------
    async def _handle(self, request: Request) -> None:
        try:
            snap = request.snapshot
            headers: list[tuple[bytes, bytes]] = []
            add = headers.append
            upgrade = False
            if snap.upgrade:  # the driver saw an Upgrade header (or CONNECT)
                for name, value in snap.headers:
                    name = name.lower()
                    if name == b"upgrade":
                        upgrade = b"websocket" in value.lower()
                    add((name, value))
            else:
                for name, value in snap.headers:
                    add((name.lower(), value))
            raw_url = snap.raw_url
            # "/..." without a query, most requests, needs no split (`find`: bytes' `in` tries the argument as an
            # int first, and formats a TypeError to learn that it is not)
            if raw_url and raw_url[0] == 47 and raw_url.find(b"?") < 0:
                raw_path = raw_url
                query = b""
            else:
                raw_path, query = _split_target(raw_url)
            path = snap.abs_path
            root = self.root_path
            if root and not (path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/")):
                path = root + path
                raw_path = self._root_bytes + raw_path
            method = snap.method
            if upgrade and method == b"GET":
                await self._websocket(request, headers, path, raw_path, query)
                return
            # a copy of the constant part (type, asgi, root_path, the plain extensions) with the rest filled in:
            # cheaper than building the fourteen entries
            scope = self._http_scope.copy()
            scope["http_version"] = _http_version(snap.version)
            scope["method"] = _method_name(method)
            if snap.full_url[4] == "s":
                scope["scheme"] = "https"
            scope["path"] = path
            scope["raw_path"] = raw_path
            scope["query_string"] = query
            scope["headers"] = headers
            scope["client"] = snap.remote_addr
            scope["server"] = snap.local_addr
            scope["state"] = self.state.copy()
            if snap.extra is not None:
                scope["extensions"] = _tls_extensions(self._tls_made, self._extensions, snap.extra)
            cycle = _HTTPCycle(request, method == b"HEAD")
            try:
                await self.app(scope, cycle.receive, cycle.send)
            except BaseException as exc:
                await self._failed(request, cycle, exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                if not cycle.complete:
                    await self._unfinished(request, cycle)
            finally:
                if cycle._watcher is not None:
                    cycle.close()
            if self.access_log and cycle.started:
                log_access(request, cycle._status or 500)
        finally:
            self._active -= 1
            tasks = self._tasks
            if tasks:  # with eager start, only requests that waited have an entry
                tasks.pop(request.snapshot.request_id, None)
            room = self._room
            if room is not None and not room.done():
                room.set_result(None)

    async def _failed(self, request: Request, cycle: _HTTPCycle, exc: BaseException) -> None:
        if cycle.send_failed or (cycle.disconnected and isinstance(exc, ConnectionError)):
            logger.debug(
                "client went away during %r: %r", request, exc
            )  # what the app raised follows from it
            return
        if isinstance(exc, asyncio.CancelledError):
            if not cycle.complete:
                with contextlib.suppress(OSError):
                    request.cancel()
            return
        logger.error("exception in ASGI application for %r", request, exc_info=exc)
        if not cycle.started:
            cycle.started = cycle.complete = True
            cycle._status = 500
            try:
                await request.respond(500, _ERROR_HEADERS, _ERROR_BODY)
                return
            except (RuntimeError, OSError):
                pass
        if not cycle.complete:  # started but unfinished: the client must not take it for a whole response
            cycle.complete = True
            with contextlib.suppress(OSError):
                request.cancel()

    async def _unfinished(self, request: Request, cycle: _HTTPCycle) -> None:
        """The application returned without completing the response."""
        if cycle.disconnected:
            logger.debug("client went away before the response to %r", request)
            cycle.complete = True
            with contextlib.suppress(OSError):
                request.cancel()
        elif not cycle.started:
            logger.error("ASGI application returned without a response for %r", request)
            cycle.started = cycle.complete = True
            cycle._status = 500
            with contextlib.suppress(OSError):
                await request.respond(500, _ERROR_HEADERS, _ERROR_BODY)
        else:
            logger.error("ASGI application returned before completing the response for %r", request)
            cycle.complete = True
            with contextlib.suppress(OSError):
                request.cancel()

    async def _websocket(
        self, request: Request, headers: list[tuple[bytes, bytes]], path: str, raw_path: bytes, query: bytes
    ) -> None:
        problem = _handshake_problem(headers)
        if problem is not None:
            status, extra = problem
            with contextlib.suppress(OSError):
                await request.respond(status, extra + _ERROR_HEADERS, b"Bad WebSocket handshake")
            return
        snap = request.snapshot
        subprotocols: list[str] = []
        for name, value in headers:
            if name == b"sec-websocket-protocol":
                subprotocols.extend(p.strip() for p in value.decode("latin-1").split(",") if p.strip())
        scope: Scope = {
            "type": "websocket",
            "asgi": _ASGI,
            "http_version": _VERSIONS.get(snap.version) or f"{snap.version[0]}.{snap.version[1]}",
            "scheme": "wss" if snap.full_url[4] == "s" else "ws",
            "path": path,
            "raw_path": raw_path,
            "query_string": query,
            "root_path": self.root_path,
            "headers": headers,
            "client": snap.remote_addr,
            "server": snap.local_addr,
            "subprotocols": subprotocols,
            "state": self.state.copy(),
            "extensions": self._ws_extensions
            if snap.extra is None
            else _tls_extensions(self._ws_tls_made, self._ws_extensions, snap.extra),
        }
        cycle = _WebSocketCycle(request, headers, self.ws_max_size)
        self._websockets.add(cycle)
        try:
            await self.app(scope, cycle.receive, cycle.send)
        except Exception as exc:
            if isinstance(exc, OSError) and cycle.state == _WS_DONE:
                logger.debug("WebSocket client went away during %r: %r", request, exc)
            else:
                logger.error("exception in ASGI WebSocket application for %r", request, exc_info=exc)
            await self._end_websocket(request, cycle, True)
        except BaseException:  # cancelled: end the connection, then let the cancellation go on
            await self._end_websocket(request, cycle, True)
            raise
        else:
            await self._end_websocket(request, cycle, False)

    async def _end_websocket(self, request: Request, cycle: _WebSocketCycle, failed: bool) -> None:
        """After the application returned or failed (awaited outside `finally` blocks, see `run`)."""
        self._websockets.discard(cycle)
        try:
            await cycle.finish(failed)
        except (OSError, RuntimeError):
            with contextlib.suppress(OSError):
                request.cancel()


# ================================================================================================ entry point
def serve(app: ASGIApp, urls: list[str], **kw: Any) -> None:
    """Run `app` on `urls` until SIGINT/SIGTERM, on uvloop when available.

    Example:
        serve(app, ["http://+:8000/"], lifespan="on")
    """

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await ASGIServer(app, urls, **kw).run(stop)

    _run(main())


def _run(main: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def _tls_extensions(
    made: dict[int, tuple[dict[str, object], dict[str, Any]]],
    extensions: dict[str, Any],
    extra: dict[str, object],
) -> dict[str, Any]:
    """`_with_tls` once per `extra` object (a TLS connection's facts, the same object for each of its requests
    until a client certificate asked for later replaces it): later requests of the connection reuse the dicts, as
    plain requests share `extensions`. Bounded; a snapshot decoded per request (the daemon) only misses."""
    seen = made.get(id(extra))
    if seen is not None and seen[0] is extra:
        return seen[1]
    result = _with_tls(extensions, extra)
    if len(made) >= 1024:
        made.clear()
    made[id(extra)] = (extra, result)
    return result


def _with_tls(extensions: dict[str, Any], extra: dict[str, object]) -> dict[str, Any]:
    """The scope's extensions with the ASGI TLS extension, for a request that came over TLS."""
    tls: Any = extra.get("tls")
    if not isinstance(tls, dict):
        return extensions
    cert = tls.get("client_cert") or b""
    chain: list[str] = []
    if cert:
        import ssl

        chain.append(ssl.DER_cert_to_PEM_cert(bytes(cert)))
    return {
        **extensions,
        "tls": {
            "server_cert": None,
            "client_cert_chain": chain,
            "client_cert_name": tls.get("client_cert_name") or None,
            "client_cert_error": tls.get("client_cert_error") or None,
            "tls_version": tls.get("tls_version") or None,
            "cipher_suite": tls.get("cipher_suite") or None,
        },
    }
