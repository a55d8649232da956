#!/usr/bin/env bash
# Installs what the benchmark needs, and nothing into the project's .venv:
#   - Debian packages: wrk, nginx-light (nginx plus the echo module, for the POST echo scenario),
#     nghttp2-client (h2load, for the HTTP/2 scenario once httpsys speaks HTTP/2);
#   - the Python peers (uvicorn, httptools, uvloop, granian, hypercorn) in bench/.peers-venv, pinned to the
#     versions /work/shared/bench/PEERS.md was measured with (BENCH_UNPINNED=1 takes the newest instead).
# Idempotent: each step is skipped when its result is already there; `apt-get update` runs at most once.
# It must not start any service: a missing policy-rc.d is provided for the duration of apt-get install.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${PY:-python3}"
VENV="$HERE/.peers-venv"
PINNED="uvicorn==0.54.0 httptools==0.9.0 uvloop==0.23.0 granian==2.8.7 hypercorn==0.18.0 h11==0.16.0"
LATEST="uvicorn httptools uvloop granian hypercorn h11"

missing=()
command -v wrk >/dev/null || missing+=(wrk)
[[ -x /usr/sbin/nginx && -e /usr/lib/nginx/modules/ngx_http_echo_module.so ]] || missing+=(nginx-light)
command -v h2load >/dev/null || missing+=(nghttp2-client)
if (( ${#missing[@]} )); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "bench: need root to apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "bench: installing Debian packages: ${missing[*]}"
  made_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  trap '[[ -n "$made_policy" ]] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ -n "${BENCH_UNPINNED:-}" ]]; then pkgs="$LATEST"; else pkgs="$PINNED"; fi
stamp="$VENV/.installed-$(echo "$pkgs" | cksum | cut -d' ' -f1)"
if [[ ! -e "$stamp" ]]; then
  echo "bench: installing the Python peers into bench/.peers-venv: $pkgs"
  [[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install -q --disable-pip-version-check $pkgs
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
