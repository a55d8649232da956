"""SSL bindings through the win32 face: HttpSet/Update/Query/DeleteServiceConfiguration with SSLCertInfo,
SslSniCertInfo and SslCcsCertInfo records, served by the driver on the next connection (spec §6 item 139)."""

from __future__ import annotations

import ctypes
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from certs import Pki
from tlsserver import TlsServer, client_context, free_port, https_get

from httpsys._engine.certstore import CertStores
from httpsys._engine.tls import ssl_bindings
from httpsys.win32 import (
    ERROR_ALREADY_EXISTS,
    ERROR_FILE_NOT_FOUND,
    ERROR_INSUFFICIENT_BUFFER,
    ERROR_INVALID_PARAMETER,
    ERROR_NO_MORE_ITEMS,
    ERROR_NO_SUCH_LOGON_SESSION,
    HTTP_INITIALIZE_CONFIG,
    HTTP_SERVICE_CONFIG_SSL_CCS_KEY,
    HTTP_SERVICE_CONFIG_SSL_CCS_SET,
    HTTP_SERVICE_CONFIG_SSL_KEY,
    HTTP_SERVICE_CONFIG_SSL_PARAM,
    HTTP_SERVICE_CONFIG_SSL_QUERY,
    HTTP_SERVICE_CONFIG_SSL_SET,
    HTTP_SERVICE_CONFIG_SSL_SNI_KEY,
    HTTP_SERVICE_CONFIG_SSL_SNI_QUERY,
    HTTP_SERVICE_CONFIG_SSL_SNI_SET,
    HTTPAPI_VERSION_2,
    NO_ERROR,
    SOCKADDR_IN,
    HttpDeleteServiceConfiguration,
    HttpInitialize,
    HttpQueryServiceConfiguration,
    HttpServiceConfigQueryExact,
    HttpServiceConfigQueryNext,
    HttpServiceConfigSslCcsCertInfo,
    HttpServiceConfigSSLCertInfo,
    HttpServiceConfigSslSniCertInfo,
    HttpSetServiceConfiguration,
    HttpTerminate,
    HttpUpdateServiceConfiguration,
    sizeof,
)


@pytest.fixture
def config(config_dir: Path) -> Iterator[None]:
    table = ssl_bindings().table
    saved = table.entries()
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_CONFIG, None) == NO_ERROR
    try:
        yield
    finally:
        assert HttpTerminate(HTTP_INITIALIZE_CONFIG, None) == NO_ERROR
        table.load(saved)


def _param(thumbprint: str, **more: object) -> HTTP_SERVICE_CONFIG_SSL_PARAM:
    digest = bytes.fromhex(thumbprint)
    return HTTP_SERVICE_CONFIG_SSL_PARAM(
        SslHashLength=len(digest), pSslHash=digest, AppId=uuid.UUID(int=17), pSslCertStoreName="MY", **more
    )


def _ipport(port: int, thumbprint: str, address: str = "0.0.0.0") -> HTTP_SERVICE_CONFIG_SSL_SET:
    return HTTP_SERVICE_CONFIG_SSL_SET(
        KeyDesc=HTTP_SERVICE_CONFIG_SSL_KEY(pIpPort=SOCKADDR_IN.from_address((address, port))),
        ParamDesc=_param(thumbprint),
    )


def _set(config_id: int, record: object) -> int:
    return HttpSetServiceConfiguration(None, config_id, record, sizeof(record), None)


def _import(pki: Pki, name: str) -> str:
    leaf = pki.server(name)
    return CertStores().import_pem(pki.chain_pem(leaf), leaf.key_pem())


def test_ipport_record_set_query_update_delete_with_the_documented_codes(config: None, pki: Pki) -> None:
    port = free_port()
    first, second = _import(pki, "first.test"), _import(pki, "second.test")
    record = _ipport(port, first)
    assert _set(HttpServiceConfigSSLCertInfo, record) == NO_ERROR
    assert _set(HttpServiceConfigSSLCertInfo, record) == ERROR_ALREADY_EXISTS

    query = HTTP_SERVICE_CONFIG_SSL_QUERY(
        QueryDesc=HttpServiceConfigQueryExact,
        KeyDesc=HTTP_SERVICE_CONFIG_SSL_KEY(SOCKADDR_IN.from_address(("0.0.0.0", port))),
    )
    out, returned = HTTP_SERVICE_CONFIG_SSL_SET(), ctypes.c_ulong()
    code = HttpQueryServiceConfiguration(
        None, HttpServiceConfigSSLCertInfo, query, sizeof(query), out, 8, returned, None
    )
    assert code == ERROR_INSUFFICIENT_BUFFER and returned.value > sizeof(out)
    needed = returned.value
    code = HttpQueryServiceConfiguration(
        None, HttpServiceConfigSSLCertInfo, query, sizeof(query), out, needed, returned, None
    )
    assert code == NO_ERROR
    assert out.ParamDesc.pSslHash == bytes.fromhex(first) and out.ParamDesc.SslHashLength == 20
    assert out.ParamDesc.AppId == uuid.UUID(int=17) and out.ParamDesc.pSslCertStoreName == "MY"
    assert out.KeyDesc.pIpPort.to_address() == ("0.0.0.0", port)

    assert (
        HttpUpdateServiceConfiguration(
            None, HttpServiceConfigSSLCertInfo, _ipport(port, second), sizeof(record), None
        )
        == NO_ERROR
    )
    HttpQueryServiceConfiguration(
        None, HttpServiceConfigSSLCertInfo, query, sizeof(query), out, needed, returned, None
    )
    assert out.ParamDesc.pSslHash == bytes.fromhex(second)

    missing = _ipport(free_port(), first)
    assert (
        HttpUpdateServiceConfiguration(None, HttpServiceConfigSSLCertInfo, missing, sizeof(missing), None)
        == ERROR_FILE_NOT_FOUND
    )
    assert (
        HttpDeleteServiceConfiguration(None, HttpServiceConfigSSLCertInfo, record, sizeof(record), None)
        == NO_ERROR
    )
    assert HttpDeleteServiceConfiguration(
        None, HttpServiceConfigSSLCertInfo, record, sizeof(record), None
    ) == (ERROR_FILE_NOT_FOUND)
    code = HttpQueryServiceConfiguration(
        None, HttpServiceConfigSSLCertInfo, query, sizeof(query), out, needed, returned, None
    )
    assert code == ERROR_FILE_NOT_FOUND


