"""`httpsys certstore import|list|delete` and the stores under HTTPSYS_CONFIG_DIR (ARCHITECTURE §8.8)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from certs import Pki

from httpsys._engine.certstore import CertStores, name_matches
from httpsys.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["certstore", *argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_import_prints_the_sha1_thumbprint_and_keeps_the_chain_and_a_0600_key(
    kind: str, pki: Pki, tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = pki.server("localhost", kind=kind)
    cert_path, key_path = pki.write(tmp_path, leaf, "site")
    status, out, err = _run(capsys, "import", str(cert_path), str(key_path))
    assert status == 0, err
    assert out.strip() == leaf.thumbprint()
    store = config_dir / "certstores" / "MY"
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o700
    key_file = store / f"{leaf.thumbprint()}.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    chain = (store / f"{leaf.thumbprint()}.pem").read_bytes()
    assert chain.count(b"BEGIN CERTIFICATE") == 2 and chain.startswith(leaf.cert_pem())
    [listed] = CertStores().list()
    assert listed.thumbprint == leaf.thumbprint()
    assert listed.key_type == ("ECDSA P-256" if kind == "ec" else "RSA 2048")
    assert listed.chain_length == 2


def test_list_and_delete_by_store(
    pki: Pki, tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one, two = pki.server("one.test"), pki.server("two.test", kind="rsa")
    for leaf, store in ((one, "MY"), (two, "WebHosting")):
        cert_path, key_path = pki.write(tmp_path, leaf, leaf.thumbprint())
        assert _run(capsys, "import", str(cert_path), str(key_path), "--store", store)[0] == 0
    status, out, _ = _run(capsys, "list")
    lines = out.splitlines()
    assert status == 0 and len(lines) == 2
    assert lines[0].startswith(f"MY\t{one.thumbprint()}\tECDSA P-256") and "CN=one.test" in lines[0]
    assert lines[1].startswith(f"WebHosting\t{two.thumbprint()}\tRSA 2048")
    status, out, _ = _run(capsys, "list", "--store", "WebHosting")
    assert out.count("\n") == 1 and two.thumbprint() in out
    # delete accepts the lower-case, colon-separated spelling browsers print
    spaced = ":".join(two.thumbprint()[i : i + 2] for i in range(0, 40, 2)).lower()
    assert _run(capsys, "delete", spaced, "--store", "WebHosting")[0] == 0
    assert [c.thumbprint for c in CertStores().list()] == [one.thumbprint()]
    status, _, err = _run(capsys, "delete", two.thumbprint(), "--store", "WebHosting")
    assert status == 1 and f"no certificate with hash {two.thumbprint()} in store WebHosting" in err


def test_an_encrypted_key_without_a_terminal_fails_clearly_and_stores_nothing(
    pki: Pki,
    tmp_path: Path,
    config_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    leaf = pki.server()
    cert_path, key_path = pki.write(tmp_path, leaf, "site", passphrase=b"s3cret")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    status, out, err = _run(capsys, "import", str(cert_path), str(key_path))
    assert status == 1 and out == ""
    assert (
        err.startswith("httpsys: ")
        and "encrypted and needs its passphrase" in err
        and "--passphrase-file" in err
    )
    assert CertStores().list() == []
    wrong = tmp_path / "wrong"
    wrong.write_text("nope\n")
    status, _, err = _run(capsys, "import", str(cert_path), str(key_path), "--passphrase-file", str(wrong))
    assert status == 1 and "wrong passphrase" in err
    right = tmp_path / "right"
    right.write_text("s3cret\n")
    status, out, _ = _run(capsys, "import", str(cert_path), str(key_path), "--passphrase-file", str(right))
    assert status == 0 and out.strip() == leaf.thumbprint()
    stored = (config_dir / "certstores" / "MY" / f"{leaf.thumbprint()}.key").read_bytes()
    assert b"ENCRYPTED" not in stored and b"BEGIN PRIVATE KEY" in stored  # usable by the driver unattended


def test_an_encrypted_key_asks_for_its_passphrase_on_a_terminal(
    pki: Pki,
    tmp_path: Path,
    config_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    leaf = pki.server()
    cert_path, key_path = pki.write(tmp_path, leaf, "site", passphrase=b"s3cret")
    asked: list[str] = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or "s3cret")
    status, out, _ = _run(capsys, "import", str(cert_path), str(key_path))
    assert status == 0 and out.strip() == leaf.thumbprint()
    assert asked == [f"passphrase for {key_path}: "]


def test_bad_input_is_one_line_and_changes_nothing(
    pki: Pki, tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf, other = pki.server(), pki.server("other.test")
    cert_path, key_path = pki.write(tmp_path, leaf, "site")
    _, other_key = pki.write(tmp_path, other, "other")
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    cases = [
        ((str(cert_path), str(other_key)), "does not belong to the certificate"),
        ((str(garbage), str(key_path)), "malformed certificate"),
        ((str(key_path), str(key_path)), "no PEM certificate"),
        ((str(cert_path), str(cert_path)), "no PEM private key"),
        ((str(cert_path), str(tmp_path / "missing.key")), "cannot read"),
        ((str(cert_path), str(key_path), "--store", "../etc"), "is not a store name"),
    ]
    for argv, message in cases:
        status, out, err = _run(capsys, "import", *argv)
        assert status != 0 and out == "" and message in err, (argv, err)
        assert err.count("\n") == 1 and "Traceback" not in err
        assert b"PRIVATE" not in err.encode() and leaf.key_pem().splitlines()[1].decode() not in err
    assert CertStores().list() == []
    assert not (config_dir / "certstores" / "MY").exists() or not any(
        (config_dir / "certstores" / "MY").iterdir()
    )


@pytest.mark.parametrize(
    ("pattern", "host", "covered"),
    [
        ("www.example.com", "www.example.com", True),
        ("*.example.com", "www.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.b.example.com", False),
        ("www.example.com", "example.com", False),
    ],
)
def test_a_certificate_name_covers_a_host_as_tls_clients_match_it(
    pattern: str, host: str, covered: bool
) -> None:
    assert name_matches(pattern, host) is covered


def test_a_trusted_issuer_is_imported_without_a_key(
    pki: Pki, tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = pki.root_file(tmp_path)
    status, out, err = _run(capsys, "import", str(root), "--store", "Root")
    assert status == 0, err
    assert out.strip() == pki.root.thumbprint()
    status, out, _ = _run(capsys, "list", "--store", "Root")
    assert f"Root\t{pki.root.thumbprint()}\tECDSA P-256 (no private key)\tchain 1" in out
    assert not (config_dir / "certstores" / "Root" / f"{pki.root.thumbprint()}.key").exists()
    assert _run(capsys, "delete", pki.root.thumbprint(), "--store", "Root")[0] == 0
    assert CertStores().list() == []
