"""A Starlette application on httpsys: routes, JSON, a streamed response and a WebSocket echo.

Run it with `python examples/asgi/starlette_app.py [PORT]`, then:
    curl http://localhost:8000/
    curl http://localhost:8000/items/42?q=blue
    curl -N http://localhost:8000/countdown
    python -m websockets ws://localhost:8000/echo
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from httpsys.asgi import serve


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, str]]:
    yield {"greeting": "Hello from httpsys"}  # copied into every request's state


async def home(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.state.greeting)


async def item(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["id"], "q": request.query_params.get("q")})


async def countdown(request: Request) -> StreamingResponse:
    async def lines() -> AsyncIterator[str]:
        for n in range(3, 0, -1):
            yield f"{n}\n"
            await asyncio.sleep(0.01)
        yield "liftoff\n"

    return StreamingResponse(lines(), media_type="text/plain")


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


app = Starlette(
    routes=[
        Route("/", home),
        Route("/items/{id:int}", item),
        Route("/countdown", countdown),
        WebSocketRoute("/echo", echo),
    ],
    lifespan=lifespan,
)

if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    serve(app, [f"http://+:{port}/"])
