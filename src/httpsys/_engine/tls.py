"""TLS termination: the handshake of a connection to an https port, with the SSL binding HTTP.sys would choose.

Responsibility: the process's SSL binding table (shared by the drivers of the process and the win32 face's
HttpSetServiceConfiguration), the `ssl.SSLContext` of each binding (safe defaults: TLS 1.2 and 1.3 only, no
compression, no renegotiation, forward-secret AEAD suites for TLS 1.2, ALPN), choosing the binding per connection
(the first context from the ClientHello it peeks at, the binding's by SNI in OpenSSL's callback), running the
handshake on the connection's socket (`loop.connect_accepted_socket`: uvloop's TLS when uvloop runs the driver)
under the HeaderWait timer, the alert and HTTPERR line of a refused or failed handshake, the TLS facts a request
carries (`TlsFacts`: protocol, cipher and key exchange with their Windows constants, certificate names, the client
certificate), and a client certificate asked for on demand (TLS 1.3 post-handshake authentication). It must not
parse HTTP: after the handshake the connection that ALPN selects (`AlpnChoice`) carries on.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import socket
import ssl
import struct
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from cryptography import x509

from httpsys._core.clienthello import MAX_RECORD, NOT_A_CLIENT_HELLO, ClientHelloOffer, read_client_hello
from httpsys._core.sslbindings import (
    FLAG_DISABLE_HTTP2,
    FLAG_DISABLE_TLS12,
    FLAG_DISABLE_TLS13,
    FLAG_NEGOTIATE_CLIENT_CERT,
    FLAG_REJECT,
    BindingKind,
    SslBinding,
    SslBindingTable,
)
from httpsys._core.status import Win32Error
from httpsys._core.timers import TimerKind
from httpsys._engine.certstore import CertStoreError, CertStores, key_bits, name_matches
from httpsys._engine.http11 import Http11Connection
from httpsys._engine.listeners import _Steps
from httpsys._engine.registry import PendingOp, op_done

if TYPE_CHECKING:
    from httpsys._engine.driver import Driver

# The protocols ALPN offers, most preferred first (decision 0022): "h2" unless the driver's http2_tls setting
# (EnableHttp2Tls) is off or the binding has HTTP_SERVICE_CONFIG_SSL_FLAG_DISABLE_HTTP2.
ALPN_PROTOCOLS: list[str] = ["h2", "http/1.1"]
ALPN_HTTP11_ONLY: list[str] = ["http/1.1"]
# TLS 1.2 suites: ECDHE key exchange (forward secrecy) with AEAD ciphers only. TLS 1.3 suites are OpenSSL's
# defaults (all AEAD).
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"

# HTTP_SSL_PROTOCOL_INFO values, as Schannel reports them (SecPkgContext_ConnectionInfo).
SP_PROT_TLS1_2_SERVER: Final = 0x400
SP_PROT_TLS1_3_SERVER: Final = 0x1000
CALG_AES_128: Final = 0x660E
CALG_AES_256: Final = 0x6610
CALG_ECDH_EPHEM: Final = 0xAE06
CALG_DH_EPHEM: Final = 0xAA02
CALG_RSA_KEYX: Final = 0xA400
# HTTP_SSL_CLIENT_CERT_INFO.CertFlags: the CERT_TRUST_* error status of the client certificate's chain
CERT_TRUST_IS_NOT_TIME_VALID: Final = 0x1
CERT_TRUST_IS_UNTRUSTED_ROOT: Final = 0x20
CERT_TRUST_IS_PARTIAL_CHAIN: Final = 0x10000

# IANA numbers of the suites the contexts allow (Python's ssl names them the OpenSSL way)
IANA_SUITES = {
    "TLS_AES_128_GCM_SHA256": 0x1301,
    "TLS_AES_256_GCM_SHA384": 0x1302,
    "TLS_CHACHA20_POLY1305_SHA256": 0x1303,
    "ECDHE-ECDSA-AES128-GCM-SHA256": 0xC02B,
    "ECDHE-ECDSA-AES256-GCM-SHA384": 0xC02C,
    "ECDHE-RSA-AES128-GCM-SHA256": 0xC02F,
    "ECDHE-RSA-AES256-GCM-SHA384": 0xC030,
    "ECDHE-RSA-CHACHA20-POLY1305": 0xCCA8,
    "ECDHE-ECDSA-CHACHA20-POLY1305": 0xCCA9,
}

# HTTPERR reasons of a connection whose handshake did not complete (decision 0021).
REASON_NO_BINDING: Final = "SSL_No_Binding"
REASON_BAD_CERTIFICATE: Final = "SSL_Certificate_Unusable"
REASON_HANDSHAKE: Final = "SSL_Handshake_Failed"


class TlsFacts:
    """What a request on a TLS connection carries: HTTP_SSL_INFO, HTTP_SSL_PROTOCOL_INFO, the client certificate.
    Plain data (ints, strings, bytes), so a daemon can send it to a face."""

    __slots__ = (
        "alpn",
        "cipher_name",
        "cipher_strength",
        "cipher_suite",
        "cipher_type",
        "client_cert",
        "client_cert_flags",
        "client_cert_name",
        "client_cert_negotiated",
        "connection_key_size",
        "hash_strength",
        "hash_type",
        "key_exchange_strength",
        "key_exchange_type",
        "protocol",
        "protocol_name",
        "server_cert_issuer",
        "server_cert_key_size",
        "server_cert_subject",
        "server_name",
        "tls_version",
    )

    def __init__(self) -> None:
        self.protocol = 0
        self.protocol_name = ""
        self.tls_version = 0  # the wire value: 0x0303 TLS 1.2, 0x0304 TLS 1.3 (the ASGI TLS extension's)
        self.cipher_suite = 0  # the IANA cipher suite number
        self.cipher_name = ""
        self.cipher_type = 0
        self.cipher_strength = 0
        self.hash_type = 0
        self.hash_strength = 0
        self.key_exchange_type = 0
        self.key_exchange_strength = 0
        self.connection_key_size = 0
        self.server_cert_key_size = 0
        self.server_cert_issuer = ""
        self.server_cert_subject = ""
        self.server_name = ""
        self.alpn = ""
        self.client_cert = b""  # DER, empty when none was negotiated
        self.client_cert_flags = 0
        self.client_cert_name = ""  # the client certificate's subject (RFC 4514)
        self.client_cert_negotiated = False

    def as_dict(self) -> dict[str, object]:
        """Every fact by its name (the names of `__slots__`), spelled out: compiled, a class keeps no `__slots__`
        to iterate, and a literal needs no getattr per name."""
        return {
            "alpn": self.alpn,
            "cipher_name": self.cipher_name,
            "cipher_strength": self.cipher_strength,
            "cipher_suite": self.cipher_suite,
            "cipher_type": self.cipher_type,
            "client_cert": self.client_cert,
            "client_cert_flags": self.client_cert_flags,
            "client_cert_name": self.client_cert_name,
            "client_cert_negotiated": self.client_cert_negotiated,
            "connection_key_size": self.connection_key_size,
            "hash_strength": self.hash_strength,
            "hash_type": self.hash_type,
            "key_exchange_strength": self.key_exchange_strength,
            "key_exchange_type": self.key_exchange_type,
            "protocol": self.protocol,
            "protocol_name": self.protocol_name,
            "server_cert_issuer": self.server_cert_issuer,
            "server_cert_key_size": self.server_cert_key_size,
            "server_cert_subject": self.server_cert_subject,
            "server_name": self.server_name,
            "tls_version": self.tls_version,
        }


def windows_name(name: x509.Name) -> str:
    """A distinguished name as Schannel prints it (CertNameToStr, X509_ASN_ENCODING | CERT_X500_NAME_STR):
    most significant first, `, `-separated, e.g. `C=US, O=Example, CN=www.example.com`."""
    return ", ".join(reversed(name.rfc4514_string().split(",")))


class SslContexts:
    """The contexts of the bindings in use, made once per binding record (a changed record is a new record), and
    for each a second one for connections ready for TLS 1.3 post-handshake authentication: that one carries
    `message_callback` as OpenSSL's message callback (Python installs a context's callback on a connection when
    the SNI callback swaps the context in), so only those connections pay for it."""

    def __init__(self, http2: bool = True, message_callback: Any = None) -> None:
        self.http2 = http2
        self.message_callback = message_callback
        self._contexts: dict[tuple[SslBinding, bool], tuple[ssl.SSLContext, int, str, str]] = {}
        # what each context serves (pSslInfo's key size, issuer, subject), found by the context a connection ended
        # its handshake with
        self._made: dict[ssl.SSLContext, tuple[int, str, str]] = {}

    def for_binding(self, binding: SslBinding, pha: bool = False) -> tuple[ssl.SSLContext, int, str, str]:
        """(context, server key bits, issuer, subject); CertStoreError or ssl.SSLError when it cannot be made.
        Only the post-handshake variant (`pha`) and a binding that negotiates client certificates carry trusted
        issuers: a context that never asks for a certificate has no use for them."""
        key = (binding, pha)
        made = self._contexts.get(key)
        if made is None:
            if len(self._contexts) > 1024:
                self.clear()
            made = self._contexts[key] = _binding_context(binding, self.http2, trusted_for_later=pha)
            self._made[made[0]] = made[1:]
            if pha:
                if not (binding.flags & FLAG_NEGOTIATE_CLIENT_CERT or binding.require_client_cert):
                    # ready to be a connection's first context (`Tls.direct_context`): no CertificateRequest in
                    # the handshake, one possible after it. Swapped in by the SNI callback instead, OpenSSL keeps
                    # the first context's verify settings and these do nothing.
                    made[0].verify_mode = ssl.CERT_OPTIONAL
                    made[0].post_handshake_auth = True
                if self.message_callback is not None:
                    _set_message_callback(made[0], self.message_callback)
        return made

    def made_for(self, ctx: ssl.SSLContext) -> tuple[int, str, str] | None:
        """(server key bits, issuer, subject) of a context `for_binding` made."""
        return self._made.get(ctx)

    def clear(self) -> None:
        self._contexts.clear()
        self._made.clear()


def safe_context(flags: int = 0, http2: bool = True) -> ssl.SSLContext:
    """A server context with the defaults of decision 0021."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    if flags & FLAG_DISABLE_TLS13:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if flags & FLAG_DISABLE_TLS12 and not flags & FLAG_DISABLE_TLS13:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION | ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.set_alpn_protocols(ALPN_PROTOCOLS if http2 and not flags & FLAG_DISABLE_HTTP2 else ALPN_HTTP11_ONLY)
    return ctx


