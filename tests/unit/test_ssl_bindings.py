"""The SSL binding table without sockets: HTTP.sys's choice rule and the Set/Update/Delete outcomes."""

from __future__ import annotations

import pytest

from httpsys._core.sslbindings import BindingKind, InvalidBinding, SslBinding, SslBindingTable
from httpsys._core.status import Win32Error

HASH_A, HASH_B, HASH_C, HASH_D = ("A" * 40, "B" * 40, "C" * 40, "D" * 40)


def _table() -> SslBindingTable:
    return SslBindingTable(
        [
            SslBinding(BindingKind.IPPORT, 443, address="0.0.0.0", cert_hash=HASH_A),
            SslBinding(BindingKind.IPPORT, 443, address="10.0.0.5", cert_hash=HASH_B),
            SslBinding(BindingKind.SNI, 443, host="WWW.Example.com", cert_hash=HASH_C),
            SslBinding(BindingKind.IPPORT, 443, address="::", cert_hash=HASH_D),
        ]
    )


def _hash(found: SslBinding | None) -> str | None:
    return found.cert_hash if found is not None else None


def test_sni_first_then_exact_ipport_then_the_wildcard_of_the_family() -> None:
    table = _table()
    assert _hash(table.choose("www.example.com.", "10.0.0.5", 443)) == HASH_C  # SNI beats the exact address
    assert _hash(table.choose("other.example.com", "10.0.0.5", 443)) == HASH_B
    assert _hash(table.choose(None, "10.0.0.6", 443)) == HASH_A
    assert _hash(table.choose(None, "2001:db8::1", 443)) == HASH_D
    assert table.choose("www.example.com", "10.0.0.5", 8443) is None  # bindings are per port


def test_a_ccs_binding_is_the_last_resort_of_its_port() -> None:
    table = SslBindingTable([SslBinding(BindingKind.CCS, 8443)])
    found = table.choose("site.test", "127.0.0.1", 8443)
    assert found is not None and found.kind is BindingKind.CCS
    assert table.set(SslBinding(BindingKind.IPPORT, 8443, address="127.0.0.1", cert_hash=HASH_A)) == 0
    assert _hash(table.choose("site.test", "127.0.0.1", 8443)) == HASH_A


def test_set_update_delete_answer_as_http_sys() -> None:
    table = _table()
    generation = table.generation
    again = SslBinding(BindingKind.IPPORT, 443, address="10.0.0.5", cert_hash=HASH_C)
    assert table.set(again) == Win32Error.ERROR_ALREADY_EXISTS
    assert table.update(again) == Win32Error.NO_ERROR
    assert _hash(table.choose(None, "10.0.0.5", 443)) == HASH_C
    missing = SslBinding(BindingKind.IPPORT, 444, address="10.0.0.5", cert_hash=HASH_C)
    assert table.update(missing) == Win32Error.ERROR_FILE_NOT_FOUND
    assert table.delete(missing.key) == Win32Error.ERROR_FILE_NOT_FOUND
    assert table.delete(again.key) == Win32Error.NO_ERROR
    assert _hash(table.choose(None, "10.0.0.5", 443)) == HASH_A
    assert table.generation == generation + 2  # readers notice every change
    assert [b.describe() for b in table.entries()] == [
        "ipport=0.0.0.0:443",
        "hostnameport=www.example.com:443",
        "ipport=[::]:443",
    ]


def test_load_replaces_every_record() -> None:
    table = _table()
    table.load([SslBinding(BindingKind.SNI, 443, host="a.test", cert_hash=HASH_A)])
    assert [b.describe() for b in table.entries()] == ["hostnameport=a.test:443"]
    assert table.choose(None, "10.0.0.5", 443) is None


@pytest.mark.parametrize(
    "binding",
    [
        SslBinding(BindingKind.IPPORT, 443, address="not-an-ip", cert_hash=HASH_A),
        SslBinding(BindingKind.IPPORT, 0, address="0.0.0.0", cert_hash=HASH_A),
        SslBinding(BindingKind.IPPORT, 443, address="0.0.0.0", cert_hash="ABCD"),
        SslBinding(BindingKind.SNI, 443, host="bad host", cert_hash=HASH_A),
        SslBinding(BindingKind.SNI, 443, host="", cert_hash=HASH_A),
    ],
)
def test_malformed_records_are_refused_and_change_nothing(binding: SslBinding) -> None:
    table = _table()
    before = table.entries()
    with pytest.raises(InvalidBinding):
        table.set(binding)
    assert table.entries() == before
