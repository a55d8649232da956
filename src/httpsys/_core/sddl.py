"""SDDL security descriptors as URL reservations and named request queues use them, and the access check.

Responsibility: parse the SDDL subset HTTP.sys configuration uses (`D:(A;;GX;;;SID)...`, optional `O:`/`G:` parts
and DACL flags) into an immutable `Dacl`, map SIDs to Unix identities (`S-1-22-1-<uid>` a user, `S-1-22-2-<gid>` a
group, `WD` everyone, `BA` root and the admin group, `AU`/`BU` any user, `SY` root) and answer the Windows access
check for a `Principal` (ACEs in order; a matching deny of a right not yet granted denies it). It must not read
credentials, files or the configuration store: callers pass the principal and the descriptor in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "GENERIC_ALL",
    "GENERIC_EXECUTE",
    "GENERIC_READ",
    "GENERIC_WRITE",
    "Ace",
    "Dacl",
    "InvalidSddl",
    "Principal",
    "access_granted",
    "parse_sddl",
    "sddl_for_uid",
]

GENERIC_READ: Final = 0x80000000
GENERIC_WRITE: Final = 0x40000000
GENERIC_EXECUTE: Final = 0x20000000
GENERIC_ALL: Final = 0x10000000
_ALL_GENERIC: Final = GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE

_RIGHTS: Final = {"GA": GENERIC_ALL, "GR": GENERIC_READ, "GW": GENERIC_WRITE, "GX": GENERIC_EXECUTE}
_MAX_SDDL: Final = 64 * 1024
_MAX_ACES: Final = 1024

# Well-known SID aliases and the string SIDs they stand for; what each means on Unix is in `Ace.matches`.
_ALIASES: Final = {
    "WD": "S-1-1-0",  # Everyone
    "AU": "S-1-5-11",  # Authenticated Users: any uid
    "BU": "S-1-5-32-545",  # Users: any uid
    "BA": "S-1-5-32-544",  # Administrators: root and the admin group
    "SY": "S-1-5-18",  # Local System: root
    "AN": "S-1-5-7",  # Anonymous: nobody connects anonymously to a Unix socket
    "LS": "S-1-5-19",
    "NS": "S-1-5-20",
    "CO": "S-1-3-0",
    "IU": "S-1-5-4",
}
_EVERYONE: Final = frozenset({"S-1-1-0", "S-1-5-11", "S-1-5-32-545", "S-1-5-4"})
_ADMINS: Final = "S-1-5-32-544"
_SYSTEM: Final = "S-1-5-18"
_SID_RE: Final = re.compile(r"S-1-\d{1,15}(?:-\d{1,10}){0,15}\Z")
_ACE_RE: Final = re.compile(r"\(([^()]*)\)")


class InvalidSddl(ValueError):
    """Not a security descriptor this parser accepts (the API answers ERROR_INVALID_PARAMETER)."""


@dataclass(frozen=True)
class Principal:
    """Who asks: a uid, its primary gid, its supplementary groups, and whether it is an administrator (root or a
    member of the admin group, the elevated-administrator analogue)."""

    uid: int
    gid: int
    groups: frozenset[int] = frozenset()
    admin: bool = False

    def in_group(self, gid: int) -> bool:
        return gid == self.gid or gid in self.groups


@dataclass(frozen=True)
class Ace:
    """One access-control entry: allow (or deny) `mask` to `sid` (a string SID, aliases resolved)."""

    allow: bool
    mask: int
    sid: str

    def matches(self, who: Principal) -> bool:
        sid = self.sid
        if sid in _EVERYONE:
            return True
        if sid == _ADMINS:
            return who.admin or who.uid == 0
        if sid == _SYSTEM:
            return who.uid == 0
        if sid.startswith("S-1-22-1-"):
            return _tail_int(sid) == who.uid
        if sid.startswith("S-1-22-2-"):
            tail = _tail_int(sid)
            return tail is not None and who.in_group(tail)
        return False


@dataclass(frozen=True)
class Dacl:
    """A parsed descriptor: its DACL (ordered ACEs) and the text it came from."""

    text: str
    aces: tuple[Ace, ...]


def _tail_int(sid: str) -> int | None:
    tail = sid.rsplit("-", 1)[1]
    return int(tail) if tail.isdigit() else None


def _parse_rights(text: str) -> int:
    if not text:
        raise InvalidSddl("an ACE grants no rights")
    if text[:2].lower() == "0x":
        try:
            mask = int(text, 16)
        except ValueError:
            raise InvalidSddl(f"bad rights {text!r}") from None
        if not 0 < mask <= 0xFFFFFFFF:
            raise InvalidSddl(f"bad rights {text!r}")
        return mask
    if len(text) % 2:
        raise InvalidSddl(f"bad rights {text!r}")
    mask = 0
    for i in range(0, len(text), 2):
        right = _RIGHTS.get(text[i : i + 2].upper())
        if right is None:
            raise InvalidSddl(f"unknown right {text[i : i + 2]!r} (GA, GR, GW, GX or a 0x mask)")
        mask |= right
    return mask


def _parse_sid(text: str) -> str:
    text = text.strip()
    alias = _ALIASES.get(text.upper())
    if alias is not None:
        return alias
    upper = text.upper()
    if _SID_RE.match(upper):
        return upper
    raise InvalidSddl(f"unknown SID {text!r}")


def _parse_ace(body: str) -> Ace:
    parts = body.split(";")
    if len(parts) != 6:
        raise InvalidSddl(f"an ACE has six fields: ({body})")
    kind, flags, rights, object_guid, inherit_guid, sid = parts
    if kind.upper() not in ("A", "D"):
        raise InvalidSddl(f"ACE type {kind!r}: only A (allow) and D (deny)")
    if flags.strip() or object_guid.strip() or inherit_guid.strip():
        raise InvalidSddl(f"ACE flags and object GUIDs are not used here: ({body})")
    return Ace(kind.upper() == "A", _parse_rights(rights.strip()), _parse_sid(sid))


def parse_sddl(text: object) -> Dacl:
    """`text` (str or bytes) as a security descriptor with a DACL; InvalidSddl when it is not one."""
    if isinstance(text, bytes | bytearray | memoryview):
        try:
            text = bytes(text).rstrip(b"\x00").decode("ascii")
        except UnicodeDecodeError:
            raise InvalidSddl("SDDL must be ASCII") from None
    if not isinstance(text, str):
        raise InvalidSddl("SDDL must be a string")
    text = text.strip()
    if not text or len(text) > _MAX_SDDL:
        raise InvalidSddl("empty or oversized SDDL")
    dacl_at = text.upper().find("D:")
    if dacl_at < 0:
        raise InvalidSddl("no DACL (D:...)")
    head = text[:dacl_at]
    for part in re.split(r"(?=[OG]:)", head.strip()):
        if not part:
            continue
        if part[:2].upper() not in ("O:", "G:"):
            raise InvalidSddl(f"unexpected {part!r} before the DACL")
        _parse_sid(part[2:])
    rest = text[dacl_at + 2 :]
    if "S:" in re.sub(r"\([^()]*\)", "", rest).upper():
        raise InvalidSddl("a SACL is not used here")
    first = rest.find("(")
    flags = (rest if first < 0 else rest[:first]).strip().upper()
    if flags.replace("AI", "").replace("AR", "").replace("P", "").strip():
        raise InvalidSddl(f"unknown DACL flags {flags!r}")
    body = "" if first < 0 else rest[first:]
    aces: list[Ace] = []
    position = 0
    for match in _ACE_RE.finditer(body):
        if body[position : match.start()].strip():
            raise InvalidSddl(f"text between ACEs: {body[position : match.start()]!r}")
        aces.append(_parse_ace(match.group(1)))
        position = match.end()
        if len(aces) > _MAX_ACES:
            raise InvalidSddl("too many ACEs")
    if body[position:].strip():
        raise InvalidSddl(f"text after the ACEs: {body[position:]!r}")
    return Dacl(text, tuple(aces))


def _expand(mask: int) -> int:
    return mask | _ALL_GENERIC if mask & GENERIC_ALL else mask


def access_granted(dacl: Dacl, who: Principal, desired: int) -> bool:
    """The Windows access check: walk the ACEs in order; an ACE that names `who` and denies a desired right not
    yet granted denies access; allowed rights accumulate until every desired right is granted. An empty DACL
    grants nothing."""
    wanted = _expand(desired) & _ALL_GENERIC | (desired & ~(GENERIC_ALL | _ALL_GENERIC))
    granted = 0
    for ace in dacl.aces:
        if not ace.matches(who):
            continue
        mask = _expand(ace.mask)
        if ace.allow:
            granted |= mask & wanted
            if granted == wanted:
                return True
        elif mask & wanted & ~granted:
            return False
    return False


def sddl_for_uid(uid: int, *, register: bool = True, delegate: bool = False) -> str:
    """The reservation SDDL netsh's `user=NAME listen=yes delegate=no` builds, for a Unix uid."""
    rights = "GA" if register and delegate else ("GW" if delegate else "GX")
    return f"D:(A;;{rights};;;S-1-22-1-{uid})"