def _binding_context(
    binding: SslBinding, http2: bool = True, trusted_for_later: bool = True
) -> tuple[ssl.SSLContext, int, str, str]:
    """A binding's context: its certificate chain, and its trusted issuers when it verifies client certificates in
    the handshake or (`trusted_for_later`) may ask for one after it. A context without issuers spares every full
    handshake OpenSSL's search for the issuer of a chain-less leaf in the system CA directory (a stat, open
    and directory read per handshake, seen with strace; decision 0021 point 16)."""
    if binding.cert_file:
        cert_path, key_path, ca_path = (
            binding.cert_file,
            binding.key_file or binding.cert_file,
            binding.ca_file,
        )
    else:
        cert_path, key_path = CertStores().paths(binding.store, binding.cert_hash)
        ca_path = ""
        if binding.ctl_store:
            ca_path = _store_bundle(binding.ctl_store)
    ctx = safe_context(binding.flags, http2)
    ctx.load_cert_chain(cert_path, key_path)
    if binding.flags & FLAG_NEGOTIATE_CLIENT_CERT or binding.require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED if binding.require_client_cert else ssl.CERT_OPTIONAL
        if ca_path:
            ctx.load_verify_locations(cafile=ca_path)
        else:
            _load_system_issuers(ctx)
    elif trusted_for_later:
        # the trusted issuers of a certificate asked for later (HttpReceiveClientCertificate, TLS 1.3
        # post-handshake authentication): OpenSSL verifies it against the store of the context in use
        try:
            ca_path = ca_path or (_store_bundle(binding.ctl_store) if binding.ctl_store else "")
            if ca_path:
                ctx.load_verify_locations(cafile=ca_path)
            else:
                _load_system_issuers(ctx)
        except (OSError, ssl.SSLError, CertStoreError, ValueError):
            pass  # a certificate asked for later then fails verification; the binding serves as before
    with open(cert_path, "rb") as fh:
        leaf = x509.load_pem_x509_certificates(fh.read())[0]
    return ctx, key_bits(leaf.public_key()), windows_name(leaf.issuer), windows_name(leaf.subject)


