"""The asyncio view of one request: its head, its body, and the ways to answer it.

Responsibility: turn a request snapshot from the driver into a convenient Python object and turn Python calls
(`respond`, a streaming writer, file responses, trailers, an opaque upgrade) into the driver's send operations with
the right flags. It must not frame HTTP itself: the driver writes every byte.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from httpsys._core.records import DataChunk as _DataChunk
from httpsys._core.records import FileChunk, MemoryChunk, RequestSnapshot, TrailersChunk
from httpsys._core.response import ResponseSpec
from httpsys._core.status import Win32Error
from httpsys.aio.cache import CachePolicy
from httpsys.aio.headers import HeaderInput, Headers, split_response_headers
from httpsys.errors import InvalidParameterError, error_for_code

if TYPE_CHECKING:
    from httpsys.aio.objects import RequestQueue

DISCONNECT = 0x1
MORE_DATA = 0x2
BUFFER_DATA = 0x4
PROCESS_RANGES = 0x20
OPAQUE = 0x40
AUTOMATIC_CHUNKING = 0x200

_OK = int(Win32Error.NO_ERROR)
# The log data a final send hands the driver (HTTP_LOG_FIELDS_DATA with no field of the application's own): HTTP.sys
# logs a response only when it gets some, so a URL group with HttpServerLoggingProperty logs this face's responses
# with the driver's values. Never mutated.
LOG_DEFAULTS: dict[str, object] = {}
_EOF = int(Win32Error.ERROR_HANDLE_EOF)
_INVALID_PARAMETER = int(Win32Error.ERROR_INVALID_PARAMETER)
_REASONS = {s.value: s.phrase.encode("ascii") for s in HTTPStatus}
_READ_SIZE = 256 * 1024
_SPEC_CACHE: dict[tuple[object, ...], ResponseSpec] = {}
_SPEC_CACHE_MAX = 512


def _spec_key(status: int, headers: HeaderInput | None) -> tuple[object, ...] | None:
    """The memo key of a response head given as a small dict or list/tuple of pairs (else None)."""
    if type(headers) is dict:
        return (status, *headers.items()) if len(headers) <= 8 else None
    if type(headers) is list or type(headers) is tuple:
        return (status, *headers) if len(headers) <= 8 else None
    return (status,) if headers is None else None


def _not_a_policy(value: object) -> TypeError:
    return TypeError(f"cache must be an httpsys.CachePolicy or None, not {type(value).__name__}")


def reason_for(status: int) -> bytes:
    return _REASONS.get(status, b"")


class Completion:
    """The `done` of one driver operation issued on the driver's thread: keeps the result if the operation
    completes inside the call, else settles the future `outcome` handed out."""

    __slots__ = ("future", "result")

    def __init__(self) -> None:
        self.result: tuple[Any, ...] | None = None
        self.future: asyncio.Future[Any] | None = None

    def __call__(self, *result: Any) -> None:
        self.result = result
        future = self.future
        if future is not None and not future.done():
            future.set_result(result)

    def outcome(self, loop: asyncio.AbstractEventLoop) -> Any:
        """The result tuple when the operation completed at once, else a future of it (made once)."""
        if self.result is not None:
            return self.result
        future = self.future
        if future is None:
            future = self.future = loop.create_future()
        return future


class Request:
    """One request received from a `RequestQueue`.

    Example:
        async for request in queue:
            body = await request.read()
            await request.respond(200, {"Content-Type": "text/plain"}, b"got %d bytes" % len(body))

    `request.snapshot` is the plain record the driver handed over (every field as HTTP.sys reports it):
        bytes_in = request.snapshot.bytes_received
    """

    __slots__ = ("_failure", "_headers", "_queue", "_responded", "snapshot")

    def __init__(self, queue: RequestQueue, snapshot: RequestSnapshot) -> None:
        self._queue = queue
        self.snapshot = snapshot
        self._headers: Headers | None = None
        self._responded = False
        self._failure = 0  # the code of a response handed over early that failed later (decision 0025)

    # ----- the head --------------------------------------------------------------------------------------
    @property
    def method(self) -> str:
        """The verb as sent, e.g. ``"GET"``.

        Example:
            if request.method == "POST": ...
        """
        return self.snapshot.method.decode("latin-1")

    @property
    def url(self) -> str:
        """The cooked (canonical) full URL, e.g. ``"http://localhost:8080/a/b?x=1"``.

        Example:
            print(request.url)  # http://localhost:8080/a/b?x=1
        """
        return self.snapshot.full_url

    @property
    def path(self) -> str:
        """The cooked absolute path (percent-decoded, dot segments removed), e.g. ``"/a/b"``.

        Example:
            if request.path.startswith("/api/"): ...
        """
        return self.snapshot.abs_path

    @property
    def query(self) -> str:
        """The query string without the ``?`` (as sent, not decoded); ``""`` when absent.

        Example:
            params = urllib.parse.parse_qs(request.query)
        """
        return self.snapshot.query[1:]

    @property
    def raw_url(self) -> bytes:
        """The request target exactly as the client sent it.

        Example:
            log.info("target %r", request.raw_url)
        """
        return self.snapshot.raw_url

    @property
    def host(self) -> str:
        """Host (and port, as sent) of the cooked URL.

        Example:
            tenant = request.host.split(".")[0]
        """
        return self.snapshot.host

    @property
    def headers(self) -> Headers:
        """Case-insensitive, multi-valued headers: ``request.headers.get("accept")``.

        Example:
            accept = request.headers.get("accept", "*/*")
        """
        headers = self._headers
        if headers is None:
            headers = self._headers = Headers(self.snapshot.headers)
        return headers

    @property
    def http_version(self) -> str:
        """The protocol version the client sent, e.g. ``"1.1"``.

        Example:
            if request.http_version == "1.0": ...
        """
        major, minor = self.snapshot.version
        return f"{major}.{minor}"

    @property
    def client(self) -> tuple[str, int]:
        """The remote (client) address and port.

        Example:
            ip, port = request.client
        """
        return self.snapshot.remote_addr

    @property
    def server(self) -> tuple[str, int]:
        """The local address and port the connection arrived on.

        Example:
            local_ip, local_port = request.server
        """
        return self.snapshot.local_addr

    @property
    def scheme(self) -> str:
        """The URL scheme, ``"http"`` or ``"https"``.

        Example:
            secure = request.scheme == "https"
        """
        return self.snapshot.full_url.partition(":")[0]

    @property
    def tls(self) -> dict[str, object] | None:
        """The TLS facts of an https request, None for plain HTTP: ``protocol_name`` ("TLSv1.3"),
        ``cipher_name``, ``cipher_strength``, ``alpn``, ``server_name`` (SNI), ``server_cert_subject``,
        ``server_cert_issuer``, ``server_cert_key_size``, ``client_cert`` (DER bytes, empty when none),
        ``client_cert_negotiated``, and the Windows constants of HTTP_SSL_PROTOCOL_INFO (docs/tls.md).

        Example:
            if request.tls and request.tls["client_cert"]: ...
        """
        extra = self.snapshot.extra
        tls = extra.get("tls") if extra else None
        return dict(tls) if isinstance(tls, dict) else None

    async def client_certificate(self) -> bytes | None:
        """The client's certificate (DER), as HttpReceiveClientCertificate gives it: the one of the handshake,
        else asked for now with TLS 1.3 post-handshake authentication (returns when the client has answered);
        None on plain HTTP and when the client sent none or cannot be asked (TLS 1.2, a client that did not offer
        post-handshake authentication, HTTP/2; docs/tls.md). A certificate that fails verification against the
        binding's trusted issuers closes the connection: `httpsys.errors.ConnectionInvalidError`.

        Example:
            der = await request.client_certificate()
            if der is None:
                await request.respond(403)
        """
        tls = self.tls
        if tls is None:
            return None
        cert = tls.get("client_cert")
        if isinstance(cert, bytes) and cert:
            return cert
        code, der = await self._queue._call_client_certificate(self.connection_id)
        if code == _OK:
            return der
        if code == int(Win32Error.ERROR_NOT_FOUND):
            return None
        raise error_for_code(code)

    @property
    def request_id(self) -> int:
        """The RequestId the driver assigned (unique while the request lives).

        Example:
            log.info("request %#x", request.request_id)
        """
        return self.snapshot.request_id

    @property
    def connection_id(self) -> int:
        """The ConnectionId of the connection carrying this request (stable per connection).

        Example:
            sessions[request.connection_id] = state
        """
        return self.snapshot.connection_id

    @property
    def url_context(self) -> int:
        """The UrlContext of the URL prefix this request was routed by.

        Example:
            handler = handlers[request.url_context]
        """
        return self.snapshot.url_context

    @property
    def has_body(self) -> bool:
        """True while body bytes remain to be read.

        Example:
            body = await request.read() if request.has_body else b""
        """
        return bool(self.snapshot.flags & 1)

    # ----- the body --------------------------------------------------------------------------------------
    async def read_chunk(self, max_size: int = _READ_SIZE) -> bytes:
        """Up to `max_size` body bytes; ``b""`` at the end of the body.

        Example:
            while chunk := await request.read_chunk():
                sink.write(chunk)
        """
        if self._failure:
            raise error_for_code(self._failure)
        code, data = await self._queue._call_body(self.request_id, max_size, False)
        if code == _EOF:
            return b""
        if code != _OK:
            raise error_for_code(code)
        return data

    async def read(self, limit: int | None = None) -> bytes:
        """The whole body (raises ValueError beyond `limit` bytes).

        Example:
            data = await request.read(limit=10_000_000)
        """
        parts: list[bytes] = []
        size = 0
        while True:
            chunk = await self.read_chunk()
            if not chunk:
                return b"".join(parts)
            size += len(chunk)
            if limit is not None and size > limit:
                raise ValueError(f"request body larger than {limit} bytes")
            parts.append(chunk)

    def stream(self) -> AsyncIterator[bytes]:
        """Iterate over the body as it arrives.

        Example:
            async for chunk in request.stream():
                digest.update(chunk)
        """
        return _BodyChunks(self)

    # ----- responding ------------------------------------------------------------------------------------
    def _spec(self, status: int, headers: HeaderInput | None, reason: str | bytes | None) -> ResponseSpec:
        key = _spec_key(status, headers) if reason is None else None
        if key is not None:
            # Apps send the same few header sets again and again: reuse one record per (status, headers), so
            # the driver derives validation, framing and the head prefix once (records are never changed).
            try:
                spec = _SPEC_CACHE.get(key)
            except TypeError:  # unhashable values: take the general path
                key = None
                spec = None
            if spec is not None:
                return spec
            known, unknown = split_response_headers(headers)
            spec = ResponseSpec(status=status, reason=reason_for(status), known=known, unknown=unknown)
            if key is not None:
                if len(_SPEC_CACHE) >= _SPEC_CACHE_MAX:
                    _SPEC_CACHE.clear()
                _SPEC_CACHE[key] = spec
            return spec
        known, unknown = split_response_headers(headers)
        if reason is None:
            breason = reason_for(status)
        else:
            breason = reason if isinstance(reason, bytes) else reason.encode("ascii")
        return ResponseSpec(status=status, reason=breason, known=known, unknown=unknown)

    def _claim(self) -> None:
        if self._failure:
            raise error_for_code(self._failure)
        if self._responded:
            raise RuntimeError("a response was already started for this request")
        self._responded = True

    async def _send_head(
        self, flags: int, spec: ResponseSpec, chunks: list[_DataChunk], cache: CachePolicy | None = None
    ) -> int:
        """The first send of the response; a response the driver refuses (a bad header) can be replaced."""
        self._claim()
        try:
            return await self._queue._call_send(
                self.request_id, flags, spec, chunks, response=True, cache=cache
            )
        except InvalidParameterError:
            self._responded = False
            raise

    async def respond(
        self,
        status: int = 200,
        headers: HeaderInput | None = None,
        body: bytes | bytearray | memoryview = b"",
        *,
        reason: str | bytes | None = None,
        disconnect: bool = False,
        cache: CachePolicy | None = None,
    ) -> int:
        """Send the whole response in one call (Content-Length computed); returns the bytes written (through a
        daemon, a small response handed over without waiting returns its body's length: docs/daemon.md).

        Through a daemon whose connection this loop serves, a small response (immutable `bytes`, up to 64 KiB)
        completes once handed to the daemon's connection and returns the body's length; a failure the daemon
        reports later is logged and raised by the request's next call (decision 0025).

        With `cache` (an `httpsys.CachePolicy`) the driver may keep the response and answer later GET and
        HEAD requests for the URL itself, without this application (HttpSendHttpResponse's HTTP_CACHE_POLICY).

        Example:
            await request.respond(404, {"Content-Type": "text/plain"}, b"no such thing")
            await request.respond(200, headers, page, cache=httpsys.CachePolicy.time_to_live(60))
        """
        result = self._respond_begin(status, headers, body, reason, disconnect, cache)
        if type(result) is not tuple:
            result = await result
        return self._respond_end(result)

    def _respond_begin(
        self,
        status: int,
        headers: HeaderInput | None,
        body: bytes | bytearray | memoryview,
        reason: str | bytes | None,
        disconnect: bool,
        cache: CachePolicy | None,
    ) -> Any:
        """`respond` up to the driver's answer: the (code, bytes) tuple when the send completed inside the call
        (the usual case with the driver on this loop), else an awaitable of it. For callers that save a coroutine
        per response (the ASGI adapter); `_respond_end` checks the answer."""
        if cache is not None and not isinstance(cache, CachePolicy):
            raise _not_a_policy(cache)
        spec = self._spec(status, headers, reason)
        if self._responded:
            if self._failure:
                raise error_for_code(self._failure)
            raise RuntimeError("a response was already started for this request")
        self._responded = True
        queue = self._queue
        driver = queue._driver
        chunks: list[_DataChunk] = [MemoryChunk(body)] if body else []
        flags = DISCONNECT if disconnect else 0
        early = queue._hand_over(self, flags, spec, chunks, cache) if queue._early else None
        if early is not None:
            return early
        if driver is not None:
            completion = Completion()
            driver.send_response(
                queue.handle, self.snapshot.request_id, flags, spec, chunks, cache, LOG_DEFAULTS, completion
            )
            return completion.outcome(queue._loop)
        return queue._call(
            queue._io.send_response,
            queue.handle,
            self.snapshot.request_id,
            flags,
            spec,
            chunks,
            cache,
            LOG_DEFAULTS,
        )

    def _respond_end(self, result: tuple[int, int]) -> int:
        """The bytes written, from the driver's answer to `_respond_begin`; raises what the answer says."""
        code = result[0]
        if code != _OK:
            if code == _INVALID_PARAMETER:
                self._responded = False  # refused (a bad header): the application may send another response
            raise error_for_code(code)
        return result[1]

    async def send_file(
        self,
        file: str | os.PathLike[str] | int | Any,
        status: int = 200,
        headers: HeaderInput | None = None,
        *,
        offset: int = 0,
        length: int | None = None,
        process_ranges: bool = False,
        cache: CachePolicy | None = None,
    ) -> int:
        """Send a file with zero-copy sendfile (a path, a descriptor or a file object).

        With `cache` (an `httpsys.CachePolicy`) the driver may keep the response, reading the file once, and
        answer later GET and HEAD requests for the URL itself (files up to UriMaxUriBytes, 256 KiB by default).

        Example:
            await request.send_file("site/index.html", headers={"Content-Type": "text/html"})
        """
        if cache is not None and not isinstance(cache, CachePolicy):
            raise _not_a_policy(cache)
        opened: int | None = None
        if isinstance(file, int):
            fd = file
        elif isinstance(file, (str, os.PathLike)):
            fd = opened = os.open(file, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        else:
            fd = file.fileno()
        try:
            chunk = FileChunk(fd, offset, length if length is not None else 0xFFFFFFFFFFFFFFFF)
            spec = self._spec(status, headers, None)
            flags = PROCESS_RANGES if process_ranges else 0
            return await self._send_head(flags, spec, [chunk], cache)
        finally:
            if opened is not None:
                os.close(opened)

    async def start_response(
        self,
        status: int = 200,
        headers: HeaderInput | None = None,
        *,
        reason: str | bytes | None = None,
        body: bytes | bytearray | memoryview = b"",
    ) -> ResponseWriter:
        """Send the status and headers now and stream the body with the returned writer.

        Without a Content-Length header the driver frames the body as chunked (HTTP/1.1), the way ASP.NET does
        over HTTP.sys; with one, the bytes you write must add up to it.

        Example:
            writer = await request.start_response(200, {"Content-Type": "text/plain"})
            for i in range(3):
                await writer.write(b"line %d\\n" % i)
            await writer.finish()
        """
        spec = self._spec(status, headers, reason)
        chunks: list[_DataChunk] = [MemoryChunk(body)] if body else []
        await self._send_head(MORE_DATA | BUFFER_DATA | AUTOMATIC_CHUNKING, spec, chunks)
        return ResponseWriter(self)

    async def upgrade(self, headers: HeaderInput | None = None) -> OpaqueStream:
        """Answer with 101 Switching Protocols and turn the connection into an opaque byte stream.

        Example:
            stream = await request.upgrade({"Upgrade": "websocket", "Connection": "Upgrade", ...})
            data = await stream.read()
            await stream.write(data)
            await stream.close()
        """
        spec = self._spec(101, headers, None)
        await self._send_head(OPAQUE | MORE_DATA | BUFFER_DATA, spec, [])
        return OpaqueStream(self)

    async def wait_disconnected(self) -> None:
        """Return when the client's connection closes (for any reason).

        Example:
            watcher = asyncio.ensure_future(request.wait_disconnected())
        """
        code = await self._queue._call_disconnect(self.connection_id)
        if code not in (_OK, int(Win32Error.ERROR_CONNECTION_INVALID)):
            raise error_for_code(code)

    def cancel(self) -> None:
        """Abort this request and close its connection (HttpCancelHttpRequest).

        Example:
            request.cancel()
        """
        self._queue.transport.cancel_request(self._queue.handle, self.request_id)

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url!r} id={self.request_id:#x}>"


class _BodyChunks:
    """The iterator `Request.stream()` returns: body chunks until the body ends (a class rather than an async
    generator, which the native build cannot compile)."""

    __slots__ = ("_request",)

    def __init__(self, request: Request) -> None:
        self._request = request

    def __aiter__(self) -> _BodyChunks:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._request.read_chunk()
        if not chunk:
            raise StopAsyncIteration
        return chunk


class ResponseWriter:
    """The body of a streamed response (from `Request.start_response`).

    Example:
        writer = await request.start_response(200)
        await writer.write(b"partial ")
        await writer.write_file(open("rest.bin", "rb"))
        await writer.finish(trailers={"X-Checksum": "abc"})
    """

    __slots__ = ("_finished", "_request")

    def __init__(self, request: Request) -> None:
        self._request = request
        self._finished = False

    async def write(self, data: bytes | bytearray | memoryview) -> int:
        """Send body bytes; returns once the driver has buffered them (backpressure applies).

        Example:
            await writer.write(b"chunk")
        """
        if self._finished:
            raise RuntimeError("the response is finished")
        if not data:
            return 0
        return await self._request._queue._call_send(
            self._request.request_id, MORE_DATA | BUFFER_DATA, None, [MemoryChunk(data)]
        )

    async def write_file(self, file: int | Any, offset: int = 0, length: int | None = None) -> int:
        """Send a file region with zero-copy sendfile (descriptor or file object).

        Example:
            await writer.write_file(open("big.bin", "rb"))
        """
        fd = file if isinstance(file, int) else file.fileno()
        chunk = FileChunk(fd, offset, length if length is not None else 0xFFFFFFFFFFFFFFFF)
        return await self._request._queue._call_send(self._request.request_id, MORE_DATA, None, [chunk])

    async def finish(
        self,
        trailers: HeaderInput | None = None,
        *,
        disconnect: bool = False,
        data: bytes | bytearray | memoryview = b"",
    ) -> int:
        """End the body, optionally with its last bytes (`data`) and trailers on a chunked response.

        Example:
            await writer.finish(trailers={"X-Checksum": digest})
        """
        if self._finished:
            return 0
        self._finished = True
        chunks: list[_DataChunk] = [MemoryChunk(data)] if data else []
        if trailers:
            known, unknown = split_response_headers(trailers)
            from httpsys._core.response import RESPONSE_HEADER_NAMES

            pairs = [(RESPONSE_HEADER_NAMES[i], v) for i, values in known.items() for v in values] + unknown
            chunks.append(TrailersChunk(tuple(pairs)))
        flags = DISCONNECT if disconnect else 0
        return await self._request._queue._call_send(self._request.request_id, flags, None, chunks)


class OpaqueStream:
    """The raw byte stream of an upgraded connection (WebSocket and the like).

    Example:
        stream = await request.upgrade({"Upgrade": "echo"})
        while data := await stream.read():
            await stream.write(data)
        await stream.close()
    """

    __slots__ = ("_closed", "_request")

    def __init__(self, request: Request) -> None:
        self._request = request
        self._closed = False

    async def read(self, max_size: int = 65536) -> bytes:
        """Bytes from the client; ``b""`` once the client has closed its side.

        Example:
            data = await stream.read()
        """
        try:
            return await self._request.read_chunk(max_size)
        except ConnectionError:
            return b""

    async def write(self, data: bytes | bytearray | memoryview) -> int:
        """write.

        Example:
            await stream.write(b"pong")
        """
        if self._closed:
            raise RuntimeError("the stream is closed")
        return await self._request._queue._call_send(
            self._request.request_id, MORE_DATA | BUFFER_DATA, None, [MemoryChunk(data)]
        )

    async def close(self) -> None:
        """End the stream and close the connection.

        Example:
            await stream.close()
        """
        if self._closed:
            return
        self._closed = True
        try:
            await self._request._queue._call_send(self._request.request_id, DISCONNECT, None, [])
        except ConnectionError:
            pass
