"""`httpsys netsh http ...` and `httpsys config ...`: offline on the store, and through a running daemon's admin.sock
(netsh syntax word for word, netsh's output, its error lines and exit status)."""

from __future__ import annotations

import ctypes
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.daemon_process import DaemonProcess
from conformance.harness import free_port
from httpsys._config import ConfigStore
from httpsys.cli import main
from httpsys.win32 import *
from httpsys.win32 import api as win32_api

APPID = "{4dc3e181-e14b-4a21-b022-59fc669b0914}"
HASH = "0102030405060708090a0b0c0d0e0f1011121314"


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No daemon (a socket path in an empty directory) and a store of this test's own."""
    monkeypatch.setenv("HTTPSYS_DAEMON_SOCKET", str(tmp_path / "run" / "httpsys.sock"))
    monkeypatch.setenv("HTTPSYS_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def netsh(capsys: pytest.CaptureFixture[str], *words: str) -> tuple[int, str, str]:
    status = main(["netsh", "http", *words])
    out, err = capsys.readouterr()
    return status, out, err


def test_offline_urlacl_add_show_delete_as_netsh_prints_them(
    offline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = netsh(capsys, "add", "urlacl", "url=http://+:8080/app/", "user=nobody", "listen=yes")
    assert status == 0 and "URL reservation successfully added" in out
    status, out, _ = netsh(capsys, "add", "urlacl", "url=http://+:8081/", "sddl=D:(A;;GA;;;WD)")
    assert status == 0
    status, out, _ = netsh(capsys, "show", "urlacl")
    assert "URL Reservations:" in out
    assert "Reserved URL            : http://+:8080/app/" in out
    assert "\\nobody" in out and "Listen: Yes" in out and "Delegate: No" in out
    assert "SDDL: D:(A;;GX;;;S-1-22-1-65534)" in out
    assert "User: \\Everyone" in out
    status, out, _ = netsh(capsys, "show", "urlacl", "url=http://+:8081/")
    assert "8081" in out and "8080" not in out
    assert ConfigStore(str(offline)).load().url_reservations[0][0] == "http://+:8080/app/"  # really stored
    status, out, _ = netsh(capsys, "delete", "urlacl", "url=http://+:8080/app/")
    assert status == 0 and "URL reservation successfully deleted" in out


@pytest.mark.parametrize(
    ("words", "line", "message"),
    [
        (("add", "urlacl", "url=http://+:80/x/", "user=no-such-user-here"), "URL reservation add failed, Error: 1332", "No mapping"),
        (("add", "urlacl", "url=not-a-url", "sddl=D:(A;;GX;;;WD)"), "URL reservation add failed, Error: 87", "The parameter is incorrect."),
        (("add", "urlacl", "url=http://+:80/x/", "sddl=D:(A;;GQ;;;WD)"), "URL reservation add failed, Error: 87", "The parameter is incorrect."),
        (("delete", "urlacl", "url=http://+:80/never/"), "URL reservation delete failed, Error: 2", "cannot find the file"),
        (("add", "iplisten", "ipaddress=300.1.1.1"), "IP address add failed, Error: 87", "incorrect"),
        (("add", "sslcert", "ipport=0.0.0.0:443", "certhash=zz", f"appid={APPID}"), "SSL Certificate add failed, Error: 87", "incorrect"),
        (("add", "timeout", "timeouttype=headerwaittimeout", "value=0"), "Timeout add failed, Error: 87", "incorrect"),
        (("show", "servicestate"), "Service state show failed, Error: 1062", "The service has not been started."),
    ],
)  # fmt: skip
def test_offline_errors_print_the_win32_code_and_message_and_exit_1(
    offline: Path, capsys: pytest.CaptureFixture[str], words: tuple[str, ...], line: str, message: str
) -> None:
    status, _, err = netsh(capsys, *words)
    assert status == 1 and line in err and message in err


def test_usage_errors_exit_2(offline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert netsh(capsys, "frobnicate", "urlacl")[0] == 2
    assert netsh(capsys, "add", "urlacl", "url")[0] == 2
    assert netsh(capsys, "add", "timeout", "timeouttype=sometimes", "value=3")[0] == 2
    assert main(["netsh", "dns", "show", "x"]) == 2


def test_offline_sslcert_iplisten_timeout_and_a_second_add_is_already_exists(
    offline: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add = ("add", "sslcert", "ipport=0.0.0.0:8443", f"certhash={HASH.upper()}", f"appid={APPID}")
    assert netsh(capsys, *add, "certstorename=WebHosting", "clientcertnegotiation=enable")[0] == 0
    status, _, err = netsh(capsys, *add)
    assert status == 1 and "Error: 183" in err and "already exists" in err
    status, out, _ = netsh(capsys, "show", "sslcert")
    assert "IP:port                              : 0.0.0.0:8443" in out
    assert f"Certificate Hash                     : {HASH}" in out
    assert "Certificate Store Name               : WebHosting" in out
    assert "Negotiate Client Certificate         : Enabled" in out
    assert "PRIVATE KEY" not in out
    assert netsh(capsys, "add", "iplisten", "ipaddress=::1")[0] == 0
    assert "    ::1" in netsh(capsys, "show", "iplisten")[1]
    assert netsh(capsys, "add", "timeout", "timeouttype=IdleConnectionTimeout", "value=42")[0] == 0
    assert "Idle Connection Timeout (secs)  : 42" in netsh(capsys, "show", "timeout")[1]
    assert netsh(capsys, "delete", "sslcert", "ipport=0.0.0.0:8443")[0] == 0
    assert netsh(capsys, "delete", "timeout", "timeouttype=idleconnectiontimeout")[0] == 0


def test_config_export_then_import_copies_a_configuration(
    offline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert netsh(capsys, "add", "urlacl", "url=http://+:9000/", "sddl=D:(A;;GX;;;WD)")[0] == 0
    assert netsh(capsys, "add", "iplisten", "ipaddress=127.0.0.1")[0] == 0
    assert main(["config", "export"]) == 0
    exported = capsys.readouterr().out
    assert json.loads(exported)["urlacl"] == [["http://+:9000/", "D:(A;;GX;;;WD)"]]
    document = tmp_path / "export.json"
    document.write_text(exported)
    monkeypatch.setenv("HTTPSYS_CONFIG_DIR", str(tmp_path / "other-host"))
    assert main(["config", "import", str(document)]) == 0
    assert ConfigStore(str(tmp_path / "other-host")).load() == ConfigStore(str(offline)).load()
    document.write_text(exported.replace("127.0.0.1", "not-an-address"))
    assert main(["config", "import", str(document)]) == 1
    assert "not an IP address" in capsys.readouterr().err
    assert ConfigStore(str(tmp_path / "other-host")).load().ip_listen_list == ("127.0.0.1",)  # untouched


def test_a_corrupt_store_is_named_and_never_reset(offline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    offline.mkdir(parents=True)
    (offline / "config.db").write_bytes(b"garbage" * 100)
    status, _, err = netsh(capsys, "show", "urlacl")
    assert status == 1 and str(offline / "config.db") in err and "Error: 1009" in err
    assert (offline / "config.db").read_bytes() == b"garbage" * 100


# ----- through a running daemon --------------------------------------------------------------------------------


@pytest.fixture
def daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DaemonProcess]:
    config = tmp_path / "config"
    process = DaemonProcess(str(tmp_path), "--config-dir", str(config))
    monkeypatch.setenv("HTTPSYS_DAEMON_SOCKET", process.path)
    monkeypatch.setenv("HTTPSYS_CONFIG_DIR", str(tmp_path / "not-the-daemons"))
    try:
        yield process
    finally:
        assert process.stop() == 0


def test_through_the_daemon_changes_go_to_its_store_and_apply_at_once(
    daemon: DaemonProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert Path(daemon.path).with_name("admin.sock").stat().st_mode & 0o777 == 0o660
    assert netsh(capsys, "add", "timeout", "timeouttype=headerwaittimeout", "value=77")[0] == 0
    assert ConfigStore(str(tmp_path / "config")).load().timeout(1) == 77  # the daemon's store, not ours
    assert not (tmp_path / "not-the-daemons").exists()
    assert "set timeout" in daemon.stderr()
    assert main(["config", "reload"]) == 0
    assert "reloaded" in daemon.stderr()


def test_show_servicestate_lists_sessions_groups_urls_queues_processes_and_counts(
    daemon: DaemonProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    win32_api.set_transport_factory(None)
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None) == NO_ERROR
    port = free_port()
    client: socket.socket | None = None
    try:
        session, group, queue = ctypes.c_ulonglong(), ctypes.c_ulonglong(), ctypes.c_void_p()
        assert HttpCreateServerSession(HTTPAPI_VERSION_2, session, 0) == NO_ERROR
        assert HttpCreateUrlGroup(session.value, group, 0) == NO_ERROR
        assert HttpCreateRequestQueue(HTTPAPI_VERSION_2, "statequeue", None, 0, queue) == NO_ERROR
        binding = HTTP_BINDING_INFO(HTTP_PROPERTY_FLAGS(1), queue.value)
        assert HttpSetUrlGroupProperty(group.value, HttpServerBindingProperty, binding, sizeof(binding)) == 0
        assert HttpAddUrlToUrlGroup(group.value, f"http://+:{port}/state/", 0, 0) == NO_ERROR
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        client.sendall(f"GET /state/x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        out = ""
        for _ in range(50):  # the request reaches the queue asynchronously
            status, out, _ = netsh(capsys, "show", "servicestate")
            if "Number of queued requests: 1" in out:
                break
        assert status == 0
        assert f"Server session ID: {session.value:016X}" in out
        assert f"URL group ID: {group.value:016X}" in out
        assert f"HTTP://+:{port}/STATE/" in out
        assert "Request queue name: statequeue" in out
        assert "Number of active processes attached: 1" in out
        assert "Number of queued requests: 1" in out and "Number of active requests: 0" in out
        assert "(creator)" in out
    finally:
        if client is not None:
            client.close()
        HttpTerminate(HTTP_INITIALIZE_SERVER, None)
