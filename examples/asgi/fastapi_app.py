"""A FastAPI application on httpsys, run from your own asyncio code with `ASGIServer`.

Run it with `python examples/asgi/fastapi_app.py [PORT]`, then:
    curl http://localhost:8000/items/7
    curl -X POST -H 'Content-Type: application/json' -d '{"name": "pen", "price": 2}' http://localhost:8000/items
"""

from __future__ import annotations

import asyncio
import signal
import sys

from fastapi import FastAPI
from pydantic import BaseModel

from httpsys.asgi import ASGIServer

app = FastAPI()


class Item(BaseModel):
    name: str
    price: float


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None) -> dict[str, object]:
    return {"item_id": item_id, "q": q}


@app.post("/items")
async def create_item(item: Item) -> dict[str, object]:
    return {"name": item.name, "price_with_tax": round(item.price * 1.2, 2)}


async def main(port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = ASGIServer(app, [f"http://+:{port}/"], concurrency=500)
    await server.run(stop)  # returns after Ctrl+C, once in-flight requests are done


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000))
