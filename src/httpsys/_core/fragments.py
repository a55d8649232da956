"""The fragment cache behind HttpAddFragmentToCache, HttpReadFragmentFromCache and FromFragmentCache chunks.

Responsibility: named fragments (names are URLs under a registered prefix), their owner queue, their cache policy
(UserInvalidates until flushed, TimeToLive seconds), and flushing by prefix, recursive or not. It must not read the
clock: callers pass `now`.
"""

from __future__ import annotations

from dataclasses import dataclass

POLICY_NOCACHE = 0
POLICY_USER_INVALIDATES = 1
POLICY_TIME_TO_LIVE = 2


def fragment_key(name: str) -> str:
    """Names compare case-insensitively in scheme and host and path, like URL prefixes."""
    return name.lower()


@dataclass(slots=True)
class Fragment:
    data: bytes
    owner: int  # request queue id
    expires: float | None  # None: until flushed


class FragmentCache:
    """Named byte fragments with expiry."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[str, Fragment] = {}

    def add(self, name: str, data: bytes, owner: int, policy: int, seconds: int, now: float) -> bool:
        """Store or overwrite; False if another queue owns the name. Nocache removes any entry."""
        key = fragment_key(name)
        old = self._entries.get(key)
        if old is not None and old.owner != owner and (old.expires is None or old.expires > now):
            return False
        if policy == POLICY_NOCACHE:
            self._entries.pop(key, None)
            return True
        expires = now + seconds if policy == POLICY_TIME_TO_LIVE else None
        self._entries[key] = Fragment(bytes(data), owner, expires)
        return True

    def get(self, name: str, now: float) -> bytes | None:
        key = fragment_key(name)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires is not None and entry.expires <= now:
            del self._entries[key]
            return None
        return entry.data

    def flush(self, prefix: str, recursive: bool, owner: int | None = None) -> int:
        """Remove the entry named `prefix` and, when recursive, every name below it. Returns the count."""
        key = fragment_key(prefix)
        base = key if key.endswith("/") else key + "/"
        doomed = [
            name
            for name, entry in self._entries.items()
            if (owner is None or entry.owner == owner)
            and (name == key or name.rstrip("/") == key.rstrip("/") or (recursive and name.startswith(base)))
        ]
        for name in doomed:
            del self._entries[name]
        return len(doomed)

    def drop_owner(self, owner: int) -> int:
        """Remove every entry of queue `owner` (its queue is gone: nobody could flush or overwrite them). The count."""
        doomed = [name for name, entry in self._entries.items() if entry.owner == owner]
        for name in doomed:
            del self._entries[name]
        return len(doomed)

    def scavenge(self, now: float) -> int:
        doomed = [n for n, e in self._entries.items() if e.expires is not None and e.expires <= now]
        for name in doomed:
            del self._entries[name]
        return len(doomed)

    def __len__(self) -> int:
        return len(self._entries)
