"""The package as `pip install` and `python -m build` make it: what the sdist carries, the pure-Python fallback of
the native build (one clear line, a pure wheel), and a build free of packaging warnings.

Each test builds a copy of the files a checkout has (pyproject.toml, setup.py, MANIFEST.in, README.md, the build
helper, src/) with `python -m build` in the environment under test (no isolated environment: setuptools and the
build tools are test dependencies), so nothing is written into the source tree. The compiled build itself is what
`make test` builds once and runs the whole suite on (test_installed_command.py checks that it runs).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# These build from a copy of the source tree, whatever is installed: the source run of `make test` is enough.
pytestmark = pytest.mark.skipif(
    os.environ.get("HTTPSYS_EXPECT_NATIVE", "") == "1",
    reason="builds from the source tree: run in the source run",
)
PREFIX = "httpsys native build: "
CHECKOUT_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "scripts/build_native.py")


def checkout_copy(where: Path) -> Path:
    tree = where / "httpsys-checkout"
    for name in CHECKOUT_FILES:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tree / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.c", "*.egg-info")
    shutil.copytree(ROOT / "src" / "httpsys", tree / "src" / "httpsys", ignore=ignore)
    return tree


def build(tree: Path, outdir: Path, env: dict[str, str], *only: str) -> subprocess.CompletedProcess[str]:
    """`python -m build` (the sdist, then the wheel from it; `--sdist` for the sdist alone) in this environment,
    output and errors together."""
    clean = {
        k: v for k, v in os.environ.items() if k not in ("HTTPSYS_PURE", "CC", "PYTHONDONTWRITEBYTECODE")
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--no-isolation",
            "--skip-dependency-check",
            "--outdir",
            str(outdir),
            *only,
            ".",
        ],
        cwd=tree,
        env={**clean, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("env", "only", "reason"),
    [
        ({"HTTPSYS_PURE": "1"}, (), "HTTPSYS_PURE is set"),  # the sdist, then the wheel from it
        ({"CC": "/nonexistent/cc"}, ("--wheel",), "no C compiler (/nonexistent/cc)"),  # from the tree
    ],
    ids=["HTTPSYS_PURE", "no-compiler"],
)
def test_without_a_native_build_the_wheel_is_pure_one_line_says_why_and_nothing_warns(
    tmp_path: Path, env: dict[str, str], only: tuple[str, ...], reason: str
) -> None:
    result = build(checkout_copy(tmp_path), tmp_path / "dist", env, *only)
    assert result.returncode == 0, result.stdout[-3000:]
    ours = [line for line in result.stdout.splitlines() if line.startswith(PREFIX)]
    assert ours == [f"{PREFIX}skipped ({reason}): httpsys is built as pure Python"]
    warnings = [line for line in result.stdout.splitlines() if re.search(r"warn|deprecat", line, re.I)]
    assert warnings == []  # setuptools, for one, warns about a license table
    wheels = sorted((tmp_path / "dist").glob("*.whl"))
    assert [w.name for w in wheels] == ["httpsys-0.1.0-py3-none-any.whl"]
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = wheel.namelist()
        assert "Root-Is-Purelib: true" in wheel.read("httpsys-0.1.0.dist-info/WHEEL").decode()
    assert not [n for n in names if n.endswith((".so", ".c"))]
    assert {"httpsys/_engine/driver.py", "httpsys/cli/site/index.html", "httpsys/py.typed"} <= set(names)


def test_the_sdist_carries_what_the_native_build_needs(tmp_path: Path) -> None:
    """The wheel pip builds from the sdist runs setup.py, which needs the build helper beside it."""
    result = build(checkout_copy(tmp_path), tmp_path / "dist", {}, "--sdist")
    assert result.returncode == 0, result.stdout[-3000:]
    with tarfile.open(tmp_path / "dist" / "httpsys-0.1.0.tar.gz") as sdist:
        names = {name.removeprefix("httpsys-0.1.0/") for name in sdist.getnames()}
        metadata = sdist.extractfile("httpsys-0.1.0/PKG-INFO")
        assert metadata is not None
        pkg_info = metadata.read().decode()
    assert set(CHECKOUT_FILES) <= names
    assert {"src/httpsys/asgi.py", "src/httpsys/cli/site/index.html"} <= names
    assert "License-Expression: MIT" in pkg_info
