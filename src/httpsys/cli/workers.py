"""`httpsys run APP --workers N`: the supervisor of N worker processes on one named request queue (the WAS role).

Responsibility: pick the daemon (HTTPSYS_DAEMON_SOCKET, or a private one started in a private 0700 temporary
directory and stopped with the command), create the server session, URL group and named request queue (as
CONTROLLER) and register the URLs there, so that a worker's death never drops a registration; spawn N fresh
worker processes (`python -m httpsys.cli.worker_process`, never a fork of this event-loop process) that open the
queue by name; replace a worker that dies, with exponential backoff when workers keep dying soon after they
start; report a worker that fails to start and exit non-zero when none does; and on SIGINT/SIGTERM stop in order:
drain the URLs (no new connections, in-flight responses finish), stop the workers (SIGTERM), close the queue,
stop the private daemon, exit 0. It must not import or run the application (the workers do) nor serve HTTP (the
daemon does).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from httpsys._core.status import Win32Error
from httpsys._transport import DAEMON_SOCKET_ENV, daemon_socket
from httpsys.aio import RequestQueue, ServerSession, UrlGroup
from httpsys.cli.diagnostics import EXIT_FAILURE, CommandError, code_name, failure
from httpsys.cli.hosting import StopSignals, console_logging, register_urls, say, warn
from httpsys.cli.options import ServerOptions
from httpsys.errors import HttpSysError

__all__ = ["BACKOFF_MAX", "QUICK_DEATH", "restart_delay", "run_workers"]

_CONTROLLER = 0x2  # HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER: the creator manages, its workers receive
QUICK_DEATH = 10.0  # a worker that dies sooner than this after it started counts towards a crash loop
BACKOFF_MAX = 30.0  # the longest wait before starting a worker again
_DAEMON_START = 20.0  # seconds the private daemon may take to accept
_GRACE = 3.0  # beyond --shutdown-timeout: the workers' lifespan shutdown and exit
_WATCH_PERIOD = 1.0  # seconds between two checks that the daemon still answers
_PROP_QUEUE_LENGTH = 4  # HttpServerQueueLengthProperty


def restart_delay(quick_deaths: int) -> float:
    """Seconds to wait before replacing a worker after `quick_deaths` quick deaths in a row in its slot: the first
    is replaced at once (a one-off crash), then 1, 2, 4, ... seconds, at most BACKOFF_MAX.

    >>> [restart_delay(n) for n in (0, 1, 2, 3, 4, 9)]
    [0.0, 0.0, 1.0, 2.0, 4.0, 30.0]
    """
    if quick_deaths <= 1:
        return 0.0
    return min(2.0 ** (quick_deaths - 2), BACKOFF_MAX)


def exit_reason(returncode: int) -> str:
    """'exit status 1', 'killed by SIGKILL'."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


@dataclass
class Worker:
    """One worker process and the supervisor's end of its control socket."""

    slot: int
    process: subprocess.Popen[bytes]
    control: socket.socket
    started: float
    ready: bool = False
    failure: tuple[int, str] | None = None
    pidfd: int = -1
    buffer: bytes = b""

    @property
    def pid(self) -> int:
        return self.process.pid


@dataclass
class PrivateDaemon:
    """The daemon process this command started for itself, and its private directory."""

    process: subprocess.Popen[bytes]
    directory: str
    path: str

    def stop(self, timeout: float) -> None:
        """Close its standard input (it drains and exits), wait, kill it if it does not; remove the directory."""
        try:
            if self.process.stdin is not None:
                with contextlib.suppress(OSError):
                    self.process.stdin.close()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                warn(f"the daemon process [{self.process.pid}] did not stop within {timeout:g} s: killed")
                self.process.kill()
                self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def _private_directory() -> str:
    """A new 0700 directory for the private daemon's socket (short enough for a Unix socket path)."""
    base = tempfile.gettempdir()
    if len(base) > 60:
        base = "/tmp"
    return tempfile.mkdtemp(prefix="httpsys-run-", dir=base)


