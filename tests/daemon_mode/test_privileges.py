"""The daemon's privileges (issue 15 item 6, decision 0024 §2): `httpsys daemon --user NAME` starts as root, binds
its socket, then runs as NAME with CAP_NET_BIND_SERVICE only — and still binds a port below 1024 when an
application registers one; log files are never world-readable.

The `--user` tests create a throwaway system user and need root (CI runs as root); they skip with the reason
otherwise. Every daemon here runs on a temporary socket and is stopped; servers bind 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.daemon_process import DaemonProcess
from conformance.harness import bind, create_group, create_queue, create_session, free_port, receive, respond
from httpsys._daemon.privileges import CAP_NET_BIND_SERVICE, capabilities
from httpsys.win32 import *
from httpsys.win32 import api as win32_api

ALL_INIT = HTTP_INITIALIZE_SERVER | HTTP_INITIALIZE_CONFIG
needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="creates a throwaway user and drops root: run as root"
)


@pytest.fixture
def throwaway_user() -> Iterator[str]:
    name = "httpsys-t" + uuid.uuid4().hex[:8]
    created = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
    )
    if created.returncode != 0:
        pytest.skip(f"useradd failed: {created.stderr.strip()}")
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], capture_output=True)


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A temporary directory the throwaway user can reach (pytest's tmp_path sits under a 0700 directory)."""
    path = Path(tempfile.mkdtemp(prefix="httpsys-priv-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def start_daemon(socket_path: str, *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
    stderr_path = Path(tempfile.mkstemp(prefix="httpsys-daemon-stderr-")[1])
    env = {k: v for k, v in os.environ.items() if k not in ("HTTPSYS_DAEMON_SOCKET", "NOTIFY_SOCKET")}
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "httpsys.cli", "daemon", "--socket", socket_path, *extra],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"daemon exited {process.returncode}: {stderr_path.read_text()}")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(socket_path)
                # ready once it logs the switch (it accepts just before it switches)
                if "--user" not in extra or "running as user" in stderr_path.read_text():
                    return process, stderr_path
            except OSError:
                pass
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"daemon not ready: {stderr_path.read_text()}")


