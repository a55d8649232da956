"""The native build of httpsys: its per-request modules compiled with mypyc into the wheel (decisions 0009, 0011).

Responsibility: what setup.py plugs into setuptools — a `build_ext` that compiles NATIVE_MODULES with mypyc,
writing each source docstring into the generated C and saying on stderr what it is doing, and a `bdist_wheel`
that tags the wheel by what was built — and the choice between native and pure Python: HTTPSYS_PURE=1, an
editable install, a missing C compiler, Python headers or mypyc, or a failed compilation give a pure-Python build
and one line saying why. Run as a script, it builds the sdist and, from it, the wheel with `python -m build` (what
a user's `pip install` does), showing the stages and keeping the full log. It must not touch `src/` (the source
stays pure Python and the only source), and the want of a native build must never fail a build.

usage: python scripts/build_native.py [--outdir build/dist] [--no-isolation]
       (writes the sdist, the wheel, build.log, and WHEEL: the wheel's path, into the output directory;
       --no-isolation builds with the running Python's build dependencies when it has them all, as `make` does
       with .venv's, instead of installing them into two fresh environments; decision 0032)
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from setuptools import Command, Extension

ROOT = Path(__file__).resolve().parent.parent
SOURCE_ROOT = ROOT / "src"

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
    # the daemon's wire codec (decision 0026): framing, field codecs, encoder and decoder
    "httpsys/_wire/frames.py",
    "httpsys/_wire/fields.py",
    "httpsys/_wire/encoder.py",
    "httpsys/_wire/decoder.py",
    "httpsys/_wire/ancillary.py",
    # the messages, plain classes since decision 0026's amendment
    "httpsys/_wire/messages.py",
    # the daemon's per-message work for one client (decision 0026's amendment)
    "httpsys/_daemon/dispatch.py",
    # the HTTP/2 connection of our own and its adapter (decision 0030)
    "httpsys/_core/http2_frames.py",
    "httpsys/_core/http2_fields.py",
    "httpsys/_core/http2_connection.py",
    "httpsys/_engine/http2_stream.py",
    "httpsys/_engine/http2.py",
    # the HPACK codec (decision 0029): its tables and coder; not hpack_errors.py (built-in exception subclasses)
    "httpsys/_core/hpack_tables.py",
    "httpsys/_core/hpack.py",
    # the remote transport's per-message path (decision 0025): one connection's writes, reads and dispatch
    "httpsys/_transport/remote_channel.py",
    # the TLS room and the ClientHello it peeks at per connection (decision 0021 point 17)
    "httpsys/_engine/tls.py",
    "httpsys/_core/clienthello.py",
    # the win32 face's per-request path (decision 0023, amendment 5): struct marshalling, the x64 request layout
    "httpsys/win32/marshal.py",
    "httpsys/_core/layout.py",
    "httpsys/win32/queue_handle.py",
    # kernel32.py: the waits, completion ports and out-parameters of every call (decision 0023, amendment 6)
    "httpsys/win32/kernel32.py",
    # the four calls of a request's path, out of api.py's decorated functions (decision 0023, amendment 6)
    "httpsys/win32/request_io.py",
    # the verb number and the known/unknown header split of each received request (fill_request, the engine)
    "httpsys/_core/verbs.py",
    "httpsys/_core/known_headers.py",
    # Http11Connection's send side (its base class) and its parser's error paths (decision 0033)
    "httpsys/_engine/http11_send.py",
    "httpsys/_engine/http11_parse_errors.py",
)
# Public faces keep their docstrings (see `write_docstrings` below). Not compiled: the records that cross the
# transport boundary from the faces (`_core/records.py`, home of ResponseSpec and the data chunks), since a compiled
# record checks its field types when it is built while the driver must answer a wrongly typed one with
# ERROR_INVALID_PARAMETER (RequestSnapshot goes the other way, so it has a compiled module of its own); the WSGI
# adapter and the rest of the win32 face (api.py's decorated functions, overlapped.py with the OVERLAPPED applications
# subclass and a threading.local, structs.py's exec-built classes; decision 0023, amendments 5 and 6); and modules mypyc
# cannot compile as written (an attribute named `_thread` that clashes with C in `_transport/embedded.py`).

PREFIX = "httpsys native build: "
PURE_ENV = "HTTPSYS_PURE"  # set (not "0"): build pure Python even where a native build could be made
JOBS_ENV = "HTTPSYS_BUILD_JOBS"  # how many C files compile at once (default: the CPUs this process may use)
PLACEHOLDER = "httpsys._native_build"  # the stand-in extension that makes setuptools run build_ext

# The extension modules the last build_ext of this process compiled (empty: the build is pure Python).
_built: list[str] = []


def say(message: str) -> None:
    """One progress line on stderr (pip shows it with -v; `make` and `python -m build` show it as it comes)."""
    print(PREFIX + message, file=sys.stderr, flush=True)


def module_name(path: str) -> str:
    """'httpsys/_core/canonical.py' -> 'httpsys._core.canonical'."""
    return path.removesuffix(".py").replace("/", ".")


def missing_toolchain() -> str:
    """Why no native build can be made here, or "" when it can."""
    compiler = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
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


def pure_reason(editable: bool) -> str:
    """Why this build is pure Python before trying (the environment, an editable install, the toolchain), or ""."""
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return f"{PURE_ENV} is set"
    if editable:
        return "an editable install runs the source"
    return missing_toolchain()


def one_line(exc: BaseException) -> str:
    """The last non-empty line of an exception's text, short: a compiler error can run to many lines, and a failed
    command's names the whole command line (the build log keeps it)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[-1] if lines else ""
    if " returned non-zero exit status" in text:
        text = "the command" + text[text.index(" returned non-zero exit status") :]
    elif len(text) > 200:
        text = text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ---------------------------------------------------------------------------------------------------- generating C
