"""The httpsys benchmark: every scenario against every server, side by side in one run, on this machine.

Responsibility: start the httpsys variants (bench/servers/httpsys_*.py, `httpsys serve`, `httpsys run` from the
wheel installed in a clean venv) and the peers (nginx,
uvicorn, granian ASGI and RSGI, hypercorn, a raw uvloop+httptools server) pinned to CPU 0, drive them from CPU 1
(wrk, or the clients in bench/clients/), interleave rounds (A B C ... A B C ...), and write a table of medians,
ranges, latency, server CPU, peak RSS and httpsys/peer ratios as JSON and Markdown under bench/results/.
It must not install anything (bench/install.sh does), contact anything but 127.0.0.1, leave a server running,
or run an unbounded load: every load has a duration or a count and a timeout.

A variant that cannot start (its import fails, it exits, or it does not answer within 5 s) is reported as
"unavailable: <reason>" and the run goes on without it.

usage: run.py [--profile quick|full] [--only SCENARIO,...] [--servers NAME,...] [--rounds N] [--duration S]
              [--warmup S] [--idle-conns N] [--list]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SERVERS_DIR = BENCH / "servers"
WHEEL_PATH = ROOT / "build" / "dist" / "WHEEL"  # the wheel scripts/build_native.py built (`make wheel`)
NATIVE_PY = ROOT / "build" / "venv-native" / "bin" / "python"  # that wheel installed (`make native`)
WHEEL_VENV = BENCH / ".wheel-venv"  # that wheel alone in a clean venv, as a user installs it (bench.mk)
CLIENTS_DIR = BENCH / "clients"
WRK_DIR = BENCH / "wrk"
PEERS_BIN = BENCH / ".peers-venv" / "bin"
PROJECT_PY = ROOT / ".venv" / "bin" / "python"
RESULTS_DIR = BENCH / "results"
NGINX = "/usr/sbin/nginx"
NGINX_ECHO_MODULE = "/usr/lib/nginx/modules/ngx_http_echo_module.so"

HOST = "127.0.0.1"
SERVER_CPU = 0
CLIENT_CPU = 1
BASE_PORT = 19100
IDLE_PORT_OFFSET = 100
CLK_TCK = os.sysconf("SC_CLK_TCK")
NOFILE = 65536
HELLO = b"Hello, world!"
FILE_SIZE = 10 * 1024 * 1024
ECHO_SIZE = 1024
STREAM_SIZE = 100 * 1024
HTTPSYS_READY_S = 20.0  # as the peers: every server of a run starts at once on one CPU, a cold start may take seconds
PEER_READY_S = 20.0
GIB = 1 << 30
MIB = 1 << 20
X = "\u00d7"  # the multiplication sign of ratios
DASH = "\u2013"  # the en dash of ranges


# ------------------------------------------------------------------------------------------------ servers
@dataclass(frozen=True)
class ServerDef:
    """How to start one server on a port; `httpsys` marks our own variants (5 s to answer, else unavailable)."""

    name: str
    httpsys: bool
    argv: Callable[[Workdir, int], list[str]]
    probe: str = "/"
    describe: str = ""
    # PYTHONPATH=bench/servers, for the scripts that import bench_asgi (`httpsys run` needs none)
    pythonpath: bool = True
    cpus: str = ""  # the CPU list it is pinned to (taskset -c); "" = SERVER_CPU
    tls: bool = False  # served over TLS 1.3 with the run's ECDSA P-256 certificate (https:// URLs)
    h2c_only: bool = False  # speaks only HTTP/2 with prior knowledge: ready once it accepts connections


@dataclass
class Workdir:
    """The run's scratch directory: the served files, nginx configurations, hypercorn's settings, logs."""

    root: Path
    logs: Path

    @property
    def www(self) -> Path:
        return self.root / "www"

    @property
    def big_file(self) -> Path:
        return self.www / "big.bin"

    def prepare(self) -> None:
        self.root.chmod(0o755)  # nginx's worker runs as another user and must reach www/
        self.www.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        (self.www / "hello.txt").write_bytes(HELLO)
        self.big_file.write_bytes(os.urandom(FILE_SIZE))
        (self.root / "hypercorn.toml").write_text(
            "# lift hypercorn's 1000-requests-per-connection default, as nginx's keepalive_requests is\n"
            "keep_alive_max_requests = 1000000000\n"
        )

    @property
    def tls_cert(self) -> Path:
        return self.root / "tls-cert.pem"

    @property
    def tls_key(self) -> Path:
        return self.root / "tls-key.pem"

    def tls_files(self) -> tuple[Path, Path]:
        """The run's TLS certificate (ECDSA P-256, self-signed for 127.0.0.1), made once, for every TLS server."""
        if not self.tls_cert.exists():
            make_tls_certificate(self.tls_cert, self.tls_key)
        return self.tls_cert, self.tls_key

    def nginx_conf(self, port: int, tls: bool = False, http2: bool = False) -> Path:
        """One nginx instance per port: 1 worker, no access log, 127.0.0.1 only, pid and temp files here;
        `http2`: the port speaks h2c with prior knowledge only (nginx 1.22's `listen ... http2`)."""
        d = self.root / f"nginx-{port}"
        d.mkdir(exist_ok=True)
        echo = os.path.exists(NGINX_ECHO_MODULE)
        lines = [
            f"load_module {NGINX_ECHO_MODULE};" if echo else "# (no echo module: /echo is not served)",
            "worker_processes 1;",
            "daemon off;",
            f"pid {d}/nginx.pid;",
            f"error_log {d}/error.log warn;",
            "events { worker_connections 16384; }",
            "http {",
            "    access_log off;",
            "    sendfile on;",
            "    tcp_nopush on;",
            "    keepalive_timeout 120;",
            "    keepalive_requests 1000000000;",
            *(
                f"    {kind}_temp_path {d}/{kind};"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            ),
            "    types { text/plain txt; application/octet-stream bin; }",
            "    default_type application/octet-stream;",
            "    server {",
            f"        listen {HOST}:{port}{' ssl' if tls else ''} backlog=4096{' http2' if http2 else ''};",
            *(
                (
                    f"        ssl_certificate {self.tls_files()[0]};",
                    f"        ssl_certificate_key {self.tls_files()[1]};",
                    "        ssl_protocols TLSv1.3;",
                )
                if tls
                else ()
            ),
            f"        root {self.www};",
            '        location = / { default_type text/plain; return 200 "Hello, world!"; }',
            "        location = /hello.txt { open_file_cache max=16 inactive=600s; open_file_cache_valid 600s; }",
            "        location = /echo { echo_read_request_body; echo_request_body; }" if echo else "",
            "    }",
            "}",
        ]
        conf = d / "nginx.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf


def _peer(tool: str) -> str:
    return str(PEERS_BIN / tool)


def _nginx(w: Workdir, port: int) -> list[str]:
    conf = w.nginx_conf(port)
    return [NGINX, "-p", str(conf.parent), "-c", str(conf), "-e", str(conf.parent / "error.log")]


def _nginx_tls(w: Workdir, port: int) -> list[str]:
    conf = w.nginx_conf(port, tls=True)
    return [NGINX, "-p", str(conf.parent), "-c", str(conf), "-e", str(conf.parent / "error.log")]


def make_tls_certificate(cert_path: Path, key_path: Path) -> None:
    """A self-signed ECDSA P-256 certificate for 127.0.0.1 (the TLS scenarios' one certificate)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "httpsys bench")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o644)  # nginx's worker runs as another user


def _nginx_h2(w: Workdir, port: int) -> list[str]:
    conf = w.nginx_conf(port, http2=True)
    return [NGINX, "-p", str(conf.parent), "-c", str(conf), "-e", str(conf.parent / "error.log")]


def _project_py() -> str:
    """The editable source in .venv: every module interpreted."""
    return str(PROJECT_PY) if PROJECT_PY.exists() else sys.executable


def native_wheel() -> str:
    """The file name of the wheel `make wheel` built when it is compiled (not -none-any), else ""."""
    try:
        wheel = Path(WHEEL_PATH.read_text().strip())
    except OSError:
        return ""
    return wheel.name if wheel.is_file() and not wheel.name.endswith("-none-any.whl") else ""


def _native_py() -> str:
    """The compiled wheel installed in build/venv-native when there is one, else the interpreted source."""
    return str(NATIVE_PY) if native_wheel() and NATIVE_PY.exists() else _project_py()


def _uvicorn_tls(w: Workdir, port: int) -> list[str]:
    cert, key = w.tls_files()
    return [*_uvicorn(w, port), "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]


def _uvicorn(w: Workdir, port: int, workers: int = 1) -> list[str]:
    return [
        _peer("uvicorn"),
        "bench_asgi:app",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        "--backlog",
        "4096",
        "--timeout-keep-alive",
        "120",
    ]


def _granian(interface: str, app: str) -> Callable[[Workdir, int], list[str]]:
    def argv(w: Workdir, port: int) -> list[str]:
        return [
            _peer("granian"),
            "--interface",
            interface,
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            "1",
            "--loop",
            "uvloop",
            "--log-level",
            "warning",
            "--backlog",
            "4096",
            "--no-ws",
            "--backpressure",  # default backlog/workers: caps connections below the idle scenario's 10,000
            "16384",
            "--http1-header-read-timeout",
            "60000",
            app,
        ]

    return argv


def _hypercorn(w: Workdir, port: int) -> list[str]:
    return [
        _peer("hypercorn"),
        "-c",
        str(w.root / "hypercorn.toml"),
        "-w",
        "1",
        "-k",
        "uvloop",
        "-b",
        f"{HOST}:{port}",
        "--backlog",
        "4096",
        "--keep-alive",
        "120",
        "bench_asgi:app",
    ]


def _script(
    name: str, *extra: str, python: Callable[[], str] = _native_py
) -> Callable[[Workdir, int], list[str]]:
    def argv(w: Workdir, port: int) -> list[str]:
        return [
            python(),
            str(SERVERS_DIR / name),
            str(port),
            *(str(w.big_file) if x == "{file}" else x for x in extra),
        ]

    return argv


def _win32_example(name: str, *extra: str) -> Callable[[Workdir, int], list[str]]:
    """An example of examples/win32/ (a program as its users run it), serving http://HOST:PORT/."""

    def argv(w: Workdir, port: int) -> list[str]:
        return [
            _native_py(),
            str(ROOT / "examples" / "win32" / name),
            "--url",
            f"http://{HOST}:{port}/",
            *(str(w.big_file) if x == "{file}" else x for x in extra),
        ]

    return argv


