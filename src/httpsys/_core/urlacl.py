"""URL reservations (URL ACLs): which reservation covers a registration, and whether a principal may register it.

Responsibility: the rule of spec §1.6 / §6 item 44 on plain data — the reservation with the longest path that
covers a URL prefix (same scheme and port; a '+' reservation covers every host on its port, '*' covers '*' and
host names, otherwise the same host; path prefix on segment boundaries), the documented exceptions (`localhost`
on a port above 1024 needs none; the shipped `http://+:80/Temporary_Listen_Addresses/` reservation for Everyone),
and the decision (administrators always may). It must not read the store or credentials, nor touch routing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from httpsys._core.sddl import GENERIC_EXECUTE, GENERIC_WRITE, Dacl, Principal, access_granted, parse_sddl
from httpsys._core.urlprefix import HostKind, UrlPrefix, parse_url_prefix

__all__ = ["DEFAULT_RESERVATIONS", "Reservation", "covering_reservation", "may_delegate", "may_register"]

Reservation = tuple[UrlPrefix, Dacl]

#: Reservations every HTTP.sys installation ships (spec §1.6), used unless the store holds the same prefix.
DEFAULT_RESERVATIONS: Final[tuple[tuple[str, str], ...]] = (
    ("http://+:80/Temporary_Listen_Addresses/", "D:(A;;GX;;;WD)"),
)


def _covers(reservation: UrlPrefix, url: UrlPrefix) -> bool:
    if reservation.scheme != url.scheme or reservation.port != url.port:
        return False
    if reservation.kind == HostKind.STRONG:
        pass
    elif reservation.kind == HostKind.WEAK:
        if url.kind not in (HostKind.WEAK, HostKind.EXPLICIT):
            return False
    elif reservation.kind != url.kind or reservation.host != url.host:
        return False
    return url.path.startswith(reservation.path)


def _with_defaults(reservations: Iterable[Reservation]) -> list[Reservation]:
    listed = list(reservations)
    keys = {prefix.key for prefix, _ in listed}
    for text, sddl in DEFAULT_RESERVATIONS:
        prefix = parse_url_prefix(text)
        if prefix.key not in keys:
            listed.append((prefix, parse_sddl(sddl)))
    return listed


def covering_reservation(url: UrlPrefix, reservations: Iterable[Reservation]) -> Reservation | None:
    """The reservation with the longest path covering `url` (on a tie, the more specific host class wins)."""
    best: Reservation | None = None
    for reservation in _with_defaults(reservations):
        prefix = reservation[0]
        if not _covers(prefix, url):
            continue
        if best is None or (len(prefix.path), -prefix.kind) > (len(best[0].path), -best[0].kind):
            best = reservation
    return best


def may_register(url: UrlPrefix, who: Principal, reservations: Iterable[Reservation]) -> bool:
    """Whether `who` may register `url` (HttpAddUrlToUrlGroup / HttpAddUrl; else ERROR_ACCESS_DENIED)."""
    if who.admin or who.uid == 0:
        return True
    if url.kind == HostKind.EXPLICIT and url.host == "localhost" and url.port > 1024:
        return True
    reservation = covering_reservation(url, reservations)
    return reservation is not None and access_granted(reservation[1], who, GENERIC_EXECUTE)


def may_delegate(url: UrlPrefix, who: Principal, reservations: Iterable[Reservation]) -> bool:
    """Whether `who` holds the delegate right (GW) on the reservation covering `url` (administrators do)."""
    if who.admin or who.uid == 0:
        return True
    reservation = covering_reservation(url, reservations)
    return reservation is not None and access_granted(reservation[1], who, GENERIC_WRITE)
