"""Applying the stored configuration to a driver: at start, after each change, and on reload (SIGHUP).

Responsibility: turn a `Configuration` into the driver-wide values the engine reads — the IP listen list (the
addresses listeners bind; ports bound earlier keep their sockets, as HTTP.sys applies the list at restart) and the
driver-wide IdleConnection / HeaderWait timeouts (spec §6 items 117, 138), and the URL reservations routing
answers 400 for when nothing is registered under them (item 57), and the SSL bindings TLS connections are served
with (decision 0021) — over the settings the driver was
started with, where those are left at their defaults (a value the program chose wins). It must not read the
store (callers pass the configuration) nor close connections: a reload drops nothing.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import replace
from typing import Any, Final

from httpsys._config.records import Configuration
from httpsys._config.records import SslBinding as StoredSslBinding
from httpsys._core.settings import DriverSettings
from httpsys._core.sslbindings import BindingKind, SslBinding
from httpsys._core.timers import DEFAULT_SECONDS

__all__ = ["IDLE_CONNECTION_TIMEOUT", "HEADER_WAIT_TIMEOUT", "apply_configuration", "settings_with"]

IDLE_CONNECTION_TIMEOUT: Final = 0  # HTTP_SERVICE_CONFIG_TIMEOUT_KEY IdleConnectionTimeout
HEADER_WAIT_TIMEOUT: Final = 1  # HeaderWaitTimeout
_EVERY_ADDRESS: Final = ("0.0.0.0", "::")
log = logging.getLogger("httpsys")


def settings_with(configuration: Configuration, base: DriverSettings | None) -> DriverSettings:
    """`base` with the stored listen list and timeouts filled in where `base` leaves them at their defaults."""
    base = base or DriverSettings()
    changes: dict[str, Any] = {}
    if not base.ip_listen_list and configuration.ip_listen_list:
        changes["ip_listen_list"] = configuration.ip_listen_list
    idle = configuration.timeout(IDLE_CONNECTION_TIMEOUT)
    if idle is not None and base.idle_connection_timeout == DEFAULT_SECONDS:
        changes["idle_connection_timeout"] = idle
    header_wait = configuration.timeout(HEADER_WAIT_TIMEOUT)
    if header_wait is not None and base.header_wait_timeout == DEFAULT_SECONDS:
        changes["header_wait_timeout"] = header_wait
    return replace(base, **changes) if changes else base


def apply_configuration(driver: Any, configuration: Configuration, base: DriverSettings | None) -> None:
    """Apply `configuration` to a running `driver` (on the driver's thread): new connections get the new
    timeouts, ports bound from now on the new listen list; open connections and bound ports are untouched."""
    settings = settings_with(configuration, base).validated()
    driver.settings = settings
    driver.ports.listen_addresses = settings.ip_listen_list or _EVERY_ADDRESS
    driver.registry.set_reservations([url for url, _ in configuration.url_reservations])
    load_ssl_bindings(configuration)


_SSL_KIND: Final = {"ipport": BindingKind.IPPORT, "hostnameport": BindingKind.SNI, "ccs": BindingKind.CCS}


def driver_binding(stored: StoredSslBinding) -> SslBinding:
    """The binding the driver serves for a stored `netsh http add sslcert` record."""
    kind = _SSL_KIND[stored.kind]
    options = stored.options

    def number(name: str) -> int:
        value = options.get(name, 0)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    return SslBinding(
        kind=kind,
        port=stored.port,
        address=stored.host if kind is BindingKind.IPPORT else "",
        host=stored.host if kind is BindingKind.SNI else "",
        cert_hash=stored.cert_hash,
        store=stored.store_name or "MY",
        app_id=stored.app_id,
        flags=stored.flags,
        cert_check_mode=number("certcheckmode"),
        revocation_freshness_time=number("revocationfreshnesstime"),
        revocation_url_retrieval_timeout=number("urlretrievaltimeout"),
        ctl_identifier=str(options.get("sslctlidentifier", "") or ""),
        ctl_store=str(options.get("sslctlstorename", "") or ""),
    )


def load_ssl_bindings(configuration: Configuration) -> None:
    """The store's SSL bindings into the driver's binding table (decision 0021): new TLS connections use them at
    once; the bindings this process set itself stay."""
    stored = configuration.ssl_bindings()
    if not stored and "httpsys._engine.tls" not in sys.modules:
        return  # no binding was ever loaded in this process: nothing to replace (and no TLS import at start)
    from httpsys._engine.tls import ssl_bindings

    unusable = ssl_bindings().table.load_stored(driver_binding(b) for b in stored)
    if unusable:
        log.error("%d stored SSL binding(s) could not be served (damaged store records)", unusable)
