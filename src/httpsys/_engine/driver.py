"""The driver: listeners, the routing table, server sessions, URL groups, request queues and their I/O.

Responsibility: everything HTTP.sys does between the sockets and the request queues — open and close listeners
as URL prefixes come and go, route each parsed request, answer what it can itself (canned 400/404/503), hand
requests to pending receives, carry out receives and sends, run the timers and count what happened. It runs on one
event loop; every public method here must be called on that loop's thread (the transport takes care of that).
It must not know about faces: it takes and returns plain data and Win32 codes, never struct objects.

The response cache's fast path (decision 0008): after a keep-alive cache hit for a request that came alone in one
read, the driver remembers its exact bytes, and connections answer those bytes again without handing them here.
So every public method that is not on the data path (`_DATA_PATH`) - anything that can change how the same bytes
are routed or answered - is a `@_state_change` and forgets every remembered request when it returns; a test
requires each public method to be one or the other.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import os
import random
import resource
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from httpsys._core.canned import CannedResponse, RequestRejected, format_http_date, render_canned
from httpsys._core.canonical import CookedUrl, cook_url
from httpsys._core.fragments import FragmentCache
from httpsys._core.known_headers import split_request_headers
from httpsys._core.layout import FIXED_V1, request_buffer_size
from httpsys._core.objects import (
    DEFAULT_QUEUE_LENGTH,
    Offer,
    RequestQueueRecord,
    ServerSession,
    UrlGroup,
)
from httpsys._core.ranges import (
    Satisfiable,
    Unsatisfiable,
    evaluate_range,
    plan_ranged_body,
    ranged_response,
    unsatisfiable_response,
)
from httpsys._core.records import (
    BYTE_RANGE_TO_EOF,
    CachePolicy,
    DataChunk,
    FileChunk,
    FragmentChunk,
    MemoryChunk,
    RequestSnapshot,
    TrailersChunk,
)
from httpsys._core.response import (
    CHUNK_END,
    HTTP_SEND_RESPONSE_FLAG_AUTOMATIC_CHUNKING,
    HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA,
    HTTP_SEND_RESPONSE_FLAG_DISCONNECT,
    HTTP_SEND_RESPONSE_FLAG_ENABLE_NAGLING,
    HTTP_SEND_RESPONSE_FLAG_MORE_DATA,
    HTTP_SEND_RESPONSE_FLAG_OPAQUE,
    HTTP_SEND_RESPONSE_FLAG_PROCESS_RANGES,
    LAST_CHUNK,
    RESPONSE_HEADER_IDS,
    ResponseSpec,
    chunk_frame,
    plan_and_render,
    render_trailers,
    validate_response,
    validate_send_flags,
)
from httpsys._core.response_cache import ResponseCache
from httpsys._core.routing import PrefixConflict, RouteMatch, RouteMiss, RoutingTable
from httpsys._core.settings import DriverSettings
from httpsys._core.status import Win32Error
from httpsys._core.timers import DeadlineHeap, TimeoutLimits, TimerEntry, TimerKind
from httpsys._core.urlprefix import InvalidUrlPrefix, parse_url_prefix
from httpsys._core.verbosity import Verbosity503
from httpsys._core.verbs import VERB_UNKNOWN, verb_id
from httpsys._engine.http11 import FileRegion, Http11Connection, Segment
from httpsys._engine.logs import LogManager
from httpsys._engine.request import BodyRead, Request

E = Win32Error
OK = int(E.NO_ERROR)

FLAG_DISCONNECT = HTTP_SEND_RESPONSE_FLAG_DISCONNECT
FLAG_MORE_DATA = HTTP_SEND_RESPONSE_FLAG_MORE_DATA
FLAG_BUFFER_DATA = HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA
FLAG_ENABLE_NAGLING = HTTP_SEND_RESPONSE_FLAG_ENABLE_NAGLING
FLAG_PROCESS_RANGES = HTTP_SEND_RESPONSE_FLAG_PROCESS_RANGES
FLAG_OPAQUE = HTTP_SEND_RESPONSE_FLAG_OPAQUE
FLAG_AUTOMATIC_CHUNKING = HTTP_SEND_RESPONSE_FLAG_AUTOMATIC_CHUNKING

RECEIVE_COPY_BODY = 0x1
RECEIVE_FLUSH_BODY = 0x2
REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS = 0x1

CREATE_QUEUE_OPEN_EXISTING = 0x1
CREATE_QUEUE_CONTROLLER = 0x2

DEFAULT_COPY_BODY = 64 * 1024

PROP_AUTHENTICATION = 0
PROP_LOGGING = 1
PROP_QOS = 2
PROP_TIMEOUTS = 3
PROP_QUEUE_LENGTH = 4
PROP_STATE = 5
PROP_VERBOSITY = 6
PROP_BINDING = 7
PROP_EXTENDED_AUTHENTICATION = 8
PROP_LISTEN_ENDPOINT = 9
PROP_CHANNEL_BIND = 10
PROP_PROTECTION_LEVEL = 11
PROP_DELEGATION = 16
QOS_BANDWIDTH = 0
QOS_CONNECTION_LIMIT = 1
SESSION_SETTABLE = frozenset(
    {PROP_AUTHENTICATION, PROP_LOGGING, PROP_QOS, PROP_TIMEOUTS, PROP_STATE, PROP_EXTENDED_AUTHENTICATION,
     PROP_CHANNEL_BIND}
)  # fmt: skip
SESSION_QUERYABLE = frozenset(
    {
        PROP_AUTHENTICATION,
        PROP_QOS,
        PROP_TIMEOUTS,
        PROP_STATE,
        PROP_EXTENDED_AUTHENTICATION,
        PROP_CHANNEL_BIND,
    }
)
GROUP_SETTABLE = SESSION_SETTABLE | {
    PROP_BINDING,
    PROP_LISTEN_ENDPOINT,
    PROP_PROTECTION_LEVEL,
    PROP_DELEGATION,
}
GROUP_QUERYABLE = SESSION_QUERYABLE | {PROP_BINDING, PROP_LISTEN_ENDPOINT, PROP_PROTECTION_LEVEL}
_CT_ID = RESPONSE_HEADER_IDS[b"content-type"]
_ETAG_ID = RESPONSE_HEADER_IDS[b"etag"]
_LM_ID = RESPONSE_HEADER_IDS[b"last-modified"]
_TE_ID = RESPONSE_HEADER_IDS[b"transfer-encoding"]
_CL_ID = RESPONSE_HEADER_IDS[b"content-length"]


class LogHook(Protocol):
    """Response and error logging (issue 7): configured per server session and URL group."""

    def configure(self, owner: tuple[str, int], config: object | None) -> int:
        """Apply HttpServerLoggingProperty for ("session"|"group", id); a Win32 code (e.g. a bad directory)."""

    def configured(self, owner: tuple[str, int]) -> bool: ...
    def response(self, owners: list[tuple[str, int]], fields: dict[str, Any]) -> None:
        """One response line for the first configured owner (group before session)."""

    def error(self, fields: dict[str, Any]) -> None:
        """One HTTPERR line."""

    def close(self) -> None: ...


@dataclass(slots=True)
class Registration:
    """One URL prefix registered in a URL group, with its UrlContext."""

    group_id: int
    context: int


@dataclass(slots=True)
class QueueHandle:
    """One opened handle of a request queue (the creator's or an OPEN_EXISTING opener's)."""

    handle_id: int
    queue: RequestQueueRecord
    creator: bool
    closed: bool = False
    shutdown: bool = False
    pending: dict[int, PendingOp] = field(default_factory=dict)
    requests: set[int] = field(default_factory=set)  # request ids delivered through this handle


def _no_cancel() -> None:
    """The cancel routine of an operation that already completed."""


def _cancel_read(request: Request, read: BodyRead) -> None:
    """The cancel routine of a pending HttpReceiveRequestEntityBody."""
    request.cancel_read(read)


class PendingOp:
    """An asynchronous operation the driver has not completed yet (cancellable by CancelIo/CancelIoEx)."""

    __slots__ = ("cancel", "handle", "token")

    def __init__(self, handle: QueueHandle, token: int, cancel: Callable[[], None]) -> None:
        self.handle = handle
        self.token = token
        self.cancel = cancel


class ReceiveOp:
    """A pending HttpReceiveHttpRequest."""

    __slots__ = ("buffer_length", "done", "flags", "handle", "op", "v2")

    def __init__(
        self,
        handle: QueueHandle,
        flags: int,
        buffer_length: int | None,
        v2: bool,
        done: Callable[[int, RequestSnapshot | None, int], None],
    ) -> None:
        self.handle = handle
        self.flags = flags
        self.buffer_length = buffer_length
        self.v2 = v2
        self.done = done
        self.op: PendingOp | None = None


class Listener:
    """The listening sockets of one TCP port (IPv4 and IPv6) and their asyncio servers."""

    def __init__(self, port: int, scheme: str, sockets: list[socket.socket]) -> None:
        self.port = port
        self.scheme = scheme
        self.sockets = sockets
        self.servers: list[asyncio.AbstractServer] = []
        self.closing = False

    def close(self) -> None:
        self.closing = True
        for server in self.servers:
            server.close()
        self.servers = []
        for sock in self.sockets:
            try:
                sock.close()
            except OSError:
                pass


def bind_port(port: int, addresses: tuple[str, ...] = ("0.0.0.0", "::")) -> list[socket.socket]:
    """Bind and listen on `port` for every address; raises OSError(EADDRINUSE) if a foreign socket holds it."""
    socks: list[socket.socket] = []
    try:
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            try:
                sock = socket.socket(family, socket.SOCK_STREAM)
            except OSError:
                if family == socket.AF_INET6:
                    continue  # no IPv6 on this machine
                raise
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind((address, port))
            except OSError as exc:
                if family == socket.AF_INET6 and exc.errno == errno.EADDRNOTAVAIL:
                    socks.pop().close()
                    continue
                raise
            sock.listen(4096)
            sock.setblocking(False)
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


# The public methods of Driver that serve connections and requests: they never change how a request is routed or
# answered. Every other public method is a state change - creating and closing objects, URLs, bindings,
# properties, flushes, shutdown - and carries @_state_change, which forgets every request remembered for the
# response cache's fast path when it returns (decision 0008). A test fails for any public method that is in
# neither group, so a new method must be classified: a state change unless it is listed here.
_DATA_PATH = frozenset(
    {
        "next_id", "date", "render_canned", "arm_timer", "arm_timer_at", "check_timers", "log_error",
        "canned_sent", "timer_fired", "connection_made", "connection_lost", "request_lost", "withdraw",
        "dispatch", "snapshot", "required_size", "cancel_io", "receive_request", "receive_body",
        "send_response", "send_body", "cancel_request", "wait_disconnect", "wait_demand_start", "queue_of",
        "v1_group", "query_session_property", "query_group_property", "query_queue_property", "statistics",
        "read_fragment", "forget_requests",
    }
)  # fmt: skip

_Method = TypeVar("_Method", bound=Callable[..., Any])


def _state_change(method: _Method) -> _Method:
    """Mark a Driver method as a state change: when it returns (or raises), every remembered request is
    forgotten, so the fast path never answers from a decision the change may have altered."""

    @functools.wraps(method)
    def state_change(self: Driver, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            self.forget_requests()

    state_change.forgets_requests = True  # type: ignore[attr-defined]
    return state_change  # type: ignore[return-value]


class Driver:
    """The embedded HTTP.sys driver, living on one event loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        settings: DriverSettings | None = None,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] = time.time,
        listen_addresses: tuple[str, ...] | None = None,
    ) -> None:
        self.loop = loop
        self.settings = (settings or DriverSettings()).validated()
        self.max_connections = self.settings.max_connections or _max_connections_from_rlimit()
        self.clock: Callable[[], float] = clock or loop.time
        self.wall_clock = wall_clock
        self.listen_addresses = listen_addresses or self.settings.ip_listen_list or ("0.0.0.0", "::")
        self._ids = random.SystemRandom().randrange(1 << 40, 1 << 56) | 1
        self.sessions: dict[int, ServerSession] = {}
        self.groups: dict[int, UrlGroup] = {}
        self.queues: dict[int, RequestQueueRecord] = {}
        self.queue_names: dict[str, RequestQueueRecord] = {}
        self.handles: dict[int, QueueHandle] = {}
        self.routing: RoutingTable[Registration] = RoutingTable()
        self.listeners: dict[int, Listener] = {}
        self.requests: dict[int, Request] = {}
        self.connections: dict[int, Http11Connection] = {}
        self.fragments = FragmentCache()
        self.timers: DeadlineHeap[Any] = DeadlineHeap()
        self._wakeup: asyncio.TimerHandle | None = None
        self._wakeup_at = float("inf")
        self._date_second = -1
        self._date = b""
        self._canned_cache: dict[CannedResponse, tuple[int, bytes]] = {}
        # cooked request targets by (raw URL, Host, local port, local IP, scheme); settings are fixed per driver
        self._cooked: dict[_CookKey, tuple[CookedUrl, str, str | None]] = {}
        self.stats: Counter[str] = Counter()
        # HTTPERR events kept in memory: (time, reason, client, server, (verb, raw URL, version) or None,
        # status, scheme). Plain values only, so a record never keeps a dead connection alive.
        self.error_log: list[
            tuple[
                float,
                str,
                tuple[str, int],
                tuple[str, int],
                tuple[bytes, bytes, tuple[int, int]] | None,
                int,
                str,
            ]
        ] = []
        self.error_log_limit = 10000
        self.error_sink: Callable[[dict[str, Any]], None] | None = None
        self._response_cache: ResponseCache | None = None
        self._logs: LogHook | None = None
        self.response_cache = (
            ResponseCache(
                self.settings.uri_max_uri_bytes,
                scavenger_period=self.settings.uri_scavenger_period,
                server_mode=self.settings.disable_server_header,
            )
            if self.settings.uri_enable_cache
            else None
        )
        self.logs = LogManager(
            self.settings.error_log_dir, error_log_truncate_size=self.settings.error_log_truncate_size
        )
        self._scavenger: asyncio.TimerHandle | None = None

    # ================================================================ remembered requests (the fast path)
    @property
    def response_cache(self) -> ResponseCache | None:
        """The response cache (None: UriEnableCache off). Replacing it forgets the old one's remembered
        requests, so no connection answers from it any more."""
        return self._response_cache

    @response_cache.setter
    def response_cache(self, cache: ResponseCache | None) -> None:
        old = self._response_cache
        if old is not None:
            old.forget_requests()
        self._response_cache = cache

    @property
    def logs(self) -> LogHook | None:
        """Response and error logging. Replacing it forgets the remembered requests (they were remembered only
        because no log was configured for them)."""
        return self._logs

    @logs.setter
    def logs(self, logs: LogHook | None) -> None:
        self.forget_requests()
        self._logs = logs

    def forget_requests(self) -> None:
        """Forget every request remembered for the connections' fast path (after every `@_state_change`)."""
        cache = self._response_cache
        if cache is not None:
            cache.forget_requests()

    def _logged(self, group: UrlGroup) -> bool:
        """A response log is configured for the URL group or its server session (see `_log_response`)."""
        logs = self._logs
        if logs is None:
            return False
        if logs.configured(("group", group.group_id)):
            return True
        session = group.session
        return session is not None and logs.configured(("session", session.session_id))

    # ================================================================ ids, time, timers
    def next_id(self) -> int:
        self._ids += 2
        return self._ids

    def date(self) -> bytes:
        now = self.wall_clock()
        second = int(now)
        if second != self._date_second:
            self._date_second = second
            self._date = format_http_date(now)
        return self._date

    def render_canned(self, kind: CannedResponse) -> bytes:
        date = self.date()
        cached = self._canned_cache.get(kind)
        if cached is not None and cached[0] == self._date_second:
            return cached[1]
        data = render_canned(kind, date, server_header=self.settings.disable_server_header == 0)
        self._canned_cache[kind] = (self._date_second, data)
        return data

    def arm_timer(self, seconds: float, kind: TimerKind, owner: Any) -> TimerEntry[Any]:
        return self.arm_timer_at(self.clock() + seconds, kind, owner)

    def arm_timer_at(self, deadline: float, kind: TimerKind, owner: Any) -> TimerEntry[Any]:
        entry = self.timers.arm(deadline, kind, owner)
        if deadline < self._wakeup_at:
            self._schedule_wakeup(deadline)
        return entry

    def _schedule_wakeup(self, deadline: float) -> None:
        if self._wakeup is not None:
            self._wakeup.cancel()
        self._wakeup_at = deadline
        delay = max(0.0, deadline - self.clock())
        self._wakeup = self.loop.call_later(delay + 0.001, self.check_timers)

    def check_timers(self) -> None:
        """Fire every expired timer (called by the loop, or directly by tests with a fake clock)."""
        self._wakeup = None
        self._wakeup_at = float("inf")
        for entry in self.timers.pop_expired(self.clock()):
            owner = entry.owner
            if isinstance(owner, Http11Connection):
                owner.timer_expired(entry)
            elif isinstance(owner, RequestQueueRecord):
                self._request_queue_expired(owner, entry)
        nxt = self.timers.next_deadline()
        if nxt is not None:
            self._schedule_wakeup(nxt)

    # ================================================================ error log and counters
    def log_error(self, conn: Http11Connection, request: Request | None, status: int, reason: str) -> None:
        """One HTTPERR event: driver-generated response, timer expiry or dropped connection."""
        self.stats[reason] += 1
        facts = (request.method, request.raw_url, request.version) if request is not None else None
        record = (self.wall_clock(), reason, conn.remote_addr, conn.local_addr, facts, status, conn.scheme)
        log = self.error_log
        log.append(record)
        if len(log) > self.error_log_limit:
            del log[: len(log) - self.error_log_limit]
        sink = self.error_sink
        logs = self._logs
        if sink is not None or logs is not None:
            fields = {
                "time": record[0],
                "reason": reason,
                "client": conn.remote_addr,
                "server": conn.local_addr,
                "status": status,
                "method": request.method if request is not None else None,
                "url": request.raw_url if request is not None else None,
                "version": request.version if request is not None else None,
                "queue": request.queue_id if request is not None else None,
                "cooked_url": (
                    request.cooked.abs_path + request.cooked.query
                    if request is not None and request.cooked is not None
                    else None
                ),
                "queue_name": self._queue_name(request),
            }
            if sink is not None:
                sink(fields)
            if logs is not None:
                logs.error(fields)

    def _queue_name(self, request: Request | None) -> str | None:
        if request is None or request.queue_id is None:
            return None
        queue = self.queues.get(request.queue_id)
        return queue.name if queue is not None else None

    def canned_sent(self, conn: Http11Connection, kind: CannedResponse, reason: str | None) -> None:
        self.stats[f"canned_{kind.status}"] += 1
        request = conn.pipeline[0] if conn.pipeline and isinstance(conn.pipeline[0], Request) else None
        self.log_error(conn, request, kind.status, reason or kind.httperr_reason)

    def timer_fired(self, conn: Http11Connection, kind: TimerKind) -> None:
        self.log_error(conn, None, 0, kind.httperr_reason)

    # ================================================================ connections
    def connection_made(self, conn: Http11Connection) -> bool:
        if conn.scheme == "https":
            # No TLS yet, so no SSL binding can exist: the handshake fails as on HTTP.sys without one, and the
            # port never answers in plaintext (docs/decisions/0013).
            self.stats["https_refused"] += 1
            self.log_error(conn, None, 0, "Connection_Dropped")
            conn.reset()
            return False
        if len(self.connections) >= self.max_connections:
            self.stats["Connections_refused"] += 1
            self.log_error(conn, None, 0, "ConnLimit")
            conn.reset()
            return False
        conn.connection_id = self.next_id()
        self.connections[conn.connection_id] = conn
        cache = self._response_cache
        if cache is not None:
            # the connection's fast path: the requests remembered on its address (decision 0008)
            conn.remembered = cache.requests_on(conn.local_addr, conn.scheme)
        return True

    def connection_lost(self, conn: Http11Connection) -> None:
        self.connections.pop(conn.connection_id, None)
        group = conn.group
        if group is not None:
            group.connections -= 1
            conn.group = None

    def request_lost(self, request: Request) -> None:
        """The connection carrying `request` is gone."""
        if request.request_id:
            self.requests.pop(request.request_id, None)
            handle = self.handles.get(request.handle_id or 0)
            if handle is not None:
                handle.requests.discard(request.request_id)
        if not request.delivered:
            self.withdraw(request)
        conn = request.channel
        if request.delivered and not request.response_done and not conn.reset_by_driver:  # type: ignore[attr-defined]
            assert isinstance(conn, Http11Connection)
            self.log_error(conn, request, 0, "Connection_Dropped")

    def withdraw(self, request: Request) -> None:
        """Take a routed request out of its queue before delivery."""
        if request.queue_id is not None:
            queue = self.queues.get(request.queue_id)
            if queue is not None:
                queue.discipline.withdraw(request)
                if not queue.discipline.waiting and queue.queue_timer is not None:
                    self._stop_queue_timer(queue)

    # ================================================================ routing and delivery
    def dispatch(self, request: Request) -> None:
        """A request reached the front of its connection: route it and offer it to its queue."""
        conn: Http11Connection = request.channel  # type: ignore[assignment]
        local_ip = conn.local_addr[0]
        raw_url = request.raw_url
        key = (raw_url, request.host_header, conn.port, local_ip, conn.scheme)
        cooked_entry = self._cooked.get(key)
        if cooked_entry is None:
            try:
                cooked_entry = self._cook(key)
            except RequestRejected as exc:
                conn.write_canned(exc.kind, exc.httperr_reason)
                return
        cooked, host_name, route_host = cooked_entry
        request.cooked = cooked
        request.host_name = host_name
        result = self.routing.route(conn.port, route_host, cooked.abs_path, local_ip)
        if not isinstance(result, RouteMatch):
            kind = (
                CannedResponse.INVALID_HOSTNAME
                if result is RouteMiss.INVALID_HOSTNAME
                else CannedResponse.NOT_FOUND
            )
            conn.write_canned(kind, None)
            return
        registration = result.target
        group = self.groups.get(registration.group_id)
        if group is None:
            conn.write_canned(CannedResponse.NOT_FOUND, None)
            return
        request.group = group
        request.url_context = registration.context
        if conn.group is not group:
            if conn.group is not None:
                conn.group.connections -= 1
            conn.group = group
            group.connections += 1
            limit = group.effective_max_connections()
            if limit is not None and group.connections > limit:
                bound = self.queues.get(group.queue_id) if group.queue_id is not None else None
                self._unavailable(conn, request, bound, "ConnLimit")
                return
        queue = self.queues.get(group.queue_id) if group.queue_id is not None else None
        if queue is None:
            self._unavailable(conn, request, None, "N/A")
            return
        if not group.effective_enabled():
            self._unavailable(conn, request, queue, "Disabled")
            return
        cache = self._response_cache
        if (
            cache is not None
            and len(cache)
            and queue.enabled
            and not request.body_expected
            and request.method in (b"GET", b"HEAD")
        ):
            hit = cache.lookup(
                request.method,
                cooked.full_url,
                request.headers,
                request.version,
                request.keep_alive,
                self.clock(),
                self.date(),
                local_port=conn.port,
            )
            if hit is not None:
                self._serve_cached(conn, request, hit, cache)
                return
        request.arrived = self.clock()
        request.queue_id = queue.queue_id
        outcome, receive = queue.discipline.offer(request, queue.enabled)
        if outcome is Offer.DELIVERED:
            assert isinstance(receive, ReceiveOp)
            self._deliver(request, receive)
        elif outcome is Offer.QUEUED:
            deadline = request.queue_deadline = request.arrived + group.effective_timeouts().request_queue
            timer = queue.queue_timer
            if timer is None or timer.deadline > deadline:
                if timer is not None:
                    timer.cancel()
                queue.queue_timer = self.arm_timer_at(deadline, TimerKind.REQUEST_QUEUE, queue)
        elif outcome is Offer.FULL:
            self._unavailable(conn, request, queue, "QueueFull")
            return
        else:
            self._unavailable(conn, request, queue, "Disabled")
            return
        waiter = queue.demand_start_waiter
        if waiter is not None:
            queue.demand_start_waiter = None
            queue.demand_started = True
            assert callable(waiter)
            waiter(OK)

    def _cook(self, key: _CookKey) -> tuple[CookedUrl, str, str | None]:
        """Cook a request target (memoized: the same bytes on the same local address cook the same way).

        Returns (cooked URL, host name, host to route on). An explicit host prefix matches host AND port of the
        request (spec §6 E55): a Host naming another port (or none, meaning the scheme's default) routes on no
        host name, which leaves only the +, IP and * buckets. Raises RequestRejected (never memoized)."""
        raw_url, host_header, port, local_ip, scheme = key
        cooked, host_name = cook_url(
            raw_url,
            host_header,
            scheme=scheme,
            local_port=port,
            local_ip=local_ip,
            settings=self.settings.url,
        )
        route_host = host_name if _host_port(cooked.host, scheme) == port else None
        entry = (cooked, host_name, route_host)
        if len(raw_url) <= _COOK_MEMO_MAX_URL and (host_header is None or len(host_header) <= 255):
            memo = self._cooked
            if len(memo) >= _COOK_MEMO_SIZE:
                memo.clear()
            memo[key] = entry
        return entry

    def _serve_cached(
        self, conn: Http11Connection, request: Request, hit: tuple[bytes, int, bool], cache: ResponseCache
    ) -> None:
        """Answer from the response cache without waking any application; remember the request's bytes for the
        connection's fast path when the same bytes would be answered the same way again (decision 0008)."""
        data, status, close = hit
        if not close and request.version == (1, 1) and not request.expect_continue and not request.upgrade:
            raw = conn.repeatable_read(request, len(data))
            group = request.group
            if raw is not None and group is not None and group is conn.group and not self._logged(group):
                cooked = request.cooked
                assert cooked is not None
                cache.remember(
                    conn.local_addr,
                    raw,
                    group,
                    request.method,
                    cooked.full_url,
                    request.headers,
                    request.version,
                    scheme=conn.scheme,
                    idle_seconds=conn.idle_timeout(),
                )
        request.response_started = request.response_done = True
        request.response_status = status
        request.response_close = close
        if self._logs is not None:
            request.arrived = self.clock()

        def sent(code: int, nbytes: int) -> None:
            request.response_bytes = nbytes
            if self._logs is not None:
                self._log_response(request, None, cached=True)
            if code == OK:
                conn.request_finished(request, close)

        conn.send([data], False, False, sent)

    def _log_response(self, request: Request, log_data: object | None, cached: bool = False) -> None:
        """One response log line (HTTP.sys logs only when the application passed log data, or from the cache)."""
        logs = self._logs
        group = request.group
        if logs is None or group is None:
            return
        owners = [("group", group.group_id)]
        if group.session is not None:
            owners.append(("session", group.session.session_id))
        if not any(logs.configured(o) for o in owners):
            return
        cooked = request.cooked
        header_values: dict[bytes, bytes] = {}
        for name, value in request.headers:
            lname = name.lower()
            if lname in (b"user-agent", b"cookie", b"referer", b"host"):
                header_values[lname] = value
        fields: dict[str, Any] = {
            "time": self.wall_clock(),
            "client": request.remote_addr,
            "server": request.local_addr,
            "method": request.method,
            "uri_stem": cooked.abs_path if cooked is not None else "",
            "uri_query": cooked.query[1:] if cooked is not None else "",
            "status": request.response_status,
            "win32_status": 0,
            "bytes_sent": request.response_bytes,
            "bytes_received": request.bytes_received,
            "time_taken_ms": int((self.clock() - request.arrived) * 1000) if request.arrived else 0,
            "version": request.version,
            "host": header_values.get(b"host"),
            "user_agent": header_values.get(b"user-agent"),
            "cookie": header_values.get(b"cookie"),
            "referer": header_values.get(b"referer"),
            "cached": cached,
            "log_data": log_data,
        }
        logs.response(owners, fields)

    def _unavailable(
        self, conn: Http11Connection, request: Request, queue: RequestQueueRecord | None, reason: str
    ) -> None:
        verbosity = queue.verbosity if queue is not None else self.settings.default_503_verbosity
        if verbosity is Verbosity503.BASIC:
            self.log_error(conn, request, 0, reason)
            conn.reset()
        else:
            conn.write_canned(CannedResponse.SERVICE_UNAVAILABLE, reason)

    def _stop_queue_timer(self, queue: RequestQueueRecord) -> None:
        timer = queue.queue_timer
        queue.queue_timer = None
        if timer is not None:
            timer.cancel()

    def _request_queue_expired(self, queue: RequestQueueRecord, entry: TimerEntry[Any]) -> None:
        """The queue's RequestQueue timer: reset the connections of the requests that waited too long, and
        re-arm for the earliest deadline of those still waiting."""
        if queue.queue_timer is not entry:
            return
        queue.queue_timer = None
        now = self.clock()
        waiting = queue.discipline.waiting
        expired = [r for r in waiting if r.queue_deadline <= now]  # type: ignore[attr-defined]
        for request in expired:
            assert isinstance(request, Request)
            queue.discipline.withdraw(request)
            conn = request.channel
            assert isinstance(conn, Http11Connection)
            if conn.closed:
                continue
            self.log_error(conn, request, 0, TimerKind.REQUEST_QUEUE.httperr_reason)
            conn.reset()
        if waiting:
            deadline = min(r.queue_deadline for r in waiting)  # type: ignore[attr-defined]
            queue.queue_timer = self.arm_timer_at(deadline, TimerKind.REQUEST_QUEUE, queue)

    def _deliver(self, request: Request, receive: ReceiveOp) -> None:
        op = receive.op
        if op is not None:
            receive.op = None
            self._op_done(op)
        self._hand_over(
            request, receive.handle, receive.flags, receive.buffer_length, receive.v2, receive.done
        )

    def _hand_over(
        self,
        request: Request,
        handle: QueueHandle,
        flags: int,
        buffer_length: int | None,
        v2: bool,
        done: Callable[[int, RequestSnapshot | None, int], None],
    ) -> None:
        """Assign the request its RequestId and complete the receive that takes it."""
        self._ids += 2
        request.request_id = request_id = self._ids
        request.handle_id = handle.handle_id
        request.delivered = True
        self.requests[request_id] = request
        handle.requests.add(request_id)
        if not flags and buffer_length is None:
            done(OK, self.snapshot(request), 0)
        else:
            self._complete_receive(request, flags, buffer_length, v2, done)

    def snapshot(self, request: Request, entity: bytes = b"") -> RequestSnapshot:
        cooked = request.cooked
        assert cooked is not None
        conn = request.channel
        local_addr = request.local_addr
        return RequestSnapshot(  # positionally: the field order of RequestSnapshot (a per-request saving)
            request.request_id,
            conn.connection_id,
            request.url_context,
            REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS if request.body_buffered or not request.body_complete else 0,
            request.version,
            request.method,
            request.raw_url,
            cooked.full_url,
            cooked.host,
            cooked.abs_path,
            cooked.query,
            request.remote_addr,
            local_addr,
            ":" in local_addr[0],
            request.headers,
            request.bytes_received,
            entity,
            request.content_length,
            request.upgrade,
        )

    def required_size(self, request: Request, v2: bool, entity_len: int) -> int:
        known, unknown = split_request_headers(request.headers)
        cooked = request.cooked
        assert cooked is not None
        unknown_verb = len(request.method) if verb_id(request.method) == VERB_UNKNOWN else 0
        return request_buffer_size(
            v2=v2,
            unknown_verb_len=unknown_verb,
            raw_url_len=len(request.raw_url),
            cooked_full_url_utf16_len=cooked.full_url_length,
            unknown_headers=[(len(n), len(v)) for n, v in unknown],
            known_header_value_lens=[len(v) for v in known.values()],
            family=socket.AF_INET6 if ":" in request.local_addr[0] else socket.AF_INET,
            entity_len=entity_len,
        )

    def _complete_receive(
        self,
        request: Request,
        flags: int,
        buffer_length: int | None,
        v2: bool,
        done: Callable[[int, RequestSnapshot | None, int], None],
    ) -> None:
        copy = flags & (RECEIVE_COPY_BODY | RECEIVE_FLUSH_BODY)
        if buffer_length is None:
            space = DEFAULT_COPY_BODY if copy else 0
            base = 0
        else:
            base = self.required_size(request, v2, 0)
            if base > buffer_length:
                done(int(E.ERROR_MORE_DATA), self.snapshot(request), base)
                return
            space = buffer_length - base - 32  # one HTTP_DATA_CHUNK for the copied body
        if not copy or space <= 0 or not request.body_expected:
            done(OK, self.snapshot(request), base)
            return
        if flags & RECEIVE_FLUSH_BODY and not request.body_complete and request.body_buffered < space:

            def flushed(code: int, data: bytes) -> None:
                if code not in (OK, int(E.ERROR_HANDLE_EOF)):
                    done(code, None, 0)
                    return
                snap = self.snapshot(request, data)
                done(OK, snap, self._bytes_with_entity(base, request, v2, data, buffer_length))

            request.read_body(BodyRead(space, True, flushed))
            return
        if request.expect_continue and not request.continue_sent and not request.body_buffered:
            request.channel.body_wanted(request)
        data = request.take_available(space)
        snap = self.snapshot(request, data)
        done(OK, snap, self._bytes_with_entity(base, request, v2, data, buffer_length))

    def _bytes_with_entity(
        self, base: int, request: Request, v2: bool, data: bytes, buffer_length: int | None
    ) -> int:
        if not data:
            return base
        if buffer_length is None:
            return base + len(data)
        return min(buffer_length, self.required_size(request, v2, len(data)))

    # ================================================================ queue handles
    def _handle(self, handle_id: int) -> QueueHandle | None:
        handle = self.handles.get(handle_id)
        if handle is None or handle.closed:
            return None
        return handle

    def _register_op(self, handle: QueueHandle, token: int, cancel: Callable[[], None]) -> PendingOp:
        op = PendingOp(handle, token or self.next_id(), cancel)
        handle.pending[op.token] = op
        return op

    @staticmethod
    def _op_done(op: PendingOp) -> None:
        """An operation completed or was cancelled: forget it, and drop its cancel closure, which references what
        references the op - no reference cycle is left behind for the garbage collector, per operation."""
        op.handle.pending.pop(op.token, None)
        op.cancel = _no_cancel

    def cancel_io(self, handle_id: int, token: int | None) -> bool:
        """CancelIo(Ex): complete the handle's pending operations (or one) with ERROR_OPERATION_ABORTED."""
        handle = self.handles.get(handle_id)
        if handle is None:
            return False
        if token is None:
            ops = list(handle.pending.values())
            handle.pending.clear()
        else:
            one = handle.pending.pop(token, None)
            ops = [one] if one is not None else []
        for op in ops:
            cancel = op.cancel
            op.cancel = _no_cancel
            cancel()
        return bool(ops)

    def receive_request(
        self,
        handle_id: int,
        request_id: int,
        flags: int,
        buffer_length: int | None,
        v2: bool,
        token: int,
        done: Callable[[int, RequestSnapshot | None, int], None],
    ) -> None:
        """HttpReceiveHttpRequest. Completes through `done`, maybe at once; `token` names it for CancelIoEx."""
        handle = self._handle(handle_id)
        if handle is None:
            done(int(E.ERROR_INVALID_HANDLE), None, 0)
            return None
        if (handle.queue.controller and handle.creator) or flags & ~(RECEIVE_COPY_BODY | RECEIVE_FLUSH_BODY):
            done(int(E.ERROR_INVALID_PARAMETER), None, 0)
            return None
        if handle.shutdown:
            done(int(E.ERROR_INVALID_HANDLE), None, 0)
            return None
        if buffer_length is not None and buffer_length < FIXED_V1:
            done(int(E.ERROR_INSUFFICIENT_BUFFER), None, 0)
            return None
        if request_id:
            request = self.requests.get(request_id)
            if request is None or request.handle_id != handle_id or request.response_started:
                done(int(E.ERROR_CONNECTION_INVALID), None, 0)
                return None
            self._complete_receive(request, flags, buffer_length, v2, done)
            return None
        queue = handle.queue
        discipline = queue.discipline
        waiting = discipline.take()
        while waiting is not None:
            assert isinstance(waiting, Request)
            if not discipline.waiting and queue.queue_timer is not None:
                self._stop_queue_timer(
                    queue
                )  # the queue drained: no RequestQueue timer until one waits again
            if not waiting.channel.closed:
                self._hand_over(waiting, handle, flags, buffer_length, v2, done)
                return None
            waiting = discipline.take()
        receive = ReceiveOp(handle, flags, buffer_length, v2, done)

        def cancel() -> None:
            if queue.discipline.unpark(receive):
                done(int(E.ERROR_OPERATION_ABORTED), None, 0)

        receive.op = self._register_op(handle, token, cancel)
        queue.discipline.park(receive)

    def _live_request(self, handle_id: int, request_id: int) -> tuple[int, Request | None]:
        handle = self._handle(handle_id)
        if handle is None:
            return int(E.ERROR_INVALID_HANDLE), None
        request = self.requests.get(request_id) if request_id else None
        if request is None or request.handle_id != handle_id:
            return int(E.ERROR_CONNECTION_INVALID), None
        return OK, request

    def receive_body(
        self,
        handle_id: int,
        request_id: int,
        max_len: int,
        fill: bool,
        token: int,
        done: Callable[[int, bytes], None],
    ) -> None:
        """HttpReceiveRequestEntityBody."""
        code, request = self._live_request(handle_id, request_id)
        if request is None:
            done(code, b"")
            return None
        if request.response_done and not request.opaque:
            done(int(E.ERROR_CONNECTION_INVALID), b"")
            return None
        if max_len <= 0:
            done(int(E.ERROR_INVALID_PARAMETER), b"")
            return None
        handle = self.handles[handle_id]
        holder: list[PendingOp] = []

        def finished(code: int, data: bytes) -> None:
            if holder:
                self._op_done(holder.pop())
            done(code, data)

        read = BodyRead(max_len, fill, finished)
        request.read_body(read)
        if read in request.body_reads:
            # not a closure: compiled, closures share one environment, and `read` in the one `finished` lives
            # in would make a reference cycle of every body read
            cancel = functools.partial(_cancel_read, request, read)
            holder.append(self._register_op(handle, token, cancel))

    # ================================================================ responses
    def _sendable(
        self, handle_id: int, request_id: int, flags: int, status: int | None
    ) -> tuple[int, Request | None]:
        """The checks every send makes; `status` is the new response's for HttpSendHttpResponse, None for
        HttpSendResponseEntityBody (which needs a started response and checks flags against its status)."""
        request = self.requests.get(request_id)
        handle = self.handles.get(handle_id)
        if request is None or request.handle_id != handle_id or handle is None or handle.closed:
            code, request = self._live_request(handle_id, request_id)  # the precise error
            if request is None:
                return code, None
        if request.send_pending:
            return int(E.ERROR_BAD_COMMAND), None  # the remarks: one send at a time per RequestId
        first = status is not None
        if request.response_started == first:  # a second response, or a body before any response
            return int(E.ERROR_INVALID_PARAMETER), None
        if flags == 0 and type(flags) is int:
            return OK, request
        code = validate_send_flags(status if status is not None else request.response_status, flags)
        if flags & FLAG_OPAQUE and not request.opaque:
            flags |= FLAG_MORE_DATA  # the call that makes the connection opaque never ends the response
        if code == OK and flags & FLAG_DISCONNECT and flags & FLAG_MORE_DATA:
            code = int(E.ERROR_INVALID_PARAMETER)  # "undefined results": refused (docs/decisions/0002)
        return code, (request if code == OK else None)

    def _resolve_chunks(
        self, chunks: list[DataChunk]
    ) -> tuple[int, list[Segment], int, tuple[tuple[bytes, bytes], ...] | None]:
        """Data chunks to wire segments: (code, segments, entity length, trailers)."""
        if len(chunks) == 1:
            chunk = chunks[0]
            if type(chunk) is MemoryChunk:
                data = chunk.data
                if type(data) is not bytes:
                    data = bytes(data)
                return OK, ([data] if data else []), len(data), None
        segments: list[Segment] = []
        total = 0
        trailers: tuple[tuple[bytes, bytes], ...] | None = None
        for i, chunk in enumerate(chunks):
            if isinstance(chunk, MemoryChunk):
                data = chunk.data
                if len(data):
                    segments.append(data if isinstance(data, bytes) else bytes(data))
                    total += len(data)
            elif isinstance(chunk, FileChunk):
                try:
                    size = os.fstat(chunk.fd).st_size
                except (OSError, TypeError, ValueError):
                    return int(E.ERROR_INVALID_HANDLE), [], 0, None
                start = chunk.offset
                count = size - start if chunk.length == BYTE_RANGE_TO_EOF else chunk.length
                if start < 0 or count < 0 or start + count > size:
                    return int(E.ERROR_INVALID_PARAMETER), [], 0, None
                if count:
                    segments.append(FileRegion(chunk.fd, start, count))
                    total += count
            elif isinstance(chunk, FragmentChunk):
                fragment = self.fragments.get(chunk.name, self.clock())
                if fragment is None:
                    return int(E.ERROR_PATH_NOT_FOUND), [], 0, None
                if chunk.offset or chunk.length != BYTE_RANGE_TO_EOF:
                    end = len(fragment) if chunk.length == BYTE_RANGE_TO_EOF else chunk.offset + chunk.length
                    if chunk.offset > len(fragment) or end > len(fragment):
                        return int(E.ERROR_INVALID_PARAMETER), [], 0, None
                    fragment = fragment[chunk.offset : end]
                if fragment:
                    segments.append(fragment)
                    total += len(fragment)
            elif isinstance(chunk, TrailersChunk):
                if i != len(chunks) - 1:
                    return int(E.ERROR_INVALID_PARAMETER), [], 0, None
                trailers = chunk.trailers
            else:
                return int(E.ERROR_INVALID_PARAMETER), [], 0, None
        return OK, segments, total, trailers

    def send_response(
        self,
        handle_id: int,
        request_id: int,
        flags: int,
        spec: ResponseSpec,
        chunks: list[DataChunk],
        cache_policy: CachePolicy | None,
        log_data: object | None,
        done: Callable[[int, int], None],
        token: int = 0,
    ) -> None:
        """HttpSendHttpResponse."""
        code, request = self._sendable(handle_id, request_id, flags, spec.status)
        if request is not None:
            code = validate_response(spec)
        if request is None or code != OK:
            done(code, 0)
            return
        code, segments, entity_length, trailers = self._resolve_chunks(chunks)
        if code != OK:
            done(code, 0)
            return
        opaque = bool(flags & FLAG_OPAQUE)
        if opaque:
            flags |= FLAG_MORE_DATA  # an opaque stream continues after the 101 (docs/decisions)
        final = not flags & FLAG_MORE_DATA
        if trailers is not None and not final:
            done(int(E.ERROR_INVALID_PARAMETER), 0)  # trailers belong to the final send
            return
        if flags & FLAG_PROCESS_RANGES and final and request.method == b"GET" and spec.status == 200:
            spec, segments, entity_length = self._apply_ranges(request, spec, segments, entity_length)
        auto_chunk = (
            bool(flags & FLAG_AUTOMATIC_CHUNKING)
            and not final
            and request.version >= (1, 1)
            and spec.status >= 200
            and spec.status not in (204, 304)
            and request.method != b"HEAD"
            and not _declares_length(spec)
        )
        if auto_chunk:
            spec = ResponseSpec(
                spec.status, spec.reason, {**spec.known, _TE_ID: [b"chunked"]}, spec.unknown, spec.flags
            )
            segments = _frame_chunks(segments, entity_length)
        # A body the client was told to hold back (Expect: 100-continue, never read) cannot be drained: the
        # connection closes after this response, and the head says so.
        unread_expect = (
            final and request.expect_continue and not request.continue_sent and not request.body_complete
        )
        head, close, chunked = plan_and_render(
            spec,
            request_method=request.method,
            request_version=request.version,
            request_keep_alive=request.keep_alive and not unread_expect,
            flags=flags,
            final=final,
            entity_length=entity_length if final else None,
            date=self.date(),
            server_mode=self.settings.disable_server_header,
        )
        if trailers is not None and final and chunked:
            segments.append(render_trailers(list(trailers)))
        request.response_started = True
        request.response_status = spec.status
        request.response_close = close
        if cache_policy is not None and final and cache_policy.policy and self._response_cache is not None:
            self._offer_to_cache(self._response_cache, request, spec, segments, entity_length, cache_policy)
        request.response_chunked = chunked
        request.response_auto_chunked = auto_chunk
        if (
            segments
            and not isinstance(segments[0], FileRegion)
            and len(segments) == 1
            and len(segments[0]) < 65536
        ):
            out: list[Segment] = [head + bytes(segments[0])]
        else:
            out = [head, *segments]
        self._send(request, out, flags, final, opaque, done, log_data, token)

    def _offer_to_cache(
        self,
        cache: ResponseCache,
        request: Request,
        spec: ResponseSpec,
        segments: list[Segment],
        length: int,
        policy: CachePolicy,
    ) -> None:
        """A whole response sent with a cache policy goes to the response cache, which keeps it if the rules of
        spec §5.8 allow. File regions are read here (as HTTP.sys caches FromFileHandle responses), and only
        when the cache says it would keep an entity of that length (at most UriMaxUriBytes)."""
        url = request.cooked.full_url if request.cooked is not None else ""
        port: int = request.channel.port  # type: ignore[attr-defined]
        body: bytes | None
        if any(isinstance(seg, FileRegion) for seg in segments):
            if not cache.admits(
                request.method,
                url,
                request.headers,
                request.version,
                spec,
                policy.policy,
                policy.seconds_to_live,
                length,
                port,
            ):
                return
            body = _entity_bytes(segments, length)
        else:
            body = b"".join([bytes(seg) for seg in segments if not isinstance(seg, FileRegion)])
        stored = cache.store(
            request.method,
            url,
            request.headers,
            request.version,
            spec,
            body,
            policy.policy,
            policy.seconds_to_live,
            self.clock(),
            local_port=port,
        )
        if stored and self._scavenger is None:
            self._scavenger = self.loop.call_later(self.settings.uri_scavenger_period, self._scavenge)

    def _apply_ranges(
        self, request: Request, spec: ResponseSpec, segments: list[Segment], length: int
    ) -> tuple[ResponseSpec, list[Segment], int]:
        range_header = if_range = None
        for name, value in request.headers:
            lname = name.lower()
            if lname == b"range":
                range_header = value
            elif lname == b"if-range":
                if_range = value
        if range_header is None:
            return spec, segments, length
        etag = spec.known.get(_ETAG_ID, [None])[0]
        last_modified = spec.known.get(_LM_ID, [None])[0]
        decision = evaluate_range(
            range_header,
            if_range,
            method=request.method,
            status=spec.status,
            entity_length=length,
            etag=etag,
            last_modified=last_modified,
        )
        if isinstance(decision, Unsatisfiable):
            return unsatisfiable_response(spec, length), [], 0
        if not isinstance(decision, Satisfiable):
            return spec, segments, length
        content_type = spec.known.get(_CT_ID, [None])[0]
        boundary = b"%016x" % random.getrandbits(64)
        body = plan_ranged_body(decision, entity_length=length, content_type=content_type, boundary=boundary)
        out: list[Segment] = []
        for prefix, start, end in body.parts:
            if prefix:
                out.append(prefix)
            out.extend(_slice_segments(segments, start, end))
        if body.epilogue:
            out.append(body.epilogue)
        return ranged_response(spec, body), out, body.content_length

    def send_body(
        self,
        handle_id: int,
        request_id: int,
        flags: int,
        chunks: list[DataChunk],
        log_data: object | None,
        done: Callable[[int, int], None],
        token: int = 0,
    ) -> None:
        """HttpSendResponseEntityBody."""
        code, request = self._sendable(handle_id, request_id, flags, None)
        if request is None:
            done(code, 0)
            return
        code, segments, entity_length, trailers = self._resolve_chunks(chunks)
        if code != OK:
            done(code, 0)
            return
        opaque = bool(flags & FLAG_OPAQUE) and not request.opaque
        if opaque:
            flags |= FLAG_MORE_DATA  # a 101 sent without OPAQUE, made opaque by this call
        final = not flags & FLAG_MORE_DATA
        if trailers is not None and not final:
            done(int(E.ERROR_INVALID_PARAMETER), 0)  # trailers belong to the final send
            return
        if request.response_auto_chunked:
            segments = _frame_chunks(segments, entity_length)
            if final:
                segments.append(render_trailers(list(trailers)) if trailers else LAST_CHUNK)
        elif trailers is not None and final and request.response_chunked:
            segments.append(render_trailers(list(trailers)))
        if final and flags & FLAG_DISCONNECT:
            request.response_close = True
        if request.opaque and final:
            request.response_close = True
        self._send(request, segments, flags, final, opaque, done, log_data, token)

    def _send(
        self,
        request: Request,
        segments: list[Segment],
        flags: int,
        final: bool,
        opaque: bool,
        done: Callable[[int, int], None],
        log_data: object | None = None,
        token: int = 0,
    ) -> None:
        conn = request.channel
        assert isinstance(conn, Http11Connection)
        request.send_pending = True
        if final:
            request.response_done = True  # the request id dies with the final send
        pending: list[PendingOp] = []

        def sent(code: int, nbytes: int) -> None:
            if not request.send_pending:
                return  # already completed by a cancellation
            if pending:
                self._op_done(pending.pop())
            request.send_pending = False
            request.response_bytes += nbytes
            if code == OK and opaque:
                conn.enter_opaque(request)
            if final:
                if log_data is not None and self._logs is not None:
                    self._log_response(request, log_data)
                self._finish(request, code == OK)
            done(code, nbytes)

        conn.send(segments, bool(flags & FLAG_BUFFER_DATA), bool(flags & FLAG_ENABLE_NAGLING), sent)
        if request.send_pending and token:
            handle = self.handles.get(request.handle_id or 0)
            if handle is not None:

                def cancel() -> None:
                    # CancelIoEx on a pending send: the response cannot be completed, so the connection goes.
                    if request.send_pending:
                        request.send_pending = False
                        self.requests.pop(request.request_id, None)
                        handle.requests.discard(request.request_id)
                        conn.reset()
                        done(int(E.ERROR_OPERATION_ABORTED), 0)

                pending.append(self._register_op(handle, token, cancel))

    def _finish(self, request: Request, ok: bool) -> None:
        self.requests.pop(request.request_id, None)
        handle = self.handles.get(request.handle_id or 0)
        if handle is not None:
            handle.requests.discard(request.request_id)
        conn = request.channel
        assert isinstance(conn, Http11Connection)
        if ok:
            conn.request_finished(request, request.response_close)

    def cancel_request(self, handle_id: int, request_id: int) -> int:
        """HttpCancelHttpRequest: abort the request and close its connection."""
        code, request = self._live_request(handle_id, request_id)
        if request is None:
            return code
        conn = request.channel
        assert isinstance(conn, Http11Connection)
        self.requests.pop(request_id, None)
        conn.reset()
        return OK

    def wait_disconnect(
        self, handle_id: int, connection_id: int, token: int, done: Callable[[int], None]
    ) -> None:
        """HttpWaitForDisconnect(Ex): complete when the connection closes (at once if already closed)."""
        handle = self._handle(handle_id)
        if handle is None:
            done(int(E.ERROR_INVALID_HANDLE))
            return None
        conn = self.connections.get(connection_id)
        if conn is None or conn.closed:
            done(OK if 0 < connection_id <= self._ids else int(E.ERROR_CONNECTION_INVALID))
            return None
        fired: list[bool] = []

        def on_close() -> None:
            if not fired:
                fired.append(True)
                self._op_done(op)
                done(OK)

        def cancel() -> None:
            if not fired:
                fired.append(True)
                try:
                    conn.disconnect_waiters.remove(on_close)
                except ValueError:
                    pass
                done(int(E.ERROR_OPERATION_ABORTED))

        op = self._register_op(handle, token, cancel)
        conn.disconnect_waiters.append(on_close)

    def wait_demand_start(self, handle_id: int, token: int, done: Callable[[int], None]) -> None:
        handle = self.handles.get(handle_id)
        if handle is None:
            done(int(E.ERROR_INVALID_PARAMETER))
            return None
        if handle.closed or handle.shutdown:
            done(int(E.ERROR_INVALID_HANDLE))
            return None
        queue = handle.queue
        if not queue.controller or not handle.creator:
            done(int(E.ERROR_INVALID_ID_AUTHORITY))
            return None
        if queue.demand_start_waiter is not None:
            done(int(E.ERROR_ALREADY_EXISTS))
            return None
        if queue.discipline.waiting:
            done(OK)
            return None

        def fire(code: int) -> None:
            self._op_done(op)
            done(code)

        def cancel() -> None:
            if queue.demand_start_waiter is fire:
                queue.demand_start_waiter = None
                done(int(E.ERROR_OPERATION_ABORTED))

        op = self._register_op(handle, token, cancel)
        queue.demand_start_waiter = fire

    # ================================================================ object model
    @_state_change
    def create_server_session(self, version: tuple[int, int]) -> tuple[int, int]:
        if version not in ((1, 0), (2, 0)):
            return int(E.ERROR_REVISION_MISMATCH), 0
        sid = self.next_id()
        self.sessions[sid] = ServerSession(session_id=sid, version=version)
        return OK, sid

    @_state_change
    def close_server_session(self, session_id: int) -> int:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return int(E.ERROR_INVALID_PARAMETER)
        for gid in list(session.groups):
            self.close_url_group(gid)
        if self._logs is not None:
            self._logs.configure(("session", session_id), None)  # its log directory may be claimed again
        return OK

    @_state_change
    def create_url_group(self, session_id: int) -> tuple[int, int]:
        session = self.sessions.get(session_id)
        if session is None:
            return int(E.ERROR_INVALID_PARAMETER), 0
        gid = self.next_id()
        self.groups[gid] = UrlGroup(group_id=gid, session=session)
        session.groups.add(gid)
        return OK, gid

    @_state_change
    def close_url_group(self, group_id: int) -> int:
        group = self.groups.pop(group_id, None)
        if group is None:
            return int(E.ERROR_INVALID_PARAMETER)
        if group.session is not None:
            group.session.groups.discard(group_id)
        removed = self.routing.remove_where(lambda reg: reg.group_id == group_id)
        for prefix in removed:
            self._maybe_close_listener(prefix.port)
        group.urls.clear()
        if self._logs is not None:
            self._logs.configure(("group", group_id), None)  # its log directory may be claimed again
        return OK

    @_state_change
    def add_url(self, group_id: int, url: str, context: int) -> int:
        group = self.groups.get(group_id)
        if group is None:
            return int(E.ERROR_INVALID_PARAMETER)
        try:
            prefix = parse_url_prefix(url)
        except InvalidUrlPrefix:
            return int(E.ERROR_INVALID_PARAMETER)
        try:
            self.routing.add(prefix, Registration(group_id, context))
        except PrefixConflict:
            return int(E.ERROR_ALREADY_EXISTS)
        code = self._ensure_listener(prefix.port, prefix.scheme)
        if code != OK:
            self.routing.remove(prefix.original)
            return code
        group.urls[prefix.original] = context
        return OK

    @_state_change
    def remove_url(self, group_id: int, url: str | None, remove_all: bool) -> int:
        group = self.groups.get(group_id)
        if group is None:
            return int(E.ERROR_INVALID_PARAMETER)
        if remove_all:
            if url is not None:
                return int(E.ERROR_INVALID_PARAMETER)
            for original in list(group.urls):
                self._remove_registration(group, original)
            return OK
        if url is None or url not in group.urls:
            return int(E.ERROR_FILE_NOT_FOUND)
        self._remove_registration(group, url)
        return OK

    def _remove_registration(self, group: UrlGroup, original: str) -> None:
        try:
            prefix, _reg = self.routing.remove(original)
        except KeyError:
            pass
        else:
            self._maybe_close_listener(prefix.port)
            if self._response_cache is not None:
                self._response_cache.flush(original, True)
        group.urls.pop(original, None)

    def _ensure_listener(self, port: int, scheme: str) -> int:
        if port in self.listeners:
            return OK
        try:
            socks = bind_port(port, self.listen_addresses)
        except PermissionError:
            return int(E.ERROR_ACCESS_DENIED)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return int(E.ERROR_SHARING_VIOLATION)
            if exc.errno == errno.EACCES:
                return int(E.ERROR_ACCESS_DENIED)
            return int(E.ERROR_INVALID_PARAMETER)
        listener = Listener(port, scheme, socks)
        self.listeners[port] = listener
        for sock in socks:
            self.loop.create_task(self._serve(listener, sock))
        return OK

    async def _serve(self, listener: Listener, sock: socket.socket) -> None:
        if listener.closing:
            return
        server = await self.loop.create_server(
            lambda: Http11Connection(self, listener.port, listener.scheme), sock=sock, backlog=4096
        )
        if listener.closing:
            server.close()
        else:
            listener.servers.append(server)

    def _maybe_close_listener(self, port: int) -> None:
        if self.routing.count_on_port(port) == 0:
            listener = self.listeners.pop(port, None)
            if listener is not None:
                listener.close()

    @_state_change
    def create_request_queue(self, name: str | None, flags: int, v1: bool = False) -> tuple[int, int]:
        if flags & ~(CREATE_QUEUE_OPEN_EXISTING | CREATE_QUEUE_CONTROLLER | 0x8):
            return int(E.ERROR_INVALID_PARAMETER), 0
        if flags & CREATE_QUEUE_OPEN_EXISTING:
            if name is None or flags & CREATE_QUEUE_CONTROLLER:
                return int(E.ERROR_INVALID_PARAMETER), 0
            queue = self.queue_names.get(name.lower())
            if queue is None:
                return int(E.ERROR_FILE_NOT_FOUND), 0
            return OK, self._open_handle(queue, creator=False)
        if name is not None and name.lower() in self.queue_names:
            return int(E.ERROR_ALREADY_EXISTS), 0
        queue = RequestQueueRecord(queue_id=self.next_id(), name=name, v1=v1)
        queue.controller = bool(flags & CREATE_QUEUE_CONTROLLER)
        queue.length_limit = DEFAULT_QUEUE_LENGTH
        self.queues[queue.queue_id] = queue
        if name is not None:
            self.queue_names[name.lower()] = queue
        handle_id = self._open_handle(queue, creator=True)
        if v1:
            gid = self.next_id()
            self.groups[gid] = UrlGroup(group_id=gid, queue_id=queue.queue_id, v1=True)
            queue.stored[-1] = gid
        return OK, handle_id

    def _open_handle(self, queue: RequestQueueRecord, creator: bool) -> int:
        handle_id = self.next_id()
        self.handles[handle_id] = QueueHandle(handle_id, queue, creator)
        queue.handles.add(handle_id)
        return handle_id

    def queue_of(self, handle_id: int) -> QueueHandle | None:
        return self._handle(handle_id)

    def v1_group(self, handle_id: int) -> UrlGroup | None:
        handle = self._handle(handle_id)
        if handle is None or not handle.queue.v1:
            return None
        gid = handle.queue.stored.get(-1)
        return self.groups.get(gid) if isinstance(gid, int) else None

    @_state_change
    def shutdown_request_queue(self, handle_id: int) -> int:
        handle = self.handles.get(handle_id)
        if handle is None or handle.closed:
            return int(E.ERROR_INVALID_PARAMETER)
        handle.shutdown = True
        self.cancel_io(handle_id, None)
        waiter = handle.queue.demand_start_waiter
        if waiter is not None and handle.creator:
            handle.queue.demand_start_waiter = None
            assert callable(waiter)
            waiter(int(E.ERROR_OPERATION_ABORTED))
        for request_id in list(handle.requests):
            request = self.requests.get(request_id)
            if request is not None and not request.response_started:
                self.requests.pop(request_id, None)
                handle.requests.discard(request_id)
                conn = request.channel
                assert isinstance(conn, Http11Connection)
                self.log_error(conn, request, 0, "Connection_Abandoned_By_ReqQueue")
                conn.reset()
        return OK

    @_state_change
    def close_request_queue(self, handle_id: int) -> int:
        handle = self.handles.get(handle_id)
        if handle is None or handle.closed:
            return int(E.ERROR_INVALID_HANDLE)
        self.cancel_io(handle_id, None)
        handle.closed = True
        del self.handles[handle_id]
        queue = handle.queue
        queue.handles.discard(handle_id)
        for request_id in list(handle.requests):
            request = self.requests.pop(request_id, None)
            if request is not None and not request.response_done:
                conn = request.channel
                assert isinstance(conn, Http11Connection)
                self.log_error(conn, request, 0, "Connection_Abandoned_By_ReqQueue")
                conn.reset()
        handle.requests.clear()
        if handle.creator and queue.demand_start_waiter is not None:
            waiter = queue.demand_start_waiter
            queue.demand_start_waiter = None
            assert callable(waiter)
            waiter(int(E.ERROR_OPERATION_ABORTED))
        if not queue.handles:
            self._destroy_queue(queue)
        return OK

    def _destroy_queue(self, queue: RequestQueueRecord) -> None:
        self.queues.pop(queue.queue_id, None)
        if queue.name is not None:
            self.queue_names.pop(queue.name.lower(), None)
        while True:
            waiting = queue.discipline.take()
            if waiting is None:
                break
            assert isinstance(waiting, Request)
            conn = waiting.channel
            assert isinstance(conn, Http11Connection)
            self.log_error(conn, waiting, 0, "Connection_Abandoned_By_ReqQueue")
            conn.reset()
        if queue.queue_timer is not None:
            self._stop_queue_timer(queue)
        for group in list(self.groups.values()):
            if group.queue_id == queue.queue_id:
                if group.v1:
                    self.close_url_group(group.group_id)
                else:
                    group.queue_id = None

    @_state_change
    def bind_group(self, group_id: int, handle_id: int | None) -> int:
        group = self.groups.get(group_id)
        if group is None:
            return int(E.ERROR_INVALID_PARAMETER)
        if handle_id is None:
            group.queue_id = None
            group.stored.pop(PROP_BINDING, None)
            return OK
        handle = self._handle(handle_id)
        if handle is None:
            return int(E.ERROR_INVALID_PARAMETER)
        group.queue_id = handle.queue.queue_id
        group.stored[PROP_BINDING] = handle_id  # what a query returns
        return OK

    # ================================================================ properties
    @_state_change
    def set_session_property(self, session_id: int, prop: int, value: object) -> int:
        session = self.sessions.get(session_id)
        if session is None or prop not in SESSION_SETTABLE:
            return int(E.ERROR_INVALID_PARAMETER)
        if prop == PROP_QOS and isinstance(value, tuple) and value and value[0] != QOS_BANDWIDTH:
            return int(E.ERROR_INVALID_PARAMETER)  # sessions take bandwidth only
        return self._set_common(session, prop, value)

    def query_session_property(self, session_id: int, prop: int) -> tuple[int, object]:
        session = self.sessions.get(session_id)
        if session is None or prop not in SESSION_QUERYABLE:
            return int(E.ERROR_INVALID_PARAMETER), None
        return self._query_common(session, prop)

    @_state_change
    def set_group_property(self, group_id: int, prop: int, value: object) -> int:
        group = self.groups.get(group_id)
        if group is None or group.v1 or prop not in GROUP_SETTABLE:
            return int(E.ERROR_INVALID_PARAMETER)
        if prop == PROP_BINDING:
            if value is not None and not isinstance(value, int):
                return int(E.ERROR_INVALID_PARAMETER)
            return self.bind_group(group_id, value)
        return self._set_common(group, prop, value)

    def query_group_property(self, group_id: int, prop: int) -> tuple[int, object]:
        group = self.groups.get(group_id)
        if group is None or group.v1 or prop not in GROUP_QUERYABLE:
            return int(E.ERROR_INVALID_PARAMETER), None
        return self._query_common(group, prop)

    def _set_common(self, obj: ServerSession | UrlGroup, prop: int, value: object) -> int:
        if prop == PROP_TIMEOUTS:
            if value is None:
                obj.timeouts = TimeoutLimits()
            elif isinstance(value, TimeoutLimits):
                obj.timeouts = value
            else:
                return int(E.ERROR_INVALID_PARAMETER)
            for group in self.groups.values():
                if group is obj or group.session is obj:
                    group.invalidate()
        elif prop == PROP_STATE:
            if not isinstance(value, bool):
                return int(E.ERROR_INVALID_PARAMETER)
            obj.enabled = value
        elif prop == PROP_LOGGING:
            if self._logs is None:
                obj.stored[prop] = value
                return OK
            owner = ("session", obj.session_id) if isinstance(obj, ServerSession) else ("group", obj.group_id)
            code = self._logs.configure(owner, value)
            if code != OK:
                return code
            obj.stored[prop] = value
        elif prop == PROP_QOS:
            if not (isinstance(value, tuple) and len(value) == 2):
                return int(E.ERROR_INVALID_PARAMETER)
            kind, amount = value
            if kind == QOS_BANDWIDTH:
                obj.qos.max_bandwidth = amount
            elif kind == QOS_CONNECTION_LIMIT:
                obj.qos.max_connections = amount
            else:
                obj.stored[(PROP_QOS << 8) | int(kind)] = amount
        else:
            obj.stored[prop] = value
        return OK

    def _query_common(self, obj: ServerSession | UrlGroup, prop: int) -> tuple[int, object]:
        if prop == PROP_TIMEOUTS:
            return OK, obj.timeouts
        if prop == PROP_STATE:
            return OK, obj.enabled
        if prop == PROP_QOS:
            return OK, (obj.qos.max_bandwidth, obj.qos.max_connections)
        return OK, obj.stored.get(prop)

    @_state_change
    def set_queue_property(self, handle_id: int, prop: int, value: object) -> int:
        handle = self._handle(handle_id)
        if handle is None:
            return int(E.ERROR_INVALID_HANDLE)
        queue = handle.queue
        if queue.v1:
            return int(E.ERROR_NOT_SUPPORTED)
        if not handle.creator or not isinstance(value, int):
            return int(E.ERROR_INVALID_PARAMETER)
        if prop == PROP_QUEUE_LENGTH:
            if not 1 <= value <= 0x7FFFFFFF:
                return int(E.ERROR_INVALID_PARAMETER)
            queue.length_limit = value
        elif prop == PROP_VERBOSITY:
            if value not in (0, 1, 2):
                return int(E.ERROR_INVALID_PARAMETER)
            queue.verbosity = Verbosity503(value)
        elif prop == PROP_STATE:
            if value not in (0, 1):
                return int(E.ERROR_INVALID_PARAMETER)
            queue.enabled = value == 0
        else:
            return int(E.ERROR_INVALID_PARAMETER)
        return OK

    def query_queue_property(self, handle_id: int, prop: int) -> tuple[int, object]:
        handle = self._handle(handle_id)
        if handle is None:
            return int(E.ERROR_INVALID_HANDLE), None
        queue = handle.queue
        if queue.v1:
            return int(E.ERROR_NOT_SUPPORTED), None
        if prop == PROP_QUEUE_LENGTH:
            return OK, queue.length_limit
        if prop == PROP_VERBOSITY:
            return OK, int(queue.verbosity)
        if prop == PROP_STATE:
            return OK, 0 if queue.enabled else 1
        return int(E.ERROR_INVALID_PARAMETER), None

    @_state_change
    def add_url_v1(self, handle_id: int, url: str) -> int:
        group = self.v1_group(handle_id)
        if group is None:
            handle = self._handle(handle_id)
            return int(E.ERROR_INVALID_HANDLE if handle is None else E.ERROR_INVALID_PARAMETER)
        return self.add_url(group.group_id, url, 0)

    @_state_change
    def remove_url_v1(self, handle_id: int, url: str) -> int:
        group = self.v1_group(handle_id)
        if group is None:
            handle = self._handle(handle_id)
            return int(E.ERROR_INVALID_HANDLE if handle is None else E.ERROR_INVALID_PARAMETER)
        return self.remove_url(group.group_id, url, False)

    def statistics(self) -> dict[str, int]:
        out = dict(self.stats)
        out["connections"] = len(self.connections)
        out["requests_in_flight"] = len(self.requests)
        out["listeners"] = len(self.listeners)
        out["queued"] = sum(len(q.discipline.waiting) for q in self.queues.values())
        if self._response_cache is not None:
            out.update(self._response_cache.stats())
        if isinstance(self._logs, LogManager):
            out.update(self._logs.stats())
        return out

    # ================================================================ fragment cache
    @_state_change
    def add_fragment(self, handle_id: int, name: str, data: bytes, policy: int, seconds: int) -> int:
        handle = self._handle(handle_id)
        if handle is None:
            return int(E.ERROR_INVALID_HANDLE)
        try:
            prefix = parse_url_prefix(name if name.endswith("/") else name + "/")
        except InvalidUrlPrefix:
            return int(E.ERROR_INVALID_PARAMETER)
        if not self._name_under_queue(handle, prefix.port, prefix.path):
            return int(E.ERROR_INVALID_PARAMETER)
        if not self.fragments.add(name, data, handle.queue.queue_id, policy, seconds, self.clock()):
            return int(E.ERROR_ACCESS_DENIED)
        return OK

    def _name_under_queue(self, handle: QueueHandle, port: int, path: str) -> bool:
        for prefix, registration in self.routing.entries():
            group = self.groups.get(registration.group_id)
            if group is None or group.queue_id != handle.queue.queue_id or prefix.port != port:
                continue
            if path.startswith(prefix.path):
                return True
        return False

    def read_fragment(self, handle_id: int, name: str) -> tuple[int, bytes]:
        handle = self._handle(handle_id)
        if handle is None:
            return int(E.ERROR_INVALID_HANDLE), b""
        data = self.fragments.get(name, self.clock())
        if data is None:
            return int(E.ERROR_PATH_NOT_FOUND), b""
        return OK, data

    @_state_change
    def flush_cache(self, handle_id: int, prefix: str, recursive: bool) -> int:
        handle = self._handle(handle_id)
        if handle is None:
            return int(E.ERROR_INVALID_HANDLE)
        self.fragments.flush(prefix, recursive, owner=handle.queue.queue_id)
        if self._response_cache is not None:
            self._response_cache.flush(prefix, recursive)
        return OK

    def _scavenge(self) -> None:
        """UriScavengerPeriod: drop cache entries not hit for a period (re-armed while entries remain)."""
        self._scavenger = None
        now = self.clock()
        self.fragments.scavenge(now)
        cache = self._response_cache
        if cache is not None and len(cache):
            cache.scavenge(now)
            if len(cache):
                self._scavenger = self.loop.call_later(self.settings.uri_scavenger_period, self._scavenge)

    # ================================================================ shutdown
    @_state_change
    def close_all(self) -> None:
        for handle_id in list(self.handles):
            self.close_request_queue(handle_id)
        for listener in list(self.listeners.values()):
            listener.close()
        self.listeners.clear()
        for conn in list(self.connections.values()):
            if conn.transport is not None:
                conn.transport.abort()
        if self._wakeup is not None:
            self._wakeup.cancel()
            self._wakeup = None
        if self._scavenger is not None:
            self._scavenger.cancel()
            self._scavenger = None
        if self._logs is not None:
            self._logs.close()  # writes every queued line, then joins the writer thread


