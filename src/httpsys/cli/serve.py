"""`httpsys serve DIR`: static files on URL prefixes, and the site hosting that `httpsys demo` shares.

Responsibility: create the server session, request queue and URL group for a site, hand each request (with its
path segments below the URL prefix it was routed by) to a site handler, print the banner, and stop gracefully on
SIGINT/SIGTERM. It must not decide how files are answered: `static_files` does.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Literal

from httpsys.aio import Request, ServerSession
from httpsys.aio.access import log_access
from httpsys.cli.diagnostics import CommandError, failure
from httpsys.cli.hosting import (
    CommandDriver,
    RequestDispatcher,
    StopSignals,
    console_logging,
    host_driver,
    register_urls,
    say,
    warn,
)
from httpsys.cli.options import ServerOptions
from httpsys.cli.static_files import StaticFiles, segments_below
from httpsys.errors import HttpSysError

SiteHandler = Callable[[Request, list[str]], Awaitable[int]]
"""A site's request handler: answers the request for the path segments below its URL prefix and returns the
status it answered with (what the access log shows)."""


async def _answer_failure(request: Request, exc: BaseException) -> int:
    """500 for a handler that failed; the status logged (0: nothing could be sent, the request was reset)."""
    sys.stderr.write(f"httpsys: error answering {request.method} {request.url}:\n")
    traceback.print_exception(exc, file=sys.stderr)
    try:
        await request.respond(
            500, {"Content-Type": "text/plain; charset=utf-8"}, b"500 Internal Server Error\n"
        )
    except (RuntimeError, ConnectionError, HttpSysError):
        request.cancel()  # the response had started: reset the connection rather than send a broken body
        return 0
    return 500


async def host_site(
    options: ServerOptions, make_handler: Callable[[CommandDriver], SiteHandler], banner: str
) -> int:
    """Serve the handler `make_handler(driver)` returns on the options' URL prefixes until SIGINT/SIGTERM;
    the exit status (0)."""
    console_logging(options.access_log)
    signals = StopSignals()
    signals.install()
    transport = host_driver(options)
    session = ServerSession(transport=transport)
    try:
        try:
            session.open()
            queue = session.request_queue(options.queue_name)
            group = session.url_group()
            group.bind(queue)
        except HttpSysError as exc:
            raise failure(exc, "creating the request queue")
        prefixes = register_urls(group, options.urls)
        handler = make_handler(transport)
        depths = [sum(1 for part in prefix.path.split("/") if part) for prefix in prefixes]
        access_log = options.access_log

        async def on_request(request: Request) -> None:
            context = request.url_context
            depth = depths[context] if 0 <= context < len(depths) else 0
            try:
                status = await handler(request, segments_below(request.path, depth))
            except (ConnectionError, HttpSysError):
                raise
            except Exception as exc:
                status = await _answer_failure(request, exc)
            if access_log and status:
                log_access(request, status)

        dispatcher = RequestDispatcher(queue, on_request)
        dispatcher.start()
        say(banner)
        await signals.stop.wait()
        busy = len(dispatcher.in_flight)
        timeout = options.shutdown_timeout
        warn(f"stopping: finishing {busy} request(s) in flight (up to {timeout:g} s)" if busy else "stopping")
        abandoned = await dispatcher.drain(session, timeout, signals.force)
        if abandoned:
            warn(f"{abandoned} request(s) did not finish within {timeout:g} s and were abandoned")
        return 0
    finally:
        session.close()
        transport.close()
        signals.remove()


async def serve_directory(
    options: ServerOptions,
    directory: str,
    *,
    listing: bool = False,
    cache_ttl: int | None = None,
    etag: Literal["strong", "weak"] = "strong",
) -> int:
    """`httpsys serve`: the files of `directory` on the options' URL prefixes."""
    try:
        files = StaticFiles(directory, listing=listing, cache_ttl=cache_ttl, etag=etag)
    except (NotADirectoryError, OSError):
        raise CommandError(f"cannot serve {directory!r}: not a directory")
    banner = f"httpsys serving {files.root} at {', '.join(options.urls)} — Ctrl+C to stop"
    if not os.access(files.root, os.R_OK | os.X_OK):
        raise CommandError(f"cannot serve {directory!r}: permission denied")
    return await host_site(options, lambda _driver: files.respond, banner)
