"""A synchronous wait in the main thread ends with KeyboardInterrupt when Ctrl+C's SIGINT is delivered to another
thread of the process (Python runs handlers on the main thread only; the kernel may pick the driver's loop
thread): the main thread sleeps in slices and handles the signal at the end of one. A real process, a real
signal aimed at the other thread."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import signal, threading, time
from httpsys.win32 import kernel32

def aim_at_myself():
    time.sleep(0.3)
    signal.pthread_kill(threading.get_ident(), signal.SIGINT)  # delivered to this thread, not the main one
    time.sleep(30)

threading.Thread(target=aim_at_myself, daemon=True).start()
started = time.monotonic()
try:
    kernel32.wait_for(kernel32.Waiter(), {timeout})
    print("woken")
except KeyboardInterrupt:
    print(f"interrupted after {{time.monotonic() - started:.2f}} s")
"""


def run(timeout: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(timeout=timeout)], capture_output=True, text=True, timeout=20
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_ctrl_c_delivered_to_another_thread_ends_an_unbounded_wait_of_the_main_thread() -> None:
    out = run("None")
    assert out.startswith("interrupted after "), out
    assert float(out.split()[2]) < 5


def test_ctrl_c_delivered_to_another_thread_ends_a_long_bounded_wait_of_the_main_thread() -> None:
    out = run("60.0")
    assert out.startswith("interrupted after "), out
    assert float(out.split()[2]) < 5


def test_a_bounded_wait_of_the_main_thread_still_times_out_unwoken() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from httpsys.win32 import kernel32; print(kernel32.wait_for(kernel32.Waiter(), 0.6))"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.stdout.strip() == "False", result.stderr