async def start_private_daemon(options: ServerOptions) -> PrivateDaemon:
    """Start the private daemon with the command's driver-wide settings; returns once it accepts."""
    directory = _private_directory()
    path = os.path.join(directory, "httpsys.sock")
    job = {
        "socket": path,
        "shutdown_timeout": options.shutdown_timeout,
        "urls": list(options.urls),
        "max_field_length": options.max_field_length,
        "max_request_bytes": options.max_request_bytes,
        "max_connections": options.max_connections,
        "idle_timeout": options.idle_timeout,
        "header_timeout": options.header_timeout,
    }
    env = dict(os.environ)
    env.pop(DAEMON_SOCKET_ENV, None)
    env.pop("NOTIFY_SOCKET", None)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "httpsys.cli.private_daemon", json.dumps(job)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            process_group=0,  # Ctrl+C is the supervisor's: it stops the daemon last
        )
    except OSError as exc:
        shutil.rmtree(directory, ignore_errors=True)
        raise CommandError(f"cannot start the daemon process: {exc.strerror or exc}", EXIT_FAILURE)
    daemon = PrivateDaemon(process, directory, path)
    assert process.stdout is not None
    loop = asyncio.get_running_loop()
    try:
        line = await asyncio.wait_for(loop.run_in_executor(None, process.stdout.readline), _DAEMON_START)
    except TimeoutError:
        line = b""
    text = line.decode("utf-8", "replace").strip()
    if text != "ready":
        process.kill()
        daemon.stop(5.0)
        why = text.removeprefix("failed ") if text.startswith("failed ") else "it did not start"
        raise CommandError(f"cannot start the daemon process: {why}", EXIT_FAILURE)
    return daemon


