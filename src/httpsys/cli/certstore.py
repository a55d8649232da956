"""`httpsys certstore import|list|delete`: the certificate stores SSL bindings name (ARCHITECTURE §8.8).

Responsibility: the sub-command's arguments, reading the PEM files, asking for an encrypted key's passphrase on
a terminal (or HTTPSYS_CERT_PASSPHRASE_FILE / --passphrase-file when there is none), and printing what the store
did — the thumbprint on import, one line per certificate on list. It must not print or log key material, and it
must not keep certificates itself: `httpsys._engine.certstore` does.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from httpsys._engine.certstore import DEFAULT_STORE, CertStoreError, CertStores, PassphraseNeeded
from httpsys.cli.diagnostics import EXIT_FAILURE, CommandError

__all__ = ["add_certstore_parser", "run_certstore"]


def add_certstore_parser(commands: Any) -> None:
    """Register `httpsys certstore` in the command's sub-parsers."""
    parser = commands.add_parser(
        "certstore",
        help="certificate stores for SSL bindings (import, list, delete)",
        description="Keep certificates with their private keys in stores under the configuration directory "
        "(HTTPSYS_CONFIG_DIR, else /etc/httpsys for root, $XDG_CONFIG_HOME/httpsys otherwise), named by "
        "their SHA-1 thumbprint as SSL bindings name them (certhash=, SslHash).",
        epilog="examples:\n  httpsys certstore import site.pem site.key          # prints the thumbprint\n"
        "  httpsys certstore list\n  httpsys certstore delete 0123...ABCD --store MY\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config-dir", metavar="DIR", default=None, help="configuration directory")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    add = actions.add_parser("import", help="add a certificate (PEM, chain included) with its private key")
    add.add_argument("cert", metavar="CERT.pem", help="the certificate, then its intermediates")
    add.add_argument(
        "key",
        metavar="KEY.pem",
        nargs="?",
        help="its private key (RSA or ECDSA; may be encrypted); without it the certificate is a trusted issuer "
        "(for client certificates: DefaultSslCtlStoreName), as in Windows' Root store",
    )
    add.add_argument("--store", default=DEFAULT_STORE, help=f"store name (default {DEFAULT_STORE})")
    add.add_argument(
        "--passphrase-file",
        metavar="FILE",
        default=None,
        help="read an encrypted key's passphrase from FILE (first line) instead of asking on the terminal",
    )
    show = actions.add_parser("list", help="list the certificates of one store or of all")
    show.add_argument("--store", default=None, help="only this store")
    remove = actions.add_parser("delete", help="remove a certificate and its key")
    remove.add_argument("thumbprint", metavar="HASH", help="its SHA-1 thumbprint (hex)")
    remove.add_argument("--store", default=DEFAULT_STORE, help=f"store name (default {DEFAULT_STORE})")


def run_certstore(args: argparse.Namespace) -> int:
    """Run `httpsys certstore ACTION`; the exit status (errors raise CommandError)."""
    stores = CertStores(args.config_dir)
    try:
        if args.action == "import":
            return _import(stores, args)
        if args.action == "list":
            for cert in stores.list(args.store):
                key = "" if cert.has_key else " (no private key)"
                sys.stdout.write(
                    f"{cert.store}\t{cert.thumbprint}\t{cert.key_type}{key}\tchain {cert.chain_length}\t"
                    f"until {cert.not_after}\t{cert.subject}\n"
                )
            return 0
        if args.action == "delete":
            stores.delete(args.thumbprint, args.store)
            return 0
    except CertStoreError as exc:
        raise CommandError(str(exc), EXIT_FAILURE) from None
    except OSError as exc:
        raise CommandError(f"{exc.filename or stores.root}: {exc.strerror or exc}", EXIT_FAILURE) from None
    raise CommandError("certstore needs an action: import, list or delete")


def _import(stores: CertStores, args: argparse.Namespace) -> int:
    cert_data = _read(args.cert)
    key_data = _read(args.key) if args.key else None
    passphrase = _passphrase_from_file(args.passphrase_file)
    try:
        thumbprint = stores.import_pem(
            cert_data,
            key_data,
            args.store,
            passphrase=passphrase,
            cert_source=args.cert,
            key_source=args.key or "key",
        )
    except PassphraseNeeded as exc:
        if passphrase is not None or not sys.stdin.isatty():
            raise CommandError(
                f"{exc} (no terminal to ask on: use --passphrase-file)", EXIT_FAILURE
            ) from None
        import getpass  # only when a key asks for its passphrase on a terminal

        asked = getpass.getpass(f"passphrase for {args.key}: ").encode()
        thumbprint = stores.import_pem(
            cert_data, key_data, args.store, passphrase=asked, cert_source=args.cert, key_source=args.key
        )
    sys.stdout.write(thumbprint + "\n")
    return 0


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(1 << 20)
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}", EXIT_FAILURE) from None


def _passphrase_from_file(path: str | None) -> bytes | None:
    path = path or os.environ.get("HTTPSYS_CERT_PASSPHRASE_FILE")
    if not path:
        return None
    lines = _read(path).splitlines()
    return lines[0] if lines else b""
