"""The graceful stop of `httpsys run` and `httpsys serve` under keep-alive load (issue 13, item 6), as uvicorn
and nginx stop: real subprocesses, real sockets, SIGTERM in the middle of the load.

What a client may see when the server stops, and what these tests hold the command to:

* every response is complete and 2xx: no 503 from the driver while it drains;
* a response the server began after the stop says `Connection: close`, and the connection then ends cleanly
  (EOF, never a reset);
* a request that gets no response at all met an idle connection the server was closing: the client sees a clean
  EOF before any byte of a response, and the application never saw that request (the access log proves it), so
  retrying it is safe - the race every keep-alive client handles (RFC 9112 §9.3.1);
* once stopping, the port refuses new connections; idle connections are closed at once, while requests in flight
  elsewhere still finish.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import free_port

ASGI_APP = """
import asyncio

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await asyncio.sleep(1.0 if scope["path"] == "/slow" else 0.01)
    body = b"ok " + scope["path"].encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
"""

WSGI_APP = """
import time

def app(environ, start_response):
    time.sleep(1.0 if environ["PATH_INFO"] == "/slow" else 0.01)
    body = ("ok " + environ["PATH_INFO"]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""

CLIENTS = 6
LOAD_BEFORE_STOP = 1.0


class Command:
    """`python -m httpsys.cli ARGS` in `cwd`; stderr goes to a file (an access log line per response would fill
    a pipe nobody reads while the load runs)."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.err_path = cwd / "stderr.txt"
        self._err = open(self.err_path, "w")  # noqa: SIM115 - closed in wait()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "httpsys.cli", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
        )
        self.out = ""

    def wait_accepting(self, port: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the command exited with {self.proc.returncode}: {self.err_path.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.03)
        pytest.fail("the command never accepted connections")

    def wait(self, timeout: float = 15.0) -> int:
        self.out, _ = self.proc.communicate(timeout=timeout)
        self._err.close()
        return self.proc.returncode

    @property
    def err(self) -> str:
        return self.err_path.read_text()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=5)
        self._err.close()


@pytest.fixture
def commands() -> Iterator[list[Command]]:
    made: list[Command] = []
    yield made
    for command in made:
        command.kill()


# ----------------------------------------------------------------------------------------------- the client
@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    at: float  # when its last byte arrived


class Ended(Exception):
    """The connection ended while a response was awaited: `kind` is 'eof' or 'reset', after `got` bytes."""

    def __init__(self, kind: str, got: bytes) -> None:
        super().__init__(kind, got)
        self.kind = kind
        self.got = got


def read_response(sock: socket.socket) -> Response:
    """One Content-Length response, read exactly (the client never pipelines, so nothing may follow it)."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                raise Ended("eof", data)
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers["content-length"])
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise Ended("eof", data + body)
            body += chunk
    except ConnectionResetError:
        raise Ended("reset", data) from None
    assert len(body) == length, "bytes after a Content-Length response that was not pipelined"
    return Response(int(lines[0].split()[1]), headers, body, time.monotonic())


def ends_cleanly(sock: socket.socket) -> str:
    """'eof' when the server closes the connection without sending more, 'reset' or 'data' otherwise."""
    try:
        return "eof" if sock.recv(65536) == b"" else "data"
    except ConnectionResetError:
        return "reset"


@dataclass
class Connection:
    """What one client connection saw, in order."""

    responses: list[tuple[str, Response]] = field(default_factory=list)  # (request id, response)
    unanswered: str | None = None  # the request id the connection ended on without a response
    ending: str = ""  # how it ended: 'eof' / 'reset' / 'data' after a Connection: close, or Ended.kind
    ending_got: bytes = b""