def _serve(*extra: str, tls: bool = False) -> Callable[[Workdir, int], list[str]]:
    def argv(w: Workdir, port: int) -> list[str]:
        files = (
            ("--ssl-certfile", str(w.tls_files()[0]), "--ssl-keyfile", str(w.tls_files()[1])) if tls else ()
        )
        return [
            _native_py(),
            "-m",
            "httpsys.cli",
            "serve",
            str(w.www),
            "--url",
            f"{'https' if tls else 'http'}://{HOST}:{port}/",
            "--no-access-log",  # as nginx runs here (access_log off)
            *files,
            *extra,
        ]

    return argv


def _daemon_pair(*pair_args: str) -> Callable[[Workdir, int], list[str]]:
    """bench/servers/httpsys_daemon_pair.py: `httpsys daemon` + httpsys_aio.py through it (HTTPSYS_DAEMON_SOCKET),
    from the compiled wheel; `pair_args` pin each (--daemon-cpu, --app-cpu)."""

    def argv(w: Workdir, port: int) -> list[str]:
        pair = str(SERVERS_DIR / "httpsys_daemon_pair.py")
        return [_native_py(), pair, str(port), *pair_args, "httpsys_aio.py", str(w.big_file)]

    return argv


def _run_workers(workers: int) -> Callable[[Workdir, int], list[str]]:
    """`httpsys run APP --workers N --host H --port P --no-access-log` of the wheel in bench/.wheel-venv (the
    command line of issue 14 item 7, as `uvicorn --workers N` is run)."""

    def argv(w: Workdir, port: int) -> list[str]:
        return [
            str(WHEEL_VENV / "bin" / "httpsys"),
            "run",
            "bench_asgi:app",
            "--workers",
            str(workers),
            "--host",
            HOST,
            "--port",
            str(port),
            "--no-access-log",
        ]

    return argv


def _installed_run(*extra: str, tls: bool = False) -> Callable[[Workdir, int], list[str]]:
    """`httpsys run` of the wheel installed alone in bench/.wheel-venv, on the app uvicorn runs (cwd bench/servers)."""

    def argv(w: Workdir, port: int) -> list[str]:
        files = (
            ("--ssl-certfile", str(w.tls_files()[0]), "--ssl-keyfile", str(w.tls_files()[1])) if tls else ()
        )
        return [
            str(WHEEL_VENV / "bin" / "httpsys"),
            "run",
            "bench_asgi:app",
            "--url",
            f"{'https' if tls else 'http'}://{HOST}:{port}/",
            *files,
            *extra,
        ]

    return argv


SERVER_DEFS: dict[str, ServerDef] = {
    s.name: s
    for s in [
        ServerDef("httpsys-aio", True, _script("httpsys_aio.py", "{file}"), describe="asyncio API on uvloop"),
        ServerDef(
            "httpsys-asgi", True, _script("httpsys_asgi.py"), describe="httpsys.asgi.ASGIServer, raw ASGI app"
        ),
        ServerDef(
            "httpsys-aio-pure",
            True,
            _script("httpsys_aio.py", "{file}", python=_project_py),
            describe="httpsys-aio with every module interpreted (the editable source in .venv)",
        ),
        ServerDef(
            "httpsys-asgi-pure",
            True,
            _script("httpsys_asgi.py", python=_project_py),
            describe="httpsys-asgi with every module interpreted (the editable source in .venv)",
        ),
        ServerDef(
            "httpsys-run",
            True,
            _installed_run("--no-access-log"),
            describe="`httpsys run bench_asgi:app --no-access-log` (as uvicorn runs): the built wheel alone in a "
            "clean venv (bench/.wheel-venv)",
            pythonpath=False,
        ),
        ServerDef(
            "httpsys-run-log",
            True,
            _installed_run(),
            describe="httpsys-run with its default console access log on (a line per request to stderr, a file)",
            pythonpath=False,
        ),
        ServerDef("httpsys-win32-sync", True, _script("httpsys_win32_sync.py"), describe="win32, 8 threads"),
        ServerDef(
            "httpsys-win32-iocp",
            True,
            _win32_example("iocp_server.py", "--file", "{file}"),
            describe="examples/win32/iocp_server.py: 128 OVERLAPPED receives, 1 GetQueuedCompletionStatus thread",
        ),
        ServerDef("httpsys-serve", True, _serve(), probe="/hello.txt", describe="httpsys serve DIR"),
        ServerDef(
            "httpsys-cache",
            True,
            _serve("--cache-ttl", "3600"),
            probe="/hello.txt",
            describe="httpsys serve --cache-ttl (driver cache)",
        ),
        ServerDef(
            "httpsys-win32-cache",
            True,
            _script("httpsys_win32_cache.py"),
            describe="driver cache filled by HttpSendHttpResponse with an HTTP_CACHE_POLICY",
        ),
        ServerDef("nginx", False, _nginx, describe="1 worker, access_log off, 127.0.0.1 only"),
        ServerDef(
            "httpsys-run-h2",
            True,
            _installed_run("--no-access-log", "--http2-cleartext"),
            describe="httpsys-run with --http2-cleartext (h2c prior knowledge beside HTTP/1.1)",
            pythonpath=False,
        ),
        ServerDef(
            "httpsys-serve-h2",
            True,
            _serve("--http2-cleartext"),
            probe="/hello.txt",
            describe="httpsys serve DIR --http2-cleartext",
        ),
        ServerDef("nginx-h2", False, _nginx_h2, describe="nginx, `listen ... http2` (h2c only)", h2c_only=True),
        ServerDef(
            "raw-uvloop",
            False,
            _script("raw_uvloop.py", python=lambda: _peer("python")),
            describe="uvloop + httptools protocol",
        ),
        ServerDef("granian-rsgi", False, _granian("rsgi", "bench_rsgi:app"), describe="granian RSGI"),
        ServerDef("granian-asgi", False, _granian("asgi", "bench_asgi:app"), describe="granian ASGI"),
        ServerDef("uvicorn", False, _uvicorn, describe="uvicorn --loop uvloop --http httptools"),
        ServerDef("hypercorn", False, _hypercorn, describe="hypercorn -k uvloop"),
        ServerDef(
            "httpsys-aio-daemon",
            True,
            _daemon_pair(),
            describe="httpsys-aio through `httpsys daemon` (HTTPSYS_DAEMON_SOCKET): daemon and app both on CPU 0",
        ),
        ServerDef(
            "httpsys-aio-daemon-split",
            True,
            _daemon_pair("--daemon-cpu", str(SERVER_CPU), "--app-cpu", str(CLIENT_CPU)),
            describe="httpsys-aio through `httpsys daemon`: the daemon on CPU 0, the app on the other core "
            f"(CPU {CLIENT_CPU}, shared with the load generator)",
            cpus=f"{SERVER_CPU},{CLIENT_CPU}",
        ),
        ServerDef(
            "httpsys-run-workers",
            True,
            _run_workers(2),
            describe="`httpsys run bench_asgi:app --workers 2 --host H --port P --no-access-log` (bench/.wheel-venv) "
            f"on CPUs {SERVER_CPU},{CLIENT_CPU}",
            pythonpath=False,
            cpus=f"{SERVER_CPU},{CLIENT_CPU}",
        ),
        ServerDef(
            "uvicorn-workers",
            False,
            lambda w, port: _uvicorn(w, port, workers=2),
            describe=f"uvicorn --workers 2 --loop uvloop --http httptools on CPUs {SERVER_CPU},{CLIENT_CPU}",
            cpus=f"{SERVER_CPU},{CLIENT_CPU}",
        ),
        # TLS 1.3, one ECDSA P-256 certificate for all (issue 17)
        ServerDef(
            "httpsys-run-tls",
            True,
            _installed_run("--no-access-log", tls=True),
            describe="httpsys-run over TLS (--ssl-certfile/--ssl-keyfile)",
            pythonpath=False,
            tls=True,
        ),
        ServerDef(
            "httpsys-serve-tls",
            True,
            _serve(tls=True),
            probe="/hello.txt",
            describe="httpsys serve DIR over TLS",
            tls=True,
        ),
        ServerDef(
            "nginx-tls", False, _nginx_tls, describe="nginx, 1 worker, ssl_protocols TLSv1.3", tls=True
        ),
        ServerDef(
            "uvicorn-tls", False, _uvicorn_tls, describe="uvicorn --ssl-certfile/--ssl-keyfile", tls=True
        ),
    ]
}
DAEMON_VARIANTS = ("httpsys-aio-daemon", "httpsys-aio-daemon-split")
HTTPSYS_VARIANTS = [n for n, s in SERVER_DEFS.items() if s.httpsys]


