"""Driver timers: the HTTP_TIMEOUT_LIMIT_INFO values and one deadline heap with lazy cancellation.

Responsibility: which timer applies, its default, how a URL group's value overrides its server session's, and an
ordered set of deadlines. It must not read the clock or schedule anything: callers pass `now` in and ask for the
next deadline, so tests drive it with a fake clock and never sleep.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, replace
from enum import Enum
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_SECONDS = 120
DEFAULT_MIN_SEND_RATE = 150  # bytes per second
MIN_SEND_RATE_DISABLED = 0xFFFFFFFF  # MAXULONG disables the MinSendRate check


class TimerKind(Enum):
    """The timers of HTTP.sys, with the HTTPERR reason logged when each expires."""

    ENTITY_BODY = "Timer_EntityBody"
    DRAIN_ENTITY_BODY = "Timer_EntityBody"  # undocumented reason; reliability §2.2 suggests Timer_EntityBody
    REQUEST_QUEUE = "Timer_ReqQueue"
    IDLE_CONNECTION = "Timer_ConnectionIdle"
    HEADER_WAIT = "Timer_HeaderWait"
    MIN_SEND_RATE = "Timer_MinBytesPerSecond"

    @property
    def httperr_reason(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class TimeoutLimits:
    """Seconds for each timer and bytes/s for MinSendRate; 0 means "not set here, inherit"."""

    entity_body: int = 0
    drain_entity_body: int = 0
    request_queue: int = 0
    idle_connection: int = 0
    header_wait: int = 0
    min_send_rate: int = 0

    def over(self, lower: TimeoutLimits) -> TimeoutLimits:
        """This object's values where set, `lower`'s elsewhere (a URL group over its server session)."""
        return TimeoutLimits(
            entity_body=self.entity_body or lower.entity_body,
            drain_entity_body=self.drain_entity_body or lower.drain_entity_body,
            request_queue=self.request_queue or lower.request_queue,
            idle_connection=self.idle_connection or lower.idle_connection,
            header_wait=self.header_wait or lower.header_wait,
            min_send_rate=self.min_send_rate or lower.min_send_rate,
        )

    def with_defaults(self) -> TimeoutLimits:
        """Every unset value replaced by the HTTP.sys default (120 s, 150 B/s)."""
        return self.over(DEFAULT_LIMITS)

    def updated(self, **changes: int) -> TimeoutLimits:
        return replace(self, **changes)


DEFAULT_LIMITS = TimeoutLimits(
    entity_body=DEFAULT_SECONDS,
    drain_entity_body=DEFAULT_SECONDS,
    request_queue=DEFAULT_SECONDS,
    idle_connection=DEFAULT_SECONDS,
    header_wait=DEFAULT_SECONDS,
    min_send_rate=DEFAULT_MIN_SEND_RATE,
)


class TimerEntry(Generic[T]):
    """One armed deadline; `cancel()` makes the heap skip it."""

    __slots__ = ("cancelled", "deadline", "kind", "owner")

    def __init__(self, deadline: float, kind: TimerKind, owner: T) -> None:
        self.deadline = deadline
        self.kind = kind
        self.owner = owner
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: TimerEntry[T]) -> bool:
        return self.deadline < other.deadline


class DeadlineHeap(Generic[T]):
    """Deadlines ordered by time; cancelled entries are dropped lazily when they reach the top."""

    __slots__ = ("_heap",)

    def __init__(self) -> None:
        self._heap: list[TimerEntry[T]] = []

    def arm(self, deadline: float, kind: TimerKind, owner: T) -> TimerEntry[T]:
        entry: TimerEntry[T] = TimerEntry(deadline, kind, owner)
        heapq.heappush(self._heap, entry)
        return entry

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap and heap[0].cancelled:
            heapq.heappop(heap)
        return heap[0].deadline if heap else None

    def pop_expired(self, now: float) -> list[TimerEntry[T]]:
        """Remove and return every live entry whose deadline is at or before `now`, earliest first."""
        heap = self._heap
        out: list[TimerEntry[T]] = []
        while heap and (heap[0].cancelled or heap[0].deadline <= now):
            entry = heapq.heappop(heap)
            if not entry.cancelled:
                entry.cancelled = True
                out.append(entry)
        return out

    def __len__(self) -> int:
        return sum(1 for e in self._heap if not e.cancelled)
