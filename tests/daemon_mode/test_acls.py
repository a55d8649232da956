"""URL ACLs, queue ACLs and the configuration calls through the daemon (decision 0020, spec §6 items 24, 26, 44).

The first tests run a DaemonServer in this process over its real Unix socket with identities injected at accept
(each new connection takes the next principal: fast, any uid without root). The last ones, as root only, create
throwaway users and check SO_PEERCRED end to end through an `httpsys daemon` subprocess.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.daemon_process import DaemonProcess
from conformance.harness import free_port
from httpsys._config import URLACL, ConfigStore
from httpsys._core.sddl import Principal
from httpsys._core.status import Win32Error
from httpsys._daemon.server import DaemonServer
from httpsys._transport.remote import RemoteTransport

OK = int(Win32Error.NO_ERROR)
DENIED = int(Win32Error.ERROR_ACCESS_DENIED)
MISSING = int(Win32Error.ERROR_FILE_NOT_FOUND)
INVALID = int(Win32Error.ERROR_INVALID_PARAMETER)
OPEN_EXISTING = 1
PROP_QUEUE_LENGTH = 4

ALICE = Principal(uid=51001, gid=51001)
BOB = Principal(uid=51002, gid=51002, groups=frozenset({52000}))
CAROL = Principal(uid=51003, gid=51003)
ADMIN = Principal(uid=51004, gid=51004, admin=True)


def run_daemon(
    tmp_path: Path,
    identities: list[Principal],
    body: Callable[[str], Any],
    prepare: Callable[[ConfigStore], None],
) -> Any:
    """Run `body(socket path)` in a thread while a DaemonServer with the store of `tmp_path` serves; each accepted
    connection is given the next identity of `identities`."""
    path = str(tmp_path / "d.sock")
    config_dir = str(tmp_path / "config")
    store = ConfigStore(config_dir)
    prepare(store)
    store.close()
    queue = list(identities)

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        server = DaemonServer(path, loop, config_dir=config_dir, identify=lambda sock, peer: queue.pop(0))
        server.start()
        try:
            return await loop.run_in_executor(None, body, path)
        finally:
            server.close()

    return asyncio.run(asyncio.wait_for(main(), 60))


def group_of(transport: RemoteTransport) -> int:
    code, session = transport.create_server_session((2, 0))
    assert code == OK
    code, group = transport.create_url_group(session)
    assert code == OK
    return group


def test_url_registration_is_decided_by_the_reservations_on_the_callers_identity(tmp_path: Path) -> None:
    port, other = free_port(), free_port()

    def prepare(store: ConfigStore) -> None:
        assert store.set(URLACL, f"http://+:{port}/alice/", "D:(A;;GX;;;S-1-22-1-51001)") == OK
        assert store.set(URLACL, f"http://+:{port}/team/", "D:(A;;GX;;;S-1-22-2-52000)") == OK

    def body(path: str) -> None:
        alice, bob, admin = RemoteTransport(path), RemoteTransport(path), RemoteTransport(path)
        try:
            a, b, root = group_of(alice), group_of(bob), group_of(admin)
            assert alice.add_url(a, f"http://+:{port}/alice/app/", 0) == OK
            assert bob.add_url(b, f"http://+:{port}/alice/bob/", 0) == DENIED
            assert bob.add_url(b, f"http://+:{port}/team/", 0) == OK  # through a supplementary group
            assert alice.add_url(a, f"http://+:{port}/team/x/", 0) == DENIED
            assert bob.add_url(b, f"http://+:{other}/", 0) == DENIED  # the namespace is closed by default
            assert bob.add_url(b, f"http://localhost:{other}/", 0) == OK  # item 44's localhost exception
            assert admin.add_url(root, f"http://+:{port}/", 0) == OK  # administrators need no reservation
            assert alice.add_url(a, "not a url", 0) == INVALID  # bad input is still the engine's answer
        finally:
            for t in (alice, bob, admin):
                t.close()

    run_daemon(tmp_path, [ALICE, BOB, ADMIN], body, prepare)


def test_named_queue_acl_decides_who_opens_and_only_the_creator_sets_properties(tmp_path: Path) -> None:
    name = f"q-{uuid.uuid4().hex[:8]}"

    def body(path: str) -> None:
        alice, bob, carol = RemoteTransport(path), RemoteTransport(path), RemoteTransport(path)
        try:
            code, created = alice.create_request_queue(name, 0, False, "D:(A;;GX;;;S-1-22-1-51002)")
            assert code == OK
            code, opened = bob.create_request_queue(name, OPEN_EXISTING, False)
            assert code == OK and opened
            assert carol.create_request_queue(name, OPEN_EXISTING, False) == (DENIED, 0)
            assert carol.create_request_queue("no-such-queue", OPEN_EXISTING, False)[0] == MISSING
            assert alice.create_request_queue("bad", 0, False, "D:(A;;XX;;;WD)")[0] == INVALID
            # item 26 across processes: the opener may query, only the creator sets
            assert bob.set_queue_property(opened, PROP_QUEUE_LENGTH, 10) == INVALID
            assert alice.set_queue_property(created, PROP_QUEUE_LENGTH, 10) == OK
            assert bob.query_queue_property(opened, PROP_QUEUE_LENGTH) == (OK, 10)
            # no SecurityAttributes: the creator's user and the administrators only
            code, _ = carol.create_request_queue(name + "-default", 0, False)
            assert code == OK
            assert alice.create_request_queue(name + "-default", OPEN_EXISTING, False)[0] == DENIED
        finally:
            for t in (alice, bob, carol):
                t.close()

    run_daemon(tmp_path, [ALICE, BOB, CAROL], body, lambda store: None)


def test_configuration_changes_need_an_administrator_or_the_delegate_right(tmp_path: Path) -> None:
    port = free_port()

    def prepare(store: ConfigStore) -> None:
        assert store.set(URLACL, f"http://+:{port}/carol/", "D:(A;;GW;;;S-1-22-1-51003)") == OK

    def body(path: str) -> None:
        bob, carol, admin = RemoteTransport(path), RemoteTransport(path), RemoteTransport(path)
        try:
            record = (URLACL, f"http://+:{port}/bob/", "D:(A;;GX;;;S-1-22-1-51002)")
            assert bob.service_config_set(*record, False) == DENIED
            assert bob.service_config_set("timeout", 0, 30, False) == DENIED
            assert bob.service_config_query(URLACL)[0] == OK  # anyone reads
            sub = (URLACL, f"http://+:{port}/carol/shop/", "D:(A;;GX;;;S-1-22-1-51002)")
            assert carol.service_config_set(*sub, False) == OK  # GW on the enclosing reservation
            assert carol.service_config_set(*record, False) == DENIED
            assert admin.service_config_set(*record, False) == OK
            assert admin.service_config_set(*record, False) == int(Win32Error.ERROR_ALREADY_EXISTS)
            assert admin.service_config_set(URLACL, "http://+:1/x/", "D:(A;;ZZ;;;WD)", False) == INVALID
            assert bob.service_state()[0] == DENIED and bob.reload_configuration() == DENIED
            code, state = admin.service_state()
            assert code == OK and isinstance(state, dict) and set(state) == {"sessions", "queues"}
            assert admin.reload_configuration() == OK
            # the registration checks use the changed store at once
            group = group_of(bob)
            assert bob.add_url(group, f"http://+:{port}/carol/shop/", 0) == OK
            assert carol.service_config_delete(URLACL, f"http://+:{port}/carol/shop/") == OK
            assert bob.service_config_delete(*record[:2]) == DENIED
        finally:
            for t in (bob, carol, admin):
                t.close()

    run_daemon(tmp_path, [BOB, CAROL, ADMIN], body, prepare)


# ----- real users, real SO_PEERCRED (root only) -----------------------------------------------------------------


@pytest.fixture
def throwaway_users() -> Iterator[list[pwd.struct_passwd]]:
    if os.geteuid() != 0:
        pytest.skip("creating throwaway users needs root (CI runs as root)")
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        pytest.skip("useradd/userdel are not installed")
    names = [f"hs{uuid.uuid4().hex[:8]}" for _ in range(2)]
    made = []
    try:
        for name in names:
            subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
            made.append(name)
        yield [pwd.getpwnam(name) for name in names]
    finally:
        for name in made:
            subprocess.run(["userdel", name], check=False)


def as_user(user: pwd.struct_passwd, action: Callable[[], str]) -> str:
    """Run `action` in a forked child that has become `user` (no exec: the interpreter of the test run may live
    where other users cannot read); what it returns, or the exception it raised."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: become the user, act, report, exit without running the parent's clean-up
        status = 0
        try:
            os.close(read_end)
            os.setgroups([])
            os.setresgid(user.pw_gid, user.pw_gid, user.pw_gid)
            os.setresuid(user.pw_uid, user.pw_uid, user.pw_uid)
            result = action()
        except BaseException as exc:
            result = f"{type(exc).__name__}: {exc}"
            status = 1
        os.write(write_end, result.encode())
        os._exit(status)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


