"""CPU cost of the HPACK codec (`httpsys._core.hpack`) against the `hpack` library on the same blocks (decision 0029).

Responsibility: time N decodes/encodes of four typical cases by CPU time (`process_time`, so a loaded machine
changes the figures little) and print microseconds per operation for both codecs. It runs whichever httpsys is
importable (the native wheel in build/venv-native, or the source). It must not be a test: nothing here asserts.

usage: python bench/hpack_codec.py [--rounds 20000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import hpack as hpack_library

import httpsys._core.hpack as ours

Fields = list[tuple[bytes, bytes]]

# h2load's first request on a connection (nghttp2 indexes :authority and user-agent, Huffman-coded), then the
# same request again: all five fields indexed.
H2LOAD_REQUEST: Fields = [
    (b":method", b"GET"),
    (b":scheme", b"http"),
    (b":authority", b"127.0.0.1:8080"),
    (b":path", b"/"),
    (b"user-agent", b"h2load nghttp2/1.59.0"),
]
# a browser's first request: a dozen fields, long values, a cookie
BROWSER_REQUEST: Fields = [
    (b":method", b"GET"),
    (b":authority", b"www.example.com"),
    (b":scheme", b"https"),
    (b":path", b"/articles/2026/12/hpack-in-python?ref=home"),
    (b"sec-ch-ua", b'"Chromium";v="131", "Not_A Brand";v="24"'),
    (b"sec-ch-ua-mobile", b"?0"),
    (b"sec-ch-ua-platform", b'"Linux"'),
    (b"upgrade-insecure-requests", b"1"),
    (
        b"user-agent",
        b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    ),
    (b"accept", b"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"),
    (b"sec-fetch-site", b"same-origin"),
    (b"sec-fetch-mode", b"navigate"),
    (b"sec-fetch-dest", b"document"),
    (b"referer", b"https://www.example.com/"),
    (b"accept-encoding", b"gzip, deflate, br, zstd"),
    (b"accept-language", b"en-US,en;q=0.9"),
    (b"cookie", b"session=3f1c2a9b8e7d6c5b4a39281706f5e4d3; theme=dark"),
]
RESPONSE: Fields = [
    (b":status", b"200"),
    (b"content-type", b"text/plain"),
    (b"server", b"Microsoft-HTTPAPI/2.0"),
    (b"date", b"Mon, 07 Dec 2026 22:50:00 GMT"),
    (b"content-length", b"13"),
]


def per_op(rounds: int, operation: Callable[[], object]) -> float:
    """Microseconds of CPU time per call of `operation`."""
    start = time.process_time()
    for _ in range(rounds):
        operation()
    return (time.process_time() - start) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20000)
    rounds = parser.parse_args().rounds

    first_h2load = hpack_library.Encoder()
    h2load_first = first_h2load.encode(H2LOAD_REQUEST)
    h2load_repeat = first_h2load.encode(H2LOAD_REQUEST)
    browser_first = hpack_library.Encoder().encode(BROWSER_REQUEST)

    def ours_decode_fresh(block: bytes) -> Callable[[], object]:
        return lambda: ours.HpackDecoder().decode(block)

    def theirs_decode_fresh(block: bytes) -> Callable[[], object]:
        return lambda: hpack_library.Decoder().decode(block, raw=True)

    primed_ours = ours.HpackDecoder()
    primed_ours.decode(h2load_first)
    primed_theirs = hpack_library.Decoder()
    primed_theirs.decode(h2load_first, raw=True)

    encoder_ours = ours.HpackEncoder()
    encoder_ours.encode(RESPONSE)
    encoder_theirs = hpack_library.Encoder()
    encoder_theirs.encode(RESPONSE)
    dates = [
        (b"date", f"Mon, 07 Dec 2026 22:{i // 60 % 60:02d}:{i % 60:02d} GMT".encode()) for i in range(3600)
    ]
    changing = [[*RESPONSE[:3], date, RESPONSE[4]] for date in dates]
    counter = [0]

    def next_changing() -> Fields:
        counter[0] += 1
        return changing[counter[0] % len(changing)]

    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        (
            f"decode h2load first request ({len(h2load_first)} B, fresh decoder)",
            ours_decode_fresh(h2load_first),
            theirs_decode_fresh(h2load_first),
        ),
        (
            f"decode h2load repeat request ({len(h2load_repeat)} B, all indexed)",
            lambda: primed_ours.decode(h2load_repeat),
            lambda: primed_theirs.decode(h2load_repeat, raw=True),
        ),
        (
            f"decode browser first request ({len(browser_first)} B, fresh decoder)",
            ours_decode_fresh(browser_first),
            theirs_decode_fresh(browser_first),
        ),
        (
            "encode response, same head again",
            lambda: encoder_ours.encode(RESPONSE),
            lambda: encoder_theirs.encode(RESPONSE),
        ),
        (
            "encode response, a new date each time",
            lambda: encoder_ours.encode(next_changing()),
            lambda: encoder_theirs.encode(next_changing()),
        ),
        (
            "encode response, fresh encoder",
            lambda: ours.HpackEncoder().encode(RESPONSE),
            lambda: hpack_library.Encoder().encode(RESPONSE),
        ),
    ]
    compiled = ours.__file__.endswith(".so")
    print(
        f"httpsys._core.hpack: {'compiled' if compiled else 'interpreted'} ({ours.__file__}); {rounds} rounds"
    )
    print(f"{'case':58} {'ours µs':>9} {'hpack µs':>9} {'ratio':>7}")
    for name, mine, theirs in cases:
        ours_us = per_op(rounds, mine)
        theirs_us = per_op(rounds, theirs)
        print(f"{name:58} {ours_us:9.2f} {theirs_us:9.2f} {theirs_us / ours_us:6.1f}x")


if __name__ == "__main__":
    main()
