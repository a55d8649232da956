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


def _except_bindings(function: ast.AST) -> dict[str, set[str]]:
    """name -> the exception types (as written) each `except TYPE as name` of `function` binds it to, nested
    functions and classes left to their own check."""
    bindings: dict[str, set[str]] = {}
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.ExceptHandler) and node.name is not None:
            caught = ast.unparse(node.type) if node.type is not None else "BaseException"
            bindings.setdefault(node.name, set()).add(caught)
        stack.extend(ast.iter_child_nodes(node))
    return bindings


def test_no_compiled_function_binds_one_except_name_to_two_exception_types() -> None:
    """mypyc gives an `except T as name` variable the type of its first binding in the function: a later
    `except OSError as exc` after `except ProtocolError as exc` raises TypeError ("ProtocolError object expected;
    got ConnectionResetError") instead of running its clause. The daemon's client reader did this when a worker
    was SIGKILLed with unread data (ECONNRESET): the dead client was not dropped and requests went on being
    delivered to its receives, then reset (decision 0026 §7). Each type gets its own name."""
    offenders = []
    for relative in _native_modules():
        path = ROOT / "src" / relative
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for name, types in _except_bindings(node).items():
                    if len(types) > 1:
                        offenders.append(f"{relative}:{node.lineno} {node.name}: {name} as {sorted(types)}")
    assert offenders == []
