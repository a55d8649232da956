"""One worker process of `httpsys run --workers N`: import the application, open the supervisor's named request
queue through the daemon, serve it, and stop gracefully.

Responsibility: what a worker does between its spawn and its exit — import the application and tell ASGI from WSGI
(as `httpsys run` does), open the queue the supervisor created (HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING; no URL
registration of its own), run the lifespan startup, tell the supervisor `ready` or `failed STATUS MESSAGE` on its
control socket, and stop gracefully (in-flight requests finish within --shutdown-timeout) on SIGTERM or when the
supervisor's end of the control socket closes (the supervisor died). SIGINT is ignored: Ctrl+C is the
supervisor's, which drains the URLs before it stops the workers. It must not register URLs, start workers or a
daemon (`httpsys.cli.workers` does), nor speak ASGI/WSGI itself (the adapters do).

Started as `python -m httpsys.cli.worker_process JOB` with JOB a JSON object (see `httpsys.cli.workers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from typing import Any, cast

from httpsys._transport import daemon_socket
from httpsys.aio import use_driver
from httpsys.cli.diagnostics import EXIT_FAILURE, CommandError
from httpsys.cli.hosting import console_logging, run_command, wait_or_force
from httpsys.cli.options import ServerOptions
from httpsys.cli.run import (
    Interface,
    describe_failure,
    detect_interface,
    lingering_threads,
    load_app,
    make_server,
)

__all__ = ["main"]

_LIFESPAN_GRACE = 2.0


class ControlChannel:
    """The worker's end of its socket pair with the supervisor: status lines out, EOF in (the supervisor died)."""

    def __init__(self, fd: int) -> None:
        self.sock = socket.socket(fileno=fd)
        self.sock.set_inheritable(False)  # the application's own child processes must not keep it open

    def tell(self, line: str) -> None:
        """Send one status line (best effort: a supervisor that is gone cannot be told anything)."""
        with contextlib.suppress(OSError):
            self.sock.setblocking(True)
            self.sock.sendall((" ".join(line.split("\n")) + "\n").encode("utf-8", "replace"))

    def watch(self, loop: asyncio.AbstractEventLoop, lost: asyncio.Event) -> None:
        """Set `lost` when the supervisor's end closes."""
        self.sock.setblocking(False)

        def readable() -> None:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(self.sock.fileno())
                lost.set()

        loop.add_reader(self.sock.fileno(), readable)


async def serve_worker(
    job: dict[str, Any], app: object, interface: Interface, control: ControlChannel
) -> int:
    """Serve `app` on the job's queue until SIGTERM or the supervisor's end; the exit status."""
    options = ServerOptions(
        urls=tuple(job["urls"]),
        queue_name=job["queue"],
        shutdown_timeout=float(job["shutdown_timeout"]),
        access_log=bool(job["access_log"]),
    )
    console_logging(options.access_log)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    control.watch(loop, stop)
    from httpsys.cli.remote_driver import connect_daemon

    transport = connect_daemon(options, daemon_socket())
    try:
        use_driver(transport)
        server = make_server(
            app,
            interface,
            options,
            threads=int(job["threads"]),
            root_path=str(job["root_path"]),
            lifespan=str(job["lifespan"]),
            open_existing=True,
        )
        task = asyncio.ensure_future(server.run(stop))
        started = getattr(server, "started", None)
        assert isinstance(started, asyncio.Event)
        ready = asyncio.ensure_future(started.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if task.done():  # the lifespan startup failed, or the queue could not be opened
            failure = task.exception() if not task.cancelled() else None
            message = describe_failure(failure) if failure is not None else "stopped before it served"
            control.tell(f"failed {EXIT_FAILURE} {message}")
            return EXIT_FAILURE
        control.tell(f"ready {interface}")
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if task.done():  # stopped by itself: the daemon went away, or the queue was closed under it
            failure = task.exception() if not task.cancelled() else None
            if failure is not None:
                sys.stderr.write(f"httpsys: worker process [{os.getpid()}]: {describe_failure(failure)}\n")
            return EXIT_FAILURE
        timeout = options.shutdown_timeout
        if not await wait_or_force(task, timeout + _LIFESPAN_GRACE, asyncio.Event()):
            task.cancel()
            await asyncio.wait({task}, timeout=2.0)
        return 0
    finally:
        transport.close()


def main(argv: list[str] | None = None) -> int:
    """The worker's life; its exit status (the supervisor reads `failed` lines for the reason)."""
    args = sys.argv[1:] if argv is None else argv
    job: dict[str, Any] = json.loads(args[0])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    control = ControlChannel(int(job["control_fd"]))
    try:
        app = load_app(str(job["app"]), str(job["app_dir"]))
        wanted = str(job["interface"])
        interface = detect_interface(app, str(job["app"])) if wanted == "auto" else cast(Interface, wanted)
        status = run_command(lambda: serve_worker(job, app, interface, control))
    except CommandError as exc:
        control.tell(f"failed {exc.status} {exc.message}")
        return exc.status
    if lingering_threads():  # WSGI threads stuck in the application after the shutdown bound
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
