"""The IP listen list (HttpServiceConfigIPListenList analogue): listeners bind only the listed addresses."""

from __future__ import annotations

from ports import free_port

from httpsys._core.settings import DriverSettings
from httpsys._core.status import Win32Error
from httpsys._transport.embedded import EmbeddedTransport
from httpsys.cli.options import ip_listen_list

OK = int(Win32Error.NO_ERROR)


def _bound_addresses(settings: DriverSettings) -> set[str]:
    transport = EmbeddedTransport(settings=settings)
    try:
        code, session = transport.create_server_session((2, 0))
        assert code == OK
        code, group = transport.create_url_group(session)
        assert code == OK
        port = free_port()
        assert transport.add_url(group, f"http://+:{port}/", 0) == OK
        listener = transport.driver.listeners[port]
        return {sock.getsockname()[0] for sock in listener.sockets}
    finally:
        transport.close()


def test_an_empty_listen_list_binds_every_ipv4_and_ipv6_address() -> None:
    assert _bound_addresses(DriverSettings()) == {"0.0.0.0", "::"}


def test_a_listen_list_binds_only_its_addresses() -> None:
    assert _bound_addresses(DriverSettings(ip_listen_list=("127.0.0.1",))) == {"127.0.0.1"}


def test_the_command_listens_on_the_prefixes_addresses_only_when_every_prefix_is_an_ip_literal() -> None:
    assert ip_listen_list(["http://127.0.0.1:8080/"]) == ("127.0.0.1",)
    assert ip_listen_list(["http://127.0.0.1:8080/", "http://[::1]:8080/"]) == ("127.0.0.1", "::1")
    assert ip_listen_list(["http://127.0.0.1:8080/", "http://+:8081/"]) == ()
    assert ip_listen_list(["http://localhost:8080/"]) == ()
