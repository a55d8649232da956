#!/usr/bin/env bash
# Installs the system tools the attack suite uses (tests/hostile/test_slow_attacks.py): slowhttptest.
# Idempotent: does nothing when the tool is already there. Needs root (or sudo) and Debian's apt.
set -euo pipefail

if command -v slowhttptest >/dev/null 2>&1; then
    echo "slowhttptest: $(command -v slowhttptest)"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-tools: apt-get not found; install slowhttptest by hand (the attack tests skip without it)" >&2
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-test-tools: not root and no sudo; the slowhttptest tests will be skipped" >&2
        exit 0
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends slowhttptest
echo "slowhttptest: $(command -v slowhttptest)"