# ------------------------------------------------------------------------------------------------ scenarios
@dataclass(frozen=True)
class Scenario:
    """One load shape. `unit` is what the table leads with: req/s, MiB/s or bytes per idle connection."""

    key: str
    title: str
    load: str  # "wrk", "file4m", "h2load" or "idle"
    servers: tuple[str, ...]
    path: str = "/"
    conns: int = 50
    lua: str = ""
    wrk_args: tuple[str, ...] = ()
    paths: dict[str, str] = field(default_factory=dict)
    unit: str = "rps"
    method: str = "GET"
    expect_len: int = len(HELLO)


CACHED_VARIANTS = ("httpsys-cache", "httpsys-win32-cache")  # measured only once the cache really answers
ASGI_FAMILY = ("httpsys-aio", "httpsys-asgi", "httpsys-win32-sync", "httpsys-win32-iocp")
FILE_SERVERS = ("httpsys-serve", "httpsys-aio", "httpsys-asgi", "nginx", "uvicorn", "httpsys-win32-iocp")
SCENARIOS: dict[str, Scenario] = {
    s.key: s
    for s in [
        Scenario(
            "hello",
            'GET / "Hello, world!" (13 bytes), keep-alive, wrk -t1 -c50',
            "wrk",
            (
                *ASGI_FAMILY,
                "httpsys-run",
                "httpsys-run-log",
                "httpsys-aio-pure",
                "httpsys-asgi-pure",
                "nginx",
                "raw-uvloop",
                "granian-rsgi",
                "granian-asgi",
                "uvicorn",
                "hypercorn",
                *DAEMON_VARIANTS,
            ),
        ),
        Scenario(
            "hello-c1",
            'GET / "Hello, world!", one keep-alive connection, wrk -t1 -c1: the idle latency (p50)',
            "wrk",
            ("httpsys-aio", *DAEMON_VARIANTS),
            conns=1,
        ),
        Scenario(
            "workers",
            f"GET / hello world, keep-alive, wrk -t1 -c50; two worker processes on CPUs {SERVER_CPU},{CLIENT_CPU}",
            "wrk",
            ("httpsys-run-workers", "uvicorn-workers"),
        ),
        Scenario(
            "close",
            "GET / with `Connection: close` (a new TCP connection per request), wrk -t1 -c50",
            "wrk",
            (*ASGI_FAMILY, "httpsys-run", "nginx", "raw-uvloop", "granian-rsgi", "uvicorn"),
            wrk_args=("-H", "Connection: close"),
        ),
        Scenario(
            "post",
            "POST /echo with a 1 KiB body, echoed back, keep-alive, wrk -t1 -c50",
            "wrk",
            (*ASGI_FAMILY, "nginx", "raw-uvloop", "granian-rsgi", "granian-asgi", "uvicorn"),
            path="/echo",
            lua="post.lua",
            method="POST",
            expect_len=ECHO_SIZE,
        ),
        Scenario(
            "stream",
            "GET /stream: 100 KiB written in 100 MORE_DATA writes of 1 KiB (Content-Length), wrk -t1 -c50",
            "wrk",
            (*ASGI_FAMILY, "raw-uvloop", "granian-rsgi", "granian-asgi", "uvicorn"),
            path="/stream",
            expect_len=STREAM_SIZE,
        ),
        Scenario(
            "pipeline",
            "GET / pipelined 16 deep, wrk -t1 -c50 (pipeline.lua)",
            "wrk",
            (*ASGI_FAMILY, "nginx", "raw-uvloop", "granian-rsgi", "uvicorn"),
            lua="pipeline.lua",
        ),
        Scenario(
            "file",
            "10 MiB file, wrk -t1 -c4 (wrk reads 8 KiB per call: client-bound; compare CPU s per GiB)",
            "wrk",
            FILE_SERVERS,
            path="/big.bin",
            conns=4,
            unit="mibps",
            expect_len=FILE_SIZE,
        ),
        Scenario(
            "file4m",
            "10 MiB file, bench/clients/file_client.py: 4 connections, one process each, 4 MiB buffer",
            "file4m",
            (*FILE_SERVERS, "httpsys-aio-daemon"),
            path="/big.bin",
            conns=4,
            unit="mibps",
            expect_len=FILE_SIZE,
        ),
        Scenario(
            "idle",
            "idle keep-alive connections (one request each, then held): server RSS growth per connection",
            "idle",
            (*ASGI_FAMILY, "nginx", "raw-uvloop", "granian-rsgi", "uvicorn", "hypercorn", "httpsys-aio-daemon"),
            paths={"httpsys-serve": "/hello.txt"},
            unit="bytes_per_conn",
        ),
        Scenario(
            "tls-hello",
            'TLS 1.3 (ECDSA P-256): GET / "Hello, world!", keep-alive, wrk -t1 -c50',
            "wrk",
            ("httpsys-run-tls", "uvicorn-tls", "nginx-tls"),
        ),
        Scenario(
            "tls-new",
            "TLS 1.3: a new TLS connection per request (`Connection: close`), wrk -t1 -c50",
            "wrk",
            ("httpsys-run-tls", "uvicorn-tls", "nginx-tls"),
            wrk_args=("-H", "Connection: close"),
        ),
        Scenario(
            "tls-file",
            "TLS 1.3: 10 MiB file, wrk -t1 -c4 (compare server CPU s per GiB)",
            "wrk",
            ("httpsys-serve-tls", "uvicorn-tls", "nginx-tls"),
            path="/big.bin",
            conns=4,
            unit="mibps",
            expect_len=FILE_SIZE,
        ),
        Scenario(
            "cache",
            "a 13-byte response the server keeps ready (driver cache), keep-alive, wrk -t1 -c50",
            "wrk",
            (*CACHED_VARIANTS, "httpsys-aio", "nginx", "raw-uvloop"),
            paths={"httpsys-cache": "/hello.txt", "nginx": "/hello.txt"},
        ),
    ]
}
SCENARIOS.update(
    {
        s.key: s
        for s in [
            Scenario(
                "h2",
                'GET / "Hello, world!" over HTTP/2 cleartext (prior knowledge), h2load -c50 -m10 (hypercorn and '
                "granian detect the preface on their HTTP/1.1 port)",
                "h2load",
                ("httpsys-run-h2", "hypercorn", "granian-asgi", "nginx-h2"),
                wrk_args=("10",),  # streams per connection (-m)
            ),
            Scenario(
                "h2file",
                "10 MiB file over one HTTP/2 stream at a time, h2load -c1 -m1",
                "h2load",
                ("httpsys-serve-h2", "nginx-h2"),
                path="/big.bin",
                conns=1,
                unit="mibps",
                wrk_args=("1",),
                expect_len=FILE_SIZE,
            ),
            Scenario(
                "h1file",
                "the same 10 MiB file over one HTTP/1.1 connection, h2load --h1 -c1 -m1 (h2file's baseline)",
                "h2load",
                ("httpsys-serve", "nginx"),
                path="/big.bin",
                conns=1,
                unit="mibps",
                wrk_args=("1", "--h1"),
                expect_len=FILE_SIZE,
            ),
        ]
    }
)
NOT_YET: dict[str, str] = {}


# issue 18 item 6 "over h2c and over TLS": the hello over HTTP/2 on TLS 1.3 with ALPN h2, the run's one certificate
def _tls_args(w: Workdir, cert_flag: str, key_flag: str) -> list[str]:
    cert, key = w.tls_files()
    return [cert_flag, str(cert), key_flag, str(key)]


def _granian_tls(w: Workdir, port: int) -> list[str]:
    return [*_granian("asgi", "bench_asgi:app")(w, port), *_tls_args(w, "--ssl-certificate", "--ssl-keyfile")]