def _load_system_issuers(ctx: ssl.SSLContext) -> None:
    """The system's trusted CAs, from its CA file when there is one (read into memory once per context), else its
    CA directory: OpenSSL searches a directory per lookup, and a server looks up its own chain's issuer in the
    context's store at every full handshake."""
    cafile = ssl.get_default_verify_paths().cafile
    if cafile:
        ctx.load_verify_locations(cafile=cafile)
    else:
        ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH)


def _store_bundle(store: str) -> str:
    """The certificates of a store as one CA file (the trusted issuers of client certificates)."""
    stores = CertStores()
    certs = stores.list(store)
    if not certs:
        raise CertStoreError(f"store {store} holds no certificates to trust client certificates with")
    return (
        certs[0].cert_path if len(certs) == 1 else _concatenate([c.cert_path for c in certs], stores, store)
    )


def _concatenate(paths: list[str], stores: CertStores, store: str) -> str:
    bundle = os.path.join(stores.store_dir(store), ".bundle.pem")
    with open(bundle, "wb") as out:
        for path in paths:
            with open(path, "rb") as fh:
                out.write(fh.read())
    return bundle


class BindingTable:
    """The process's SSL bindings behind a lock (the win32 face writes from any thread; drivers read)."""

    def __init__(self) -> None:
        self.table = SslBindingTable()
        self.lock = threading.Lock()


_BINDINGS = BindingTable()


def ssl_bindings() -> BindingTable:
    """The SSL bindings of this process (HTTP.sys keeps them machine-wide; the configuration store loads them
    with `ssl_bindings().table.load(records)`)."""
    return _BINDINGS


