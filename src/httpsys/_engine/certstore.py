"""Certificate stores: certificates with their private keys, by SHA-1 thumbprint, under the configuration directory.

Responsibility: the analogue of Windows' LocalMachine certificate stores (ARCHITECTURE §8.8). A store is a
directory `<config dir>/certstores/<NAME>/` (default store `MY`); each certificate is two files named by its
thumbprint (upper-case hex of the SHA-1 of the leaf's DER): `<hash>.pem` (the leaf, then its chain, as imported)
and `<hash>.key` (the private key, unencrypted PKCS#8, mode 0600 in a 0700 directory; a trusted issuer may come
without one). Import checks that the key
belongs to the certificate (RSA or ECDSA), decrypts an encrypted key with the passphrase it is given, and keeps
the chain in full. It must not log or return key material: errors name files and causes, never contents.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

DEFAULT_STORE = "MY"
_STORE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_THUMBPRINT = re.compile(r"^[0-9A-Fa-f]{40}$")


class CertStoreError(Exception):
    """A certificate, key or store that cannot be used; the message says which and why (never the key)."""


class PassphraseNeeded(CertStoreError):
    """The private key is encrypted and no passphrase was given."""


@dataclass(frozen=True)
class StoredCertificate:
    """One certificate of a store, as `list` shows it."""

    store: str
    thumbprint: str  # upper-case hex, 40 digits
    subject: str
    issuer: str
    not_after: str  # ISO 8601, UTC
    key_type: str  # "RSA 2048", "ECDSA P-256" (of the certificate's public key)
    chain_length: int  # certificates in the PEM file, the leaf included
    cert_path: str
    key_path: str
    dns_names: tuple[str, ...] = ()
    has_key: bool = True  # False: a trusted issuer imported without its private key  # the subjectAltName DNS names (lower case), for central-store bindings


def default_config_dir() -> str:
    """HTTPSYS_CONFIG_DIR, else /etc/httpsys for root, $XDG_CONFIG_HOME/httpsys otherwise (ARCHITECTURE §8.5)."""
    configured = os.environ.get("HTTPSYS_CONFIG_DIR")
    if configured:
        return configured
    if os.geteuid() == 0:
        return "/etc/httpsys"
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "httpsys")


def normalize_thumbprint(text: str) -> str:
    """The thumbprint in upper-case hex; spaces and colons (as certutil and browsers print them) are ignored."""
    compact = text.replace(" ", "").replace(":", "")
    if not _THUMBPRINT.match(compact):
        raise CertStoreError(
            f"{text!r} is not a certificate hash (40 hexadecimal digits, the SHA-1 thumbprint)"
        )
    return compact.upper()


def valid_store_name(name: str) -> str:
    if not _STORE_NAME.match(name):
        raise CertStoreError(f"{name!r} is not a store name (letters, digits, '_', '.', '-'; at most 128)")
    return name


def thumbprint_of(cert: x509.Certificate) -> str:
    return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()


def key_description(key: object) -> str:
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        curve = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}.get(key.curve.name)
        return f"ECDSA {curve or key.curve.name}"
    return type(key).__name__


def key_bits(key: object) -> int:
    """The key size in bits (ServerCertKeySize), 0 for a type we do not size."""
    if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return int(key.key_size)
    return 0


def load_chain(data: bytes, source: str) -> list[x509.Certificate]:
    """Every certificate of a PEM file, the leaf first; CertStoreError if there is none or one is malformed."""
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise CertStoreError(f"{source}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file")
    try:
        chain = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise CertStoreError(f"{source}: malformed certificate ({_first_line(exc)})") from None
    return chain


def load_private_key(data: bytes, source: str, passphrase: bytes | None) -> object:
    """The private key of a PEM file; PassphraseNeeded when it is encrypted and no passphrase was given."""
    if b"-----BEGIN" not in data or b"PRIVATE KEY-----" not in data:
        raise CertStoreError(f"{source}: no PEM private key in the file")
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError:
        if passphrase is None:
            raise PassphraseNeeded(
                f"{source}: the private key is encrypted and needs its passphrase"
            ) from None
        raise CertStoreError(
            f"{source}: the private key is not encrypted, but a passphrase was given"
        ) from None
    except ValueError:
        if passphrase is not None:
            raise CertStoreError(f"{source}: wrong passphrase, or a malformed private key") from None
        raise CertStoreError(f"{source}: malformed private key") from None
    except Exception:  # cryptography raises UnsupportedAlgorithm for key types it does not know
        raise CertStoreError(f"{source}: unsupported private key type") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CertStoreError(f"{source}: only RSA and ECDSA keys are supported, not {type(key).__name__}")
    return key


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _same_public_key(cert: x509.Certificate, key: object) -> bool:
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return False
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return cert.public_key().public_bytes(der, public) == key.public_key().public_bytes(der, public)


class CertStores:
    """The certificate stores under one configuration directory."""

    def __init__(self, config_dir: str | None = None) -> None:
        self.root = os.path.join(config_dir or default_config_dir(), "certstores")

    def store_dir(self, store: str) -> str:
        return os.path.join(self.root, valid_store_name(store))

    def paths(self, store: str, thumbprint: str) -> tuple[str, str]:
        """(certificate chain file, key file) of a certificate; CertStoreError when it is not in the store."""
        directory = self.store_dir(store)
        name = normalize_thumbprint(thumbprint)
        cert_path = os.path.join(directory, name + ".pem")
        key_path = os.path.join(directory, name + ".key")
        if not (os.path.isfile(cert_path) and os.path.isfile(key_path)):
            raise CertStoreError(f"no certificate with hash {name} in store {store}")
        return cert_path, key_path

    def import_pem(
        self,
        cert_data: bytes,
        key_data: bytes | None,
        store: str = DEFAULT_STORE,
        *,
        passphrase: bytes | None = None,
        cert_source: str = "certificate",
        key_source: str = "key",
    ) -> str:
        """Add a certificate (leaf first, then its chain) with its private key; returns the thumbprint. Without a
        key (`key_data` None) the certificate is a trusted issuer only, as in Windows' Root store: a binding's
        DefaultSslCtlStoreName may name its store, an SSL binding cannot use it.

        Importing the same certificate again replaces its files (Windows keeps one entry per thumbprint)."""
        directory = self.store_dir(store)
        chain = load_chain(cert_data, cert_source)
        if key_data is None:
            thumbprint = thumbprint_of(chain[0])
            os.makedirs(directory, mode=0o700, exist_ok=True)
            os.chmod(directory, 0o700)
            pem = b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in chain)
            _write_private(os.path.join(directory, thumbprint + ".pem"), pem, mode=0o644)
            return thumbprint
        key = load_private_key(key_data, key_source, passphrase)
        if not _same_public_key(chain[0], key):
            raise CertStoreError(
                f"{key_source}: the private key does not belong to the certificate in {cert_source}"
            )
        thumbprint = thumbprint_of(chain[0])
        pem = b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in chain)
        assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        os.makedirs(directory, mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
        _write_private(os.path.join(directory, thumbprint + ".key"), key_pem)
        _write_private(os.path.join(directory, thumbprint + ".pem"), pem, mode=0o644)
        return thumbprint

    def delete(self, thumbprint: str, store: str = DEFAULT_STORE) -> None:
        directory = self.store_dir(store)
        name = normalize_thumbprint(thumbprint)
        cert_path = os.path.join(directory, name + ".pem")
        if not os.path.isfile(cert_path):
            raise CertStoreError(f"no certificate with hash {name} in store {store}")
        key_path = os.path.join(directory, name + ".key")
        if os.path.exists(key_path):
            os.unlink(key_path)
        os.unlink(cert_path)

    def list(self, store: str | None = None) -> list[StoredCertificate]:
        """The certificates of one store, or of every store, sorted by store and thumbprint."""
        if store is not None:
            stores = [valid_store_name(store)]
        else:
            try:
                stores = sorted(name for name in os.listdir(self.root) if _STORE_NAME.match(name))
            except FileNotFoundError:
                return []
        found: list[StoredCertificate] = []
        for name in stores:
            directory = os.path.join(self.root, name)
            try:
                files = sorted(os.listdir(directory))
            except FileNotFoundError:
                continue
            for file in files:
                stem, ext = os.path.splitext(file)
                if ext != ".pem" or not _THUMBPRINT.match(stem):
                    continue
                cert_path = os.path.join(directory, file)
                try:
                    with open(cert_path, "rb") as fh:
                        chain = load_chain(fh.read(), cert_path)
                except (OSError, CertStoreError):
                    continue
                leaf = chain[0]
                found.append(
                    StoredCertificate(
                        store=name,
                        thumbprint=stem.upper(),
                        subject=leaf.subject.rfc4514_string(),
                        issuer=leaf.issuer.rfc4514_string(),
                        not_after=leaf.not_valid_after_utc.isoformat(),
                        key_type=key_description(leaf.public_key()),
                        chain_length=len(chain),
                        cert_path=cert_path,
                        key_path=os.path.join(directory, stem + ".key"),
                        dns_names=_dns_names(leaf),
                        has_key=os.path.isfile(os.path.join(directory, stem + ".key")),
                    )
                )
        return found


def _dns_names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(name.lower() for name in alt.get_values_for_type(x509.DNSName))


def name_matches(pattern: str, host: str) -> bool:
    """A certificate name (`www.example.com`, `*.example.com`) covers `host` (lower case, no trailing dot)."""
    if pattern == host:
        return True
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return False


def _write_private(path: str, data: bytes, mode: int = 0o600) -> None:
    """Write `data` to `path` atomically, created with `mode` (the key is never readable by others, not even
    for an instant: the temporary file is created 0600 before a byte is written)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


__all__ = [
    "DEFAULT_STORE",
    "CertStoreError",
    "CertStores",
    "PassphraseNeeded",
    "StoredCertificate",
    "default_config_dir",
    "key_bits",
    "key_description",
    "load_chain",
    "load_private_key",
    "name_matches",
    "normalize_thumbprint",
    "thumbprint_of",
]
