"""The kernel response cache: responses sent with an HTTP_CACHE_POLICY, answered again without the application.

Responsibility: decide whether a whole response may be stored (spec §5.8, KB 817445), keep it pre-rendered, answer
later GET and HEAD requests for the same URL with the exact wire bytes (a fresh Date swapped in; byte ranges cut
from the stored entity), expire entries (TimeToLive, the scavenger), flush them by URL prefix, and count what
happened. It must not perform I/O or read the clock: `now` (monotonic seconds) and the Date value are passed in.
The driver calls it directly (lookup on dispatch, store on a whole response sent with a cache policy).

Rules (the spec is silent on the marked ones; docs/decisions/0006-cache-and-logging.md):

* Stored only when: a policy of UserInvalidates (1) or TimeToLive (2) with SecondsToLive > 0; the request verb is
  exactly GET; HTTP/1.0 or HTTP/1.1; no request body (Content-Length > 0 or chunked); no Authorization; no Range or
  If-Range; no `Translate: f`; no Expect other than `100-continue`; no query string (KB 817445 lists "the request
  contains a query string"); the response status is 200 [decision: HTTP.sys documents nothing else as cacheable];
  no HTTP_RESPONSE_FLAG_MULTIPLE_ENCODINGS_AVAILABLE [decision: variants are not cached]; length-delimited by
  the automatic Content-Length or by an application Content-Length equal to the entity length, no
  Transfer-Encoding [decision: anything else cannot be replayed]; a syntactically valid Last-Modified when
  present; head + entity <= UriMaxUriBytes; the whole cache stays within `max_cache_bytes` ("enough cache
  space"). Set-Cookie, Vary and Cache-Control are not looked at: HTTP.sys does not (ASP.NET does, before it
  asks for caching). A refused response is still sent; nothing is reported to the application. An entity sent
  from file handles is stored as the bytes the driver reads from them; `admits` answers first whether a
  response of that length could be kept, so the driver reads only what it will store.
* Served (`lookup`) for GET and HEAD with HTTP/1.0 or 1.1, no Authorization, no `Translate: f`, no Expect other
  than `100-continue` (such requests go to the application, as they could not have been stored either). HEAD gets
  the GET entry's head without the entity. A GET with Range (and If-Range, evaluated by `_core.ranges`) gets a
  206 single-part or multipart/byteranges response, or a 416, cut from the entry. If-None-Match and
  If-Modified-Since are not evaluated: the full 200 is sent, which is always a correct answer to a conditional
  GET [decision]. Keep-alive follows the request (the same §5.4 plan the driver uses, `Connection: keep-alive`
  on an HTTP/1.0 connection kept open, none on HTTP/1.1); the DISCONNECT flag of the storing send is not
  remembered.
* Key: the cooked full URL with scheme and host case-folded, one trailing dot of the host dropped and the port made
  explicit (the `local_port` given, else 80/443); the path keeps its case. A request whose cooked URL is already in
  that form (the usual `Host: name:port`) is found with one dict lookup.
* Flush: the entries whose scheme, port and host (a `+` or `*` host matches every host) equal the prefix's and
  whose path equals the prefix path (ignoring one trailing slash), or with `recursive` also every path below it.
  Paths compare case-insensitively and percent-decoded here: flushing too much is always safe.
* Expiry: TimeToLive entries die at store time + SecondsToLive; UserInvalidates entries live until flushed or
  overwritten. `scavenge(now)` removes expired entries and those not hit for `scavenger_period` seconds.
* Hot path: each entry holds its head rendered once for an HTTP/1.1 keep-alive, an HTTP/1.0 keep-alive and a
  closing connection, split around the Date value; a hit joins (head before Date, Date, head after Date + entity). For the fast path below, a
  small entry (<= WIRE_CACHE_MAX_BYTES) also keeps its keep-alive GET and HEAD answers for the second their
  Date names, so every further fast answer in that second is the same bytes object.
* Remembered requests (the driver's fast path, docs/decisions/0008-cache-fast-path.md): after a keep-alive hit
  for a request that arrived alone in one read, the driver may `remember` its exact bytes with the facts it
  parsed; `requests_on(local_addr, scheme)` is the table of one local address, and the connection answers a read
  found there with `RememberedRequest.answer` - without parsing, cooking or routing it again (the parse is
  deterministic, and `route`, the URL group the connection is bound to, must be the same object). A remembered
  request points at its entry and knows what the rules decided for it (GET or HEAD, its Range); so every
  remembered request is forgotten when any entry leaves the cache (flush, expiry, scavenger, replacement,
  clear) and the driver must call `forget_requests` whenever routing, an object's state or a binding changes.
  `answer` returns None for an expired entry and counts nothing then: the caller takes the normal path, whose
  `lookup` counts the expiry and the miss. Its hits are counted on the record and folded into the counters
  (and the entry's `hits`) by `stats`, `entry` and `forget_requests`, so the answer stays a few attribute
  reads. At most MAX_REMEMBERED_REQUESTS are kept (all forgotten when full).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import unquote

from httpsys._core.canned import format_http_date
from httpsys._core.ranges import (
    FullEntity,
    Satisfiable,
    Unsatisfiable,
    evaluate_range,
    plan_ranged_body,
    ranged_response,
    unsatisfiable_response,
)
from httpsys._core.response import (
    HTTP_RESPONSE_FLAG_MULTIPLE_ENCODINGS_AVAILABLE,
    RESPONSE_HEADER_IDS,
    ResponseSpec,
    plan_response,
    render_head,
)

__all__ = [
    "POLICY_NOCACHE",
    "POLICY_TIME_TO_LIVE",
    "POLICY_USER_INVALIDATES",
    "CacheEntry",
    "RememberedRequest",
    "ResponseCache",
    "cache_key",
    "valid_http_date",
]

POLICY_NOCACHE = 0
POLICY_USER_INVALIDATES = 1
POLICY_TIME_TO_LIVE = 2

DEFAULT_MAX_URI_BYTES = 262144  # UriMaxUriBytes
DEFAULT_SCAVENGER_PERIOD = 120.0  # UriScavengerPeriod
DEFAULT_MAX_CACHE_BYTES = 64 * 1024 * 1024
MAX_REMEMBERED_REQUESTS = 4096
MAX_REMEMBERED_REQUEST_BYTES = 8192
WIRE_CACHE_MAX_BYTES = 16 * 1024  # entries up to this size keep their keep-alive wire bytes per Date value

_DEFAULT_PORTS = {"http": "80", "https": "443"}
_DATE_SENTINEL = b"\x00DATE\x00"  # validated headers never contain NUL, so the split is unambiguous
_DATE_PLACEHOLDER = b"Thu, 01 Jan 1970 00:00:00 GMT"  # any IMF-fixdate: for the status and framing only
_ID_CONTENT_TYPE = RESPONSE_HEADER_IDS[b"content-type"]
_ID_ETAG = RESPONSE_HEADER_IDS[b"etag"]
_ID_LAST_MODIFIED = RESPONSE_HEADER_IDS[b"last-modified"]
_ID_TRANSFER_ENCODING = RESPONSE_HEADER_IDS[b"transfer-encoding"]

# Request header names the rules look at, by length (a cheap test before lower-casing).
_H_AUTHORIZATION = b"authorization"
_H_RANGE = b"range"
_H_IF_RANGE = b"if-range"
_H_TRANSLATE = b"translate"
_H_EXPECT = b"expect"
_H_CONTENT_LENGTH = b"content-length"
_H_TRANSFER_ENCODING = b"transfer-encoding"
_WATCHED_LENGTHS = frozenset(
    len(n)
    for n in (
        _H_AUTHORIZATION,
        _H_RANGE,
        _H_IF_RANGE,
        _H_TRANSLATE,
        _H_EXPECT,
        _H_CONTENT_LENGTH,
        _H_TRANSFER_ENCODING,
    )
)

# HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, obsolete RFC 850 and asctime forms.
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_LONG_DAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTH = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = r"(\d{2}):(\d{2}):(\d{2})"
_IMF = re.compile(rf"{_DAY}, (\d{{2}}) {_MONTH} (\d{{4}}) {_TIME} GMT".encode())
_RFC850 = re.compile(rf"{_LONG_DAY}, (\d{{2}})-{_MONTH}-(\d{{2}}) {_TIME} GMT".encode())
_ASCTIME = re.compile(rf"{_DAY} {_MONTH} ([ \d]\d) {_TIME} (\d{{4}})".encode())
_MONTH_DAYS = {
    b"Jan": 31, b"Feb": 29, b"Mar": 31, b"Apr": 30, b"May": 31, b"Jun": 30,
    b"Jul": 31, b"Aug": 31, b"Sep": 30, b"Oct": 31, b"Nov": 30, b"Dec": 31,
}  # fmt: skip


def valid_http_date(value: bytes) -> bool:
    """True when `value` is an HTTP-date in one of its three forms with a real day of month and time of day."""
    value = value.strip(b" \t")
    m = _IMF.fullmatch(value)
    if m is not None:
        day, month, hour, minute, second = m.group(1), m.group(2), m.group(4), m.group(5), m.group(6)
    else:
        m = _RFC850.fullmatch(value)
        if m is not None:
            day, month, hour, minute, second = m.group(1), m.group(2), m.group(4), m.group(5), m.group(6)
        else:
            m = _ASCTIME.fullmatch(value)
            if m is None:
                return False
            month, day, hour, minute, second = m.group(1), m.group(2), m.group(3), m.group(4), m.group(5)
    return (
        1 <= int(day) <= _MONTH_DAYS[month]
        and int(hour) <= 23
        and int(minute) <= 59
        and int(second) <= 60  # a leap second is a valid time of day
    )


def _split_authority(url: str) -> tuple[str, str, str, str] | None:
    """(scheme, host without port, port or '', rest starting at the path) of a cooked URL or URL prefix."""
    sep = url.find("://")
    if sep <= 0:
        return None
    scheme = url[:sep].lower()
    start = sep + 3
    slash = url.find("/", start)
    if slash < 0:
        slash = len(url)
    authority = url[start:slash]
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            return None
        host = authority[: end + 1]
        port = authority[end + 2 :] if authority[end + 1 : end + 2] == ":" else ""
    else:
        host, colon, port = authority.rpartition(":")
        if not colon:
            host, port = authority, ""
    host = host.lower()
    if host.endswith(".") and len(host) > 1:
        host = host[:-1]
    return scheme, host, port, url[slash:]


def cache_key(full_url: str, local_port: int | None = None) -> str:
    """The cache key of a cooked URL: scheme and host case-folded, the port explicit, the path as it is."""
    parts = _split_authority(full_url)
    if parts is None:
        return full_url
    scheme, host, port, rest = parts
    if not port:
        port = str(local_port) if local_port is not None else _DEFAULT_PORTS.get(scheme, "80")
    return f"{scheme}://{host}:{port}{rest}"


@dataclass
class CacheEntry:
    """One cached response: the pre-rendered head (HTTP/1.1 keep-alive, HTTP/1.0 keep-alive and closing variants,
    split around the Date value), the entity, the facts range requests need, and its lifetime."""

    key: str
    scheme: str
    host: str
    port: str
    path_folded: str  # case-folded, percent-decoded path, for flushing
    spec: ResponseSpec
    body: bytes
    keep_before: bytes
    keep_after: bytes  # after the Date value, ending with the blank line
    keep_tail: bytes  # keep_after + body: the GET hit is before + date + tail
    keep_close: bool  # the keep-alive variant still closes (the app sent `Connection: close`)
    keep10_before: bytes  # the HTTP/1.0 keep-alive variant (`Connection: keep-alive` when it stays open)
    keep10_after: bytes
    keep10_close: bool
    close_before: bytes
    close_after: bytes
    etag: bytes | None
    last_modified: bytes | None
    content_type: bytes | None
    boundary: bytes
    expires: float | None  # None: until flushed or overwritten
    last_used: float
    size: int
    hits: int = 0
    # the fast path's keep-alive answers (GET, HEAD) for the Unix second they carry in Date (small entries only)
    get_second: int = -1
    get_wire: bytes = b""
    head_second: int = -1
    head_wire: bytes = b""


class RememberedRequest:
    """One exact request (bytes seen before on one local address) and what the cache decided for it: its entry,
    GET or HEAD, its Range. `route` and `idle_seconds` are the driver's: the URL group that must still be the
    connection's, and the IdleConnection seconds to re-arm after the answer (fixed until state changes)."""

    __slots__ = ("_cache", "entry", "head", "hits", "idle_seconds", "if_range", "range", "route", "status")

    def __init__(
        self,
        cache: ResponseCache,
        entry: CacheEntry,
        route: object,
        head: bool,
        range_header: bytes | None,
        if_range: bytes | None,
        idle_seconds: float,
    ) -> None:
        self._cache = cache
        self.entry = entry
        self.route = route
        self.head = head
        self.range = range_header
        self.if_range = if_range
        self.idle_seconds = idle_seconds
        self.status = 200
        self.hits = 0  # answered since the cache last folded them into its counters

    def answer(self, now: float, wall: float) -> bytes | None:
        """The keep-alive response to these bytes - a hit - or None when the entry has expired (nothing is
        counted then: the normal path's `lookup` counts the expiry and the miss). `now` is monotonic seconds,
        `wall` the Unix time whose second goes into Date (the driver's Date for the same second, byte for byte)."""
        entry = self.entry
        expires = entry.expires
        if expires is not None and now >= expires:
            return None
        entry.last_used = now
        self.hits += 1
        second = int(wall)
        if self.range is None:
            if self.head:
                if entry.head_second == second:
                    return entry.head_wire
            elif entry.get_second == second:
                return entry.get_wire
        return self._render(second, wall)

    def _render(self, second: int, wall: float) -> bytes:
        entry = self.entry
        date = self._cache._date(second, wall)
        if self.range is not None:
            ranged = self._cache._ranged(entry, self.range, self.if_range, True, date)
            if ranged is not None:
                return ranged[0]
        small = entry.size <= WIRE_CACHE_MAX_BYTES
        if self.head:
            wire = b"".join((entry.keep_before, date, entry.keep_after))
            if small and self.range is None:
                entry.head_second = second
                entry.head_wire = wire
            return wire
        wire = b"".join((entry.keep_before, date, entry.keep_tail))
        if small and self.range is None:
            entry.get_second = second
            entry.get_wire = wire
        return wire


