"""Hosting a command on its driver: the event loop, the configured driver, URL registration, signals, the console.

Responsibility: start the embedded driver on the command's event loop with the operator's settings (driver-wide
limits, the server session's timers, the request queue length), or connect to the daemon of HTTPSYS_DAEMON_SOCKET
with the per-session and per-queue ones, and make it the asyncio face's driver, register
URL prefixes with readable errors, turn SIGINT/SIGTERM into a graceful stop, run a request queue's receive loop
that drains within a bound (the asyncio face's `ServerSession.drain`, as the ASGI/WSGI servers do), and give the
command's own loggers (`httpsys`, `httpsys.access`) their console handlers. It must not interpret requests:
handlers (static files, the demo, the ASGI/WSGI adapters) do that; and it must not configure the root logger,
which is the application's.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol

from httpsys._core.status import Win32Error
from httpsys._core.urlprefix import UrlPrefix
from httpsys._core.verbosity import Verbosity503
from httpsys._transport import daemon_socket
from httpsys._transport.embedded import EmbeddedTransport, new_event_loop
from httpsys._transport.interface import DriverTransport
from httpsys.aio import Request, RequestQueue, ServerSession, UrlGroup, use_driver
from httpsys.aio.access import ACCESS_LOGGER
from httpsys.aio.objects import drain_tasks
from httpsys.cli.diagnostics import parse_prefix, registration_error
from httpsys.cli.options import ServerOptions
from httpsys.errors import HttpSysError

_OK = int(Win32Error.NO_ERROR)
_PROP_LOGGING = 1  # HttpServerLoggingProperty
_PROP_TIMEOUTS = 3  # HttpServerTimeoutsProperty
_PROP_QUEUE_LENGTH = 4  # HttpServerQueueLengthProperty
_PROP_VERBOSITY = 6  # HttpServer503VerbosityProperty
_OPEN_EXISTING = 0x1  # HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING

Handler = Callable[[Request], Awaitable[None]]


def configure_session(
    transport: DriverTransport, options: ServerOptions, code: int, session_id: int
) -> tuple[int, int]:
    """A server session just created on `transport` (`code`, `session_id`) with the command's timer values."""
    timeouts = options.timeout_limits()
    if code == _OK and timeouts is not None:
        code = transport.set_session_property(session_id, _PROP_TIMEOUTS, timeouts)
        if code != _OK:
            transport.close_server_session(session_id)
            return code, 0
    return code, session_id


def configure_group(
    transport: DriverTransport, options: ServerOptions, code: int, group_id: int
) -> tuple[int, int]:
    """A URL group just created on `transport` with the command's log file (--log-dir, --log-format)."""
    info = options.logging_info()
    if code == _OK and info is not None:
        code = transport.set_group_property(group_id, _PROP_LOGGING, info)
        if code != _OK:
            transport.close_url_group(group_id)
            return code, 0
    return code, group_id


def configure_queue(
    transport: DriverTransport, options: ServerOptions, flags: int, code: int, handle: int
) -> tuple[int, int]:
    """A request queue just created on `transport` with the command's queue length and 503 verbosity Limited
    (a queue only opened, OPEN_EXISTING, is left as its creator configured it)."""
    if code != _OK or flags & _OPEN_EXISTING:
        return code, handle
    # Limited 503 verbosity, as IIS configures its queues: a request for a queue that is gone gets a 503.
    code = transport.set_queue_property(handle, _PROP_VERBOSITY, int(Verbosity503.LIMITED))
    length = options.queue_length
    if code == _OK and length is not None:
        code = transport.set_queue_property(handle, _PROP_QUEUE_LENGTH, length)
    if code != _OK:
        transport.close_request_queue(handle)
        return code, 0
    return code, handle


class ConfiguredTransport(EmbeddedTransport):
    """The embedded driver with the command's settings: every server session created on it gets the timer
    values of the command line, every URL group its log file (--log-dir), every request queue it creates gets
    the queue length and 503 verbosity Limited.

    This is how options reach server sessions and queues that an adapter (ASGI, WSGI) creates itself.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, options: ServerOptions) -> None:
        super().__init__(loop=loop, settings=options.driver_settings())
        self.options = options

    def create_server_session(self, version: tuple[int, int]) -> tuple[int, int]:
        code, session_id = super().create_server_session(version)
        return configure_session(self, self.options, code, session_id)

    def create_url_group(self, session_id: int) -> tuple[int, int]:
        code, group_id = super().create_url_group(session_id)
        return configure_group(self, self.options, code, group_id)

    def create_request_queue(
        self, name: str | None, flags: int, v1: bool, security: str | None = None
    ) -> tuple[int, int]:
        code, handle = super().create_request_queue(name, flags, v1, security)
        return configure_queue(self, self.options, flags, code, handle)


class CommandDriver(DriverTransport, Protocol):
    """What a command hosts its site on: the configured embedded driver, or the configured connection to the
    daemon (`httpsys.cli.remote_driver`)."""

    options: ServerOptions

    def close(self) -> None: ...


def host_driver(options: ServerOptions) -> CommandDriver:
    """Start the configured driver on the running loop and make it the loop's driver for `httpsys.aio`
    (so `ServerSession()` objects created by adapters use it): the embedded driver, or, with
    HTTPSYS_DAEMON_SOCKET set, a connection to that daemon (CommandError at once when none listens there)."""
    transport: CommandDriver
    if daemon_socket() is not None:
        from httpsys.cli.remote_driver import connect_daemon

        transport = connect_daemon(options)
    else:
        transport = ConfiguredTransport(asyncio.get_running_loop(), options)
    use_driver(transport)
    return transport


class ConsoleFormatter(logging.Formatter):
    """uvicorn's console lines: the level name and a colon in a 9-wide column, then the message."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname + ':':<9} {super().format(record)}"


