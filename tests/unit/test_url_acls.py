"""SDDL parsing, the access check and URL reservations (spec §1.6, §6 item 44): matrices over injected identities."""

from __future__ import annotations

import pytest

from httpsys._core.sddl import (
    GENERIC_EXECUTE,
    GENERIC_WRITE,
    InvalidSddl,
    Principal,
    access_granted,
    parse_sddl,
    sddl_for_uid,
)
from httpsys._core.urlacl import covering_reservation, may_delegate, may_register
from httpsys._core.urlprefix import parse_url_prefix

ALICE = Principal(uid=1001, gid=1001)
BOB = Principal(uid=1002, gid=1002, groups=frozenset({2000}))
ADMIN = Principal(uid=1003, gid=1003, admin=True)
ROOT = Principal(uid=0, gid=0)


@pytest.mark.parametrize(
    ("sddl", "who", "register", "delegate"),
    [
        ("D:(A;;GX;;;S-1-22-1-1001)", ALICE, True, False),
        ("D:(A;;GX;;;S-1-22-1-1001)", BOB, False, False),
        ("D:(A;;GW;;;S-1-22-1-1001)", ALICE, False, True),
        ("D:(A;;GA;;;S-1-22-1-1001)", ALICE, True, True),
        ("D:(A;;GX;;;S-1-22-2-2000)", BOB, True, False),  # a supplementary group
        ("D:(A;;GX;;;S-1-22-2-1001)", ALICE, True, False),  # the primary group
        ("D:(A;;GX;;;S-1-22-2-2000)", ALICE, False, False),
        ("D:(A;;GX;;;WD)", BOB, True, False),
        ("D:(A;;GX;;;AU)", ALICE, True, False),
        ("D:(A;;GA;;;BA)", ALICE, False, False),
        ("D:(A;;GA;;;BA)", ADMIN, True, True),
        ("D:(D;;GX;;;S-1-22-1-1001)(A;;GA;;;WD)", ALICE, False, True),  # deny first wins for GX only
        ("D:(A;;GA;;;WD)(D;;GX;;;S-1-22-1-1001)", ALICE, True, True),  # granted before the deny is reached
        ("D:(A;;0x20000000;;;S-1-22-1-1001)", ALICE, True, False),  # GX as a hex mask
        ("D:", ALICE, False, False),  # an empty DACL grants nothing
        ("D:(A;;GX;;;S-1-5-21-1-2-3-500)", ALICE, False, False),  # a Windows SID names nobody here
    ],
)
def test_access_check_matrix(sddl: str, who: Principal, register: bool, delegate: bool) -> None:
    dacl = parse_sddl(sddl)
    assert access_granted(dacl, who, GENERIC_EXECUTE) is register
    assert access_granted(dacl, who, GENERIC_WRITE) is delegate


@pytest.mark.parametrize(
    "sddl",
    [
        "",
        "nonsense",
        "D:(A;;GX;;;)",
        "D:(A;;;;;WD)",
        "D:(X;;GX;;;WD)",
        "D:(A;OI;GX;;;WD)",
        "D:(A;;GQ;;;WD)",
        "D:(A;;GX;;;WD",
        "D:(A;;GX;;;WD)junk",
        "D:(A;;GX;;;S-1-x)",
        "D:(A;;GX;;;WD)S:(AU;SA;GA;;;WD)",
        "D:Q(A;;GX;;;WD)",
        b"D:(A;;GX;;;\xffWD)",
        12,
    ],
)
def test_malformed_sddl_is_refused(sddl: object) -> None:
    with pytest.raises(InvalidSddl):
        parse_sddl(sddl)


def test_sddl_as_netsh_builds_it_for_a_user() -> None:
    assert sddl_for_uid(1001) == "D:(A;;GX;;;S-1-22-1-1001)"
    assert sddl_for_uid(1001, delegate=True) == "D:(A;;GA;;;S-1-22-1-1001)"
    assert sddl_for_uid(1001, register=False, delegate=True) == "D:(A;;GW;;;S-1-22-1-1001)"
    assert parse_sddl("O:BAG:BAD:P(A;;GX;;;WD)").aces[0].allow


def reservations(*pairs: tuple[str, str]) -> list[tuple[object, object]]:
    return [(parse_url_prefix(url), parse_sddl(sddl)) for url, sddl in pairs]


