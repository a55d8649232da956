"""The daemon's privileges: start as root, then run as a dedicated user that keeps only CAP_NET_BIND_SERVICE.

Responsibility: resolve the `--user` account, hand the paths the daemon created as root to it, and switch the
process to it for good — supplementary groups, gid, uid, every capability dropped from the bounding set except
CAP_NET_BIND_SERVICE (HTTP.sys binds a port when its first URL is registered, so the daemon must still bind ports
below 1024 after the switch), no_new_privs — then check that root cannot be regained; and report the capabilities
a process holds (for its log line and the tests). It must not open sockets or files of its own, and nothing
here may run after the daemon serves a client: the switch happens once, before the first accept is handled.
"""

from __future__ import annotations

import ctypes
import errno
import os
import pwd
from dataclasses import dataclass

__all__ = [
    "CAP_NET_BIND_SERVICE",
    "DAEMON_UMASK",
    "PrivilegeError",
    "TargetUser",
    "capabilities",
    "drop_privileges",
    "give_to",
    "resolve_user",
]

CAP_NET_BIND_SERVICE = 10
DAEMON_UMASK = (
    0o027  # files the daemon creates (logs): never world-readable, group-readable for an admin group
)
_PR_CAPBSET_DROP = 24
_PR_SET_KEEPCAPS = 8
_PR_SET_NO_NEW_PRIVS = 38
_CAPABILITY_VERSION_3 = 0x20080522


class PrivilegeError(Exception):
    """The switch cannot be made as asked (not root, no such user, the kernel refused): the daemon must not
    start, and the message is the one line the command prints."""


@dataclass(frozen=True)
class TargetUser:
    """The account `--user NAME` names."""

    name: str
    uid: int
    gid: int


def resolve_user(name: str) -> TargetUser:
    """The account called `name` (PrivilegeError when there is none, or it is root)."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise PrivilegeError(f"--user {name}: no such user") from None
    if entry.pw_uid == 0:
        raise PrivilegeError(f"--user {name}: the account is root; name an unprivileged user")
    return TargetUser(name, entry.pw_uid, entry.pw_gid)


def give_to(user: TargetUser, path: str) -> None:
    """Make `path` (a file or directory the daemon created as root) the user's, so it can use and remove it."""
    os.chown(path, user.uid, user.gid, follow_symlinks=False)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _prctl(libc: ctypes.CDLL, option: int, arg: int) -> None:
    if libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _last_capability() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 40


def drop_privileges(user: TargetUser) -> None:
    """Become `user` for good, keeping CAP_NET_BIND_SERVICE only (PrivilegeError when anything fails)."""
    if os.geteuid() != 0:
        raise PrivilegeError("--user needs the daemon to start as root")
    libc = _libc()
    keep = 1 << CAP_NET_BIND_SERVICE
    try:
        for cap in range(_last_capability() + 1):
            if cap != CAP_NET_BIND_SERVICE:
                try:
                    _prctl(libc, _PR_CAPBSET_DROP, cap)
                except OSError as exc:
                    if exc.errno != errno.EINVAL:  # EINVAL: a capability this kernel does not know
                        raise
        _prctl(libc, _PR_SET_KEEPCAPS, 1)
        os.initgroups(user.name, user.gid)
        os.setresgid(user.gid, user.gid, user.gid)
        os.setresuid(user.uid, user.uid, user.uid)
        header = _CapHeader(_CAPABILITY_VERSION_3, 0)
        data = (_CapData * 2)(_CapData(keep, keep, 0), _CapData(0, 0, 0))
        if libc.capset(ctypes.byref(header), data) != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"capset: {os.strerror(code)}")
        _prctl(libc, _PR_SET_KEEPCAPS, 0)
        _prctl(libc, _PR_SET_NO_NEW_PRIVS, 1)
    except OSError as exc:
        raise PrivilegeError(f"cannot switch to user {user.name}: {exc.strerror or exc}") from None
    try:
        os.setuid(0)
    except PermissionError:
        pass
    else:
        raise PrivilegeError(f"switched to user {user.name} but root could be regained")


def capabilities(pid: int | str = "self") -> dict[str, int]:
    """The capability sets of a process, from /proc/PID/status: {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}."""
    sets: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.startswith("Cap"):
                sets[key] = int(value.strip(), 16)
    return sets
