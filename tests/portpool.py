"""Listening ports for tests that start servers: one source for every suite, so parallel test workers never pick
the same port and no client socket's ephemeral source port can be the port a test is about to listen on.

Ports come from below the kernel's ephemeral range (net.ipv4.ip_local_port_range), a disjoint slice per
pytest-xdist worker, handed out in turn; a port is given only when it binds on 0.0.0.0 and on :: at that moment
(the driver listens on both for a `+`/`*` prefix). Picking port 0 from the ephemeral range instead let a test probe
another worker's server (or a client socket's source port) and read that server's reset as its own."""

from __future__ import annotations

import os
import socket

_LOW, _HIGH = 10_000, 32_000


def _ephemeral_floor() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def _slice() -> tuple[int, int]:
    high = min(_HIGH, _ephemeral_floor())
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    width = (high - _LOW) // max(count, 1)
    start = _LOW + width * (index % max(count, 1))
    return start, start + width


_START, _END = _slice()
# each process of one worker (a test that runs a helper script) starts at its own offset in the slice
_next = _START + (os.getpid() * 7919) % max(_END - _START, 1)


def _binds(port: int) -> bool:
    try:
        with socket.socket() as s4:
            s4.bind(("0.0.0.0", port))
        with socket.socket(socket.AF_INET6) as s6:
            s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s6.bind(("::", port))
    except OSError:
        return False
    return True


def free_port() -> int:
    """A port of this worker's slice free on 0.0.0.0 and :: right now, never the same one twice in a row."""
    global _next
    for _ in range(_END - _START):
        port = _next
        _next = _START if _next + 1 >= _END else _next + 1
        if _binds(port):
            return port
    raise RuntimeError(f"no free port in {_START}-{_END}")