URLS = reservations(
    ("http://+:8080/", "D:(A;;GX;;;S-1-22-1-1002)"),
    ("http://+:8080/alice/", "D:(A;;GX;;;S-1-22-1-1001)"),
    ("http://www.example.com:8080/shop/", "D:(A;;GA;;;S-1-22-2-2000)"),
    ("http://*:9090/", "D:(A;;GX;;;WD)"),
)


@pytest.mark.parametrize(
    ("url", "who", "allowed"),
    [
        ("http://+:8080/alice/app/", ALICE, True),  # the longest covering reservation decides
        ("http://+:8080/alice/app/", BOB, False),
        ("http://+:8080/other/", BOB, True),
        ("http://+:8080/other/", ALICE, False),
        ("http://*:8080/alicex/", ALICE, False),  # whole segments only: /alicex/ is under / (Bob's)
        ("http://www.example.com:8080/shop/cart/", BOB, True),  # the host reservation is longer
        ("http://www.example.com:8080/", ALICE, False),
        ("http://www.example.com:8080/", BOB, True),  # '+' covers every host
        ("http://api.example.com:9090/", ALICE, True),  # '*' covers host names
        ("http://+:9090/", ALICE, False),  # ... but not '+'
        ("https://+:8080/other/", BOB, False),  # another scheme
        ("http://+:8081/", BOB, False),  # another port: the namespace is closed
        ("http://localhost:8081/", BOB, True),  # item 44's exception: localhost above 1024
        ("http://localhost:1024/", BOB, False),
        ("http://+:80/Temporary_Listen_Addresses/x/", ALICE, True),  # the shipped default reservation
        ("http://+:8080/alice/", ROOT, True),  # root always may
        ("http://+:7000/", ADMIN, True),  # so does an administrator
    ],
)
def test_url_registration_matrix(url: str, who: Principal, allowed: bool) -> None:
    assert may_register(parse_url_prefix(url), who, URLS) is allowed  # type: ignore[arg-type]


def test_delegate_right_and_covering_reservation() -> None:
    shop = parse_url_prefix("http://www.example.com:8080/shop/a/")
    assert may_delegate(shop, BOB, URLS) is True  # type: ignore[arg-type]
    assert may_delegate(shop, ALICE, URLS) is False  # type: ignore[arg-type]
    best = covering_reservation(shop, URLS)  # type: ignore[arg-type]
    assert best is not None and best[0].original == "http://www.example.com:8080/shop/"
    assert covering_reservation(parse_url_prefix("http://+:1/"), URLS) is None  # type: ignore[arg-type]


def test_queue_acls_of_queues_that_are_gone_are_forgotten_and_a_new_creator_sets_its_own() -> None:
    from httpsys._daemon.acl import Authority

    authority = Authority()
    authority.queue_created("Orders", "D:(A;;GX;;;S-1-22-1-1002)", ALICE)
    assert authority.may_open_queue(BOB, "orders") and not authority.may_open_queue(ALICE, "ORDERS")
    authority.queue_created("orders", None, BOB)  # the name was freed and made again: its new creator decides
    assert authority.may_open_queue(BOB, "orders") and not authority.may_open_queue(ALICE, "orders")
    assert authority.may_open_queue(ADMIN, "orders")  # the default ACL: creator and administrators
    for i in range(200):
        authority.queue_created(f"gone-{i}", None, ALICE, live_names={"orders", f"gone-{i}"})
    assert len(authority.queue_acls) <= 2 * 2 + 64 + 1
    assert "orders" in authority.queue_acls


def test_the_daemon_asks_the_gw_right_of_the_destination_url_before_a_delegation() -> None:
    """Authority.may_delegate is DaemonServer's default delegation check (decision 0024 §1): the GW right on the
    reservation covering the destination URL; without a URL (a URL group id named) the group's owner decided."""
    from httpsys._daemon.acl import Authority

    authority = Authority()
    authority.reservations = URLS  # type: ignore[assignment]
    assert authority.may_delegate(BOB, "http://www.example.com:8080/shop/a/") is True
    assert authority.may_delegate(ALICE, "http://www.example.com:8080/shop/a/") is False
    assert authority.may_delegate(ALICE, "http://+:1/nothing-reserved/") is False
    assert authority.may_delegate(ADMIN, "http://+:1/nothing-reserved/") is True
    assert authority.may_delegate(ALICE, None) is True
