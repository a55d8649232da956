"""Build the native (mypyc-compiled) copy of httpsys's hot modules into build/native.

Responsibility: copy `src/httpsys` to `build/native/httpsys` and compile the modules of NATIVE_MODULES there with
mypyc (part of mypy, a dev dependency), so that `PYTHONPATH=build/native` runs the same source as C extensions.
It must not touch `src/` (the source tree stays pure Python) and must never fail the build: without a C
compiler, Python headers or mypyc, it says why and leaves no native copy (everything then runs as pure Python).

usage: python scripts/build_native.py
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "httpsys"
TARGET = ROOT / "build" / "native"

# The per-request path: the driver and its rooms (parsing, routing, delivery, the send path; decision 0010) and the
# asyncio and ASGI faces (docs/decisions/0009).
NATIVE_MODULES = (
    "httpsys/_core/canonical.py",
    "httpsys/_core/objects.py",
    "httpsys/_core/response.py",
    "httpsys/_core/response_cache.py",
    "httpsys/_core/routing.py",
    "httpsys/_core/snapshot.py",
    "httpsys/_core/timers.py",
    "httpsys/_engine/request.py",
    "httpsys/_engine/http11.py",
    "httpsys/_engine/driver.py",
    "httpsys/_engine/listeners.py",
    "httpsys/_engine/registry.py",
    "httpsys/_engine/delivery.py",
    "httpsys/_engine/send_path.py",
    "httpsys/_engine/caches.py",
    "httpsys/_engine/counters.py",
    "httpsys/aio/headers.py",
    "httpsys/aio/objects.py",
    "httpsys/aio/request.py",
    "httpsys/asgi.py",
)
# Public faces keep their docstrings (see `write_docstrings` below). Not compiled: the records that cross the
# transport boundary from the faces (`_core/records.py`, home of ResponseSpec and the data chunks), since a compiled
# record checks its field types when it is built while the driver must answer a wrongly typed one with
# ERROR_INVALID_PARAMETER (RequestSnapshot goes the other way, so it has a compiled module of its own); the WSGI
# adapter and the win32 face, whose per-request cost is thread hand-offs; and modules mypyc cannot compile as
# written (an attribute named `_thread` that clashes with C in `_transport/embedded.py`).


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
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--compile", *NATIVE_MODULES],
        cwd=TARGET,
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


# ---------------------------------------------------------------------------------------------------- docstrings
# mypyc gives compiled functions, methods, properties and classes only their text signature as __doc__, while the
# public faces document every name through docstrings (help(), inspect.getdoc; a test pins it). So between
# generating C and compiling it, the compile step writes the source's docstrings into the generated doc slots of
# method and function tables, property tables and type objects. A coroutine function compiles to mypyc's own
# function type, which has no doc slot: the public async methods of compiled modules are therefore plain methods
# that return the coroutine of a private `async def` (decision 0009).

DocKey = tuple[str, str, str]  # (module, class or "", function or "")
_DOC = re.compile(r'PyDoc_STR\((NULL|"(?:[^"\\]|\\.)*")\)')
_TABLE = re.compile(
    r"static (PyMethodDef|PyGetSetDef|PyTypeObject) (?:CPyType_)?(\w+?)(?:_methods|_getseters|_template_)\b"
)
_ENTRY = re.compile(r'^\s*\{"(\w+)",')


def source_docstrings(paths: list[str]) -> dict[DocKey, str]:
    """The docstrings of the modules' top-level functions, classes, and the classes' methods and properties."""
    docs: dict[DocKey, str] = {}
    for path in paths:
        module = path.removesuffix(".py").replace("/", ".")
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc:
                    docs[(module, "", node.name)] = doc
            elif isinstance(node, ast.ClassDef):
                doc = ast.get_docstring(node)
                if doc:
                    docs[(module, node.name, "")] = doc
                for member in node.body:
                    if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        doc = ast.get_docstring(member)
                        if doc and (module, node.name, member.name) not in docs:  # a property: its getter's
                            docs[(module, node.name, member.name)] = doc
    return docs


def _c_owners(docs: dict[DocKey, str]) -> dict[str, tuple[str, str]]:
    """The C names mypyc may give a class's tables (`aio___request___Request`, or `Request` in a build of one
    module) or a module's function table (`aio___requestmodule`) -> (module, class); a name two sources could
    share is left out."""
    owners: dict[str, tuple[str, str] | None] = {}
    for module, cls, _name in docs:
        parts = module.split(".")
        for i in range(len(parts) + 1):
            prefix = "___".join(parts[i:])
            name = (f"{prefix}___{cls}" if prefix else cls) if cls else f"{prefix}module"
            owners[name] = (module, cls) if owners.get(name, (module, cls)) == (module, cls) else None
    return {name: owner for name, owner in owners.items() if owner is not None}


def _doc_slot(c_doc: str, doc: str) -> str:
    """`PyDoc_STR(...)` holding mypyc's text-signature header (kept for inspect.signature), then `doc`."""
    from mypyc.codegen.cstring import c_string_initializer

    head = "" if c_doc == "NULL" else str(ast.literal_eval(c_doc.replace("\\?", "?")))
    return f"PyDoc_STR({c_string_initializer((head + doc).encode('utf-8'))})"


