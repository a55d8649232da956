"""The driver: the one object through which HTTP.sys's rooms are reached — ports, registry, delivery, sends.

Responsibility: everything HTTP.sys does between the sockets and the request queues, behind the one object the
transport, the connections and the tests call. The driver owns the event loop, the settings, the clocks, the
ids, the timer heap and the canned answers, and hands every other operation to the room that owns its noun
(decision 0010): `listeners.Ports` (listeners and connections), `registry.Registry` (server sessions, URL groups,
request queues and their handles, URLs, properties), `delivery.Delivery` (routing, queue delivery, receives),
`send_path.SendPath` (sends), `caches.Caches` (response and fragment caches), `counters.Counters` (counters,
HTTPERR log, response log lines). It runs on one event loop; every public method here must be called on that
loop's thread (the transport takes care of that). It must not know about faces: it takes and returns plain data
and Win32 codes, never struct objects; and it must not grow a room's logic: a public method here only hands over.

The response cache's fast path (decision 0008): after a keep-alive cache hit for a request that came alone in one
read, the driver remembers its exact bytes, and connections answer those bytes again without handing them here.
So every public method that is not on the data path (`_DATA_PATH`) - anything that can change how the same bytes
are routed or answered - is a `@_state_change` and forgets every remembered request when it returns; a test
requires each public method to be one or the other.
"""

from __future__ import annotations

import asyncio
import functools
import random
import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

