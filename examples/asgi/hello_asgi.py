"""The smallest ASGI application, served by httpsys: `python examples/asgi/hello_asgi.py [PORT]`.

It answers every request with "Hello, world!" and needs no framework.
"""

from __future__ import annotations

import sys
from typing import Any

from httpsys.asgi import serve


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return  # lifespan: nothing to set up ("auto" mode carries on without it)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": b"Hello, world!"})


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    serve(app, [f"http://+:{port}/"])
