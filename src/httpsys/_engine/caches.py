"""The caches: the response cache (HttpCachePolicy) and the fragment cache, as the driver uses them.

Responsibility: answer a request from the response cache and remember its bytes for the connection's fast path
(decision 0008), keep a final response sent with a cache policy, add, read and flush fragments
(HttpAddFragmentToCache, HttpReadFragmentFromCache, HttpFlushResponseCache) and scavenge both caches every
UriScavengerPeriod. It must not route requests or decide whether a request may be answered from the cache: the
rules of the cache itself live in `_core.response_cache` and `_core.fragments`, and delivery asks first
(decision 0010).
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

from httpsys._core.fragments import FragmentCache
from httpsys._core.records import CachePolicy
from httpsys._core.response import ResponseSpec
from httpsys._core.response_cache import ResponseCache
from httpsys._core.status import Win32Error
from httpsys._core.urlprefix import InvalidUrlPrefix, parse_url_prefix
from httpsys._engine.http2 import AnyChannel
from httpsys._engine.http11 import FileRegion, Segment
from httpsys._engine.registry import QueueHandle
from httpsys._engine.request import Request

if TYPE_CHECKING:
    from httpsys._engine.driver import Driver

E = Win32Error
OK = int(E.NO_ERROR)


class Caches:
    """The response cache and the fragment cache of one driver, and their scavenger."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.response_cache: ResponseCache | None = None  # set through `Driver.response_cache`
        self.fragments = FragmentCache()
        self.scavenger: asyncio.TimerHandle | None = None

    # ================================================================ the response cache
    def serve_cached(
        self, conn: AnyChannel, request: Request, hit: tuple[bytes, int, bool], cache: ResponseCache
    ) -> None:
        """Answer from the response cache without waking any application; remember the request's bytes for the
        connection's fast path when the same bytes would be answered the same way again (decision 0008)."""
        data, status, close = hit
        if not close and request.version == (1, 1) and not request.expect_continue and not request.upgrade:
            raw = conn.repeatable_read(request, len(data))
            group = request.group
            if (
                raw is not None
                and group is not None
                and group is conn.group
                and not self.driver.counters.logged(group)
            ):
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
        if self.driver.counters.logs is not None:
            request.arrived = self.driver.clock()

        def sent(code: int, nbytes: int) -> None:
            request.response_bytes = nbytes
            if self.driver.counters.logs is not None:
                self.driver.counters.log_response(request, None, cached=True)
            if code == OK:
                conn.request_finished(request, close)

        conn.send([data], False, False, sent)

    def store(
        self,
        request: Request,
        spec: ResponseSpec,
        segments: list[Segment],
        length: int,
        cache_policy: CachePolicy,
    ) -> None:
        """A whole response sent with a cache policy goes to the response cache, which keeps it if the rules of
        spec §5.8 allow; the scavenger starts with the first entry. File regions are read here (as HTTP.sys caches
        FromFileHandle responses), and only when the cache says it would keep an entity of that length (at most
        UriMaxUriBytes)."""
        cache = self.response_cache
        if cache is None or not cache_policy.policy:
            return
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
                cache_policy.policy,
                cache_policy.seconds_to_live,
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
            cache_policy.policy,
            cache_policy.seconds_to_live,
            self.driver.clock(),
            local_port=port,
        )
        if stored and self.scavenger is None:
            driver = self.driver
            self.scavenger = driver.loop.call_later(driver.settings.uri_scavenger_period, self.scavenge)

    # ================================================================ the fragment cache
    def add_fragment(self, handle_id: int, name: str, data: bytes, policy: int, seconds: int) -> int:
        handle = self.driver.registry.handle(handle_id)
        if handle is None:
            return int(E.ERROR_INVALID_HANDLE)
        try:
            prefix = parse_url_prefix(name if name.endswith("/") else name + "/")
        except InvalidUrlPrefix:
            return int(E.ERROR_INVALID_PARAMETER)
        if not self._name_under_queue(handle, prefix.port, prefix.path):
            return int(E.ERROR_INVALID_PARAMETER)
        if not self.fragments.add(name, data, handle.queue.queue_id, policy, seconds, self.driver.clock()):
            return int(E.ERROR_ACCESS_DENIED)
        return OK

    def _name_under_queue(self, handle: QueueHandle, port: int, path: str) -> bool:
        registry = self.driver.registry
        for prefix, registration in registry.routing.entries():
            group = registry.groups.get(registration.group_id)
            if group is None or group.queue_id != handle.queue.queue_id or prefix.port != port:
                continue
            if path.startswith(prefix.path):
                return True
        return False

    def read_fragment(self, handle_id: int, name: str) -> tuple[int, bytes]:
        handle = self.driver.registry.handle(handle_id)
        if handle is None:
            return int(E.ERROR_INVALID_HANDLE), b""
        data = self.fragments.get(name, self.driver.clock())
        if data is None:
            return int(E.ERROR_PATH_NOT_FOUND), b""
        return OK, data

    def flush_cache(self, handle_id: int, prefix: str, recursive: bool) -> int:
        handle = self.driver.registry.handle(handle_id)
        if handle is None:
            return int(E.ERROR_INVALID_HANDLE)
        self.fragments.flush(prefix, recursive, owner=handle.queue.queue_id)
        if self.response_cache is not None:
            self.response_cache.flush(prefix, recursive)
        return OK

    def scavenge(self) -> None:
        """UriScavengerPeriod: drop cache entries not hit for a period (re-armed while entries remain)."""
        self.scavenger = None
        now = self.driver.clock()
        self.fragments.scavenge(now)
        cache = self.response_cache
        if cache is not None and len(cache):
            cache.scavenge(now)
            if len(cache):
                driver = self.driver
                self.scavenger = driver.loop.call_later(driver.settings.uri_scavenger_period, self.scavenge)


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