class ResponseCache:
    """The driver's response cache. `enabled` is UriEnableCache; `max_uri_bytes` is UriMaxUriBytes;
    `scavenger_period` is UriScavengerPeriod (seconds); `server_mode` is DisableServerHeader, applied when the
    stored head is rendered exactly as the driver renders it."""

    __slots__ = (
        "_bytes",
        "_counts",
        "_date_bytes",
        "_date_second",
        "_entries",
        "_remembered",
        "_remembered_count",
        "enabled",
        "max_cache_bytes",
        "max_uri_bytes",
        "scavenger_period",
        "server_mode",
    )

    def __init__(
        self,
        max_uri_bytes: int = DEFAULT_MAX_URI_BYTES,
        enabled: bool = True,
        *,
        scavenger_period: float = DEFAULT_SCAVENGER_PERIOD,
        max_cache_bytes: int = DEFAULT_MAX_CACHE_BYTES,
        server_mode: int = 0,
    ) -> None:
        self.max_uri_bytes = max_uri_bytes
        self.enabled = enabled
        self.scavenger_period = scavenger_period
        self.max_cache_bytes = max_cache_bytes
        self.server_mode = server_mode
        self._entries: dict[str, CacheEntry] = {}
        # per (scheme, local address), the exact bytes of remembered requests; the tables live as long as the
        # cache (a connection keeps its own), forgetting empties them in place
        self._remembered: dict[tuple[str, tuple[str, int]], dict[bytes, RememberedRequest]] = {}
        self._remembered_count = 0
        self._date_second = -1
        self._date_bytes = b""
        self._bytes = 0
        self._counts = {
            "hits": 0,
            "fast_hits": 0,
            "misses": 0,
            "stores": 0,
            "rejected": 0,
            "flushed": 0,
            "expired": 0,
            "scavenged": 0,
        }

    def __len__(self) -> int:
        return len(self._entries)

    # ----------------------------------------------------------------------------------------------- lookup
    def lookup(
        self,
        method: bytes,
        full_url: str,
        headers: list[tuple[bytes, bytes]],
        version: tuple[int, int],
        keep_alive: bool,
        now: float,
        date: bytes,
        local_port: int | None = None,
    ) -> tuple[bytes, int, bool] | None:
        """(wire bytes, status, close after) for a request the cache can answer, else None (a miss)."""
        entries = self._entries
        entry = entries.get(full_url)
        if entry is None:
            if not entries:
                return None
            entry = entries.get(cache_key(full_url, local_port))
            if entry is None:
                self._counts["misses"] += 1
                return None
        expires = entry.expires
        if expires is not None and now >= expires:
            self._remove(entry)
            self._counts["expired"] += 1
            self._counts["misses"] += 1
            return None
        rule = _request_rule(method, headers, version)
        if rule is None:
            self._counts["misses"] += 1
            return None
        range_header, if_range = rule
        entry.last_used = now
        entry.hits += 1
        self._counts["hits"] += 1
        if range_header is not None and method == b"GET":
            ranged = self._ranged(entry, range_header, if_range, keep_alive, date, version)
            if ranged is not None:
                return ranged
        if keep_alive:
            if version < (1, 1):  # HTTP/1.0 keep-alive: the variant that says so
                after = entry.keep10_after + entry.body if method == b"GET" else entry.keep10_after
                return b"".join((entry.keep10_before, date, after)), 200, entry.keep10_close
            if method == b"GET":
                return b"".join((entry.keep_before, date, entry.keep_tail)), 200, entry.keep_close
            return b"".join((entry.keep_before, date, entry.keep_after)), 200, entry.keep_close
        if method == b"GET":
            return b"".join((entry.close_before, date, entry.close_after, entry.body)), 200, True
        return b"".join((entry.close_before, date, entry.close_after)), 200, True

    def _find(self, full_url: str, local_port: int | None) -> CacheEntry | None:
        """The entry `lookup` would use for this URL (no counting, no expiry)."""
        entry = self._entries.get(full_url)
        if entry is None:
            entry = self._entries.get(cache_key(full_url, local_port))
        return entry

    # ------------------------------------------------------------------------------- remembered requests
    def requests_on(
        self, local_addr: tuple[str, int], scheme: str = "http"
    ) -> dict[bytes, RememberedRequest]:
        """The remembered requests of one local address and scheme (the URL is cooked from both), keyed by their
        exact bytes: a live table (filled by `remember`, emptied in place by `forget_requests`) that a
        connection may keep for its lifetime."""
        key = (scheme, local_addr)
        table = self._remembered.get(key)
        if table is None:
            table = self._remembered[key] = {}
        return table

    def remember(
        self,
        local_addr: tuple[str, int],
        raw: bytes,
        route: object,
        method: bytes,
        full_url: str,
        headers: list[tuple[bytes, bytes]],
        version: tuple[int, int],
        *,
        scheme: str = "http",
        idle_seconds: float = 0.0,
    ) -> RememberedRequest | None:
        """Remember that `raw` (one whole request, alone in one read, on `local_addr` with `scheme`) is this
        parsed request, which a keep-alive `lookup` has just answered. Returns the record, or None when it is not
        remembered (cache disabled, too long, no live entry, a request the rules send to the application, or an
        answer that closes the connection)."""
        if not self.enabled or len(raw) > MAX_REMEMBERED_REQUEST_BYTES:
            return None
        if (method != b"GET" and method != b"HEAD") or version[0] != 1:
            return None  # the fast path reads HTTP/1.x bytes only (decision 0008)
        rule = _request_rule(method, headers, version)
        entry = self._find(full_url, local_addr[1])
        if rule is None or entry is None:
            return None
        range_header, if_range = rule
        if method != b"GET":
            range_header = if_range = None  # HEAD with Range gets the plain head
        memo = RememberedRequest(self, entry, route, method == b"HEAD", range_header, if_range, idle_seconds)
        close = entry.keep_close
        if range_header is not None:
            ranged = self._ranged(entry, range_header, if_range, True, _DATE_PLACEHOLDER)
            if ranged is not None:
                memo.status = ranged[1]
                close = ranged[2]
        if close:
            return None  # the answer closes the connection: nothing to repeat on it
        if self._remembered_count >= MAX_REMEMBERED_REQUESTS:
            self.forget_requests()
        table = self.requests_on(local_addr, scheme)
        old = table.get(raw)
        if old is None:
            self._remembered_count += 1
        else:
            self._fold(old)
        table[raw] = memo
        return memo

    def lookup_raw(
        self,
        local_addr: tuple[str, int],
        raw: bytes,
        route: object,
        now: float,
        wall: float,
        scheme: str = "http",
    ) -> tuple[bytes, int, bool] | None:
        """A keep-alive hit for exact request bytes remembered on this address and scheme for this route, else
        None: (wire bytes, status, close after) as `lookup` gives them, with the Date of Unix time `wall`."""
        table = self._remembered.get((scheme, local_addr))
        memo = table.get(raw) if table is not None else None
        if memo is None or memo.route is not route:
            return None
        wire = memo.answer(now, wall)
        if wire is None:
            return None
        return wire, memo.status, False

    def forget_requests(self) -> None:
        """Drop every remembered request (an entry left the cache; routing, an object's state or a binding
        changed). Their hits stay counted."""
        if self._remembered_count:
            for table in self._remembered.values():
                for memo in table.values():
                    self._fold(memo)
                table.clear()
            self._remembered_count = 0

    def _fold(self, memo: RememberedRequest) -> None:
        """Move a remembered request's hits into its entry and the counters (answers count lazily)."""
        hits = memo.hits
        if hits:
            memo.hits = 0
            memo.entry.hits += hits
            self._counts["hits"] += hits
            self._counts["fast_hits"] += hits

    def _fold_all(self) -> None:
        if self._remembered_count:
            for table in self._remembered.values():
                for memo in table.values():
                    self._fold(memo)

    def _date(self, second: int, wall: float) -> bytes:
        """The Date value of a Unix second (formatted once per second, as the driver does)."""
        if second != self._date_second:
            self._date_bytes = format_http_date(wall)
            self._date_second = second
        return self._date_bytes

    def _ranged(
        self,
        entry: CacheEntry,
        range_header: bytes,
        if_range: bytes | None,
        keep_alive: bool,
        date: bytes,
        version: tuple[int, int] = (1, 1),
    ) -> tuple[bytes, int, bool] | None:
        body = entry.body
        length = len(body)
        decision = evaluate_range(
            range_header,
            if_range,
            method=b"GET",
            status=200,
            entity_length=length,
            etag=entry.etag,
            last_modified=entry.last_modified,
        )
        if isinstance(decision, FullEntity):
            return None
        if isinstance(decision, Unsatisfiable):
            spec = unsatisfiable_response(entry.spec, length)
            payload = b""
        else:
            assert isinstance(decision, Satisfiable)
            layout = plan_ranged_body(
                decision, entity_length=length, content_type=entry.content_type, boundary=entry.boundary
            )
            spec = ranged_response(entry.spec, layout)
            pieces: list[bytes] = []
            for prefix, start, end in layout.parts:
                pieces.append(prefix)
                pieces.append(body[start:end])
            pieces.append(layout.epilogue)
            payload = b"".join(pieces)
        plan = plan_response(
            spec,
            request_method=b"GET",
            request_version=version,
            request_keep_alive=keep_alive,
            flags=0,
            final=True,
            entity_length=len(payload),
        )
        head = render_head(spec, plan, date=date, server_mode=self.server_mode)
        return head + payload, spec.status, plan.close

    # ------------------------------------------------------------------------------------------------ store
    def store(
        self,
        method: bytes,
        full_url: str,
        headers: list[tuple[bytes, bytes]],
        version: tuple[int, int],
        spec: ResponseSpec,
        body: bytes | None,
        policy: int,
        seconds: int,
        now: float,
        local_port: int | None = None,
    ) -> bool:
        """Consider a whole response sent with a cache policy (the final and only send); True if it was cached.

        A refused response is counted in `stats()["cache_rejected"]`; an existing entry for the URL is replaced
        only by a response that is itself cacheable. `body` None: the caller could not produce the entity (a
        file region it failed to read), which is a refusal too.
        """
        if body is None or not self._cacheable(method, full_url, headers, version, spec, policy, seconds):
            self._counts["rejected"] += 1
            return False
        entry = self._build(full_url, spec, bytes(body), policy, seconds, now, local_port)
        if entry is None:
            self._counts["rejected"] += 1
            return False
        old = self._entries.get(entry.key)
        room = self.max_cache_bytes - self._bytes + (old.size if old is not None else 0)
        if entry.size > room:
            self._counts["rejected"] += 1
            return False
        if old is not None:
            self._remove(old)
        self._entries[entry.key] = entry
        self._bytes += entry.size
        self._counts["stores"] += 1
        return True

    def admits(
        self,
        method: bytes,
        full_url: str,
        headers: list[tuple[bytes, bytes]],
        version: tuple[int, int],
        spec: ResponseSpec,
        policy: int,
        seconds: int,
        length: int,
        local_port: int | None = None,
    ) -> bool:
        """Whether `store` could keep this response with an entity of `length` bytes, asked before the caller
        produces the entity (the driver reads a file region only for a response the cache would keep; the head's
        size is checked by `store`). A False answer is counted as a refused response, as `store` counts one;
        after True, call `store`."""
        if length <= self.max_uri_bytes and self._cacheable(
            method, full_url, headers, version, spec, policy, seconds
        ):
            old = self._entries.get(cache_key(full_url, local_port))
            if length <= self.max_cache_bytes - self._bytes + (old.size if old is not None else 0):
                return True
        self._counts["rejected"] += 1
        return False

    def _cacheable(
        self,
        method: bytes,
        full_url: str,
        headers: list[tuple[bytes, bytes]],
        version: tuple[int, int],
        spec: ResponseSpec,
        policy: int,
        seconds: int,
    ) -> bool:
        if not self.enabled or method != b"GET" or version not in ((1, 0), (1, 1), (2, 0)):
            return False
        if policy == POLICY_TIME_TO_LIVE:
            if seconds <= 0:
                return False
        elif policy != POLICY_USER_INVALIDATES:
            return False
        if "?" in full_url or spec.status != 200:
            return False
        if spec.flags & HTTP_RESPONSE_FLAG_MULTIPLE_ENCODINGS_AVAILABLE:
            return False
        for name, value in headers:
            if len(name) not in _WATCHED_LENGTHS:
                continue
            lname = name.lower()
            if lname in (_H_AUTHORIZATION, _H_RANGE, _H_IF_RANGE, _H_TRANSFER_ENCODING):
                return False
            if lname == _H_CONTENT_LENGTH and value.strip(b" \t") not in (b"", b"0"):
                return False
            if lname == _H_TRANSLATE and value.strip(b" \t").lower() == b"f":
                return False
            if lname == _H_EXPECT and value.strip(b" \t").lower() != b"100-continue":
                return False
        if any(v for v in spec.known.get(_ID_TRANSFER_ENCODING, ())):
            return False
        for name, _value in spec.unknown:
            if len(name) == 17 and name.lower() == _H_TRANSFER_ENCODING:
                return False
        last_modified = _first(spec, _ID_LAST_MODIFIED, b"last-modified")
        return last_modified is None or valid_http_date(last_modified)

    def _build(
        self,
        full_url: str,
        spec: ResponseSpec,
        body: bytes,
        policy: int,
        seconds: int,
        now: float,
        local_port: int | None,
    ) -> CacheEntry | None:
        parts = _split_authority(full_url)
        if parts is None:
            return None
        # our own copy: the caller may reuse or change its record after the send
        spec = ResponseSpec(
            spec.status,
            spec.reason,
            {header_id: list(values) for header_id, values in spec.known.items()},
            list(spec.unknown),
            spec.flags,
        )
        key = cache_key(full_url, local_port)
        scheme, host, port, path = parts
        if not port:
            port = str(local_port) if local_port is not None else _DEFAULT_PORTS.get(scheme, "80")
        length = len(body)
        heads: list[tuple[bytes, bytes, bool]] = []
        for version, keep_alive in (((1, 1), True), ((1, 0), True), ((1, 1), False)):
            plan = plan_response(
                spec,
                request_method=b"GET",
                request_version=version,
                request_keep_alive=keep_alive,
                flags=0,
                final=True,
                entity_length=length,
            )
            if plan.auto_content_length is None and plan.app_content_length != length:
                return None  # not length-delimited by a Content-Length that matches the entity
            head = render_head(spec, plan, date=_DATE_SENTINEL, server_mode=self.server_mode)
            pieces = head.split(_DATE_SENTINEL)
            if len(pieces) != 2:
                return None
            heads.append((pieces[0], pieces[1], plan.close))
        (keep_before, keep_after, keep_close), keep10, (close_before, close_after, _close) = heads
        size = len(keep_before) + len(keep_after) + 29 + length  # 29: an IMF-fixdate
        if size > self.max_uri_bytes:
            return None
        return CacheEntry(
            key=key,
            scheme=scheme,
            host=host,
            port=port,
            path_folded=unquote(path, errors="surrogateescape").lower(),
            spec=spec,
            body=body,
            keep_before=keep_before,
            keep_after=keep_after,
            keep_tail=keep_after + body,
            keep_close=keep_close,
            keep10_before=keep10[0],
            keep10_after=keep10[1],
            keep10_close=keep10[2],
            close_before=close_before,
            close_after=close_after,
            etag=_first(spec, _ID_ETAG, b"etag"),
            last_modified=_first(spec, _ID_LAST_MODIFIED, b"last-modified"),
            content_type=_first(spec, _ID_CONTENT_TYPE, b"content-type"),
            boundary=_boundary(key, body),
            expires=now + seconds if policy == POLICY_TIME_TO_LIVE else None,
            last_used=now,
            size=size,
        )

    # -------------------------------------------------------------------------------------- flush, expiry
    def flush(self, prefix: str, recursive: bool) -> int:
        """HttpFlushResponseCache: remove the entry at `prefix` and, when recursive, every entry below it."""
        parts = _split_authority(prefix)
        if parts is None:
            return 0
        scheme, host, port, path = parts
        if not port:
            port = _DEFAULT_PORTS.get(scheme, "80")
        wildcard = host in ("+", "*")
        path = unquote(path or "/", errors="surrogateescape").lower()
        bare = path.rstrip("/")
        base = bare + "/"
        doomed = [
            entry
            for entry in self._entries.values()
            if entry.scheme == scheme
            and entry.port == port
            and (wildcard or entry.host == host)
            and (entry.path_folded.rstrip("/") == bare or (recursive and entry.path_folded.startswith(base)))
        ]
        for entry in doomed:
            self._remove(entry)
        self._counts["flushed"] += len(doomed)
        return len(doomed)

    def clear(self) -> int:
        """Remove every entry (e.g. when the queue that stored them goes away); returns the count."""
        count = len(self._entries)
        self._entries.clear()
        self.forget_requests()
        self._bytes = 0
        self._counts["flushed"] += count
        return count

    def scavenge(self, now: float) -> int:
        """Remove entries past their TimeToLive and entries not hit for `scavenger_period` seconds."""
        idle_before = now - self.scavenger_period
        doomed = [
            entry
            for entry in self._entries.values()
            if (entry.expires is not None and now >= entry.expires) or entry.last_used <= idle_before
        ]
        for entry in doomed:
            self._remove(entry)
        self._counts["scavenged"] += len(doomed)
        return len(doomed)

    def _remove(self, entry: CacheEntry) -> None:
        if self._entries.get(entry.key) is entry:
            del self._entries[entry.key]
            self._bytes -= entry.size
            self.forget_requests()  # a remembered request may point at it

    # ----------------------------------------------------------------------------------------------- counts
    def stats(self) -> dict[str, int]:
        """Counters for the driver's statistics: cache_hits (cache_fast_hits of them answered to remembered
        requests), cache_misses, cache_entries, cache_bytes, cache_remembered, ..."""
        self._fold_all()
        out = {"cache_" + name: value for name, value in self._counts.items()}
        out["cache_entries"] = len(self._entries)
        out["cache_bytes"] = self._bytes
        out["cache_remembered"] = self._remembered_count
        return out

    def entry(self, full_url: str, local_port: int | None = None) -> CacheEntry | None:
        """The entry stored for a URL, if any (introspection for tools and tests; never counts as a hit)."""
        self._fold_all()
        return self._entries.get(cache_key(full_url, local_port))