def generate_c(target: Path) -> list[Extension]:
    """Type-check NATIVE_MODULES and translate them to C in `target` with mypyc, then write their docstrings into
    the C; the extensions (one shared library and one shim per module) for build_ext to compile."""
    from mypyc.build import mypycify

    sources = {module_name(path): SOURCE_ROOT / path for path in NATIVE_MODULES}
    say(f"type-checking {len(sources)} modules and translating them to C with mypyc")
    # the project's mypy settings (strict, the untyped imports) from its pyproject.toml, whatever the directory
    options = ["--config-file", str(ROOT / "pyproject.toml")]
    # multi_file: a C file per module (and the runtime's own files) instead of one big file, so that the C compiles
    # on every CPU (`compile_in_parallel`); decision 0032 measured the same CPU per request as the one big file.
    extensions: list[Extension] = mypycify(
        [*options, *(str(path) for path in sources.values())],
        opt_level="3",
        multi_file=True,
        target_dir=str(target),
    )
    docs = source_docstrings(sources)
    for c_file in target.glob("*.c"):
        text = c_file.read_text(encoding="utf-8")
        c_file.write_text(write_docstrings(text, docs), encoding="utf-8")
    say(f"docstrings written into the generated C ({len(docs)} names)")
    return extensions


# ---------------------------------------------------------------------------------------------------- docstrings
# mypyc gives compiled functions, methods, properties and classes only their text signature as __doc__, while the
# public faces document every name through docstrings (help(), inspect.getdoc; a test pins it). So between
# generating C and compiling it, `generate_c` writes the source's docstrings into the generated doc slots of
# method and function tables, property tables and type objects. A coroutine function compiles to mypyc's own
# function type, which has no doc slot: the public async methods of compiled modules are therefore plain methods
# that return the coroutine of a private `async def` (decision 0009).

DocKey = tuple[str, str, str]  # (module, class or "", function or "")
_DOC = re.compile(r'PyDoc_STR\((NULL|"(?:[^"\\]|\\.)*")\)')
_TABLE = re.compile(
    r"static (PyMethodDef|PyGetSetDef|PyTypeObject) (?:CPyType_)?(\w+?)(?:_methods|_getseters|_template_)\b"
)
_ENTRY = re.compile(r'^\s*\{"(\w+)",')


def source_docstrings(sources: dict[str, Path]) -> dict[DocKey, str]:
    """The docstrings of the modules' (module name -> source file) top-level functions, classes, and the classes'
    methods and properties."""
    docs: dict[DocKey, str] = {}
    for module, path in sources.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
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