class Tls:
    """A driver's TLS termination (one per driver): handshakes, their failures, and the facts of the result."""

    def __init__(self, driver: Driver, bindings: BindingTable | None = None) -> None:
        self.driver = driver
        self.bindings = bindings or _BINDINGS
        self.contexts = SslContexts(http2=driver.settings.http2_tls, message_callback=self._watch)
        self._generation = -1
        # the context a handshake starts with, per (local address, port): no certificate of its own; the SNI
        # callback picks the binding and swaps in its context
        self._initial: dict[tuple[str, int, object], ssl.SSLContext] = {}
        # why our SNI callback refused a handshake, and the alert it made: (HTTPERR reason with detail, alert)
        self._refusal: dict[tuple[str, int], tuple[str, int]] = {}
        # the last handshake failures with their detail (the HTTPERR line has the reason token only)
        self.pending = 0  # handshakes in progress (they count against MaxConnections)
        self.closed_file_bytes = 0  # file bytes copied for TLS by connections that have closed
        self.failures: deque[tuple[tuple[str, int], tuple[str, int], str]] = deque(maxlen=100)
        # connections asked for a client certificate (TLS 1.3 post-handshake), with "the client answered"
        self._pha_waiting: dict[ssl.SSLObject, list[bool]] = {}
        # each https listener's socket family, type, protocol and bound address (`_listener_shape`)
        self._listeners: dict[socket.socket, tuple[int, int, int, Any]] = {}
        # the binding table's answers (`_choose`) for the generation `_fresh` saw: the same ClientHello's names are
        # looked up at the first context and again in the SNI callback
        self._chosen: dict[tuple[str | None, str, int], SslBinding | None] = {}

    def _fresh(self) -> None:
        generation = self.bindings.table.generation
        if generation != self._generation:
            self._generation = generation
            self._initial.clear()
            self._chosen.clear()
            self.contexts.clear()

    def _choose(self, server_name: str | None, local_address: str, port: int) -> SslBinding | None:
        """`SslBindingTable.choose`, remembered until the table's generation changes (`_fresh`, at each
        connection's first context): a handshake asks for the same names twice (its first context, then the SNI
        callback), and the table is interpreted code even in the compiled build. A change made while a
        handshake runs applies from the next connection on, as a change made just after it would."""
        key = (server_name, local_address, port)
        chosen = self._chosen
        if key in chosen:
            return chosen[key]
        binding = self.bindings.table.choose(server_name, local_address, port)
        if len(chosen) > 1024:
            chosen.clear()  # many names (SNI is the client's to choose): bounded
        chosen[key] = binding
        return binding

    def initial_context(
        self, local_address: str, port: int, offer: ClientHelloOffer = NOT_A_CLIENT_HELLO
    ) -> ssl.SSLContext:
        """The context a handshake starts with. The verify mode cannot change after the ClientHello (OpenSSL
        keeps the first context's), so it is chosen here from the ClientHello the driver peeked at: the
        binding's own context when the binding for the SNI name (else the address) negotiates client
        certificates; a context ready for TLS 1.3 post-handshake authentication (CERT_OPTIONAL with
        SSL_VERIFY_POST_HANDSHAKE: no CertificateRequest in the handshake) when the client offered TLS 1.3 and
        post_handshake_auth; else one that never asks. Each has no certificate of its own unless it is the
        binding's: its SNI callback picks the binding and swaps in the binding's context."""
        self._fresh()
        http2 = self.contexts.http2
        # the versions follow the IP:port binding (decision 0021 point 10)
        first = self._choose(None, local_address, port)
        flags = first.flags if first is not None else 0
        asking = self._choose(offer.server_name, local_address, port) if offer.server_name else first
        key: tuple[str, int, object]
        if asking is not None and (asking.flags & FLAG_NEGOTIATE_CLIENT_CERT or asking.require_client_cert):
            key = (local_address, port, asking)
        elif offer.tls13 and offer.post_handshake_auth and not flags & FLAG_DISABLE_TLS13:
            key = (local_address, port, "pha")
        else:
            key = (local_address, port, "")
        ctx = self._initial.get(key)
        if ctx is None:
            ctx = safe_context(flags, http2)
            if isinstance(key[2], SslBinding):
                try:
                    ctx = _binding_context(key[2], http2)[0]  # its own copy: the SNI callback is per address
                except (OSError, ssl.SSLError, CertStoreError, ValueError):
                    pass  # the SNI callback refuses it with SSL_Certificate_Unusable
            elif key[2] == "pha":
                ctx.verify_mode = ssl.CERT_OPTIONAL
                ctx.post_handshake_auth = True
            ctx.sni_callback = self._sni_callback(local_address, port)
            if len(self._initial) > 1024:
                self._initial.clear()
            self._initial[key] = ctx
        return ctx

    def direct_context(
        self, local_address: str, port: int, offer: ClientHelloOffer
    ) -> tuple[ssl.SSLContext, str] | None:
        """The binding's own context and the SNI name, when the ClientHello peeked at already says which binding
        serves the connection and the SNI callback could change nothing: a binding found, not refused, not the
        central store's (its certificate depends on the name), not negotiating client certificates (that one
        keeps its per-address copy), with the TLS versions of the IP:port binding (point 10). The handshake then
        starts with the certificate in place, and OpenSSL calls no SNI callback: no Python call, no
        `SSL_set_SSL_CTX`, no spare descriptor for an alert (decision 0021 point 18). None: the SNI callback
        chooses, as before (also for a ClientHello the peek could not read)."""
        self._fresh()
        if offer is NOT_A_CLIENT_HELLO:
            return None
        first = self._choose(None, local_address, port)
        binding = self._choose(offer.server_name, local_address, port) if offer.server_name else first
        if binding is None or binding.kind is BindingKind.CCS or binding.flags & FLAG_REJECT:
            return None
        if binding.flags & FLAG_NEGOTIATE_CLIENT_CERT or binding.require_client_cert:
            return None
        flags = first.flags if first is not None else 0
        if (binding.flags ^ flags) & (FLAG_DISABLE_TLS12 | FLAG_DISABLE_TLS13):
            return None
        pha = offer.tls13 and offer.post_handshake_auth and not flags & FLAG_DISABLE_TLS13
        try:
            return self.contexts.for_binding(binding, pha)[0], offer.server_name
        except (OSError, ssl.SSLError, CertStoreError, ValueError):
            return None  # the SNI callback refuses it with SSL_Certificate_Unusable and its alert

    def _sni_callback(self, local_address: str, port: int) -> Any:
        contexts = self.contexts
        refusal = self._refusal
        lookup = self._choose

        def choose(sslobj: ssl.SSLObject, server_name: str | None, first: ssl.SSLContext) -> int | None:
            # a server-side SSLObject keeps no SNI name itself; lower case, as the ClientHello peek gives it
            setattr(sslobj, _SNI_SEEN, server_name.lower() if server_name else "")
            binding = lookup(server_name, local_address, port)
            if binding is None or binding.flags & FLAG_REJECT:
                name = f"{server_name}:{port}" if server_name else f"{local_address}:{port} (no SNI)"
                alert = (
                    ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
                    if server_name
                    else ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
                )
                refusal[(local_address, port)] = (f"{REASON_NO_BINDING} {name}", alert)
                return alert
            if binding.kind is BindingKind.CCS:
                # the central certificate store: the certificate of that store whose name covers the SNI name
                found = _ccs_certificate(binding, server_name)
                if found is None:
                    refusal[(local_address, port)] = (
                        f"{REASON_NO_BINDING} {server_name}:{port} (central store)",
                        ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME,
                    )
                    return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
                binding = found
            try:
                ctx = contexts.for_binding(binding, first.post_handshake_auth)[0]
            except (OSError, ssl.SSLError, CertStoreError, ValueError):
                refusal[(local_address, port)] = (
                    f"{REASON_BAD_CERTIFICATE} {binding.describe()}",
                    ssl.ALERT_DESCRIPTION_INTERNAL_ERROR,
                )
                return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
            sslobj.context = ctx
            return None

        return choose

    def statistics(self) -> dict[str, int]:
        """The TLS counters of `Driver.statistics()`: which way file chunks went over TLS (decision 0021) -
        `tls_file_path_ktls` 1 when the kernel encrypts (sendfile), else 0 and `tls_file_bytes_copied` counts
        the bytes that went through the bounded buffer."""
        copied = self.closed_file_bytes + sum(
            c.tls_file_bytes for c in self.driver.ports.connections.values()
        )
        return {"tls_file_path_ktls": 0, "tls_file_bytes_copied": copied}

    # ================================================================ the handshake
    def accept_ready(self, listener_sock: socket.socket, port: int) -> None:
        """The listening socket of an https port is readable: accept what is waiting (a bounded batch). A listener
        bound to one address gives every connection's local address (one `getsockname` per batch); the peer's
        comes with `accept`."""
        shape = self._listeners.get(listener_sock)
        for _ in range(64):
            try:
                # `_accept` and a socket object of the listener's family and type: `socket.accept` would convert
                # both to enums for every connection (a few microseconds each, seen with py-spy)
                fd, peer = _accept(listener_sock)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # EMFILE, ECONNABORTED ...: the next readiness tries again
            if shape is None:
                shape = self._listener_shape(listener_sock)
            sock = socket.socket(shape[0], shape[1], shape[2], fd)
            self.accepted(sock, port, peer, shape[3])

    def _listener_shape(self, listener_sock: socket.socket) -> tuple[int, int, int, Any]:
        """(family, type, protocol, local address or None) of an https listener, asked once per listener: its
        `family` and `type` properties make enums (about 13,000 instructions per batch, callgrind), and the
        address a wildcard listener gives is not a connection's (None: `accepted` asks the connection)."""
        try:
            bound: Any = listener_sock.getsockname()
        except OSError:
            bound = ("", 0)
        local = None if str(bound[0]) in _WILDCARDS else bound
        shape = (int(listener_sock.family), int(listener_sock.type), listener_sock.proto, local)
        if len(self._listeners) > 256:
            self._listeners.clear()  # listeners closed and opened again many times: forget the old ones
        self._listeners[listener_sock] = shape
        return shape

    def accepted(self, sock: socket.socket, port: int, peer: Any = None, local: Any = None) -> None:
        """A TCP connection to an https port: the TLS layer owns its socket from the first byte (nothing is
        read as HTTP before the handshake), with the context of the SSL binding for its local address. When
        the ClientHello is already there (a loaded server accepts late), the handshake starts now, in this
        pass, without a Task; else a wait for it does (`_client_hello`). The socket stays blocking until the
        event loop adopts it (its peeks say MSG_DONTWAIT; the loop makes it non-blocking and sets
        TCP_NODELAY itself)."""
        driver = self.driver
        conn = Http11Connection(driver, port, "https")
        try:
            if local is None:
                local = sock.getsockname()
            if peer is None:
                peer = sock.getpeername()
        except OSError:
            sock.close()
            return
        conn.local_addr = (_plain_address(str(local[0])), int(local[1]))
        conn.remote_addr = (_plain_address(str(peer[0])), int(peer[1]))
        conn.ipv6 = ":" in conn.local_addr[0]
        ports = driver.ports
        if len(ports.connections) + self.pending >= ports.max_connections:
            driver.counters.stats["Connections_refused"] += 1
            driver.counters.log_error(conn, None, 0, "ConnLimit")
            _reset(sock)
            return
        self.pending += 1
        _Steps(driver.loop, self._handshake(conn, sock, _peek_hello(sock))).step()

    async def _client_hello(self, sock: socket.socket, timeout: float) -> ClientHelloOffer | None:
        """Wait for the client's first TLS record and read its ClientHello without consuming it (MSG_PEEK);
        None when `timeout` passed first. Anything but a whole ClientHello in one record offers nothing, and
        the handshake deals with it as before."""
        loop = self.driver.loop
        deadline = loop.time() + timeout
        fd = sock.fileno()
        partial_waits = 0
        while True:
            try:
                data = sock.recv(MAX_RECORD, _PEEK)
            except (BlockingIOError, InterruptedError):
                data = None
            except OSError:
                return NOT_A_CLIENT_HELLO  # reset: the handshake fails as it would have
            if data is not None:
                offer = read_client_hello(data)
                if offer is not None:
                    return offer
                if not data:
                    return NOT_A_CLIENT_HELLO
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            if data:
                # a part of the record: the rest is on its way, but the socket stays readable meanwhile, so
                # wait a little a few times, then let OpenSSL read it (a client dripping its hello costs three
                # wake-ups here, not one per few milliseconds until HeaderWait)
                if partial_waits >= len(_PARTIAL_HELLO_WAITS):
                    return NOT_A_CLIENT_HELLO
                await asyncio.sleep(min(_PARTIAL_HELLO_WAITS[partial_waits], remaining))
                partial_waits += 1
                continue
            ready: asyncio.Future[bool] = loop.create_future()
            loop.add_reader(fd, _settle, ready, True)
            timer = loop.call_later(remaining, _settle, ready, False)
            try:
                arrived = await ready
            finally:
                loop.remove_reader(fd)
                timer.cancel()
            if not arrived:
                return None

    async def _handshake(
        self, conn: Http11Connection, sock: socket.socket, offer: ClientHelloOffer | None = None
    ) -> None:
        """The handshake of one connection (driven by `_Steps`: whatever fails ends this connection only).
        `offer` is the ClientHello peeked at accept, None when it was not all there yet."""
        where = (conn.local_addr[0], conn.port)
        failure: BaseException | None = None
        loop = self.driver.loop
        # HeaderWait covers the ClientHello and the handshake: the driver-wide value (a per-app value applies
        # only once a request has been routed on the connection, reliability §2.2)
        timeout = float(conn.handshake_timeout())
        started = loop.time()
        if offer is None:
            offer = await self._client_hello(sock, timeout)
        if offer is None:
            self.pending -= 1
            sock.close()
            self._log_failure(conn, TimeoutError(), where)
            return
        direct = self.direct_context(conn.local_addr[0], conn.port, offer)
        spare = -1
        server_name: str | None = None
        if direct is not None:
            ctx, server_name = direct
        else:
            ctx = self.initial_context(conn.local_addr[0], conn.port, offer)
            # a second descriptor of the connection while the handshake runs: the event loop's TLS layer closes
            # its own on failure without flushing the alert OpenSSL made, so our SNI callback's refusal sends
            # that alert through this one
            try:
                spare = os.dup(sock.fileno())
            except OSError:
                spare = -1
        try:
            await loop.connect_accepted_socket(
                lambda: AlpnChoice(self.driver, conn, server_name),
                sock,
                ssl=ctx,
                ssl_handshake_timeout=max(timeout - (loop.time() - started), 0.001),
            )
        except Exception as exc:  # whatever ends the handshake ends this connection only
            failure = exc
        finally:
            self.pending -= 1
        if failure is None:
            if spare >= 0:
                os.close(spare)
            return  # conn.connection_made ran on the TLS transport (Ports.connection_made -> established)
        if sock.fileno() >= 0:
            _reset(sock)
        alert = self._log_failure(conn, failure, where)
        if spare >= 0:
            if alert:
                _send_alert(spare, alert)
            os.close(spare)

    def established(self, conn: Any) -> None:
        """The handshake completed and the connection (the one `AlpnChoice` picked) is counted: its TLS facts."""
        transport = conn.transport
        assert transport is not None
        self.driver.counters.stats["tls_handshakes"] += 1
        facts = self.facts_of(transport)
        conn.tls = facts
        conn.tls_extra = {"tls": facts.as_dict()}

    def receive_client_certificate(
        self, handle_id: int, connection_id: int, token: int, done: Callable[[int, bytes, int], None]
    ) -> None:
        """HttpReceiveClientCertificate for the driver: `done(code, DER, CertFlags)`, the answer of
        `request_client_certificate` as a pending operation of the queue handle (CancelIoEx aborts it)."""
        handle = self.driver.registry.handle(handle_id)
        if handle is None:
            done(int(Win32Error.ERROR_INVALID_HANDLE), b"", 0)
            return
        conn = self.driver.ports.connections.get(connection_id)
        if conn is None:
            done(int(Win32Error.ERROR_NOT_FOUND), b"", 0)
            return
        fired: list[bool] = []

        def finished(code: int) -> None:
            if fired:
                return
            fired.append(True)
            if op is not None:
                op_done(op)
            facts = conn.tls
            if code == 0 and facts is not None and facts.client_cert:
                done(0, facts.client_cert, facts.client_cert_flags)
            else:
                done(code, b"", 0)

        def aborted() -> None:
            if cancel is not None:
                cancel()
            if not fired:
                fired.append(True)
                done(int(Win32Error.ERROR_OPERATION_ABORTED), b"", 0)

        op: PendingOp | None = None
        cancel = self.request_client_certificate(conn, finished)
        if not fired:
            op = self.driver.registry.register_op(handle, token, aborted)

    def request_client_certificate(self, conn: Any, done: Callable[[int], None]) -> Callable[[], None] | None:
        """HttpReceiveClientCertificate on a connection without a certificate: ask the client for one with TLS 1.3
        post-handshake authentication and call `done(code)` once its answer has been read - NO_ERROR when the
        connection's facts now hold a verified certificate, ERROR_NOT_FOUND when the client sent none or cannot
        be asked (TLS 1.2, no post_handshake_auth in its ClientHello, HTTP/2, which forbids it: RFC 8740) or
        did not answer within HeaderWait, ERROR_CONNECTION_INVALID when the connection closed first (a
        certificate that fails verification closes it, as in the handshake). Returns the cancel routine while
        the answer is awaited, None when `done` has already run."""
        not_found, gone = int(Win32Error.ERROR_NOT_FOUND), int(Win32Error.ERROR_CONNECTION_INVALID)
        facts: TlsFacts | None = conn.tls
        transport = conn.transport
        if facts is not None and facts.client_cert:
            done(0)
            return None
        if facts is None or facts.alpn == "h2" or facts.protocol != SP_PROT_TLS1_3_SERVER:
            done(not_found)
            return None
        if transport is None or conn.closed:
            done(gone)
            return None
        sslobj: ssl.SSLObject | None = transport.get_extra_info("ssl_object")
        if sslobj is None:
            done(not_found)
            return None
        try:
            sslobj.verify_client_post_handshake()
        except ssl.SSLError as exc:
            if exc.reason not in ("REQUEST_PENDING", "REQUEST_SENT"):  # else: one is already under way
                done(not_found)
                return None
        try:
            sslobj.do_handshake()  # writes the CertificateRequest into the TLS layer's outgoing buffer
        except ssl.SSLWantReadError:
            pass
        except (ssl.SSLError, ValueError):
            done(not_found)
            return None
        _flush(transport, self.driver.loop)
        loop = self.driver.loop
        deadline = loop.time() + float(conn.handshake_timeout())
        # the client's answer (Certificate, CertificateVerify, Finished) carries no application data, so no
        # protocol callback says it came: OpenSSL's message callback of the connection's context (the binding's
        # post-handshake variant, `SslContexts`) marks its Finished (`_watch`), and a short poll notices that, a
        # closed connection, or HeaderWait passing
        answered = self._pha_waiting[sslobj] = [False]
        state: list[asyncio.Handle | None] = [None]

        def finish(code: int, der: bytes | None = None) -> None:
            state[0] = None
            self._pha_waiting.pop(sslobj, None)
            if code == 0:
                if not der:
                    code = not_found
                else:
                    set_client_cert(facts, der)
                    conn.tls_extra = {"tls": facts.as_dict()}  # the connection's next requests carry it
            done(code)

        def poll() -> None:
            if conn.closed or conn.transport is not transport:
                finish(gone)  # a certificate that failed verification closed it
                return
            der = _peer_certificate_now(sslobj)  # None while OpenSSL is still reading the client's answer
            if der or (answered[0] and der is not None):
                finish(0, der)
            elif loop.time() >= deadline:
                finish(not_found)
            else:
                state[0] = loop.call_later(0.005, poll)

        def cancel() -> None:
            handle = state[0]
            if handle is not None:
                handle.cancel()
                state[0] = None
                self._pha_waiting.pop(sslobj, None)

        state[0] = loop.call_later(0.005, poll)
        return cancel

    def _watch(
        self, sslobj: Any, direction: str, _version: Any, content_type: Any, msg_type: Any, _data: Any
    ) -> None:
        """OpenSSL's message callback on connections ready for post-handshake authentication (every record
        they send or receive, so it is kept to a comparison): the client's Finished ends its answer to a
        CertificateRequest. It runs inside OpenSSL's read and must not raise."""
        if msg_type == _FINISHED_MESSAGE and content_type == _HANDSHAKE_RECORD and direction == "read":
            answered = self._pha_waiting.get(sslobj)
            if answered is not None:
                answered[0] = True

    def _log_failure(
        self, conn: Http11Connection, failure: BaseException | None, where: tuple[str, int]
    ) -> int:
        """Count and log a failed handshake; the alert our SNI callback refused it with (0 for none)."""
        alert = 0
        counters = self.driver.counters
        timed_out = isinstance(failure, TimeoutError) or (
            # asyncio's and uvloop's handshake timeout: "SSL handshake is taking longer than N seconds"
            isinstance(failure, ConnectionAbortedError) and "longer than" in str(failure)
        )
        if timed_out:
            self._refusal.pop(where, None)
            counters.timer_fired(conn, TimerKind.HEADER_WAIT)
            reason = f"Timer_HeaderWait handshake not completed in {conn.handshake_timeout()} s"
        else:
            # only a refusal by our SNI callback fails with CALLBACK_FAILED: then the memo says why
            by_callback = isinstance(failure, ssl.SSLError) and failure.reason == "CALLBACK_FAILED"
            memo = self._refusal.pop(where, None) if by_callback else None
            if memo is not None:
                reason, alert = memo
            else:
                detail = getattr(failure, "reason", None) or type(failure).__name__
                reason = f"{REASON_HANDSHAKE} {detail}"
            counters.log_error(conn, None, 0, reason.partition(" ")[0])
        counters.stats["tls_handshake_failures"] += 1
        self.failures.append((conn.remote_addr, conn.local_addr, reason))
        return alert

    def facts_of(self, tls: asyncio.BaseTransport) -> TlsFacts:
        facts = TlsFacts()
        wrapper: ssl.SSLObject | None = tls.get_extra_info("ssl_object")
        if wrapper is None:
            return facts
        # the C object under `ssl.SSLObject` (its methods are interpreted one-line wrappers of these; the
        # attribute SNI callback left is on the wrapper)
        sslobj: Any = getattr(wrapper, "_sslobj", None) or wrapper
        version = sslobj.version() or ""
        facts.protocol_name = version
        facts.protocol = SP_PROT_TLS1_3_SERVER if version == "TLSv1.3" else SP_PROT_TLS1_2_SERVER
        facts.tls_version = 0x0304 if version == "TLSv1.3" else 0x0303
        cipher = sslobj.cipher()
        if cipher is not None:
            name, _proto, bits = cipher
            facts.cipher_name = name
            facts.cipher_suite = IANA_SUITES.get(name, 0)
            facts.cipher_strength = facts.connection_key_size = int(bits or 0)
            facts.cipher_type = (
                CALG_AES_256
                if "AES_256" in name or "AES256" in name
                else (CALG_AES_128 if "AES_128" in name or "AES128" in name else 0)
            )
            if version == "TLSv1.3" or name.startswith("ECDHE"):
                facts.key_exchange_type = CALG_ECDH_EPHEM
            elif name.startswith("DHE"):
                facts.key_exchange_type = CALG_DH_EPHEM
            else:
                facts.key_exchange_type = CALG_RSA_KEYX
        facts.alpn = sslobj.selected_alpn_protocol() or ""
        facts.server_name = (
            getattr(wrapper, _SNI_SEEN, None) or getattr(wrapper, "server_hostname", None) or ""
        )
        made = self.contexts.made_for(sslobj.context)
        if made is not None:
            facts.server_cert_key_size, facts.server_cert_issuer, facts.server_cert_subject = made
        set_client_cert(facts, sslobj.getpeercert(True))
        return facts


