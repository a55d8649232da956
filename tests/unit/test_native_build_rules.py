"""The rules the modules compiled by the native build (decision 0009) must keep, checked on their source."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _native_modules() -> tuple[str, ...]:
    spec = importlib.util.spec_from_file_location("build_native", ROOT / "scripts" / "build_native.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    modules: tuple[str, ...] = module.NATIVE_MODULES
    return modules


def test_no_compiled_module_awaits_inside_a_finally_block() -> None:
    """mypyc mis-compiles an `await` in a `finally` block: a cancellation thrown into the coroutine while it waits
    there escapes even when the awaited code handles it (an ASGI server stopped by SIGINT exited with
    CancelledError). Cleanup that awaits goes in `except` and after the `try` instead."""
    offenders = []
    for relative in _native_modules():
        path = ROOT / "src" / relative
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Try):
                for statement in node.finalbody:
                    for inner in ast.walk(statement):
                        if isinstance(inner, (ast.Await, ast.AsyncWith, ast.AsyncFor)):
                            offenders.append(f"{relative}:{inner.lineno}")
    assert offenders == []


def test_every_native_module_is_a_source_file_listed_once() -> None:
    modules = _native_modules()
    assert len(modules) == len(set(modules))
    for relative in modules:
        assert (ROOT / "src" / relative).is_file(), relative
