"""The cache policy a response is sent with: HTTP.sys's HTTP_CACHE_POLICY for the asyncio face.

Responsibility: one validated, immutable value that `Request.respond` and `Request.send_file` pass to the driver
as it is (it *is* the transport's `CachePolicy` record), so the asyncio face and the win32 face fill the driver's
response cache through the same driver call. A wrong value is an `InvalidParameterError` (ERROR_INVALID_PARAMETER)
when the policy is made, never later. It must not decide what is cacheable: the driver's response cache does.
"""

from __future__ import annotations

from httpsys._core.records import CachePolicy as _CachePolicyRecord
from httpsys.errors import InvalidParameterError

__all__ = ["CachePolicy"]

_ULONG_MAX = 0xFFFFFFFF


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class CachePolicy(_CachePolicyRecord):
    """How long the driver may answer later requests for this URL itself (HTTP_CACHE_POLICY).

    Example:
        ttl = httpsys.CachePolicy.time_to_live(60)
        await request.respond(200, {"Content-Type": "text/plain"}, b"cached for a minute", cache=ttl)

    `CachePolicy.time_to_live(seconds)` is HttpCachePolicyTimeToLive (0 seconds: not cached);
    `CachePolicy.user_invalidates()` is HttpCachePolicyUserInvalidates (until `RequestQueue.flush_cache` or a
    newer cacheable response for the URL); `CachePolicy.nocache()` is HttpCachePolicyNocache (as no policy).
    `CachePolicy(policy, seconds_to_live)` takes the struct's two members as numbers (`policy`: 0 Nocache,
    1 UserInvalidates, 2 TimeToLive; both are attributes of every policy). Whether a response is
    kept is the driver's decision (GET, status 200, sent whole, no Range ...: docs/logging-and-cache.md).
    """

    __slots__ = ()

    def __init__(self, policy: int, seconds_to_live: int = 0) -> None:
        if not _is_int(policy) or not 0 <= policy <= 2:
            raise InvalidParameterError(
                f"cache policy must be 0 (Nocache), 1 (UserInvalidates) or 2 (TimeToLive), not {policy!r}"
            )
        if not _is_int(seconds_to_live) or not 0 <= seconds_to_live <= _ULONG_MAX:
            raise InvalidParameterError(
                f"seconds_to_live must be an integer from 0 to {_ULONG_MAX}, not {seconds_to_live!r}"
            )
        if seconds_to_live and policy != 2:
            raise InvalidParameterError("seconds_to_live applies to the TimeToLive policy only")
        super().__init__(int(policy), int(seconds_to_live))

    @classmethod
    def time_to_live(cls, seconds: int) -> CachePolicy:
        """HttpCachePolicyTimeToLive: answered from the cache for `seconds` seconds (0: not cached).

        Example:
            await request.respond(200, headers, body, cache=httpsys.CachePolicy.time_to_live(300))
        """
        return cls(2, seconds)

    @classmethod
    def user_invalidates(cls) -> CachePolicy:
        """HttpCachePolicyUserInvalidates: answered from the cache until `RequestQueue.flush_cache` removes it
        (or a newer cacheable response for the URL replaces it; the scavenger drops entries nobody asks for).

        Example:
            await request.respond(200, headers, body, cache=httpsys.CachePolicy.user_invalidates())
            queue.flush_cache("http://+:8080/news/", recursive=True)
        """
        return cls(1)

    @classmethod
    def nocache(cls) -> CachePolicy:
        """HttpCachePolicyNocache: not cached (the same as passing no policy).

        Example:
            policy = httpsys.CachePolicy.nocache() if private else httpsys.CachePolicy.time_to_live(60)
        """
        return cls(0)

    def __repr__(self) -> str:
        if self.policy == 2:
            return f"CachePolicy.time_to_live({self.seconds_to_live})"
        return "CachePolicy.user_invalidates()" if self.policy == 1 else "CachePolicy.nocache()"
