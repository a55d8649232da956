"""Coverage-guided fuzzing (atheris, libFuzzer) of the HTTP/1.1 adapter and of cook_url.

Responsibility: turn libFuzzer's bytes into inputs for the same invariant checks the hypothesis fuzzers use
(tests/fuzz/invariants.py) and seed the run with the hostile corpus. It must not define invariants of its own.
Not collected by pytest; `make fuzz` runs it when atheris installs:

    python tests/fuzz/atheris_harness.py http11 -atheris_runs=200000 [-max_total_time=300] [CORPUS_DIR ...]
    python tests/fuzz/atheris_harness.py url -atheris_runs=200000

A crash is written by libFuzzer as crash-<sha1> in the working directory; turn each one into a test in
tests/hostile/test_regressions.py.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

import atheris  # noqa: E402

with atheris.instrument_imports(include=["httpsys"]):
    import httpsys._engine.http11
    import httpsys._engine.request  # noqa: F401
    from httpsys._core.canonical import UrlSettings
    from httpsys._core.settings import DriverSettings

from fuzz.invariants import check_adapter, check_cooked, outcome  # noqa: E402
from hostile.corpus import CASES  # noqa: E402

TIGHT = DriverSettings(max_field_length=64, max_request_bytes=256, pipeline_depth=1, body_buffer=4)


def http11_one(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 3)
    step = fdp.ConsumeIntInRange(1, 16)
    raw = fdp.ConsumeBytes(fdp.remaining_bytes())
    pieces = [raw[i : i + step] for i in range(0, len(raw), step)]
    if mode == 0:
        whole = check_adapter([raw], settle=False)
        split = check_adapter(pieces, settle=False)
        assert outcome(whole) == outcome(split), "the answer depends on how the bytes were split into reads"
        check_adapter([raw])
        check_adapter(pieces)
    else:
        options: dict[str, object] = {
            1: {"early_answer": True},
            2: {"client_eof": True},
            3: {"settings": TIGHT},
        }[mode]
        check_adapter([raw], **options)
        check_adapter(pieces, **options)


def url_one(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    flags = fdp.ConsumeIntInRange(0, 255)
    settings = UrlSettings(
        percent_u_allowed=bool(flags & 1),
        allow_restricted_chars=bool(flags & 2),
        enable_non_utf8=bool(flags & 4),
        favor_utf8=bool(flags & 8),
        url_segment_max_length=(0, 3, 260, 260)[(flags >> 4) & 3],
        url_segment_max_count=(0, 2, 255, 255)[(flags >> 6) & 3],
    )
    host = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 40)) if fdp.ConsumeBool() else None
    check_cooked(fdp.ConsumeBytes(fdp.remaining_bytes()), host, settings)


def seed_directory(target: str) -> str:
    """A corpus of hostile requests (for http11) or their targets (for url) to start from."""
    directory = Path(tempfile.mkdtemp(prefix=f"httpsys-atheris-{target}-"))
    for index, case in enumerate(CASES):
        if target == "http11":
            data = b"\x00\x01" + case.raw
        else:
            line = case.raw.split(b"\r\n", 1)[0].split(b" ")
            data = b"\x0d\x00" + (line[1] if len(line) > 1 else case.raw[:64])
        (directory / f"case-{index:03d}").write_bytes(data)
    return str(directory)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in ("http11", "url"):
        raise SystemExit("usage: atheris_harness.py {http11|url} [libFuzzer options] [CORPUS_DIR ...]")
    target = sys.argv[1]
    args = [sys.argv[0], *sys.argv[2:]]
    if not any(not a.startswith("-") for a in args[1:]):
        args.append(seed_directory(target))
    atheris.Setup(args, http11_one if target == "http11" else url_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
