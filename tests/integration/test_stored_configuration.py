"""The stored service configuration on an embedded driver (decision 0020, spec §6 items 117, 138, 142): records
set through HttpSetServiceConfiguration decide which addresses new listeners bind, set the driver-wide timeouts
of new connections, and survive the process."""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ports import free_port

from httpsys._transport.embedded import EmbeddedTransport, stored_configuration
from httpsys.win32 import *
from httpsys.win32 import api as win32_api

ALL = HTTP_INITIALIZE_SERVER | HTTP_INITIALIZE_CONFIG


@pytest.fixture
def own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A configuration directory of this test's own, and the win32 face initialised on the embedded driver."""
    monkeypatch.setenv("HTTPSYS_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("HTTPSYS_DAEMON_SOCKET", raising=False)
    win32_api.set_transport_factory(None)
    assert HttpInitialize(HTTPAPI_VERSION_2, ALL, None) == NO_ERROR
    try:
        yield tmp_path / "config"
    finally:
        HttpTerminate(ALL, None)


def listen_param(host: str) -> HTTP_SERVICE_CONFIG_IP_LISTEN_PARAM:
    address = SOCKADDR_IN.from_address((host, 0))
    return HTTP_SERVICE_CONFIG_IP_LISTEN_PARAM(sizeof(address), address)


def register(port: int) -> int:
    session, group = ctypes.c_ulonglong(), ctypes.c_ulonglong()
    assert HttpCreateServerSession(HTTPAPI_VERSION_2, session, 0) == NO_ERROR
    assert HttpCreateUrlGroup(session.value, group, 0) == NO_ERROR
    assert HttpAddUrlToUrlGroup(group.value, f"http://+:{port}/", 0, 0) == NO_ERROR
    return session.value


def bound_addresses(port: int) -> set[str]:
    transport = win32_api._state.transport
    assert isinstance(transport, EmbeddedTransport)
    return {sock.getsockname()[0] for sock in transport.driver.listeners[port].sockets}


def test_the_stored_listen_list_decides_what_ports_bound_afterwards_listen_on(own_store: Path) -> None:
    before = free_port()
    register(before)
    assert bound_addresses(before) == {"0.0.0.0", "::"}
    param = listen_param("127.0.0.1")
    assert HttpSetServiceConfiguration(None, HttpServiceConfigIPListenList, param, sizeof(param), None) == 0
    after = free_port()
    register(after)
    assert bound_addresses(after) == {"127.0.0.1"}
    assert bound_addresses(before) == {"0.0.0.0", "::"}  # a bound port keeps its sockets until restart
    assert (
        HttpDeleteServiceConfiguration(None, HttpServiceConfigIPListenList, param, sizeof(param), None) == 0
    )
    last = free_port()
    register(last)
    assert bound_addresses(last) == {"0.0.0.0", "::"}


def test_a_stored_header_wait_timeout_closes_a_silent_connection(own_store: Path) -> None:
    record = HTTP_SERVICE_CONFIG_TIMEOUT_SET(HeaderWaitTimeout, 1)
    assert HttpSetServiceConfiguration(None, HttpServiceConfigTimeout, record, sizeof(record), None) == 0
    port = free_port()
    register(port)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as silent:
        silent.sendall(b"GET / HTTP/1.1\r\n")  # a head that never ends: the HeaderWait timer runs
        started = time.monotonic()
        try:
            data = silent.recv(4096)
        except ConnectionResetError:
            data = b""
        elapsed = time.monotonic() - started
    assert elapsed < 8  # the default HeaderWait is 120 s
    assert data == b"" or data.startswith(b"HTTP/1.1 408")


def test_records_survive_the_process_that_set_them(own_store: Path) -> None:
    script = textwrap.dedent(
        """
        from httpsys.win32 import *
        HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_CONFIG, None)
        record = HTTP_SERVICE_CONFIG_URLACL_SET(
            HTTP_SERVICE_CONFIG_URLACL_KEY("http://+:8123/kept/"), HTTP_SERVICE_CONFIG_URLACL_PARAM("D:(A;;GX;;;WD)")
        )
        print(HttpSetServiceConfiguration(None, HttpServiceConfigUrlAclInfo, record, sizeof(record), None))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=os.environ
    )
    assert done.stdout.strip() == "0", done.stderr
    query = HTTP_SERVICE_CONFIG_URLACL_QUERY(
        HttpServiceConfigQueryExact, HTTP_SERVICE_CONFIG_URLACL_KEY("http://+:8123/kept/")
    )
    out, returned = HTTP_SERVICE_CONFIG_URLACL_SET(), ctypes.c_ulong()
    assert (
        HttpQueryServiceConfiguration(
            None, HttpServiceConfigUrlAclInfo, query, sizeof(query), out, 4096, returned, None
        )
        == NO_ERROR
    )
    assert out.ParamDesc.pStringSecurityDescriptor == "D:(A;;GX;;;WD)"
    configuration = stored_configuration()
    assert configuration is not None and configuration.url_reservations == (
        ("http://+:8123/kept/", "D:(A;;GX;;;WD)"),
    )


def test_a_corrupt_store_is_error_baddb_and_left_alone(own_store: Path) -> None:
    own_store.mkdir(parents=True)
    (own_store / "config.db").write_bytes(b"not a database" * 64)
    record = HTTP_SERVICE_CONFIG_TIMEOUT_SET(IdleConnectionTimeout, 5)
    assert HttpSetServiceConfiguration(None, HttpServiceConfigTimeout, record, sizeof(record), None) == 1009
    assert (own_store / "config.db").read_bytes() == b"not a database" * 64
