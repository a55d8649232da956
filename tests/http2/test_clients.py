"""Real HTTP/2 clients end to end against the `httpsys` command with `--http2-cleartext` (issue 18 items 3 and 5):
curl --http2-prior-knowledge, nghttp and h2load (Debian's nghttp2-client), httpx http2=True against ASGI and WSGI
applications under `httpsys run`; and without the flag, no HTTP/2 at all."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from integration.ports import free_port

CURL = shutil.which("curl")
NGHTTP = shutil.which("nghttp")
H2LOAD = shutil.which("h2load")
REQUIRE_TOOLS = os.environ.get("HTTPSYS_REQUIRE_TEST_TOOLS") == "1"  # CI: a missing tool fails, never skips
needs_nghttp2 = pytest.mark.skipif(
    (NGHTTP is None or H2LOAD is None) and not REQUIRE_TOOLS,
    reason="nghttp2-client is not installed: scripts/install-test-tools.sh nghttp h2load",
)
needs_curl = pytest.mark.skipif(CURL is None and not REQUIRE_TOOLS, reason="curl is not installed")

APP = """
def wsgi(environ, start_response):
    body = ("wsgi " + environ["SERVER_PROTOCOL"] + " " + environ["PATH_INFO"]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

async def asgi(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    text = f"asgi {scope['http_version']} {scope['path']} {len(body)}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": text, "more_body": True})
    await send({"type": "http.response.body", "body": b" end"})
"""


class Server:
    """`python -m httpsys.cli ARGS` on a free port, stopped with SIGINT."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "httpsys.cli", *args, "--port", str(self.port), "--no-access-log"],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.communicate()
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/", timeout=0.5)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        pytest.fail("the command never answered")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    (root / "index.html").write_bytes(b"<h1>hello over h2</h1>")
    (root / "big.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    (root / "app.py").write_text(textwrap.dedent(APP))
    return root


@pytest.fixture(scope="module")
def static(site: Path) -> Iterator[Server]:
    server = Server(["serve", str(site), "--http2-cleartext"], site)
    yield server
    server.stop()


@needs_curl
def test_curl_with_prior_knowledge_gets_http2(static: Server, site: Path) -> None:
    out = subprocess.run(
        [
            CURL or "curl",
            "-s",
            "--http2-prior-knowledge",
            "-w",
            "\\n%{http_version} %{http_code}",
            f"{static.url}/",
        ],
        capture_output=True,
        timeout=20,
        check=True,
    ).stdout
    body, _, tail = out.rpartition(b"\n")
    assert tail == b"2 200"
    assert body == (site / "index.html").read_bytes()


@needs_curl
def test_curl_http11_and_http2_on_the_same_port(static: Server) -> None:
    out = subprocess.run(
        [CURL or "curl", "-s", "--http1.1", "-o", "/dev/null", "-w", "%{http_version}", f"{static.url}/"],
        capture_output=True,
        timeout=20,
        check=True,
    ).stdout
    assert out == b"1.1"


@needs_nghttp2
def test_nghttp_fetches_a_large_file_on_one_stream(static: Server, site: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [NGHTTP or "nghttp", "-n", "-s", f"{static.url}/big.bin"], capture_output=True, timeout=30, text=True
    )
    assert result.returncode == 0, result.stderr
    # the statistics line: status 200, 1 MiB, the path (nghttp speaks prior knowledge to http:// URIs)
    assert re.search(r"\b200\s+1M /big\.bin", result.stdout), result.stdout


@needs_nghttp2
def test_h2load_many_streams_all_succeed(static: Server) -> None:
    result = subprocess.run(
        [H2LOAD or "h2load", "-n", "400", "-c", "4", "-m", "10", f"{static.url}/"],
        capture_output=True,
        timeout=60,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "400 succeeded, 0 failed, 0 errored" in result.stdout, result.stdout


def test_httpx_http2_against_asgi_and_wsgi(site: Path) -> None:
    for interface, expected in (("asgi", b"asgi 2 /x 5 end"), ("wsgi", b"wsgi HTTP/2.0 /x")):
        server = Server(["run", f"app:{interface}", "--http2-cleartext"], site)
        try:
            with httpx.Client(http1=False, http2=True) as client:
                response = client.post(f"{server.url}/x", content=b"hello")
                assert response.http_version == "HTTP/2"
                assert response.content == expected
                # several concurrent streams on the one connection
                texts = {client.get(f"{server.url}/s{i}").status_code for i in range(5)}
                assert texts == {200}
        finally:
            server.stop()


@needs_curl
def test_without_the_flag_no_http2(site: Path) -> None:
    server = Server(["serve", str(site)], site)
    try:
        result = subprocess.run(
            [
                CURL or "curl",
                "-s",
                "--http2-prior-knowledge",
                "-o",
                "/dev/null",
                "-w",
                "%{http_version}",
                f"{server.url}/",
            ],
            capture_output=True,
            timeout=20,
        )
        assert result.stdout != b"2"
        plain = httpx.get(f"{server.url}/")
        assert plain.status_code == 200 and plain.http_version == "HTTP/1.1"
    finally:
        server.stop()
