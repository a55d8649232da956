"""A real `httpsys daemon` subprocess for tests: started on a temporary socket, ready when it accepts, stopped.

Used by the conformance suite's daemon mode (HTTPSYS_TEST_MODE=daemon) and by the daemon's own tests.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


class DaemonProcess:
    """`httpsys daemon --socket <tmp>/httpsys.sock --error-log-dir <tmp>/httperr`; `.path`, `.error_log_dir`."""

    def __init__(self, directory: str | None = None, *extra: str) -> None:
        self._tmp = None if directory is not None else tempfile.TemporaryDirectory(prefix="httpsys-daemon-")
        base = Path(directory if directory is not None else self._tmp.name)  # type: ignore[union-attr]
        self.path = str(base / "httpsys.sock")
        self.error_log_dir = str(base / "httperr")
        self.stderr_path = str(base / "daemon.stderr")
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        env = dict(os.environ)
        env.pop("HTTPSYS_DAEMON_SOCKET", None)
        env.pop("NOTIFY_SOCKET", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "httpsys.cli",
                "daemon",
                "--socket",
                self.path,
                "--error-log-dir",
                self.error_log_dir,
                "--shutdown-timeout",
                "2",
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env=env,
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"httpsys daemon exited with {self.process.returncode}: {self.stderr()}")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                try:
                    probe.connect(self.path)
                    return
                except OSError:
                    time.sleep(0.05)
        self.stop()
        raise RuntimeError("httpsys daemon did not accept in time")

    def stderr(self) -> str:
        return Path(self.stderr_path).read_text(errors="replace")

    def error_log(self) -> str:
        """Every HTTPERR line the daemon has written so far."""
        directory = Path(self.error_log_dir)
        if not directory.is_dir():
            return ""
        return "".join(p.read_text(errors="replace") for p in sorted(directory.glob("*.log")))

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait; SIGKILL if it does not exit in time. The exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()
        status = self.process.returncode
        if self._tmp is not None:
            self._tmp.cleanup()
        return status
