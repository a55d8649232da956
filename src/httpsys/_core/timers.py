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
    """The timers of HTTP.sys."""

    ENTITY_BODY = "EntityBody"
    DRAIN_ENTITY_BODY = "DrainEntityBody"
    REQUEST_QUEUE = "RequestQueue"
    IDLE_CONNECTION = "IdleConnection"
    HEADER_WAIT = "HeaderWait"
    MIN_SEND_RATE = "MinSendRate"

    @property
    def httperr_reason(self) -> str:
        """The HTTPERR reason phrase logged when this timer expires (reliability §2.2/§2.4)."""
        return _HTTPERR_REASONS[self]


_HTTPERR_REASONS = {
    TimerKind.ENTITY_BODY: "Timer_EntityBody",
    TimerKind.DRAIN_ENTITY_BODY: "Timer_EntityBody",  # undocumented; reliability §2.2 suggests Timer_EntityBody
    TimerKind.REQUEST_QUEUE: "Timer_AppPool",  # reliability §2.4 (v2 docs also name Timer_ReqQueue)
    TimerKind.IDLE_CONNECTION: "Timer_ConnectionIdle",
    TimerKind.HEADER_WAIT: "Timer_HeaderWait",
    TimerKind.MIN_SEND_RATE: "Timer_MinBytesPerSecond",
}


@dataclass(frozen=True)
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
        self.owner = None  # type: ignore[assignment]  # free the owner now; the heap drops the entry later


class DeadlineHeap(Generic[T]):
    """Deadlines ordered by time; cancelled entries are dropped lazily.

    Entries are kept as (deadline, sequence, entry) tuples so ordering never calls Python code. Cancelled
    entries leave when they reach the top or, since most timers are re-armed long before they expire, when a
    periodic compaction finds that they are the majority — so the heap stays proportional to the live timers.
    """

    __slots__ = ("_arms", "_heap", "_seq")

    COMPACT_EVERY = 4096

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TimerEntry[T]]] = []
        self._seq = 0
        self._arms = 0

    def arm(self, deadline: float, kind: TimerKind, owner: T) -> TimerEntry[T]:
        entry: TimerEntry[T] = TimerEntry(deadline, kind, owner)
        self._seq += 1
        heapq.heappush(self._heap, (deadline, self._seq, entry))
        self._arms += 1
        if self._arms >= self.COMPACT_EVERY:
            self._arms = 0
            self.compact()
        return entry

    def compact(self) -> None:
        """Drop cancelled entries when they are at least half of the heap."""
        heap = self._heap
        live = [item for item in heap if not item[2].cancelled]
        if len(live) * 2 <= len(heap):
            heapq.heapify(live)
            self._heap = live

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_expired(self, now: float) -> list[TimerEntry[T]]:
        """Remove and return every live entry whose deadline is at or before `now`, earliest first."""
        heap = self._heap
        out: list[TimerEntry[T]] = []
        while heap and (heap[0][2].cancelled or heap[0][0] <= now):
            entry = heapq.heappop(heap)[2]
            if not entry.cancelled:
                entry.cancelled = True
                out.append(entry)
        return out

    def __len__(self) -> int:
        return sum(1 for item in self._heap if not item[2].cancelled)

    @property
    def size(self) -> int:
        """Entries held, cancelled ones included (what memory use follows)."""
        return len(self._heap)
