"""Conformance fixtures: the win32 API initialized on the current transport factory, a server, raw clients.

Every test in this folder talks to httpsys only through ``httpsys.win32`` (and loopback sockets), so the suite
runs unchanged against another transport (``HTTPSYS_CONFORMANCE_TRANSPORT``, see harness.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from httpsys.win32 import HTTPAPI_VERSION_2, NO_ERROR, HttpInitialize, HttpTerminate

from .daemon_process import DaemonProcess
from .harness import ALL_INIT, DAEMON_MODE, RawClient, Server, configure_transport, make_server


@pytest.fixture(scope="session", autouse=True)
def daemon_mode() -> Iterator[None]:
    """HTTPSYS_TEST_MODE=daemon: one real `httpsys daemon` for the session, HTTPSYS_DAEMON_SOCKET exported, so
    every test below goes through the remote transport (ARCHITECTURE §8.2)."""
    if not DAEMON_MODE:
        yield
        return
    daemon = DaemonProcess()
    os.environ["HTTPSYS_DAEMON_SOCKET"] = daemon.path
    try:
        yield
    finally:
        os.environ.pop("HTTPSYS_DAEMON_SOCKET", None)
        daemon.stop()


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
