"""A Flask application on httpsys: JSON, an upload, a streamed response and a file sent with sendfile.

Run it with `python examples/wsgi/flask_app.py [PORT]`, then:
    curl http://localhost:8000/hello/world
    curl -F 'file=@README.md' http://localhost:8000/upload
    curl -N http://localhost:8000/numbers
    curl -o copy.py http://localhost:8000/source
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from flask import Flask, Response, jsonify, request, send_file

from httpsys.wsgi import serve

app = Flask(__name__)


@app.get("/hello/<name>")
def hello(name: str) -> Response:
    return jsonify(greeting=f"Hello, {name}!")


@app.post("/upload")
def upload() -> Response:
    file = request.files["file"]
    data = file.read()
    return jsonify(filename=file.filename, size=len(data))


@app.get("/numbers")
def numbers() -> Response:
    def generate() -> Iterator[str]:
        for n in range(5):
            yield f"{n}\n"

    return Response(generate(), mimetype="text/plain")


@app.get("/source")
def source() -> Response:
    return send_file(__file__, mimetype="text/x-python")  # zero-copy: wsgi.file_wrapper -> sendfile


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    serve(app, [f"http://+:{port}/"], threads=16)
