"""Maintainer tool: regenerate the README feature table from spec §6 and the status map below.

Usage: python docs/dev/feature_status.py ../shared/spec/httpapi-spec.md > /tmp/table.md
Statuses: works, partial, not yet, not supported. Notes say what is missing or where it deviates.
"""

from __future__ import annotations

import re
import sys

W, P, N, X = "works", "partial", "not yet", "not supported"

STATUS: dict[int, tuple[str, str]] = {
    20: (P, "one process today: ownership checks apply within the process; cross-process with the daemon"),
    24: (P, "SecurityAttributes accepted and kept; no per-user ACL enforcement in the embedded driver"),
    33: (P, "one process per queue today; re-routing between processes comes with the daemon"),
    36: (N, "needs the shared daemon (several processes on one queue)"),
    44: (X, "no admin/URL-ACL permission model in the embedded driver: every registration is allowed"),
    47: (P, "every address unless DriverSettings.ip_listen_list says otherwise (the command sets it when all prefixes are IP literals); the configuration-store record is not applied yet"),
    48: (W, "either order ⇒ ERROR_ALREADY_EXISTS; an https port is TLS with its SSL binding, never plaintext ([docs/tls.md](docs/tls.md))"),
    49: (P, "URL ACL records stored by HttpSetServiceConfiguration; not used for routing or permissions yet"),
    50: (P, "lower-cases scheme and host, IDN to punycode; Windows' exact rules are undocumented"),
    57: (N, "reservations do not take part in routing yet"),
    78: (P, "the SSL protocol item on TLS requests (decision 0021); no auth or timing items"),
    91: (W, "a `Server` passed as an unknown header is the app value; one Server line always (decision 0013)"),
    105: (P, "ENABLE_NAGLING clears TCP_NODELAY for that send"),
    109: (P, "several values sent in the given order; the default WWW-Authenticate reordering is not applied"),
    115: (W, "a kept-open HTTP/1.0 response says `Connection: keep-alive` (decision 0013)"),
    117: (P, "driver-wide timeouts are DriverSettings values; HttpServiceConfigTimeout records are stored"),
    119: (N, "bandwidth limits are stored, not enforced"),
    131: (N, "parser relaxation switches are not offered"),
    138: (P, "IP listen list records stored; not applied to listeners"),
    139: (W, "served per connection: SNI, exact IP:port, wildcard, CCS (a store's certificate by SNI name); the ...Ex records not supported ([docs/tls.md](docs/tls.md))"),
    142: (N, "the configuration store lives in the process; persistence comes with the daemon"),
    143: (P, "W3C, IIS and NCSA with every rollover; the centralized binary (Raw) format is accepted but not written"),
    145: (N, "kernel-mode authentication"),
    146: (P, "the certificate negotiated in the handshake (NEGOTIATE_CLIENT_CERT); no renegotiation on demand (decision 0021)"),
    147: (N, "HTTP/2"),
    148: (W, "embedded and through the daemon: set the HTTP/2 stream error (the RST_STREAM code of a later cancel or reset); query TCP info v0/v1 and the ideal send backlog (from Linux's TCP_INFO) and the TLS server name (SNI); every other property ERROR_INVALID_FUNCTION (no QUIC, TCP info v2, timings, ClientHello, cipher info; DSCP and the idle-timeout property are not settable) ([docs/http2.md](docs/http2.md))"),
    149: (W, "embedded and through the daemon (a front process hands requests to other processes' queues); codes in docs/decisions/0024-delegation-privileges-takeover.md §1; the URL ACL GW check is a hook the store connects"),
}


def main(spec_path: str) -> None:
    text = open(spec_path, encoding="utf-8").read()
    section = text[text.index("**A. Initialization") : text.index("## 7. Gaps")]
    print("| # | feature (spec §6) | status | notes |")
    print("|---:|---|---|---|")
    for line in section.splitlines():
        head = re.match(r"\*\*([A-M])\. (.+)\*\*", line)
        if head:
            print(f"| | **{head.group(1)}. {head.group(2)}** | | |")
            continue
        item = re.match(r"(\d+)\. (.+)", line)
        if not item:
            continue
        number = int(item.group(1))
        feature = re.sub(r"(\s*\[[A-Za-z, ]+\])+\.?$", "", item.group(2)).replace("|", "\\|")
        status, note = STATUS.get(number, (W, ""))
        print(f"| {number} | {feature} | {status} | {note} |")


if __name__ == "__main__":
    main(sys.argv[1])
