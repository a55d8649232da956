"""The `httpsys` command as an operator runs it: real subprocesses on free ports, signals, exit statuses,
one-line errors, the demo site, `run` for ASGI and WSGI, and the getting-started examples of docs/cli.md."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from httpsys import __version__
from httpsys.cli import main
from httpsys.cli.diagnostics import CommandError
from httpsys.cli.run import detect_interface, load_app
from portpool import free_port

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "cli.md"
MARK = "@@httpsys-doc-test@@"

SLOW_ASGI = """
import asyncio

async def app(scope, receive, send):
    assert scope["type"] == "http"
    if scope["path"] == "/slow":
        await asyncio.sleep(1.0)
    body = b"done " + scope["path"].encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
"""

HELLO_WSGI = """
def app(environ, start_response):
    body = ("wsgi " + environ["PATH_INFO"]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


# ----------------------------------------------------------------------------------------------- helpers
class Command:
    """`python -m httpsys.cli ARGS` running in `cwd`."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "httpsys.cli", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out = ""
        self.err = ""
        self.signalled = False

    def wait_accepting(self, port: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out, err = self.proc.communicate()
                pytest.fail(f"the command exited with {self.proc.returncode}: {err or out}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.03)
        pytest.fail("the command never accepted connections")

    def send(self, sig: int = signal.SIGTERM) -> None:
        self.signalled = True
        self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signal the command (unless the test did already) and wait for it to exit."""
        if self.proc.poll() is None and not self.signalled:
            self.send(sig)
        self.out, self.err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=5)


@pytest.fixture
def commands() -> Iterator[list[Command]]:
    made: list[Command] = []
    yield made
    for command in made:
        command.kill()


