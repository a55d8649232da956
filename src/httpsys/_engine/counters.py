"""The driver's counters, its HTTPERR log and its response log lines: what happened.

Responsibility: count what happened (canned responses, refused connections, timer expiries, dropped
connections), keep the HTTPERR events in memory and hand each to the error sink and the log hook, write one
response log line per logged response, and add up `statistics()` from the tables of the other rooms. It must not
change what happens to a request or a connection: it only records (decision 0010).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from httpsys._core.canned import CannedResponse
from httpsys._core.objects import UrlGroup
from httpsys._core.timers import TimerKind
from httpsys._engine.http2 import AnyPeer
from httpsys._engine.logs import LogManager
from httpsys._engine.request import Request

if TYPE_CHECKING:
    from httpsys._engine.driver import Driver


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


class Counters:
    """The counters and logs of one driver."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
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
        self.logs: LogHook | None = None  # set through `Driver.logs`, which forgets the remembered requests

    # ================================================================ counters and the HTTPERR log
    def log_error(self, conn: AnyPeer, request: Request | None, status: int, reason: str) -> None:
        """One HTTPERR event: driver-generated response, timer expiry or dropped connection."""
        self.stats[reason] += 1
        facts = (request.method, request.raw_url, request.version) if request is not None else None
        record = (
            self.driver.wall_clock(),
            reason,
            conn.remote_addr,
            conn.local_addr,
            facts,
            status,
            conn.scheme,
        )
        log = self.error_log
        log.append(record)
        if len(log) > self.error_log_limit:
            del log[: len(log) - self.error_log_limit]
        sink = self.error_sink
        logs = self.logs
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
        queue = self.driver.registry.queues.get(request.queue_id)
        return queue.name if queue is not None else None

    def canned_sent(self, conn: AnyPeer, kind: CannedResponse, reason: str | None) -> None:
        self.stats[f"canned_{kind.status}"] += 1
        request = conn.pipeline[0] if conn.pipeline and isinstance(conn.pipeline[0], Request) else None
        self.log_error(conn, request, kind.status, reason or kind.httperr_reason)

    def timer_fired(self, conn: AnyPeer, kind: TimerKind) -> None:
        self.log_error(conn, None, 0, kind.httperr_reason)

    # ================================================================ response log lines
    def logged(self, group: UrlGroup) -> bool:
        """A response log is configured for the URL group or its server session (see `log_response`)."""
        logs = self.logs
        if logs is None:
            return False
        if logs.configured(("group", group.group_id)):
            return True
        session = group.session
        return session is not None and logs.configured(("session", session.session_id))

    def log_response(self, request: Request, log_data: object | None, cached: bool = False) -> None:
        """One response log line (HTTP.sys logs only when the application passed log data, or from the cache)."""
        logs = self.logs
        group = request.group
        if logs is None or group is None:
            return
        owner = ("group", group.group_id)
        session = group.session
        if session is None:
            if not logs.configured(owner):
                return
            owners = [owner]
        else:
            session_owner = ("session", session.session_id)
            if not logs.configured(owner) and not logs.configured(session_owner):
                return  # (per response: no generator, no list until a log wants the line)
            owners = [owner, session_owner]
        cooked = request.cooked
        header_values: dict[bytes, bytes] = {}
        for name, value in request.headers:
            lname = name.lower()
            if lname in (b"user-agent", b"cookie", b"referer", b"host"):
                header_values[lname] = value
        fields: dict[str, Any] = {
            "time": self.driver.wall_clock(),
            "client": request.remote_addr,
            "server": request.local_addr,
            "method": request.method,
            "uri_stem": cooked.abs_path if cooked is not None else "",
            "uri_query": cooked.query[1:] if cooked is not None else "",
            "status": request.response_status,
            "win32_status": 0,
            "bytes_sent": request.response_bytes,
            "bytes_received": request.bytes_received,
            "time_taken_ms": int((self.driver.clock() - request.arrived) * 1000) if request.arrived else 0,
            "version": request.version,
            "host": header_values.get(b"host"),
            "user_agent": header_values.get(b"user-agent"),
            "cookie": header_values.get(b"cookie"),
            "referer": header_values.get(b"referer"),
            "cached": cached,
            "log_data": log_data,
        }
        logs.response(owners, fields)

    # ================================================================ statistics()
    def statistics(self) -> dict[str, int]:
        out = dict(self.stats)
        driver = self.driver
        out["connections"] = len(driver.ports.connections)
        out["requests_in_flight"] = len(driver.delivery.requests)
        out["listeners"] = len(driver.ports.listeners)
        out["queued"] = sum(len(q.discipline.waiting) for q in driver.registry.queues.values())
        cache = driver.caches.response_cache
        if cache is not None:
            out.update(cache.stats())
        if isinstance(self.logs, LogManager):
            out.update(self.logs.stats())
        return out
