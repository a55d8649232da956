"""Request delivery: from a parsed request to the receive that takes it, and the receives themselves.

Responsibility: what HTTP.sys does with a request once its head is parsed and until the application has it —
cook its URL, route it, refuse it with a canned answer (404, 503) or let the response cache answer it, offer it
to its request queue (a waiting receive takes it, or it waits under the RequestQueue timer), assign its
RequestId; and the receives: HttpReceiveHttpRequest, HttpReceiveRequestEntityBody, HttpWaitForDisconnect,
HttpWaitForDemandStart, HttpCancelHttpRequest, a connection losing its requests. It owns the table of delivered
requests by RequestId. It must not write responses (the send path does) nor change the object model (the
registry does); it runs on the driver's loop like every room of the driver (decision 0010).
"""

from __future__ import annotations

import functools
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from httpsys._core.canned import CannedResponse, RequestRejected
from httpsys._core.canonical import CookedUrl, cook_url
from httpsys._core.known_headers import split_request_headers
from httpsys._core.layout import FIXED_V1, request_buffer_size
from httpsys._core.objects import Offer, RequestQueueRecord
from httpsys._core.records import RequestSnapshot
from httpsys._core.routing import RouteMatch, RouteMiss, RouteResult
from httpsys._core.status import Win32Error
from httpsys._core.timers import TimerEntry, TimerKind
from httpsys._core.verbosity import Verbosity503
from httpsys._core.verbs import VERB_UNKNOWN, verb_id
from httpsys._engine.http2 import AnyChannel
from httpsys._engine.http11 import Http11Connection
from httpsys._engine.registry import PendingOp, QueueHandle, Registration, Registry, op_done
from httpsys._engine.request import BodyRead, Request
from httpsys._engine.request_properties import query_request_property
from httpsys._engine.tls import tls_request_info_bytes

if TYPE_CHECKING:
    from httpsys._engine.driver import Driver

E = Win32Error
OK = int(E.NO_ERROR)

RECEIVE_COPY_BODY = 0x1
RECEIVE_FLUSH_BODY = 0x2
REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS = 0x1
REQUEST_PROPERTY_STREAM_ERROR = 5  # HttpRequestPropertyStreamError
REQUEST_FLAG_HTTP2 = 0x4  # HTTP_REQUEST_FLAG_HTTP2: the request arrived on an HTTP/2 stream

DEFAULT_COPY_BODY = 64 * 1024


def _cancel_read(request: Request, read: BodyRead) -> None:
    """The cancel routine of a pending HttpReceiveRequestEntityBody."""
    request.cancel_read(read)


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


