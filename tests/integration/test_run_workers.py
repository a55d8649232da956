"""`httpsys run APP --workers N` as an operator runs it: a real supervisor subprocess, its worker processes and its
private daemon (or a daemon already running), HTTP clients on loopback, signals and exit statuses.

Each worker answers with its pid, so the tests see which process served what. Every process a test starts is
stopped (the supervisor's own children included) before the test ends.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ports import free_port

from httpsys.cli.workers import BACKOFF_MAX, exit_reason, restart_delay

TESTS_DIR = Path(__file__).resolve().parents[1]

PID_ASGI = """
import asyncio, os

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/slow":
        await asyncio.sleep(0.3)
    body = b"pid %d" % os.getpid()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
"""

PID_WSGI = """
import os

def app(environ, start_response):
    body = b"pid %d multiprocess %r" % (os.getpid(), environ["wsgi.multiprocess"])
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""

# Every worker dies 0.2 s after its lifespan startup while the file `crash` exists next to the module.
CRASHING_ASGI = """
import asyncio, os

CRASH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "crash")

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        message = await receive()
        if os.path.exists(CRASH):
            asyncio.get_running_loop().call_later(0.2, os._exit, 3)
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = b"pid %d" % os.getpid()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})
"""

FAILING_LIFESPAN = """
async def app(scope, receive, send):
    assert scope["type"] == "lifespan"
    await receive()
    await send({"type": "lifespan.startup.failed", "message": "no database"})
"""


# ----------------------------------------------------------------------------------------------- helpers
class Supervisor:
    """`python -m httpsys.cli run ARGS` in `cwd`, its stdout and stderr in files (readable while it runs)."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.out_path = cwd / "supervisor.out"
        self.err_path = cwd / "supervisor.err"
        environment = dict(os.environ if env is None else env)
        if env is None:
            environment.pop("HTTPSYS_DAEMON_SOCKET", None)
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "httpsys.cli", "run", *args], cwd=cwd, stdout=out, stderr=err, env=environment
            )
        self.children_seen: set[int] = set()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def out(self) -> str:
        return self.out_path.read_text(errors="replace")

    def err(self) -> str:
        return self.err_path.read_text(errors="replace")

    def children(self) -> set[int]:
        """The supervisor's child processes now (workers and a private daemon)."""
        try:
            text = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except OSError:
            return set()
        pids = {int(p) for p in text.split()}
        self.children_seen |= pids
        return pids

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.children()
            if condition():
                return
            if self.proc.poll() is not None:
                pytest.fail(f"the command exited with {self.proc.returncode} waiting for {what}: {self.err()}")
            time.sleep(0.05)
        pytest.fail(f"timed out waiting for {what}: {self.err()}")

    def wait_running(self) -> None:
        self.wait_for(lambda: "httpsys running" in self.out(), "the banner")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def kill_everything(self) -> None:
        """After the test: nothing it started may live on."""
        self.children()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        deadline = time.monotonic() + 10  # its workers and daemon stop by themselves (and clean up) once it is gone
        while time.monotonic() < deadline and any(alive(pid) for pid in self.children_seen):
            time.sleep(0.05)
        for pid in self.children_seen:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def supervisors() -> Iterator[list[Supervisor]]:
    made: list[Supervisor] = []
    yield made
    for supervisor in made:
        supervisor.kill_everything()


