"""A fork server of victim worker processes for the daemon's crash tests: cheap processes that die by SIGKILL at a
chosen point.

Run as `python -m daemon_mode.forkserver SOCKET` (single-threaded, `_wire` imported once; each victim is an
`os.fork()` of it, so a victim costs a fork, not an interpreter start). Commands on stdin, one per line:

* `spawn MODE QUEUE COUNT`: fork COUNT victims. Each connects to the daemon (HELLO), opens the named queue QUEUE
  (OPEN_EXISTING), posts one receive, waits until the daemon has parked it (a no-op call answered in order), prints
  `ready PID`, then, by MODE:
  - `idle`: SIGKILLs itself with the receive posted (nothing borrowed);
  - `midframe`: writes the first half of a frame, then SIGKILLs itself;
  - `borrow`: waits for its request and acts on its path: `/received/...` SIGKILL at once; `/midresponse/...`
    sends a response head (Content-Length 100000) and 1000 body bytes with MORE_DATA, waits for the send to
    complete, SIGKILL; `/midbody/...` reads up to 1000 body bytes, SIGKILL.
  A victim that meets anything unexpected prints `error PID TEXT` and exits 1 (not killed: the test sees it).
* `reap`: wait for every victim forked so far; prints `reaped N KILLED` (KILLED: ended by SIGKILL).

Victims speak the wire protocol directly over a blocking socket (no event loop or thread in the child). It must
not decide what a test asserts; it reports what happened.
"""

from __future__ import annotations

import os
import signal
import socket
import sys

from httpsys._core.records import MemoryChunk, ResponseSpec
from httpsys._core.response import RESPONSE_HEADER_IDS
from httpsys._wire import Decoder, Encoder, Message, Side
from httpsys._wire import messages as M

MORE_DATA = 0x2  # HTTP_SEND_RESPONSE_FLAG_MORE_DATA
OPEN_EXISTING = 1
CONTENT_LENGTH = RESPONSE_HEADER_IDS[b"content-length"]


class _Channel:
    """One blocking connection to the daemon: send a call, wait for the completion of an op."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(path)
        self.encoder = Encoder(Side.CLIENT)
        self.decoder = Decoder(Side.CLIENT)
        self.ops = 0
        self.arrived: dict[int, Message] = {}
        self.send(M.Hello(pid=os.getpid()), op=0)
        welcome = self.next()
        if not isinstance(welcome, M.Welcome):
            raise RuntimeError(f"no WELCOME: {welcome!r}")
        self.encoder.limits = welcome.limits

    def send(self, message: Message, op: int | None = None) -> int:
        if op is None:
            self.ops += 1
            op = self.ops
        message.op = op
        self.encoder.write(message)
        for batch in self.encoder.take():
            self.sock.sendmsg(batch.buffers)
        return op

    def next(self) -> Message:
        while True:
            message = self.decoder.next_message()
            if message is not None:
                return message
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("the daemon closed the connection")
            self.decoder.feed(data)

    def wait(self, op: int) -> Message:
        while op not in self.arrived:
            message = self.next()
            self.arrived[message.op] = message
        return self.arrived.pop(op)

    def call(self, message: Message) -> Message:
        return self.wait(self.send(message))


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _victim(path: str, mode: str, queue_name: str) -> None:
    channel = _Channel(path)
    opened = channel.call(M.CreateRequestQueue(name=queue_name, flags=OPEN_EXISTING, v1=False))
    if not isinstance(opened, M.HandleDone) or opened.code != 0:
        raise RuntimeError(f"cannot open {queue_name}: {opened!r}")
    handle = opened.object_id
    receive_op = channel.send(
        M.ReceiveRequest(handle_id=handle, request_id=0, flags=0, buffer_length=None, v2=True)
    )
    channel.call(M.QuerySessionProperty(session_id=0, prop=0))  # answered after the receive is parked
    os.write(1, f"ready {os.getpid()}\n".encode())
    if mode == "idle":
        _die()
    if mode == "midframe":
        channel.encoder.write(M.Statistics(op=channel.ops + 1))
        frame = b"".join(bytes(b) for batch in channel.encoder.take() for b in batch.buffers)
        channel.sock.sendall(frame[: max(1, len(frame) // 2)])
        _die()
    done = channel.wait(receive_op)
    if not isinstance(done, M.RequestDone) or done.code != 0 or done.snapshot is None:
        raise RuntimeError(f"receive failed: {done!r}")
    snapshot = done.snapshot
    target = snapshot.raw_url.decode()
    if target.startswith("/v/received/"):
        _die()
    if target.startswith("/v/midresponse/"):
        spec = ResponseSpec(200, b"OK", {CONTENT_LENGTH: [b"100000"]}, [])
        sent = channel.call(
            M.SendResponse(
                handle_id=handle,
                request_id=snapshot.request_id,
                flags=MORE_DATA,
                spec=spec,
                chunks=[MemoryChunk(b"x" * 1000)],
                cache_policy=None,
                log_data=None,
            )
        )
        if not isinstance(sent, M.SentDone) or sent.code != 0:
            raise RuntimeError(f"send failed: {sent!r}")
        _die()
    if target.startswith("/v/midbody/"):
        body = channel.call(
            M.ReceiveBody(handle_id=handle, request_id=snapshot.request_id, max_len=1000, fill=False)
        )
        if not isinstance(body, M.BytesDone) or body.code != 0 or not body.data:
            raise RuntimeError(f"body read failed: {body!r}")
        _die()
    raise RuntimeError(f"unexpected request {target}")


def _spawn(path: str, mode: str, queue_name: str) -> None:
    pid = os.fork()
    if pid:
        return
    status = 1
    try:
        _victim(path, mode, queue_name)
    except BaseException as exc:  # reported, never raised into the fork server's loop
        os.write(1, f"error {os.getpid()} {type(exc).__name__}: {exc}\n".replace("\n", " ").encode() + b"\n")
    finally:
        os._exit(status)


def main() -> None:
    path = sys.argv[1]
    children = 0
    for line in sys.stdin:
        command, *args = line.split()
        if command == "spawn":
            mode, queue_name, count = args
            for _ in range(int(count)):
                _spawn(path, mode, queue_name)
            children += int(count)
        elif command == "reap":
            killed = 0
            for _ in range(children):
                _pid, status = os.wait()
                killed += os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            os.write(1, f"reaped {children} {killed}\n".encode())
            children = 0
        elif command == "quit":
            break


if __name__ == "__main__":
    main()
