"""The WSGI adapter over real sockets: a Flask application and raw PEP 3333 edge cases.

Each server runs `WSGIServer.run` on its own event loop in a background thread (the application itself runs in the
server's worker threads); httpx and raw sockets talk to it on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import io
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import uvloop
from conftest import RawClient, free_port
from flask import Flask, Response, jsonify, request, send_file, stream_with_context

from httpsys.aio import driver_for_loop
from httpsys.wsgi import WSGIServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "wsgi"
Environ = dict[str, Any]


# ------------------------------------------------------------------------------------------------- harness
class Running:
    """A WSGIServer serving on its own loop in a thread; `base` is its http URL."""

    def __init__(self, server: WSGIServer, port: int) -> None:
        self.server = server
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.loop = uvloop.new_event_loop()
        self.error: BaseException | None = None
        self.stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self.stop_event = asyncio.Event()
            task = asyncio.ensure_future(self.server.run(self.stop_event))
            started = asyncio.ensure_future(self.server.started.wait())
            await asyncio.wait((task, started), return_when=asyncio.FIRST_COMPLETED)
            started.cancel()
            if task.done():
                await task
            self._ready.set()
            try:
                await task
            finally:
                driver_for_loop().close()
                await asyncio.sleep(0.01)

        try:
            self.loop.run_until_complete(main())
        except BaseException as exc:
            self.error = exc
        finally:
            self._ready.set()
            self.loop.close()

    def start(self) -> Running:
        self._thread.start()
        assert self._ready.wait(10), "server did not start"
        if self.error is not None:
            raise self.error
        return self

    def stop(self, timeout: float = 15.0) -> None:
        if self._thread.is_alive() and self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "server did not stop"


@contextmanager
def serving(app: Any, path: str = "/", **kw: Any) -> Iterator[Running]:
    port = free_port()
    running = Running(WSGIServer(app, [f"http://+:{port}{path}"], **kw), port).start()
    try:
        yield running
    finally:
        running.stop()
    if running.error is not None:
        raise running.error


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_wsgi_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------------------- Flask
FILE_DATA = bytes(range(256)) * 4000  # ~1 MB


def flask_app(file_path: Path, closed: list[str]) -> Flask:
    app = Flask("httpsys_test")

    @app.get("/")
    def home() -> str:
        return f"hello from {request.path} ({request.environ['SERVER_PROTOCOL']})"

    @app.get("/user/<int:uid>")
    def user(uid: int) -> Response:
        return jsonify(uid=uid, args=request.args.to_dict(), agent=request.headers.get("User-Agent", ""))

    @app.post("/json")
    def post_json() -> Response:
        return jsonify(got=request.get_json())

    @app.post("/upload")
    def upload() -> Response:
        file = request.files["file"]
        data = file.read()
        return jsonify(
            label=request.form["label"],
            filename=file.filename,
            size=len(data),
            sha=hashlib.sha256(data).hexdigest(),
        )

    @app.get("/stream")
    def stream() -> Response:
        def generate() -> Iterator[str]:
            for i in range(5):
                yield f"row {i} of {request.args.get('what', '?')}\n"

        response = Response(stream_with_context(generate()), mimetype="text/plain")
        response.call_on_close(lambda: closed.append("stream"))
        return response

    @app.get("/file")
    def file() -> Response:
        return send_file(file_path, mimetype="application/octet-stream")

    @app.get("/error")
    def error() -> str:
        raise RuntimeError("flask boom")

    return app


@pytest.fixture(scope="module")
def flask_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, list[str]]]:
    path = tmp_path_factory.mktemp("wsgi") / "data.bin"
    path.write_bytes(FILE_DATA)
    closed: list[str] = []
    with serving(flask_app(path, closed), threads=4) as running:
        yield running, closed


def test_flask_routing_json_and_headers(flask_server: tuple[Running, list[str]]) -> None:
    running, _ = flask_server
    with httpx.Client(base_url=running.base, headers={"User-Agent": "tester/1"}) as client:
        home = client.get("/")
        assert (home.status_code, home.text) == (200, "hello from / (HTTP/1.1)")
        assert home.headers["content-length"] == str(len(home.content))
        assert client.get("/user/5", params={"a": "1"}).json() == {
            "uid": 5,
            "args": {"a": "1"},
            "agent": "tester/1",
        }
        assert client.get("/nope").status_code == 404
        assert client.post("/json", json={"k": [1, 2]}).json() == {"got": {"k": [1, 2]}}


def test_flask_multipart_upload_small_and_large(flask_server: tuple[Running, list[str]]) -> None:
    running, _ = flask_server
    for size in (1000, 3 * 1024 * 1024):  # prefetched on the loop / read through the worker's input stream
        content = hashlib.sha256(b"seed").digest() * (size // 32)
        response = httpx.post(
            f"{running.base}/upload",
            data={"label": f"L{size}"},
            files={"file": ("blob.bin", content, "application/octet-stream")},
            timeout=20,
        )
        assert response.status_code == 200
        assert response.json() == {
            "label": f"L{size}",
            "filename": "blob.bin",
            "size": len(content),
            "sha": hashlib.sha256(content).hexdigest(),
        }


def test_flask_streaming_generator_is_chunked_and_closed(flask_server: tuple[Running, list[str]]) -> None:
    running, closed = flask_server
    with httpx.stream("GET", f"{running.base}/stream", params={"what": "data"}) as response:
        assert response.headers.get("transfer-encoding") == "chunked"
        lines = list(response.iter_lines())
    assert lines == [f"row {i} of data" for i in range(5)]
    deadline = time.monotonic() + 5
    while "stream" not in closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "stream" in closed


def test_flask_send_file_goes_through_the_file_wrapper(flask_server: tuple[Running, list[str]]) -> None:
    running, _ = flask_server
    response = httpx.get(f"{running.base}/file")
    assert response.status_code == 200
    assert response.content == FILE_DATA
    assert response.headers["content-length"] == str(len(FILE_DATA))
    ranged = httpx.get(f"{running.base}/file", headers={"Range": "bytes=100-199"})
    assert ranged.status_code == 206
    assert ranged.content == FILE_DATA[100:200]


def test_flask_exception_is_a_500(flask_server: tuple[Running, list[str]]) -> None:
    running, _ = flask_server
    response = httpx.get(f"{running.base}/error")
    assert response.status_code == 500


def test_flask_head_has_no_body(flask_server: tuple[Running, list[str]]) -> None:
    running, _ = flask_server
    client = RawClient(running.port)
    client.send(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
    head = client.recv_until(b"\r\n\r\n").lower()
    assert head.startswith(b"http/1.1 200")
    assert b"content-length: 23" in head
    status, _headers, body = client.recv_response()
    assert (status, body) == (b"HTTP/1.1 200 OK", b"hello from / (HTTP/1.1)")
    client.close()


# ------------------------------------------------------------------------------------------------- raw WSGI
def test_environ_follows_pep_3333() -> None:
    seen: list[Environ] = []

    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        body = environ["wsgi.input"].read()
        seen.append({**environ, "body": body})
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    with serving(app, path="/base/", root_path="/base") as running:
        response = httpx.post(
            f"{running.base}/base/caf%C3%A9/x?q=a%20b",
            content=b"payload",
            headers={"X-Custom": "1", "X-Custom2": "a", "Content-Type": "text/x", "Cookie": "a=1"},
        )
        assert response.text == "ok"
    env = seen[0]
    assert env["REQUEST_METHOD"] == "POST"
    assert env["SCRIPT_NAME"] == "/base"
    assert env["PATH_INFO"] == "/café/x".encode().decode("latin-1")
    assert env["QUERY_STRING"] == "q=a%20b"
    assert (env["CONTENT_TYPE"], env["CONTENT_LENGTH"]) == ("text/x", "7")
    assert (env["HTTP_X_CUSTOM"], env["HTTP_COOKIE"]) == ("1", "a=1")
    assert "HTTP_CONTENT_TYPE" not in env
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("127.0.0.1", str(running.port))
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert env["wsgi.version"] == (1, 0)
    assert env["wsgi.url_scheme"] == "http"
    assert env["wsgi.multithread"] is True and env["wsgi.multiprocess"] is False
    assert env["body"] == b"payload"


def test_header_names_with_underscores_are_dropped() -> None:
    seen: list[Environ] = []

    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        seen.append(dict(environ))
        start_response("204 No Content", [])
        return []

    with serving(app) as running:
        client = RawClient(running.port)
        client.send(b"GET / HTTP/1.1\r\nHost: x\r\nX_Forwarded_For: 6.6.6.6\r\nX-Real: 1\r\n\r\n")
        assert client.recv_until(b"\r\n\r\n").startswith(b"HTTP/1.1 204")
        client.close()
    assert seen[0]["HTTP_X_REAL"] == "1"
    assert "HTTP_X_FORWARDED_FOR" not in seen[0]


def test_input_supports_read_n_readline_and_iteration_over_a_chunked_body() -> None:
    results: list[Any] = []

    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        stream = environ["wsgi.input"]
        first = stream.read(5)
        line = stream.readline()
        limited = stream.readline(3)
        rest = list(stream)
        results.append((first, line, limited, len(rest), rest[-1]))
        start_response("200 OK", [])
        return [b"%d" % sum(len(r) for r in rest)]

    lines = [b"line %06d\n" % i for i in range(20_000)]  # ~240 KB: more than one driver read

    def body() -> Iterator[bytes]:
        for i in range(0, len(lines), 1000):
            yield b"".join(lines[i : i + 1000])

    with serving(app) as running:
        response = httpx.post(f"{running.base}/", content=body(), timeout=10)
    first, line, limited, count, last = results[0]
    assert (first, line, limited) == (b"line ", b"000000\n", b"lin")
    assert count == len(lines) - 1  # what is left of line 1, then lines 2..
    assert last == lines[-1]
    assert int(response.text) == sum(len(x) for x in lines) - len(lines[0]) - 3


def test_write_callable_and_iterable_close() -> None:
    closed: list[bool] = []

    class Body:
        def __iter__(self) -> Iterator[bytes]:
            yield b" and"
            yield b" more"

        def close(self) -> None:
            closed.append(True)

    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written")
        return Body()

    with serving(app) as running:
        assert httpx.get(f"{running.base}/").text == "written and more"
    assert closed == [True]


def test_start_response_with_exc_info_replaces_an_unsent_status() -> None:
    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("late failure")
        except ValueError:
            start_response("503 Service Unavailable", [("Retry-After", "5")], sys.exc_info())
        return [b"try later"]

    with serving(app) as running:
        response = httpx.get(f"{running.base}/")
    assert (response.status_code, response.text, response.headers["retry-after"]) == (503, "try later", "5")


def test_exception_after_streaming_started_closes_the_connection() -> None:
    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"partial"
        raise RuntimeError("mid-stream")

    with serving(app) as running, pytest.raises(httpx.HTTPError):
        httpx.get(f"{running.base}/")


def test_content_length_response_is_sent_in_one_call() -> None:
    def app(environ: Environ, start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Length", "5")])
        yield b"12345"
        raise AssertionError("not iterated past the declared length")

    with serving(app) as running:
        client = RawClient(running.port)
        client.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = client.recv_response()
        assert (status, body) == (b"HTTP/1.1 200 OK", b"12345")
        assert b"transfer-encoding" not in headers
        client.close()


def test_file_wrapper_is_sent_with_sendfile_from_the_current_position(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(FILE_DATA)
    reads: list[int] = []
    closed: list[bool] = []

    class Tracked(io.FileIO):
        def read(self, size: int | None = -1) -> bytes:
            reads.append(size or -1)
            return super().read(size)

        def close(self) -> None:
            closed.append(True)
            super().close()

    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        f = Tracked(path)
        f.seek(1000)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        wrapper: Iterable[bytes] = environ["wsgi.file_wrapper"](f, 4096)
        return wrapper

    with serving(app) as running:
        response = httpx.get(f"{running.base}/")
    assert response.content == FILE_DATA[1000:]
    assert response.headers["content-length"] == str(len(FILE_DATA) - 1000)
    assert reads == []  # never read in Python: the driver sent it from the descriptor
    assert closed == [True]


def test_thread_pool_bounds_concurrency() -> None:
    state = {"now": 0, "peak": 0}
    lock = threading.Lock()

    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.1)
        with lock:
            state["now"] -= 1
        start_response("200 OK", [])
        return [b"ok"]

    with serving(app, threads=2) as running:
        codes: list[int] = []
        threads = [
            threading.Thread(
                target=lambda: codes.append(httpx.get(f"{running.base}/", timeout=10).status_code)
            )
            for _ in range(6)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert codes == [200] * 6
    assert state["peak"] == 2


def test_graceful_shutdown_waits_for_running_requests() -> None:
    entered = threading.Event()

    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        entered.set()
        time.sleep(0.3)
        start_response("200 OK", [])
        return [b"finished"]

    port = free_port()
    running = Running(WSGIServer(app, [f"http://+:{port}/"]), port).start()
    result: list[str] = []
    client = threading.Thread(target=lambda: result.append(httpx.get(f"{running.base}/", timeout=10).text))
    client.start()
    assert entered.wait(5)
    running.stop()
    client.join(5)
    assert result == ["finished"]


# ------------------------------------------------------------------------------------------------- examples
def test_examples_serve_as_documented() -> None:
    hello = load_example("hello_wsgi")
    with serving(hello.app) as running:
        assert httpx.get(f"{running.base}/").text == "Hello, world!"
    flask_example = load_example("flask_app")
    with serving(flask_example.app) as running:
        assert httpx.get(f"{running.base}/hello/world").json() == {"greeting": "Hello, world!"}
        assert httpx.post(f"{running.base}/upload", files={"file": ("a.txt", b"abc")}).json() == {
            "filename": "a.txt",
            "size": 3,
        }
        assert httpx.get(f"{running.base}/numbers").text == "0\n1\n2\n3\n4\n"
        assert httpx.get(f"{running.base}/source").content == Path(flask_example.__file__).read_bytes()


def test_example_script_serves_until_sigint() -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(EXAMPLES / "hello_wsgi.py"), str(port)])
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the example did not start"
                time.sleep(0.05)
        assert response.text == "Hello, world!"
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