def register(path: str, url: str) -> Callable[[], str]:
    def action() -> str:
        transport = RemoteTransport(path)
        try:
            session = transport.create_server_session((2, 0))[1]
            group = transport.create_url_group(session)[1]
            return str(transport.add_url(group, url, 0))
        finally:
            transport.close()

    return action


def netsh_as_child(path: str) -> Callable[[], str]:
    # imported here, in the parent: the child, another user, may not read the interpreter's library (as_user)
    import httpsys.cli.netsh  # noqa: F401
    from httpsys.cli.options import build_parser

    build_parser()

    def action() -> str:
        import io
        from contextlib import redirect_stderr

        from httpsys.cli import main

        os.environ["HTTPSYS_DAEMON_SOCKET"] = path
        err = io.StringIO()
        with redirect_stderr(err):
            status = main(["netsh", "http", "add", "iplisten", "ipaddress=127.0.0.1"])
        return f"{status}|{err.getvalue()}"

    return action


def test_real_users_are_told_apart_by_so_peercred(throwaway_users: list[pwd.struct_passwd]) -> None:
    owner, stranger = throwaway_users
    port = free_port()
    base = Path(tempfile.mkdtemp(prefix="httpsys-acl-"))
    try:
        base.chmod(0o755)  # the users must reach the socket
        config = base / "config"
        record = f"D:(A;;GX;;;S-1-22-1-{owner.pw_uid})"
        assert ConfigStore(str(config)).set(URLACL, f"http://+:{port}/", record) == OK
        daemon = DaemonProcess(str(base), "--config-dir", str(config))
        try:
            url = f"http://+:{port}/app/"
            assert as_user(owner, register(daemon.path, url)) == str(OK)
            assert as_user(stranger, register(daemon.path, url + "x/")) == str(DENIED)
            log = daemon.stderr()
            assert (
                "registration of" in log and f"uid={stranger.pw_uid}" in log and f"uid={owner.pw_uid}" in log
            )
            # admin.sock is 0660: a non-administrator cannot reach it, and netsh says so as netsh does
            status, _, stderr = as_user(stranger, netsh_as_child(daemon.path)).partition("|")
            assert status == "1" and "Error: 5" in stderr and "Access is denied." in stderr
        finally:
            assert daemon.stop() == 0
    finally:
        shutil.rmtree(base, ignore_errors=True)
