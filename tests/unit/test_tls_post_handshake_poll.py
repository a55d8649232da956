"""The post-handshake certificate poll reads the client's certificate only once OpenSSL has ended the exchange:
while it is under way `getpeercert` raises ValueError("handshake not done yet"), and the poll must wait, not fail
(a raise inside the loop's timer left HttpReceiveClientCertificate pending for ever under load)."""

from __future__ import annotations

from httpsys._engine.tls import _peer_certificate_now


class _SslObjectMidExchange:
    def __init__(self, answers: list[object]) -> None:
        self.answers = answers

    def getpeercert(self, binary_form: bool = False) -> bytes | None:
        assert binary_form
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert answer is None or isinstance(answer, bytes)
        return answer


def test_a_certificate_still_being_read_is_none_then_its_der() -> None:
    sslobj = _SslObjectMidExchange([ValueError("handshake not done yet"), b"\x30\x82DER"])
    assert _peer_certificate_now(sslobj) is None
    assert _peer_certificate_now(sslobj) == b"\x30\x82DER"


def test_an_ended_exchange_without_a_certificate_is_empty_not_none() -> None:
    assert _peer_certificate_now(_SslObjectMidExchange([None])) == b""