# the attribute the SNI callback leaves on the SSLObject (TlsFacts.server_name, HttpRequestPropertySni)
_SNI_SEEN: Final = "_httpsys_server_name"


def _ccs_certificate(binding: SslBinding, server_name: str | None) -> SslBinding | None:
    """A CCS binding resolved for one name: the binding with the thumbprint of the first certificate of its store
    whose subjectAltName covers `server_name` (None without SNI or without such a certificate)."""
    if not server_name:
        return None
    host = server_name.rstrip(".").lower()
    try:
        stored = CertStores().list(binding.store)
    except CertStoreError:
        return None
    for cert in stored:
        if any(name_matches(name, host) for name in cert.dns_names):
            return replace(binding, cert_hash=cert.thumbprint)
    return None


def _peer_certificate_now(sslobj: Any) -> bytes | None:
    """The client's certificate (DER, b"" for none) once the TLS layer has ended a (post-)handshake; None while
    one is under way - `getpeercert` raises ValueError("handshake not done yet") while OpenSSL reads a
    post-handshake answer, and a poll must wait then, not fail (it would leave HttpReceiveClientCertificate
    pending for ever)."""
    try:
        return sslobj.getpeercert(binary_form=True) or b""
    except ValueError:
        return None


def set_client_cert(facts: TlsFacts, der: bytes | None) -> None:
    """Record the client's certificate. OpenSSL verified it against the binding's trusted issuers during the
    handshake (a certificate that failed is refused there), so CertFlags is 0 unless it is outside its
    validity period now."""
    if not der:
        return
    facts.client_cert = der
    facts.client_cert_negotiated = True
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return
    facts.client_cert_name = cert.subject.rfc4514_string()
    now = datetime.datetime.now(datetime.UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        facts.client_cert_flags |= CERT_TRUST_IS_NOT_TIME_VALID


# x64 sizes of what pSslInfo and the SslProtocol request info add to a received request (win32 structs)
_SSL_INFO_SIZE: Final = 48
_CLIENT_CERT_INFO_SIZE: Final = 32
_REQUEST_INFO_SIZE: Final = 16
_SSL_PROTOCOL_INFO_SIZE: Final = 28


def tls_request_info_bytes(extra: dict[str, object] | None, v2: bool) -> int:
    """Bytes HttpReceiveHttpRequest needs beyond a plain request for the TLS facts of `extra` (a snapshot's):
    HTTP_SSL_INFO with its issuer and subject strings, the client certificate's info and bytes when one was
    negotiated, and on V2 one HTTP_REQUEST_INFO with its HTTP_SSL_PROTOCOL_INFO."""
    if extra is None:
        return 0
    facts: Any = extra.get("tls")
    if not isinstance(facts, dict):
        return 0
    size = (
        _SSL_INFO_SIZE
        + len(str(facts["server_cert_issuer"]))
        + 1
        + len(str(facts["server_cert_subject"]))
        + 1
    )
    cert: Any = facts.get("client_cert") or b""
    if cert:
        size = (size + 7) // 8 * 8 + _CLIENT_CERT_INFO_SIZE + len(cert)
    if v2:
        size = (size + 7) // 8 * 8 + _REQUEST_INFO_SIZE + _SSL_PROTOCOL_INFO_SIZE
    return size


_HANDSHAKE_RECORD: Final = 22
# how long the driver waits, in turn, for the rest of a ClientHello record that came in part
_PARTIAL_HELLO_WAITS = (0.002, 0.01, 0.05)
_FINISHED_MESSAGE: Final = 20


def _set_message_callback(ctx: ssl.SSLContext, callback: Any) -> None:
    """OpenSSL's message callback (`_msg_callback`, Python's ssl since 3.8, a debugging aid and the only way to see
    handshake messages), set on the C context directly: `ssl.SSLContext`'s property wraps it in a function that
    turns every argument into an enum, a few microseconds per record. Without it, only a certificate that
    arrived is noticed (an empty answer waits for HeaderWait)."""
    try:
        import _ssl

        _ssl._SSLContext.__dict__["_msg_callback"].__set__(ctx, callback)
    except (ImportError, AttributeError, KeyError, TypeError):
        pass


def _flush(transport: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Make the event loop's TLS layer send what OpenSSL wrote outside a write of the application's (a
    CertificateRequest): resuming reading runs its read step, which ends by sending its outgoing buffer. A
    transport paused by the connection's flow control is paused again after that step."""
    try:
        if transport.is_reading():
            transport.pause_reading()
            transport.resume_reading()
        else:
            transport.resume_reading()
            loop.call_soon(_pause, transport)
    except (AttributeError, RuntimeError):
        pass


def _pause(transport: Any) -> None:
    try:
        transport.pause_reading()
    except (AttributeError, RuntimeError):
        pass


# socket.accept without its enum conversions (CPython's `socket.socket._accept`: the descriptor and the peer's address)
_accept: Callable[[socket.socket], tuple[int, Any]] = socket.socket._accept  # type: ignore[attr-defined]
# MSG_DONTWAIT: the accepted socket is still blocking when its ClientHello is peeked at
_PEEK = socket.MSG_PEEK | socket.MSG_DONTWAIT
_WILDCARDS = ("", "0.0.0.0", "::")


def _peek_hello(sock: socket.socket) -> ClientHelloOffer | None:
    """The ClientHello already waiting on a just-accepted socket, read without consuming it; None when it is not
    all there yet (then `Tls._client_hello` waits for it). A closed or reset connection offers nothing (its
    handshake fails as it would have)."""
    try:
        data = sock.recv(MAX_RECORD, _PEEK)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return NOT_A_CLIENT_HELLO
    if not data:
        return NOT_A_CLIENT_HELLO
    return read_client_hello(data)


def _settle(future: asyncio.Future[bool], value: bool) -> None:
    if not future.done():
        future.set_result(value)


def _send_alert(fd: int, description: int) -> None:
    """A fatal TLS alert record in the clear (the refusal comes while the ClientHello is read, before the server
    has sent anything, so no record protection applies yet): type 21, version 3.3, length 2, level 2."""
    try:
        os.write(fd, bytes((21, 3, 3, 0, 2, 2, description)))
    except OSError:
        pass  # the client has gone: nothing to tell


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def _plain_address(address: str) -> str:
    return address[7:] if address.startswith("::ffff:") and "." in address else address


class AlpnChoice(asyncio.Protocol):
    """The protocol of an https connection until its handshake completes: then the protocol ALPN selected picks
    the connection that serves it — "h2": an Http2Connection (decision 0022), anything else or no ALPN: the
    Http11Connection the TLS room made at accept — which takes over the TLS transport."""

    def __init__(self, driver: Driver, conn: Http11Connection, server_name: str | None = None) -> None:
        self.driver = driver
        self.conn = conn
        self.server_name = (
            server_name  # the SNI name of a handshake no SNI callback saw (`Tls.direct_context`)
        )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sslobj = transport.get_extra_info("ssl_object")
        if self.server_name is not None and sslobj is not None:
            setattr(sslobj, _SNI_SEEN, self.server_name)
        alpn = sslobj.selected_alpn_protocol() if sslobj is not None else None
        protocol: asyncio.Protocol = self.conn
        if alpn == "h2":
            from httpsys._engine.http2 import connection_for_alpn

            owner: Any = self.driver
            made = connection_for_alpn(owner, self.conn.port, "https", alpn)
            made.local_addr, made.remote_addr, made.ipv6 = (
                self.conn.local_addr,
                self.conn.remote_addr,
                self.conn.ipv6,
            )
            protocol = made
        transport.set_protocol(protocol)
        protocol.connection_made(transport)

    def data_received(self, data: bytes) -> None:  # pragma: no cover - connection_made hands over first
        self.conn.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:  # pragma: no cover - handed over first
        self.conn.connection_lost(exc)
