"""Every test process gets a configuration directory of its own (HTTPSYS_CONFIG_DIR), so the persistent service
configuration store (decision 0020) written by one test run never reaches another, nor the user's own; and Ctrl+C
(SIGINT) is not left ignored for the processes the tests start."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile

if not os.environ.get("HTTPSYS_TEST_KEEP_CONFIG_DIR"):
    _directory = tempfile.mkdtemp(prefix="httpsys-config-")
    os.environ["HTTPSYS_CONFIG_DIR"] = _directory
    atexit.register(shutil.rmtree, _directory, True)

# A runner that starts the suite as a background job (`make test &` in a shell without job control) has SIGINT
# ignored, and an ignored signal stays ignored across exec: the examples the tests stop with Ctrl+C (the win32
# WebSocket echo server, which ends on KeyboardInterrupt) would never stop. A handled signal is reset to its
# default at exec, so the processes the tests start get Python's KeyboardInterrupt again.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
