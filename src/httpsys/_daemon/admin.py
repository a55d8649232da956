"""The daemon's administration calls: the service configuration records, the service state, reload.

Responsibility: answer SERVICE_CONFIG_SET / _DELETE / _QUERY (validate, commit to the store, apply — through the
store, the daemon being its only writer while it runs), SERVICE_CONFIG_IMPORT (a `config export` document replacing every record in one transaction), SERVICE_STATE (what `netsh http show servicestate`
prints: sessions, URL groups and their URLs, request queues, the processes that have them open, queued and
active request counts) and RELOAD_CONFIGURATION, each on the caller's principal: changes need an administrator
(or the delegate right, for reservations), ERROR_ACCESS_DENIED otherwise, and every refusal is logged. It must not
hold HTTP behaviour nor open sockets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

from httpsys._config.records import KINDS, Configuration, InvalidRecord
from httpsys._config.store import ConfigStoreError
from httpsys._core.status import Win32Error
from httpsys._wire import messages as M

__all__ = ["ADMIN_HANDLERS", "service_state"]

log = logging.getLogger("httpsys.daemon")

_DENIED: Final = int(Win32Error.ERROR_ACCESS_DENIED)
_INVALID: Final = int(Win32Error.ERROR_INVALID_PARAMETER)


def _config_set(c: Any, m: M.ServiceConfigSet) -> None:
    server = c.server
    if m.kind not in KINDS:
        c.send(M.CodeDone(op=m.op, code=_INVALID))
        return
    if not server.authority.may_change(c.principal, m.kind, m.key):
        log.warning("client %d (%r): set %s %r refused (access denied)", c.client_id, c.peer, m.kind, m.key)
        c.send(M.CodeDone(op=m.op, code=_DENIED))
        return
    try:
        code = server.store.set(m.kind, m.key, m.value, update=m.update)
    except ConfigStoreError as exc:
        log.error("%s", exc)
        code = exc.winerror
    if code == 0:
        log.info(
            "client %d (%r): %s %s %r", c.client_id, c.peer, "updated" if m.update else "set", m.kind, m.key
        )
    c.send(M.CodeDone(op=m.op, code=code))


def _config_delete(c: Any, m: M.ServiceConfigDelete) -> None:
    server = c.server
    if m.kind not in KINDS:
        c.send(M.CodeDone(op=m.op, code=_INVALID))
        return
    if not server.authority.may_change(c.principal, m.kind, m.key):
        log.warning(
            "client %d (%r): delete %s %r refused (access denied)", c.client_id, c.peer, m.kind, m.key
        )
        c.send(M.CodeDone(op=m.op, code=_DENIED))
        return
    try:
        code = server.store.delete(m.kind, m.key)
    except ConfigStoreError as exc:
        log.error("%s", exc)
        code = exc.winerror
    if code == 0:
        log.info("client %d (%r): deleted %s %r", c.client_id, c.peer, m.kind, m.key)
    c.send(M.CodeDone(op=m.op, code=code))


def _config_query(c: Any, m: M.ServiceConfigQuery) -> None:
    if m.kind not in KINDS:
        c.send(M.ValueDone(op=m.op, code=_INVALID))
        return
    try:
        rows = [[key, value] for key, value in c.server.store.load().of(m.kind)]
    except ConfigStoreError as exc:
        log.error("%s", exc)
        c.send(M.ValueDone(op=m.op, code=exc.winerror))
        return
    c.send(M.ValueDone(op=m.op, code=0, value=rows))


def _service_state(c: Any, m: M.ServiceState) -> None:
    if not c.principal.admin:
        log.warning("client %d (%r): service state refused (access denied)", c.client_id, c.peer)
        c.send(M.ValueDone(op=m.op, code=_DENIED))
        return
    c.send(M.ValueDone(op=m.op, code=0, value=service_state(c.server)))


def _reload(c: Any, m: M.ReloadConfiguration) -> None:
    if not c.principal.admin:
        log.warning("client %d (%r): reload refused (access denied)", c.client_id, c.peer)
        c.send(M.CodeDone(op=m.op, code=_DENIED))
        return
    c.send(M.CodeDone(op=m.op, code=c.server.reload()))


def _import(c: Any, m: M.ServiceConfigImport) -> None:
    if not c.principal.admin:
        log.warning("client %d (%r): configuration import refused (access denied)", c.client_id, c.peer)
        c.send(M.CodeDone(op=m.op, code=_DENIED))
        return
    try:
        c.server.store.replace_all(Configuration.from_json(m.document))
    except InvalidRecord as exc:
        log.warning("client %d (%r): configuration import refused: %s", c.client_id, c.peer, exc)
        c.send(M.CodeDone(op=m.op, code=_INVALID))
        return
    except ConfigStoreError as exc:
        log.error("%s", exc)
        c.send(M.CodeDone(op=m.op, code=exc.winerror))
        return
    log.info("client %d (%r): configuration imported", c.client_id, c.peer)
    c.send(M.CodeDone(op=m.op, code=0))


ADMIN_HANDLERS: Final[dict[type[M.Message], Callable[[Any, Any], None]]] = {
    M.ServiceConfigSet: _config_set,
    M.ServiceConfigDelete: _config_delete,
    M.ServiceConfigQuery: _config_query,
    M.ServiceState: _service_state,
    M.ReloadConfiguration: _reload,
    M.ServiceConfigImport: _import,
}


def service_state(server: Any) -> dict[str, object]:
    """The driver's objects as plain data: sessions (with their groups and URLs) and request queues (with the
    processes that have them open and their queued / active request counts). Runs on the daemon's loop."""
    registry = server.transport.driver.registry
    owners: dict[int, Any] = {}
    for client in list(server.clients.values()):
        for handle_id in client.owned:
            owners[handle_id] = client
    queue_names = {queue_id: queue.name for queue_id, queue in registry.queues.items()}

    def process(handle_id: int) -> dict[str, object]:
        client = owners.get(handle_id)
        if client is None:
            return {"pid": 0, "uid": -1}
        return {"pid": client.peer.pid, "uid": client.peer.uid}

    sessions = []
    for session_id, session in sorted(registry.sessions.items()):
        groups = []
        for group_id in sorted(session.groups):
            group = registry.groups.get(group_id)
            if group is None:
                continue
            groups.append(
                {
                    "id": group_id,
                    "state": "Active" if group.enabled else "Inactive",
                    "queue": queue_names.get(group.queue_id) if group.queue_id is not None else None,
                    "bound": group.queue_id is not None,
                    "urls": sorted(group.urls),
                }
            )
        sessions.append(
            {
                "id": session_id,
                "version": f"{session.version[0]}.{session.version[1]}",
                "state": "Active" if session.enabled else "Inactive",
                **process(session_id),
                "groups": groups,
            }
        )
    queues = []
    for queue_id, queue in sorted(registry.queues.items()):
        handles = [registry.handles[h] for h in sorted(queue.handles) if h in registry.handles]
        processes = []
        for handle in handles:
            entry = process(handle.handle_id)
            entry["creator"] = handle.creator
            processes.append(entry)
        queues.append(
            {
                "id": queue_id,
                "name": queue.name,
                "version": "1.0" if queue.v1 else "2.0",
                "state": "Active" if queue.enabled else "Inactive",
                "controller": queue.controller,
                "verbosity": int(queue.verbosity),
                "max_requests": queue.length_limit,
                "queued": len(queue.discipline.waiting),
                "active": sum(len(handle.requests) for handle in handles),
                "processes": processes,
                "urls": sorted(
                    url
                    for group in registry.groups.values()
                    if group.queue_id == queue_id
                    for url in group.urls
                ),
            }
        )
    return {"sessions": sessions, "queues": queues}
