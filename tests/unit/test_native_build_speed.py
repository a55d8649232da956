"""What makes the native build fast (decision 0032), checked on scripts/build_native.py without building the wheel:
the C files of one extension compile several at a time with the same objects and errors, the number at a time,
and the check that lets `make` build without an isolated environment only when every build requirement is met."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _build_native() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_native_speed", ROOT / "scripts" / "build_native.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _unix_compiler() -> Any:
    from setuptools._distutils import ccompiler, sysconfig

    compiler = ccompiler.new_compiler()
    sysconfig.customize_compiler(compiler)
    return compiler


def _c_files(where: Path, count: int) -> list[str]:
    sources = []
    for i in range(count):
        path = where / f"unit{i}.c"
        path.write_text(f"int unit{i}(int x) {{ return x * {i + 1}; }}\n" + "/* padding */\n" * i)
        sources.append(str(path))
    return sources


class _SlowCompiler:
    """Stands in for a CCompiler's internals: each `_compile` takes a moment and records how many overlap."""

    compiler_type = "unix"

    def __init__(self, fail: str = "") -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.order: list[str] = []
        self.fail = fail

    def _setup_compile(
        self, output_dir: Any, macros: Any, include_dirs: Any, sources: Any, depends: Any, post: Any
    ):
        objects = [source.replace(".c", ".o") for source in sources]
        build = {obj: (src, ".c") for obj, src in zip(objects, sources, strict=True)}
        return macros, objects, post or [], [], build

    def _get_cc_args(self, pp_opts: Any, debug: Any, before: Any) -> list[str]:
        return ["-c"]

    def _compile(self, obj: str, src: str, ext: str, cc_args: Any, post: Any, pp_opts: Any) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.order.append(Path(src).name)
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
        if Path(src).name == self.fail:
            raise RuntimeError(f"cannot compile {src}")
        Path(obj).write_text("object")


def test_the_c_files_of_one_extension_compile_as_many_at_a_time_as_there_are_jobs(tmp_path: Path) -> None:
    module = _build_native()
    compiler = _SlowCompiler()
    module.compile_in_parallel(compiler, 2)
    sources = _c_files(tmp_path, 6)
    objects = compiler.compile(sources)
    assert objects == [source.replace(".c", ".o") for source in sources]
    assert all(Path(obj).exists() for obj in objects)
    assert compiler.most == 2
    # the largest source first, so that the long one does not start last
    assert compiler.order[0] == "unit5.c"


def test_one_job_leaves_the_compiler_serial() -> None:
    module = _build_native()
    compiler = _SlowCompiler()
    original = compiler.__dict__.get("compile")
    module.compile_in_parallel(compiler, 1)
    assert compiler.__dict__.get("compile") is original is None


def test_a_failed_compile_fails_the_whole_compile_after_the_others_finish(tmp_path: Path) -> None:
    module = _build_native()
    compiler = _SlowCompiler(fail="unit2.c")
    module.compile_in_parallel(compiler, 2)
    sources = _c_files(tmp_path, 4)
    with pytest.raises(RuntimeError, match=r"unit2\.c"):
        compiler.compile(sources)
    assert compiler.running == 0
    assert sorted(compiler.order) == ["unit0.c", "unit1.c", "unit2.c", "unit3.c"]


@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="no C compiler here")
def test_a_real_compiler_makes_the_same_objects_in_parallel_and_reports_a_compile_error(
    tmp_path: Path,
) -> None:
    module = _build_native()
    serial_dir, parallel_dir = tmp_path / "serial", tmp_path / "parallel"
    serial_dir.mkdir()
    parallel_dir.mkdir()
    serial = _unix_compiler().compile(_c_files(serial_dir, 3), output_dir=str(serial_dir / "out"))
    compiler = _unix_compiler()
    module.compile_in_parallel(compiler, 2)
    parallel = compiler.compile(_c_files(parallel_dir, 3), output_dir=str(parallel_dir / "out"))
    assert [Path(obj).name for obj in parallel] == [Path(obj).name for obj in serial]
    assert all(Path(obj).stat().st_size > 0 for obj in parallel)

    broken = parallel_dir / "broken.c"
    broken.write_text("int broken( { return 0; }\n")
    with pytest.raises(Exception, match="non-zero exit status") as failure:
        compiler.compile([*_c_files(parallel_dir, 2), str(broken)], output_dir=str(parallel_dir / "out2"))
    assert type(failure.value).__name__ == "CompileError"


def test_the_jobs_are_httpsys_build_jobs_when_set_else_the_cpus_this_process_may_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = _build_native()
    monkeypatch.setenv("HTTPSYS_BUILD_JOBS", "3")
    assert module.build_jobs() == 3
    for unusable in ("0", "-2", "many", ""):
        monkeypatch.setenv("HTTPSYS_BUILD_JOBS", unusable)
        assert module.build_jobs() == len(module.os.sched_getaffinity(0))


def test_a_build_requirement_missing_or_of_another_version_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _build_native()
    (tmp_path / "pyproject.toml").write_text(
        "[build-system]\n"
        'requires = ["pytest>=1", "pytest<1", "httpsys-no-such-package>=1"]\n'
        'build-backend = "setuptools.build_meta"\n'
    )
    monkeypatch.setattr(module, "ROOT", tmp_path)
    missing = module.missing_build_requirements()
    installed = importlib.metadata.version("pytest")
    assert missing == [f"pytest<1 (installed: {installed})", "httpsys-no-such-package>=1"]
