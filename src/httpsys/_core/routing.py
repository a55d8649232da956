"""The routing table: which registered UrlPrefix (and its target) receives a request (spec §1.4, §6 E).

Responsibility: hold registrations keyed by parsed `UrlPrefix`, detect conflicts at add time, remove by the
identical original string, and route (port, host, cooked path, local IP) to a registration or a miss. It is
generic in the target (a URL group, a v1 queue ...) and knows nothing about queues, binding state (503),
reservations or sockets; it must not parse URLs beyond what `urlprefix` gives it.

Routing decision (the spec's "first bucket containing a match wins", made precise):

* Only prefixes whose port equals the connection's port take part (http and https never share a port, so the
  port decides the scheme).
* Buckets are examined in `HostKind` order: STRONG '+', EXPLICIT host name, IP literal, WEAK '*'.
* A bucket *matches the host* when: STRONG/WEAK - it holds any prefix; EXPLICIT - a prefix host equals the
  request host (case-insensitive, one trailing dot ignored on both sides); IP - a prefix address equals the local
  address the connection arrived on (IPv4-mapped IPv6 counts as the IPv4 address). A missing Host can only be
  served by STRONG, IP and WEAK.
* Within a bucket whose host matches, the longest prefix path that is a whole-segment prefix of the request path
  wins (case-insensitive; the request's trailing slash is ignored; prefix paths are compared percent-decoded,
  because the request path arrives cooked). That bucket *has a match* and lower buckets are never consulted,
  even if they hold a longer path.
* A bucket that matches the host but has no path match does not stop the search: the next bucket is tried.
* No bucket matched the host (or nothing is registered on the port) => `RouteMiss.INVALID_HOSTNAME` (400);
  some bucket matched the host but none matched host+path => `RouteMiss.NOT_FOUND` (404).
* Two registrations that compare equal for matching but have different keys (e.g. `/%61/` and `/a/`, or
  `[::ffff:1.2.3.4]` and `1.2.3.4`) can both exist; the earlier registration wins.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from enum import Enum
from functools import lru_cache
from typing import ClassVar, Generic, TypeAlias, TypeVar
from urllib.parse import unquote

from httpsys._core.status import Win32Error
from httpsys._core.urlprefix import HostKind, UrlPrefix

__all__ = [
    "NO_HOST",
    "NO_PATH",
    "ROUTE_CACHE_SIZE",
    "PrefixConflict",
    "RouteMatch",
    "RouteMiss",
    "RouteResult",
    "RoutingTable",
    "SchemeConflict",
]

T = TypeVar("T")

#: Most route results remembered between table changes.
ROUTE_CACHE_SIZE = 4096
#: Requests with longer paths (or hosts) are routed without touching the cache (keeps its memory bounded).
_CACHEABLE_PATH_LENGTH = 1024
_CACHEABLE_HOST_LENGTH = 255


class PrefixConflict(Exception):
    """A registration with the same key already exists (ERROR_ALREADY_EXISTS)."""

    win32_error: ClassVar[Win32Error] = Win32Error.ERROR_ALREADY_EXISTS


class SchemeConflict(PrefixConflict):
    """The port is already registered with the other scheme: http and https cannot share a port."""


class RouteMiss(Enum):
    """Why no registration receives the request; the value is the status HTTP.sys answers with."""

    INVALID_HOSTNAME = 400
    NOT_FOUND = 404

    @property
    def status_code(self) -> int:
        return int(self.value)


NO_HOST = RouteMiss.INVALID_HOSTNAME
NO_PATH = RouteMiss.NOT_FOUND


class RouteMatch(Generic[T]):
    """The registration that receives the request (a plain class, not a dataclass: the native build compiles
    this module, and mypyc compiles a plain class's constructor but not a generic dataclass; decision 0009)."""

    __slots__ = ("prefix", "target")

    def __init__(self, prefix: UrlPrefix, target: T) -> None:
        self.prefix = prefix
        self.target = target

    def __repr__(self) -> str:
        return f"RouteMatch({self.prefix!r}, {self.target!r})"


RouteResult: TypeAlias = RouteMatch[T] | RouteMiss

# match path (percent-decoded, lower-cased, ends with '/') -> registrations in registration order
_PathIndex: TypeAlias = dict[str, list[RouteMatch[T]]]


@lru_cache(maxsize=256)
def _normalize_ip(text: str) -> str:
    """Canonical text of an IP address; IPv4-mapped IPv6 becomes IPv4. Unparsable text is only lower-cased."""
    bare = text.strip("[]").partition("%")[0]
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        return text.lower()
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return address.compressed


def _normalize_host(host: str) -> str:
    name = host.lower()
    return name[:-1] if name.endswith(".") else name


def _match_path(prefix: UrlPrefix) -> str:
    return unquote(prefix.path).lower()


def _normalize_request_path(path: str) -> str:
    lowered = path.lower()
    if not lowered.startswith("/"):
        lowered = "/" + lowered
    if not lowered.endswith("/"):
        lowered += "/"
    return lowered


def _longest(paths: _PathIndex[T], path: str) -> RouteMatch[T] | None:
    """Longest whole-segment prefix of `path` (normalized) present in `paths`."""
    end = len(path)
    while end > 0:
        hits = paths.get(path[:end])
        if hits:
            return hits[0]
        end = path.rfind("/", 0, end - 1) + 1
    return None


class _PortIndex(Generic[T]):
    """Registrations of one port, split into the four host buckets."""

    __slots__ = ("count", "explicit", "ip", "scheme", "strong", "weak")

    def __init__(self, scheme: str) -> None:
        self.scheme = scheme
        self.count = 0
        self.strong: _PathIndex[T] = {}
        self.explicit: dict[str, _PathIndex[T]] = {}
        self.ip: dict[str, _PathIndex[T]] = {}
        self.weak: _PathIndex[T] = {}

    def _paths_for(self, prefix: UrlPrefix, create: bool) -> _PathIndex[T] | None:
        if prefix.kind is HostKind.STRONG:
            return self.strong
        if prefix.kind is HostKind.WEAK:
            return self.weak
        if prefix.kind is HostKind.EXPLICIT:
            by_host, host = self.explicit, _normalize_host(prefix.host)
        else:
            by_host, host = self.ip, _normalize_ip(prefix.host)
        paths = by_host.get(host)
        if paths is None and create:
            paths = by_host[host] = {}
        return paths

    def insert(self, match: RouteMatch[T]) -> None:
        paths = self._paths_for(match.prefix, create=True)
        assert paths is not None
        paths.setdefault(_match_path(match.prefix), []).append(match)
        self.count += 1

    def delete(self, match: RouteMatch[T]) -> None:
        prefix = match.prefix
        paths = self._paths_for(prefix, create=False)
        assert paths is not None
        path = _match_path(prefix)
        hits = paths[path]
        hits.remove(match)
        if not hits:
            del paths[path]
        if not paths:
            if prefix.kind is HostKind.EXPLICIT:
                del self.explicit[_normalize_host(prefix.host)]
            elif prefix.kind is HostKind.IP:
                del self.ip[_normalize_ip(prefix.host)]
        self.count -= 1

    def route(self, host: str | None, path: str, local_ip: str) -> RouteResult[T]:
        path = _normalize_request_path(path)
        host_matched = False
        if self.strong:
            host_matched = True
            hit = _longest(self.strong, path)
            if hit is not None:
                return hit
        if self.explicit and host:
            paths = self.explicit.get(_normalize_host(host))
            if paths:
                host_matched = True
                hit = _longest(paths, path)
                if hit is not None:
                    return hit
        if self.ip:
            paths = self.ip.get(_normalize_ip(local_ip))
            if paths:
                host_matched = True
                hit = _longest(paths, path)
                if hit is not None:
                    return hit
        if self.weak:
            host_matched = True
            hit = _longest(self.weak, path)
            if hit is not None:
                return hit
        return NO_PATH if host_matched else NO_HOST


class RoutingTable(Generic[T]):
    """All live registrations of the driver, indexed by port then host bucket, with a small route cache."""

    def __init__(self) -> None:
        self._by_original: dict[str, RouteMatch[T]] = {}
        self._by_key: dict[tuple[str, int, HostKind, str, str], RouteMatch[T]] = {}
        self._ports: dict[int, _PortIndex[T]] = {}
        self._cache: dict[tuple[int, str | None, str, str], RouteResult[T]] = {}

    def __len__(self) -> int:
        return len(self._by_original)

    def add(self, prefix: UrlPrefix, target: T) -> None:
        """Register `prefix` for `target`; PrefixConflict on an equal key, SchemeConflict on a scheme clash."""
        existing = self._by_key.get(prefix.key)
        if existing is not None:
            raise PrefixConflict(f"{prefix.original!r} conflicts with {existing.prefix.original!r}")
        index = self._ports.get(prefix.port)
        if index is not None and index.scheme != prefix.scheme:
            raise SchemeConflict(
                f"{prefix.original!r}: port {prefix.port} is already registered with scheme {index.scheme!r}"
            )
        if index is None:
            index = self._ports[prefix.port] = _PortIndex(prefix.scheme)
        match = RouteMatch(prefix, target)
        index.insert(match)
        self._by_key[prefix.key] = match
        self._by_original[prefix.original] = match
        self._cache.clear()

    def remove(self, original: str) -> tuple[UrlPrefix, T]:
        """Unregister by the identical original string; KeyError when no registration has exactly that string."""
        match = self._by_original.get(original)
        if match is None:
            raise KeyError(original)
        self._drop(match)
        return match.prefix, match.target

    def remove_where(self, pred: Callable[[T], bool]) -> list[UrlPrefix]:
        """Unregister every entry whose target satisfies `pred` (e.g. a closed URL group); returns them."""
        doomed = [match for match in self._by_original.values() if pred(match.target)]
        for match in doomed:
            self._drop(match)
        return [match.prefix for match in doomed]

    def _drop(self, match: RouteMatch[T]) -> None:
        prefix = match.prefix
        del self._by_original[prefix.original]
        del self._by_key[prefix.key]
        index = self._ports[prefix.port]
        index.delete(match)
        if index.count == 0:
            del self._ports[prefix.port]
        self._cache.clear()

    def ports(self) -> set[int]:
        """Ports with at least one registration (the ports that must be listened on)."""
        return set(self._ports)

    def count_on_port(self, port: int) -> int:
        index = self._ports.get(port)
        return 0 if index is None else index.count

    def entries(self) -> list[tuple[UrlPrefix, T]]:
        """Every registration, in registration order."""
        return [(match.prefix, match.target) for match in self._by_original.values()]

    def route(self, port: int, host: str | None, path: str, local_ip: str) -> RouteResult[T]:
        """Route a request: `host` without port (None/'' if absent), `path` cooked (decoded, no query)."""
        key = (port, host, path, local_ip)
        cache = self._cache
        result = cache.get(key)
        if result is not None:
            return result
        index = self._ports.get(port)
        result = NO_HOST if index is None else index.route(host, path, local_ip)
        if len(path) <= _CACHEABLE_PATH_LENGTH and (host is None or len(host) <= _CACHEABLE_HOST_LENGTH):
            if len(cache) >= ROUTE_CACHE_SIZE:
                del cache[next(iter(cache))]
            cache[key] = result
        return result