# ---------------------------------------------------------------------------------------------------- compiling
def build_jobs() -> int:
    """How many C files to compile at once: HTTPSYS_BUILD_JOBS when it is a positive number, else the CPUs this
    process may run on."""
    try:
        jobs = int(os.environ.get(JOBS_ENV, ""))
    except ValueError:
        jobs = 0
    if jobs > 0:
        return jobs
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def compile_in_parallel(compiler: Any, jobs: int) -> None:
    """Make `compiler.compile` (a setuptools CCompiler's) run up to `jobs` compiler processes at once, the largest
    source first, instead of one after the other; the objects and the errors are the same. Left as it is for one job
    or a compiler that does not compile through `_compile` (MSVC)."""
    if (
        jobs < 2
        or getattr(compiler, "compiler_type", "") == "msvc"
        or not hasattr(compiler, "_setup_compile")
    ):
        return

    def compile_sources(
        sources: list[str],
        output_dir: str | None = None,
        macros: Any = None,
        include_dirs: Any = None,
        debug: bool = False,
        extra_preargs: list[str] | None = None,
        extra_postargs: list[str] | None = None,
        depends: Any = None,
    ) -> list[str]:
        macros, objects, extra_postargs, pp_opts, build = compiler._setup_compile(
            output_dir, macros, include_dirs, sources, depends, extra_postargs
        )
        cc_args = compiler._get_cc_args(pp_opts, debug, extra_preargs)
        todo = sorted(
            ((obj, *build[obj]) for obj in objects if obj in build),
            key=lambda item: Path(item[1]).stat().st_size if Path(item[1]).exists() else 0,
            reverse=True,
        )
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [
                pool.submit(compiler._compile, obj, src, ext, cc_args, extra_postargs, pp_opts)
                for obj, src, ext in todo
            ]
            for future in futures:
                future.result()  # the first failure (CompileError) is raised, after the others finished
        return list(objects)

    compiler.compile = compile_sources


# ---------------------------------------------------------------------------------------------------- setuptools
def placeholder_extensions() -> list[Extension]:
    """`ext_modules` for setup(): a stand-in that makes setuptools run build_ext (which replaces it with what
    mypyc made, or with nothing) and build a platform wheel; computing the real list in setup() would run mypyc
    for every hook a build calls, metadata included."""
    from setuptools import Extension

    return [Extension(PLACEHOLDER, sources=[])]


def commands() -> dict[str, type[Command]]:
    """The setuptools commands of the native build, for setup(cmdclass=...)."""
    from setuptools.command.bdist_wheel import bdist_wheel
    from setuptools.command.build_ext import build_ext

    class NativeBuildExt(build_ext):
        """Compile NATIVE_MODULES with mypyc, or nothing (one line says why): never a failed build."""

        def run(self) -> None:
            _built.clear()
            why = pure_reason(editable=bool(getattr(self, "editable_mode", False) or self.inplace))
            if why:
                self.extensions = []
                say(f"skipped ({why}): httpsys is built as pure Python")
                return
            target = Path(self.build_temp) / "mypyc"
            shutil.rmtree(target, ignore_errors=True)
            try:
                extensions = generate_c(target)
            except (Exception, SystemExit) as exc:
                self.extensions = []
                # mypyc prints type errors, then exits: the reason is in the lines above
                reason = "its messages are above" if isinstance(exc, SystemExit) else one_line(exc)
                say(f"mypyc failed ({reason}): httpsys is built as pure Python")
                return
            # setuptools prepares the extensions of `ext_modules` when the command is finalized: start this command
            # afresh (its options as given) on the real list, so that it prepares them as its own.
            self.distribution.ext_modules = extensions
            self.distribution.reinitialize_command("build_ext")  # this very object, as setup() made it
            self.ensure_finalized()
            self._compiled = 0
            try:
                super().run()
            except Exception as exc:  # CompileError, LinkError, a missing header...
                for output in self.get_outputs():
                    Path(output).unlink(missing_ok=True)
                self.extensions = []
                self.distribution.ext_modules = []
                say(f"the C compiler failed ({one_line(exc)}): httpsys is built as pure Python")
                return
            _built.extend(ext.name for ext in self.extensions)
            say(f"{len(NATIVE_MODULES)} modules compiled: httpsys is built native")

        def build_extension(self, ext: Any) -> None:
            self._compiled += 1
            shared = ext.name.endswith("__mypyc")
            jobs = build_jobs()
            compile_in_parallel(self.compiler, jobs)
            what = (
                f"the C of all {len(NATIVE_MODULES)} modules ({len(ext.sources)} files, {jobs} at a time; the long step)"
                if shared
                else ext.name
            )
            say(f"compiling {what} ({self._compiled}/{len(self.extensions)})")
            started = time.monotonic()
            super().build_extension(ext)
            if shared:
                say(
                    f"compiled the C of all {len(NATIVE_MODULES)} modules in {time.monotonic() - started:.0f} s"
                )

    class NativeBdistWheel(bdist_wheel):
        """A platform wheel when build_ext compiled the modules, a pure one (py3-none-any) when it did not."""

        def get_tag(self) -> tuple[str, str, str]:
            if not _built:
                self.root_is_pure = True
            return super().get_tag()

    return {"build_ext": NativeBuildExt, "bdist_wheel": NativeBdistWheel}