class Load:
    """CLIENTS threads, each sending keep-alive requests one after another on its connection (a new connection
    when the server ends one) until the port refuses connections or `deadline` passes."""

    def __init__(self, port: int, target: str, deadline: float) -> None:
        self.port = port
        self.target = target  # the path; each request adds ?id=<client>-<n>
        self.deadline = deadline
        self.connections: list[Connection] = []
        self.refused = 0
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(CLIENTS)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(max(0.1, self.deadline - time.monotonic() + 5))
        assert not any(thread.is_alive() for thread in self.threads), "a client never finished"

    def _client(self, index: int) -> None:
        sent = 0
        try:
            while time.monotonic() < self.deadline:
                try:
                    sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                except ConnectionRefusedError:
                    with self._lock:
                        self.refused += 1
                    return
                conn = Connection()
                with self._lock:
                    self.connections.append(conn)
                with sock:
                    while time.monotonic() < self.deadline:
                        rid = f"{index}-{sent}"
                        sent += 1
                        sock.sendall(f"GET {self.target}?id={rid} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                        try:
                            response = read_response(sock)
                        except Ended as ended:
                            conn.unanswered, conn.ending, conn.ending_got = rid, ended.kind, ended.got
                            break
                        conn.responses.append((rid, response))
                        if response.headers.get("connection", "").lower() == "close":
                            conn.ending = ends_cleanly(sock)
                            break
        except Exception as exc:  # reported by the test
            self.failures.append(f"client {index}: {exc!r}")


ACCESS_LINE = re.compile(r'^INFO: +127\.0\.0\.1:\d+ - "GET \S+\?id=(\S+) HTTP/1\.1" (\d{3})$')


def logged_requests(stderr: str) -> dict[str, int]:
    """The request ids of the access log, with the status logged."""
    logged: dict[str, int] = {}
    for line in stderr.splitlines():
        match = ACCESS_LINE.match(line)
        if match:
            logged[match.group(1)] = int(match.group(2))
    return logged


def stop_under_load(command: Command, port: int, target: str) -> tuple[Load, float]:
    """Run the load, SIGTERM the command in the middle of it, and wait for both to finish."""
    command.wait_accepting(port)
    load = Load(port, target, time.monotonic() + LOAD_BEFORE_STOP + 10)
    load.start()
    time.sleep(LOAD_BEFORE_STOP)
    stopped_at = time.monotonic()
    command.proc.send_signal(signal.SIGTERM)
    load.join()
    assert command.wait() == 0, command.err
    assert load.failures == []
    return load, stopped_at


def assert_stopped_as_web_servers_stop(load: Load, stopped_at: float, stderr: str, app_takes_time: bool) -> None:
    responses = [response for conn in load.connections for _rid, response in conn.responses]
    statuses = Counter(response.status for response in responses)
    assert statuses and set(statuses) == {200}, statuses  # zero non-2xx, zero incomplete responses
    assert len(responses) > 10 * CLIENTS  # the load really ran
    assert sum(1 for r in responses if r.at > stopped_at) >= 1  # ... and some responses came during the stop
    logged = logged_requests(stderr)
    marked = 0
    for conn in load.connections:
        assert conn.ending == "eof", conn  # every connection ended with a clean close, never a reset
        if conn.unanswered is not None:
            # the server closed an idle connection as the request went out: no byte of a response, and the
            # application never saw the request
            assert conn.ending_got == b"", conn
            assert conn.unanswered not in logged, conn.unanswered
            kept_alive = conn.responses
        else:
            assert conn.responses, conn
            last = conn.responses[-1][1]
            assert last.headers.get("connection") == "close", conn  # it ended after a Connection: close
            assert last.at > stopped_at
            marked += 1
            kept_alive = conn.responses[:-1]
        for _rid, response in kept_alive:
            assert response.headers.get("connection") != "close", conn
    if app_takes_time:  # requests in flight when the stop came were answered with Connection: close
        assert marked >= 1
    assert load.refused >= 1  # ... and the port stopped accepting connections
    answered = {rid: response.status for conn in load.connections for rid, response in conn.responses}
    assert answered.items() <= logged.items()  # every response appears in the access log with its status
    assert "abandoned" not in stderr


# ----------------------------------------------------------------------------------------------- the tests
@pytest.mark.parametrize(("interface", "source"), [("asgi", ASGI_APP), ("wsgi", WSGI_APP)])
def test_run_stops_under_keep_alive_load_with_no_error_responses(
    interface: str, source: str, tmp_path: Path, commands: list[Command]
) -> None:
    (tmp_path / "loadapp.py").write_text(source)
    port = free_port()
    command = Command(["run", "loadapp:app", "--port", str(port), "--threads", str(CLIENTS + 2)], tmp_path)
    commands.append(command)
    load, stopped_at = stop_under_load(command, port, "/load")
    assert f"({interface.upper()})" in command.out
    assert_stopped_as_web_servers_stop(load, stopped_at, command.err, app_takes_time=True)


def test_serve_stops_under_keep_alive_load_with_no_error_responses(
    tmp_path: Path, commands: list[Command]
) -> None:
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "hello.txt").write_bytes(b"Hello from httpsys\n" * 100)
    port = free_port()
    command = Command(["serve", "public", "--url", f"http://127.0.0.1:{port}/"], tmp_path)
    commands.append(command)
    load, stopped_at = stop_under_load(command, port, "/hello.txt")
    # a file is answered at once: the stop may well find every connection idle
    assert_stopped_as_web_servers_stop(load, stopped_at, command.err, app_takes_time=False)


