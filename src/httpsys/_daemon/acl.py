"""Who may do what through the daemon: identities from the socket, URL reservations, queue ACLs, administrators.

Responsibility: turn what the kernel says about a client (SO_PEERCRED uid/gid, SO_PEERGROUPS supplementary groups)
into a `Principal` (administrators: root, the daemon's own user, members of the `httpsys-admin` group), and answer
the daemon's authorisation questions on it — may it register this URL (the stored reservations, spec §6 item 44),
may it open this named queue (the SDDL given at creation, item 24), may it change this configuration record
(administrators; a GW holder for reservations under its own). It must not read sockets itself beyond the
credential options, nor call the engine.
"""

from __future__ import annotations

import contextlib
import grp
import logging
import os
import socket
import struct
from collections.abc import Collection, Iterable
from typing import Final

from httpsys._config.records import URLACL, Configuration
from httpsys._core.sddl import GENERIC_EXECUTE, Dacl, InvalidSddl, Principal, access_granted, parse_sddl
from httpsys._core.urlacl import Reservation, covering_reservation, may_delegate, may_register
from httpsys._core.urlprefix import InvalidUrlPrefix, parse_url_prefix

__all__ = ["ADMIN_GROUP", "Authority", "admin_gid", "peer_groups", "principal_of"]

log = logging.getLogger("httpsys.daemon")

ADMIN_GROUP: Final = "httpsys-admin"
_SO_PEERGROUPS: Final = 59  # Linux 4.13+; no constant in the socket module
_MAX_GROUPS: Final = 1024


def admin_gid() -> int | None:
    """The gid of the `httpsys-admin` group, or None when the system has no such group."""
    try:
        return grp.getgrnam(ADMIN_GROUP).gr_gid
    except KeyError:
        return None


def peer_groups(sock: socket.socket) -> frozenset[int]:
    """The supplementary groups of the process at the other end (SO_PEERGROUPS), empty when the kernel says none."""
    with contextlib.suppress(OSError):
        raw = sock.getsockopt(socket.SOL_SOCKET, _SO_PEERGROUPS, 4 * _MAX_GROUPS)
        count = len(raw) // 4
        return frozenset(struct.unpack(f"{count}I", raw[: count * 4]))
    return frozenset()


def principal_of(uid: int, gid: int, groups: Iterable[int] = ()) -> Principal:
    """The principal for a peer's credentials: an administrator when root, the daemon's own user (a daemon run by
    a user serves that user's machine part), or in the `httpsys-admin` group."""
    group_set = frozenset(groups)
    admins = admin_gid()
    admin = uid in (0, os.geteuid()) or (admins is not None and (gid == admins or admins in group_set))
    return Principal(uid=uid, gid=gid, groups=group_set, admin=admin)


def _default_queue_acl(creator: Principal) -> Dacl:
    """A named queue created without SecurityAttributes: its creator's user and the administrators (as the
    default DACL of a Windows process token grants the user, SYSTEM and Administrators)."""
    return parse_sddl(f"D:(A;;GA;;;S-1-22-1-{creator.uid})(A;;GA;;;BA)")


class Authority:
    """The daemon's authorisation state: the URL reservations of the store (reloaded with it) and the ACL of
    each named queue (fixed when its creator made it)."""

    def __init__(self) -> None:
        self.reservations: list[Reservation] = []
        self.queue_acls: dict[str, Dacl] = {}

    def load(self, configuration: Configuration) -> None:
        reservations: list[Reservation] = []
        for url, sddl in configuration.url_reservations:
            try:
                reservations.append((parse_url_prefix(url), parse_sddl(sddl)))
            except (InvalidUrlPrefix, InvalidSddl) as exc:  # validated when stored: only a damaged store
                log.error("URL reservation %s ignored: %s", url, exc)
        self.reservations = reservations

    # ----- URL registrations (spec §6 item 44) ------------------------------------------------------------
    def may_register(self, who: Principal, url: str) -> bool:
        """False: ERROR_ACCESS_DENIED. A malformed URL is left to the engine (ERROR_INVALID_PARAMETER)."""
        try:
            prefix = parse_url_prefix(url)
        except InvalidUrlPrefix:
            return True
        return may_register(prefix, who, self.reservations)

    def may_delegate(self, who: Principal, url: str | None) -> bool:
        """The GW right on the reservation covering the destination URL of HttpDelegateRequestEx (decision 0024
        §1). Without a URL (a URL group id given) the group's owner already bound it to the target queue with the
        delegation property: allowed. A malformed URL is left to the engine."""
        if url is None:
            return True
        try:
            prefix = parse_url_prefix(url)
        except InvalidUrlPrefix:
            return True
        return may_delegate(prefix, who, self.reservations)

    # ----- named queues (spec §6 item 24) -----------------------------------------------------------------
    def queue_created(
        self, name: str, security: str | None, creator: Principal, live_names: Collection[str] = ()
    ) -> None:
        """Fix the ACL of a queue its creator just made; `live_names` (the driver's queue names, lower-case)
        lets the ACLs of queues that are gone be forgotten once they outnumber the live ones."""
        dacl = _default_queue_acl(creator)
        if security:
            with contextlib.suppress(InvalidSddl):
                dacl = parse_sddl(security)
        self.queue_acls[name.lower()] = dacl
        if live_names and len(self.queue_acls) > 2 * len(live_names) + 64:
            self.queue_acls = {n: acl for n, acl in self.queue_acls.items() if n in live_names}

    def may_open_queue(self, who: Principal, name: str) -> bool:
        """OPEN_EXISTING needs the execute ("use") right in the queue's ACL; no ACL known: allowed."""
        dacl = self.queue_acls.get(name.lower())
        return dacl is None or access_granted(dacl, who, GENERIC_EXECUTE)

    @staticmethod
    def valid_security(security: str | None) -> bool:
        if not security:
            return True
        try:
            parse_sddl(security)
        except InvalidSddl:
            return False
        return True

    # ----- the configuration ------------------------------------------------------------------------------
    def may_change(self, who: Principal, kind: str, key: object) -> bool:
        """Administrators change any record; a holder of the delegate right (GW) on an enclosing reservation may
        add or delete reservations under it (spec §1.6)."""
        if who.admin:
            return True
        if kind != URLACL or not isinstance(key, str):
            return False
        try:
            prefix = parse_url_prefix(key)
        except InvalidUrlPrefix:
            return True  # the store answers ERROR_INVALID_PARAMETER
        enclosing = [r for r in self.reservations if r[0].key != prefix.key]
        return covering_reservation(prefix, enclosing) is not None and may_delegate(prefix, who, enclosing)
