"""Byte-range processing for HTTP_SEND_RESPONSE_FLAG_PROCESS_RANGES (spec §5.9, reliability §1.1).

Responsibility: decide what a GET's `Range` / `If-Range` mean for a full entity the app passed (RFC 9110 §14),
and lay out the 206 body (single part or multipart/byteranges) as prefix bytes plus entity slices, so the
driver can emit the slices from memory or from file regions with sendfile. It must not perform I/O or touch
the entity bytes, and it must never convert an unbounded digit string with int() (MS15-034).

The driver applies ranges only when PROCESS_RANGES is set and the whole entity is in the final send (no
MORE_DATA) and the app did not frame its own chunks; otherwise the response goes out as given.

Decisions where HTTP.sys is silent or "limited":
* Anything not understood (no Range, non-GET, status other than 200, unknown unit, syntax error, a first-pos
  after its last-pos, an empty range set) ⇒ FullEntity: ignoring Range is always allowed (RFC 9110 §14.2).
* More than MAX_RANGE_SPECS non-empty specs ⇒ FullEntity (DoS guard, CVE-2011-3192 class).
* Overlapping and adjacent ranges are coalesced; the merged range takes the place of the earliest member.
* A last-pos at or beyond the end is clamped to length-1; a suffix longer than the entity selects all of it.
* Zero-length entity: a non-zero suffix range ⇒ FullEntity (an empty range has no Content-Range form),
  anything else ⇒ Unsatisfiable.
* If-Range: an entity-tag matches only by strong comparison with a strong ETag; a date matches only when it is
  byte-for-byte the Last-Modified value; anything else ⇒ FullEntity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from httpsys._core.response import ResponseSpec

__all__ = [
    "FULL_ENTITY",
    "MAX_RANGE_SPECS",
    "PARTIAL_CONTENT_REASON",
    "RANGE_NOT_SATISFIABLE_REASON",
    "FullEntity",
    "RangeDecision",
    "RangedBody",
    "Satisfiable",
    "Unsatisfiable",
    "evaluate_range",
    "plan_ranged_body",
    "ranged_response",
    "unsatisfiable_response",
]

MAX_RANGE_SPECS = 16
PARTIAL_CONTENT_REASON = b"Partial Content"
RANGE_NOT_SATISFIABLE_REASON = b"Requested Range Not Satisfiable"

_OWS = b" \t"
_MIN_HUGE_DIGITS = 19  # numbers with more significant digits are "beyond any entity", never converted
_BOUNDARY = re.compile(rb"[0-9A-Za-z'()+_,\-./:=?]{1,70}")

_ID_CONTENT_LENGTH = 11
_ID_CONTENT_TYPE = 12
_ID_CONTENT_RANGE = 17


@dataclass(frozen=True, slots=True)
class FullEntity:
    """Ignore Range: send the app's 200 as is."""


FULL_ENTITY = FullEntity()