class Delivery:
    """Routing, queue delivery and the receives of one driver; the table of delivered requests."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.requests: dict[int, Request] = {}
        # cooked request targets by (raw URL, Host, local port, local IP, scheme); settings are fixed per driver
        self._cooked: dict[_CookKey, tuple[CookedUrl, str, str | None]] = {}

    # ================================================================ requests that lose their connection
    def request_lost(self, request: Request) -> None:
        """The connection carrying `request` is gone."""
        if request.request_id:
            self.requests.pop(request.request_id, None)
            handle = self.driver.registry.handles.get(request.handle_id or 0)
            if handle is not None:
                handle.requests.discard(request.request_id)
        if not request.delivered:
            self.withdraw(request)
        conn: AnyChannel = request.channel  # type: ignore[assignment]
        if request.delivered and not request.response_done and not conn.reset_by_driver:
            self.driver.counters.log_error(conn, request, 0, "Connection_Dropped")

    def withdraw(self, request: Request) -> None:
        """Take a routed request out of its queue before delivery."""
        if request.queue_id is not None:
            queue = self.driver.registry.queues.get(request.queue_id)
            if queue is not None:
                queue.discipline.withdraw(request)
                if not queue.discipline.waiting and queue.queue_timer is not None:
                    self.stop_queue_timer(queue)

    # ================================================================ routing and delivery
    def dispatch(self, request: Request) -> None:
        """A request reached the front of its connection: route it and offer it to its queue."""
        conn: AnyChannel = request.channel  # type: ignore[assignment]
        driver = self.driver
        registry = driver.registry
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
        result = registry.routing.route(conn.port, route_host, cooked.abs_path, local_ip)
        if len(registry.reservations) and _reserved(
            registry, result, conn.port, route_host, cooked.abs_path, local_ip
        ):
            # the best match is a reservation under which nothing is registered
            conn.write_canned(CannedResponse.BAD_REQUEST, None)
            return
        if not isinstance(result, RouteMatch):
            kind = (
                CannedResponse.INVALID_HOSTNAME
                if result is RouteMiss.INVALID_HOSTNAME
                else CannedResponse.NOT_FOUND
            )
            conn.write_canned(kind, None)
            return
        registration = result.target
        group = registry.groups.get(registration.group_id)
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
            draining = self.driver.ports.draining_sessions
            session = group.session
            if draining and session is not None and session.session_id in draining:
                conn.drain()  # a connection reaching a draining site: this request is its last
            limit = group.effective_max_connections()
            if limit is not None and group.connections > limit:
                bound = registry.queues.get(group.queue_id) if group.queue_id is not None else None
                self._unavailable(conn, request, bound, "ConnLimit")
                return
        queue = registry.queues.get(group.queue_id) if group.queue_id is not None else None
        if queue is None:
            self._unavailable(conn, request, None, "N/A")
            return
        if not group.effective_enabled():
            self._unavailable(conn, request, queue, "Disabled")
            return
        cache = driver.caches.response_cache
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
                driver.clock(),
                driver.date(),
                local_port=conn.port,
            )
            if hit is not None:
                driver.caches.serve_cached(conn, request, hit, cache)
                return
        request.arrived = driver.clock()
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
                queue.queue_timer = driver.arm_timer_at(deadline, TimerKind.REQUEST_QUEUE, queue)
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
            settings=self.driver.settings.url,
        )
        route_host = host_name if _host_port(cooked.host, scheme) == port else None
        entry = (cooked, host_name, route_host)
        if len(raw_url) <= _COOK_MEMO_MAX_URL and (host_header is None or len(host_header) <= 255):
            memo = self._cooked
            if len(memo) >= _COOK_MEMO_SIZE:
                memo.clear()
            memo[key] = entry
        return entry

    def _unavailable(
        self, conn: AnyChannel, request: Request, queue: RequestQueueRecord | None, reason: str
    ) -> None:
        verbosity = queue.verbosity if queue is not None else self.driver.settings.default_503_verbosity
        if verbosity is Verbosity503.BASIC:
            self.driver.counters.log_error(conn, request, 0, reason)
            conn.reset()
        else:
            conn.write_canned(CannedResponse.SERVICE_UNAVAILABLE, reason)

    def stop_queue_timer(self, queue: RequestQueueRecord) -> None:
        timer = queue.queue_timer
        queue.queue_timer = None
        if timer is not None:
            timer.cancel()

    def request_queue_expired(self, queue: RequestQueueRecord, entry: TimerEntry[Any]) -> None:
        """The queue's RequestQueue timer: reset the connections of the requests that waited too long, and
        re-arm for the earliest deadline of those still waiting."""
        if queue.queue_timer is not entry:
            return
        queue.queue_timer = None
        now = self.driver.clock()
        waiting = queue.discipline.waiting
        expired = [r for r in waiting if r.queue_deadline <= now]  # type: ignore[attr-defined]
        for request in expired:
            assert isinstance(request, Request)
            queue.discipline.withdraw(request)
            conn: AnyChannel = request.channel  # type: ignore[assignment]
            if conn.closed:
                continue
            self.driver.counters.log_error(conn, request, 0, TimerKind.REQUEST_QUEUE.httperr_reason)
            conn.reset()
        if waiting:
            deadline = min(r.queue_deadline for r in waiting)  # type: ignore[attr-defined]
            queue.queue_timer = self.driver.arm_timer_at(deadline, TimerKind.REQUEST_QUEUE, queue)

    def _deliver(self, request: Request, receive: ReceiveOp) -> None:
        op = receive.op
        if op is not None:
            receive.op = None
            op_done(op)
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
        driver = self.driver
        driver.last_id += 2
        request.request_id = request_id = driver.last_id
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
            (
                REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS
                if request.body_buffered or not request.body_complete
                else 0
            )
            | (REQUEST_FLAG_HTTP2 if request.version[0] == 2 else 0),
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
            conn.connection_id if conn.tls_extra is not None else 0,  # RawConnectionId: the TLS connection's
            conn.tls_extra,  # {"tls": TlsFacts.as_dict()} on a TLS connection (decision 0021), else None
        )

    def required_size(self, request: Request, v2: bool, entity_len: int) -> int:
        tls = request.channel.tls_extra
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
            request_info_bytes=0 if tls is None else tls_request_info_bytes(tls, v2),
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

    # ================================================================ receives
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
        handle = self.driver.registry.handle(handle_id)
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
                self.stop_queue_timer(queue)  # the queue drained: no RequestQueue timer until one waits again
            if not waiting.channel.closed:
                self._hand_over(waiting, handle, flags, buffer_length, v2, done)
                return None
            waiting = discipline.take()
        receive = ReceiveOp(handle, flags, buffer_length, v2, done)

        def cancel() -> None:
            if queue.discipline.unpark(receive):
                done(int(E.ERROR_OPERATION_ABORTED), None, 0)

        receive.op = self.driver.registry.register_op(handle, token, cancel)
        queue.discipline.park(receive)

    def live_request(self, handle_id: int, request_id: int) -> tuple[int, Request | None]:
        handle = self.driver.registry.handle(handle_id)
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
        code, request = self.live_request(handle_id, request_id)
        if request is None:
            done(code, b"")
            return None
        if request.response_done and not request.opaque:
            done(int(E.ERROR_CONNECTION_INVALID), b"")
            return None
        if max_len <= 0:
            done(int(E.ERROR_INVALID_PARAMETER), b"")
            return None
        handle = self.driver.registry.handles[handle_id]
        holder: list[PendingOp] = []

        def finished(code: int, data: bytes) -> None:
            if holder:
                op_done(holder.pop())
            done(code, data)

        read = BodyRead(max_len, fill, finished)
        request.read_body(read)
        if read in request.body_reads:
            # not a closure: compiled, closures share one environment, and `read` in the one `finished` lives
            # in would make a reference cycle of every body read
            cancel = functools.partial(_cancel_read, request, read)
            holder.append(self.driver.registry.register_op(handle, token, cancel))

    def cancel_request(self, handle_id: int, request_id: int) -> int:
        """HttpCancelHttpRequest: abort the request and close its connection."""
        code, request = self.live_request(handle_id, request_id)
        if request is None:
            return code
        conn: AnyChannel = request.channel  # type: ignore[assignment]
        self.requests.pop(request_id, None)
        conn.reset()
        return OK

    def delegate_request(
        self, source_id: int, target_id: int, request_id: int, group_id: int, url: str | None
    ) -> int:
        """HttpDelegateRequestEx: move a received request from the source queue to the target queue, as if it had
        been routed there (docs/decisions/0024-delegation-privileges-takeover.md §1).

        The source must have received it, read none of its body and started no response; the source request's
        URL group must name the target queue in its delegation property. The destination URL group is `group_id`
        (bound to the target queue) or, when 0, the one whose registration best matches `url` (the
        DelegateRequestDelegateUrlProperty) or the request's own URL. The source loses the RequestId; the target's
        receive assigns a new one, as for any routed request."""
        registry = self.driver.registry
        source = registry.handle(source_id)
        target = registry.handle(target_id)
        if source is None or target is None:
            return int(E.ERROR_INVALID_HANDLE)
        request = self.requests.get(request_id) if request_id else None
        if request is None or request.handle_id != source_id:
            return int(E.ERROR_CONNECTION_INVALID)
        queue = target.queue
        if queue is source.queue or queue.v1:
            return int(E.ERROR_INVALID_PARAMETER)
        if request.response_started or request.body_taken or request.body_reads or request.opaque:
            return int(E.ERROR_INVALID_PARAMETER)  # it was answered or its body read: it can no longer move
        if not registry.may_delegate(request.group, queue):
            return int(E.ERROR_ACCESS_DENIED)
        cooked = request.cooked
        assert cooked is not None
        found = registry.match_on_queue(queue, url if url is not None else cooked.full_url, group_id)
        if found is None:
            dest = registry.groups.get(group_id) if group_id and url is None else None
            if dest is None or dest.queue_id != queue.queue_id:
                return int(E.ERROR_INVALID_PARAMETER)
            found = (dest, next(iter(dest.urls.values()), 0))
        dest, context = found
        conn: AnyChannel = request.channel  # type: ignore[assignment]
        self.requests.pop(request_id, None)
        source.requests.discard(request_id)
        request.request_id = 0
        request.handle_id = None
        request.delivered = False
        request.group = dest
        request.url_context = context
        request.arrived = self.driver.clock()
        request.queue_id = queue.queue_id
        outcome, receive = queue.discipline.offer(request, queue.enabled)
        if outcome is Offer.DELIVERED:
            assert isinstance(receive, ReceiveOp)
            self._deliver(request, receive)
        elif outcome is Offer.QUEUED:
            deadline = request.queue_deadline = request.arrived + dest.effective_timeouts().request_queue
            timer = queue.queue_timer
            if timer is None or timer.deadline > deadline:
                if timer is not None:
                    timer.cancel()
                queue.queue_timer = self.driver.arm_timer_at(deadline, TimerKind.REQUEST_QUEUE, queue)
        else:  # full or disabled: answered as a request routed there would be
            self._unavailable(conn, request, queue, "QueueFull" if outcome is Offer.FULL else "Disabled")
            return OK
        waiter = queue.demand_start_waiter
        if waiter is not None:
            queue.demand_start_waiter = None
            queue.demand_started = True
            assert callable(waiter)
            waiter(OK)
        return OK

    def set_request_property(self, handle_id: int, request_id: int, prop: int, value: int) -> int:
        """HttpSetRequestProperty. HttpRequestPropertyStreamError: the RFC 9113 code an HTTP/2 stream is reset
        with when the request is cancelled or reset later (ERROR_INVALID_PARAMETER on an HTTP/1.x request: the
        property is not valid for it); any other property: ERROR_INVALID_FUNCTION (spec §6 item 148)."""
        code, request = self.live_request(handle_id, request_id)
        if request is None:
            return code
        if prop != REQUEST_PROPERTY_STREAM_ERROR:
            return int(E.ERROR_INVALID_FUNCTION)
        channel: AnyChannel = request.channel  # type: ignore[assignment]
        if isinstance(channel, Http11Connection) or not 0 <= value <= 0xFFFFFFFF:
            return int(E.ERROR_INVALID_PARAMETER)
        channel.stream_error = value
        return OK

    def query_request_property(self, handle_id: int, request_id: int, prop: int) -> tuple[int, object]:
        """HttpQueryRequestProperty: TCP info (v0, v1), the ideal send backlog and the TLS server name of the
        request's connection (_engine/request_properties.py); other properties ERROR_INVALID_FUNCTION."""
        code, request = self.live_request(handle_id, request_id)
        if request is None:
            return code, None
        return query_request_property(request.channel, prop)

    def wait_disconnect(
        self, handle_id: int, connection_id: int, token: int, done: Callable[[int], None]
    ) -> None:
        """HttpWaitForDisconnect(Ex): complete when the connection closes (at once if already closed)."""
        handle = self.driver.registry.handle(handle_id)
        if handle is None:
            done(int(E.ERROR_INVALID_HANDLE))
            return None
        conn = self.driver.ports.connections.get(connection_id)
        if conn is None or conn.closed:
            done(OK if 0 < connection_id <= self.driver.last_id else int(E.ERROR_CONNECTION_INVALID))
            return None
        fired: list[bool] = []

        def on_close() -> None:
            if not fired:
                fired.append(True)
                op_done(op)
                done(OK)

        def cancel() -> None:
            if not fired:
                fired.append(True)
                try:
                    conn.disconnect_waiters.remove(on_close)
                except ValueError:
                    pass
                done(int(E.ERROR_OPERATION_ABORTED))

        op = self.driver.registry.register_op(handle, token, cancel)
        conn.disconnect_waiters.append(on_close)

    def wait_demand_start(self, handle_id: int, token: int, done: Callable[[int], None]) -> None:
        handle = self.driver.registry.handles.get(handle_id)
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
            op_done(op)
            done(code)

        def cancel() -> None:
            if queue.demand_start_waiter is fire:
                queue.demand_start_waiter = None
                done(int(E.ERROR_OPERATION_ABORTED))

        op = self.driver.registry.register_op(handle, token, cancel)
        queue.demand_start_waiter = fire


