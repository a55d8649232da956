"""The command's TLS options (`--ssl-certfile`, `--ssl-keyfile`, `--ssl-keyfile-password`, `--ssl-ca-certs`,
`--ssl-cert-reqs`, as uvicorn names them): https:// prefixes served from certificate files, without the store.

Responsibility: declare the options, check the files before anything listens (one line saying what is wrong),
and put an SSL binding per https port (every address, IPv4 and IPv6) into this process's binding table, so the
driver terminates TLS with them (ARCHITECTURE §8.9). It must not serve or open sockets, and it must not print or
log key material.
"""

from __future__ import annotations

import argparse
import os
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

from httpsys._core.sslbindings import FLAG_NEGOTIATE_CLIENT_CERT, BindingKind, SslBinding
from httpsys._core.status import Win32Error
from httpsys._engine.certstore import CertStoreError, load_chain, load_private_key
from httpsys._engine.tls import safe_context, ssl_bindings
from httpsys.cli.diagnostics import CommandError, parse_prefix

__all__ = ["TlsFiles", "add_tls_options", "bind_https_ports", "throwaway_certificate", "tls_files"]


@dataclass(frozen=True)
class TlsFiles:
    certfile: str
    keyfile: str
    ca_certs: str = ""
    cert_reqs: int = 0  # ssl.CERT_NONE 0, CERT_OPTIONAL 1, CERT_REQUIRED 2 (uvicorn's numbers)


def add_tls_options(parser: argparse.ArgumentParser) -> None:
    tls = parser.add_argument_group(
        "TLS for https:// prefixes (uvicorn's names; without them, an SSL binding)"
    )
    tls.add_argument(
        "--ssl-certfile", metavar="FILE", help="certificate chain (PEM: the leaf, then intermediates)"
    )
    tls.add_argument(
        "--ssl-keyfile", metavar="FILE", help="its private key (PEM; default: in --ssl-certfile)"
    )
    tls.add_argument(
        "--ssl-keyfile-password", metavar="PASSWORD", help="passphrase of an encrypted --ssl-keyfile"
    )
    tls.add_argument(
        "--ssl-ca-certs", metavar="FILE", help="CA certificates that client certificates must chain to"
    )
    tls.add_argument(
        "--ssl-cert-reqs",
        type=int,
        choices=(0, 1, 2),
        default=0,
        metavar="{0,1,2}",
        help="client certificates: 0 none (default), 1 optional, 2 required (ssl.CERT_*)",
    )


def tls_files(ns: argparse.Namespace) -> TlsFiles | None:
    """The TLS files of the command line, checked; None when --ssl-certfile was not given."""
    certfile = getattr(ns, "ssl_certfile", None)
    if not certfile:
        for flag in ("ssl_keyfile", "ssl_ca_certs", "ssl_keyfile_password"):
            if getattr(ns, flag, None):
                raise CommandError(f"--{flag.replace('_', '-')} needs --ssl-certfile")
        return None
    keyfile = ns.ssl_keyfile or certfile
    cert_data, key_data = _read(certfile), _read(keyfile)
    password = ns.ssl_keyfile_password.encode() if ns.ssl_keyfile_password else None
    try:
        load_chain(cert_data, certfile)
        key = load_private_key(key_data, keyfile, password)
    except CertStoreError as exc:
        raise CommandError(str(exc)) from None
    if password is not None:
        keyfile = _decrypted_copy(key)  # the driver loads it unattended
    try:
        ctx = safe_context()
        ctx.load_cert_chain(certfile, keyfile)
        if ns.ssl_ca_certs:
            ctx.load_verify_locations(cafile=ns.ssl_ca_certs)
    except (OSError, ssl.SSLError) as exc:
        what = "--ssl-ca-certs" if ns.ssl_ca_certs and "KEY_VALUES_MISMATCH" not in str(exc) else keyfile
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or type(exc).__name__
        if reason == "KEY_VALUES_MISMATCH":
            raise CommandError(
                f"{ns.ssl_keyfile or certfile}: the private key does not belong to {certfile}"
            ) from None
        raise CommandError(f"{what}: cannot be used for TLS ({reason})") from None
    return TlsFiles(certfile, keyfile, ns.ssl_ca_certs or "", ns.ssl_cert_reqs)


def throwaway_certificate(urls: Sequence[str]) -> TlsFiles:
    """A self-signed ECDSA P-256 certificate for localhost, 127.0.0.1, ::1 and the hosts of `urls`, valid for a
    day, in a private temporary directory removed when the process exits (`httpsys demo --self-signed`)."""
    import datetime
    import ipaddress
    import shutil

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    for url in urls:
        host = parse_prefix(url).host.strip("[]")
        if host in ("+", "*", "localhost", "127.0.0.1", "::1"):
            continue
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "httpsys demo (self-signed)")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory = tempfile.mkdtemp(prefix="httpsys-demo-tls-")
    import atexit

    atexit.register(shutil.rmtree, directory, True)
    cert_path, key_path = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    with open(cert_path, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return TlsFiles(cert_path, key_path)


def bind_https_ports(urls: Sequence[str], files: TlsFiles | None) -> None:
    """Bind the files to every https port of `urls` (0.0.0.0:PORT and [::]:PORT); without files, every https
    port must already have an SSL binding (`httpsys netsh http add sslcert`), or CommandError says so."""
    table = ssl_bindings().table
    for url in urls:
        prefix = parse_prefix(url)
        if prefix.scheme != "https":
            continue
        if files is not None and os.environ.get("HTTPSYS_DAEMON_SOCKET"):
            raise CommandError(
                "--ssl-certfile applies to the embedded driver; with HTTPSYS_DAEMON_SOCKET the daemon terminates "
                "TLS with its own SSL bindings (httpsys netsh http add sslcert)"
            )
        if files is None:
            if not table.has_port(prefix.port):
                raise CommandError(
                    f"cannot serve {url!r}: port {prefix.port} has no SSL binding; give --ssl-certfile and "
                    "--ssl-keyfile, or bind a certificate (httpsys netsh http add sslcert ipport=0.0.0.0:"
                    f"{prefix.port} certhash=...)"
                )
            continue
        for address in ("0.0.0.0", "::"):
            binding = SslBinding(
                BindingKind.IPPORT,
                prefix.port,
                address=address,
                flags=FLAG_NEGOTIATE_CLIENT_CERT if files.cert_reqs else 0,
                cert_file=files.certfile,
                key_file=files.keyfile,
                ca_file=files.ca_certs,
                require_client_cert=files.cert_reqs == 2,
            )
            if table.set(binding) == Win32Error.ERROR_ALREADY_EXISTS:
                table.update(binding)  # this process's files win over a stored binding


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(1 << 20)
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None


def _decrypted_copy(key: object) -> str:
    """The key decrypted into a 0600 file only this process knows of, removed when it exits."""
    import atexit

    from cryptography.hazmat.primitives import serialization

    assert hasattr(key, "private_bytes")
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd, path = tempfile.mkstemp(prefix="httpsys-key-", suffix=".pem")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    atexit.register(_remove, path)
    return path


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
