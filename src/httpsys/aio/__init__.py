"""The Pythonic asyncio face of httpsys: server sessions, URL groups, request queues, requests.

Responsibility: re-export the asyncio API. It holds no logic.
"""

from httpsys.aio.cache import CachePolicy
from httpsys.aio.headers import Headers
from httpsys.aio.objects import RequestQueue, ServerSession, UrlGroup, driver_for_loop, use_driver
from httpsys.aio.request import OpaqueStream, Request, ResponseWriter

__all__ = [
    "CachePolicy",
    "Headers",
    "OpaqueStream",
    "Request",
    "RequestQueue",
    "ResponseWriter",
    "ServerSession",
    "UrlGroup",
    "driver_for_loop",
    "use_driver",
]