_CookKey = tuple[bytes, "bytes | None", int, str, str]
_COOK_MEMO_SIZE = 4096  # entries; all dropped when full
_COOK_MEMO_MAX_URL = 1024  # longer targets are cooked every time


def _reserved(
    registry: Registry,
    result: RouteResult[Registration],
    port: int,
    host: str | None,
    path: str,
    local_ip: str,
) -> bool:
    """Whether a URL reservation is a better match for the request than what is registered (spec §1.4: the first
    host bucket wins, then the longest path; a registration of the same prefix beats its reservation)."""
    reserved = registry.reservations.route(port, host, path, local_ip)
    if not isinstance(reserved, RouteMatch):
        return False
    if not isinstance(result, RouteMatch):
        return True
    mine, theirs = reserved.prefix, result.prefix
    if mine.key == theirs.key:
        return False
    if mine.kind != theirs.kind:
        return int(mine.kind) < int(theirs.kind)
    return len(mine.path) > len(theirs.path)


def _host_port(cooked_host: str, scheme: str) -> int:
    """The port a cooked host names (`host:port`, `[v6]:port`), or the scheme's default."""
    head, sep, tail = cooked_host.rpartition(":")
    if sep and tail.isdigit() and (not head.startswith("[") or head.endswith("]")):
        return int(tail)
    return 443 if scheme == "https" else 80
