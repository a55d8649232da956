"""The smallest WSGI application, served by httpsys: `python examples/wsgi/hello_wsgi.py [PORT]`."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from httpsys.wsgi import serve


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = b"Hello, world!"
    start_response(
        "200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    )
    return [body]


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    serve(app, [f"http://+:{port}/"], threads=8)
