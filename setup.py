"""The package build's one addition to pyproject.toml: the native build of the per-request modules (decision 0011).

Responsibility: hand setuptools the commands of scripts/build_native.py (build_ext compiles the modules with
mypyc, or says in one line why the build is pure Python; bdist_wheel tags the wheel by what was built) and the
stand-in extension that makes it run them. Everything else about the package is in pyproject.toml; this file must
hold no build logic of its own.
"""

import importlib.util
import sys
from pathlib import Path

from setuptools import setup

_spec = importlib.util.spec_from_file_location(
    "httpsys_build_native", Path(__file__).resolve().parent / "scripts" / "build_native.py"
)
assert _spec is not None and _spec.loader is not None
build_native = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = build_native
_spec.loader.exec_module(build_native)

setup(cmdclass=build_native.commands(), ext_modules=build_native.placeholder_extensions())
