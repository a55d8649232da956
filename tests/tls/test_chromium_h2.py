"""Headless Chromium loads a page with subresources over https:// from `httpsys serve` and gets every one of them
over HTTP/2 (issue 18 item 5): the page's own script reads `nextHopProtocol` of each resource timing entry into the
DOM that `--dump-dom` prints, and the server's access log says HTTP/2.0 for each on one connection. The test's
throwaway certificate is trusted by its SPKI pin (`--ignore-certificate-errors-spki-list`), nothing wider.
Debian's `chromium` is installed by scripts/install-test-tools.sh (`make test`); without it the test skips, except
on CI (HTTPSYS_REQUIRE_TEST_TOOLS) where it fails."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from certs import Pki
from cryptography.hazmat.primitives import serialization
from tlsserver import free_port

CHROMIUM = shutil.which("chromium")
REQUIRE_TOOLS = os.environ.get("HTTPSYS_REQUIRE_TEST_TOOLS") == "1"

INDEX = b"""<!doctype html><html><head><title>h2</title><link rel="stylesheet" href="/style.css"></head>
<body><p id="out">pending</p><img src="/pixel.svg"><script src="/app.js"></script></body></html>
"""
# Writes "path=protocol" for the page and each subresource into #out once everything has loaded.
SCRIPT = b"""window.addEventListener("load", function () {
  var entries = performance.getEntries().filter(function (e) { return e.nextHopProtocol !== undefined; });
  document.getElementById("out").textContent = entries.map(function (e) {
    return new URL(e.name).pathname + "=" + e.nextHopProtocol; }).join(" ");
});
"""
RESOURCES = ("/index.html", "/style.css", "/pixel.svg", "/app.js")


def _spki_pin(pem: bytes) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of the first certificate of `pem`, Chromium's pin format."""
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(pem)
    der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def test_headless_chromium_loads_a_page_and_its_subresources_over_h2(
    pki: Pki, tmp_path: Path, config_dir: Path
) -> None:
    if CHROMIUM is None:
        if REQUIRE_TOOLS:
            pytest.fail(
                "chromium is required here (HTTPSYS_REQUIRE_TEST_TOOLS): scripts/install-test-tools.sh chromium"
            )
        pytest.skip("chromium is not installed: scripts/install-test-tools.sh chromium")
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_bytes(INDEX)
    (site / "style.css").write_bytes(b"body { color: #123; }\n")
    (site / "pixel.svg").write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"></svg>\n')
    (site / "app.js").write_bytes(SCRIPT)
    cert, key = pki.write(tmp_path, pki.server("localhost", "127.0.0.1"), "site")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "httpsys.cli", "serve", str(site), "--url", f"https://127.0.0.1:{port}/",
         "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "httpsys serve did not start listening"
                time.sleep(0.05)
        browser = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}",
             f"--ignore-certificate-errors-spki-list={_spki_pin(cert.read_bytes())}",
             "--dump-dom", f"https://127.0.0.1:{port}/index.html"],
            capture_output=True, text=True, timeout=90,
        )  # fmt: skip
    finally:
        server.terminate()
        try:
            _, log = server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            _, log = server.communicate()
    found = re.search(r'<p id="out">([^<]*)</p>', browser.stdout)
    assert found is not None, (browser.stdout, browser.stderr[-2000:])
    seen = dict(item.split("=", 1) for item in found.group(1).split())
    assert {path: seen.get(path) for path in RESOURCES} == {path: "h2" for path in RESOURCES}
    # the server's side: each resource was a stream (Version 2.0) of the one connection the browser opened
    lines = re.findall(r'(127\.0\.0\.1:\d+) - "GET (\S+) HTTP/(\S+)" 200', log)
    served = {path: (peer, version) for peer, path, version in lines}
    assert {path: served[path][1] for path in RESOURCES if path in served} == {
        path: "2.0" for path in RESOURCES
    }
    assert len({served[path][0] for path in RESOURCES}) == 1
