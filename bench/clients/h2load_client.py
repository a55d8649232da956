"""h2load (Debian's nghttp2-client) as a bench/run.py load generator: runs it once and prints one BENCH_JSON line.

Responsibility: run `h2load -c CONNS -m STREAMS -D SECONDS [--h1] --log-file LOG URL`, read its summary (requests,
bytes, failures) and the per-request latencies of its log, and print them as the wrk report does (requests, bytes,
duration_s, rps, bytes_per_s, p50/p90/p99/max/mean in microseconds, err_*). It must not judge the numbers.

usage: h2load_client.py URL CONNS STREAMS SECONDS [--h1]
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> int:
    url, conns, streams, seconds = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    extra = argv[4:]
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "requests.log"
        done = subprocess.run(
            [
                "h2load",
                "-c",
                str(conns),
                "-m",
                str(streams),
                "-D",
                str(seconds),
                *extra,
                f"--log-file={log}",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
        out = done.stdout
        # the log: start time (µs since epoch), status, duration (µs), one request per line
        durations = [int(line.split()[2]) for line in log.read_text().splitlines() if len(line.split()) >= 3]
    finished = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", out)
    counts = re.search(
        r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", out
    )
    traffic = re.search(r"traffic: \S+ \((\d+)\) total", out)
    if done.returncode != 0 or not finished or not counts or not traffic or not durations:
        print(out + done.stderr, file=sys.stderr)
        return 1
    duration = float(finished.group(1)) / (1000 if finished.group(2) == "ms" else 1)
    requests = int(counts.group(3))  # succeeded
    total_bytes = int(traffic.group(1))
    durations.sort()

    def pct(fraction: float) -> int:
        return durations[max(0, int(fraction * len(durations) + 0.999999) - 1)]

    report = {
        "requests": requests,
        "bytes": total_bytes,
        "duration_s": duration,
        "rps": requests / duration,
        "bytes_per_s": total_bytes / duration,
        "p50_us": pct(0.5),
        "p90_us": pct(0.9),
        "p99_us": pct(0.99),
        "max_us": durations[-1],
        "mean_us": statistics.fmean(durations),
        "err_failed": int(counts.group(4)),
        "err_errored": int(counts.group(5)),
    }
    print("BENCH_JSON " + json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
