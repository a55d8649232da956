"""Hypothesis fuzzing of the URL canonicalizer (httpsys._core.canonical.cook_url), pure, no I/O.

For arbitrary and structured request-targets and Host values, under every combination of the registry switches:
cook_url returns a consistent HTTP_COOKED_URL or raises RequestRejected (never anything else); a cooked path
starts with '/', has no dot segments, no backslash, no restricted characters unless allowed, respects the
segment limits, and cooking it again (re-encoded) gives the same path.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.invariants import check_cooked
from httpsys._core.canonical import UrlSettings

EXAMPLES = int(os.environ.get("HTTPSYS_FUZZ_EXAMPLES", "300"))
FUZZING = "HTTPSYS_FUZZ_EXAMPLES" in os.environ
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not FUZZING,
    database=None if not FUZZING else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow],
)

PIECES = [
    b"/",
    b"//",
    b".",
    b"..",
    b"%2e",
    b"%2E%2e",
    b"%2f",
    b"%5c",
    b"\\",
    b"%00",
    b"%0d%0a",
    b"%7f",
    b"%c2%85",
    b"%",
    b"%4",
    b"%zz",
    b"%u002e",
    b"%U002F",
    b"%ud800",
    b"%ud83d%ude00",
    b"%udc00",
    b"%c3%a9",
    b"%c3",
    b"%e9",
    b"%ff",
    b"\xc3\xa9",
    b"\xe9",
    b"?",
    b"#",
    b"a",
    b"seg",
    b" ",
    b"\t",
    b"*",
    b":",
    b"@",
]
PREFIXES = [
    b"",
    b"/",
    b"http://a",
    b"http://a:80",
    b"HTTPS://A.",
    b"ftp://a",
    b"http://",
    b"http://u@a",
    b"http://[::1]",
]
HOSTS = [
    None,
    b"",
    b"a",
    b"a:80",
    b"A.B.",
    b"[::1]:8080",
    b"[::1",
    b"a b",
    b"a:0",
    b"a:99999",
    b"\xc3\xa9",
    b"a..b",
    b"_x",
]

url_settings = st.builds(
    UrlSettings,
    percent_u_allowed=st.booleans(),
    allow_restricted_chars=st.booleans(),
    enable_non_utf8=st.booleans(),
    favor_utf8=st.booleans(),
    url_segment_max_length=st.sampled_from([0, 3, 260]),
    url_segment_max_count=st.sampled_from([0, 2, 255]),
    max_url_length=st.sampled_from([0, 64, 16384]),
)
structured_targets = st.builds(
    lambda prefix, pieces: prefix + b"".join(pieces),
    st.sampled_from(PREFIXES),
    st.lists(st.sampled_from(PIECES), max_size=12),
)


@FUZZ
@given(structured_targets, st.sampled_from(HOSTS), url_settings)
def test_structured_targets_cook_consistently_or_are_rejected(
    raw: bytes, host: bytes | None, s: UrlSettings
) -> None:
    check_cooked(raw, host, s)


@FUZZ
@given(st.binary(max_size=200), st.one_of(st.none(), st.binary(max_size=40)), url_settings)
def test_arbitrary_bytes_cook_consistently_or_are_rejected(
    raw: bytes, host: bytes | None, s: UrlSettings
) -> None:
    check_cooked(raw, host, s)


@FUZZ
@given(st.text(max_size=40))
def test_any_unicode_path_percent_encoded_cooks_back_to_itself_or_is_rejected(text: str) -> None:
    raw = b"/" + "".join(f"%{b:02X}" for b in text.encode("utf-8", "surrogatepass")).encode()
    cooked = check_cooked(raw, b"a", UrlSettings())
    if cooked is not None and "/." not in "/" + text and "\\" not in text and "/" not in text:
        assert cooked.abs_path == "/" + text