@dataclass
class Supervisor:
    """Keeps `count` workers running on the queue until asked to stop."""

    job: dict[str, Any]
    count: int
    daemon_path: str
    workers: dict[int, Worker] = field(default_factory=dict)
    quick_deaths: dict[int, int] = field(default_factory=dict)
    starting: set[int] = field(default_factory=set)  # slots of the first round that have not reported yet
    stopping: bool = False
    ever_ready: bool = False
    first_failure: tuple[int, str] | None = None
    interface: str = ""
    startup_over: asyncio.Event = field(default_factory=asyncio.Event)
    all_gone: asyncio.Event = field(default_factory=asyncio.Event)
    deferred: dict[int, int] = field(default_factory=dict)  # slot -> quick deaths, waiting for a first start
    _timers: dict[int, asyncio.TimerHandle] = field(default_factory=dict)

    def start(self) -> None:
        self.starting = set(range(self.count))
        for slot in range(self.count):
            self.spawn(slot)

    # ----- one worker ------------------------------------------------------------------------------------------
    def spawn(self, slot: int) -> None:
        self._timers.pop(slot, None)
        if self.stopping:
            return
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        job = dict(self.job, control_fd=theirs.fileno())
        env = dict(os.environ)
        env[DAEMON_SOCKET_ENV] = self.daemon_path
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "httpsys.cli.worker_process", json.dumps(job)],
                stdin=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                env=env,
                process_group=0,  # Ctrl+C is the supervisor's: it drains the URLs before it stops the workers
            )
        except OSError as exc:
            ours.close()
            theirs.close()
            warn(f"cannot start a worker process: {exc.strerror or exc}; trying again in {BACKOFF_MAX:g} s")
            self._timers[slot] = loop.call_later(BACKOFF_MAX, self.spawn, slot)
            return
        theirs.close()
        ours.setblocking(False)
        worker = Worker(slot, process, ours, time.monotonic())
        self.workers[slot] = worker
        self.all_gone.clear()
        loop.add_reader(ours.fileno(), self._on_message, worker)
        try:
            worker.pidfd = os.pidfd_open(process.pid)
        except OSError:
            worker.pidfd = -1
        if worker.pidfd >= 0:
            loop.add_reader(worker.pidfd, self._on_exit, worker)
        else:
            self._poll_exit(worker)

    def _poll_exit(self, worker: Worker) -> None:
        """Without pidfd (Linux < 5.3): look for the worker's exit every 0.1 s."""
        if worker.process.poll() is not None:
            self._on_exit(worker)
        elif self.workers.get(worker.slot) is worker:
            asyncio.get_running_loop().call_later(0.1, self._poll_exit, worker)

    def _on_message(self, worker: Worker) -> None:
        try:
            data = worker.control.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(worker.control.fileno())
            return
        worker.buffer += data
        while b"\n" in worker.buffer:
            line, _, worker.buffer = worker.buffer.partition(b"\n")
            self._status(worker, line.decode("utf-8", "replace"))

    def _status(self, worker: Worker, line: str) -> None:
        word, _, rest = line.partition(" ")
        if word == "ready":
            worker.ready = True
            self.interface = rest.upper() or self.interface
            warn(f"started worker process [{worker.pid}]")
            if not self.ever_ready:
                self.ever_ready = True
                for slot, deaths in sorted(self.deferred.items()):
                    self._schedule(slot, deaths)
                self.deferred.clear()
            self._reported(worker.slot)
        elif word == "failed":
            status, _, message = rest.partition(" ")
            worker.failure = (int(status) if status.isdigit() else EXIT_FAILURE, message)

    def _reported(self, slot: int) -> None:
        if slot in self.starting:
            self.starting.discard(slot)
            if not self.starting:
                self.startup_over.set()

    def _on_exit(self, worker: Worker) -> None:
        loop = asyncio.get_running_loop()
        if worker.pidfd >= 0:
            loop.remove_reader(worker.pidfd)
            os.close(worker.pidfd)
            worker.pidfd = -1
        returncode = worker.process.wait()
        self._on_message(worker)  # a status line written just before the exit
        loop.remove_reader(worker.control.fileno())
        worker.control.close()
        if self.workers.get(worker.slot) is worker:
            del self.workers[worker.slot]
        if self.stopping:
            ending = "finished" if returncode == 0 else f"ended ({exit_reason(returncode)})"
            warn(f"worker process [{worker.pid}] {ending}")
        else:
            lived = time.monotonic() - worker.started
            if not worker.ready:
                status, message = worker.failure or (EXIT_FAILURE, f"it ended ({exit_reason(returncode)})")
                if self.first_failure is None:
                    self.first_failure = (status, message)
                warn(f"worker process [{worker.pid}] failed to start: {message}")
                quick = True
            else:
                quick = lived < QUICK_DEATH
                after = f" {lived:.1f} s after it started" if quick else ""
                ended = "exited" if returncode == 0 else f"died ({exit_reason(returncode)})"
                warn(f"worker process [{worker.pid}] {ended}{after}")
            deaths = self.quick_deaths.get(worker.slot, 0) + 1 if quick else 0
            self.quick_deaths[worker.slot] = deaths
            if self.ever_ready:
                self._schedule(worker.slot, deaths)
            else:  # until some worker starts; if none does, the command stops
                self.deferred[worker.slot] = deaths
        self._reported(worker.slot)
        if not self.workers:
            self.all_gone.set()

    def _schedule(self, slot: int, deaths: int) -> None:
        """Start a new worker in `slot`: at once, or after the crash-loop backoff."""
        if self.stopping:
            return
        delay = restart_delay(deaths)
        if delay:
            warn(
                f"workers keep dying soon after they start ({deaths} in a row): "
                f"starting the next one in {delay:g} s"
            )
        else:
            warn("starting a new worker process")
        self._timers[slot] = asyncio.get_running_loop().call_later(delay, self.spawn, slot)

    # ----- stopping ----------------------------------------------------------------------------------------------
    def stop_all(self) -> None:
        """SIGTERM every worker (each finishes what it holds and exits)."""
        self.stopping = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if not self.workers:
            self.all_gone.set()
        for worker in list(self.workers.values()):
            with contextlib.suppress(ProcessLookupError):
                worker.process.send_signal(signal.SIGTERM)

    def kill_all(self) -> None:
        for worker in list(self.workers.values()):
            with contextlib.suppress(ProcessLookupError):
                worker.process.kill()


