"""The test modes of the whole tree: embedded (the default) or `HTTPSYS_TEST_MODE=daemon`, and what may skip there.

Responsibility: in daemon mode, start one real `httpsys daemon` subprocess for the session and export
HTTPSYS_DAEMON_SOCKET, so every face a test uses (and every subprocess it starts) goes through the remote
transport (ARCHITECTURE §8.2); and the `embedded_only(difference)` marker, which skips a test in daemon mode
naming the documented difference (docs/daemon.md, "What differs from embedded mode") that makes it
inapplicable. The daemon's HTTPERR directory is exported as HTTPSYS_TEST_DAEMON_ERROR_LOG_DIR. Daemon mode is
for tests/conformance and tests/integration (`make test`'s unit-daemon); tests/daemon_mode starts its own daemons.
It must not decide anything a test asserts, and a marker may only name a difference listed here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.daemon_process import DaemonProcess

HERE = Path(__file__).resolve().parent
DAEMON_MODE = os.environ.get("HTTPSYS_TEST_MODE") == "daemon"
ERROR_LOG_DIR_ENV = "HTTPSYS_TEST_DAEMON_ERROR_LOG_DIR"  # the session daemon's HTTPERR directory, for tests

# Each documented difference (docs/daemon.md, "What differs from embedded mode") a test may skip for.
DIFFERENCES = {
    "settings": "driver settings are the daemon's, not the test's DriverSettings "
    "(docs/daemon.md: What differs from embedded mode, driver settings)",
    "inside": "looks inside the in-process driver (its objects, clock or caches), which lives in the daemon "
    "(docs/daemon.md: What differs from embedded mode, in-process driver)",
    "command": "`httpsys run/serve/demo` through the daemon: its driver-wide options are the daemon's, a port "
    "is shared by URL prefix, connections are the daemon's and outlive the command, and the demo's statistics "
    "page shows the daemon's counts "
    "(docs/daemon.md: What differs from embedded mode, the commands)",
}


# Modules that run exactly as in the embedded pass even with a daemon (the daemon pass of `make test` leaves them
# to that pass, decision 0019): their servers do not read HTTPSYS_DAEMON_SOCKET, or no driver runs at all.
SAME_IN_BOTH_MODES = {
    "integration/test_installed_command.py": "it checks which modules the installed command loads; the command "
    "through the daemon is tests/daemon_mode/test_command_through_daemon.py",
    "integration/test_ip_listen_list.py": "it makes its own embedded drivers, each with its own listen list",
    "integration/test_packaging.py": "it builds the sdist and the wheel; no driver runs",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "embedded_only(difference): skip in HTTPSYS_TEST_MODE=daemon for a documented difference "
        f"({', '.join(DIFFERENCES)}; tests/conftest.py)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for marker in item.iter_markers("embedded_only"):
            key = marker.args[0] if marker.args else ""
            if key not in DIFFERENCES:
                raise pytest.UsageError(
                    f"{item.nodeid}: embedded_only({key!r}) names no documented difference"
                )
            if DAEMON_MODE:
                item.add_marker(pytest.mark.skip(reason=f"daemon mode: {DIFFERENCES[key]}"))
        where = item.path.relative_to(HERE).as_posix() if item.path.is_relative_to(HERE) else ""
        same = SAME_IN_BOTH_MODES.get(where) if DAEMON_MODE else None
        if same is not None:
            item.add_marker(pytest.mark.skip(reason=f"daemon mode: runs as in the embedded pass: {same}"))


@pytest.fixture(scope="session", autouse=True)
def daemon_mode() -> Iterator[None]:
    """HTTPSYS_TEST_MODE=daemon: one real `httpsys daemon` for the session, HTTPSYS_DAEMON_SOCKET exported (so
    subprocesses the tests start inherit it), stopped at the end."""
    if not DAEMON_MODE:
        yield
        return
    daemon = DaemonProcess()
    os.environ["HTTPSYS_DAEMON_SOCKET"] = daemon.path
    os.environ[ERROR_LOG_DIR_ENV] = daemon.error_log_dir
    try:
        yield
    finally:
        os.environ.pop("HTTPSYS_DAEMON_SOCKET", None)
        os.environ.pop(ERROR_LOG_DIR_ENV, None)
        status = daemon.stop()
        assert status == 0, f"httpsys daemon exited with {status}: {daemon.stderr()}"
