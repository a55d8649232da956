"""Build the native (mypyc-compiled) copy of httpsys's hot modules into build/native.

Responsibility: copy `src/httpsys` to `build/native/httpsys` and compile the modules of NATIVE_MODULES there with
mypyc (part of mypy, a dev dependency), so that `PYTHONPATH=build/native` runs the same source as C extensions.
It must not touch `src/` (the source tree stays pure Python) and must never fail the build: without a C
compiler, Python headers or mypyc, it says why and leaves no native copy (everything then runs as pure Python).

usage: python scripts/build_native.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "httpsys"
TARGET = ROOT / "build" / "native"

# The per-request path of the driver: parsing, routing, delivery and the send path (docs/decisions/0009).
NATIVE_MODULES = (
    "httpsys/_core/canonical.py",
    "httpsys/_core/timers.py",
    "httpsys/_engine/request.py",
    "httpsys/_engine/http11.py",
    "httpsys/_engine/driver.py",
)
# Only private modules: compiled classes lose their docstrings and signatures to introspection, and the public
# faces (httpsys.aio, asgi, wsgi, win32) document themselves through them. Not the records that cross the transport
# boundary either (`_core/response.py`, `_core/records.py`): a compiled record checks its field types when it is
# built, while the driver must answer a wrongly typed one with ERROR_INVALID_PARAMETER. Nor `_core/objects.py`,
# which defines Verbosity503, a public enum of the asyncio face.


def missing_toolchain() -> str:
    """Why no native build can be made here, or "" when it can."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"no C compiler ({compiler})"
    include = sysconfig.get_paths().get("include", "")
    if not (Path(include) / "Python.h").exists():
        return f"no Python headers in {include}"
    try:
        import mypyc  # noqa: F401
    except ImportError:
        return "mypyc is not installed"
    return ""


def main() -> int:
    shutil.rmtree(TARGET, ignore_errors=True)
    why = missing_toolchain()
    if why:
        print(f"native build skipped: {why}; httpsys runs as pure Python", file=sys.stderr)
        return 0
    TARGET.mkdir(parents=True)
    shutil.copytree(SOURCE, TARGET / "httpsys", ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.c"))
    env = {**os.environ, "MYPYC_OPT_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-m", "mypyc", *NATIVE_MODULES],
        cwd=TARGET,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        print(f"native build failed; httpsys runs as pure Python:\n{tail}", file=sys.stderr)
        shutil.rmtree(TARGET, ignore_errors=True)
        return 0
    shutil.rmtree(TARGET / "build", ignore_errors=True)
    built = sorted(str(p.relative_to(TARGET)) for p in TARGET.rglob("*.so"))
    (TARGET / "BUILT").write_text("\n".join(built) + "\n")
    print(f"native build: {len(NATIVE_MODULES)} modules compiled into {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
