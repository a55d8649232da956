"""The ASGI adapter over real sockets: Starlette and FastAPI applications, raw ASGI edge cases, WebSocket, lifespan.

Each server runs `ASGIServer.run` on its own event loop in a background thread; httpx, the `websockets` client and
raw sockets talk to it on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import importlib.util
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import uvloop
from conftest import RawClient, free_port
from fastapi import BackgroundTasks, FastAPI, File, Form, UploadFile
from fastapi.websockets import WebSocketDisconnect
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from httpsys.aio import driver_for_loop
from httpsys.asgi import ASGIServer, LifespanError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "asgi"


# ------------------------------------------------------------------------------------------------- harness
class Running:
    """An ASGIServer serving on its own loop in a thread; `base` is its http URL."""

    def __init__(self, server: ASGIServer, port: int) -> None:
        self.server = server
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}"
        self.loop = uvloop.new_event_loop()
        self.error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self._stop = asyncio.Event()
            task = asyncio.ensure_future(self.server.run(self._stop))
            started = asyncio.ensure_future(self.server.started.wait())
            await asyncio.wait((task, started), return_when=asyncio.FIRST_COMPLETED)
            started.cancel()
            if task.done():
                await task  # failed to start: raise here, before start() looks
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

    def call(self, fn: Callable[[], Any]) -> None:
        self.loop.call_soon_threadsafe(fn)

    def stop(self, timeout: float = 15.0) -> None:
        if self._thread.is_alive() and self._stop is not None:
            stop = self._stop
            self.loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "server did not stop"


@contextmanager
def serving(app: Any, path: str = "/", **kw: Any) -> Iterator[Running]:
    port = free_port()
    running = Running(ASGIServer(app, [f"http://+:{port}{path}"], **kw), port).start()
    try:
        yield running
    finally:
        running.stop()
    if running.error is not None:
        raise running.error


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_asgi_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


# ------------------------------------------------------------------------------------------------- Starlette
def starlette_app(events: list[str]) -> Any:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"greeting": "hello"}
        events.append("shutdown")

    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{request.state.greeting} {request.url.path}")

    async def item(request: Request) -> JSONResponse:
        return JSONResponse({"id": request.path_params["id"], "q": request.query_params.get("q")})

    async def echo_json(request: Request) -> JSONResponse:
        return JSONResponse({"got": await request.json()})

    async def form(request: Request) -> JSONResponse:
        async with request.form() as data:
            upload = data["file"]
            assert not isinstance(upload, str)
            content = await upload.read()
            return JSONResponse(
                {
                    "name": data["name"],
                    "filename": upload.filename,
                    "size": len(content),
                    "sha": hashlib.sha256(content).hexdigest(),
                }
            )

    async def body_size(request: Request) -> JSONResponse:
        size = 0
        digest = hashlib.sha256()
        async for chunk in request.stream():
            size += len(chunk)
            digest.update(chunk)
        return JSONResponse({"size": size, "sha": digest.hexdigest()})

    async def stream(request: Request) -> StreamingResponse:
        async def lines() -> AsyncIterator[str]:
            for i in range(5):
                yield f"line {i}\n"
                await asyncio.sleep(0.005)

        return StreamingResponse(lines(), media_type="text/plain")

    async def record(what: str) -> None:
        await asyncio.sleep(0.01)
        events.append(what)

    async def background(request: Request) -> PlainTextResponse:
        return PlainTextResponse("queued", background=BackgroundTask(record, "background-done"))

    async def ws_echo(websocket: WebSocket) -> None:
        await websocket.accept(subprotocol=(websocket.scope["subprotocols"] or [None])[0])
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                events.append(f"ws-disconnect {message['code']}")
                return
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message["bytes"])

    async def ws_close(websocket: WebSocket) -> None:
        await websocket.accept()
        text = await websocket.receive_text()
        await websocket.close(code=4001, reason=f"bye {text}")

    async def ws_deny(websocket: WebSocket) -> None:
        await websocket.close(code=1008)

    async def ws_denial_response(websocket: WebSocket) -> None:
        await websocket.send_denial_response(PlainTextResponse("members only", status_code=401))

    return Starlette(
        routes=[
            Route("/", home),
            Route("/items/{id:int}", item),
            Route("/json", echo_json, methods=["POST"]),
            Route("/form", form, methods=["POST"]),
            Route("/size", body_size, methods=["POST"]),
            Route("/stream", stream),
            Route("/background", background),
            WebSocketRoute("/ws", ws_echo),
            WebSocketRoute("/ws/close", ws_close),
            WebSocketRoute("/ws/deny", ws_deny),
            WebSocketRoute("/ws/denial", ws_denial_response),
        ],
        lifespan=lifespan,
    )


@pytest.fixture(scope="module")
def star() -> Iterator[tuple[Running, list[str]]]:
    events: list[str] = []
    with serving(starlette_app(events)) as running:
        yield running, events


def test_starlette_routes_path_params_query_and_lifespan_state(star: tuple[Running, list[str]]) -> None:
    running, _ = star
    with httpx.Client(base_url=running.base) as client:
        home = client.get("/")
        assert (home.status_code, home.text) == (200, "hello /")
        assert home.headers["content-type"].startswith("text/plain")
        item = client.get("/items/42", params={"q": "blue sky"})
        assert item.json() == {"id": 42, "q": "blue sky"}
        assert client.get("/items/nope").status_code == 404


def test_starlette_json_round_trip(star: tuple[Running, list[str]]) -> None:
    running, _ = star
    payload = {"name": "widget", "tags": ["a", "b"], "n": 3.5, "unicode": "héllo ✓"}
    response = httpx.post(f"{running.base}/json", json=payload)
    assert response.status_code == 200
    assert response.json() == {"got": payload}


def test_starlette_multipart_form_with_a_file_part(star: tuple[Running, list[str]]) -> None:
    running, _ = star
    content = bytes(range(256)) * 1000  # 256 KB, binary
    response = httpx.post(
        f"{running.base}/form",
        data={"name": "report"},
        files={"file": ("data.bin", content, "application/octet-stream")},
    )
    assert response.status_code == 200
    assert response.json() == {
        "name": "report",
        "filename": "data.bin",
        "size": len(content),
        "sha": hashlib.sha256(content).hexdigest(),
    }


def test_starlette_streams_a_chunked_request_body(star: tuple[Running, list[str]]) -> None:
    running, _ = star
    pieces = [bytes([i]) * 100_000 for i in range(12)]

    def body() -> Iterator[bytes]:
        yield from pieces

    response = httpx.post(f"{running.base}/size", content=body())
    whole = b"".join(pieces)
    assert response.json() == {"size": len(whole), "sha": hashlib.sha256(whole).hexdigest()}


def test_starlette_streaming_response_arrives_chunked(star: tuple[Running, list[str]]) -> None:
    running, _ = star
    with httpx.stream("GET", f"{running.base}/stream") as response:
        assert response.headers.get("transfer-encoding") == "chunked"
        lines = list(response.iter_lines())
    assert lines == [f"line {i}" for i in range(5)]


def test_starlette_background_task_runs_after_the_response(star: tuple[Running, list[str]]) -> None:
    running, events = star
    response = httpx.get(f"{running.base}/background")
    assert response.text == "queued"
    wait_until(lambda: "background-done" in events)


def test_head_request_gets_headers_without_a_body(star: tuple[Running, list[str]]) -> None:
    running, _ = star
    client = RawClient(running.port)
    client.send(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
    head = client.recv_until(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"content-length: 7" in head.lower()
    status, _headers, body = client.recv_response()  # the next response follows at once: no stray body
    assert (status, body) == (b"HTTP/1.1 200 OK", b"hello /")
    client.close()


def test_starlette_websocket_echoes_text_and_bytes_and_sees_the_close(
    star: tuple[Running, list[str]],
) -> None:
    running, events = star
    with ws_connect(f"{running.ws}/ws", subprotocols=["chat"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "chat"
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
        ws.send(b"\x00\x01binary")
        assert ws.recv(timeout=5) == b"\x00\x01binary"
        big = bytes(range(256)) * 4096  # 1 MiB: many frames and reads
        ws.send(big)
        assert ws.recv(timeout=5) == big
        assert ws.ping().wait(5)
    wait_until(lambda: "ws-disconnect 1000" in events)


def test_websocket_permessage_deflate_is_negotiated(star: tuple[Running, list[str]]) -> None:
    running, _ = star
    with ws_connect(f"{running.ws}/ws") as ws:  # the client offers permessage-deflate by default
        assert ws.response is not None
        assert "permessage-deflate" in ws.response.headers.get("Sec-WebSocket-Extensions", "")
        text = "compress me " * 1000
        ws.send(text)
        assert ws.recv(timeout=5) == text


def test_websocket_close_code_and_reason_reach_the_client(star: tuple[Running, list[str]]) -> None:
    running, _ = star
    with ws_connect(f"{running.ws}/ws/close") as ws:
        ws.send("now")
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (4001, "bye now")


def test_websocket_closed_before_accept_is_a_403(star: tuple[Running, list[str]]) -> None:
    running, _ = star
    with pytest.raises(InvalidStatus) as info:
        ws_connect(f"{running.ws}/ws/deny")
    assert info.value.response.status_code == 403


def test_websocket_denial_response_extension(star: tuple[Running, list[str]]) -> None:
    running, _ = star
    with pytest.raises(InvalidStatus) as info:
        ws_connect(f"{running.ws}/ws/denial")
    assert info.value.response.status_code == 401
    assert info.value.response.body == b"members only"


def test_websocket_handshake_without_a_key_is_refused(star: tuple[Running, list[str]]) -> None:
    running, _ = star
    client = RawClient(running.port)
    client.send(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    status, _headers, _body = client.recv_response()
    assert status.startswith(b"HTTP/1.1 400")
    client.close()


def test_lifespan_startup_and_shutdown_are_observed() -> None:
    events: list[str] = []
    with serving(starlette_app(events)) as running:
        assert events == ["startup"]
        assert httpx.get(f"{running.base}/").text == "hello /"
    assert events == ["startup", "shutdown"]


# ------------------------------------------------------------------------------------------------- FastAPI
class Item(BaseModel):
    name: str
    price: float


def fastapi_app(events: list[str]) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"db": {"answer": 42}}
        events.append("shutdown")

    api = FastAPI(lifespan=lifespan)

    @api.get("/items/{item_id}")
    async def read_item(item_id: int, request: Request, q: str | None = None) -> dict[str, Any]:
        return {"item_id": item_id, "q": q, "answer": request.state.db["answer"]}

    @api.post("/items")
    async def create_item(item: Item) -> dict[str, Any]:
        return {"name": item.name, "doubled": item.price * 2}

    @api.get("/sync")
    def sync_route() -> dict[str, str]:
        return {"ran": "in a thread"}

    @api.post("/upload")
    async def upload(name: str = Form(...), file: UploadFile = File(...)) -> dict[str, Any]:  # noqa: B008
        content = await file.read()
        return {"name": name, "filename": file.filename, "size": len(content)}

    @api.get("/stream")
    async def stream() -> StreamingResponse:
        async def numbers() -> AsyncIterator[bytes]:
            for i in range(4):
                yield b"%d," % i

        return StreamingResponse(numbers(), media_type="text/plain")

    def write_log(message: str) -> None:
        events.append(message)

    @api.post("/notify")
    async def notify(email: str, background_tasks: BackgroundTasks) -> dict[str, str]:
        background_tasks.add_task(write_log, f"notified {email}")
        return {"message": "sent"}

    @api.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                data = await websocket.receive_json()
                await websocket.send_json({"echo": data})
        except WebSocketDisconnect as exc:
            events.append(f"ws closed {exc.code}")

    return api


@pytest.fixture(scope="module")
def fast() -> Iterator[tuple[Running, list[str]]]:
    events: list[str] = []
    with serving(fastapi_app(events), lifespan="on") as running:
        yield running, events
    assert events[-1] == "shutdown"


def test_fastapi_routes_validation_and_lifespan_state(fast: tuple[Running, list[str]]) -> None:
    running, events = fast
    assert events[0] == "startup"
    with httpx.Client(base_url=running.base) as client:
        assert client.get("/items/7", params={"q": "x"}).json() == {"item_id": 7, "q": "x", "answer": 42}
        assert client.get("/items/seven").status_code == 422
        assert client.post("/items", json={"name": "pen", "price": 1.25}).json() == {
            "name": "pen",
            "doubled": 2.5,
        }
        assert client.post("/items", json={"name": "pen"}).status_code == 422
        assert client.get("/sync").json() == {"ran": "in a thread"}
        assert client.get("/missing").status_code == 404


def test_fastapi_form_upload(fast: tuple[Running, list[str]]) -> None:
    running, _ = fast
    response = httpx.post(
        f"{running.base}/upload", data={"name": "n1"}, files={"file": ("a.txt", b"x" * 70_000, "text/plain")}
    )
    assert response.json() == {"name": "n1", "filename": "a.txt", "size": 70_000}


def test_fastapi_streaming_and_background_tasks(fast: tuple[Running, list[str]]) -> None:
    running, events = fast
    assert httpx.get(f"{running.base}/stream").text == "0,1,2,3,"
    assert httpx.post(f"{running.base}/notify", params={"email": "a@b.c"}).json() == {"message": "sent"}
    wait_until(lambda: "notified a@b.c" in events)


def test_fastapi_websocket_json_echo(fast: tuple[Running, list[str]]) -> None:
    running, events = fast
    with ws_connect(f"{running.ws}/ws") as ws:
        ws.send('{"n": 1}')
        assert ws.recv(timeout=5) == '{"echo":{"n":1}}'
    wait_until(lambda: "ws closed 1000" in events)


# ------------------------------------------------------------------------------------------------- raw ASGI
Message = dict[str, Any]


def test_scope_carries_raw_path_query_client_server_and_extensions() -> None:
    seen: list[Message] = []

    async def app(scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(scope)
            await send({"type": "http.response.start", "status": 204})
            await send({"type": "http.response.body"})

    with serving(app, lifespan="off") as running:
        response = httpx.get(f"{running.base}/a%20b/c?x=1&y=%20", headers={"X-Thing": "Yes"})
        assert response.status_code == 204
    scope = seen[0]
    assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert (scope["method"], scope["scheme"], scope["http_version"]) == ("GET", "http", "1.1")
    assert (scope["path"], scope["raw_path"], scope["query_string"]) == ("/a b/c", b"/a%20b/c", b"x=1&y=%20")
    assert (b"x-thing", b"Yes") in [tuple(h) for h in scope["headers"]]
    assert scope["client"][0] == "127.0.0.1"
    assert scope["server"] == ("127.0.0.1", running.port)
    assert scope["root_path"] == ""
    assert "http.response.trailers" in scope["extensions"]
    assert scope["state"] == {}


def test_each_request_gets_a_scope_of_its_own_with_its_version_method_and_target() -> None:
    """The scope starts from a per-server template (decision 0031, amendment): what one request's application
    changes in its scope never shows in the next one's, and each carries its own version, method and target."""
    seen: list[Message] = []

    async def app(scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(dict(scope))
            scope["added-by-the-app"] = True
            scope["state"]["touched"] = True
            scope["headers"].append((b"x-added", b"1"))
            body = (
                f"{scope['method']} {scope['http_version']} {scope['raw_path']!r} {scope['query_string']!r}"
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"%d" % len(body))],
                }
            )
            await send({"type": "http.response.body", "body": body.encode()})

    with serving(app, lifespan="off") as running:
        client = RawClient(running.port)
        client.send(b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
        assert client.recv_response()[2] == b"GET 1.1 b'/plain' b''"
        client.send(b"POST /q?a=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        assert client.recv_response()[2] == b"POST 1.1 b'/q' b'a=1'"
        client.send(b"PATCH /p HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
        assert client.recv_response()[2] == b"PATCH 1.0 b'/p' b''"
        client.close()
    assert len(seen) == 3
    for scope in seen:
        assert "added-by-the-app" not in scope
        assert scope["headers"].count((b"x-added", b"1")) == 1  # its own addition only
        assert scope["scheme"] == "http" and scope["type"] == "http" and scope["root_path"] == ""
    assert seen[1]["state"] == {} or seen[1]["state"] == {
        "touched": True
    }  # shallow copies of the server state
    assert seen[0]["state"] is not seen[1]["state"]


def test_root_path_mounts_the_app_under_its_url_prefix() -> None:
    async def where(request: Request) -> PlainTextResponse:
        return PlainTextResponse(
            f"{request.scope['root_path']}|{request.url.path}|{request.url_for('where')}"
        )

    app = Starlette(routes=[Route("/where", where, name="where")])
    with serving(app, path="/app/", root_path="/app") as running:
        response = httpx.get(f"{running.base}/app/where")
        assert response.text == f"/app|/app/where|{running.base}/app/where"


def test_exception_before_the_response_is_a_500(caplog: pytest.LogCaptureFixture) -> None:
    async def app(scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            raise RuntimeError("boom")

    with serving(app, lifespan="off") as running:
        response = httpx.get(f"{running.base}/")
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert any("boom" in (r.exc_text or "") or r.exc_info for r in caplog.records if r.name == "httpsys.asgi")


def test_exception_after_the_response_started_closes_the_connection() -> None:
    async def app(scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]}
            )
            await send({"type": "http.response.body", "body": b"partial", "more_body": True})
            raise RuntimeError("boom")

    with serving(app, lifespan="off") as running:
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{running.base}/")


def test_response_refused_by_the_driver_resets_the_connection(caplog: pytest.LogCaptureFixture) -> None:
    async def app(scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"x-bad", b"a\r\nb")]})
            await send({"type": "http.response.body", "body": b"never"})

    with serving(app, lifespan="off") as running:
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{running.base}/", timeout=5)
    errors = [r for r in caplog.records if r.name == "httpsys.asgi" and r.levelname == "ERROR"]
    assert errors and errors[0].exc_info is not None
    assert "ERROR_INVALID_PARAMETER" in str(errors[0].exc_info[1])