# ---------------------------------------------------------------------------------------------------- the script
_SHOWN = re.compile(r"^(\* |Successfully built|ERROR|" + re.escape(PREFIX) + ")")


def missing_build_requirements() -> list[str]:
    """The requirements of pyproject.toml's [build-system] that this Python's installed packages do not meet."""
    import tomllib
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    build_system = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]
    requires: list[str] = build_system["requires"]
    missing = []
    for text in requires:
        requirement = Requirement(text)
        try:
            installed = version(canonicalize_name(requirement.name))
        except PackageNotFoundError:
            missing.append(text)
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            missing.append(f"{text} (installed: {installed})")
    return missing


def build_dist(outdir: Path, isolation: bool = True) -> int:
    """`python -m build --outdir OUTDIR` (the sdist, then the wheel from it, each in a fresh isolated environment,
    as pip builds an sdist), showing build's stages and this module's lines; the full log in OUTDIR/build.log,
    and OUTDIR/WHEEL naming the wheel. With `isolation` false, `--no-isolation` when this Python has every build
    requirement (the same build from the same sources, without installing them twice), else isolated as usual."""
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    log_path = outdir / "build.log"
    options = []
    if not isolation:
        missing = missing_build_requirements()
        if missing:
            print(f"build requirements missing here ({', '.join(missing)}): building isolated", flush=True)
        else:
            options.append("--no-isolation")
    how = "python -m build" + "".join(f" {option}" for option in options)
    print(f"building the sdist and the wheel into {outdir} ({how}; full log in {log_path})", flush=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # The sdist step writes src/httpsys.egg-info; an editable install has src/ on sys.path, where it would be a
    # second httpsys distribution, so it goes again unless it was there before.
    egg_info = SOURCE_ROOT / "httpsys.egg-info"
    made_egg_info = not egg_info.exists()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "build", *options, "--outdir", str(outdir), str(ROOT)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        versions = False  # in the list under "* Installed build dependency versions:"
        for line in proc.stdout:
            log.write(line)
            if line.startswith("* "):
                versions = line.startswith("* Installed build dependency versions")
            if _SHOWN.match(line) or (versions and line.startswith("  - ")):
                print("  " + line.rstrip(), flush=True)
        code = proc.wait()
    if made_egg_info:
        shutil.rmtree(egg_info, ignore_errors=True)
    if code != 0:
        tail = log_path.read_text(encoding="utf-8").splitlines()[-30:]
        print("\n".join(["the build failed; the end of its log:", *tail]), file=sys.stderr)
        return code
    wheels = sorted(outdir.glob("httpsys-*.whl"))
    if len(wheels) != 1:
        print(f"the build made {len(wheels)} wheels in {outdir}, expected one", file=sys.stderr)
        return 1
    wheel = wheels[0]
    (outdir / "WHEEL").write_text(f"{wheel}\n", encoding="utf-8")
    kind = "pure Python" if wheel.name.endswith("-none-any.whl") else "native"
    print(f"wheel: {wheel} ({kind})", flush=True)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--outdir", type=Path, default=ROOT / "build" / "dist")
    parser.add_argument(
        "--no-isolation",
        action="store_true",
        help="build with this Python's build requirements when it has them all (else isolated, as pip does)",
    )
    args = parser.parse_args(argv)
    return build_dist(args.outdir.resolve(), isolation=not args.no_isolation)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
