"""Throwaway certificates for the TLS tests: a root CA, an intermediate, server and client leaves (RSA, ECDSA)."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_NOW = datetime.datetime.now(datetime.UTC)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "httpsys tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def new_key(kind: str = "ec") -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


@dataclass
class Issued:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self, passphrase: bytes | None = None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
        )
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    def thumbprint(self) -> str:
        return self.cert.fingerprint(hashes.SHA1()).hex().upper()


def issue(
    common_name: str,
    issuer: Issued | None = None,
    *,
    kind: str = "ec",
    ca: bool = False,
    names: tuple[str, ...] = (),
    client: bool = False,
) -> Issued:
    key = new_key(kind)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.cert.subject if issuer else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOW - datetime.timedelta(days=1))
        .not_valid_after(_NOW + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        alt: list[x509.GeneralName] = []
        for name in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    if not ca:
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    signer = issuer.key if issuer else key
    return Issued(builder.sign(signer, hashes.SHA256()), key)


@dataclass
class Pki:
    root: Issued
    intermediate: Issued

    def server(self, *names: str, kind: str = "ec") -> Issued:
        return issue(
            names[0] if names else "localhost", self.intermediate, kind=kind, names=names or ("localhost",)
        )

    def client(self, name: str = "client") -> Issued:
        return issue(name, self.intermediate, client=True)

    def chain_pem(self, leaf: Issued) -> bytes:
        return leaf.cert_pem() + self.intermediate.cert_pem()

    def write(
        self, directory: Path, leaf: Issued, stem: str, passphrase: bytes | None = None
    ) -> tuple[Path, Path]:
        cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
        cert_path.write_bytes(self.chain_pem(leaf))
        key_path.write_bytes(leaf.key_pem(passphrase))
        return cert_path, key_path

    def root_file(self, directory: Path) -> Path:
        path = directory / "root-ca.pem"
        path.write_bytes(self.root.cert_pem())
        return path


def new_pki() -> Pki:
    root = issue("httpsys test root", ca=True)
    return Pki(root, issue("httpsys test intermediate", root, ca=True))
