"""`httpsys run|serve --url https://... --ssl-certfile F --ssl-keyfile K` (uvicorn's flags): real subprocesses."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from certs import Pki
from tlsserver import free_port

APP = """
import json

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    tls = scope["extensions"].get("tls") or {}
    body = json.dumps({"scheme": scope["scheme"], "tls_version": tls.get("tls_version"),
                       "client": tls.get("client_cert_name")}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def wsgi(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["wsgi.url_scheme"].encode()]
"""


@pytest.fixture
def files(pki: Pki, tmp_path: Path) -> dict[str, Path]:
    cert, key = pki.write(tmp_path, pki.server("localhost", "127.0.0.1"), "site")
    client_cert, client_key = pki.write(tmp_path, pki.client("alice"), "client")
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "big.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    return {
        "cert": cert,
        "key": key,
        "root": pki.root_file(tmp_path),
        "client_cert": client_cert,
        "client_key": client_key,
    }


@pytest.fixture
def started(tmp_path: Path, config_dir: Path) -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _start(procs: list[subprocess.Popen[str]], cwd: Path, port: int, *args: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "httpsys.cli", *args, "--no-access-log"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    procs.append(proc)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail("the command did not start listening")


def _client(files: dict[str, Path], cert: bool = False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(files["root"]))
    if cert:
        ctx.load_cert_chain(str(files["client_cert"]), str(files["client_key"]))
    return ctx


def test_run_serves_an_asgi_app_over_tls_with_uvicorns_flags(
    files: dict[str, Path], tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    port = free_port()
    url = f"https://127.0.0.1:{port}/"
    _start(
        started,
        tmp_path,
        port,
        "run",
        "app:app",
        "--url",
        url,
        "--ssl-certfile",
        str(files["cert"]),
        "--ssl-keyfile",
        str(files["key"]),
    )
    response = httpx.get(f"https://localhost:{port}/", verify=_client(files))
    assert response.json() == {"scheme": "https", "tls_version": 0x0304, "client": None}
    with pytest.raises(httpx.HTTPError):  # a client that does not trust the issuer fails its handshake
        httpx.get(f"https://localhost:{port}/", verify=ssl.create_default_context())


def test_run_wsgi_sees_https_as_url_scheme(
    files: dict[str, Path], tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    port = free_port()
    _start(
        started,
        tmp_path,
        port,
        "run",
        "app:wsgi",
        "--url",
        f"https://127.0.0.1:{port}/",
        "--ssl-certfile",
        str(files["cert"]),
        "--ssl-keyfile",
        str(files["key"]),
    )
    assert httpx.get(f"https://localhost:{port}/", verify=_client(files)).text == "https"


def test_required_client_certificates_with_ssl_ca_certs(
    files: dict[str, Path], tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    port = free_port()
    _start(
        started,
        tmp_path,
        port,
        "run",
        "app:app",
        "--url",
        f"https://127.0.0.1:{port}/",
        "--ssl-certfile",
        str(files["cert"]),
        "--ssl-keyfile",
        str(files["key"]),
        "--ssl-ca-certs",
        str(files["root"]),
        "--ssl-cert-reqs",
        "2",
    )
    response = httpx.get(f"https://localhost:{port}/", verify=_client(files, cert=True))
    assert response.json()["client"] == "CN=alice,O=httpsys tests"
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"https://localhost:{port}/", verify=_client(files))


def test_serve_sends_files_over_tls_through_the_bounded_buffer(
    files: dict[str, Path], tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    port = free_port()
    _start(
        started,
        tmp_path,
        port,
        "serve",
        str(tmp_path / "public"),
        "--url",
        f"https://127.0.0.1:{port}/",
        "--ssl-certfile",
        str(files["cert"]),
        "--ssl-keyfile",
        str(files["key"]),
    )
    response = httpx.get(f"https://localhost:{port}/big.bin", verify=_client(files))
    assert response.status_code == 200 and response.content == (tmp_path / "public" / "big.bin").read_bytes()
    ranged = httpx.get(
        f"https://localhost:{port}/big.bin", headers={"Range": "bytes=1000-1999"}, verify=_client(files)
    )
    assert ranged.status_code == 206 and ranged.content == (bytes(range(256)) * 8)[1000:2000]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--ssl-keyfile", "KEY"], "--ssl-keyfile needs --ssl-certfile"),
        (["--ssl-certfile", "missing.pem"], "cannot read missing.pem"),
        (["--ssl-certfile", "CERT", "--ssl-keyfile", "CLIENTKEY"], "the private key does not belong to"),
    ],
)
def test_bad_tls_options_are_one_line(
    files: dict[str, Path], tmp_path: Path, extra: list[str], message: str
) -> None:
    names = {"KEY": files["key"], "CERT": files["cert"], "CLIENTKEY": files["client_key"]}
    args = [str(names.get(a, a)) for a in extra]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "httpsys.cli",
            "run",
            "app:app",
            "--url",
            f"https://127.0.0.1:{free_port()}/",
            *args,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and message in done.stderr and "PRIVATE" not in done.stderr


def test_demo_shows_an_https_url_with_a_throwaway_certificate(
    tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    port = free_port()
    _start(started, tmp_path, port, "demo", "--url", f"https://127.0.0.1:{port}/", "--self-signed")
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with insecure.wrap_socket(raw, server_hostname="localhost") as tls:
            cert = tls.getpeercert(binary_form=True)
    from cryptography import x509

    leaf = x509.load_der_x509_certificate(cert)
    assert leaf.subject == leaf.issuer and "httpsys demo (self-signed)" in leaf.subject.rfc4514_string()
    stats = httpx.get(f"https://127.0.0.1:{port}/_stats.json", verify=insecure).json()
    assert "tls_handshakes" in json.dumps(stats)


def test_ssl_files_with_the_daemon_are_refused_in_one_line(files: dict[str, Path], tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "httpsys.cli",
            "run",
            "app:app",
            "--url",
            f"https://127.0.0.1:{free_port()}/",
            "--ssl-certfile",
            str(files["cert"]),
            "--ssl-keyfile",
            str(files["key"]),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "HTTPSYS_DAEMON_SOCKET": str(tmp_path / "none.sock")},
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "with HTTPSYS_DAEMON_SOCKET the daemon terminates TLS with its own SSL bindings" in done.stderr
