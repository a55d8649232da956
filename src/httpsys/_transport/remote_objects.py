"""The object model through the daemon: server sessions, URL groups, request queues (their properties, URLs,
fragments and cache), requests' properties, delegation and the service configuration, each one synchronous call,
and the journal of what this process created, replayed on a new daemon after an upgrade (decision 0024 §3).

Responsibility: `RemoteObjectCalls`, the half of `RemoteTransport` (`remote.py`) that carries HTTP.sys's object
calls by noun (a message per call, the daemon's answer turned into the interface's return value, the ids the faces
hold translated per connection) and records them in the `Journal`. It must not own the connection, threads or the
I/O calls (`remote.py` and `remote_channel.py` do) and must not contain HTTP behaviour (the daemon's engine has it).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from httpsys._core.records import CachePolicy
from httpsys._core.status import Win32Error
from httpsys._transport.remote_channel import Channel
from httpsys._wire import Message
from httpsys._wire import messages as M

__all__ = ["Journal", "RemoteObjectCalls", "translate_value"]

log = logging.getLogger("httpsys.remote")

Msg = TypeVar("Msg", bound=Message)


class Journal:
    """What this process created through the daemon, by virtual id, to create again on a new daemon after an
    upgrade (decision 0024 §3): sessions, URL groups, request queues, their properties and URLs."""

    def __init__(self) -> None:
        self.sessions: dict[int, tuple[int, int]] = {}
        self.session_props: dict[tuple[int, int], object] = {}
        self.groups: dict[int, int] = {}  # group -> its session
        self.group_props: list[tuple[int, int, object]] = []  # in order (delegation adds several)
        self.urls: dict[int, dict[str, int]] = {}  # group -> URL -> context
        # handle -> (name, flags, v1, security)
        self.queues: dict[int, tuple[str | None, int, bool, str | None]] = {}
        self.queue_props: dict[tuple[int, int], object] = {}
        self.urls_v1: dict[int, list[str]] = {}
        self.shutdown: set[int] = set()

    def ids(self) -> set[int]:
        return set(self.sessions) | set(self.groups) | set(self.queues)

    def drop_group(self, gid: int) -> None:
        self.groups.pop(gid, None)
        self.urls.pop(gid, None)
        self.group_props = [p for p in self.group_props if p[0] != gid]

    def drop_session(self, sid: int) -> None:
        self.sessions.pop(sid, None)
        for key in [k for k in self.session_props if k[0] == sid]:
            del self.session_props[key]
        for gid in [g for g, owner in self.groups.items() if owner == sid]:
            self.drop_group(gid)

    def drop_queue(self, handle: int) -> None:
        self.queues.pop(handle, None)
        self.urls_v1.pop(handle, None)
        self.shutdown.discard(handle)
        for key in [k for k in self.queue_props if k[0] == handle]:
            del self.queue_props[key]


_PROP_BINDING = 7
_PROP_DELEGATION = 16
_OPEN_EXISTING = 0x1
_FILE_NOT_FOUND = int(Win32Error.ERROR_FILE_NOT_FOUND)


def translate_value(prop: int, value: object, chan: Channel) -> object:
    """A group property value naming a queue handle, with the handle as `chan`'s daemon knows it."""
    if not chan.ids:
        return value
    if prop == _PROP_BINDING and isinstance(value, int) and not isinstance(value, bool):
        return chan.real(value)
    if (
        prop == _PROP_DELEGATION
        and isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[1], int)
    ):
        return (value[0], chan.real(value[1]))
    return value


