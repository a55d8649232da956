"""httpsys: the Windows HTTP Server API (HTTP.sys) for Python on Linux.

This module only re-exports the Pythonic asyncio face and the error types; it holds no logic.

Example:
    import asyncio, httpsys

    async def main():
        async with httpsys.ServerSession() as session:
            async with session.request_queue() as queue:
                group = session.url_group()
                group.add_url("http://+:8080/")
                group.bind(queue)
                async for request in queue:
                    await request.respond(200, {"Content-Type": "text/plain"}, b"Hello, world!")

    asyncio.run(main())
"""

from __future__ import annotations

from httpsys._core.verbosity import Verbosity503
from httpsys.aio import (
    CachePolicy,
    Headers,
    OpaqueStream,
    Request,
    RequestQueue,
    ResponseWriter,
    ServerSession,
    UrlGroup,
)
from httpsys.errors import HttpSysError

__version__ = "0.1.0"

__all__ = [
    "CachePolicy",
    "Headers",
    "HttpSysError",
    "OpaqueStream",
    "Request",
    "RequestQueue",
    "ResponseWriter",
    "ServerSession",
    "UrlGroup",
    "Verbosity503",
    "__version__",
]