def _request_rule(
    method: bytes, headers: list[tuple[bytes, bytes]], version: tuple[int, int]
) -> tuple[bytes | None, bytes | None] | None:
    """Whether the cache may answer this request: None when it goes to the application (not GET or HEAD, not
    HTTP/1.x or HTTP/2, Authorization, `Translate: f`, an Expect other than 100-continue), else its (Range,
    If-Range). An HTTP/2 request gets the HTTP/1.1 rendering, which its stream frames (decision 0022)."""
    if (version[0] != 1 and version[0] != 2) or (method != b"GET" and method != b"HEAD"):
        return None
    range_header: bytes | None = None
    if_range: bytes | None = None
    for name, value in headers:
        if len(name) not in _WATCHED_LENGTHS:
            continue
        lname = name.lower()
        if lname == _H_RANGE:
            range_header = value
        elif lname == _H_IF_RANGE:
            if_range = value
        elif (
            lname == _H_AUTHORIZATION
            or (lname == _H_TRANSLATE and value.strip(b" \t").lower() == b"f")
            or (lname == _H_EXPECT and value.strip(b" \t").lower() != b"100-continue")
        ):
            return None
    return range_header, if_range


def _first(spec: ResponseSpec, header_id: int, lname: bytes) -> bytes | None:
    for value in spec.known.get(header_id, ()):
        if value:
            return value
    for name, value in spec.unknown:
        if name.lower() == lname:
            return value
    return None


def _boundary(key: str, body: bytes) -> bytes:
    """A multipart boundary that does not occur in the entity, derived from the entry (no randomness needed)."""
    salt = 0
    while True:
        digest = hashlib.blake2b(body, digest_size=8, key=f"{key}#{salt}".encode()[:64]).hexdigest()
        boundary = digest.encode("ascii")
        if boundary not in body:
            return boundary
        salt += 1
