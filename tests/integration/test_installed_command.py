"""The `httpsys` console script of the environment under test, as a user runs it: `run` (ASGI and WSGI), `serve`
and `demo` in subprocesses on real sockets, and which build they run.

`make test` runs this file twice: on the editable source in .venv (pure Python), then on the wheel installed into
build/venv-native with HTTPSYS_EXPECT_NATIVE=1, which make sets only when the build compiled the modules. The
check of which build runs follows that variable both ways, so a native run that silently imports the source (or a
pure run that picks up compiled modules) fails.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest
from ports import free_port

ROOT = Path(__file__).resolve().parents[2]
COMMAND = Path(sys.executable).parent / "httpsys"
EXPECT_NATIVE = os.environ.get("HTTPSYS_EXPECT_NATIVE", "") == "1"


def _native_module_names() -> list[str]:
    spec = importlib.util.spec_from_file_location("build_native", ROOT / "scripts" / "build_native.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [module.module_name(path) for path in module.NATIVE_MODULES]


NATIVE_MODULES = _native_module_names()

ASGI_APP = f"""
import importlib, json

NAMES = {NATIVE_MODULES!r}

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    files = {{name: importlib.import_module(name).__file__ for name in NAMES}}
    body = json.dumps({{"path": scope["path"], "files": files}}).encode()
    await send({{"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}})
    await send({{"type": "http.response.body", "body": body}})
"""

WSGI_APP = """
import json
import httpsys._engine.driver

def app(environ, start_response):
    body = json.dumps({"path": environ["PATH_INFO"], "driver": httpsys._engine.driver.__file__}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
"""


def _compiled(file: str) -> bool:
    return any(file.endswith(suffix) for suffix in EXTENSION_SUFFIXES)


def assert_build(files: dict[str, str]) -> None:
    """Every module of NATIVE_MODULES is compiled (HTTPSYS_EXPECT_NATIVE=1) or every one is its source file."""
    if EXPECT_NATIVE:
        interpreted = {name: file for name, file in files.items() if not _compiled(file)}
        assert interpreted == {}, "the native build is expected but these modules run interpreted"
    else:
        compiled = {name: file for name, file in files.items() if not file.endswith(".py")}
        assert compiled == {}, "a pure-Python run (HTTPSYS_EXPECT_NATIVE unset) runs compiled modules"


class Command:
    """`httpsys ARGS` (the console script beside the interpreter under test) running in `cwd` until stopped."""

    def __init__(self, args: list[str], cwd: Path, port: int) -> None:
        self.port = port
        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        self.proc = subprocess.Popen(
            [str(COMMAND), *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out, err = self.proc.communicate()
                pytest.fail(f"`httpsys {' '.join(args)}` exited with {self.proc.returncode}: {err or out}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.kill()
        pytest.fail(f"`httpsys {' '.join(args)}` never accepted connections")

    def get(self, target: str) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", target)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def stop(self) -> tuple[int, str, str]:
        """SIGINT (Ctrl+C), then the exit status and the output."""
        self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=15)
        return self.proc.returncode, out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=5)


@pytest.fixture
def started() -> Iterator[list[Command]]:
    commands: list[Command] = []
    yield commands
    for command in commands:
        command.kill()


def start(started: list[Command], args: list[str], cwd: Path) -> Command:
    port = free_port()
    command = Command([*args, "--url", f"http://127.0.0.1:{port}/"], cwd, port)
    started.append(command)
    return command


def stopped_cleanly(command: Command) -> str:
    code, out, err = command.stop()
    assert code == 0, err
    assert "Traceback" not in err, err
    return out


def test_the_tests_import_the_build_make_says() -> None:
    files = {name: importlib.import_module(name).__file__ or "" for name in NATIVE_MODULES}
    assert_build(files)
    assert COMMAND.is_file(), f"no console script beside {sys.executable}"


def test_run_serves_an_asgi_app_on_the_expected_build(tmp_path: Path, started: list[Command]) -> None:
    (tmp_path / "asgiapp.py").write_text(ASGI_APP)
    command = start(started, ["run", "asgiapp:app"], tmp_path)
    status, headers, body = command.get("/hello")
    assert (status, headers["content-type"]) == (200, "application/json")
    answer = json.loads(body)
    assert answer["path"] == "/hello"
    assert set(answer["files"]) == set(NATIVE_MODULES)
    assert_build(answer["files"])
    assert "(ASGI)" in stopped_cleanly(command)


def test_run_serves_a_wsgi_app_on_the_expected_build(tmp_path: Path, started: list[Command]) -> None:
    (tmp_path / "wsgiapp.py").write_text(WSGI_APP)
    command = start(started, ["run", "wsgiapp:app", "--threads", "2"], tmp_path)
    status, _headers, body = command.get("/w")
    answer = json.loads(body)
    assert (status, answer["path"]) == (200, "/w")
    assert_build({"httpsys._engine.driver": answer["driver"]})
    assert "(WSGI)" in stopped_cleanly(command)


def test_serve_serves_files_and_ranges(tmp_path: Path, started: list[Command]) -> None:
    public = tmp_path / "public"
    public.mkdir()
    (public / "hello.txt").write_bytes(b"Hello from the installed httpsys\n")
    command = start(started, ["serve", str(public)], tmp_path)
    status, headers, body = command.get("/hello.txt")
    assert (status, body) == (200, b"Hello from the installed httpsys\n")
    assert headers["content-type"].startswith("text/plain")
    assert command.get("/missing.txt")[0] == 404
    assert "httpsys serving" in stopped_cleanly(command)


def test_demo_serves_the_packaged_site(tmp_path: Path, started: list[Command]) -> None:
    command = start(started, ["demo"], tmp_path)
    status, _headers, body = command.get("/")
    assert status == 200 and b"<title>httpsys" in body
    assert command.get("/style.css")[0] == 200
    status, _headers, body = command.get("/_stats.json")
    assert status == 200 and json.loads(body)["driver"]["listeners"] == 1
    assert "httpsys demo serving" in stopped_cleanly(command)


def test_the_readme_line_tells_which_build_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    line = readme.split("To see which build an environment runs:\n\n```sh\n", 1)[1].split("\n", 1)[0]
    assert line.startswith("python -c ")
    code = line.removeprefix("python -c ").strip("\"'")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ("native" if EXPECT_NATIVE else "pure Python")
