"""httpsys variant through the shared daemon: `httpsys daemon` plus one application process using it.

Responsibility: start `httpsys daemon` on a private socket (pinned to --daemon-cpu), wait until it accepts, start
the application script with HTTPSYS_DAEMON_SOCKET set (pinned to --app-cpu), and stop both on SIGTERM/SIGINT
(the application first, then the daemon), so that bench/run.py measures the pair as one server: its process
tree is this launcher, the daemon and the application, whose CPU and RSS it sums from /proc. It must not serve
anything itself, and must never leave either process running when it exits.

usage: httpsys_daemon_pair.py PORT [--daemon-cpu N] [--app-cpu N] APP_SCRIPT [APP_ARGS...]
       (APP_SCRIPT is a file beside this one, started as `APP_SCRIPT PORT APP_ARGS...`)
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
READY_S = 20.0  # every server of a benchmark run starts at once on one CPU: a cold start may take seconds


def pinned(cpu: str, argv: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *argv] if cpu else argv


def wait_accepting(path: str, daemon: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise SystemExit(f"httpsys daemon exited with {daemon.returncode}")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(path)
                return
            except OSError:
                time.sleep(0.02)
    raise SystemExit(f"httpsys daemon did not accept within {READY_S:g} s")


def stop(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("port")
    ap.add_argument("--daemon-cpu", default="", help="CPU list for the daemon (default: this process's)")
    ap.add_argument("--app-cpu", default="", help="CPU list for the application (default: this process's)")
    ap.add_argument("app")
    ap.add_argument("app_args", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    with tempfile.TemporaryDirectory(prefix="httpsys-bench-daemon-") as tmp:
        path = os.path.join(tmp, "httpsys.sock")
        env = {k: v for k, v in os.environ.items() if k != "HTTPSYS_DAEMON_SOCKET"}
        daemon = subprocess.Popen(
            pinned(args.daemon_cpu, [sys.executable, "-m", "httpsys.cli", "daemon", "--socket", path]),
            env=env,
            stdin=subprocess.DEVNULL,
        )
        app: subprocess.Popen[bytes] | None = None
        try:
            wait_accepting(path, daemon)
            app = subprocess.Popen(
                pinned(args.app_cpu, [sys.executable, str(HERE / args.app), args.port, *args.app_args]),
                env={**env, "HTTPSYS_DAEMON_SOCKET": path},
                stdin=subprocess.DEVNULL,
            )
            print(
                f"daemon pair: daemon pid {daemon.pid} (cpu {args.daemon_cpu or 'inherited'}), "
                f"{args.app} pid {app.pid} (cpu {args.app_cpu or 'inherited'})",
                flush=True,
            )
            while not stopping and app.poll() is None and daemon.poll() is None:
                time.sleep(0.1)
            status = app.poll() if app.poll() is not None else daemon.poll()
            return 0 if stopping else (status or 1)
        finally:
            if app is not None:
                stop(app)
            stop(daemon, 15.0)


if __name__ == "__main__":
    sys.exit(main())
