"""Conformance fixtures: the win32 API initialized on the current transport factory, a server, raw clients.

Every test in this folder talks to httpsys only through ``httpsys.win32`` (and loopback sockets), so the suite
runs unchanged against another transport (``HTTPSYS_CONFORMANCE_TRANSPORT``, see harness.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from httpsys.win32 import HTTPAPI_VERSION_2, NO_ERROR, HttpInitialize, HttpTerminate

from .harness import ALL_INIT, RawClient, Server, configure_transport, make_server


@pytest.fixture
def initialized() -> Iterator[None]:
    """HttpInitialize(SERVER|CONFIG) around the test; the last HttpTerminate cleans up what the test left."""
    configure_transport()
    assert HttpInitialize(HTTPAPI_VERSION_2, ALL_INIT, None) == NO_ERROR
    try:
        yield
    finally:
        assert HttpTerminate(ALL_INIT, None) == NO_ERROR


@pytest.fixture
def server(initialized: None) -> Server:
    return make_server()


@pytest.fixture
def client() -> Iterator[Callable[..., RawClient]]:
    clients: list[RawClient] = []

    def factory(port: int, **kwargs: Any) -> RawClient:
        c = RawClient(port, **kwargs)
        clients.append(c)
        return c

    yield factory
    for c in clients:
        c.close()
