"""`httpsys demo` (what `make run` starts): the demo site shipped in the package, plus live driver statistics.

Responsibility: serve `httpsys/cli/site/` with the static file responder (directory listings on), and answer
`_stats` (an HTML page that refreshes every 2 s) and `_stats.json` below the URL prefix with the driver's counters
grouped for reading: live gauges, canned responses by status, timer expiries, other HTTPERR events. It must not
compute statistics: the driver counts, this module only presents them.
"""

from __future__ import annotations

import html
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from httpsys import __version__
from httpsys.aio import Request
from httpsys.cli.options import ServerOptions
from httpsys.cli.serve import host_site
from httpsys.cli.static_files import StaticFiles

GAUGES = ("connections", "requests_in_flight", "queued", "listeners")
_NO_STORE = ("Cache-Control", "no-store")


@contextmanager
def site_directory() -> Iterator[Path]:
    """The demo site as a real directory (a temporary copy only if the package is zipped)."""
    with resources.as_file(resources.files("httpsys.cli") / "site") as path:
        yield Path(path)


def group_statistics(stats: dict[str, int]) -> dict[str, Any]:
    """The driver's flat counters grouped for display: gauges, canned responses, timers, other events.

    >>> group_statistics({"connections": 2, "canned_400": 1, "Timer_ConnectionIdle": 3, "URL": 1})["canned_responses"]
    {'400': 1}
    """
    grouped: dict[str, Any] = {name: int(stats.get(name, 0)) for name in GAUGES}
    canned: dict[str, int] = {}
    timers: dict[str, int] = {}
    events: dict[str, int] = {}
    for name, value in sorted(stats.items()):
        if name in GAUGES:
            continue
        if name.startswith("canned_"):
            canned[name.removeprefix("canned_")] = int(value)
        elif name.startswith("Timer_"):
            timers[name] = int(value)
        else:
            events[name] = int(value)
    grouped["canned_responses"] = canned
    grouped["timer_expiries"] = timers
    grouped["events"] = events
    return grouped


class DemoSite:
    """The demo's request handler: `_stats`, `_stats.json`, everything else from the site directory."""

    def __init__(self, files: StaticFiles, statistics: Callable[[], dict[str, int]]) -> None:
        self.files = files
        self.statistics = statistics
        self.started = time.monotonic()
        self.answered: Counter[int] = Counter()

    def snapshot(self) -> dict[str, Any]:
        """Everything `_stats.json` shows."""
        return {
            "httpsys": __version__,
            "uptime_seconds": round(time.monotonic() - self.started, 1),
            "driver": group_statistics(self.statistics()),
            "demo": {
                "requests": sum(self.answered.values()),
                "by_status": {str(status): n for status, n in sorted(self.answered.items())},
            },
        }

    async def __call__(self, request: Request, segments: list[str]) -> int:
        if segments == ["_stats.json"]:
            body = json.dumps(self.snapshot(), indent=2).encode() + b"\n"
            status = await self._answer(request, [("Content-Type", "application/json"), _NO_STORE], body)
        elif segments == ["_stats"]:
            body = render_stats_page(self.snapshot())
            status = await self._answer(
                request, [("Content-Type", "text/html; charset=utf-8"), _NO_STORE], body
            )
        else:
            status = await self.files.respond(request, segments)
        self.answered[status] += 1
        return status

    @staticmethod
    async def _answer(request: Request, headers: list[tuple[str, str]], body: bytes) -> int:
        if request.method == "HEAD":
            await request.respond(200, [*headers, ("Content-Length", str(len(body)))])
        elif request.method == "GET":
            await request.respond(200, headers, body)
        else:
            await request.respond(405, [("Allow", "GET, HEAD")])
            return 405
        return 200


def _table(title: str, rows: dict[str, int], empty: str) -> str:
    lines = [f"<section><h2>{html.escape(title)}</h2>"]
    if not rows:
        lines.append(f"<p>{html.escape(empty)}</p></section>")
        return "".join(lines)
    lines.append("<table>")
    for name, value in rows.items():
        lines.append(f'<tr><td>{html.escape(name)}</td><td class="n">{value:,}</td></tr>')
    lines.append("</table></section>")
    return "".join(lines)


def render_stats_page(snapshot: dict[str, Any]) -> bytes:
    """The `_stats` HTML page (refreshes itself every 2 s)."""
    driver = snapshot["driver"]
    gauges = {
        "open connections": driver["connections"],
        "requests in flight": driver["requests_in_flight"],
        "queued (not yet received)": driver["queued"],
        "listening ports": driver["listeners"],
    }
    demo = snapshot["demo"]
    answered = {
        "requests answered": demo["requests"],
        **{f"status {k}": v for k, v in demo["by_status"].items()},
    }
    canned = {f"{status}": n for status, n in driver["canned_responses"].items()}
    body = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="refresh" content="2">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>httpsys — driver statistics</title>"
        '<link rel="stylesheet" href="style.css"></head>\n<body>'
        '<header><img src="logo.svg" alt="" width="48" height="48"><div><h1>Driver statistics</h1>'
        f'<p class="tagline">httpsys {html.escape(str(snapshot["httpsys"]))}, up '
        f"{snapshot['uptime_seconds']:.0f} s — refreshes every 2 s — "
        '<a href="_stats.json">JSON</a> — <a href="./">home</a></p></div></header>\n'
        '<main class="grid">'
        + _table("Now", gauges, "")
        + _table("Demo application", answered, "")
        + _table("Canned responses by status", canned, "none yet: the driver has refused nothing")
        + _table("Timer expiries", driver["timer_expiries"], "none yet")
        + _table("Other driver events (HTTPERR reasons)", driver["events"], "none yet")
        + "</main></body></html>\n"
    )
    return body.encode("utf-8")


async def serve_demo(options: ServerOptions) -> int:
    """`httpsys demo`: the site with live statistics on the options' URL prefixes (default the loopback :8080)."""
    with site_directory() as root:
        files = StaticFiles(root, listing=True)
        banner = f"httpsys demo serving {', '.join(options.urls)} — Ctrl+C to stop"
        return await host_site(options, lambda transport: DemoSite(files, transport.statistics), banner)
