"""The persistent service configuration (ARCHITECTURE §8.5): records, the SQLite store, applying it to a driver.

Responsibility: the package's public names — `ConfigStore` (one SQLite file per configuration directory),
`Configuration` and its records, `ssl_bindings()` (what the TLS side loads), `process_store()` (the store an
embedded process uses) and `apply_configuration()` (re-read and applied to a running driver: SIGHUP, the admin
RELOAD call, each change). It must not talk to the transport or parse Win32 structs.
"""

from __future__ import annotations

import threading

from httpsys._config.records import (
    CACHE,
    IPLISTEN,
    KINDS,
    SETTING,
    SSLCERT,
    TIMEOUT,
    URLACL,
    Configuration,
    InvalidRecord,
    SslBinding,
)
from httpsys._config.store import (
    CONFIG_DIR_ENV,
    ConfigStore,
    ConfigStoreError,
    config_directory,
)

__all__ = [
    "CACHE",
    "CONFIG_DIR_ENV",
    "IPLISTEN",
    "KINDS",
    "SETTING",
    "SSLCERT",
    "TIMEOUT",
    "URLACL",
    "ConfigStore",
    "ConfigStoreError",
    "Configuration",
    "InvalidRecord",
    "SslBinding",
    "config_directory",
    "process_store",
    "ssl_bindings",
]

_lock = threading.Lock()
_stores: dict[str, ConfigStore] = {}


def process_store(directory: str | None = None) -> ConfigStore:
    """The store of `directory` (default: `config_directory()`, read at each call), one object per directory in
    this process. Nothing is created until the first change."""
    path = config_directory(directory)
    with _lock:
        store = _stores.get(path)
        if store is None:
            store = _stores[path] = ConfigStore(path)
        return store


def ssl_bindings(directory: str | None = None) -> tuple[SslBinding, ...]:
    """The stored SSL certificate bindings (ipport, hostnameport, ccs), in the order they were added."""
    return process_store(directory).load().ssl_bindings()
