"""What the `httpsys` command says and accepts on the console (issue 13, items 3 and 4): the access log of `run`
and `serve`, the root logger left to the application, uvicorn's --host/--port, https:// without a certificate
refused, one-line errors for wrong option values. Real subprocesses on free ports."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from httpsys.cli.diagnostics import CommandError
from httpsys.cli.options import DEFAULT_DEMO_URL, DEFAULT_RUN_URL, build_parser, listen_urls
from portpool import free_port

ASGI_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/boom":
        raise RuntimeError("boom")
    status = 404 if scope["path"] == "/nope/" else 200
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})
"""

WSGI_APP = """
def app(environ, start_response):
    if environ["PATH_INFO"] == "/boom":
        raise RuntimeError("boom")
    status = "404 Not Found" if environ["PATH_INFO"] == "/nope/" else "200 OK"
    start_response(status, [("Content-Length", "2")])
    return [b"ok"]
"""

# An application that configures logging as Django does: a named logger with a console handler of its own
# (propagating, as Django's `django` logger does), plus the root logger configured by the application itself.
LOGGING_APP = """
import logging
import sys

logging.basicConfig(stream=sys.stderr, format="ROOT %(name)s: %(message)s")
request_log = logging.getLogger("app.request")
handler = logging.StreamHandler(sys.stderr)
handler.setFormatter(logging.Formatter("APP %(message)s"))
request_log.addHandler(handler)

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    request_log.warning("Not Found: %s", scope["path"])
    logging.getLogger("app.other").warning("via the root logger: %s", scope["path"])
    await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
"""


_started: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_command_outlives_its_test() -> Iterator[None]:
    yield
    while _started:
        proc = _started.pop()
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=5)


def start(args: list[str], cwd: Path, port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "httpsys.cli", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _started.append(proc)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the command exited: {proc.communicate()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.03)
    proc.kill()
    pytest.fail("the command never accepted connections")


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    return out, err


def status_of(port: int, target: str) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1])


def access_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("INFO:")]


