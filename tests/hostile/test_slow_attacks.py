"""Slow and flooding attacks against a live driver with 2-second timers, while a probe client is served.

Our own asyncio clients run slowloris (HeaderWait), CRLF trickles (IdleConnection), slow POST (EntityBody is an
inactivity timer: a trickling body survives, a stalled one is reset), slow read (MinSendRate) and a connection
flood up to the global connection cap; slowhttptest runs the same three slow attacks when it is installed
(scripts/install-test-tools.sh). Each attack is bounded in count and time. A probe sends one normal request on a
fresh connection every 50 ms throughout; its p99 latency under attack is printed beside the baseline, written to
bench/results/attacks.json and must stay under 1 s. The `soak` versions run longer and wider (HTTPSYS_SOAK=1).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from hostile.attackers import (
    AttackRun,
    Ended,
    Prober,
    baseline,
    empty_lines,
    latency_summary,
    silent,
    slow_post,
    slowloris,
)
from hostile.loopback import LoopbackServer, probe, start_server
from httpsys._core.records import RequestSnapshot
from httpsys._core.settings import DriverSettings
from httpsys._core.timers import TimeoutLimits

pytestmark = pytest.mark.attacks

TIMER = 2  # HeaderWait, IdleConnection, EntityBody, DrainEntityBody (seconds)
MIN_SEND_RATE = 20_000  # bytes/s, so a slow reader of a 1 MiB response is caught within seconds
BIG = b"b" * (8 << 20)  # more than the kernel buffers a socket can absorb (tcp_wmem max 4 MiB)
P99_BOUND_MS = 1000.0
REPORT = Path(__file__).resolve().parents[2] / "bench" / "results" / "attacks.json"
SLOWHTTPTEST = shutil.which("slowhttptest")
needs_slowhttptest = pytest.mark.skipif(
    SLOWHTTPTEST is None,
    reason="slowhttptest is not installed: run scripts/install-test-tools.sh (make test-attacks)",
)


def attack_app(server: LoopbackServer, snapshot: RequestSnapshot) -> None:
    """/big: 8 MiB; /upload: read the whole body on a thread of its own (so slow uploads do not starve the
    other requests), then answer; anything else: a short answer without reading a body."""
    if snapshot.raw_url.startswith(b"/upload"):

        def upload() -> None:
            body, complete = server.read_body(snapshot.request_id, timeout=60.0)
            server.record(snapshot, body, complete)
            if complete:
                server.respond(snapshot.request_id, body=b"stored")

        threading.Thread(target=upload, daemon=True).start()
    elif snapshot.raw_url.startswith(b"/big"):  # the send completes only when flushed: a thread of its own
        threading.Thread(target=server.respond, args=(snapshot.request_id, 200, BIG), daemon=True).start()
    else:
        server.respond(snapshot.request_id, body=b"ok")


def attack_server(max_connections: int = 2000) -> LoopbackServer:
    settings = DriverSettings(
        header_wait_timeout=TIMER, idle_connection_timeout=TIMER, max_connections=max_connections
    )
    timeouts = TimeoutLimits(
        entity_body=TIMER,
        drain_entity_body=TIMER,
        header_wait=TIMER,
        idle_connection=TIMER,
        min_send_rate=MIN_SEND_RATE,
    )
    return start_server(settings, timeouts, handler=attack_app, threads=8)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    srv = attack_server()
    try:
        yield srv
    finally:
        srv.close()


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def reasons(server: LoopbackServer) -> Counter[str]:
    """HTTPERR events by reason (the driver's counters: the in-memory log keeps only the last 10,000)."""
    return Counter(server.transport.statistics())


def report(name: str, base: dict[str, float], under: dict[str, float], **extra: object) -> None:
    """Print the probe latencies and merge them into bench/results/attacks.json."""
    print(
        f"\n[{name}] probe p50/p99 baseline {base['p50_ms']}/{base['p99_ms']} ms, "
        f"under attack {under['p50_ms']}/{under['p99_ms']} ms ({under['probes']} probes, "
        f"{under['failures']} failed) {extra}"
    )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = json.loads(REPORT.read_text())
    except (OSError, ValueError):
        data = {}
    data.setdefault("attacks", {})[name] = {"baseline": base, "under_attack": under, **extra}
    data["generated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    data["timers_seconds"] = TIMER
    data["min_send_rate"] = MIN_SEND_RATE
    REPORT.write_text(json.dumps(data, indent=2, sort_keys=True))


def run_attack(
    server: LoopbackServer, attack: AttackRun
) -> tuple[list[Ended], dict[str, float], dict[str, float]]:
    """Baseline probes, then the attack with probes throughout: (how each connection ended, baseline, under)."""
    base = baseline(server.port, 0.4)
    prober = Prober(server.port).start()
    results = attack.start().join()
    under = latency_summary(prober.stop())
    return results, base, under


def assert_probe_served(under: dict[str, float]) -> None:
    assert under["failures"] == 0, under
    assert under["p99_ms"] < P99_BOUND_MS, under


def assert_recovered(server: LoopbackServer) -> None:
    """After the attack: nothing left in the driver's tables, and a normal request is answered."""
    stats = server.wait_idle(timeout=TIMER + 4)
    assert (stats["connections"], stats["requests_in_flight"], stats["queued"]) == (0, 0, 0), stats
    assert probe(server.port)[0] == 200
    assert server.exceptions == []


def ends(results: list[Ended]) -> Counter[str]:
    return Counter(r.how for r in results)


# ================================================================================================ our clients
def test_slowloris_heads_are_reset_by_header_wait_while_the_probe_is_served(server: LoopbackServer) -> None:
    count = 200
    results, base, under = run_attack(
        server, AttackRun(server.port, count, duration=TIMER + 2.5, attack=slowloris(0.4))
    )
    assert ends(results) == {"reset": count}
    assert all(TIMER - 0.5 <= r.after <= TIMER + 1.5 for r in results), sorted(r.after for r in results)[-3:]
    assert reasons(server)["Timer_HeaderWait"] == count
    assert_probe_served(under)
    report("slowloris", base, under, connections=count, ended=dict(ends(results)))
    assert_recovered(server)


def test_a_crlf_trickle_is_reset_by_idle_connection(server: LoopbackServer) -> None:
    count = 50
    results, base, under = run_attack(
        server, AttackRun(server.port, count, duration=TIMER + 2.5, attack=empty_lines(0.4))
    )
    assert ends(results) == {"reset": count}
    assert all(r.after <= TIMER + 1.5 for r in results)
    assert reasons(server)["Timer_ConnectionIdle"] == count
    assert_probe_served(under)
    report("crlf_trickle", base, under, connections=count, ended=dict(ends(results)))
    assert_recovered(server)


def test_slow_post_survives_while_trickling_and_is_reset_once_the_body_stalls(server: LoopbackServer) -> None:
    count = 100
    trickle = TIMER + 1.0  # longer than EntityBody: survives, since each byte re-arms it (HTTP.sys semantics)
    results, base, under = run_attack(
        server,
        AttackRun(
            server.port, count, duration=trickle + TIMER + 3, attack=slow_post(0.4, stop_after=trickle)
        ),
    )
    assert ends(results) == {"reset": count}
    assert all(trickle + TIMER - 0.6 <= r.after <= trickle + TIMER + 1.5 for r in results), sorted(
        r.after for r in results
    )[:3]
    assert reasons(server)["Timer_EntityBody"] == count
    assert_probe_served(under)
    time.sleep(0.3)
    uploads = [r for r in server.records if r.target == b"/upload"]
    assert len(uploads) == count and not any(r.complete for r in uploads)
    report("slow_post", base, under, connections=count, ended=dict(ends(results)))
    assert_recovered(server)


def test_slow_read_is_reset_by_min_send_rate_and_memory_stays_bounded(server: LoopbackServer) -> None:
    count = 10
    before = rss_kib()
    results, base, under = run_attack(
        server,
        AttackRun(server.port, count, duration=5.0, slow_read=(b"/big", 16, 0.25), rate=50),
    )
    grown_mib = (rss_kib() - before) / 1024
    # the client may still be reading what its kernel buffered when the reset came: judge on the server's side
    assert "refused" not in ends(results)
    assert reasons(server)["Timer_MinBytesPerSecond"] == count, reasons(server)
    assert grown_mib < 150, grown_mib  # the queued responses themselves (10 x 8 MiB at most) plus slack
    assert_probe_served(under)
    report(
        "slow_read",
        base,
        under,
        connections=count,
        ended=dict(ends(results)),
        rss_growth_mib=round(grown_mib, 1),
    )
    assert_recovered(server)


def test_a_connection_flood_up_to_the_cap_leaves_room_for_the_probe_and_beyond_it_is_refused() -> None:
    cap = 64
    server = attack_server(max_connections=cap)
    try:
        flood = cap - 4
        results, base, under = run_attack(
            server, AttackRun(server.port, flood, duration=TIMER + 2.5, attack=silent())
        )
        assert ends(results) == {"reset": flood}
        assert reasons(server)["Timer_ConnectionIdle"] == flood
        assert_probe_served(under)
        # beyond the cap: the excess is refused at once (reset, ConnLimit), the probe never hangs
        prober = Prober(server.port).start()
        over = AttackRun(server.port, cap + 36, duration=TIMER + 2.5, attack=silent()).start().join()
        beyond = prober.stop()
        refused = [r for r in over if r.after < 0.5 and r.how in ("reset", "refused")]
        assert len(refused) >= 36
        assert server.transport.statistics()["Connections_refused"] >= 36
        assert max(seconds for _when, _status, seconds in beyond) < P99_BOUND_MS / 1000
        report(
            "connection_flood",
            base,
            under,
            cap=cap,
            flood=flood,
            beyond_cap=dict(ends(over)),
            beyond_cap_probe=latency_summary(beyond),
        )
        assert_recovered(server)
    finally:
        server.close()


# ================================================================================================ slowhttptest
def slowhttptest(args: list[str], seconds: int) -> subprocess.CompletedProcess[str]:
    assert SLOWHTTPTEST is not None
    return subprocess.run(
        [SLOWHTTPTEST, *args, "-l", str(seconds), "-p", "2"],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    )


def run_slowhttptest(
    server: LoopbackServer, args: list[str], seconds: int
) -> tuple[dict[str, float], dict[str, float]]:
    base = baseline(server.port, 0.4)
    prober = Prober(server.port).start()
    done = slowhttptest(args, seconds)
    under = latency_summary(prober.stop())
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return base, under


@needs_slowhttptest
def test_slowhttptest_slowloris(server: LoopbackServer) -> None:
    url = f"http://127.0.0.1:{server.port}/"
    base, under = run_slowhttptest(server, ["-H", "-c", "200", "-r", "200", "-i", "1", "-u", url], 5)
    assert reasons(server)["Timer_HeaderWait"] >= 150
    assert_probe_served(under)
    report("slowhttptest_slowloris", base, under, connections=200)
    assert_recovered(server)


@needs_slowhttptest
def test_slowhttptest_slow_body(server: LoopbackServer) -> None:
    url = f"http://127.0.0.1:{server.port}/upload"
    base, under = run_slowhttptest(
        server, ["-B", "-c", "100", "-r", "100", "-i", "1", "-s", "100000", "-u", url], 4
    )
    assert reasons(server)["Timer_EntityBody"] == 0  # a body trickling faster than EntityBody survives
    assert_probe_served(under)
    report("slowhttptest_slow_body", base, under, connections=100)
    assert_recovered(server)


@needs_slowhttptest
def test_slowhttptest_slow_read(server: LoopbackServer) -> None:
    url = f"http://127.0.0.1:{server.port}/big"
    base, under = run_slowhttptest(
        server,
        ["-X", "-c", "10", "-r", "10", "-w", "1", "-y", "16", "-n", "1", "-z", "8", "-k", "1", "-u", url],
        5,
    )
    assert reasons(server)["Timer_MinBytesPerSecond"] >= 5
    assert_probe_served(under)
    report("slowhttptest_slow_read", base, under, connections=10)
    assert_recovered(server)


# ================================================================================================ soak
@pytest.mark.soak
def test_soak_slowloris_waves_and_slow_post_for_a_minute() -> None:
    """Slowloris in waves of 1,000 connections (each wave reset by HeaderWait, the next one opened at once)
    beside 300 slow POSTs trickling for the whole minute."""
    server = attack_server()
    try:
        base = baseline(server.port, 1.0)
        prober = Prober(server.port, interval=0.1).start()
        post = AttackRun(server.port, 300, duration=60.0, attack=slow_post(1.0), rate=100).start()
        waves: list[Ended] = []
        until = time.monotonic() + 60.0
        while time.monotonic() < until:
            waves += (
                AttackRun(server.port, 1000, duration=TIMER + 3, attack=slowloris(1.0), rate=500)
                .start()
                .join()
            )
        post_results = post.join(120)
        under = latency_summary(prober.stop())
        assert ends(waves) == {"reset": len(waves)}
        assert reasons(server)["Timer_HeaderWait"] == len(waves)
        assert ends(post_results) == {
            "open": 300
        }  # trickling bodies survive (EntityBody is inactivity-based)
        assert_probe_served(under)
        report(
            "soak_slowloris_waves_and_slow_post", base, under, slowloris=len(waves), slow_post=300, seconds=60
        )
        assert_recovered(server)
    finally:
        server.close()


@pytest.mark.soak
@needs_slowhttptest
def test_soak_slowhttptest_slowloris_for_a_minute(server: LoopbackServer) -> None:
    url = f"http://127.0.0.1:{server.port}/"
    base, under = run_slowhttptest(server, ["-H", "-c", "1000", "-r", "200", "-i", "1", "-u", url], 60)
    assert reasons(server)["Timer_HeaderWait"] >= 900
    assert_probe_served(under)
    report("soak_slowhttptest_slowloris", base, under, connections=1000, seconds=60)
    assert_recovered(server)


def test_attack_durations_are_bounded() -> None:
    assert os.environ.get("HTTPSYS_SOAK") in (None, "", "0", "1")
    assert TIMER <= 2 and P99_BOUND_MS <= 1000