def test_bad_records_change_nothing(config: None, pki: Pki) -> None:
    port = free_port()
    thumbprint = _import(pki, "site.test")
    unknown = "AB" * 20
    assert _set(HttpServiceConfigSSLCertInfo, _ipport(port, unknown)) == ERROR_NO_SUCH_LOGON_SESSION
    keyless = CertStores().import_pem(pki.root.cert_pem(), None)  # a trusted issuer only: cannot be served
    assert _set(HttpServiceConfigSSLCertInfo, _ipport(port, keyless)) == ERROR_NO_SUCH_LOGON_SESSION
    short = _ipport(port, thumbprint)
    short.ParamDesc.pSslHash = b"\x01\x02"
    short.ParamDesc.SslHashLength = 2
    assert _set(HttpServiceConfigSSLCertInfo, short) == ERROR_INVALID_PARAMETER
    no_address = HTTP_SERVICE_CONFIG_SSL_SET(
        KeyDesc=HTTP_SERVICE_CONFIG_SSL_KEY(), ParamDesc=_param(thumbprint)
    )
    assert _set(HttpServiceConfigSSLCertInfo, no_address) == ERROR_INVALID_PARAMETER
    wrong_struct = HTTP_SERVICE_CONFIG_SSL_SNI_SET()
    assert _set(HttpServiceConfigSSLCertInfo, wrong_struct) == ERROR_INVALID_PARAMETER
    assert HttpSetServiceConfiguration(
        None, HttpServiceConfigSSLCertInfo, _ipport(port, thumbprint), 4, None
    ) == (ERROR_INVALID_PARAMETER)
    assert ssl_bindings().table.entries() == []


def test_sni_and_ccs_records_enumerate_and_the_sni_one_is_served(
    config: None, pki: Pki, tmp_path: Path
) -> None:
    server = TlsServer(tmp_path / "httperr")
    try:
        wildcard, named = _import(pki, "wildcard.test"), _import(pki, "www.example.test")
        assert _set(HttpServiceConfigSSLCertInfo, _ipport(server.port, wildcard)) == NO_ERROR
        sni = HTTP_SERVICE_CONFIG_SSL_SNI_SET(
            KeyDesc=HTTP_SERVICE_CONFIG_SSL_SNI_KEY(
                IpPort=SOCKADDR_IN.from_address(("0.0.0.0", server.port)), Host="www.example.test"
            ),
            ParamDesc=_param(named),
        )
        assert _set(HttpServiceConfigSslSniCertInfo, sni) == NO_ERROR
        ccs = HTTP_SERVICE_CONFIG_SSL_CCS_SET(
            KeyDesc=HTTP_SERVICE_CONFIG_SSL_CCS_KEY(
                LocalAddress=SOCKADDR_IN.from_address(("0.0.0.0", server.port + 1))
            ),
            ParamDesc=HTTP_SERVICE_CONFIG_SSL_PARAM(AppId=uuid.UUID(int=3)),
        )
        assert _set(HttpServiceConfigSslCcsCertInfo, ccs) == NO_ERROR

        hosts = []
        for token in range(5):
            query = HTTP_SERVICE_CONFIG_SSL_SNI_QUERY(QueryDesc=HttpServiceConfigQueryNext, dwToken=token)
            out, returned = HTTP_SERVICE_CONFIG_SSL_SNI_SET(), ctypes.c_ulong()
            code = HttpQueryServiceConfiguration(
                None, HttpServiceConfigSslSniCertInfo, query, sizeof(query), out, 4096, returned, None
            )
            if code == ERROR_NO_MORE_ITEMS:
                break
            assert code == NO_ERROR
            hosts.append(out.KeyDesc.Host)
        assert hosts == ["www.example.test"]

        root = pki.root_file(tmp_path)
        subjects = []
        for name in ("www.example.test", "other.test"):
            server.serve()
            _response, seen = https_get(
                server.port, client_context(root, check_hostname=False), server_name=name
            )
            subjects.append(seen["peercert"]["subject"][-1][0][1])
        assert subjects == ["www.example.test", "wildcard.test"]
        assert (
            HttpDeleteServiceConfiguration(None, HttpServiceConfigSslSniCertInfo, sni, sizeof(sni), None)
            == NO_ERROR
        )
        server.serve()
        _response, seen = https_get(
            server.port, client_context(root, check_hostname=False), server_name="www.example.test"
        )
        assert seen["peercert"]["subject"][-1][0][1] == "wildcard.test"  # deleted: the next connection knows
    finally:
        server.close()