def write_docstrings(c_source: str, docs: dict[DocKey, str]) -> str:
    """`c_source` (mypyc output) with the doc slots of documented names holding their docstrings."""
    owners = _c_owners(docs)
    out: list[str] = []
    owner: tuple[str, str] | None = None
    kind = ""
    entry: DocKey | None = None
    for line in c_source.splitlines(keepends=True):
        table = _TABLE.search(line)
        if table is not None and line.rstrip().endswith("{"):
            kind = table.group(1)
            owner = owners.get(table.group(2))
            entry = (owner[0], owner[1], "") if owner is not None and kind == "PyTypeObject" else None
        elif owner is not None and kind != "PyTypeObject" and (match := _ENTRY.match(line)):
            entry = (owner[0], owner[1], match.group(1))
        if entry is not None and entry in docs:  # the entry's doc slot may be on the entry's first line
            doc = docs[entry]
            text = line.strip()
            if kind == "PyGetSetDef" and text in ("NULL, NULL},", "NULL, NULL, NULL},"):
                # the end of a property's entry: {name, getter, setter, doc, closure}
                slot = _doc_slot("NULL", doc)
                if text == "NULL, NULL},":
                    line = line.replace("NULL, NULL}", f"{slot}, NULL}}", 1)
                else:
                    line = line.replace("NULL, NULL, NULL}", f"NULL, {slot}, NULL}}", 1)
                entry = None
            elif (kind == "PyMethodDef" or ".tp_doc" in line) and (slot_match := _DOC.search(line)):
                start, end = slot_match.span()
                line = line[:start] + _doc_slot(slot_match.group(1), doc) + line[end:]
                entry = None
        if line.strip() == "};":
            owner = None
            entry = None
        out.append(line)
    return "".join(out)


def compile_modules(paths: list[str]) -> int:
    """Compile `paths` (relative to the working directory) in place with mypyc, keeping their docstrings."""
    from mypyc.build import mypycify
    from setuptools import setup

    extensions = mypycify(paths, opt_level="3")  # writes the C sources into build/
    docs = source_docstrings(paths)
    for c_file in Path("build").glob("*.c"):
        text = c_file.read_text(encoding="utf-8")
        c_file.write_text(write_docstrings(text, docs), encoding="utf-8")
    setup(name="httpsys_native", ext_modules=extensions, script_args=["build_ext", "--inplace", "--quiet"])
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--compile"]:
        sys.exit(compile_modules(sys.argv[2:]))
    sys.exit(main())