def test_app_returning_without_a_response_gets_a_500() -> None:
    async def app(scope: Message, receive: Any, send: Any) -> None:
        return None

    with serving(app, lifespan="off") as running:
        assert httpx.get(f"{running.base}/").status_code == 500


def test_trailers_follow_a_chunked_body() -> None:
    async def app(scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": [], "trailers": True})
            await send({"type": "http.response.body", "body": b"hello", "more_body": True})
            await send({"type": "http.response.body", "body": b" world"})
            await send(
                {
                    "type": "http.response.trailers",
                    "headers": [(b"x-checksum", b"abc")],
                    "more_trailers": True,
                }
            )
            await send({"type": "http.response.trailers", "headers": [(b"x-count", b"2")]})

    with serving(app, lifespan="off") as running:
        client = RawClient(running.port)
        client.send(b"GET / HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n")
        head = client.recv_until(b"\r\n\r\n").lower()
        assert b"transfer-encoding: chunked" in head
        rest = client.recv_until(b"\r\n\r\n", timeout=5)
        assert rest == b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: abc\r\nx-count: 2\r\n\r\n"
        client.close()


def test_pathsend_and_zerocopysend_send_files(tmp_path: Path) -> None:
    data = bytes(range(256)) * 2000
    path = tmp_path / "blob.bin"
    path.write_bytes(data)

    async def app(scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"x/y")]})
        if scope["path"] == "/path":
            await send({"type": "http.response.pathsend", "path": str(path)})
        else:
            with open(path, "rb") as f:
                await send({"type": "http.response.zerocopysend", "file": f, "offset": 10, "count": 1000})

    with serving(app, lifespan="off") as running:
        whole = httpx.get(f"{running.base}/path")
        assert (whole.content == data, whole.headers["content-length"]) == (True, str(len(data)))
        part = httpx.get(f"{running.base}/zero")
        assert part.content == data[10:1010]