def run_once(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "httpsys.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=20
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# ----------------------------------------------------------------------------------------------- access log
ACCESS = re.compile(r'^INFO: {5}127\.0\.0\.1:(\d+) - "GET (\S+) HTTP/1\.1" (\d{3})$')


@pytest.mark.parametrize(("interface", "source"), [("asgi", ASGI_APP), ("wsgi", WSGI_APP)])
def test_run_prints_an_access_line_per_response_as_uvicorn_does(
    interface: str, source: str, tmp_path: Path
) -> None:
    (tmp_path / "logged.py").write_text(source)
    port = free_port()
    proc = start(["run", "logged:app", "--port", str(port)], tmp_path, port)
    assert [status_of(port, t) for t in ("/", "/a?b=c", "/nope/", "/boom")] == [200, 200, 404, 500]
    out, err = stop(proc)
    assert f"({interface.upper()})" in out
    lines = access_lines(err)
    assert [ACCESS.match(line).groups()[1:] for line in lines] == [  # type: ignore[union-attr]
        ("/", "200"),
        ("/a?b=c", "200"),
        ("/nope/", "404"),
        ("/boom", "500"),
    ]
    # the application's failure is reported on the command's own logger, once
    assert err.count("RuntimeError: boom") == 1
    assert f"httpsys: ERROR httpsys.{interface}: exception in {interface.upper()} application" in err


def test_serve_prints_an_access_line_per_response(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hello\n")
    port = free_port()
    proc = start(["serve", ".", "--port", str(port)], tmp_path, port)
    assert [status_of(port, t) for t in ("/hello.txt", "/missing")] == [200, 404]
    _out, err = stop(proc)
    groups = [ACCESS.match(line).groups()[1:] for line in access_lines(err)]  # type: ignore[union-attr]
    assert groups == [("/hello.txt", "200"), ("/missing", "404")]


@pytest.mark.parametrize("command", ["run", "serve"])
def test_no_access_log_switches_the_lines_off(command: str, tmp_path: Path) -> None:
    (tmp_path / "logged.py").write_text(ASGI_APP)
    port = free_port()
    args = ["logged:app"] if command == "run" else ["."]
    proc = start([command, *args, "--port", str(port), "--no-access-log"], tmp_path, port)
    assert status_of(port, "/") in (200, 404)
    _out, err = stop(proc)
    assert access_lines(err) == [] and '"GET /' not in err


def test_an_access_line_shows_the_target_as_the_client_sent_it(tmp_path: Path) -> None:
    (tmp_path / "logged.py").write_text(ASGI_APP)
    port = free_port()
    proc = start(["run", "logged:app", "--port", str(port)], tmp_path, port)
    assert status_of(port, "/caf%C3%A9/?q=%22x%22") == 200
    _out, err = stop(proc)
    (line,) = access_lines(err)
    assert line.endswith('"GET /caf%C3%A9/?q=%22x%22 HTTP/1.1" 200')


def test_the_command_leaves_the_root_logger_to_the_application(tmp_path: Path) -> None:
    (tmp_path / "logging_app.py").write_text(LOGGING_APP)
    port = free_port()
    proc = start(["run", "logging_app:app", "--port", str(port)], tmp_path, port)
    assert status_of(port, "/nope/") == 404
    _out, err = stop(proc)
    lines = err.splitlines()
    # the application's named logger has its handler, and propagates to the root handler the application set
    # up: two lines, as the application configured - and not a third from the command
    assert [line for line in lines if "Not Found: /nope/" in line] == [
        "APP Not Found: /nope/",
        "ROOT app.request: Not Found: /nope/",
    ]
    assert [line for line in lines if "via the root logger" in line] == [
        "ROOT app.other: via the root logger: /nope/"
    ]
    # the command's own lines go to its own handlers, never through the application's root handler
    assert not any(line.startswith("ROOT httpsys") for line in lines)
    assert len(access_lines(err)) == 1


# ----------------------------------------------------------------------------------------------- where to listen
@pytest.mark.parametrize(
    ("argv", "urls"),
    [
        (["run", "a:app"], [DEFAULT_RUN_URL]),
        (["serve", "."], ["http://127.0.0.1:8000/"]),
        (["demo"], [DEFAULT_DEMO_URL]),
        (["run", "a:app", "--port", "9000"], ["http://127.0.0.1:9000/"]),
        (["run", "a:app", "--host", "0.0.0.0"], ["http://+:8000/"]),
        (["run", "a:app", "--host", "::", "--port", "1"], ["http://+:1/"]),
        (["run", "a:app", "--host", "localhost"], ["http://127.0.0.1:8000/"]),
        (["run", "a:app", "--host", "::1", "--port", "9000"], ["http://[::1]:9000/"]),
        (["run", "a:app", "--host", "10.1.2.3"], ["http://10.1.2.3:8000/"]),
        (["serve", ".", "--host", "example.com", "--port", "80"], ["http://example.com:80/"]),
        (
            ["run", "a:app", "--url", "http://+:1/a/", "--url", "http://+:1/b/"],
            ["http://+:1/a/", "http://+:1/b/"],
        ),
    ],
)
def test_host_and_port_stand_for_one_url_prefix(argv: list[str], urls: list[str]) -> None:
    default = DEFAULT_DEMO_URL if argv[0] == "demo" else DEFAULT_RUN_URL
    assert listen_urls(build_parser().parse_args(argv), default) == urls


def test_url_and_host_or_port_together_are_refused() -> None:
    with pytest.raises(CommandError, match="give either --url or --host/--port, not both"):
        listen_urls(build_parser().parse_args(["run", "a:app", "--url", "http://+:1/", "--port", "2"]), "")


def test_port_serves_on_loopback_as_uvicorn_does(tmp_path: Path) -> None:
    (tmp_path / "logged.py").write_text(ASGI_APP)
    port = free_port()
    proc = start(["run", "logged:app", "--port", str(port), "--no-access-log"], tmp_path, port)
    assert status_of(port, "/") == 200
    out, _err = stop(proc)
    assert out.startswith(f"httpsys running logged:app (ASGI) at http://127.0.0.1:{port}/ — Ctrl+C to stop")


def test_help_says_how_host_and_port_map_and_that_https_needs_tls(capsys: pytest.CaptureFixture[str]) -> None:
    from httpsys.cli import main

    assert main(["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--host HOST" in text and "--port PORT" in text and "--no-access-log" in text
    assert (
        "mapped to --url http://HOST:PORT/" in text
        and "0.0.0.0 or :: is every address (http://+:PORT/)" in text
    )
    assert "https:// with --ssl-certfile or an SSL binding" in text and "--ssl-cert-reqs {0,1,2}" in text


# ----------------------------------------------------------------------------------------------- wrong values
@pytest.mark.parametrize("command", [["run", "a:app"], ["serve", "."], ["demo"]])
def test_https_url_without_certificate_or_binding_is_refused_in_one_line(
    command: list[str], tmp_path: Path
) -> None:
    (tmp_path / "a.py").write_text(ASGI_APP)
    port = free_port()
    url = f"https://127.0.0.1:{port}/"
    assert one_line_error(run_once([*command, "--url", url], tmp_path)) == (
        f"httpsys: cannot serve '{url}': port {port} has no SSL binding; give --ssl-certfile and --ssl-keyfile, "
        f"or bind a certificate (httpsys netsh http add sslcert ipport=0.0.0.0:{port} certhash=...)"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--port", "0"], "httpsys run: argument --port: port must be between 1 and 65535, not 0"),
        (["--port", "http"], "httpsys run: argument --port: port must be a whole number, not 'http'"),
        (["--port", "65536"], "httpsys run: argument --port: port must be between 1 and 65535, not 65536"),
        (["--host", "a/b"], "httpsys: invalid --host 'a/b': a host name or an IP address is expected"),
        (["--host", "999.1.1.1", "--port", "1"], "httpsys: invalid URL prefix 'http://999.1.1.1:1/'"),
        (["--url", "http://+:1/", "--host", "x"], "httpsys: give either --url or --host/--port, not both"),
        (["--app-dir", "nowhere"], "httpsys: cannot import 'a:app': --app-dir 'nowhere' is not a directory"),
        (["--shutdown-timeout", "nan"], "httpsys run: argument --shutdown-timeout: seconds must be between"),
        (["--threads", "0"], "httpsys run: argument --threads: threads must be between 1 and 1024, not 0"),
        (["--lifespan", "maybe"], "httpsys run: argument --lifespan: invalid choice: 'maybe'"),
        (["--no-access-log=1"], "httpsys run: argument --no-access-log: ignored explicit argument '1'"),
    ],
)
def test_a_wrong_option_value_is_one_line(args: list[str], expected: str, tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(ASGI_APP)
    assert one_line_error(run_once(["run", "a:app", *args], tmp_path)).startswith(expected)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("a:()", "httpsys: cannot import 'a:()': '' is not an attribute name (MODULE:APP, e.g. hello:app)"),
        (
            "a:app.",
            "httpsys: cannot import 'a:app.': 'app.' is not an attribute name (MODULE:APP, e.g. hello:app)",
        ),
        (
            "a:app()",  # a factory called as one, though it is the application: no location inside the command
            "httpsys: cannot import 'a:app()': app() raised TypeError: "
            "app() missing 3 required positional arguments: 'scope', 'receive', and 'send'",
        ),
    ],
)
def test_a_malformed_application_spec_is_one_line(spec: str, expected: str, tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(ASGI_APP)
    assert one_line_error(run_once(["run", spec, "--port", str(free_port())], tmp_path)) == expected


def test_once_run_accepts_a_connection_it_never_refuses_one_while_starting(tmp_path: Path) -> None:
    """A readiness check that got through must not be followed by a refusal: the command never opens the port
    and closes it again before the application registers (a register-and-release probe did, and a client
    connecting in that window had its next connection refused)."""
    (tmp_path / "logged.py").write_text(ASGI_APP)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "httpsys.cli", "run", "logged:app", "--port", str(port), "--no-access-log"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _started.append(proc)
    first_accept: float | None = None
    refused_after_accept = 0
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            if first_accept is not None:
                refused_after_accept += 1
            continue
        except TimeoutError:
            continue  # a full backlog on a loaded machine (slow, not refused): try again
        if first_accept is None:
            first_accept = time.monotonic()
        elif time.monotonic() - first_accept > 1.0:
            break
    assert first_accept is not None, "the command never accepted a connection"
    assert refused_after_accept == 0
    assert status_of(port, "/") == 200
    stop(proc)
