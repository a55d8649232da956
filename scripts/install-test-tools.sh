#!/usr/bin/env bash
# Installs the system tools some tests drive, from Debian packages:
#   ab            (apache2-utils) - HTTP/1.0 keep-alive load, tests/integration/test_connection_semantics.py (make test)
#   slowhttptest  (slowhttptest)  - the attack suite, tests/hostile/test_slow_attacks.py (make test-attacks)
#   nghttp, h2load (nghttp2-client) - HTTP/2 clients, tests/http2/test_clients.py
#   chromium      (chromium)      - headless browser over https with h2, tests/tls/test_chromium_h2.py
#   testssl       (testssl.sh)    - TLS scanner, tests/tls/test_tls_scanner.py (the safe defaults, issue 17 item 6)
# usage: scripts/install-test-tools.sh [TOOL...]   (no TOOL: all of them)
# Idempotent: installs only what is missing. Needs root (or sudo) and Debian's apt; without them it says which
# tools are missing and exits 0 (the tests that need them skip, saying why; CI requires them, see .ci/run).
set -euo pipefail

package_of() {
    case "$1" in
        ab) echo apache2-utils ;;
        slowhttptest) echo slowhttptest ;;
        nghttp | h2load) echo nghttp2-client ;;
        chromium) echo chromium ;;
        testssl) echo testssl.sh ;;
        *) echo "install-test-tools: unknown tool '$1' (known: ab, slowhttptest, nghttp, h2load, chromium, testssl)" >&2; return 1 ;;
    esac
}

tools=("$@")
if [ ${#tools[@]} -eq 0 ]; then
    tools=(ab slowhttptest nghttp h2load chromium testssl)
fi

missing=()
for tool in "${tools[@]}"; do
    package=$(package_of "$tool")
    if command -v "$tool" >/dev/null 2>&1; then
        echo "$tool: $(command -v "$tool")"
    else
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-tools: apt-get not found; install ${missing[*]} by hand (the tests that need them skip)" >&2
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo"
    else
        echo "install-test-tools: not root and no sudo; ${missing[*]} not installed (the tests that need them skip)" >&2
        exit 0
    fi
fi

export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -o DPkg::Lock::Timeout=300 -qq)  # wait for another apt run instead of failing
$SUDO "${APT[@]}" update
$SUDO "${APT[@]}" install -y --no-install-recommends "${missing[@]}"
for tool in "${tools[@]}"; do
    echo "$tool: $(command -v "$tool")"
done
