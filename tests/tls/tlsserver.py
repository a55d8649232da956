"""A driver with `https://127.0.0.1:PORT/` registered, SSL bindings set on the process's table, and TLS clients."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path
from typing import Any

from httpsys._core.records import DataChunk, MemoryChunk, RequestSnapshot
from httpsys._core.response import ResponseSpec
from httpsys._core.settings import DriverSettings
from httpsys._core.sslbindings import BindingKind, SslBinding
from httpsys._core.status import Win32Error
from httpsys._engine.tls import ssl_bindings
from httpsys._transport.embedded import EmbeddedTransport
from portpool import free_port

OK = int(Win32Error.NO_ERROR)
PROP_BINDING = 7




class Waiter:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.result: tuple[Any, ...] = ()

    def __call__(self, *args: Any) -> None:
        self.result = args
        self.event.set()

    def wait(self, timeout: float = 10.0) -> tuple[Any, ...]:
        assert self.event.wait(timeout), "driver did not complete the operation"
        return self.result


class TlsServer:
    """An embedded driver serving https://127.0.0.1:PORT/ through one bound queue."""

    def __init__(
        self, directory: Path, settings: DriverSettings | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.directory = directory
        directory.mkdir(exist_ok=True)
        base = settings or DriverSettings()
        from dataclasses import replace

        self.transport = EmbeddedTransport(settings=replace(base, error_log_dir=str(directory)))
        code, session = self.transport.create_server_session((2, 0))
        assert code == OK
        code, self.group = self.transport.create_url_group(session)
        code, self.queue = self.transport.create_request_queue(None, 0, False)
        assert self.transport.set_group_property(self.group, PROP_BINDING, self.queue) == OK
        self.port = free_port()
        self.url = f"https://{host}:{self.port}/"
        assert self.transport.add_url(self.group, self.url, 1) == OK

    def bind(
        self,
        cert_hash: str,
        *,
        kind: BindingKind = BindingKind.IPPORT,
        address: str = "0.0.0.0",
        host: str = "",
        flags: int = 0,
        update: bool = False,
        **more: Any,
    ) -> None:
        binding = SslBinding(
            kind, self.port, address=address, host=host, cert_hash=cert_hash, flags=flags, **more
        )
        table = ssl_bindings().table
        assert (table.update(binding) if update else table.set(binding)) == OK

    def receive(self, timeout: float = 10.0) -> RequestSnapshot:
        w = Waiter()
        self.transport.receive_request(self.queue, 0, 0, None, True, 0, w)
        code, snap, _n = w.wait(timeout)
        assert code == OK, code
        return snap  # type: ignore[no-any-return]

    def respond(self, request_id: int, body: bytes = b"hello", chunks: list[DataChunk] | None = None) -> int:
        spec = ResponseSpec(status=200, reason=b"OK", known={}, unknown=[])
        w = Waiter()
        self.transport.send_response(
            self.queue,
            request_id,
            0,
            spec,
            chunks if chunks is not None else [MemoryChunk(body)],
            None,
            None,
            w,
        )
        return int(w.wait()[0])

    def serve(self, count: int = 1, body: bytes = b"hello") -> threading.Thread:
        def run() -> None:
            for _ in range(count):
                snap = self.receive(timeout=20)
                self.seen.append(snap)
                self.respond(snap.request_id, body)

        self.seen: list[RequestSnapshot] = []
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def httperr_rows(self) -> list[dict[str, str]]:
        logs: Any = self.transport.driver.logs
        assert logs.flush()
        rows: list[dict[str, str]] = []
        names: list[str] = []
        for path in sorted(self.directory.iterdir()):
            for line in path.read_bytes().decode().split("\r\n"):
                if line.startswith("#Fields: "):
                    names = line[9:].split(" ")
                elif line and not line.startswith("#"):
                    rows.append(dict(zip(names, line.split(" "), strict=True)))
        return rows

    def close(self) -> None:
        self.transport.close()


def client_context(root: Path | None, **kw: Any) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(root)) if root else ssl.create_default_context()
    for name, value in kw.items():
        setattr(ctx, name, value)
    return ctx


def https_get(
    port: int,
    ctx: ssl.SSLContext,
    server_name: str = "localhost",
    path: str = "/",
    host: str = "127.0.0.1",
    timeout: float = 10.0,
) -> tuple[bytes, dict[str, Any]]:
    """One GET over a new TLS connection: (the raw response, the TLS facts the client saw)."""
    raw = socket.create_connection((host, port), timeout=timeout)
    tls = ctx.wrap_socket(raw, server_hostname=server_name)
    facts = {
        "version": tls.version(),
        "compression": tls.compression(),
        "cipher": tls.cipher(),
        "peercert": tls.getpeercert(),
        "alpn": tls.selected_alpn_protocol(),
    }
    tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {server_name}\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        try:
            chunk = tls.recv(65536)
        except (ssl.SSLZeroReturnError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
    tls.close()
    return data, facts