from httpsys._core.canned import CannedResponse, format_http_date, render_canned
from httpsys._core.objects import RequestQueueRecord, UrlGroup
from httpsys._core.records import CachePolicy, DataChunk, RequestSnapshot
from httpsys._core.response import ResponseSpec
from httpsys._core.response_cache import ResponseCache
from httpsys._core.settings import DriverSettings
from httpsys._core.timers import DeadlineHeap, TimerEntry, TimerKind
from httpsys._engine.caches import Caches
from httpsys._engine.counters import Counters, LogHook
from httpsys._engine.delivery import Delivery
from httpsys._engine.http2 import AnyConnection, AnyPeer
from httpsys._engine.http11 import Http11Connection
from httpsys._engine.listeners import Listener, Ports
from httpsys._engine.logs import LogManager
from httpsys._engine.registry import QueueHandle, Registry
from httpsys._engine.request import Request
from httpsys._engine.send_path import SendPath
from httpsys._engine.tls import Tls

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
        "read_fragment", "forget_requests", "delegate_request", "find_url_group_id", "open_work",
        "set_request_property", "query_request_property", "receive_client_certificate",
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
        self.clock: Callable[[], float] = clock or loop.time
        self.wall_clock = wall_clock
        self.last_id = random.SystemRandom().randrange(1 << 40, 1 << 56) | 1  # ids are odd and grow by 2
        self.timers: DeadlineHeap[Any] = DeadlineHeap()
        self._wakeup: asyncio.TimerHandle | None = None
        self._wakeup_at = float("inf")
        self._date_second = -1
        self._date = b""
        self._canned_cache: dict[CannedResponse, tuple[int, bytes]] = {}
        # The rooms (decision 0010): each owns the tables of its noun and reaches the others through this driver.
        self.counters = Counters(self)
        self.caches = Caches(self)
        self.registry = Registry(self)
        self.ports = Ports(self, listen_addresses)
        self.delivery = Delivery(self)
        self.send_path = SendPath(self)
        self.tls = Tls(self)
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

    # ================================================================ remembered requests (the fast path)
    @property
    def response_cache(self) -> ResponseCache | None:
        """The response cache (None: UriEnableCache off). Replacing it forgets the old one's remembered
        requests, so no connection answers from it any more."""
        return self.caches.response_cache

    @response_cache.setter
    def response_cache(self, cache: ResponseCache | None) -> None:
        old = self.caches.response_cache
        if old is not None:
            old.forget_requests()
        self.caches.response_cache = cache

    @property
    def logs(self) -> LogHook | None:
        """Response and error logging. Replacing it forgets the remembered requests (they were remembered only
        because no log was configured for them)."""
        return self.counters.logs

    @logs.setter
    def logs(self, logs: LogHook | None) -> None:
        self.forget_requests()
        self.counters.logs = logs

    def forget_requests(self) -> None:
        """Forget every request remembered for the connections' fast path (after every `@_state_change`)."""
        cache = self.caches.response_cache
        if cache is not None:
            cache.forget_requests()

    # ================================================================ the rooms' tables, by their old names
    @property
    def requests(self) -> dict[int, Request]:
        """Delivered requests by RequestId (`Delivery.requests`)."""
        return self.delivery.requests

    @property
    def connections(self) -> dict[int, AnyConnection]:
        """Live connections by ConnectionId (`Ports.connections`)."""
        return self.ports.connections

    @property
    def listeners(self) -> dict[int, Listener]:
        """Listeners by TCP port (`Ports.listeners`)."""
        return self.ports.listeners

    @property
    def queues(self) -> dict[int, RequestQueueRecord]:
        """Request queues by id (`Registry.queues`)."""
        return self.registry.queues

    @property
    def handles(self) -> dict[int, QueueHandle]:
        """Open request queue handles by id (`Registry.handles`)."""
        return self.registry.handles

    @property
    def error_log(self) -> list[Any]:
        """The HTTPERR events kept in memory (`Counters.error_log`)."""
        return self.counters.error_log

    @property
    def error_log_limit(self) -> int:
        """How many HTTPERR events are kept in memory (`Counters.error_log_limit`)."""
        return self.counters.error_log_limit

    @error_log_limit.setter
    def error_log_limit(self, limit: int) -> None:
        self.counters.error_log_limit = limit

    # ================================================================ ids, time, timers
    def next_id(self) -> int:
        self.last_id += 2
        return self.last_id

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
                self.delivery.request_queue_expired(owner, entry)
        nxt = self.timers.next_deadline()
        if nxt is not None:
            self._schedule_wakeup(nxt)

    # ================================================================ counters and the HTTPERR log (Counters)
    def log_error(self, conn: AnyPeer, request: Request | None, status: int, reason: str) -> None:
        self.counters.log_error(conn, request, status, reason)

    def canned_sent(self, conn: AnyPeer, kind: CannedResponse, reason: str | None) -> None:
        self.counters.canned_sent(conn, kind, reason)

    def timer_fired(self, conn: AnyPeer, kind: TimerKind) -> None:
        self.counters.timer_fired(conn, kind)

    def statistics(self) -> dict[str, int]:
        out = self.counters.statistics()
        out.update(self.tls.statistics())
        return out

    # ================================================================ connections (Ports)
    def connection_made(self, conn: AnyConnection) -> bool:
        return self.ports.connection_made(conn)

    def connection_lost(self, conn: AnyConnection) -> None:
        self.ports.connection_lost(conn)

    # ================================================================ routing, delivery, receives (Delivery)
    def request_lost(self, request: Request) -> None:
        self.delivery.request_lost(request)

    def withdraw(self, request: Request) -> None:
        self.delivery.withdraw(request)

    def dispatch(self, request: Request) -> None:
        self.delivery.dispatch(request)

    def snapshot(self, request: Request, entity: bytes = b"") -> RequestSnapshot:
        return self.delivery.snapshot(request, entity)

    def required_size(self, request: Request, v2: bool, entity_len: int) -> int:
        return self.delivery.required_size(request, v2, entity_len)

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
        self.delivery.receive_request(handle_id, request_id, flags, buffer_length, v2, token, done)

    def receive_body(
        self,
        handle_id: int,
        request_id: int,
        max_len: int,
        fill: bool,
        token: int,
        done: Callable[[int, bytes], None],
    ) -> None:
        self.delivery.receive_body(handle_id, request_id, max_len, fill, token, done)

    def cancel_request(self, handle_id: int, request_id: int) -> int:
        return self.delivery.cancel_request(handle_id, request_id)

    def delegate_request(
        self, source_id: int, target_id: int, request_id: int, group_id: int, url: str | None
    ) -> int:
        return self.delivery.delegate_request(source_id, target_id, request_id, group_id, url)

    def find_url_group_id(self, url: str, handle_id: int) -> tuple[int, int]:
        return self.registry.find_url_group_id(url, handle_id)

    def set_request_property(self, handle_id: int, request_id: int, prop: int, value: int) -> int:
        return self.delivery.set_request_property(handle_id, request_id, prop, value)

    def query_request_property(self, handle_id: int, request_id: int, prop: int) -> tuple[int, object]:
        return self.delivery.query_request_property(handle_id, request_id, prop)

    def wait_disconnect(
        self, handle_id: int, connection_id: int, token: int, done: Callable[[int], None]
    ) -> None:
        self.delivery.wait_disconnect(handle_id, connection_id, token, done)

    def wait_demand_start(self, handle_id: int, token: int, done: Callable[[int], None]) -> None:
        self.delivery.wait_demand_start(handle_id, token, done)

    def receive_client_certificate(
        self, handle_id: int, connection_id: int, token: int, done: Callable[[int, bytes, int], None]
    ) -> None:
        """HttpReceiveClientCertificate: `done(code, DER, CertFlags)` with the connection's client certificate,
        asked for on demand (TLS 1.3 post-handshake authentication) when the handshake did not negotiate one."""
        self.tls.receive_client_certificate(handle_id, connection_id, token, done)

    # ================================================================ sends (SendPath)
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
        self.send_path.send_response(
            handle_id, request_id, flags, spec, chunks, cache_policy, log_data, done, token
        )

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
        self.send_path.send_body(handle_id, request_id, flags, chunks, log_data, done, token)

    # ================================================================ object model and properties (Registry)
    @_state_change
    def create_server_session(self, version: tuple[int, int]) -> tuple[int, int]:
        return self.registry.create_server_session(version)

    @_state_change
    def close_server_session(self, session_id: int) -> int:
        return self.registry.close_server_session(session_id)

    @_state_change
    def hand_over_listeners(self) -> list[tuple[int, str, socket.socket]]:
        """Daemon takeover, old side (decision 0024 §3): see Ports."""
        return self.ports.hand_over_listeners()

    @_state_change
    def adopt_listeners(self, sockets: list[tuple[int, str, socket.socket]]) -> None:
        """Daemon takeover, new side: see Ports."""
        self.ports.adopt_listeners(sockets)

    @_state_change
    def drain_connections(self) -> int:
        """After a takeover's grace: drain every connection, also those that never sent a request."""
        return self.ports.drain_connections()

    @_state_change
    def close_inherited(self) -> int:
        return self.ports.close_inherited()

    def open_work(self) -> int:
        """Connections still open plus requests waiting in queues (a daemon that handed over exits at 0)."""
        waiting = sum(len(q.discipline.waiting) for q in self.registry.queues.values())
        return len(self.ports.connections) + waiting

    @_state_change
    def drain_server_session(self, session_id: int) -> tuple[int, int]:
        """Graceful stop of a server session's sites (not an HTTP.sys call; decision 0012): see Ports."""
        return self.ports.drain_server_session(session_id)

    @_state_change
    def create_url_group(self, session_id: int) -> tuple[int, int]:
        return self.registry.create_url_group(session_id)

    @_state_change
    def close_url_group(self, group_id: int) -> int:
        return self.registry.close_url_group(group_id)

    @_state_change
    def add_url(self, group_id: int, url: str, context: int) -> int:
        return self.registry.add_url(group_id, url, context)

    @_state_change
    def remove_url(self, group_id: int, url: str | None, remove_all: bool) -> int:
        return self.registry.remove_url(group_id, url, remove_all)

    @_state_change
    def create_request_queue(self, name: str | None, flags: int, v1: bool = False) -> tuple[int, int]:
        return self.registry.create_request_queue(name, flags, v1)

    def queue_of(self, handle_id: int) -> QueueHandle | None:
        return self.registry.queue_of(handle_id)

    def v1_group(self, handle_id: int) -> UrlGroup | None:
        return self.registry.v1_group(handle_id)

    @_state_change
    def shutdown_request_queue(self, handle_id: int) -> int:
        return self.registry.shutdown_request_queue(handle_id)

    @_state_change
    def close_request_queue(self, handle_id: int) -> int:
        return self.registry.close_request_queue(handle_id)

    @_state_change
    def bind_group(self, group_id: int, handle_id: int | None) -> int:
        return self.registry.bind_group(group_id, handle_id)

    def cancel_io(self, handle_id: int, token: int | None) -> bool:
        return self.registry.cancel_io(handle_id, token)

    @_state_change
    def set_session_property(self, session_id: int, prop: int, value: object) -> int:
        return self.registry.set_session_property(session_id, prop, value)

    def query_session_property(self, session_id: int, prop: int) -> tuple[int, object]:
        return self.registry.query_session_property(session_id, prop)

    @_state_change
    def set_group_property(self, group_id: int, prop: int, value: object) -> int:
        return self.registry.set_group_property(group_id, prop, value)

    def query_group_property(self, group_id: int, prop: int) -> tuple[int, object]:
        return self.registry.query_group_property(group_id, prop)

    @_state_change
    def set_queue_property(self, handle_id: int, prop: int, value: object) -> int:
        return self.registry.set_queue_property(handle_id, prop, value)

    def query_queue_property(self, handle_id: int, prop: int) -> tuple[int, object]:
        return self.registry.query_queue_property(handle_id, prop)

    @_state_change
    def add_url_v1(self, handle_id: int, url: str) -> int:
        return self.registry.add_url_v1(handle_id, url)

    @_state_change
    def remove_url_v1(self, handle_id: int, url: str) -> int:
        return self.registry.remove_url_v1(handle_id, url)

    # ================================================================ fragment cache (Caches)
    @_state_change
    def add_fragment(self, handle_id: int, name: str, data: bytes, policy: int, seconds: int) -> int:
        return self.caches.add_fragment(handle_id, name, data, policy, seconds)

    def read_fragment(self, handle_id: int, name: str) -> tuple[int, bytes]:
        return self.caches.read_fragment(handle_id, name)

    @_state_change
    def flush_cache(self, handle_id: int, prefix: str, recursive: bool) -> int:
        return self.caches.flush_cache(handle_id, prefix, recursive)

    # ================================================================ shutdown
    @_state_change
    def close_all(self) -> None:
        registry = self.registry
        for handle_id in list(registry.handles):
            registry.close_request_queue(handle_id)
        ports = self.ports
        for listener in list(ports.listeners.values()):
            listener.close()
        ports.listeners.clear()
        for conn in list(ports.connections.values()):
            if conn.transport is not None:
                conn.transport.abort()
        if self._wakeup is not None:
            self._wakeup.cancel()
            self._wakeup = None
        caches = self.caches
        if caches.scavenger is not None:
            caches.scavenger.cancel()
            caches.scavenger = None
        logs = self.counters.logs
        if logs is not None:
            logs.close()  # writes every queued line, then joins the writer thread