def _hypercorn_tls(w: Workdir, port: int) -> list[str]:
    return [*_hypercorn(w, port), *_tls_args(w, "--certfile", "--keyfile")]


def _nginx_h2_tls(w: Workdir, port: int) -> list[str]:
    conf = w.nginx_conf(port, tls=True, http2=True)  # `listen ... ssl ... http2`: ALPN h2 and http/1.1
    return [NGINX, "-p", str(conf.parent), "-c", str(conf), "-e", str(conf.parent / "error.log")]


SERVER_DEFS.update(
    {
        s.name: s
        for s in [
            ServerDef(
                "httpsys-run-h2-tls",
                True,
                _installed_run("--no-access-log", tls=True),
                describe="httpsys-run over TLS (--ssl-certfile/--ssl-keyfile): ALPN h2 is on by default",
                pythonpath=False,
                tls=True,
            ),
            ServerDef(
                "granian-asgi-tls",
                False,
                _granian_tls,
                describe="granian ASGI, --ssl-certificate/--ssl-keyfile (ALPN h2)",
                tls=True,
            ),
            ServerDef(
                "hypercorn-tls",
                False,
                _hypercorn_tls,
                describe="hypercorn -k uvloop --certfile/--keyfile (ALPN h2)",
                tls=True,
            ),
            ServerDef("nginx-h2-tls", False, _nginx_h2_tls, describe="nginx, `listen ... ssl http2`", tls=True),
        ]
    }
)
SCENARIOS["h2-tls"] = Scenario(
    "h2-tls",
    'GET / "Hello, world!" over HTTP/2 on TLS 1.3 (ALPN h2, ECDSA P-256), h2load -c50 -m10',
    "h2load",
    ("httpsys-run-h2-tls", "hypercorn-tls", "granian-asgi-tls", "nginx-h2-tls"),
    wrk_args=("10",),  # streams per connection (-m)
)


# ------------------------------------------------------------------------------------------------ profiles
@dataclass(frozen=True)
class Profile:
    """How long and how often. The idle scenario measures memory, which does not drift like throughput:
    it runs in the first `idle_rounds` rounds only."""

    name: str
    rounds: int
    duration: int
    warmup: int
    idle_conns: int
    scenarios: tuple[str, ...]
    idle_rounds: int = 1
    exclude: tuple[str, ...] = ()  # servers left out of this profile
    servers: tuple[str, ...] = ()  # when given, only these servers run
    settle_s: float = 1.0


PROFILES = {
    "full": Profile("full", rounds=3, duration=2, warmup=1, idle_conns=10_000, scenarios=tuple(SCENARIOS)),
    "quick": Profile(
        "quick",
        rounds=1,
        duration=2,
        warmup=1,
        idle_conns=10_000,
        scenarios=("hello", "file4m", "cache", "idle"),
        exclude=("hypercorn",),
        settle_s=0.5,
    ),
    # issue 14 item 9: the daemon against the embedded asyncio face, and `run --workers 2` against uvicorn's
    "daemon": Profile(
        "daemon",
        rounds=3,
        duration=2,
        warmup=1,
        idle_conns=10_000,
        scenarios=("hello", "hello-c1", "file4m", "idle", "workers"),
        servers=("httpsys-aio", *DAEMON_VARIANTS, "httpsys-run-workers", "uvicorn-workers"),
    ),
}