def stop_daemon(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def free_low_port() -> int:
    """A port below 1024 nobody listens on (127.0.0.1)."""
    for port in range(1023, 900, -1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port below 1024")


def status_ids(pid: int) -> tuple[list[int], list[int]]:
    uids: list[int] = []
    gids: list[int] = []
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            uids = [int(x) for x in line.split()[1:]]
        elif line.startswith("Gid:"):
            gids = [int(x) for x in line.split()[1:]]
    return uids, gids


def http_get(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


@contextlib.contextmanager
def through(socket_path: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HTTPSYS_DAEMON_SOCKET", socket_path)
    win32_api.set_transport_factory(None)
    assert HttpInitialize(HTTPAPI_VERSION_2, ALL_INIT, None) == NO_ERROR
    try:
        yield
    finally:
        assert HttpTerminate(ALL_INIT, None) == NO_ERROR


@needs_root
def test_user_switch_keeps_only_net_bind_service_and_binds_a_port_below_1024(
    throwaway_user: str, open_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = pwd.getpwnam(throwaway_user)
    tmp_path = open_tmp
    socket_path = str(tmp_path / "run" / "httpsys.sock")  # its directory is created by the daemon
    errors = tmp_path / "httperr"
    process, stderr = start_daemon(socket_path, "--user", throwaway_user, "--error-log-dir", str(errors))
    try:
        uids, gids = status_ids(process.pid)
        assert uids == [account.pw_uid] * 4 and gids == [account.pw_gid] * 4
        caps = capabilities(process.pid)
        keep = 1 << CAP_NET_BIND_SERVICE
        assert caps["CapEff"] == caps["CapPrm"] == caps["CapBnd"] == keep, caps
        assert caps["CapInh"] == caps["CapAmb"] == 0
        info = os.stat(socket_path)
        assert info.st_uid == account.pw_uid and stat.S_IMODE(info.st_mode) == 0o666
        assert os.stat(os.path.dirname(socket_path)).st_uid == account.pw_uid
        assert os.stat(errors).st_uid == account.pw_uid and stat.S_IMODE(os.stat(errors).st_mode) & 0o007 == 0

        port = free_low_port()
        with through(socket_path, monkeypatch):
            group = create_group(create_session())
            queue = create_queue()
            assert bind(group, queue) == NO_ERROR
            assert HttpAddUrlToUrlGroup(group, f"http://127.0.0.1:{port}/", 0, 0) == NO_ERROR
            import threading

            answers: list[bytes] = []
            t = threading.Thread(target=lambda: answers.append(http_get(port, "/low")))
            t.start()
            request = receive(queue)
            assert respond(queue, request.RequestId, b"below 1024")[0] == NO_ERROR
            t.join(10)
            assert answers and answers[0].startswith(b"HTTP/1.1 200") and answers[0].endswith(b"below 1024")
            # an HTTPERR line written after the switch: the user's file, not world-readable
            with socket.create_connection(("127.0.0.1", port), timeout=5) as bad:
                bad.sendall(b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n")
                bad.recv(1024)
        assert stop_daemon(process) == 0
        logs = list(errors.glob("*.log"))
        assert logs, stderr.read_text()
        for log_file in logs:
            info = os.stat(log_file)
            assert info.st_uid == account.pw_uid and stat.S_IMODE(info.st_mode) & 0o007 == 0
        assert not os.path.exists(socket_path)  # the user could remove it from its own directory
    finally:
        stop_daemon(process)
        stderr.unlink(missing_ok=True)


@needs_root
def test_user_switch_errors_are_one_line(throwaway_user: str, tmp_path: Path) -> None:
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "httpsys.cli",
            "daemon",
            "--socket",
            str(tmp_path / "s"),
            "--user",
            "no-such-u",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert missing.returncode != 0
    assert missing.stderr.strip().splitlines() == ["httpsys: --user no-such-u: no such user"]
    as_root = subprocess.run(
        [sys.executable, "-m", "httpsys.cli", "daemon", "--socket", str(tmp_path / "s"), "--user", "root"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert as_root.returncode != 0 and "is root" in as_root.stderr and "Traceback" not in as_root.stderr


def test_log_files_written_by_the_daemon_are_not_world_readable(monkeypatch: pytest.MonkeyPatch) -> None:
    daemon = DaemonProcess()
    try:
        with through(daemon.path, monkeypatch):
            group = create_group(create_session())
            queue = create_queue()
            assert bind(group, queue) == NO_ERROR
            port = free_port()
            assert HttpAddUrlToUrlGroup(group, f"http://127.0.0.1:{port}/", 0, 0) == NO_ERROR
            with socket.create_connection(("127.0.0.1", port), timeout=5) as bad:
                bad.sendall(b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n")
                assert bad.recv(1024).startswith(b"HTTP/1.1 400")
        deadline = time.monotonic() + 10
        while not daemon.error_log() and time.monotonic() < deadline:
            time.sleep(0.05)
        logs = list(Path(daemon.error_log_dir).glob("*.log"))
        assert logs
        for log_file in logs:
            assert stat.S_IMODE(os.stat(log_file).st_mode) & 0o007 == 0, oct(os.stat(log_file).st_mode)
        assert stat.S_IMODE(os.stat(daemon.error_log_dir).st_mode) & 0o007 == 0
    finally:
        assert daemon.stop() == 0


@needs_root
def test_only_root_or_the_daemons_user_may_take_the_listeners_over(
    throwaway_user: str, open_tmp: Path
) -> None:
    account = pwd.getpwnam(throwaway_user)
    socket_path = str(open_tmp / "httpsys.sock")
    process, stderr = start_daemon(socket_path)
    try:
        script = (
            "import os, sys\n"
            "from httpsys._daemon.takeover import TakeoverError, take_over\n"  # before the switch: the
            f"os.setgid({account.pw_gid}); os.setgroups([]); os.setuid({account.pw_uid})\n"  # user reads no /root
            "try:\n"
            f"    take_over({socket_path!r})\n"
            "except TakeoverError as exc:\n"
            "    print(exc)\n"
            "else:\n"
            "    print('taken')\n"
        )
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
        assert "refused: ERROR_ACCESS_DENIED" in result.stdout, (result.stdout, result.stderr)
        time.sleep(0.2)
        assert process.poll() is None  # still the daemon, still accepting
        assert "takeover refused" in stderr.read_text()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.connect(socket_path)
    finally:
        assert stop_daemon(process) == 0
        stderr.unlink(missing_ok=True)
