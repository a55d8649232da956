"""Records of the HTTP Server API object model: server sessions, URL groups, request queues and their properties.

Responsibility: what each object holds, how a URL group's properties override its server session's, and the
queue discipline (pending receives against waiting requests, the queue-length limit). It must not do I/O: the
engine owns connections and listeners and asks these records what to do.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Generic, TypeVar

from httpsys._core.timers import TimeoutLimits, TimerEntry
from httpsys._core.verbosity import Verbosity503

R = TypeVar("R")  # a pending receive
Q = TypeVar("Q")  # a request waiting in a queue

DEFAULT_QUEUE_LENGTH = 1000
MIN_QUEUE_LENGTH = 1
MAX_QUEUE_LENGTH = 0x7FFFFFFF
LIMIT_INFINITE = 0xFFFFFFFF


@dataclass
class QosSettings:
    """Bandwidth and connection limits (HTTP_QOS_SETTING_INFO); None means not set on this object."""

    max_bandwidth: int | None = None
    max_connections: int | None = None


@dataclass
class ConfigurableObject:
    """Properties shared by server sessions and URL groups; unset values fall back to the level above."""

    enabled: bool = True
    timeouts: TimeoutLimits = field(default_factory=TimeoutLimits)
    qos: QosSettings = field(default_factory=QosSettings)
    # Properties stored and returned as given (plain data records built by the face).
    stored: dict[int, object] = field(default_factory=dict)


@dataclass
class ServerSession(ConfigurableObject):
    session_id: int = 0
    version: tuple[int, int] = (2, 0)
    groups: set[int] = field(default_factory=set)


@dataclass
class UrlGroup(ConfigurableObject):
    group_id: int = 0
    session: ServerSession | None = None
    queue_id: int | None = None  # the bound request queue, if any
    urls: dict[str, int] = field(default_factory=dict)  # original prefix string -> UrlContext
    v1: bool = False  # the hidden group behind a v1 HttpAddUrl registration
    connections: int = 0  # live connections whose last request was routed here (for ConnectionLimit)
    _effective: TimeoutLimits | None = None  # cache of effective_timeouts(), cleared by invalidate()

    def effective_timeouts(self) -> TimeoutLimits:
        """This group's timers over its session's over the defaults (cached; read on every request)."""
        cached = self._effective
        if cached is None:
            base = self.session.timeouts if self.session is not None else TimeoutLimits()
            cached = self._effective = self.timeouts.over(base).with_defaults()
        return cached

    def invalidate(self) -> None:
        """Forget cached effective values after this group's or its session's properties change."""
        self._effective = None

    def header_wait_seconds(self) -> int:
        """HeaderWait set on this group, else on its session; 0 when neither sets it (the driver-wide value
        applies then, not 120 s)."""
        seconds = self.timeouts.header_wait
        if not seconds and self.session is not None:
            seconds = self.session.timeouts.header_wait
        return int(seconds)

    def idle_connection_seconds(self) -> int:
        """IdleConnection set on this group, else on its session; 0 when neither sets it (driver-wide value)."""
        seconds = self.timeouts.idle_connection
        if not seconds and self.session is not None:
            seconds = self.session.timeouts.idle_connection
        return int(seconds)

    def effective_enabled(self) -> bool:
        return self.enabled and (self.session is None or self.session.enabled)

    def effective_max_connections(self) -> int | None:
        limit = self.qos.max_connections
        if limit is None or limit == LIMIT_INFINITE:
            return None
        return limit

    def effective_max_bandwidth(self) -> int | None:
        value = self.qos.max_bandwidth
        if value is None and self.session is not None:
            value = self.session.qos.max_bandwidth
        if value is None or value == LIMIT_INFINITE:
            return None
        return value


class Offer(IntEnum):
    """Outcome of offering a routed request to a queue."""

    DELIVERED = 0  # a pending receive took it
    QUEUED = 1  # it waits for a receive
    FULL = 2  # the queue is at its length limit: 503 QueueFull
    DISABLED = 3  # the queue is inactive: 503 Disabled


class QueueDiscipline(Generic[R, Q]):
    """FIFO matching of pending receives and waiting requests, bounded by the queue length."""

    __slots__ = ("length_limit", "receives", "waiting")

    def __init__(self, length_limit: int = DEFAULT_QUEUE_LENGTH) -> None:
        self.length_limit = length_limit
        self.receives: deque[R] = deque()
        self.waiting: deque[Q] = deque()

    def offer(self, request: Q, enabled: bool = True) -> tuple[Offer, R | None]:
        if not enabled:
            return Offer.DISABLED, None
        if self.receives:
            return Offer.DELIVERED, self.receives.popleft()
        if len(self.waiting) >= self.length_limit:
            return Offer.FULL, None
        self.waiting.append(request)
        return Offer.QUEUED, None

    def take(self) -> Q | None:
        """The oldest waiting request, or None."""
        return self.waiting.popleft() if self.waiting else None

    def park(self, receive: R) -> None:
        self.receives.append(receive)

    def unpark(self, receive: R) -> bool:
        try:
            self.receives.remove(receive)
        except ValueError:
            return False
        return True

    def withdraw(self, request: Q) -> bool:
        try:
            self.waiting.remove(request)
        except ValueError:
            return False
        return True


@dataclass
class RequestQueueRecord:
    """A request queue (named or not; v1 or v2) with its properties; handles refer to it."""

    queue_id: int
    name: str | None = None
    v1: bool = False
    controller: bool = False
    enabled: bool = True
    verbosity: Verbosity503 = Verbosity503.BASIC
    stored: dict[int, object] = field(default_factory=dict)
    handles: set[int] = field(default_factory=set)
    discipline: QueueDiscipline[object, object] = field(default_factory=QueueDiscipline)
    demand_start_waiter: object | None = None
    demand_started: bool = False
    # the one RequestQueue timer of the waiting requests, due at the earliest of their deadlines (the driver's
    # timer entry; a request taken before its deadline costs no timer operation)
    queue_timer: TimerEntry[Any] | None = None

    @property
    def length_limit(self) -> int:
        return self.discipline.length_limit

    @length_limit.setter
    def length_limit(self, value: int) -> None:
        self.discipline.length_limit = value