_CookKey = tuple[bytes, "bytes | None", int, str, str]
_COOK_MEMO_SIZE = 4096  # entries; all dropped when full
_COOK_MEMO_MAX_URL = 1024  # longer targets are cooked every time


def _max_connections_from_rlimit() -> int:
    """A global connection cap below RLIMIT_NOFILE, with headroom for files, logs and listeners."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(64, soft - 256)


def _host_port(cooked_host: str, scheme: str) -> int:
    """The port a cooked host names (`host:port`, `[v6]:port`), or the scheme's default."""
    head, sep, tail = cooked_host.rpartition(":")
    if sep and tail.isdigit() and (not head.startswith("[") or head.endswith("]")):
        return int(tail)
    return 443 if scheme == "https" else 80


def _declares_length(spec: ResponseSpec) -> bool:
    if spec.known.get(_CL_ID) or spec.known.get(_TE_ID):
        return True
    return any(n.lower() in (b"content-length", b"transfer-encoding") for n, _v in spec.unknown)


def _frame_chunks(segments: list[Segment], total: int) -> list[Segment]:
    """AUTOMATIC_CHUNKING: one chunk per call carrying all of its bytes."""
    if not total:
        return []
    return [chunk_frame(total), *segments, CHUNK_END]


def _slice_segments(segments: list[Segment], start: int, end: int) -> list[Segment]:
    """The bytes [start, end) of the entity made of `segments`, as segments (file regions stay zero-copy)."""
    out: list[Segment] = []
    pos = 0
    for seg in segments:
        size = seg.count if isinstance(seg, FileRegion) else len(seg)
        lo = max(start, pos)
        hi = min(end, pos + size)
        if lo < hi:
            if isinstance(seg, FileRegion):
                out.append(FileRegion(seg.fd, seg.offset + (lo - pos), hi - lo))
            else:
                out.append(seg[lo - pos : hi - pos])
        pos += size
        if pos >= end:
            break
    return out


def _entity_bytes(segments: list[Segment], length: int) -> bytes | None:
    """The entity made of `segments` as bytes, file regions read with pread; None when a file cannot be read or
    is shorter than its region (changed while it was being sent): such a response is not cached."""
    parts: list[bytes] = []
    for seg in segments:
        if not isinstance(seg, FileRegion):
            parts.append(bytes(seg))
            continue
        offset, left = seg.offset, seg.count
        while left > 0:
            try:
                piece = os.pread(seg.fd, left, offset)
            except OSError:
                return None
            if not piece:
                return None
            parts.append(piece)
            offset += len(piece)
            left -= len(piece)
    body = b"".join(parts)
    return body if len(body) == length else None
