"""Every public name of the asyncio face has a docstring with an example (issue 6, item 1).

The same test runs on the native build (decision 0009), where the faces are compiled with mypyc: the build writes
the source docstrings into the compiled classes, methods and properties, and the checks below read them at run
time. Two kinds of members differ there and are looked up in the source instead: instance attributes, which a
compiled class lists as descriptors (documented by their class, like slots), and coroutine methods, whose compiled
function objects have no doc slot at all.
"""

from __future__ import annotations

import ast
import enum
import inspect
import sys
import types
from functools import cache
from pathlib import Path

import httpsys

# Attributes documented by their class's docstring rather than their own (slots and enum members).
DOCUMENTED_BY_CLASS = {"Headers.raw", "Request.snapshot"}


@cache
def _source_class(module: str, name: str) -> ast.ClassDef:
    file = Path(sys.modules[module].__file__ or "")
    source = file.with_name(file.name.split(".")[0] + ".py")  # the .py beside a compiled module's .so
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    raise LookupError(f"class {name} not in {source}")


def _source_member(cls: type, member: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    for node in _source_class(cls.__module__, cls.__name__).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == member:
            return node
    return None


def _compiled(cls: type) -> bool:
    return not (getattr(sys.modules[cls.__module__], "__file__", "") or "").endswith(".py")


def _public_members(cls: type) -> list[str]:
    names = []
    for name, value in vars(cls).items():
        if name.startswith("_") or isinstance(value, enum.Enum):
            continue
        if isinstance(value, types.GetSetDescriptorType) and _source_member(cls, name) is None:
            continue  # a compiled class's instance attribute: documented by the class, like a slot
        names.append(name)
    return names


def _doc(cls: type, member: str) -> str:
    doc = inspect.getdoc(getattr(cls, member)) or ""
    if not doc and _compiled(cls):
        node = _source_member(cls, member)
        if isinstance(node, ast.AsyncFunctionDef):  # a compiled coroutine method keeps no doc at run time
            doc = ast.get_docstring(node) or ""
    return doc


def test_every_public_name_of_the_asyncio_face_has_an_example() -> None:
    missing = []
    for name in httpsys.__all__:
        if name.startswith("_"):
            continue
        obj = getattr(httpsys, name)
        if "Example" not in (inspect.getdoc(obj) or "") and ">>>" not in (inspect.getdoc(obj) or ""):
            missing.append(name)
        if inspect.isclass(obj) and obj.__module__.startswith("httpsys.aio"):
            for member in _public_members(obj):
                qualified = f"{name}.{member}"
                if qualified in DOCUMENTED_BY_CLASS:
                    continue
                if "Example" not in _doc(obj, member):
                    missing.append(qualified)
    assert missing == []


def test_properties_and_plain_methods_keep_their_docstrings_at_run_time() -> None:
    """What `help()` shows, in either build: compiled classes get their docstrings from the build step."""
    assert "Example" in (inspect.getdoc(httpsys.Request) or "")
    assert "Example" in (inspect.getdoc(httpsys.Request.method) or "")
    assert "Example" in (inspect.getdoc(httpsys.Request.stream) or "")
    assert "Example" in (inspect.getdoc(httpsys.RequestQueue.close) or "")