def _worker_job(
    options: ServerOptions,
    spec: str,
    queue: str,
    *,
    app_dir: str,
    interface: str,
    threads: int,
    root_path: str,
    lifespan: str,
) -> dict[str, Any]:
    return {
        "app": spec,
        "app_dir": os.path.abspath(app_dir),
        "interface": interface,
        "threads": threads,
        "root_path": root_path,
        "lifespan": lifespan,
        "queue": queue,
        "urls": list(options.urls),
        "shutdown_timeout": options.shutdown_timeout,
        "access_log": options.access_log,
    }


async def run_workers(
    options: ServerOptions,
    spec: str,
    count: int,
    *,
    app_dir: str = ".",
    interface: str = "auto",
    threads: int = 8,
    root_path: str = "",
    lifespan: str = "auto",
) -> int:
    """`httpsys run SPEC --workers COUNT`: serve until SIGINT/SIGTERM with COUNT worker processes; the exit status."""
    from httpsys.cli.remote_driver import connect_daemon

    if not os.path.isdir(app_dir):
        raise CommandError(f"cannot import {spec!r}: --app-dir {app_dir!r} is not a directory")
    console_logging(options.access_log)
    signals = StopSignals()
    signals.install()
    warn(f"started parent process [{os.getpid()}]")
    private: PrivateDaemon | None = None
    transport = None
    session: ServerSession | None = None
    queue: RequestQueue | None = None
    supervisor: Supervisor | None = None
    try:
        path = daemon_socket()
        if path is None:
            private = await start_private_daemon(options)
            path = private.path
            warn(f"started daemon process [{private.process.pid}] at {path} (private to this command)")
            transport = connect_daemon(options, path)
        else:
            transport = connect_daemon(options)  # says which options the daemon's own values override
            warn(f"using the httpsys daemon at {path} ({DAEMON_SOCKET_ENV})")
        session = ServerSession(transport=transport)
        name = options.queue_name or f"httpsys-run-{os.getpid()}"
        try:
            session.open()
            code, handle = transport.create_request_queue(name, _CONTROLLER, False)
            if code == int(Win32Error.ERROR_ALREADY_EXISTS):
                raise CommandError(
                    f"a request queue named {name!r} exists already in the daemon at {path} "
                    "(another command serving it? choose another --queue)"
                )
            if code != int(Win32Error.NO_ERROR):
                raise CommandError(
                    f"creating the request queue {name!r} failed ({code_name(code)})", EXIT_FAILURE
                )
            queue = RequestQueue(transport, handle, name)
            group = session.url_group()
            group.bind(queue)
        except HttpSysError as exc:
            raise failure(exc, "creating the request queue")
        register_urls(group, options.urls)
        job = _worker_job(
            options,
            spec,
            name,
            app_dir=app_dir,
            interface=interface,
            threads=threads,
            root_path=root_path,
            lifespan=lifespan,
        )
        supervisor = Supervisor(job, count, path)
        supervisor.start()
        status = await _supervise(supervisor, session, [group], queue, options, signals, spec)
        return status
    finally:
        if supervisor is not None and supervisor.workers:
            supervisor.kill_all()  # only after a failure of the command itself: the normal path stopped them
        if queue is not None:
            queue.close()
        if session is not None:
            session.close()
        if transport is not None:
            transport.close()
        if private is not None:
            private.stop(options.shutdown_timeout + _GRACE)
        warn(f"stopping parent process [{os.getpid()}]")
        signals.remove()


async def _watch_daemon(queue: RequestQueue, lost: asyncio.Event) -> None:
    """Every second, ask the daemon about the queue; set `lost` once it no longer answers (it died or closed)."""
    while True:
        await asyncio.sleep(_WATCH_PERIOD)
        code, _ = queue.transport.query_queue_property(queue.handle, _PROP_QUEUE_LENGTH)
        if code != int(Win32Error.NO_ERROR):
            lost.set()
            return


