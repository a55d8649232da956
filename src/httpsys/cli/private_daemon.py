"""The private daemon of `httpsys run --workers N` when no HTTPSYS_DAEMON_SOCKET is set: the shared driver in its
own process, for one command only, living exactly as long as its standard input is open.

Responsibility: run the daemon server (`httpsys._daemon.server.DaemonServer`, the same engine as `httpsys daemon`)
on the socket the supervisor chose inside its private 0700 directory, with the command line's driver-wide settings
(so `--host 127.0.0.1` listens on loopback only, `--max-connections` applies, as in embedded mode); print `ready`
on standard output once it accepts (or `failed MESSAGE`); stop — no new clients, in-flight responses finish within
the bound, exit 0, removing its socket and the (then empty) directory — when standard input reaches EOF, which is
the supervisor closing it or dying. SIGINT and SIGTERM are ignored: the supervisor orders the shutdown (URLs
drained first, workers next, the daemon last). It must not start workers or register URLs (`httpsys.cli.workers`
does).

Started as `python -m httpsys.cli.private_daemon JOB` with JOB a JSON object: socket, shutdown_timeout, and the
driver-wide values of `ServerOptions` (urls, max_field_length, max_request_bytes, max_connections, idle_timeout,
header_timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from typing import Any

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the private daemon until standard input closes; the exit status."""
    from httpsys._daemon.server import DaemonServer
    from httpsys._transport.embedded import new_event_loop
    from httpsys.cli.options import ServerOptions

    args = sys.argv[1:] if argv is None else argv
    job: dict[str, Any] = json.loads(args[0])
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="httpsys daemon: %(message)s")
    options = ServerOptions(
        urls=tuple(job["urls"]),
        max_field_length=job.get("max_field_length"),
        max_request_bytes=job.get("max_request_bytes"),
        max_connections=job.get("max_connections"),
        idle_timeout=job.get("idle_timeout"),
        header_timeout=job.get("header_timeout"),
    )
    path = str(job["socket"])
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        server = DaemonServer(path, loop, options.driver_settings())

        async def lifetime() -> bool:
            try:
                server.start()
            except OSError as exc:
                say(f"failed cannot listen at {path}: {exc.strerror or exc}")
                return False
            stop = asyncio.Event()

            def readable() -> None:
                try:
                    data = os.read(0, 4096)
                except BlockingIOError:
                    return
                except OSError:
                    data = b""
                if not data:
                    loop.remove_reader(0)
                    stop.set()

            os.set_blocking(0, False)
            loop.add_reader(0, readable)
            say("ready")
            await stop.wait()
            server.stop_accepting()
            return await server.drain(float(job["shutdown_timeout"]))

        started = loop.run_until_complete(lifetime())
        server.close()
        return 0 if started else 1
    finally:
        asyncio.set_event_loop(None)
        loop.close()
        with contextlib.suppress(OSError):  # the private directory, when the supervisor could not remove it
            os.rmdir(os.path.dirname(path))


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