# ------------------------------------------------------------------------------------------------ /proc
def children_of(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return kids


def process_tree(pid: int) -> list[int]:
    out, todo = [pid], [pid]
    while todo:
        for kid in children_of(todo.pop()):
            out.append(kid)
            todo.append(kid)
    return out


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime (+ the reaped children's cutime + cstime) of every process, in seconds."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(x) for x in fields[11:15])
    return ticks / CLK_TCK


def status_kib(pids: list[int], key: str) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def reset_peak_rss(pids: list[int]) -> None:
    """Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0)."""
    for pid in pids:
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


# ------------------------------------------------------------------------------------------------ processes
class Running:
    """One started server process (pinned to the server CPU), stopped by PID."""

    def __init__(self, sdef: ServerDef, port: int, work: Workdir, tag: str = "") -> None:
        self.sdef = sdef
        self.port = port
        self.log = work.logs / f"{sdef.name}{tag}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.argv = sdef.argv(work, port)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", BENCH_FILE=str(work.big_file))
        env.pop("PYTHONPATH", None)
        if sdef.pythonpath:
            env["PYTHONPATH"] = str(SERVERS_DIR)
        if not port_free(port):
            self.error = f"port {port} is in use"
            return
        self.error = ""
        self.started = time.monotonic()
        if not os.path.exists(self.argv[0]) and shutil.which(self.argv[0]) is None:
            self.error = f"{self.argv[0]} is not there (make bench installs it)"
            return
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                ["taskset", "-c", self.sdef.cpus or str(SERVER_CPU), *self.argv],
                cwd=SERVERS_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def pids(self) -> list[int]:
        return process_tree(self.pid) if self.proc is not None else []

    def poll_ready(self, timeout: float) -> str | None:
        """None while starting; "" when it answers 200 on its probe path; else why it is unavailable."""
        if self.error:
            return self.error
        assert self.proc is not None
        if self.proc.poll() is not None:
            return f"exited ({self.proc.returncode}): {self.last_log_line()}"
        if self.sdef.h2c_only and accepts(self.port):
            return ""
        if probe_status(self.port, self.sdef.probe, self.sdef.tls) == 200:
            return ""
        if time.monotonic() - self.started > timeout:
            line = self.last_log_line()
            return f"no answer within {timeout:.0f} s" + (f" ({line})" if line else "")
        return None

    def last_log_line(self) -> str:
        try:
            lines = [x.strip() for x in self.log.read_text(errors="replace").splitlines() if x.strip()]
        except OSError:
            return ""
        line = lines[-1] if lines else ""
        return line if len(line) <= 200 else line[:197] + "..."

    def stop(self) -> None:
        if self.proc is None:
            return
        kids = self.pids()[1:]
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        deadline = time.monotonic() + 3
        for pid in kids:
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        self.proc = None


def accepts(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
        return True
    except OSError:
        return False


def probe_status(port: int, path: str, tls: bool = False) -> int | None:
    try:
        with socket.create_connection((HOST, port), timeout=1) as raw:
            s = raw
            if tls:
                import ssl

                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                s = ctx.wrap_socket(raw)
            s.settimeout(1)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode())
            head = s.recv(64)
        m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
        return int(m.group(1)) if m else None
    except OSError:
        return None


def start_all(
    defs: list[ServerDef], ports: dict[str, int], work: Workdir, tag: str = ""
) -> tuple[dict[str, Running], dict[str, str]]:
    """Start every server, wait until each answers; returns (running, unavailable reasons)."""
    running: dict[str, Running] = {}
    unavailable: dict[str, str] = {}
    starting = {d.name: Running(d, ports[d.name], work, tag) for d in defs}
    while starting:
        for name, r in list(starting.items()):
            verdict = r.poll_ready(HTTPSYS_READY_S if r.sdef.httpsys else PEER_READY_S)
            if verdict is None:
                continue
            del starting[name]
            if verdict:
                unavailable[name] = verdict
                r.stop()
            else:
                running[name] = r
        time.sleep(0.05)
    return running, unavailable


# ------------------------------------------------------------------------------------------------ loads
def parse_json_line(text: str) -> dict[str, Any] | None:
    m = re.search(r"BENCH_JSON (\{.*\})", text)
    return json.loads(m.group(1)) if m else None


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def wrk_argv(sc: Scenario, url: str, seconds: int, script: Path, latency: bool) -> list[str]:
    argv = [
        "taskset",
        "-c",
        str(CLIENT_CPU),
        "wrk",
        "-t1",
        f"-c{sc.conns}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
    ]
    if latency:
        argv.append("--latency")
    return [*argv, "-s", str(script), *sc.wrk_args, url]


def run_measured(server: Running, warm: list[str], measure: list[str], seconds: int) -> dict[str, Any]:
    """Warm up, then measure: client JSON plus server CPU seconds and peak RSS over the warm-up and measurement."""
    pids = server.pids()
    rss_before = status_kib(pids, "VmRSS")
    reset_peak_rss(pids)
    subprocess.run(warm, capture_output=True, timeout=seconds + 60)
    pids = server.pids()
    cpu0, client0, t0 = cpu_seconds(pids), child_cpu(), time.monotonic()
    proc = subprocess.run(measure, capture_output=True, text=True, timeout=seconds + 90)
    wall = time.monotonic() - t0
    cpu1, client1 = cpu_seconds(pids), child_cpu()
    res = parse_json_line(proc.stdout)
    if res is None:
        raise RuntimeError(f"load generator failed: {(proc.stdout + proc.stderr).strip()[-300:]}")
    res["server_cpu_s"] = cpu1 - cpu0
    res["server_cpu_pct"] = 100 * res["server_cpu_s"] / res["duration_s"]
    res["client_cpu_pct"] = 100 * (client1 - client0) / wall
    res["peak_rss_kib"] = status_kib(pids, "VmHWM")
    res["rss_before_load_kib"] = rss_before
    res.setdefault("errors", sum(v for k, v in res.items() if k.startswith("err_")))
    if res.get("bytes"):
        res["cpu_s_per_gib"] = res["server_cpu_s"] / (res["bytes"] / GIB)
    if not server.proc or server.proc.poll() is not None:
        raise RuntimeError("the server died during the run")
    return res


def run_wrk(sc: Scenario, server: Running, path: str, prof: Profile, work: Workdir) -> dict[str, Any]:
    script = work.root / f"wrk-{sc.key}.lua"
    if not script.exists():
        prelude = (WRK_DIR / sc.lua).read_text() if sc.lua else ""
        script.write_text(prelude + "\n" + (WRK_DIR / "report.lua").read_text())
    url = f"{'https' if server.sdef.tls else 'http'}://{HOST}:{server.port}{path}"
    return run_measured(
        server,
        wrk_argv(sc, url, prof.warmup, script, False),
        wrk_argv(sc, url, prof.duration, script, True),
        prof.duration,
    )


def run_file4m(sc: Scenario, server: Running, path: str, prof: Profile) -> dict[str, Any]:
    url = f"http://{HOST}:{server.port}{path}"

    def argv(seconds: int) -> list[str]:
        client = str(CLIENTS_DIR / "file_client.py")
        return ["taskset", "-c", str(CLIENT_CPU), sys.executable, client, url, str(sc.conns), str(seconds)]

    return run_measured(server, argv(prof.warmup), argv(prof.duration), prof.duration)


def run_h2load(sc: Scenario, server: Running, path: str, prof: Profile) -> dict[str, Any]:
    """h2load through bench/clients/h2load_client.py: `wrk_args` are the streams per connection (-m), then extra
    h2load options (`--h1`)."""
    url = f"{'https' if server.sdef.tls else 'http'}://{HOST}:{server.port}{path}"  # https: h2load offers ALPN h2
    streams, *extra = sc.wrk_args

    def argv(seconds: int) -> list[str]:
        client = str(CLIENTS_DIR / "h2load_client.py")
        return [
            *("taskset", "-c", str(CLIENT_CPU), sys.executable, client, url),
            *(str(sc.conns), streams, str(seconds), *extra),
        ]

    return run_measured(server, argv(prof.warmup), argv(prof.duration), prof.duration)


def run_idle(
    sc: Scenario, sdef: ServerDef, port: int, path: str, prof: Profile, work: Workdir
) -> dict[str, Any]:
    """A fresh instance of the server: open N connections with one request each, sample RSS, close them."""
    running, unavailable = start_all([sdef], {sdef.name: port}, work, tag="-idle")
    if sdef.name in unavailable:
        raise RuntimeError(unavailable[sdef.name])
    server = running[sdef.name]
    try:
        probe_status(port, path)
        time.sleep(0.3)
        pids = server.pids()
        rss0 = status_kib(pids, "VmRSS")
        reset_peak_rss(pids)
        cpu0 = cpu_seconds(pids)
        client = subprocess.Popen(
            [
                "taskset",
                "-c",
                str(CLIENT_CPU),
                sys.executable,
                str(CLIENTS_DIR / "idle_client.py"),
                str(port),
                path,
                str(prof.idle_conns),
                "200",
                "60",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert client.stdout is not None and client.stdin is not None
            ready, _, _ = select.select([client.stdout], [], [], 90)
            line = client.stdout.readline() if ready else ""
            m = re.match(r"BENCH_READY (\d+) ([\d.]+)", line)
            if not m:
                raise RuntimeError(f"idle client did not get ready: {line.strip()!r}")
            time.sleep(prof.settle_s)
            pids = server.pids()
            rss1 = status_kib(pids, "VmRSS")
            hwm = status_kib(pids, "VmHWM")
            cpu1 = cpu_seconds(pids)
            out, err = client.communicate("\n", timeout=60)
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
        res = parse_json_line(out)
        if res is None:
            raise RuntimeError(f"idle client failed: {err.strip()[-300:]}")
        opened = max(res["opened"], 1)
        res.update(
            rss_before_kib=rss0,
            rss_after_kib=rss1,
            peak_rss_kib=hwm,
            server_cpu_s=cpu1 - cpu0,
            bytes_per_conn=(rss1 - rss0) * 1024 / opened,
            errors=res["failed"] + (res["opened"] - res["alive_at_measure"]),
        )
        return res
    finally:
        server.stop()


# ------------------------------------------------------------------------------------------------ checks
def check_route(sc: Scenario, port: int, path: str, tls: bool = False) -> str:
    """One request the way the scenario sends it: "" if the answer is a 200 of the expected length."""
    body = b"x" * ECHO_SIZE if sc.method == "POST" else None
    try:
        if tls:  # the run's throwaway certificate: not verified
            import ssl

            unverified = ssl._create_unverified_context()
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                HOST, port, timeout=10, context=unverified
            )
        else:
            conn = http.client.HTTPConnection(HOST, port, timeout=10)
        try:
            conn.request(
                sc.method,
                path,
                body=body,
                headers={"Content-Type": "application/octet-stream"} if body else {},
            )
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
    except (OSError, http.client.HTTPException) as exc:
        return f"{sc.method} {path} failed: {exc!r}"
    if resp.status != 200:
        return f"{sc.method} {path} answered {resp.status}"
    if len(data) != sc.expect_len or (body is not None and data != body):
        return f"{sc.method} {path} answered {len(data)} bytes, expected {sc.expect_len}"
    return ""


def cache_problem(work: Workdir, port: int) -> str:
    """ "" if the server answers from a response cache, else why its cached variant is n/a.

    GET /cache-probe.txt twice, change the file on disk (what `httpsys serve` sends; the win32 variant sends a
    per-request counter instead), GET it again: a cached response repeats the first answer."""
    probe = work.www / "cache-probe.txt"
    probe.write_bytes(b"before")

    def get() -> bytes:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        try:
            conn.request("GET", "/cache-probe.txt")
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 200:
                raise http.client.HTTPException(f"status {resp.status}")
            return data
        finally:
            conn.close()

    try:
        first = get()
        get()
        probe.write_bytes(b"after!")
        again = get()
    except (OSError, http.client.HTTPException) as exc:
        return f"cache probe failed: {exc!r}"
    finally:
        probe.unlink(missing_ok=True)
    if again == first:
        return ""
    return "the driver cache is not answering yet (a changed response came back afresh)"


# ------------------------------------------------------------------------------------------------ report
def med(rows: list[dict[str, Any]], key: str) -> float:
    vals = [r[key] for r in rows if key in r]
    return statistics.median(vals) if vals else float("nan")


def fmt_us(us: float) -> str:
    if us != us:
        return "—"
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs"


def fmt_kib(kib: float) -> str:
    return f"{kib / 1024:,.1f} MiB" if kib >= 1024 else f"{kib:,.0f} KiB"


def primary(rows: list[dict[str, Any]], unit: str) -> float:
    if unit == "mibps":
        return med(rows, "bytes_per_s") / MIB
    if unit == "bytes_per_conn":
        return med(rows, "bytes_per_conn")
    return med(rows, "rps")


def fmt_primary(value: float, unit: str) -> str:
    if value != value:
        return "—"
    if unit == "mibps":
        return f"{value:,.0f} MiB/s"
    if unit == "bytes_per_conn":
        return f"{value / 1024:,.2f} KiB"
    return f"{value:,.0f}"


def versions() -> dict[str, str]:
    def sh(argv: list[str]) -> str:
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return "?"
        return (p.stdout + p.stderr).strip().splitlines()[0] if (p.stdout + p.stderr).strip() else "?"

    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((x.split(":", 1)[1].strip() for x in f if x.startswith("model name")), "?")
    except OSError:
        pass
    os_name = "?"
    try:
        os_name = next(
            (
                x.split("=", 1)[1].strip().strip('"')
                for x in Path("/etc/os-release").read_text().splitlines()
                if x.startswith("PRETTY_NAME=")
            ),
            "?",
        )
    except OSError:
        pass
    peers = sh(
        [
            _peer("python"),
            "-c",
            "import importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in "
            "('uvicorn', 'httptools', 'uvloop', 'granian', 'hypercorn')))",
        ]
    )
    project = sh(
        [
            _project_py(),
            "-c",
            "import httpsys, sys; print(f'httpsys {httpsys.__version__}, Python {sys.version.split()[0]}')",
        ]
    )
    commit = sh(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    return {
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "load_start": f"{os.getloadavg()[0]:.2f}",
        "machine": f"{cpu}, {os.cpu_count()} CPUs, {os_name}, kernel {platform.release()}",
        "httpsys": f"{project} (commit {commit}, work tree as it was); "
        + (
            f"the compiled wheel {native_wheel()} (build/venv-native; httpsys-run: bench/.wheel-venv), "
            "`-pure` variants interpreted"
            if native_wheel()
            else "no compiled wheel: every variant interpreted"
        ),
        "peers": peers,
        "tools": f"{sh([NGINX, '-v']).replace('nginx version: ', '')}; {sh(['wrk', '-v']).split(' [')[0]}; "
        f"h2load {sh(['h2load', '--version']).split()[-1]}",
    }


@dataclass
class Outcome:
    """Everything the run learned, keyed by scenario then server."""

    rows: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    skipped: dict[str, dict[str, str]] = field(default_factory=dict)  # scenario -> server -> reason

    def add(self, sc: str, server: str, row: dict[str, Any]) -> None:
        self.rows.setdefault(sc, {}).setdefault(server, []).append(row)

    def skip(self, sc: str, server: str, reason: str) -> None:
        self.skipped.setdefault(sc, {}).setdefault(server, reason)

    def value(self, sc: str, server: str) -> float | None:
        rows = self.rows.get(sc, {}).get(server)
        return primary(rows, SCENARIOS[sc].unit) if rows else None


TARGETS = [
    (
        f"asyncio API hello-world ≥ 1.0{X} granian RSGI req/s",
        "hello",
        ("httpsys-aio",),
        [("granian-rsgi", 1.0)],
    ),
    (
        f"ASGI adapter hello-world ≥ 1.2{X} uvicorn (httptools, uvloop) and ≥ 1.0{X} granian ASGI req/s",
        "hello",
        ("httpsys-asgi",),
        [("uvicorn", 1.2), ("granian-asgi", 1.0)],
    ),
    (
        f"`httpsys run hello:app` from the built wheel in a clean venv ≥ 1.2{X} uvicorn req/s",
        "hello",
        ("httpsys-run",),
        [("uvicorn", 1.2)],
    ),
    (
        f"`httpsys run` with the access log off costs ≤ 5 % (≥ 0.95{X} httpsys.asgi.ASGIServer started directly)",
        "hello",
        ("httpsys-run",),
        [("httpsys-asgi", 0.95)],
    ),
    (
        f"new connections (`Connection: close`): ASGI adapter ≥ 1.2{X} uvicorn req/s",
        "close",
        ("httpsys-asgi",),
        [("uvicorn", 1.2)],
    ),
    (
        f"new connections (`Connection: close`): `httpsys run` from the wheel ≥ 1.2{X} uvicorn req/s",
        "close",
        ("httpsys-run",),
        [("uvicorn", 1.2)],
    ),
    (
        f"`httpsys serve` 10 MiB file, 4 MiB-buffer clients ≥ 0.8{X} nginx MiB/s",
        "file4m",
        ("httpsys-serve",),
        [("nginx", 0.8)],
    ),
    (
        f"driver cache, 13-byte cached response ≥ 0.8{X} raw uvloop+httptools req/s",
        "cache",
        CACHED_VARIANTS,  # the same driver cache, filled by `httpsys serve` or by the win32 face
        [("raw-uvloop", 0.8)],
    ),
    (
        f"`httpsys serve --cache-ttl` (driver cache), 13-byte file ≥ 1.0{X} nginx req/s",
        "cache",
        ("httpsys-cache",),  # issue 13: the CLI fills the driver cache (nginx serves the file with open_file_cache)
        [("nginx", 1.0)],
    ),
    # issue 17: TLS 1.3, ECDSA P-256, the same certificate for every server
    (
        f"TLS hello keep-alive c=50: `httpsys run` ≥ 1.2{X} uvicorn --ssl-* and ≥ 0.3{X} nginx req/s",
        "tls-hello",
        ("httpsys-run-tls",),
        [("uvicorn-tls", 1.2), ("nginx-tls", 0.3)],
    ),
    (
        f"new TLS connections per second (one request each): `httpsys run` ≥ 1.0{X} uvicorn",
        "tls-new",
        ("httpsys-run-tls",),
        [("uvicorn-tls", 1.0)],
    ),
    (
        f"10 MiB file over TLS: `httpsys serve` ≥ 1.0{X} uvicorn MiB/s (server CPU per GiB beside nginx's)",
        "tls-file",
        ("httpsys-serve-tls",),
        [("uvicorn-tls", 1.0)],
    ),
]
TARGETS += [  # issue 14 item 9: the shared daemon (profile `daemon`; `make bench-daemon`)
    (
        f"through the daemon, daemon and app on one core: hello c=50 ≥ 0.5{X} the embedded asyncio face",
        "hello",
        ("httpsys-aio-daemon",),
        [("httpsys-aio", 0.5)],
    ),
    (
        f"through the daemon, the app on the other core: hello c=50 ≥ 0.8{X} the embedded asyncio face",
        "hello",
        ("httpsys-aio-daemon-split",),
        [("httpsys-aio", 0.8)],
    ),
    (
        f"through the daemon, 10 MiB file as an fd chunk (4 MiB-buffer clients) ≥ 0.95{X} embedded MiB/s",
        "file4m",
        ("httpsys-aio-daemon",),
        [("httpsys-aio", 0.95)],
    ),
    (
        f"`httpsys run --workers 2` ASGI ≥ 1.2{X} `uvicorn --workers 2` on the same two cores req/s",
        "workers",
        ("httpsys-run-workers",),
        [("uvicorn-workers", 1.2)],
    ),
]
TARGETS += [  # issue 18 item 6: HTTP/2 (the file-over-one-stream target is a ratio of two scenarios: h2_targets)
    (
        f"HTTP/2 hello, h2load -c50 -m10 over h2c: `httpsys run` ≥ 10{X} hypercorn and ≥ 1.0{X} granian's HTTP/2",
        "h2",
        ("httpsys-run-h2",),
        [("hypercorn", 10.0), ("granian-asgi", 1.0)],
    ),
]
TARGETS += [  # issue 18 item 6: the same HTTP/2 hello over TLS
    (
        f"HTTP/2 hello, h2load -c50 -m10 over TLS (ALPN h2): `httpsys run` ≥ 10{X} hypercorn and ≥ 1.0{X} "
        "granian's HTTP/2",
        "h2-tls",
        ("httpsys-run-h2-tls",),
        [("hypercorn-tls", 10.0), ("granian-asgi-tls", 1.0)],
    ),
]
IDLE_TARGET_BYTES = 10 * 1024
DAEMON_ADDED_CPU_US = 12.0  # per request, both processes, hello c=50
DAEMON_ADDED_P50_US = 100.0  # hello at c=1
DAEMON_ADDED_IDLE_BYTES = 1024  # per idle client connection


def cpu_us_per_request(rows: list[dict[str, Any]]) -> float:
    """Median over rounds of the server's CPU (its whole process tree, /proc/PID/stat) per request, in µs."""
    vals = [1e6 * r["server_cpu_s"] / r["requests"] for r in rows if r.get("requests")]
    return statistics.median(vals) if vals else float("nan")


def daemon_targets(out: Outcome, ran: set[str]) -> list[tuple[str, str, str]]:
    """The daemon's targets that are differences, not ratios: added CPU per request, added p50 at c=1, added
    RSS per idle connection, each of a daemon variant over the embedded asyncio face in the same run."""
    checks = [
        (
            f"through the daemon, added CPU per request (daemon + app, /proc) ≤ {DAEMON_ADDED_CPU_US:.0f} µs",
            "hello",
            cpu_us_per_request,
            DAEMON_ADDED_CPU_US,
            lambda v: f"{v:+.1f} µs",
        ),
        (
            f"through the daemon, idle latency p50 overhead at c=1 ≤ {DAEMON_ADDED_P50_US:.0f} µs",
            "hello-c1",
            lambda rows: med(rows, "p50_us"),
            DAEMON_ADDED_P50_US,
            lambda v: f"{v:+.0f} µs",
        ),
        (
            f"daemon RSS per idle client connection ≤ the embedded figure + {DAEMON_ADDED_IDLE_BYTES // 1024} KiB",
            "idle",
            lambda rows: med(rows, "bytes_per_conn"),
            float(DAEMON_ADDED_IDLE_BYTES),
            lambda v: f"{v / 1024:+.2f} KiB",
        ),
    ]
    rows: list[tuple[str, str, str]] = []
    for title, sc, measure, bound, show in checks:
        if sc not in ran:
            rows.append((title, "—", "not measured (scenario not in this profile)"))
            continue
        base = out.rows.get(sc, {}).get("httpsys-aio")
        mine = {v: r for v in DAEMON_VARIANTS if (r := out.rows.get(sc, {}).get(v))}
        if not base or not mine:
            missing = "httpsys-aio" if not base else "/".join(DAEMON_VARIANTS)
            reason = out.skipped.get(sc, {}).get(missing, "not measured")
            rows.append((title, "—", f"n/a: {missing}: {reason}"))
            continue
        reference = measure(base)
        added = {v: measure(r) - reference for v, r in mine.items()}
        text = "; ".join(f"{v}: {show(a)}" for v, a in added.items())
        ok = all(a == a and a <= bound for a in added.values())
        rows.append((title, text, "**met**" if ok else "**not met**"))
    return rows


def h2_targets(out: Outcome, ran: set[str]) -> list[tuple[str, str, str]]:
    """Issue 18 item 6: a 10 MiB file over one HTTP/2 stream ≥ 0.8x the same file over HTTP/1.1 (both from
    `httpsys serve`, h2load -c1 -m1, the scenarios h2file and h1file of the same run)."""
    title = (
        f"10 MiB file over one HTTP/2 stream ≥ 0.8{X} the same file over HTTP/1.1 (`httpsys serve`, MiB/s)"
    )
    if "h2file" not in ran or "h1file" not in ran:
        return [(title, "—", "not measured (needs the scenarios h2file and h1file)")]
    h2 = out.value("h2file", "httpsys-serve-h2")
    h1 = out.value("h1file", "httpsys-serve")
    if h2 is None or h1 is None or h1 != h1 or h1 == 0:
        return [(title, "—", "n/a: httpsys-serve-h2 or httpsys-serve not measured")]
    ratio = h2 / h1
    return [(title, f"{ratio:.2f}{X} (need 0.8{X})", "**met**" if ratio >= 0.8 else "**not met**")]


def targets(out: Outcome, ran: set[str]) -> list[tuple[str, str, str]]:
    """(target, measured, met / not met / n/a ...) for each target the issues set."""
    rows: list[tuple[str, str, str]] = []
    for title, sc, variants, peers in TARGETS:
        if sc not in ran:
            rows.append((title, "—", "not measured (scenario not in this profile)"))
            continue
        measured = [(v, m) for v in variants if (m := out.value(sc, v)) is not None]
        if not measured:
            reasons = [out.skipped.get(sc, {}).get(v, "not measured") for v in variants]
            if len(set(reasons)) == 1:
                text = reasons[0] + (f" ({', '.join(variants)})" if len(variants) > 1 else "")
            else:
                text = "; ".join(f"{v}: {r}" for v, r in zip(variants, reasons, strict=True))
            rows.append((title, "—", text if text.startswith("n/a") else f"n/a: {text}"))
            continue
        variant, mine = max(measured, key=lambda m: m[1])
        parts: list[str] = []
        met = True
        for peer, need in peers:
            theirs = out.value(sc, peer)
            if theirs is None or theirs != theirs or theirs == 0:
                parts.append(f"{peer}: not measured")
                met = False
                continue
            ratio = mine / theirs
            shown_need = f"{need:.1f}" if round(need, 1) == need else f"{need:.2f}"
            parts.append(f"{ratio:.2f}{X} {peer} (need {shown_need}{X})")
            met = met and ratio >= need
        shown = "; ".join(parts)
        rows.append(
            (
                title,
                f"{variant}: {shown}" if len(variants) > 1 else shown,
                "**met**" if met else "**not met**",
            )
        )
    title = "idle keep-alive connection < 10 KiB of server memory each"
    if "idle" not in ran:
        rows.append((title, "—", "not measured (scenario not in this profile)"))
    else:
        per_conn = {v: b for v in HTTPSYS_VARIANTS if (b := out.value("idle", v)) is not None}
        if not per_conn:
            rows.append((title, "—", "n/a: no httpsys variant measured"))
        else:
            text = "; ".join(f"{v}: {b / 1024:.2f} KiB" for v, b in per_conn.items())
            ok = all(b < IDLE_TARGET_BYTES for b in per_conn.values())
            rows.append((title, text, "**met**" if ok else "**not met**"))
    return rows + daemon_targets(out, ran) + h2_targets(out, ran)


def report(out: Outcome, info: dict[str, str], prof: Profile, scenarios: list[Scenario]) -> str:
    lines = [
        f"Run {info['date_utc']} UTC, profile `{prof.name}`: {prof.rounds} round(s) interleaved, "
        f"{prof.duration} s measured after {prof.warmup} s warm-up; idle test {prof.idle_conns:,} connections "
        f"in {min(prof.rounds, prof.idle_rounds)} round(s); "
        f"servers pinned to CPU {SERVER_CPU}, load generator to CPU {CLIENT_CPU}; medians shown.",
        "",
        f"- machine: {info['machine']}",
        f"- {info['httpsys']}",
        f"- peers: {info['peers']}",
        f"- tools: {info['tools']}",
        f"- load average (1 min) at start / end: {info['load_start']} / {info.get('load_end', '?')}"
        " (anything above ~0.1 at the start means something else was using the CPUs)",
        "",
    ]
    for sc in scenarios:
        rows = out.rows.get(sc.key, {})
        skipped = out.skipped.get(sc.key, {})
        lines += [f"### {sc.key}: {sc.title}", ""]
        if sc.load == "idle":
            lines += [
                "| server | per connection | connections held | RSS before | RSS after | peak RSS | server CPU s |",
                "|---|---:|---:|---:|---:|---:|---:|",
            ]
        elif sc.unit == "mibps":
            lines += [
                "| server | MiB/s (median) | range | req/s | server CPU s | CPU s per GiB | peak RSS | client CPU | errors |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
        else:
            lines += [
                "| server | req/s (median) | range | p50 | p99 | server CPU s | peak RSS | wrk CPU | errors |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
        for name in sc.servers:
            data = rows.get(name)
            if not data:
                if name in skipped:
                    lines.append(f"| {name} | {skipped[name]} |" + " |" * (5 if sc.load == "idle" else 7))
                continue
            errs = sum(int(r.get("errors", 0)) for r in data)
            if sc.load == "idle":
                lines.append(
                    f"| {name} | {med(data, 'bytes_per_conn') / 1024:,.2f} KiB | "
                    f"{min(r['alive_at_measure'] for r in data):,}/{prof.idle_conns:,} | "
                    f"{fmt_kib(med(data, 'rss_before_kib'))} | {fmt_kib(med(data, 'rss_after_kib'))} | "
                    f"{fmt_kib(med(data, 'peak_rss_kib'))} | {med(data, 'server_cpu_s'):.2f} |"
                )
            elif sc.unit == "mibps":
                mib = [r["bytes_per_s"] / MIB for r in data]
                lines.append(
                    f"| {name} | {statistics.median(mib):,.0f} | {min(mib):,.0f}{DASH}{max(mib):,.0f} | "
                    f"{med(data, 'rps'):,.1f} | {med(data, 'server_cpu_s'):.2f} | {med(data, 'cpu_s_per_gib'):.2f} | "
                    f"{fmt_kib(med(data, 'peak_rss_kib'))} | {med(data, 'client_cpu_pct'):.0f}% | {errs} |"
                )
            else:
                rps = [r["rps"] for r in data]
                # wrk times only one response per pipelined batch: its percentiles mean nothing there
                p50 = "—" if sc.lua == "pipeline.lua" else fmt_us(med(data, "p50_us"))
                p99 = "—" if sc.lua == "pipeline.lua" else fmt_us(med(data, "p99_us"))
                lines.append(
                    f"| {name} | {statistics.median(rps):,.0f} | {min(rps):,.0f}{DASH}{max(rps):,.0f} | "
                    f"{p50} | {p99} | "
                    f"{med(data, 'server_cpu_s'):.2f} | {fmt_kib(med(data, 'peak_rss_kib'))} | "
                    f"{med(data, 'client_cpu_pct'):.0f}% | {errs} |"
                )
        lines.append("")
        mine = [v for v in sc.servers if SERVER_DEFS[v].httpsys and v in rows]
        peers = [p for p in sc.servers if not SERVER_DEFS[p].httpsys and p in rows]
        if mine and peers:
            what = {
                "rps": "req/s",
                "mibps": "MiB/s",
                "bytes_per_conn": "bytes per connection (lower is better)",
            }
            lines += [
                f"Ratio of each httpsys variant to each peer ({what[sc.unit]}):",
                "",
                "| variant | " + " | ".join(peers) + " |",
                "|---|" + "---:|" * len(peers),
            ]
            for v in mine:
                mv = out.value(sc.key, v) or 0.0
                cells = []
                for p in peers:
                    pv = out.value(sc.key, p) or 0.0
                    cells.append(f"{mv / pv:.2f}{X}" if pv > 0 else "—")
                lines.append(f"| {v} | " + " | ".join(cells) + " |")
            lines.append("")
        lines += per_stream_memory(sc, rows)
    for key, text in NOT_YET.items():
        lines += [f"### {key}", "", text, ""]
    lines += ["### Targets", "", "| target | measured | status |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in targets(out, {s.key for s in scenarios})]
    return "\n".join(lines) + "\n"


def per_stream_memory(sc: Scenario, rows: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Issue 18 item 6's per-stream memory, for the HTTP/2 hello scenarios (c connections x m streams open at once):
    (peak RSS over the warm-up and the measurement - RSS before the load) / (c x m), medians over the rounds."""
    if sc.load != "h2load" or sc.unit != "rps" or not sc.wrk_args:
        return []
    streams = sc.conns * int(sc.wrk_args[0])
    cells = []
    for name in sc.servers:
        data = [r for r in rows.get(name, []) if "rss_before_load_kib" in r]
        if data:
            grown = statistics.median(r["peak_rss_kib"] - r["rss_before_load_kib"] for r in data)
            cells.append(f"| {name} | {grown / streams:,.1f} KiB |")
    if not cells:
        return []
    return [
        f"Server memory per open stream ({streams} at once: (peak RSS - RSS before the load) / streams, median):",
        "",
        "| server | per stream |",
        "|---|---:|",
        *cells,
        "",
    ]


# ------------------------------------------------------------------------------------------------ main
def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, NOFILE), max(hard, NOFILE)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def preflight() -> list[str]:
    missing = []
    if not shutil.which("wrk"):
        missing.append("wrk")
    if not os.path.exists(NGINX):
        missing.append("nginx")
    if not (PEERS_BIN / "python").exists():
        missing.append("bench/.peers-venv")
    if not shutil.which("taskset"):
        missing.append("taskset")
    return missing


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    ap.add_argument("--only", default="", help="comma-separated scenarios (default: the profile's)")
    ap.add_argument("--servers", default="", help="comma-separated servers (default: all)")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--duration", type=int, help="seconds measured per test")
    ap.add_argument("--warmup", type=int, help="seconds of warm-up per test")
    ap.add_argument("--idle-conns", type=int)
    ap.add_argument("--list", action="store_true", help="list scenarios and servers and exit")
    args = ap.parse_args()

    if args.list:
        for sc in SCENARIOS.values():
            print(f"{sc.key:9s} {sc.title}\n          servers: {', '.join(sc.servers)}")
        for text in NOT_YET.values():
            print(text)
        for name, sdef in SERVER_DEFS.items():
            print(f"{name:20s} {sdef.describe}")
        return 0
    base = PROFILES[args.profile]
    only = tuple(x for x in args.only.split(",") if x) or base.scenarios
    unknown = [x for x in only if x not in SCENARIOS]
    if unknown:
        ap.error(f"unknown scenario(s) {unknown}; choose from {list(SCENARIOS)}")
    prof = replace(
        base,
        rounds=args.rounds or base.rounds,
        duration=args.duration or base.duration,
        warmup=args.warmup or base.warmup,
        idle_conns=args.idle_conns or base.idle_conns,
        scenarios=only,
    )
    wanted = set(x for x in args.servers.split(",") if x) or set(prof.servers or SERVER_DEFS) - set(prof.exclude)
    missing = preflight()
    if missing:
        print(
            f"bench: missing {', '.join(missing)}: run `bash bench/install.sh` (make bench does)",
            file=sys.stderr,
        )
        return 2
    if (os.cpu_count() or 1) < 2:
        print("bench: needs 2 CPUs (servers on CPU 0, load generator on CPU 1)", file=sys.stderr)
        return 2
    try:
        os.sched_setaffinity(0, {CLIENT_CPU})  # keep the harness off the servers' CPU
    except OSError:
        pass
    raise_nofile()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    scenarios = [SCENARIOS[k] for k in SCENARIOS if k in prof.scenarios]
    plan: dict[str, list[str]] = {}
    for sc in scenarios:
        plan[sc.key] = [n for n in sc.servers if n in wanted]
    needed = [n for n in SERVER_DEFS if any(n in v for k, v in plan.items() if SCENARIOS[k].load != "idle")]
    idle_only = [n for n in SERVER_DEFS if n in plan.get("idle", []) and n not in needed]
    ports = {n: BASE_PORT + i for i, n in enumerate(SERVER_DEFS)}

    stamp = time.strftime("%Y%m%d-%H%M%S")
    RESULTS_DIR.mkdir(exist_ok=True)
    work = Workdir(Path(tempfile.mkdtemp(prefix="httpsys-bench-")), RESULTS_DIR / f"logs-{stamp}")
    out = Outcome()
    running: dict[str, Running] = {}
    info = versions()
    t_start = time.monotonic()
    try:
        work.prepare()
        print(
            f"bench: profile {prof.name}, scenarios {', '.join(s.key for s in scenarios)}; logs in {work.logs}"
        )
        # our variants first, so that a peer's start-up CPU does not eat into their 5 s
        mine = [SERVER_DEFS[n] for n in needed + idle_only if SERVER_DEFS[n].httpsys]
        started, unavailable = start_all(mine, ports, work)
        running.update(started)
        for name in idle_only:  # idle runs a fresh instance; this one only proved the variant starts
            if name in running:
                running.pop(name).stop()
        peers = [SERVER_DEFS[n] for n in needed if not SERVER_DEFS[n].httpsys]
        started, gone = start_all(peers, ports, work)
        running.update(started)
        unavailable.update(gone)
        for name, reason in unavailable.items():
            print(f"  {name}: unavailable: {reason}")
        for sc in scenarios:
            for name in plan[sc.key]:
                if name in unavailable:
                    label = "n/a" if name in CACHED_VARIANTS else "unavailable"
                    out.skip(sc.key, name, f"{label}: {unavailable[name]}")
                elif sc.load != "idle" and not SERVER_DEFS[name].h2c_only:
                    problem = check_route(sc, ports[name], sc.paths.get(name, sc.path), SERVER_DEFS[name].tls)
                    if problem:
                        out.skip(sc.key, name, f"failed check: {problem}")
                        print(f"  {sc.key}:{name}: {problem}")
                    elif name in CACHED_VARIANTS:
                        problem = cache_problem(work, ports[name])
                        if problem:
                            out.skip(sc.key, name, f"n/a: {problem}")
                            print(f"  {sc.key}:{name}: n/a: {problem}")
        todo = [
            (sc, name) for sc in scenarios for name in plan[sc.key] if name not in out.skipped.get(sc.key, {})
        ]
        per = prof.warmup + prof.duration + 0.8
        idle_n = sum(1 for sc, _ in todo if sc.load == "idle")
        estimate = prof.rounds * (len(todo) - idle_n) * per + min(prof.rounds, prof.idle_rounds) * idle_n * (
            2 + prof.idle_conns / 2500
        )
        print(f"bench: {len(todo)} tests, {prof.rounds} round(s), about {estimate:.0f} s")
        for rnd in range(1, prof.rounds + 1):
            for sc, name in todo:
                if name in out.skipped.get(sc.key, {}) or (sc.load == "idle" and rnd > prof.idle_rounds):
                    continue
                path = sc.paths.get(name, sc.path)
                try:
                    if sc.load == "idle":
                        res = run_idle(
                            sc, SERVER_DEFS[name], ports[name] + IDLE_PORT_OFFSET, path, prof, work
                        )
                    elif sc.load == "file4m":
                        res = run_file4m(sc, running[name], path, prof)
                    elif sc.load == "h2load":
                        res = run_h2load(sc, running[name], path, prof)
                    else:
                        res = run_wrk(sc, running[name], path, prof, work)
                except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
                    out.skip(sc.key, name, f"failed: {exc}")
                    print(
                        f"[{time.monotonic() - t_start:5.0f}s] round {rnd} {sc.key}:{name} failed: {exc}",
                        flush=True,
                    )
                    proc = running[name].proc if name in running else None
                    if name in running and (proc is None or proc.poll() is not None):
                        for other in scenarios:
                            out.skip(
                                other.key, name, f"failed: the server died ({running[name].last_log_line()})"
                            )
                    continue
                res["round"] = rnd
                out.add(sc.key, name, res)
                shown = fmt_primary(primary([res], sc.unit), sc.unit)
                unit = "req/s" if sc.unit == "rps" else ""
                print(
                    f"[{time.monotonic() - t_start:5.0f}s] round {rnd} {sc.key + ':' + name:32s} {shown:>14s} {unit:5s}"
                    f" server cpu {res.get('server_cpu_s', 0):.2f}s errors {res.get('errors', 0)}",
                    flush=True,
                )
                time.sleep(0.3)
        commands = {
            n: [x.replace(str(work.root), "$WORKDIR") for x in SERVER_DEFS[n].argv(work, ports[n])]
            for n in SERVER_DEFS
        }
    finally:
        for r in running.values():
            r.stop()
        shutil.rmtree(work.root, ignore_errors=True)
    info["load_end"] = f"{os.getloadavg()[0]:.2f}"
    table = report(out, info, prof, scenarios)
    base_name = RESULTS_DIR / f"bench-{prof.name}-{stamp}"
    base_name.with_suffix(".json").write_text(
        json.dumps(
            {
                "info": info,
                "profile": prof.__dict__,
                "commands": commands,
                "results": out.rows,
                "skipped": out.skipped,
                "targets": targets(out, {s.key for s in scenarios}),
            },
            indent=1,
        )
    )
    base_name.with_suffix(".md").write_text(table)
    shutil.copyfile(base_name.with_suffix(".md"), RESULTS_DIR / f"latest-{prof.name}.md")
    print()
    print(table)
    print(f"bench: {base_name}.json and .md written (total {time.monotonic() - t_start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
