"""The fragment cache drops a queue's entries when that queue is gone (sans-I/O, `_core.fragments`)."""

from __future__ import annotations

from httpsys._core.fragments import FragmentCache

KEEP = 1  # HttpCachePolicyUserInvalidates


def test_dropping_an_owner_removes_only_its_fragments_and_frees_their_names() -> None:
    cache = FragmentCache()
    assert cache.add("http://+:80/a/one", b"1", owner=7, policy=KEEP, seconds=0, now=0.0)
    assert cache.add("http://+:80/a/two", b"2", owner=7, policy=KEEP, seconds=0, now=0.0)
    assert cache.add("http://+:80/b/one", b"3", owner=9, policy=KEEP, seconds=0, now=0.0)
    assert not cache.add("http://+:80/a/one", b"x", owner=9, policy=KEEP, seconds=0, now=0.0)  # 7's name
    assert cache.drop_owner(7) == 2
    assert cache.get("http://+:80/a/one", 0.0) is None and cache.get("http://+:80/a/two", 0.0) is None
    assert cache.get("http://+:80/b/one", 0.0) == b"3"
    assert cache.add("http://+:80/a/one", b"x", owner=9, policy=KEEP, seconds=0, now=0.0)  # free again
    assert cache.drop_owner(7) == 0