def test_receive_reports_disconnect_when_the_client_leaves() -> None:
    outcome: list[str] = []
    got_body = threading.Event()

    async def app(scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        first = await receive()
        outcome.append(f"{first['type']}:{first['body']!r}")
        got_body.set()
        message = await receive()  # nothing more: waits for the client to go
        outcome.append(message["type"])

    with serving(app, lifespan="off") as running:
        client = RawClient(running.port)
        client.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        assert got_body.wait(5)
        client.close()
        wait_until(lambda: len(outcome) == 2)
    assert outcome == ["http.request:b'abc'", "http.disconnect"]


def test_receive_after_the_response_is_an_immediate_disconnect() -> None:
    messages: list[str] = []

    async def app(scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await receive()
        await send({"type": "http.response.start", "status": 200})
        await send({"type": "http.response.body", "body": b"ok"})
        messages.append((await asyncio.wait_for(receive(), 2))["type"])

    with serving(app, lifespan="off") as running:
        assert httpx.get(f"{running.base}/").text == "ok"
        wait_until(lambda: bool(messages))
    assert messages == ["http.disconnect"]


def test_concurrency_cap_bounds_requests_in_flight() -> None:
    state = {"now": 0, "peak": 0}

    async def app(scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        state["now"] += 1
        state["peak"] = max(state["peak"], state["now"])
        await asyncio.sleep(0.1)
        state["now"] -= 1
        await send({"type": "http.response.start", "status": 200})
        await send({"type": "http.response.body", "body": b"done"})

    with serving(app, lifespan="off", concurrency=2) as running:
        results: list[int] = []

        def fetch() -> None:
            results.append(httpx.get(f"{running.base}/", timeout=10).status_code)

        threads = [threading.Thread(target=fetch) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [200] * 6
    assert state["peak"] == 2


@pytest.mark.parametrize("eager_start", [True, False])
def test_a_request_that_waits_keeps_its_task_and_its_context_and_others_are_served_meanwhile(
    eager_start: bool,
) -> None:
    """Eager start runs an application call in the receiving task until it first waits; from then on that task is
    the request's for good (what anyio's cancel scopes need: the task that entered a scope exits it), a new task
    receives, and every request has a context of its own (a variable one request sets is not seen by the next)."""
    request_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_var", default="unset")
    seen: list[tuple[str, bool, str]] = []
    tasks: dict[str, list[object]] = {}
    release = asyncio.Event()

    async def app(scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        before = request_var.get()
        request_var.set(path)
        tasks[path] = [asyncio.current_task()]
        if path == "/slow":
            await release.wait()  # parked until /fast has been answered
        elif path == "/sleep":
            await asyncio.sleep(0.01)
        tasks[path].append(asyncio.current_task())
        seen.append((path, tasks[path][0] is tasks[path][1], before))
        if path == "/fast":
            release.set()
        await send({"type": "http.response.start", "status": 200})
        await send({"type": "http.response.body", "body": path.encode()})

    with serving(app, lifespan="off", eager_start=eager_start) as running:
        slow: list[httpx.Response] = []
        waiting = threading.Thread(target=lambda: slow.append(httpx.get(f"{running.base}/slow", timeout=10)))
        waiting.start()
        wait_until(lambda: "/slow" in tasks)
        fast = httpx.get(f"{running.base}/fast", timeout=10)  # answered while /slow still waits
        waiting.join(10)
        after = [httpx.get(f"{running.base}{path}", timeout=10) for path in ("/quick", "/sleep") * 3]
    assert fast.text == "/fast" and slow[0].text == "/slow"
    assert [r.text for r in after] == ["/quick", "/sleep"] * 3
    assert len(seen) == 8
    for path, same_task, before in seen:
        assert same_task, f"{path}: current_task() changed across the first wait"
        assert before == "unset", f"{path} saw the variable another request set ({before!r})"
    if eager_start:  # the request that never waited ran in the receiving task: no task of its own was made
        assert tasks["/fast"][0] is not tasks["/slow"][0]


def test_an_exception_escaping_an_eagerly_started_request_does_not_stop_receiving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An application raising BaseException subclasses other than Exception (here CancelledError, raised by the
    application itself before its first wait) ends that request only; the next requests are served."""
    calls = {"n": 0}

    async def app(scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        calls["n"] += 1
        if scope["path"] == "/cancel":
            raise asyncio.CancelledError
        await send({"type": "http.response.start", "status": 200})
        await send({"type": "http.response.body", "body": b"ok"})

    with serving(app, lifespan="off") as running:
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{running.base}/cancel", timeout=5)
        assert [httpx.get(f"{running.base}/", timeout=5).text for _ in range(3)] == ["ok"] * 3
    assert calls["n"] == 4


def test_graceful_shutdown_finishes_in_flight_requests_and_refuses_new_ones() -> None:
    entered = threading.Event()
    paths: list[str] = []

    async def app(scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        paths.append(scope["path"])
        entered.set()
        await asyncio.sleep(0.3)
        await send({"type": "http.response.start", "status": 200})
        await send({"type": "http.response.body", "body": b"finished"})

    port = free_port()
    running = Running(ASGIServer(app, [f"http://+:{port}/"], lifespan="off"), port).start()
    result: list[httpx.Response] = []
    slow = threading.Thread(target=lambda: result.append(httpx.get(f"{running.base}/slow", timeout=10)))
    slow.start()
    assert entered.wait(5)
    assert running._stop is not None
    stop = running._stop
    running.call(stop.set)
    time.sleep(0.05)
    # the server session is draining: its port stopped accepting connections
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{running.base}/new", timeout=5)
    slow.join(10)
    running.stop()
    assert result[0].text == "finished"
    assert result[0].headers["connection"] == "close"  # the connection in flight ends after this response
    assert paths == ["/slow"]


def test_lifespan_startup_failure_stops_the_server() -> None:
    async def app(scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.failed", "message": "no database"})

    port = free_port()
    with pytest.raises(LifespanError, match="no database"):
        Running(ASGIServer(app, [f"http://+:{port}/"]), port).start()
    with socket.socket() as s:  # nothing was bound
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_lifespan_auto_carries_on_when_the_app_does_not_support_it() -> None:
    scopes: list[str] = []

    async def app(scope: Message, receive: Any, send: Any) -> None:
        scopes.append(scope["type"])
        if scope["type"] != "http":
            raise ValueError("only http here")
        await send({"type": "http.response.start", "status": 200})
        await send({"type": "http.response.body", "body": b"fine"})

    with serving(app) as running:
        assert httpx.get(f"{running.base}/").text == "fine"
    assert scopes == ["lifespan", "http"]


def test_lifespan_off_never_calls_the_app_for_lifespan() -> None:
    scopes: list[str] = []

    async def app(scope: Message, receive: Any, send: Any) -> None:
        scopes.append(scope["type"])

    with serving(app, lifespan="off"):
        pass
    assert scopes == []


# ------------------------------------------------------------------------------------------------- examples
def test_examples_hello_and_starlette_serve_as_documented() -> None:
    hello = load_example("hello_asgi")
    with serving(hello.app) as running:
        assert httpx.get(f"{running.base}/anything").text == "Hello, world!"
    star = load_example("starlette_app")
    with serving(star.app) as running:
        assert httpx.get(f"{running.base}/").text == "Hello from httpsys"
        assert httpx.get(f"{running.base}/items/42?q=blue").json() == {"id": 42, "q": "blue"}
        assert httpx.get(f"{running.base}/countdown").text == "3\n2\n1\nliftoff\n"
        with ws_connect(f"{running.ws}/echo") as ws:
            ws.send("ping?")
            assert ws.recv(timeout=5) == "ping?"


def test_example_fastapi_main_runs_and_stops_on_its_event() -> None:
    module = load_example("fastapi_app")
    with serving(module.app) as running:
        assert httpx.get(f"{running.base}/items/7").json() == {"item_id": 7, "q": None}
        assert httpx.post(f"{running.base}/items", json={"name": "pen", "price": 2}).json() == {
            "name": "pen",
            "price_with_tax": 2.4,
        }


def test_client_leaving_mid_stream_ends_the_app_quietly(caplog: pytest.LogCaptureFixture) -> None:
    ended: list[str] = []

    async def endless(request: Request) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            while True:
                yield b"x" * 65536
                await asyncio.sleep(0.001)

        return StreamingResponse(chunks())

    starlette = Starlette(routes=[Route("/endless", endless)])

    async def app(scope: Message, receive: Any, send: Any) -> None:
        try:
            await starlette(scope, receive, send)
        except BaseException as exc:
            ended.append(type(exc).__name__)
            raise
        ended.append("returned")

    with serving(app, lifespan="off") as running:
        client = RawClient(running.port)
        client.send(b"GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
        client.recv_until(b"\r\n\r\n")
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        client.close()  # reset: the next write fails and Starlette (spec 2.4) sees an OSError
        wait_until(lambda: bool(ended))
    assert ended == ["ClientDisconnect"]
    assert not [r for r in caplog.records if r.name == "httpsys.asgi" and r.levelname == "ERROR"]


def test_async_with_serves_in_the_background() -> None:
    async def app(scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200})
            await send({"type": "http.response.body", "body": b"from the context manager"})

    async def main(port: int) -> str:
        try:
            async with ASGIServer(app, [f"http://+:{port}/"], lifespan="off") as server:
                assert server.started.is_set()
                async with httpx.AsyncClient() as client:
                    response = await client.get(f"http://127.0.0.1:{port}/")
            assert not server.started.is_set()
            return response.text
        finally:
            driver_for_loop().close()

    assert asyncio.run(main(free_port())) == "from the context manager"


def test_example_script_serves_until_sigint() -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(EXAMPLES / "hello_asgi.py"), str(port)])
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


def test_shutdown_asks_open_websockets_to_close_with_1012() -> None:
    events: list[str] = []
    port = free_port()
    running = Running(ASGIServer(starlette_app(events), [f"http://+:{port}/"]), port).start()
    with ws_connect(f"{running.ws}/ws") as ws:
        ws.send("still here")
        assert ws.recv(timeout=5) == "still here"
        stopper = threading.Thread(target=running.stop)
        stopper.start()
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
        stopper.join(10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1012
    assert events[-2:] == ["ws-disconnect 1012", "shutdown"]