async def _supervise(
    supervisor: Supervisor,
    session: ServerSession,
    groups: list[UrlGroup],
    queue: RequestQueue,
    options: ServerOptions,
    signals: StopSignals,
    spec: str,
) -> int:
    """Wait for the first round, serve until a stop signal, then stop in order; the exit status."""
    lost = asyncio.Event()
    watch = asyncio.ensure_future(_watch_daemon(queue, lost))
    try:
        return await _serve_then_stop(supervisor, session, groups, options, signals, spec, lost)
    finally:
        watch.cancel()


async def _serve_then_stop(
    supervisor: Supervisor,
    session: ServerSession,
    groups: list[UrlGroup],
    options: ServerOptions,
    signals: StopSignals,
    spec: str,
    lost: asyncio.Event,
) -> int:
    stopping = asyncio.ensure_future(signals.stop.wait())
    gone = asyncio.ensure_future(lost.wait())
    first_round = asyncio.ensure_future(supervisor.startup_over.wait())
    await asyncio.wait({stopping, first_round, gone}, return_when=asyncio.FIRST_COMPLETED)
    first_round.cancel()
    if not supervisor.ever_ready and supervisor.startup_over.is_set() and not gone.done():
        stopping.cancel()
        status, message = supervisor.first_failure or (EXIT_FAILURE, "no worker process started")
        supervisor.stop_all()
        await _wait_gone(supervisor, 5.0)
        raise CommandError(f"no worker process started: {message}", status)
    if not stopping.done() and not gone.done():
        kind = f" ({supervisor.interface})" if supervisor.interface else ""
        say(
            f"httpsys running {spec}{kind} at {', '.join(options.urls)} with {supervisor.count} worker processes "
            "— Ctrl+C to stop"
        )
        await asyncio.wait({stopping, gone}, return_when=asyncio.FIRST_COMPLETED)
    if gone.done():
        stopping.cancel()
        supervisor.stop_all()
        if not await _wait_gone(supervisor, options.shutdown_timeout + _GRACE):
            supervisor.kill_all()
            await _wait_gone(supervisor, 5.0)
        raise CommandError(f"the httpsys daemon at {supervisor.daemon_path} went away", EXIT_FAILURE)
    gone.cancel()
    timeout = options.shutdown_timeout
    busy = int(session.transport.statistics().get("requests_in_flight", 0))
    warn(f"stopping: finishing {busy} request(s) in flight (up to {timeout:g} s)" if busy else "stopping")
    deadline = time.monotonic() + timeout
    # The URLs first: no new connections, idle keep-alive ones closed, the others closed after their current
    # response; the workers go on receiving meanwhile, so whatever was queued or arrives on those connections is
    # answered. Then the workers, which have nothing left to do.
    with contextlib.suppress(HttpSysError):
        await session.drain((), timeout, signals.force)
    with contextlib.suppress(HttpSysError):
        for group in groups:  # nothing new is routed to the queue once its workers are told to stop
            group.remove_url(None)
    supervisor.stop_all()
    if not await _wait_gone(supervisor, max(0.0, deadline - time.monotonic()) + _GRACE, signals.force):
        left = len(supervisor.workers)
        warn(f"{left} worker process(es) did not stop within {timeout:g} s: killed")
        supervisor.kill_all()
        await _wait_gone(supervisor, 5.0)
    return 0


async def _wait_gone(supervisor: Supervisor, timeout: float, force: asyncio.Event | None = None) -> bool:
    """Wait until every worker has exited (True), `timeout` passes or `force` is set (False)."""
    gone = asyncio.ensure_future(supervisor.all_gone.wait())
    waits: set[asyncio.Future[Any]] = {gone}
    if force is not None:
        waits.add(asyncio.ensure_future(force.wait()))
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for fut in waits:
            fut.cancel()
    return supervisor.all_gone.is_set()
