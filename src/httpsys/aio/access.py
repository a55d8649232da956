"""The access log of servers built on the asyncio face (the ASGI and WSGI servers, the command's sites).

Responsibility: one line per response, in uvicorn's shape (`127.0.0.1:54321 - "GET / HTTP/1.1" 200`), on the
`httpsys.access` logger at INFO level, from the request and the status it was answered with. It must not configure
logging (handlers and levels are the application's or the command's), and servers call it only while their access
log is on, so a server with the log off does no per-request work for it.
"""

from __future__ import annotations

import logging

from httpsys.aio.request import Request

ACCESS_LOGGER = "httpsys.access"

_logger = logging.getLogger(ACCESS_LOGGER)


def log_access(request: Request, status: int) -> None:
    """Log the response `status` to `request` on the `httpsys.access` logger.

    The target is the request's raw URL as the client sent it; bytes that are not printable ASCII are escaped,
    so a line cannot carry terminal control sequences.

    Example:
        await request.respond(200, {"Content-Type": "text/plain"}, b"hello")
        log_access(request, 200)    # INFO httpsys.access: 127.0.0.1:54321 - "GET / HTTP/1.1" 200
    """
    if not _logger.isEnabledFor(logging.INFO):
        return
    snap = request.snapshot
    host, port = snap.remote_addr
    _logger.info(
        '%s:%d - "%s %s HTTP/%d.%d" %d',
        f"[{host}]" if ":" in host else host,
        port,
        _printable(snap.method),
        _printable(snap.raw_url),
        snap.version[0],
        snap.version[1],
        status,
    )


def _printable(data: bytes) -> str:
    """`data` as ASCII with everything else (controls, non-ASCII bytes) as escapes."""
    text = data.decode("ascii", "backslashreplace")
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
