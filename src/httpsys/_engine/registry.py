"""The registry: server sessions, URL groups, request queues and their handles, URL registrations, properties.

Responsibility: HTTP.sys's object model — create and close server sessions, URL groups and request queues (and
the handles that open a queue), register and remove URL prefixes in the routing table (asking the listeners to
open or close a port), bind groups to queues, set and query the properties of each object, and keep each
handle's pending operations for CancelIo(Ex). It must not touch sockets or parse anything, and it never
delivers or answers a request itself: closing a queue resets the connections of its requests through the
connection object (decision 0010).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from httpsys._core.objects import DEFAULT_QUEUE_LENGTH, RequestQueueRecord, ServerSession, UrlGroup
from httpsys._core.routing import PrefixConflict, RoutingTable
from httpsys._core.status import Win32Error
from httpsys._core.timers import TimeoutLimits
from httpsys._core.urlprefix import InvalidUrlPrefix, UrlPrefix, parse_url_prefix
from httpsys._core.verbosity import Verbosity503
from httpsys._engine.http2 import AnyChannel
from httpsys._engine.request import Request

if TYPE_CHECKING:
    from httpsys._engine.driver import Driver

E = Win32Error
OK = int(E.NO_ERROR)

CREATE_QUEUE_OPEN_EXISTING = 0x1
CREATE_QUEUE_CONTROLLER = 0x2

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


def op_done(op: PendingOp) -> None:
    """An operation completed or was cancelled: forget it, and drop its cancel closure, which references what
    references the op - no reference cycle is left behind for the garbage collector, per operation."""
    op.handle.pending.pop(op.token, None)
    op.cancel = _no_cancel


class PendingOp:
    """An asynchronous operation the driver has not completed yet (cancellable by CancelIo/CancelIoEx)."""

    __slots__ = ("cancel", "handle", "token")

    def __init__(self, handle: QueueHandle, token: int, cancel: Callable[[], None]) -> None:
        self.handle = handle
        self.token = token
        self.cancel = cancel


class Registry:
    """The object model of one driver: its sessions, URL groups, request queues, queue handles and routing table."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.sessions: dict[int, ServerSession] = {}
        self.groups: dict[int, UrlGroup] = {}
        self.queues: dict[int, RequestQueueRecord] = {}
        self.queue_names: dict[str, RequestQueueRecord] = {}
        self.handles: dict[int, QueueHandle] = {}
        self.routing: RoutingTable[Registration] = RoutingTable()
        # URL reservations (the stored URL ACLs): a request whose best match is one of these rather than a
        # registration is answered 400 (spec §6 item 57; decision 0020). The target is unused.
        self.reservations: RoutingTable[int] = RoutingTable()

    def set_reservations(self, urls: list[str]) -> None:
        """Replace the URL reservations taking part in routing (from the configuration store)."""
        table: RoutingTable[int] = RoutingTable()
        for url in urls:
            try:
                table.add(parse_url_prefix(url), 0)
            except (InvalidUrlPrefix, PrefixConflict):
                continue
        self.reservations = table

    # ================================================================ sessions, groups, URLs
    def create_server_session(self, version: tuple[int, int]) -> tuple[int, int]:
        if version not in ((1, 0), (2, 0)):
            return int(E.ERROR_REVISION_MISMATCH), 0
        sid = self.driver.next_id()
        self.sessions[sid] = ServerSession(session_id=sid, version=version)
        return OK, sid

    def close_server_session(self, session_id: int) -> int:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return int(E.ERROR_INVALID_PARAMETER)
        self.driver.ports.draining_sessions.pop(session_id, None)
        for gid in list(session.groups):
            self.close_url_group(gid)
        logs = self.driver.logs
        if logs is not None:
            logs.configure(("session", session_id), None)  # its log directory may be claimed again
        return OK

    def create_url_group(self, session_id: int) -> tuple[int, int]:
        session = self.sessions.get(session_id)
        if session is None:
            return int(E.ERROR_INVALID_PARAMETER), 0
        gid = self.driver.next_id()
        self.groups[gid] = UrlGroup(group_id=gid, session=session)
        session.groups.add(gid)
        return OK, gid

    def close_url_group(self, group_id: int) -> int:
        group = self.groups.pop(group_id, None)
        if group is None:
            return int(E.ERROR_INVALID_PARAMETER)
        if group.session is not None:
            group.session.groups.discard(group_id)
        removed = self.routing.remove_where(lambda reg: reg.group_id == group_id)
        cache = self.driver.caches.response_cache
        for prefix in removed:
            self.driver.ports.maybe_close_listener(prefix.port)
            if cache is not None:  # as when each URL is removed: no entry outlives its registration
                cache.flush(prefix.original, True)
        group.urls.clear()
        logs = self.driver.logs
        if logs is not None:
            logs.configure(("group", group_id), None)  # its log directory may be claimed again
        return OK

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
        code = self.driver.ports.ensure_listener(prefix.port, prefix.scheme)
        if code != OK:
            self.routing.remove(prefix.original)
            return code
        group.urls[prefix.original] = context
        return OK

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
            self.driver.ports.maybe_close_listener(prefix.port)
            cache = self.driver.caches.response_cache
            if cache is not None:
                cache.flush(original, True)
        group.urls.pop(original, None)

    # ================================================================ delegation (HttpFindUrlGroupId)
    def find_url_group_id(self, url: str, handle_id: int) -> tuple[int, int]:
        """HttpFindUrlGroupId: the URL group bound to the handle's queue whose registration best matches `url`."""
        handle = self.handle(handle_id)
        if handle is None:
            return int(E.ERROR_INVALID_HANDLE), 0
        found = self.match_on_queue(handle.queue, url, 0)
        if found is None:
            return int(
                E.ERROR_INVALID_PARAMETER if _parse_full_url(url) is None else E.ERROR_FILE_NOT_FOUND
            ), 0
        return OK, found[0].group_id

    def match_on_queue(
        self, queue: RequestQueueRecord, url: str, group_id: int
    ) -> tuple[UrlGroup, int] | None:
        """The group bound to `queue` (only `group_id` when non-zero) and the UrlContext of its registration with
        the longest path that `url` falls under (same scheme and port; host equal or a wildcard), or None."""
        target = _parse_full_url(url)
        if target is None:
            return None
        best: tuple[UrlGroup, int] | None = None
        best_len = -1
        for group in self.groups.values():
            if group.queue_id != queue.queue_id or (group_id and group.group_id != group_id):
                continue
            for original, context in group.urls.items():
                try:
                    prefix = parse_url_prefix(original)
                except InvalidUrlPrefix:
                    continue
                if (
                    prefix.scheme == target.scheme
                    and prefix.port == target.port
                    and (prefix.host in ("+", "*") or prefix.host == target.host)
                    and target.path.startswith(prefix.path)
                    and len(prefix.path) > best_len
                ):
                    best, best_len = (group, context), len(prefix.path)
        return best

    # ================================================================ request queues and their handles
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
        queue = RequestQueueRecord(queue_id=self.driver.next_id(), name=name, v1=v1)
        queue.controller = bool(flags & CREATE_QUEUE_CONTROLLER)
        queue.length_limit = DEFAULT_QUEUE_LENGTH
        self.queues[queue.queue_id] = queue
        if name is not None:
            self.queue_names[name.lower()] = queue
        handle_id = self._open_handle(queue, creator=True)
        if v1:
            gid = self.driver.next_id()
            self.groups[gid] = UrlGroup(group_id=gid, queue_id=queue.queue_id, v1=True)
            queue.stored[-1] = gid
        return OK, handle_id

    def _open_handle(self, queue: RequestQueueRecord, creator: bool) -> int:
        handle_id = self.driver.next_id()
        self.handles[handle_id] = QueueHandle(handle_id, queue, creator)
        queue.handles.add(handle_id)
        return handle_id

    def queue_of(self, handle_id: int) -> QueueHandle | None:
        return self.handle(handle_id)

    def v1_group(self, handle_id: int) -> UrlGroup | None:
        handle = self.handle(handle_id)
        if handle is None or not handle.queue.v1:
            return None
        gid = handle.queue.stored.get(-1)
        return self.groups.get(gid) if isinstance(gid, int) else None

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
        requests = self.driver.delivery.requests
        for request_id in list(handle.requests):
            request = requests.get(request_id)
            if request is not None and not request.response_started:
                requests.pop(request_id, None)
                handle.requests.discard(request_id)
                conn: AnyChannel = request.channel  # type: ignore[assignment]
                self.driver.counters.log_error(conn, request, 0, "Connection_Abandoned_By_ReqQueue")
                conn.reset()
        return OK

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
            request = self.driver.delivery.requests.pop(request_id, None)
            if request is not None and not request.response_done:
                conn: AnyChannel = request.channel  # type: ignore[assignment]
                self.driver.counters.log_error(conn, request, 0, "Connection_Abandoned_By_ReqQueue")
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
        # only this queue could flush or overwrite its fragments
        self.driver.caches.fragments.drop_owner(queue.queue_id)
        if queue.name is not None:
            self.queue_names.pop(queue.name.lower(), None)
        while True:
            waiting = queue.discipline.take()
            if waiting is None:
                break
            assert isinstance(waiting, Request)
            conn: AnyChannel = waiting.channel  # type: ignore[assignment]
            self.driver.counters.log_error(conn, waiting, 0, "Connection_Abandoned_By_ReqQueue")
            conn.reset()
        if queue.queue_timer is not None:
            self.driver.delivery.stop_queue_timer(queue)
        for group in list(self.groups.values()):
            if group.queue_id == queue.queue_id:
                if group.v1:
                    self.close_url_group(group.group_id)
                else:
                    group.queue_id = None

    def bind_group(self, group_id: int, handle_id: int | None) -> int:
        group = self.groups.get(group_id)
        if group is None:
            return int(E.ERROR_INVALID_PARAMETER)
        if handle_id is None:
            group.queue_id = None
            group.stored.pop(PROP_BINDING, None)
            return OK
        handle = self.handle(handle_id)
        if handle is None:
            return int(E.ERROR_INVALID_PARAMETER)
        group.queue_id = handle.queue.queue_id
        group.stored[PROP_BINDING] = handle_id  # what a query returns
        return OK

    def handle(self, handle_id: int) -> QueueHandle | None:
        handle = self.handles.get(handle_id)
        if handle is None or handle.closed:
            return None
        return handle

    def register_op(self, handle: QueueHandle, token: int, cancel: Callable[[], None]) -> PendingOp:
        op = PendingOp(handle, token or self.driver.next_id(), cancel)
        handle.pending[op.token] = op
        return op

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

    # ================================================================ properties
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

    def set_group_property(self, group_id: int, prop: int, value: object) -> int:
        group = self.groups.get(group_id)
        if group is None or group.v1 or prop not in GROUP_SETTABLE:
            return int(E.ERROR_INVALID_PARAMETER)
        if prop == PROP_BINDING:
            if value is not None and not isinstance(value, int):
                return int(E.ERROR_INVALID_PARAMETER)
            return self.bind_group(group_id, value)
        if prop == PROP_DELEGATION:
            return self._set_delegation(group, value)
        return self._set_common(group, prop, value)

    def _set_delegation(self, group: UrlGroup, value: object) -> int:
        """HttpServerDelegationProperty: (present, queue handle) adds that handle's queue to the queues this
        group's requests may be delegated to; (False, handle) removes it (HTTP_BINDING_INFO with Present 0)."""
        if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], bool)):
            return int(E.ERROR_INVALID_PARAMETER)
        present, handle_id = value
        handle = self.handle(handle_id) if isinstance(handle_id, int) else None
        if handle is None:
            return int(E.ERROR_INVALID_PARAMETER)
        targets = group.stored.get(PROP_DELEGATION)
        queues: set[int] = set(targets) if isinstance(targets, frozenset) else set()
        if present:
            queues.add(handle.queue.queue_id)
        else:
            queues.discard(handle.queue.queue_id)
        group.stored[PROP_DELEGATION] = frozenset(queues)
        return OK

    def may_delegate(self, group: UrlGroup | None, queue: RequestQueueRecord) -> bool:
        """Whether `group`'s delegation property names `queue`."""
        if group is None:
            return False
        targets = group.stored.get(PROP_DELEGATION)
        return isinstance(targets, frozenset) and queue.queue_id in targets

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
            logs = self.driver.counters.logs
            if logs is None:
                obj.stored[prop] = value
                return OK
            owner = ("session", obj.session_id) if isinstance(obj, ServerSession) else ("group", obj.group_id)
            code = logs.configure(owner, value)
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

    def set_queue_property(self, handle_id: int, prop: int, value: object) -> int:
        handle = self.handle(handle_id)
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
        handle = self.handle(handle_id)
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

    def add_url_v1(self, handle_id: int, url: str) -> int:
        group = self.v1_group(handle_id)
        if group is None:
            handle = self.handle(handle_id)
            return int(E.ERROR_INVALID_HANDLE if handle is None else E.ERROR_INVALID_PARAMETER)
        return self.add_url(group.group_id, url, 0)

    def remove_url_v1(self, handle_id: int, url: str) -> int:
        group = self.v1_group(handle_id)
        if group is None:
            handle = self.handle(handle_id)
            return int(E.ERROR_INVALID_HANDLE if handle is None else E.ERROR_INVALID_PARAMETER)
        return self.remove_url(group.group_id, url, False)


def _parse_full_url(url: str) -> UrlPrefix | None:
    """A fully qualified URL parsed as a prefix would be (its path closed with '/'), or None when malformed."""
    if not isinstance(url, str) or not url:
        return None
    text = url if url.endswith("/") else url + "/"
    try:
        return parse_url_prefix(text)
    except InvalidUrlPrefix:
        return None
