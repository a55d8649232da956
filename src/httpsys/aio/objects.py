"""The asyncio object model: server sessions, URL groups and request queues as Python objects.

Responsibility: create, configure and close HTTP Server API objects from asyncio code, receive requests with
`async for`, and turn driver completions into awaitables without a thread hop when the driver lives on the same
event loop. It must not implement HTTP behaviour: it calls the transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import weakref
from collections import deque
from collections.abc import Callable, Collection, Sequence
from types import TracebackType
from typing import Any, cast

from httpsys._core.records import CachePolicy, DataChunk, MemoryChunk
from httpsys._core.response import ResponseSpec, validate_response, validate_send_flags
from httpsys._core.settings import DriverSettings
from httpsys._core.status import Win32Error
from httpsys._core.timers import TimeoutLimits
from httpsys._core.verbosity import Verbosity503
from httpsys._engine.driver import Driver
from httpsys._transport import daemon_socket
from httpsys._transport.embedded import EmbeddedTransport, stored_configuration
from httpsys._transport.interface import DriverIo, DriverTransport
from httpsys.aio.request import DISCONNECT, LOG_DEFAULTS, Completion, Request
from httpsys.errors import HttpSysError, error_for_code

_OK = int(Win32Error.NO_ERROR)
_ABORTED = int(Win32Error.ERROR_OPERATION_ABORTED)
_INVALID_PARAMETER = int(Win32Error.ERROR_INVALID_PARAMETER)
_CLIENT_GONE = {int(Win32Error.ERROR_CONNECTION_INVALID), int(Win32Error.ERROR_NETNAME_DELETED)}
# A final response whose body is immutable bytes up to EARLY_SEND_MAX completes once handed to the daemon's
# connection, while the queue's responses so handed over and not yet confirmed stay within EARLY_SEND_BUDGET
# bytes (decision 0025); anything else waits for the daemon's completion.
EARLY_SEND_MAX = 64 << 10
EARLY_SEND_BUDGET = 1 << 20
log = logging.getLogger("httpsys.aio")
_PROP_TIMEOUTS = 3
_PROP_STATE = 5
_PROP_QUEUE_LENGTH = 4
_PROP_VERBOSITY = 6
_PROP_BINDING = 7
_PROP_QOS = 2
_MORE_DATA = 0x2  # HTTP_SEND_RESPONSE_FLAG_MORE_DATA

_loop_transports: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
_tokens = itertools.count(1)


def driver_for_loop(settings: DriverSettings | None = None) -> Any:
    """The running event loop's driver (one per loop, made on first use): the embedded driver hosted on the loop,
    or, with HTTPSYS_DAEMON_SOCKET set, a connection to that daemon (`settings` then belong to the daemon and are
    ignored; ServiceNotActiveError at once when no daemon listens). Both have `close()`."""
    loop = asyncio.get_running_loop()
    transport = _loop_transports.get(loop)
    if transport is None or transport.closed:
        path = daemon_socket()
        if path is not None:
            from httpsys._transport.remote import RemoteTransport

            transport = RemoteTransport(path, io_barrier=False, loop=loop)  # served by this loop
        else:
            transport = EmbeddedTransport(loop=loop, settings=settings, configuration=stored_configuration())
        _loop_transports[loop] = transport
    return transport


def use_driver(transport: DriverTransport) -> None:
    """Make `transport` the driver of the running event loop: objects created on this loop without a transport
    of their own (``ServerSession()``, and so the ASGI and WSGI servers) use it, as `driver_for_loop` returns it.

    For a program that configures its driver itself (settings, a subclass that sets properties on every queue,
    as the `httpsys` command does). Raises ValueError when `transport` is closed.

    Example:
        transport = EmbeddedTransport(loop=asyncio.get_running_loop(), settings=DriverSettings(max_connections=500))
        use_driver(transport)
        await ASGIServer(app, ["http://+:8000/"]).run(stop)   # served by `transport`
    """
    if getattr(transport, "closed", False):
        raise ValueError("use_driver: the transport is closed")
    _loop_transports[asyncio.get_running_loop()] = transport


def _check(code: int) -> None:
    if code != _OK:
        raise error_for_code(code)


class ServerSession:
    """A server session: the top-level configuration object that owns URL groups.

    Example:
        async with httpsys.ServerSession() as session:
            async with session.request_queue() as queue:
                group = session.url_group()
                group.add_url("http://+:8080/")
                group.bind(queue)
                async for request in queue:
                    await request.respond(200, {"Content-Type": "text/plain"}, b"hello")
    """

    def __init__(
        self, *, transport: DriverTransport | None = None, settings: DriverSettings | None = None
    ) -> None:
        self._transport = transport
        self._settings = settings
        self.session_id = 0
        self._groups: list[UrlGroup] = []
        self._queues: list[RequestQueue] = []

    @property
    def transport(self) -> DriverTransport:
        """The driver transport this object talks to.

        Example:
            stats = session.transport.statistics()
        """
        if self._transport is None:
            self._transport = driver_for_loop(self._settings)
        return self._transport

    def open(self) -> ServerSession:
        """Create the session in the driver (done by ``async with``).

        Example:
            session = httpsys.ServerSession().open()
        """
        if not self.session_id:
            code, sid = self.transport.create_server_session((2, 0))
            _check(code)
            self.session_id = sid
        return self

    async def __aenter__(self) -> ServerSession:
        return self.open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the session, its URL groups, and the request queues it created.

        Example:
            session.close()
        """
        for queue in self._queues:
            queue.close()
        if self.session_id:
            self.transport.close_server_session(self.session_id)
            self.session_id = 0

    async def drain(
        self,
        in_flight: Collection[asyncio.Future[Any]] = (),
        timeout: float = 10.0,
        force: asyncio.Event | None = None,
    ) -> int:
        """Graceful stop of this session's sites, the way web servers stop; returns the handlers still running.

        The driver stops accepting connections on the ports only this (or another draining) session uses,
        closes the idle keep-alive connections the session serves, and ends every other one with
        `Connection: close` after its current response. Requests already queued, in flight, or still arriving on
        those connections keep being delivered: go on receiving and answering them. Returns once every task of
        `in_flight` (a live collection: the handlers of requests in flight) is done and the session's connections
        are closed, or after `timeout` seconds, or when `force` is set. Then close the request queues (what is
        still waiting is reset) and cancel what still runs.

        Example:
            handlers: set[asyncio.Task[None]] = set()
            ...                                   # a receive loop adds a task per request to `handlers`
            left = await session.drain(handlers, timeout=10.0)
            queue.close()
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if not self.session_id:
            return sum(1 for task in in_flight if not task.done())
        code, still_open = self.transport.drain_server_session(self.session_id)
        _check(code)
        forced = loop.create_task(force.wait()) if force is not None else None
        while True:
            running: set[asyncio.Future[Any]] = {task for task in in_flight if not task.done()}
            remaining = deadline - loop.time()
            if (not running and not still_open) or remaining <= 0 or (forced is not None and forced.done()):
                break
            if forced is not None:
                running.add(forced)
            # short waits: connections close, and requests arriving on them join `in_flight`, meanwhile
            if running:
                await asyncio.wait(running, timeout=min(remaining, 0.05), return_when=asyncio.FIRST_COMPLETED)
            else:
                await asyncio.sleep(min(remaining, 0.05))
            code, still_open = self.transport.drain_server_session(self.session_id)
            if code != _OK:
                break  # the session was closed meanwhile
        if forced is not None:
            forced.cancel()
        return sum(1 for task in in_flight if not task.done())

    def url_group(self) -> UrlGroup:
        """A new URL group in this session.

        Example:
            group = session.url_group()
            group.add_url("http://+:8080/api/", context=1)
        """
        self.open()
        code, gid = self.transport.create_url_group(self.session_id)
        _check(code)
        group = UrlGroup(self, gid)
        self._groups.append(group)
        return group

    def request_queue(self, name: str | None = None, *, open_existing: bool = False) -> RequestQueue:
        """A request queue (named queues can be opened again with ``open_existing=True``).

        Example:
            async with session.request_queue("orders") as queue: ...
        """
        self.open()
        code, handle = self.transport.create_request_queue(name, 1 if open_existing else 0, False)
        _check(code)
        queue = RequestQueue(self.transport, handle, name)
        self._queues.append(queue)
        return queue

    def set_timeouts(self, **seconds: int) -> None:
        """Set HTTP_TIMEOUT_LIMIT_INFO values for the whole session (0 = default).

        Example:
            session.set_timeouts(idle_connection=30, header_wait=10, min_send_rate=240)
        """
        self.open()
        _check(self.transport.set_session_property(self.session_id, _PROP_TIMEOUTS, TimeoutLimits(**seconds)))


class UrlGroup:
    """A set of URL prefixes sharing configuration, bound to a request queue.

    Example:
        group = session.url_group()
        group.add_url("http://+:8080/")
        group.bind(queue)
    """

    def __init__(self, session: ServerSession, group_id: int) -> None:
        self.session = session
        self.group_id = group_id

    @property
    def transport(self) -> DriverTransport:
        """The driver transport this object talks to.

        Example:
            stats = group.transport.statistics()
        """
        return self.session.transport

    def add_url(self, prefix: str, context: int = 0) -> None:
        """Register a URL prefix (e.g. ``http://+:8080/app/``); raises AlreadyExistsError on a conflict.

        Example:
            group.add_url("http://+:8080/api/", context=1)
        """
        _check(self.transport.add_url(self.group_id, prefix, context))

    def remove_url(self, prefix: str | None = None) -> None:
        """Remove one prefix (the identical string) or, with None, every prefix of the group.

        Example:
            group.remove_url("http://+:8080/api/")
        """
        _check(self.transport.remove_url(self.group_id, prefix, prefix is None))

    def bind(self, queue: RequestQueue | None) -> None:
        """Deliver this group's requests to `queue` (None unbinds: requests then get 503).

        Example:
            group.bind(queue)
        """
        _check(
            self.transport.set_group_property(self.group_id, _PROP_BINDING, queue.handle if queue else None)
        )

    def set_timeouts(self, **seconds: int) -> None:
        """Timer values for this group (override the session's; 0 = inherit).

        Example:
            group.set_timeouts(entity_body=30, header_wait=10)
        """
        _check(self.transport.set_group_property(self.group_id, _PROP_TIMEOUTS, TimeoutLimits(**seconds)))

    def set_enabled(self, enabled: bool) -> None:
        """HttpServerStateProperty: an inactive group answers 503.

        Example:
            group.set_enabled(False)  # maintenance: 503
        """
        _check(self.transport.set_group_property(self.group_id, _PROP_STATE, enabled))

    def set_connection_limit(self, limit: int | None) -> None:
        """QoS connection limit (None = unlimited); excess connections get 503 ConnLimit.

        Example:
            group.set_connection_limit(1000)
        """
        _check(
            self.transport.set_group_property(
                self.group_id, _PROP_QOS, (1, 0xFFFFFFFF if limit is None else limit)
            )
        )

    def close(self) -> None:
        """close.

        Example:
            group.close()
        """
        _check(self.transport.close_url_group(self.group_id))


class RequestQueue:
    """A request queue: ``async for request in queue`` yields requests until the queue is closed.

    Example:
        async with session.request_queue() as queue:
            request = await queue.receive()
    """

    def __init__(self, transport: DriverTransport, handle: int, name: str | None) -> None:
        self.transport = transport
        self.handle = handle
        self.name = name
        self.closed = False
        self._direct = transport.on_driver_thread()
        # I/O calls go straight to the driver when it lives on this thread (no hop, no extra frame per call)
        self._io: DriverIo = (transport.local_io() if self._direct else None) or transport
        self._driver: Driver | None = self._io if isinstance(self._io, Driver) else None
        self._loop = asyncio.get_running_loop()
        self._waiting: set[int] = set()  # tokens of the receives waiting for a request (`stop_receiving`)
        # Receives kept posted ahead through a daemon whose connection this loop serves (decision 0025); 0 off.
        self.prefetch: int = int(getattr(transport, "receive_prefetch", 0))
        # (token, result tuple or its future) per posted receive, oldest posted first
        self._slots: deque[tuple[int, Any]] = deque()
        self._stopped = False  # `stop_receiving` ran: hand out what the slots hold, post no more
        self._early: bool = bool(getattr(transport, "early_send_completion", False))
        self._early_bytes = 0  # bytes of responses handed over early and not yet confirmed

    async def __aenter__(self) -> RequestQueue:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the queue: pending receives end, requests not answered are abandoned.

        Example:
            queue.close()
        """
        if not self.closed:
            self.closed = True
            if self._slots:
                self._give_back()
            self.transport.close_request_queue(self.handle)

    @property
    def prefetched(self) -> int:
        """Receives posted ahead (`prefetch`) and not handed to the application yet: requests already in this
        process or on their way, which `receive()` returns before it waits for new ones.

        Example:
            while queue.prefetched:            # after stop_receiving(): serve what had already arrived
                await handle(await queue.receive())
        """
        return len(self._slots)

    def shutdown(self) -> None:
        """Stop taking requests (HttpShutdownRequestQueue); pending receives end.

        Example:
            queue.shutdown()  # graceful stop
        """
        _check(self.transport.shutdown_request_queue(self.handle))

    def flush_cache(self, prefix: str, *, recursive: bool = False) -> None:
        """Remove the driver's cached response for the URL `prefix` (HttpFlushResponseCache); with `recursive`
        also every cached URL below it. A `+` or `*` host matches every host on the port.

        Example:
            queue.flush_cache("http://+:8080/news/", recursive=True)
        """
        if not isinstance(prefix, str):  # the native build's annotation check raises the same TypeError
            raise TypeError(f"prefix must be a URL string, not {type(prefix).__name__}")
        _check(self.transport.flush_cache(self.handle, prefix, bool(recursive)))

    @property
    def queue_length(self) -> int:
        """queue_length.

        Example:
            queue.queue_length = 5000
        """
        code, value = self.transport.query_queue_property(self.handle, _PROP_QUEUE_LENGTH)
        _check(code)
        assert isinstance(value, int)
        return value

    @queue_length.setter
    def queue_length(self, value: int) -> None:
        _check(self.transport.set_queue_property(self.handle, _PROP_QUEUE_LENGTH, value))

    @property
    def verbosity(self) -> Verbosity503:
        """verbosity.

        Example:
            queue.verbosity = httpsys.Verbosity503.LIMITED
        """
        code, value = self.transport.query_queue_property(self.handle, _PROP_VERBOSITY)
        _check(code)
        assert isinstance(value, int)
        return Verbosity503(value)

    @verbosity.setter
    def verbosity(self, value: Verbosity503 | int) -> None:
        _check(self.transport.set_queue_property(self.handle, _PROP_VERBOSITY, int(value)))

    # ----- completions as awaitables -----------------------------------------------------------------------
    def _completer(self, fut: asyncio.Future[Any]) -> Callable[[Any], None]:
        """A function that settles `fut` with a value (an exception instance is raised by the await)."""
        if self._direct:
            return lambda value: _settle(fut, value)
        loop = self._loop

        def hop(value: Any) -> None:
            loop.call_soon_threadsafe(_settle, fut, value)

        return hop

    async def receive(self) -> Request:
        """The next request (waits until one arrives).

        Through a daemon whose connection this loop serves, the queue keeps `prefetch` receives posted (default
        16, `queue.prefetch = 0` before the first receive turns it off): requests are already in this process,
        in arrival order, when the application asks (decision 0025).

        Example:
            request = await queue.receive()
        """
        if self.prefetch > 0 or self._slots:
            return await self._receive_posted()
        token = next(_tokens)
        driver = self._driver
        if driver is not None:
            completion = Completion()
            driver.receive_request(self.handle, 0, 0, None, True, token, completion)
            result = completion.outcome(self._loop)
        else:
            result = self._call(self._io.receive_request, self.handle, 0, 0, None, True, token)
        if type(result) is not tuple:
            waiting = self._waiting
            waiting.add(token)
            try:
                result = await self._await_cancellable(result, token)
            finally:
                waiting.discard(token)
        code, snapshot, _n = result
        if code != _OK or snapshot is None:
            raise error_for_code(code)
        return Request(self, snapshot)

    def _post(self) -> None:
        token = next(_tokens)
        if self._direct:  # no future until a receive() has to wait for this slot
            completion = Completion()
            self._io.receive_request(self.handle, 0, 0, None, True, token, completion)
            self._slots.append((token, completion))
            return
        result = self._call(self._io.receive_request, self.handle, 0, 0, None, True, token)
        self._slots.append((token, result))

    async def _receive_posted(self) -> Request:
        """The oldest posted receive's request (each slot is taken once; a cancelled caller leaves it posted)."""
        slots = self._slots
        while True:
            if not self._stopped and not self.closed:
                while len(slots) < self.prefetch:
                    self._post()
            if not slots:
                self._stopped = False  # drained: a later receive() posts again
                raise error_for_code(_ABORTED)
            slot = slots[0]
            result = _slot_result(slot[1])
            if result is None:
                await asyncio.shield(_slot_future(slot[1], self._loop))
                continue  # another receive() may have taken this slot meanwhile
            slots.popleft()
            code, snapshot, _n = result
            if code == _OK and snapshot is not None:
                if not self._stopped and not self.closed and len(slots) < self.prefetch:
                    self._post()  # keep `prefetch` posted; it leaves with the response's batch
                return Request(self, snapshot)
            if self._stopped and code == _ABORTED:
                continue  # cancelled by stop_receiving: a later slot may hold a request that raced the cancel
            raise error_for_code(code)

    def _give_back(self) -> None:
        """On close: cancel the posted receives, and answer 503 (with a disconnect) each request that had already
        arrived and that the application never took, so that none is left without an answer (decision 0025)."""
        slots = self._slots
        for token, posted in list(slots):
            if _slot_result(posted) is None:
                self.transport.cancel_io(self.handle, token)
        answered = 0
        while slots:
            _token, posted = slots.popleft()
            result = _slot_result(posted)
            if result is None:
                continue  # still on its way: closing the handle finishes it in the driver
            code, snapshot, _n = result
            if code == _OK and snapshot is not None:
                spec = Request(self, snapshot)._spec(503, None, None)
                self._io.send_response(
                    self.handle, snapshot.request_id, DISCONNECT, spec, [], None, None, _ignore
                )
                answered += 1
        if answered:
            log.warning(
                "request queue closed with %d received request(s) the application never took: answered 503",
                answered,
            )

    def stop_receiving(self) -> None:
        """Cancel the receives waiting on this queue handle without losing a request already on its way to one:
        each waiting `receive()` returns that request, or raises ERROR_OPERATION_ABORTED (`async for` ends).
        For a process leaving a queue that others go on serving (a worker of `httpsys run --workers`);
        cancelling the task that awaits `receive()` instead would drop a request that raced with the cancel.
        With receives posted ahead (`prefetch`), `receive()` goes on returning the requests that had already
        arrived (`prefetched` says how many slots are left) and then raises ERROR_OPERATION_ABORTED.

        Example:
            queue.stop_receiving()
        """
        for token in list(self._waiting):
            self.transport.cancel_io(self.handle, token)
        if self._slots:
            self._stopped = True
            for token, posted in list(self._slots):
                if _slot_result(posted) is None:
                    self.transport.cancel_io(self.handle, token)

    def __aiter__(self) -> RequestQueue:
        return self

    async def __anext__(self) -> Request:
        if self.closed:
            raise StopAsyncIteration
        try:
            if self.prefetch > 0 or self._slots:  # `receive()`'s posted path, one coroutine fewer per request
                return await self._receive_posted()
            return await self.receive()
        except HttpSysError as exc:
            if self.closed or exc.winerror in (
                int(Win32Error.ERROR_OPERATION_ABORTED),
                int(Win32Error.ERROR_INVALID_HANDLE),
            ):
                raise StopAsyncIteration from None
            raise

    def _call(self, issue: Callable[..., None], *args: Any) -> Any:
        """Issue a driver operation, `issue(*args, done)`; its result tuple when it completed at once, else a
        future of that tuple.

        With the driver on this loop most operations complete inside the call (a waiting request, a send the
        socket took): then no future is created at all.
        """
        if self._direct:
            completion = Completion()
            issue(*args, completion)
            return completion.outcome(self._loop)
        fut: asyncio.Future[Any] = self._loop.create_future()
        settle = self._completer(fut)
        issue(*args, lambda *result: settle(result))
        return fut

    async def _call_body(self, request_id: int, max_len: int, fill: bool) -> tuple[int, bytes]:
        token = next(_tokens)
        result = self._call(self._io.receive_body, self.handle, request_id, max_len, fill, token)
        if type(result) is not tuple:
            result = await self._await_cancellable(result, token)
        code, data = result
        return int(code), data

    async def _await_cancellable(self, fut: asyncio.Future[Any], token: int) -> Any:
        """Await a pending driver operation; if the awaiting task is cancelled, cancel the operation too
        (an abandoned body read must not swallow bytes that arrive later)."""
        try:
            return await fut
        except asyncio.CancelledError:
            if not self.closed:
                self.transport.cancel_io(self.handle, token)
            raise

    def _hand_over(
        self,
        request: Request,
        flags: int,
        spec: ResponseSpec,
        chunks: list[DataChunk],
        cache: CachePolicy | None,
    ) -> tuple[int, int] | None:
        """Send a final response through a daemon whose connection this loop serves without waiting for its
        completion (decision 0025): (0, body bytes handed over) at once; the failure's result when the transport
        failed it inside the call; None when this response must wait (nothing was sent)."""
        if cache is not None:
            return None  # the daemon checks a cache policy against the response: wait for its answer
        if validate_response(spec) or validate_send_flags(spec.status, flags):
            return None  # refused as HttpSendHttpResponse refuses it: the daemon's answer is raised as today
        size = 0
        for chunk in chunks:
            if type(chunk) is not MemoryChunk or type(chunk.data) is not bytes:
                return None
            size += len(chunk.data)
        if size > EARLY_SEND_MAX or self._early_bytes + size > EARLY_SEND_BUDGET:
            return None
        late = _LateSend(self, request, size)
        self._io.send_response(
            self.handle, request.snapshot.request_id, flags, spec, chunks, cache, LOG_DEFAULTS, late
        )
        if late.inline is not None:
            return late.inline
        late.pending = True
        self._early_bytes += size
        return _OK, size

    def _late_failure(self, request: Request, code: int) -> None:
        """A response handed over early failed in the daemon: logged, kept for the request's next call, and a
        refused response (the request still open) replaced by a 500 so the client is not left waiting."""
        request._failure = code
        rid = request.snapshot.request_id
        if code == _INVALID_PARAMETER:
            log.error(
                "the daemon refused the response to request %#x (code %d): answered 500 instead", rid, code
            )
            spec = request._spec(500, None, None)
            self._io.send_response(self.handle, rid, DISCONNECT, spec, [], None, None, _ignore)
        elif code in _CLIENT_GONE:
            log.info(
                "the response to request %#x was not delivered: the client went away (code %d)", rid, code
            )
        else:
            log.warning("the response to request %#x failed after respond() returned (code %d)", rid, code)

    async def _call_send(
        self,
        request_id: int,
        flags: int,
        spec: ResponseSpec | None,
        chunks: list[DataChunk],
        *,
        response: bool = False,
        cache: CachePolicy | None = None,
    ) -> int:
        log_data = None if flags & _MORE_DATA else LOG_DEFAULTS  # HTTP.sys takes log data on the last call
        if spec is not None:
            result = self._call(
                self._io.send_response, self.handle, request_id, flags, spec, chunks, cache, log_data
            )
        else:
            result = self._call(self._io.send_body, self.handle, request_id, flags, chunks, log_data)
        if type(result) is not tuple:
            result = await result
        code, nbytes = result
        if code != _OK:
            raise error_for_code(code)
        return int(nbytes)

    async def _call_disconnect(self, connection_id: int) -> int:
        token = next(_tokens)
        result = self._call(self._io.wait_disconnect, self.handle, connection_id, token)
        if type(result) is not tuple:
            result = await self._await_cancellable(result, token)
        return int(result[0])

    async def _call_client_certificate(self, connection_id: int) -> tuple[int, bytes]:
        token = next(_tokens)
        result = self._call(self.transport.receive_client_certificate, self.handle, connection_id, token)
        if type(result) is not tuple:
            result = await self._await_cancellable(result, token)
        return int(result[0]), bytes(result[1])


def open_url_queue(
    session: ServerSession, urls: Sequence[str], queue_name: str | None = None
) -> tuple[RequestQueue, UrlGroup]:
    """A request queue (named or not) and a URL group in `session` with every prefix of `urls`, bound together.

    Example:
        queue, group = open_url_queue(session, ["http://+:8080/"])
    """
    queue = session.request_queue(queue_name)
    group = session.url_group()
    for url in urls:
        group.add_url(url)
    group.bind(queue)
    return queue, group


async def wait_stop_or_failure(receiver: asyncio.Task[None], stop: asyncio.Event | None) -> None:
    """Wait until `stop` is set (forever without one) or `receiver` ends; re-raise the receiver's failure."""
    waiter = asyncio.get_running_loop().create_task((stop or asyncio.Event()).wait())
    try:
        await asyncio.wait((receiver, waiter), return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    failure = receiver.exception() if receiver.done() else None
    if failure is not None:
        raise failure


async def drain_tasks(
    session: ServerSession,
    tasks: Collection[asyncio.Task[Any]],
    receiver: asyncio.Task[None] | None,
    timeout: float,
    logger: logging.Logger | None = None,
    force: asyncio.Event | None = None,
) -> int:
    """Graceful stop of a server loop: `session.drain` while `receiver` keeps taking requests into `tasks` (a
    live collection of the in-flight handlers), then stop the receiver and cancel what still runs after `timeout`
    seconds (or once `force` is set); returns how many were cancelled (logged on `logger` when given).

    Example:
        await drain_tasks(session, self._tasks.values(), receiver, 10.0, logging.getLogger("myapp"))
    """
    await session.drain(tasks, timeout, force)
    if receiver is not None and not receiver.done():
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiver
    still = [task for task in tasks if not task.done()]
    if still:
        if logger is not None:
            logger.warning("cancelling %d request(s) still running after %.1f s", len(still), timeout)
        for task in still:
            task.cancel()
        await asyncio.wait(still, timeout=1.0)
    return len(still)


def _ignore(*result: Any) -> None:
    pass


class _LateSend:
    """The `done` of a response handed over early: keeps an inline result, else settles the queue's budget and
    reports a failure."""

    __slots__ = ("inline", "pending", "queue", "request", "size")

    def __init__(self, queue: RequestQueue, request: Request, size: int) -> None:
        self.queue = queue
        self.request = request
        self.size = size
        self.pending = False
        self.inline: tuple[int, int] | None = None

    def __call__(self, code: int, nbytes: int) -> None:
        if not self.pending:
            self.inline = (code, nbytes)
            return
        queue = self.queue
        queue._early_bytes -= self.size
        if code != _OK:
            queue._late_failure(self.request, code)


def _slot_result(posted: Any) -> Any:
    """A posted receive's result tuple (code, snapshot, length), or None while it is still on its way; `posted` is
    the tuple itself, the Completion it will complete, or a future of the tuple."""
    if type(posted) is tuple:
        return posted
    if type(posted) is Completion:
        return posted.result
    return posted.result() if posted.done() else None


def _slot_future(posted: Any, loop: asyncio.AbstractEventLoop) -> asyncio.Future[Any]:
    """What to await until a posted receive completes (a Completion's future is made on the first wait)."""
    if type(posted) is Completion:
        return cast("asyncio.Future[Any]", posted.outcome(loop))
    return cast("asyncio.Future[Any]", posted)


def _settle(fut: asyncio.Future[Any], value: Any) -> None:
    if fut.done():
        return
    if isinstance(value, BaseException):
        fut.set_exception(value)
    else:
        fut.set_result(value)