@dataclass(frozen=True, slots=True)
class Satisfiable:
    """206: inclusive (start, end) byte ranges, coalesced, in request order, all within [0, entity_length)."""

    ranges: list[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Unsatisfiable:
    """416 with `Content-Range: bytes */<entity_length>`."""

    entity_length: int


RangeDecision = FullEntity | Satisfiable | Unsatisfiable


def _parse_position(text: bytes, huge: int, max_digits: int) -> int:
    """A 1*DIGIT value, `huge` when it has more than max_digits significant digits, -1 when not 1*DIGIT."""
    if not text or not text.isdigit():
        return -1
    significant = text.lstrip(b"0")
    if len(significant) > max_digits:
        return huge
    return int(significant) if significant else 0


def _if_range_matches(if_range: bytes, etag: bytes | None, last_modified: bytes | None) -> bool:
    validator = if_range.strip(_OWS)
    if validator.startswith(b"W/"):
        return False  # a weak tag never passes the strong comparison If-Range requires
    if validator.startswith(b'"'):
        if etag is None:
            return False
        current = etag.strip(_OWS)
        return not current.startswith(b"W/") and len(validator) >= 2 and current == validator
    if not validator or last_modified is None:
        return False
    return last_modified.strip(_OWS) == validator


def _coalesce(specs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping or adjacent ranges; each merge lands on the earliest member's position."""
    merged: list[tuple[int, int]] = []
    for start, end in specs:
        touching = [i for i, (s, e) in enumerate(merged) if start <= e + 1 and s <= end + 1]
        if not touching:
            merged.append((start, end))
            continue
        for i in touching:
            s, e = merged[i]
            start = min(start, s)
            end = max(end, e)
        first = touching[0]
        merged[first] = (start, end)
        for i in reversed(touching[1:]):
            del merged[i]
    return merged


def evaluate_range(
    range_header: bytes | None,
    if_range: bytes | None,
    *,
    method: bytes,
    status: int,
    entity_length: int,
    etag: bytes | None,
    last_modified: bytes | None,
) -> RangeDecision:
    """What the request's Range means for a full entity of entity_length bytes (see the module docstring)."""
    if range_header is None or method != b"GET" or status != 200 or entity_length < 0:
        return FULL_ENTITY
    if if_range is not None and not _if_range_matches(if_range, etag, last_modified):
        return FULL_ENTITY
    unit, equals, range_set = range_header.strip(_OWS).partition(b"=")
    if not equals or unit.strip(_OWS).lower() != b"bytes":
        return FULL_ENTITY

    max_digits = max(_MIN_HUGE_DIGITS, len(str(entity_length)))
    huge = 10**max_digits  # larger than any value kept exact, so comparisons with entity_length stay right
    last_index = entity_length - 1
    satisfiable: list[tuple[int, int]] = []
    count = 0
    zero_length_suffix = False
    for element in range_set.split(b","):
        element = element.strip(_OWS)
        if not element:
            continue  # empty list elements are allowed (RFC 9110 §5.6.1)
        count += 1
        if count > MAX_RANGE_SPECS:
            return FULL_ENTITY
        first_text, dash, last_text = element.partition(b"-")
        if not dash:
            return FULL_ENTITY
        first_text = first_text.strip(_OWS)
        last_text = last_text.strip(_OWS)
        if first_text:
            first = _parse_position(first_text, huge, max_digits)
            if first < 0:
                return FULL_ENTITY
            if last_text:
                last = _parse_position(last_text, huge, max_digits)
                if last < 0 or last < first:
                    return FULL_ENTITY
            else:
                last = huge
            if first > last_index:
                continue  # this spec is unsatisfiable; others may still be
            satisfiable.append((first, min(last, last_index)))
        else:
            suffix = _parse_position(last_text, huge, max_digits)
            if suffix < 0:
                return FULL_ENTITY
            if suffix == 0:
                continue
            if entity_length == 0:
                zero_length_suffix = True
                continue
            satisfiable.append((max(entity_length - suffix, 0), last_index))
    if count == 0:
        return FULL_ENTITY
    if not satisfiable:
        return FULL_ENTITY if zero_length_suffix else Unsatisfiable(entity_length)
    return Satisfiable(_coalesce(satisfiable))


@dataclass(frozen=True, slots=True)
class RangedBody:
    """The 206 to send instead of the app's 200.

    headers: known header ids and values to set (Content-Range for one range; Content-Type
    multipart/byteranges for several). parts: (prefix bytes, start, end_exclusive) — emit the prefix, then
    entity[start:end_exclusive]. epilogue: bytes after the last part (closing delimiter; b"" for one range).
    content_length: the exact total of all prefixes, slices and the epilogue.
    """

    status: int
    reason: bytes
    headers: list[tuple[int, bytes]]
    content_length: int
    parts: list[tuple[bytes, int, int]]
    epilogue: bytes


def plan_ranged_body(
    decision: Satisfiable, *, entity_length: int, content_type: bytes | None, boundary: bytes
) -> RangedBody:
    """Lay out the 206 body (RFC 9110 §14.6 for several ranges). The boundary comes from the caller (random).

    Each multipart part is `\\r\\n--B\\r\\n[Content-Type: T\\r\\n]Content-Range: bytes a-b/len\\r\\n\\r\\n`
    followed by the slice; the epilogue is `\\r\\n--B--\\r\\n`. Raises ValueError for a boundary that is not 1..70
    boundary characters (a driver bug, not an app error).
    """
    ranges = decision.ranges
    if len(ranges) == 1:
        start, end = ranges[0]
        return RangedBody(
            status=206,
            reason=PARTIAL_CONTENT_REASON,
            headers=[(_ID_CONTENT_RANGE, b"bytes %d-%d/%d" % (start, end, entity_length))],
            content_length=end - start + 1,
            parts=[(b"", start, end + 1)],
            epilogue=b"",
        )
    if _BOUNDARY.fullmatch(boundary) is None:
        raise ValueError("multipart boundary must be 1..70 boundary characters")
    delimiter = b"\r\n--" + boundary + b"\r\n"
    part_head = delimiter + (b"Content-Type: " + content_type + b"\r\n" if content_type else b"")
    parts: list[tuple[bytes, int, int]] = []
    total = 0
    for start, end in ranges:
        prefix = part_head + b"Content-Range: bytes %d-%d/%d\r\n\r\n" % (start, end, entity_length)
        parts.append((prefix, start, end + 1))
        total += len(prefix) + end - start + 1
    epilogue = b"\r\n--" + boundary + b"--\r\n"
    total += len(epilogue)
    return RangedBody(
        status=206,
        reason=PARTIAL_CONTENT_REASON,
        headers=[(_ID_CONTENT_TYPE, b"multipart/byteranges; boundary=" + boundary)],
        content_length=total,
        parts=parts,
        epilogue=epilogue,
    )


_REPLACED_BY_RANGES = frozenset({b"content-length", b"content-range"})
_REPLACED_BY_MULTIPART = frozenset({b"content-length", b"content-range", b"content-type"})


def ranged_response(spec: ResponseSpec, body: RangedBody) -> ResponseSpec:
    """The app's 200 record turned into the 206: status/reason replaced, Content-Length set to the exact ranged
    length, Content-Range or the multipart Content-Type set, every other header kept."""
    multipart = any(header_id == _ID_CONTENT_TYPE for header_id, _ in body.headers)
    replaced = _REPLACED_BY_MULTIPART if multipart else _REPLACED_BY_RANGES
    known = {
        header_id: values
        for header_id, values in spec.known.items()
        if header_id not in (_ID_CONTENT_LENGTH, _ID_CONTENT_RANGE)
        and not (multipart and header_id == _ID_CONTENT_TYPE)
    }
    for header_id, value in body.headers:
        known[header_id] = [value]
    known[_ID_CONTENT_LENGTH] = [b"%d" % body.content_length]
    unknown = [(name, value) for name, value in spec.unknown if name.lower() not in replaced]
    return ResponseSpec(
        status=body.status, reason=body.reason, known=known, unknown=unknown, flags=spec.flags
    )


def unsatisfiable_response(spec: ResponseSpec, entity_length: int) -> ResponseSpec:
    """The 416 sent instead of the app's 200: `Content-Range: bytes */len`, `Content-Length: 0`, no entity.

    The app's other headers (ETag, Last-Modified, Cache-Control, Set-Cookie, ...) are kept; Content-Type is
    dropped because no entity follows."""
    known = {
        header_id: values
        for header_id, values in spec.known.items()
        if header_id not in (_ID_CONTENT_LENGTH, _ID_CONTENT_RANGE, _ID_CONTENT_TYPE)
    }
    known[_ID_CONTENT_RANGE] = [b"bytes */%d" % entity_length]
    known[_ID_CONTENT_LENGTH] = [b"0"]
    unknown = [(name, value) for name, value in spec.unknown if name.lower() not in _REPLACED_BY_MULTIPART]
    return ResponseSpec(
        status=416, reason=RANGE_NOT_SATISFIABLE_REASON, known=known, unknown=unknown, flags=spec.flags
    )