def get(port: int, path: str = "/", timeout: float = 10.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def pid_of(body: bytes) -> int:
    match = re.match(rb"pid (\d+)", body)
    assert match, body
    return int(match.group(1))


def serving_pids(port: int, want: int, timeout: float = 20.0) -> set[int]:
    """Request until `want` different worker pids have answered."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < want and time.monotonic() < deadline:
        status, body = get(port)
        assert status == 200, body
        seen.add(pid_of(body))
    assert len(seen) >= want, seen
    return seen


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the TCP sockets listening on `port` (IPv4 only, from /proc/net/tcp; IPv6 ones as
    'ipv6')."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                address, _, hex_port = fields[1].rpartition(":")
                if fields[3] == "0A" and int(hex_port, 16) == port:
                    found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]) if len(address) == 8 else "ipv6")
    return found


def app_dir(tmp_path: Path, source: str, name: str = "site") -> Path:
    directory = tmp_path / name
    directory.mkdir()
    (directory / "app.py").write_text(source)
    return directory


def private_daemon(err: str) -> tuple[int, str]:
    """(pid, socket path) of the private daemon from the supervisor's log line."""
    match = re.search(r"started daemon process \[(\d+)\] at (\S+) \(private", err)
    assert match, err
    return int(match.group(1)), match.group(2)


# ----------------------------------------------------------------------------------------------- the policy
def test_restart_delay_backs_off_exponentially_after_the_second_quick_death() -> None:
    assert [restart_delay(n) for n in range(0, 8)] == [0.0, 0.0, 1.0, 2.0, 4.0, 8.0, 16.0, BACKOFF_MAX]
    assert restart_delay(50) == BACKOFF_MAX


def test_exit_reasons_name_the_signal_or_the_status() -> None:
    assert exit_reason(-9) == "killed by SIGKILL"
    assert exit_reason(3) == "exit status 3"


# ----------------------------------------------------------------------------------------------- serving
def test_two_asgi_workers_both_serve_through_a_private_daemon_and_sigterm_exits_0(
    tmp_path: Path, supervisors: list[Supervisor]
) -> None:
    site = app_dir(tmp_path, PID_ASGI)
    port = free_port()
    supervisor = Supervisor(["app:app", "--workers", "2", "--host", "127.0.0.1", "--port", str(port),
                             "--no-access-log"], site)  # fmt: skip
    supervisors.append(supervisor)
    supervisor.wait_running()
    workers = serving_pids(port, 2)
    daemon_pid, socket_path = private_daemon(supervisor.err())
    directory = os.path.dirname(socket_path)
    assert os.stat(directory).st_mode & 0o777 == 0o700
    assert supervisor.children() == workers | {daemon_pid}
    assert supervisor.pid not in workers
    assert listening_addresses(port) == {"127.0.0.1"}  # --host reached the private daemon's IP listen list
    err = supervisor.err()
    assert f"started parent process [{supervisor.pid}]" in err
    for pid in workers:
        assert f"started worker process [{pid}]" in err
    assert "(ASGI)" in supervisor.out() and "with 2 worker processes" in supervisor.out()
    assert supervisor.stop() == 0
    assert not os.path.exists(directory)  # the private daemon's directory went with it
    for pid in (*workers, daemon_pid):
        assert not alive(pid), pid
    err = supervisor.err()
    assert "Traceback" not in err
    for pid in workers:
        assert f"worker process [{pid}] finished" in err


def test_wsgi_workers_serve_and_say_multiprocess(tmp_path: Path, supervisors: list[Supervisor]) -> None:
    site = app_dir(tmp_path, PID_WSGI)
    port = free_port()
    supervisor = Supervisor(["app:app", "--workers", "2", "--port", str(port), "--no-access-log"], site)
    supervisors.append(supervisor)
    supervisor.wait_running()
    assert "(WSGI)" in supervisor.out()
    workers = serving_pids(port, 2)
    status, body = get(port)
    assert status == 200 and body.endswith(b"multiprocess True")
    assert supervisor.stop() == 0
    assert not any(alive(pid) for pid in workers)


def test_a_sigkilled_worker_is_replaced_and_the_other_serves_meanwhile(
    tmp_path: Path, supervisors: list[Supervisor]
) -> None:
    site = app_dir(tmp_path, PID_ASGI)
    port = free_port()
    supervisor = Supervisor(["app:app", "--workers", "2", "--port", str(port), "--no-access-log"], site)
    supervisors.append(supervisor)
    supervisor.wait_running()
    first, second = sorted(serving_pids(port, 2))
    os.kill(first, signal.SIGKILL)
    supervisor.wait_for(lambda: f"worker process [{first}] died (killed by SIGKILL)" in supervisor.err(), "the death")
    time.sleep(0.2)  # the daemon has seen the dead worker's connection close (its posted receives went with it)
    statuses: list[int] = []
    pids: set[int] = set()
    errors: list[BaseException] = []

    def client() -> None:
        for _ in range(25):
            try:
                status, body = get(port)
            except OSError as exc:
                errors.append(exc)
                continue
            statuses.append(status)
            pids.add(pid_of(body))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and statuses == [200] * 100
    assert first not in pids and second in pids
    replacement = re.compile(r"started worker process \[(\d+)\]")
    supervisor.wait_for(lambda: len(replacement.findall(supervisor.err())) >= 3, "the replacement")
    new = {int(p) for p in replacement.findall(supervisor.err())} - {first, second}
    assert len(new) == 1
    assert serving_pids(port, 2) == {second, *new}  # the replacement takes its share of the requests
    assert supervisor.stop() == 0


@pytest.mark.parametrize("source", [PID_ASGI, PID_WSGI], ids=["asgi", "wsgi"])
def test_a_worker_sigtermed_alone_under_load_leaves_without_losing_a_request(
    tmp_path: Path, supervisors: list[Supervisor], source: str
) -> None:
    site = app_dir(tmp_path, source)
    port = free_port()
    supervisor = Supervisor(["app:app", "--workers", "2", "--port", str(port), "--no-access-log"], site)
    supervisors.append(supervisor)
    supervisor.wait_running()
    first = min(serving_pids(port, 2))
    done = threading.Event()
    lock = threading.Lock()
    statuses: list[int] = []
    errors: list[str] = []

    def client() -> None:
        while not done.is_set():
            try:
                status, _ = get(port)
            except OSError as exc:
                with lock:
                    errors.append(repr(exc))
                continue
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    os.kill(first, signal.SIGTERM)  # while requests keep arriving for its queue
    supervisor.wait_for(lambda: f"worker process [{first}] exited" in supervisor.err(), "its exit")
    time.sleep(0.5)
    done.set()
    for thread in threads:
        thread.join(30)
    assert errors == [] and len(statuses) > 20 and set(statuses) == {200}
    assert not alive(first)
    replacement = re.compile(r"started worker process \[(\d+)\]")
    supervisor.wait_for(lambda: len(replacement.findall(supervisor.err())) >= 3, "the replacement")
    assert supervisor.stop() == 0


def test_sigterm_under_keepalive_load_answers_every_request_2xx_and_exits_0(
    tmp_path: Path, supervisors: list[Supervisor]
) -> None:
    site = app_dir(tmp_path, PID_ASGI)
    port = free_port()
    supervisor = Supervisor(["app:app", "--workers", "2", "--port", str(port), "--no-access-log"], site)
    supervisors.append(supervisor)
    supervisor.wait_running()
    serving_pids(port, 2)
    signalled = threading.Event()
    lock = threading.Lock()
    statuses: list[int] = []
    after_signal: list[int] = []
    broken: list[str] = []  # a response cut short, or a request the server took and never answered

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        while True:
            reused = conn.sock is not None
            try:
                conn.request("GET", "/slow")
                response = conn.getresponse()
                response.read()
            except ConnectionRefusedError:
                return  # the listener is gone: the stop is complete
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                conn.close()
                if reused and signalled.is_set():
                    continue  # an idle keep-alive connection closed by the drain: a client retries
                with lock:
                    broken.append(repr(exc))
                return
            except (http.client.IncompleteRead, OSError) as exc:
                with lock:
                    broken.append(repr(exc))
                return
            with lock:
                statuses.append(response.status)
                if signalled.is_set():
                    after_signal.append(response.status)
            if response.will_close:
                conn.close()

    threads = [threading.Thread(target=client) for _ in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    supervisor.proc.send_signal(signal.SIGTERM)
    signalled.set()
    for thread in threads:
        thread.join(60)
    assert supervisor.proc.wait(30) == 0
    assert broken == []
    assert statuses and all(200 <= s < 300 for s in statuses), statuses
    assert len(after_signal) >= 3  # the requests in flight at SIGTERM were answered, not reset


def test_a_crash_loop_backs_off_and_recovers_once_the_cause_is_gone(
    tmp_path: Path, supervisors: list[Supervisor]
) -> None:
    site = app_dir(tmp_path, CRASHING_ASGI)
    (site / "crash").touch()
    port = free_port()
    supervisor = Supervisor(["app:app", "--workers", "2", "--port", str(port), "--no-access-log"], site)
    supervisors.append(supervisor)
    supervisor.wait_for(lambda: "starting the next one in 2 s" in supervisor.err(), "a 2 s backoff", 60)
    err = supervisor.err()
    assert "starting the next one in 1 s" in err
    assert err.index("starting the next one in 1 s") < err.index("starting the next one in 2 s")
    assert re.search(r"died \(exit status 3\) \d+\.\d s after it started", err)
    deaths_at_2s = err.count("died (exit status 3)")
    started = time.monotonic()
    time.sleep(1.5)  # within a backoff: no worker of that slot is started, so deaths slow down
    assert supervisor.err().count("died (exit status 3)") - deaths_at_2s <= 2
    (site / "crash").unlink()
    deadline = started + 40
    while time.monotonic() < deadline:
        try:
            status, _ = get(port, timeout=2)
        except OSError:
            time.sleep(0.2)
            continue
        if status == 200:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"never recovered: {supervisor.err()}")
    assert supervisor.stop() == 0


def test_workers_use_the_daemon_already_set_and_start_none_of_their_own(
    tmp_path: Path, supervisors: list[Supervisor]
) -> None:
    sys.path.insert(0, str(TESTS_DIR))
    try:
        from conformance.daemon_process import DaemonProcess
    finally:
        sys.path.remove(str(TESTS_DIR))
    daemon = DaemonProcess()
    try:
        site = app_dir(tmp_path, PID_ASGI)
        port = free_port()
        env = dict(os.environ, HTTPSYS_DAEMON_SOCKET=daemon.path)
        supervisor = Supervisor(["app:app", "--workers", "2", "--port", str(port), "--no-access-log"], site, env)
        supervisors.append(supervisor)
        supervisor.wait_running()
        workers = serving_pids(port, 2)
        assert supervisor.children() == workers  # no private daemon among them
        err = supervisor.err()
        assert f"using the httpsys daemon at {daemon.path}" in err and "started daemon process" not in err
        log = daemon.stderr()
        for pid in (supervisor.pid, *workers):
            assert f"pid={pid} " in log  # each one a client of that daemon
        assert supervisor.stop() == 0
        assert daemon.process.poll() is None  # the command's stop leaves the shared daemon running
    finally:
        assert daemon.stop() == 0


def test_a_daemon_that_dies_under_the_workers_stops_the_command_with_exit_1(
    tmp_path: Path, supervisors: list[Supervisor]
) -> None:
    site = app_dir(tmp_path, PID_ASGI)
    port = free_port()
    supervisor = Supervisor(["app:app", "--workers", "2", "--port", str(port), "--no-access-log"], site)
    supervisors.append(supervisor)
    supervisor.wait_running()
    workers = serving_pids(port, 2)
    daemon_pid, socket_path = private_daemon(supervisor.err())
    os.kill(daemon_pid, signal.SIGKILL)
    assert supervisor.proc.wait(30) == 1
    err = supervisor.err()
    assert f"httpsys: the httpsys daemon at {socket_path} went away" in err
    assert "Traceback" not in err
    assert not any(alive(pid) for pid in workers)
    assert not os.path.exists(os.path.dirname(socket_path))


# ----------------------------------------------------------------------------------------------- failing to start
def test_a_sigkilled_supervisor_leaves_no_worker_daemon_or_directory_behind(
    tmp_path: Path, supervisors: list[Supervisor]
) -> None:
    site = app_dir(tmp_path, PID_ASGI)
    port = free_port()
    supervisor = Supervisor(["app:app", "--workers", "2", "--port", str(port), "--no-access-log"], site)
    supervisors.append(supervisor)
    supervisor.wait_running()
    workers = serving_pids(port, 2)
    daemon_pid, socket_path = private_daemon(supervisor.err())
    supervisor.proc.kill()
    supervisor.proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(alive(pid) for pid in (*workers, daemon_pid)):
        time.sleep(0.05)
    assert not any(alive(pid) for pid in (*workers, daemon_pid))  # their control channels closed: they stopped
    assert not os.path.exists(os.path.dirname(socket_path))


def test_no_worker_starting_is_reported_once_and_exits_with_the_import_error_status(
    tmp_path: Path, supervisors: list[Supervisor]
) -> None:
    site = app_dir(tmp_path, PID_ASGI)
    supervisor = Supervisor(["nosuch:app", "--workers", "2", "--port", str(free_port())], site)
    supervisors.append(supervisor)
    assert supervisor.proc.wait(60) == 2
    err = supervisor.err()
    assert "httpsys: no worker process started: cannot import 'nosuch:app': no module named 'nosuch'" in err
    assert err.count("failed to start: cannot import 'nosuch:app'") == 2
    assert "Traceback" not in err and supervisor.out() == ""
    _, socket_path = private_daemon(err)
    assert not os.path.exists(os.path.dirname(socket_path))
    assert not any(alive(pid) for pid in supervisor.children_seen)


def test_a_lifespan_startup_failing_in_every_worker_exits_1(tmp_path: Path, supervisors: list[Supervisor]) -> None:
    site = app_dir(tmp_path, FAILING_LIFESPAN)
    supervisor = Supervisor(["app:app", "--workers", "2", "--port", str(free_port()), "--lifespan", "on"], site)
    supervisors.append(supervisor)
    assert supervisor.proc.wait(60) == 1
    err = supervisor.err()
    assert "no worker process started:" in err and "no database" in err
    assert "Traceback" not in err


def test_workers_1_stays_the_embedded_single_process(tmp_path: Path, supervisors: list[Supervisor]) -> None:
    site = app_dir(tmp_path, PID_ASGI)
    port = free_port()
    supervisor = Supervisor(["app:app", "--workers", "1", "--port", str(port)], site)
    supervisors.append(supervisor)
    supervisor.wait_running()
    assert serving_pids(port, 1) == {supervisor.pid}
    assert supervisor.children() == set()
    assert "started parent process" not in supervisor.err()
    assert supervisor.stop() == 0
