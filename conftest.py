"""Every test process gets a configuration directory of its own (HTTPSYS_CONFIG_DIR), so the persistent service
configuration store (decision 0020) written by one test run never reaches another, nor the user's own."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

if not os.environ.get("HTTPSYS_TEST_KEEP_CONFIG_DIR"):
    _directory = tempfile.mkdtemp(prefix="httpsys-config-")
    os.environ["HTTPSYS_CONFIG_DIR"] = _directory
    atexit.register(shutil.rmtree, _directory, True)