def run_once(args: list[str], cwd: Path, timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "httpsys.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def exchange(port: int, request: bytes, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """One request on a new connection; (status, headers, body) of a Content-Length response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return int(lines[0].split()[1]), headers, body


def get(port: int, target: str, extra: str = "") -> tuple[int, dict[str, str], bytes]:
    return exchange(port, f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())


@pytest.fixture
def public(tmp_path: Path) -> Path:
    root = tmp_path / "public"
    root.mkdir()
    (root / "hello.txt").write_bytes(b"Hello from httpsys\n")
    with open(root / "big.bin", "wb") as f:
        f.truncate(8 * 1024 * 1024)  # sparse: more than the socket buffers hold, instantly created
    return root


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


# ----------------------------------------------------------------------------------------------- basics
def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"httpsys {__version__}"


def test_help_shows_commands_examples_and_what_is_not_yet_active(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    top = capsys.readouterr().out
    assert "examples:" in top and "httpsys serve ./public --url" in top and "httpsys run hello:app" in top
    assert main(["serve", "--help"]) == 0
    serve = capsys.readouterr().out
    for option in ("--listing", "--cache-ttl", "--etag", "--idle-timeout", "--header-timeout", "--body-timeout",
                   "--min-send-rate", "--max-field-length", "--max-request-bytes", "--max-connections",
                   "--queue-length", "--shutdown-timeout", "--log-dir", "--log-format"):  # fmt: skip
        assert option in serve, option
    assert "not yet written" not in serve and "u_exYYMMDD.log" in serve
    assert main(["run", "--help"]) == 0
    run = capsys.readouterr().out
    assert "--interface" in run and "--threads" in run and "--queue" in run


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------- serve
def test_serve_answers_and_sigterm_exits_0(public: Path, commands: list[Command]) -> None:
    port = free_port()
    command = Command(["serve", str(public), "--url", f"http://127.0.0.1:{port}/"], public.parent)
    commands.append(command)
    command.wait_accepting(port)
    status, headers, body = get(port, "/hello.txt")
    assert (status, body) == (200, b"Hello from httpsys\n")
    assert headers["accept-ranges"] == "bytes"
    assert command.stop() == 0
    assert command.out == f"httpsys serving {public} at http://127.0.0.1:{port}/ — Ctrl+C to stop\n"
    assert "stopping" in command.err


def test_serve_cache_ttl_answers_repeats_from_the_driver_cache(public: Path, commands: list[Command]) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = Command(["serve", str(public), "--url", url, "--cache-ttl", "3600"], public.parent)
    commands.append(command)
    command.wait_accepting(port)
    status, headers, body = get(port, "/hello.txt")
    assert (status, body, headers["cache-control"]) == (200, b"Hello from httpsys\n", "max-age=3600")
    (public / "hello.txt").write_bytes(b"Changed on disk!!!\n")
    # The application would read the new bytes: the old ones come from the driver's response cache.
    assert get(port, "/hello.txt")[2] == b"Hello from httpsys\n"
    head = exchange(port, b"HEAD /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert head[0] == 200 and head[1]["etag"] == headers["etag"]
    assert get(port, "/hello.txt", "Range: bytes=0-4\r\n")[2] == b"Hello"
    assert command.stop() == 0


def test_sigterm_finishes_a_slow_download_then_exits_0(public: Path, commands: list[Command]) -> None:
    port = free_port()
    command = Command(["serve", str(public), "--url", f"http://127.0.0.1:{port}/"], public.parent)
    commands.append(command)
    command.wait_accepting(port)
    size = 8 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        received = sock.recv(65536)
        assert received.startswith(b"HTTP/1.1 200 OK")
        command.send(signal.SIGTERM)
        time.sleep(0.5)
        assert command.proc.poll() is None, "the command must wait for the download in flight"
        with pytest.raises(ConnectionRefusedError):  # the port stopped accepting connections
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            received += chunk
            if len(received) >= size:
                break
        body = received.partition(b"\r\n\r\n")[2]
        assert len(body) == size
    assert command.stop(timeout=5) == 0
    assert "finishing 1 request(s) in flight" in command.err
    assert "abandoned" not in command.err


def test_shutdown_timeout_bounds_the_wait_for_a_stalled_client(public: Path, commands: list[Command]) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = Command(["serve", str(public), "--url", url, "--shutdown-timeout", "1"], public.parent)
    commands.append(command)
    command.wait_accepting(port)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)  # never read: the response stays in flight
        started = time.monotonic()
        assert command.stop(timeout=6) == 0
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 4.0
    assert "1 request(s) did not finish within 1 s and were abandoned" in command.err


@pytest.mark.embedded_only("command")
def test_timeouts_and_limits_reach_the_driver(public: Path, commands: list[Command]) -> None:
    port = free_port()
    args = ["serve", str(public), "--url", f"http://127.0.0.1:{port}/"]
    command = Command([*args, "--max-field-length", "100", "--idle-timeout", "1"], public.parent)
    commands.append(command)
    command.wait_accepting(port)
    status, _headers, _body = get(port, "/hello.txt", "X-Long: " + "a" * 300 + "\r\n")
    assert status == 400  # MaxFieldLength
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while not data.endswith(b"Hello from httpsys\n"):
            data += sock.recv(65536)
        started = time.monotonic()
        try:
            assert sock.recv(65536) == b""
        except ConnectionResetError:
            pass  # HTTP.sys resets a connection whose timer expired
        # The server session's IdleConnection (1 s, not the default 120 s) ended it.
        assert 0.5 < time.monotonic() - started < 3.5
    assert command.stop() == 0


def _log_lines(directory: Path, pattern: str) -> list[str]:
    files = sorted(directory.rglob(pattern))
    assert len(files) == 1, [str(f) for f in directory.rglob("*")]
    return files[0].read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(
    ("log_format", "pattern", "expect"),
    [
        ("w3c", "u_ex*.log", "GET /hello.txt - "),
        ("iis", "u_in*.log", "GET, /hello.txt, -,"),
        ("ncsa", "u_nc*.log", '"GET /hello.txt HTTP/1.1" 200 '),
    ],
)
def test_log_dir_writes_each_response_in_the_chosen_format(
    public: Path, commands: list[Command], log_format: str, pattern: str, expect: str
) -> None:
    port = free_port()
    logs = public.parent / "logs" / "site"  # created by the command
    args = ["serve", str(public), "--url", f"http://127.0.0.1:{port}/", "--log-dir", str(logs)]
    command = Command([*args, "--log-format", log_format], public.parent)
    commands.append(command)
    command.wait_accepting(port)
    assert get(port, "/hello.txt", "User-Agent: probe/1\r\n")[0] == 200
    assert get(port, "/nope.txt")[0] == 404
    assert command.stop() == 0
    lines = _log_lines(logs, pattern)
    entries = [line for line in lines if not line.startswith("#")]
    assert len(entries) == 2, lines
    assert expect in entries[0], entries
    assert "404" in entries[1] and "/nope.txt" in entries[1], entries
    if log_format == "w3c":
        fields = next(line for line in lines if line.startswith("#Fields:"))
        assert fields == (
            "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
            "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
        )
        assert "probe/1" in entries[0]


def test_run_log_dir_logs_the_adapters_responses(tmp_path: Path, commands: list[Command]) -> None:
    _adapter("asgi")
    (tmp_path / "slowapp.py").write_text(SLOW_ASGI)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = Command(["run", "slowapp:app", "--url", url, "--log-dir", "logs"], tmp_path)
    commands.append(command)
    command.wait_accepting(port)
    assert get(port, "/fast")[2] == b"done /fast"
    assert command.stop() == 0
    entries = [line for line in _log_lines(tmp_path / "logs", "u_ex*.log") if not line.startswith("#")]
    assert len(entries) == 1 and " GET /fast - " in entries[0] and " 200 0 0 " in entries[0], entries


def test_unusable_log_dir_is_one_line_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    url = f"http://127.0.0.1:{free_port()}/"
    line = one_line_error(run_once(["serve", ".", "--url", url, "--log-dir", "file/logs"], tmp_path))
    assert line.startswith("httpsys: --log-dir file/logs: cannot create it"), line


# ----------------------------------------------------------------------------------------------- errors
def test_bad_url_prefix_is_one_line_with_exit_2(tmp_path: Path) -> None:
    line = one_line_error(run_once(["serve", ".", "--url", "http://x"], tmp_path))
    assert (
        line
        == "httpsys: invalid URL prefix 'http://x' (ERROR_INVALID_PARAMETER): missing path (at least '/')"
    )
    line = one_line_error(run_once(["run", "nosuch:app", "--url", "http://+:0/"], tmp_path))
    assert line.startswith("httpsys: invalid URL prefix 'http://+:0/' (ERROR_INVALID_PARAMETER): port 0")


def test_port_in_use_is_one_line_with_exit_2(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        line = one_line_error(run_once(["serve", ".", "--url", f"http://127.0.0.1:{port}/"], tmp_path))
        assert line == (
            f"httpsys: cannot listen on 'http://127.0.0.1:{port}/' (ERROR_SHARING_VIOLATION): "
            f"port {port} is in use by another program"
        )
        (tmp_path / "hello.py").write_text(SLOW_ASGI)
        line = one_line_error(run_once(["run", "hello:app", "--url", f"http://+:{port}/"], tmp_path))
        assert f"port {port} is in use by another program" in line


@pytest.mark.parametrize(
    ("spec", "module_text", "expected"),
    [
        ("nosuch:app", None, "httpsys: cannot import 'nosuch:app': no module named 'nosuch'"),
        (
            "broken:app",
            "import os\nx = 1 / 0\n",
            "httpsys: cannot import 'broken:app': ZeroDivisionError: division by zero (broken.py, line 2)",
        ),
        (
            "deps:app",
            "import no_such_dependency\n",
            "httpsys: cannot import 'deps:app': ModuleNotFoundError: No module named 'no_such_dependency' "
            "(deps.py, line 1)",
        ),
        (
            "hello:nope",
            SLOW_ASGI,
            "httpsys: cannot import 'hello:nope': module 'hello' has no attribute 'nope'",
        ),
        ("hello", SLOW_ASGI, "httpsys: cannot import 'hello': expected MODULE:APP, for example hello:app"),
        ("data:x", "x = 42\n", "httpsys: 'data:x' is not an application: it is an int, not a callable"),
        ("data:x", "x = None\n", "httpsys: 'data:x' is not an application: it is None, not a callable"),
        ("data:x", "x = {}\n", "httpsys: 'data:x' is not an application: it is a dict, not a callable"),
        (
            "syntax:app",
            "def app(:\n",
            "httpsys: cannot import 'syntax:app': SyntaxError: invalid syntax (syntax.py, line 1)",
        ),
        (
            "fa.py:app",
            SLOW_ASGI,
            "httpsys: cannot import 'fa.py:app': no module named 'fa.py' "
            "(MODULE is a module name, not a file: did you mean fa:app?)",
        ),
        (
            "src/web.py:app",
            None,
            "httpsys: cannot import 'src/web.py:app': no module named 'src/web' "
            "(MODULE is a module name, not a file: did you mean web:app --app-dir src?)",
        ),
        (
            "fa.py",
            SLOW_ASGI,
            "httpsys: cannot import 'fa.py': expected MODULE:APP, for example hello:app; did you mean fa:app?",
        ),
    ],
)
def test_application_that_cannot_be_imported_is_one_line_with_exit_2(
    tmp_path: Path, spec: str, module_text: str | None, expected: str
) -> None:
    if module_text is not None:
        name = spec.split(":")[0]
        (tmp_path / (name if name.endswith(".py") else name + ".py")).write_text(module_text)
    port = free_port()
    assert one_line_error(run_once(["run", spec, "--url", f"http://127.0.0.1:{port}/"], tmp_path)) == expected


def test_bad_option_value_and_missing_directory_are_one_line_with_exit_2(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    line = one_line_error(run_once(["serve", ".", "--url", url, "--max-field-length", "10"], tmp_path))
    assert "MaxFieldLength must be between 64 and 65534, not 10" in line
    line = one_line_error(run_once(["serve", "missing", "--url", url], tmp_path))
    assert line == "httpsys: cannot serve 'missing': not a directory"


# ----------------------------------------------------------------------------------------------- demo
@pytest.mark.embedded_only("command")
def test_demo_serves_the_packaged_site_and_live_statistics(commands: list[Command], tmp_path: Path) -> None:
    port = free_port()
    command = Command(["demo", "--url", f"http://127.0.0.1:{port}/"], tmp_path)
    commands.append(command)
    command.wait_accepting(port)
    status, headers, body = get(port, "/")
    assert status == 200 and b"<title>httpsys" in body and b'href="_stats"' in body
    assert get(port, "/style.css")[1]["content-type"] == "text/css; charset=utf-8"
    assert get(port, "/logo.svg")[1]["content-type"] == "image/svg+xml"
    status, headers, body = get(port, "/files/sample.txt", "Range: bytes=80-159\r\n")
    assert status == 206 and body.startswith(b"httpsys sample line 000002:") and len(body) == 80
    assert headers["content-range"] == "bytes 80-159/262144"
    assert get(port, "/files/")[2].count(b"<a href=") >= 3  # the demo lists directories
    assert get(port, "/%00")[0] == 400  # refused by the driver: a canned response
    status, headers, body = get(port, "/_stats.json")
    assert headers["content-type"] == "application/json" and headers["cache-control"] == "no-store"
    stats = json.loads(body)
    assert stats["httpsys"] == __version__
    assert stats["driver"]["canned_responses"] == {"400": 1}
    assert stats["driver"]["requests_in_flight"] == 1 and stats["driver"]["listeners"] == 1
    assert {"connections", "queued", "timer_expiries", "events"} <= set(stats["driver"])
    assert stats["demo"]["by_status"]["200"] >= 5
    status, headers, body = get(port, "/_stats")
    assert status == 200 and b'<meta http-equiv="refresh" content="2">' in body
    assert b"Canned responses by status" in body and b"Timer expiries" in body
    assert command.stop(signal.SIGINT) == 0
    assert command.out == f"httpsys demo serving http://127.0.0.1:{port}/ — Ctrl+C to stop\n"


def test_make_run_target_starts_the_demo() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "$(NATIVE_BIN)/httpsys demo --url http://127.0.0.1:8080/" in makefile  # the installed wheel's command
    assert (ROOT / "src" / "httpsys" / "cli" / "__main__.py").is_file()
    site = ROOT / "src" / "httpsys" / "cli" / "site"
    assert {"index.html", "style.css", "logo.svg"} <= {p.name for p in site.iterdir()}
    assert (site / "files" / "sample.txt").stat().st_size == 262144


# ----------------------------------------------------------------------------------------------- run
def _adapter(name: str) -> None:
    if importlib.util.find_spec(f"httpsys.{name}") is None:
        pytest.skip(f"httpsys.{name} is not there yet")


def test_run_asgi_app_finishes_a_slow_request_on_sigterm(tmp_path: Path, commands: list[Command]) -> None:
    _adapter("asgi")
    (tmp_path / "slowapp.py").write_text(SLOW_ASGI)
    port = free_port()
    command = Command(["run", "slowapp:app", "--url", f"http://127.0.0.1:{port}/"], tmp_path)
    commands.append(command)
    command.wait_accepting(port)
    assert get(port, "/fast")[2] == b"done /fast"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        started = time.monotonic()
        command.send(signal.SIGTERM)
        data = b""
        while not data.endswith(b"done /slow"):
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
        assert data.startswith(b"HTTP/1.1 200 OK")
    assert command.stop(timeout=5) == 0
    assert time.monotonic() - started < 4
    assert command.out.startswith(f"httpsys running slowapp:app (ASGI) at http://127.0.0.1:{port}/")


def test_run_wsgi_app_is_detected_and_served(tmp_path: Path, commands: list[Command]) -> None:
    _adapter("wsgi")
    (tmp_path / "wsgiapp.py").write_text(HELLO_WSGI)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = Command(["run", "wsgiapp:app", "--url", url, "--threads", "2", "--queue", "web"], tmp_path)
    commands.append(command)
    command.wait_accepting(port)
    assert get(port, "/x")[0:3:2] == (200, b"wsgi /x")
    assert command.stop(signal.SIGINT) == 0
    assert "(WSGI)" in command.out


def test_interface_detection() -> None:
    async def asgi(scope: object, receive: object, send: object) -> None: ...

    def wsgi(environ: object, start_response: object) -> list[bytes]:
        return []

    class AsgiApp:
        async def __call__(self, scope: object, receive: object, send: object) -> None: ...

    class WsgiApp:
        def __call__(self, environ: object, start_response: object) -> list[bytes]:
            return []

    def three(a: object, b: object, c: object) -> None: ...

    assert detect_interface(asgi) == "asgi"
    assert detect_interface(AsgiApp()) == "asgi"
    assert detect_interface(three) == "asgi"
    assert detect_interface(wsgi) == "wsgi"
    assert detect_interface(WsgiApp()) == "wsgi"
    from flask import Flask
    from starlette.applications import Starlette

    assert detect_interface(Flask("x")) == "wsgi"
    assert detect_interface(Starlette()) == "asgi"
    with pytest.raises(CommandError, match="use --interface"):
        detect_interface(lambda *args: None)
    with pytest.raises(CommandError, match="it is a class"):
        detect_interface(WsgiApp)


def test_load_app_follows_dotted_attributes_and_factories(tmp_path: Path) -> None:
    (tmp_path / "cli_factory_mod.py").write_text(
        textwrap.dedent(
            """
            class Holder:
                def app(self, environ, start_response):
                    return []
            holder = Holder()
            def create():
                return holder.app
            """
        )
    )
    try:
        assert load_app("cli_factory_mod:holder.app", str(tmp_path)).__name__ == "app"  # type: ignore[attr-defined]
        assert load_app("cli_factory_mod:create()", str(tmp_path)).__name__ == "app"  # type: ignore[attr-defined]
    finally:
        sys.modules.pop("cli_factory_mod", None)
        sys.path.remove(str(tmp_path))


# ----------------------------------------------------------------------------------------------- docs/cli.md
def _doc_sections() -> list[tuple[str, list[tuple[str, str]]]]:
    text = DOC.read_text()
    getting_started = text.split("\n## Getting started\n", 1)[1].split("\n## ", 1)[0]
    sections = []
    for part in re.split(r"^### ", getting_started, flags=re.M)[1:]:
        title, _, body = part.partition("\n")
        blocks = re.findall(r"^```(\w+)\n(.*?)^```", body, flags=re.M | re.S)
        if any(lang == "console" for lang, _ in blocks):
            sections.append((title.strip(), blocks))
    return sections


def _matches(expected: list[str], actual: list[str]) -> bool:
    """Every expected line, in order, among the actual ones ('...' lines stand for any lines; without
    '...' the lines must be exactly the expected ones)."""
    if "..." not in expected:
        return actual == expected
    position = 0
    for line in expected:
        if line == "...":
            continue
        try:
            position = actual.index(line, position) + 1
        except ValueError:
            return False
    return True


def _run_console(code: str, cwd: Path, env: dict[str, str]) -> None:
    steps: list[tuple[str, list[str]]] = []
    for line in code.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    script = "exec 2>&1\n" + "".join(f"{command}\necho {MARK}\n" for command, _ in steps)
    result = subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    outputs = result.stdout.split(MARK + "\n")
    for (command, expected), output in zip(steps, outputs, strict=False):
        actual = [line.rstrip("\r") for line in output.splitlines()]
        assert _matches(expected, actual), f"$ {command}\nexpected:\n{expected}\ngot:\n{actual}"


@pytest.mark.parametrize(("title", "blocks"), _doc_sections(), ids=[title for title, _ in _doc_sections()])
def test_getting_started_example_runs_as_documented(
    title: str, blocks: list[tuple[str, str]], tmp_path: Path
) -> None:
    if shutil.which("curl") is None:
        pytest.skip("the documented examples use curl")
    if title == "When something is wrong" and os.environ.get("HTTPSYS_TEST_MODE") == "daemon":
        # its port-in-use example: through the daemon the second command shares the port and is told the URL
        # is already registered (test_a_url_registered_by_another_process_through_the_daemon_is_named_so)
        pytest.skip("daemon mode: a port is shared by URL prefix (docs/daemon.md: What differs, the commands)")
    port = str(free_port())
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    servers: list[subprocess.Popen[str]] = []
    try:
        for lang, code in blocks:
            code = code.replace("8080", port)
            if lang == "python":
                name = code.partition("\n")[0].removeprefix("#").strip()
                (tmp_path / name).write_text(code)
            elif lang == "sh":
                for line in code.splitlines():
                    if line.startswith("httpsys "):
                        server = subprocess.Popen(
                            ["bash", "-c", "exec " + line],
                            cwd=tmp_path,
                            env=env,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            text=True,
                        )
                        servers.append(server)
                        _wait_for_documented_server(server, int(port))
                    elif line.strip():
                        subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, check=True, timeout=30)
            elif lang == "console":
                _run_console(code, tmp_path, env)
    finally:
        codes = []
        for server in servers:
            if server.poll() is None:
                server.send_signal(signal.SIGINT)
            try:
                server.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.communicate()
            codes.append(server.returncode)
    assert codes == [0] * len(servers)


def _wait_for_documented_server(server: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if server.poll() is not None:
            _out, err = server.communicate()
            if "adapter" in err and "is not available" in err:
                pytest.skip(err.strip())
            pytest.fail(f"the documented server exited: {err}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.03)
    pytest.fail("the documented server never accepted connections")
