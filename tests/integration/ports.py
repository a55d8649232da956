"""Loopback ports for tests that start servers."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port free on both 0.0.0.0 and :: right now (the driver listens on both)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("0.0.0.0", 0))
            port = int(s.getsockname()[1])
        try:
            with socket.socket(socket.AF_INET6) as s6:
                s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s6.bind(("::", port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port")