class RemoteObjectCalls:
    """The object model's calls of a remote transport; the transport provides the connection (`_sync`,
    `_sync_on`), the journal's lock and the id translation (`_virtual`)."""

    _journal: Journal
    _journal_lock: contextlib.AbstractContextManager[None]

    def _sync(
        self, build: Callable[[Channel], Message], expect: type[Msg], request_id: int = 0
    ) -> tuple[Msg | int, Channel | None]:
        raise NotImplementedError

    def _sync_on(self, chan: Channel, message: Message, expect: type[Msg]) -> Msg | int:
        raise NotImplementedError

    def _virtual(self, chan: Channel | None, real: int) -> int:
        raise NotImplementedError

    # ----- synchronous calls -----------------------------------------------------------------------------------
    def _code(self, build: Callable[[Channel], Message], request_id: int = 0) -> int:
        answer, _chan = self._sync(build, M.CodeDone, request_id)
        return answer if isinstance(answer, int) else answer.code

    def _created(self, build: Callable[[Channel], Message]) -> tuple[int, int]:
        answer, chan = self._sync(build, M.HandleDone)
        if isinstance(answer, int):
            return answer, 0
        if answer.code != 0:
            return answer.code, 0
        return 0, self._virtual(chan, answer.object_id)

    def _value(self, build: Callable[[Channel], Message]) -> tuple[int, object]:
        answer, _chan = self._sync(build, M.ValueDone)
        return (answer, None) if isinstance(answer, int) else (answer.code, answer.value)

    # ----- object model ----------------------------------------------------------------------------------------
    def create_server_session(self, version: tuple[int, int]) -> tuple[int, int]:
        with self._journal_lock:
            code, sid = self._created(lambda ch: M.CreateServerSession(version=version))
            if code == 0:
                self._journal.sessions[sid] = tuple(version)  # type: ignore[assignment]
            return code, sid

    def close_server_session(self, session_id: int) -> int:
        with self._journal_lock:
            code = self._code(lambda ch: M.CloseServerSession(session_id=ch.real(session_id)))
            if code == 0:
                self._journal.drop_session(session_id)
            return code

    def drain_server_session(self, session_id: int) -> tuple[int, int]:
        answer, _chan = self._sync(
            lambda ch: M.DrainServerSession(session_id=ch.real(session_id)), M.HandleDone
        )
        return (answer, 0) if isinstance(answer, int) else (answer.code, answer.object_id)

    def set_session_property(self, session_id: int, prop: int, value: object) -> int:
        with self._journal_lock:
            code = self._code(
                lambda ch: M.SetSessionProperty(session_id=ch.real(session_id), prop=prop, value=value)
            )
            if code == 0 and session_id in self._journal.sessions:
                self._journal.session_props[(session_id, prop)] = value
            return code

    def query_session_property(self, session_id: int, prop: int) -> tuple[int, object]:
        return self._value(lambda ch: M.QuerySessionProperty(session_id=ch.real(session_id), prop=prop))

    def create_url_group(self, session_id: int) -> tuple[int, int]:
        with self._journal_lock:
            code, gid = self._created(lambda ch: M.CreateUrlGroup(session_id=ch.real(session_id)))
            if code == 0:
                self._journal.groups[gid] = session_id
            return code, gid

    def close_url_group(self, group_id: int) -> int:
        with self._journal_lock:
            code = self._code(lambda ch: M.CloseUrlGroup(group_id=ch.real(group_id)))
            if code == 0:
                self._journal.drop_group(group_id)
            return code

    def add_url(self, group_id: int, url: str, context: int) -> int:
        with self._journal_lock:
            code = self._code(lambda ch: M.AddUrl(group_id=ch.real(group_id), url=url, context=context))
            if code == 0 and group_id in self._journal.groups:
                self._journal.urls.setdefault(group_id, {})[url] = context
            return code

    def remove_url(self, group_id: int, url: str | None, remove_all: bool) -> int:
        with self._journal_lock:
            code = self._code(
                lambda ch: M.RemoveUrl(group_id=ch.real(group_id), url=url, remove_all=remove_all)
            )
            if code == 0:
                urls = self._journal.urls.get(group_id, {})
                if remove_all:
                    urls.clear()
                elif url is not None:
                    urls.pop(url, None)
            return code

    def set_group_property(self, group_id: int, prop: int, value: object) -> int:
        with self._journal_lock:
            code = self._code(
                lambda ch: M.SetGroupProperty(
                    group_id=ch.real(group_id), prop=prop, value=translate_value(prop, value, ch)
                )
            )
            journal = self._journal
            if code == 0 and group_id in journal.groups:
                if prop != _PROP_DELEGATION:
                    journal.group_props = [p for p in journal.group_props if p[:2] != (group_id, prop)]
                journal.group_props.append((group_id, prop, value))
            return code

    def query_group_property(self, group_id: int, prop: int) -> tuple[int, object]:
        answer, chan = self._sync(
            lambda ch: M.QueryGroupProperty(group_id=ch.real(group_id), prop=prop), M.ValueDone
        )
        if isinstance(answer, int):
            return answer, None
        value = answer.value
        if (
            prop == _PROP_BINDING
            and chan is not None
            and isinstance(value, int)
            and not isinstance(value, bool)
        ):
            value = chan.virtual(value)  # the bound queue handle as the faces know it
        return answer.code, value

    def create_request_queue(
        self, name: str | None, flags: int, v1: bool, security: str | None = None
    ) -> tuple[int, int]:
        with self._journal_lock:
            code, handle = self._created(
                lambda ch: M.CreateRequestQueue(name=name, flags=flags, v1=v1, security=security)
            )
            if code == 0:
                self._journal.queues[handle] = (name, flags, v1, security)
            return code, handle

    def close_request_queue(self, handle_id: int) -> int:
        with self._journal_lock:
            code = self._code(lambda ch: M.CloseRequestQueue(handle_id=ch.real(handle_id)))
            if code == 0:
                self._journal.drop_queue(handle_id)
            return code

    def set_queue_property(self, handle_id: int, prop: int, value: object) -> int:
        with self._journal_lock:
            code = self._code(
                lambda ch: M.SetQueueProperty(handle_id=ch.real(handle_id), prop=prop, value=value)
            )
            if code == 0 and handle_id in self._journal.queues:
                self._journal.queue_props[(handle_id, prop)] = value
            return code

    def query_queue_property(self, handle_id: int, prop: int) -> tuple[int, object]:
        return self._value(lambda ch: M.QueryQueueProperty(handle_id=ch.real(handle_id), prop=prop))

    def shutdown_request_queue(self, handle_id: int) -> int:
        with self._journal_lock:
            code = self._code(lambda ch: M.ShutdownRequestQueue(handle_id=ch.real(handle_id)))
            if code == 0 and handle_id in self._journal.queues:
                self._journal.shutdown.add(handle_id)
            return code

    def add_url_v1(self, handle_id: int, url: str) -> int:
        with self._journal_lock:
            code = self._code(lambda ch: M.AddUrlV1(handle_id=ch.real(handle_id), url=url))
            if code == 0 and handle_id in self._journal.queues:
                self._journal.urls_v1.setdefault(handle_id, []).append(url)
            return code

    def remove_url_v1(self, handle_id: int, url: str) -> int:
        with self._journal_lock:
            code = self._code(lambda ch: M.RemoveUrlV1(handle_id=ch.real(handle_id), url=url))
            urls = self._journal.urls_v1.get(handle_id)
            if code == 0 and urls is not None and url in urls:
                urls.remove(url)
            return code

    def add_fragment(self, handle_id: int, name: str, data: bytes, policy: CachePolicy) -> int:
        return self._code(
            lambda ch: M.AddFragment(handle_id=ch.real(handle_id), name=name, data=data, policy=policy)
        )

    def read_fragment(self, handle_id: int, name: str) -> tuple[int, bytes]:
        answer, _chan = self._sync(
            lambda ch: M.ReadFragment(handle_id=ch.real(handle_id), name=name), M.BytesDone
        )
        return (answer, b"") if isinstance(answer, int) else (answer.code, answer.data)

    def flush_cache(self, handle_id: int, prefix: str, recursive: bool) -> int:
        return self._code(
            lambda ch: M.FlushCache(handle_id=ch.real(handle_id), prefix=prefix, recursive=recursive)
        )

    def cancel_request(self, handle_id: int, request_id: int) -> int:
        return self._code(
            lambda ch: M.CancelRequest(handle_id=ch.real(handle_id), request_id=request_id), request_id
        )

    def set_request_property(self, handle_id: int, request_id: int, prop: int, value: int) -> int:
        return self._code(
            lambda ch: M.SetRequestProperty(
                handle_id=ch.real(handle_id), request_id=request_id, prop=prop, value=value
            ),
            request_id,
        )

    def query_request_property(self, handle_id: int, request_id: int, prop: int) -> tuple[int, object]:
        answer, _chan = self._sync(
            lambda ch: M.QueryRequestProperty(handle_id=ch.real(handle_id), request_id=request_id, prop=prop),
            M.ValueDone,
            request_id,
        )
        return (answer, None) if isinstance(answer, int) else (answer.code, answer.value)

    # ----- the service configuration (through the daemon, which owns the store; decision 0020) -----------------
    def service_config_set(self, kind: str, key: object, value: object, update: bool) -> int:
        return self._code(lambda ch: M.ServiceConfigSet(kind=kind, key=key, value=value, update=update))

    def service_config_delete(self, kind: str, key: object) -> int:
        return self._code(lambda ch: M.ServiceConfigDelete(kind=kind, key=key))

    def service_config_query(self, kind: str) -> tuple[int, list[tuple[object, object]]]:
        code, value = self._value(lambda ch: M.ServiceConfigQuery(kind=kind))
        if code or not isinstance(value, list | tuple):
            return code, []
        return code, [(row[0], row[1]) for row in value if isinstance(row, list | tuple) and len(row) == 2]

    def service_state(self) -> tuple[int, object]:
        return self._value(lambda ch: M.ServiceState())

    def reload_configuration(self) -> int:
        return self._code(lambda ch: M.ReloadConfiguration())

    def service_config_import(self, document: str) -> int:
        return self._code(lambda ch: M.ServiceConfigImport(document=document))

    def statistics(self) -> dict[str, int]:
        answer, _chan = self._sync(lambda ch: M.Statistics(), M.StatsDone)
        return {} if isinstance(answer, int) else dict(answer.stats)

    def delegate_request(
        self, source_id: int, target_id: int, request_id: int, group_id: int, url: str | None
    ) -> int:
        return self._code(
            lambda ch: M.DelegateRequest(
                source_id=ch.real(source_id),
                target_id=ch.real(target_id),
                request_id=request_id,
                group_id=ch.real(group_id),
                url=url,
            ),
            request_id,
        )

    def find_url_group_id(self, url: str, handle_id: int) -> tuple[int, int]:
        answer, chan = self._sync(
            lambda ch: M.FindUrlGroupId(url=url, handle_id=ch.real(handle_id)), M.HandleDone
        )
        if isinstance(answer, int):
            return answer, 0
        if answer.code != 0 or chan is None:
            return answer.code, answer.object_id
        return 0, chan.virtual(answer.object_id)

    # ----- upgrade: the journal replayed on the new daemon ----------------------------------------------------
    def _replay(self, new: Channel, deadline: float) -> int:
        """Create this process's objects again on `new`, in dependency order; how many. A step that fails is
        logged and skipped (that object's later calls fail as for an unknown object)."""
        journal = self._journal
        count = 0

        def created(virtual: int, answer: object, what: str) -> None:
            nonlocal count
            if isinstance(answer, M.HandleDone) and answer.code == 0:
                new.ids[virtual] = answer.object_id
                count += 1
            else:
                code = answer.code if isinstance(answer, M.HandleDone) else answer
                log.error("upgrade: %s %d could not be created again (%s)", what, virtual, code)

        def step(message: Message, what: str) -> None:
            answer = self._sync_on(new, message, M.CodeDone)
            code = answer.code if isinstance(answer, M.CodeDone) else answer
            if code != 0:
                log.error("upgrade: %s failed again (%s)", what, code)

        for sid, version in journal.sessions.items():
            created(sid, self._sync_on(new, M.CreateServerSession(version=version), M.HandleDone), "session")
        for (sid, prop), value in journal.session_props.items():
            step(M.SetSessionProperty(session_id=new.real(sid), prop=prop, value=value), "session property")
        ordered = sorted(journal.queues.items(), key=lambda item: bool(item[1][1] & _OPEN_EXISTING))
        for handle, (name, flags, v1, security) in ordered:
            message = M.CreateRequestQueue(name=name, flags=flags, v1=v1, security=security)
            answer = self._sync_on(new, message, M.HandleDone)
            while (
                flags & _OPEN_EXISTING
                and isinstance(answer, M.HandleDone)
                and answer.code == _FILE_NOT_FOUND
                and time.monotonic() < deadline
            ):  # its creator (another process) has not created it again yet
                time.sleep(0.05)
                answer = self._sync_on(new, message, M.HandleDone)
            created(handle, answer, f"request queue {name or ''}")
        for (handle, prop), value in journal.queue_props.items():
            step(M.SetQueueProperty(handle_id=new.real(handle), prop=prop, value=value), "queue property")
        for gid, sid in journal.groups.items():
            created(
                gid, self._sync_on(new, M.CreateUrlGroup(session_id=new.real(sid)), M.HandleDone), "group"
            )
        for gid, prop, value in journal.group_props:
            value = translate_value(prop, value, new)
            step(M.SetGroupProperty(group_id=new.real(gid), prop=prop, value=value), "group property")
        for gid, urls in journal.urls.items():
            for url, context in urls.items():
                step(M.AddUrl(group_id=new.real(gid), url=url, context=context), f"URL {url}")
        for handle, urls_v1 in journal.urls_v1.items():
            for url in urls_v1:
                step(M.AddUrlV1(handle_id=new.real(handle), url=url), f"URL {url}")
        for handle in journal.shutdown:
            step(M.ShutdownRequestQueue(handle_id=new.real(handle)), "queue shutdown")
        return count