def console_logging(access_log: bool) -> None:
    """Give the command's loggers a console (stderr) handler of their own and keep their lines out of the root
    logger's (propagate off), as uvicorn does: `httpsys` (the adapters' errors) at WARNING and, when `access_log`,
    `httpsys.access` at INFO. A logger the application configured already (it has handlers) is left alone; the
    root logger is never touched, so an application's own log lines appear once, as it configured them."""
    ours = logging.getLogger("httpsys")
    if not ours.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("httpsys: %(levelname)s %(name)s: %(message)s"))
        ours.addHandler(handler)
        ours.propagate = False
        if ours.level == logging.NOTSET:
            ours.setLevel(logging.WARNING)
    access = logging.getLogger(ACCESS_LOGGER)
    if access_log and not access.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(ConsoleFormatter("%(message)s"))
        access.addHandler(handler)
        access.propagate = False
        access.setLevel(logging.INFO)


def register_urls(group: UrlGroup, urls: Sequence[str]) -> list[UrlPrefix]:
    """Add every URL prefix to `group` (UrlContext = its index); CommandError names the one that failed."""
    prefixes = [parse_prefix(url) for url in urls]
    for index, url in enumerate(urls):
        try:
            group.add_url(url, context=index)
        except HttpSysError as exc:
            raise registration_error(url, exc.winerror)
    return prefixes


class StopSignals:
    """SIGINT and SIGTERM set `stop` (finish what is in flight); a second signal sets `force` as well."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.force = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def install(self) -> None:
        self._loop = loop = asyncio.get_running_loop()
        for sig in self.SIGNALS:
            loop.add_signal_handler(sig, self._received, sig)

    def remove(self) -> None:
        """Give the signals back; once a stop was asked for, further ones are ignored: the process is on its
        way out, and a second Ctrl+C must not turn a graceful exit into a traceback or a kill."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            for sig in self.SIGNALS:
                loop.remove_signal_handler(sig)
                if self.stop.is_set():
                    signal.signal(sig, signal.SIG_IGN)
        self._loop = None

    def _received(self, sig: int) -> None:
        if self.stop.is_set():
            self.force.set()
        self.stop.set()


def say(message: str) -> None:
    """A status line for the operator on stdout (flushed: it may be a pipe)."""
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def warn(message: str) -> None:
    sys.stderr.write(f"httpsys: {message}\n")
    sys.stderr.flush()


async def wait_or_force(awaitable: Awaitable[Any], timeout: float, force: asyncio.Event) -> bool:
    """Wait for `awaitable` up to `timeout` seconds or until `force` is set; True if it finished."""
    task = asyncio.ensure_future(awaitable)
    forced = asyncio.ensure_future(force.wait())
    try:
        await asyncio.wait({task, forced}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        forced.cancel()
    return task.done()


class RequestDispatcher:
    """Receives the requests of one queue and runs `handler` for each in its own task.

    `drain` is the graceful stop (`ServerSession.drain`): the ports stop accepting, idle keep-alive connections
    close, requests already received, waiting in the queue or still arriving on open connections are finished
    (their responses say `Connection: close`), and after `timeout` seconds whatever is left is abandoned.
    """

    def __init__(
        self,
        queue: RequestQueue,
        handler: Handler,
        on_error: Callable[[Request, BaseException], None] | None = None,
    ) -> None:
        self.queue = queue
        self.handler = handler
        self.on_error = on_error
        self.in_flight: set[asyncio.Task[None]] = set()
        self.received = 0
        self._loop = asyncio.get_running_loop()
        self._receiver: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._receiver = self._loop.create_task(self._receive())

    async def _receive(self) -> None:
        async for request in self.queue:
            self.received += 1
            task = self._loop.create_task(self._handle(request))
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)

    async def _handle(self, request: Request) -> None:
        try:
            await self.handler(request)
        except (ConnectionError, HttpSysError):
            pass  # the client went away or the request was cancelled: nothing to answer
        except Exception as exc:
            if self.on_error is not None:
                self.on_error(request, exc)
            else:
                warn(f"error answering {request.method} {request.url}:")
                traceback.print_exception(exc, file=sys.stderr)

    def _waiting(self) -> int:
        """Requests in the driver's queues not received yet (the embedded driver of a command has one)."""
        return int(self.queue.transport.statistics().get("queued", 0))

    async def drain(self, session: ServerSession, timeout: float, force: asyncio.Event) -> int:
        """Stop taking requests and finish those in flight within `timeout` s; the number abandoned."""
        try:
            abandoned = await drain_tasks(session, self.in_flight, self._receiver, timeout, force=force)
        except HttpSysError:
            abandoned = len(self.in_flight)
        abandoned += self._waiting()
        for task in list(self.in_flight):
            task.cancel()
        self.queue.close()  # requests still waiting in the queue are reset
        return abandoned


def run_command(main: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run a command's coroutine on a fresh event loop (uvloop when available) and return its exit status."""
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(main())
    finally:
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.wait(pending, timeout=2.0))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