def _get(sock: socket.socket, path: str) -> None:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())


@pytest.mark.parametrize(("interface", "source"), [("asgi", ASGI_APP), ("wsgi", WSGI_APP)])
def test_stop_finishes_the_response_in_flight_with_connection_close_and_closes_idle_connections_at_once(
    interface: str, source: str, tmp_path: Path, commands: list[Command]
) -> None:
    (tmp_path / "slowapp.py").write_text(source)
    port = free_port()
    command = Command(["run", "slowapp:app", "--port", str(port), "--interface", interface], tmp_path)
    commands.append(command)
    command.wait_accepting(port)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as idle,
        socket.create_connection(("127.0.0.1", port), timeout=5) as busy,
    ):
        _get(idle, "/first")
        first = read_response(idle)
        assert first.status == 200 and "connection" not in first.headers  # kept alive, now idle
        _get(busy, "/slow")
        time.sleep(0.3)  # the slow request is in the application
        stopped_at = time.monotonic()
        command.proc.send_signal(signal.SIGTERM)
        assert ends_cleanly(idle) == "eof"  # the idle keep-alive connection is closed at once ...
        assert time.monotonic() - stopped_at < 0.5  # ... not after the request in flight
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        slow = read_response(busy)
        assert (slow.status, slow.body) == (200, b"ok /slow")
        assert slow.headers["connection"] == "close"
        assert ends_cleanly(busy) == "eof"
    assert command.wait() == 0
    assert "stopping: finishing 1 request(s) in flight" in command.err
    assert "abandoned" not in command.err


@pytest.mark.parametrize("command_name", ["run", "serve"])
def test_stop_answers_a_request_whose_head_was_arriving_with_connection_close(
    command_name: str, tmp_path: Path, commands: list[Command]
) -> None:
    """A connection in the middle of sending a request head is not idle: the stop waits for its request, serves
    it, and closes the connection after the response."""
    (tmp_path / "slowapp.py").write_text(ASGI_APP)
    (tmp_path / "late").write_bytes(b"ok /late")
    port = free_port()
    args = ["slowapp:app"] if command_name == "run" else ["."]
    command = Command([command_name, *args, "--port", str(port)], tmp_path)
    commands.append(command)
    command.wait_accepting(port)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as partial:
        partial.sendall(b"GET /late HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        time.sleep(0.3)
        command.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert command.proc.poll() is None  # the command waits for the request still arriving
        partial.sendall(b"\r\n")
        late = read_response(partial)
        assert (late.status, late.body, late.headers["connection"]) == (200, b"ok /late", "close")
        assert ends_cleanly(partial) == "eof"
    assert command.wait() == 0


@pytest.mark.embedded_only("command")
def test_a_client_that_never_finishes_its_request_holds_the_stop_only_until_the_shutdown_timeout(
    tmp_path: Path, commands: list[Command]
) -> None:
    (tmp_path / "slowapp.py").write_text(ASGI_APP)
    port = free_port()
    command = Command(["run", "slowapp:app", "--port", str(port), "--shutdown-timeout", "1"], tmp_path)
    commands.append(command)
    command.wait_accepting(port)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as stalled:
        stalled.sendall(b"GET /never HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        time.sleep(0.3)
        started = time.monotonic()
        command.proc.send_signal(signal.SIGTERM)
        assert command.wait() == 0
        assert 0.9 <= time.monotonic() - started < 4.0
        assert ends_cleanly(stalled) in ("eof", "reset")  # the driver closed it with the process
