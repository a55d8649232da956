"""Daemon takeover, new side: fetch the running daemon's listening sockets over its own socket (SCM_RIGHTS).

Responsibility: connect to the running daemon as a client (HELLO/WELCOME), ask TAKEOVER from index 0 until
nothing remains, and return the sockets it passed — its Unix listening socket and every TCP listener with its
port and scheme — as socket objects the new daemon owns. The old daemon commits at the first answer (it stops
accepting and drains; decision 0024 §3). It must not serve anything or touch the engine: the caller adopts what
it returns.
"""

from __future__ import annotations

import socket
import time

from httpsys._core.status import Win32Error
from httpsys._transport.remote import handshake
from httpsys._wire import Decoder, Encoder, ProtocolError, Side
from httpsys._wire import messages as M
from httpsys._wire.ancillary import close_fds, fds_of
from httpsys._wire.frames import DEFAULT_LIMITS

__all__ = ["TakeoverError", "take_over"]

_ANCILLARY = socket.CMSG_SPACE(DEFAULT_LIMITS.max_fds_per_frame * 4)


class TakeoverError(Exception):
    """The running daemon could not be taken over (none there, refused, broken answer): one line."""


def take_over(path: str, timeout: float = 10.0) -> tuple[socket.socket, list[tuple[int, str, socket.socket]]]:
    """(the daemon's Unix listening socket, [(port, scheme, TCP listening socket)]) from the daemon at `path`."""
    try:
        sock, welcome, decoder = handshake(path, timeout)
    except OSError as exc:
        raise TakeoverError(f"--takeover: no daemon to take over at {path}: {exc}") from None
    unix: socket.socket | None = None
    tcp: list[tuple[int, str, socket.socket]] = []
    try:
        encoder = Encoder(Side.CLIENT, welcome.limits)
        sock.setblocking(True)
        deadline = time.monotonic() + timeout
        start = 0
        op = 1
        while True:
            encoder.write(M.Takeover(op=op, start=start))
            for batch in encoder.take():
                sock.sendmsg(batch.buffers)
            answer = _read_answer(sock, decoder, deadline)
            if not isinstance(answer, M.TakeoverDone) or answer.op != op:
                close_fds(answer.fds)
                raise TakeoverError(f"--takeover: the daemon at {path} answered {type(answer).__name__}")
            if answer.code != 0:
                raise TakeoverError(
                    f"--takeover: the daemon at {path} refused: {Win32Error(answer.code).name} ({answer.code})"
                )
            for port, scheme, fd in answer.listeners:
                passed = socket.socket(fileno=fd)
                if scheme == "unix":
                    unix = passed
                else:
                    tcp.append((port, scheme, passed))
            if answer.remaining == 0:
                break
            start += len(answer.listeners)
            op += 1
    except BaseException:
        for _port, _scheme, passed in tcp:
            passed.close()
        if unix is not None:
            unix.close()
        raise
    finally:
        decoder.close()
        sock.close()
    if unix is None:
        for _port, _scheme, passed in tcp:
            passed.close()
        raise TakeoverError(f"--takeover: the daemon at {path} passed no listening socket of its own")
    return unix, tcp


def _read_answer(sock: socket.socket, decoder: Decoder, deadline: float) -> M.Message:
    while True:
        try:
            message = decoder.next_message()
        except ProtocolError as exc:
            raise TakeoverError(f"--takeover: malformed answer: {exc}") from None
        if message is not None:
            return message
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TakeoverError("--takeover: the running daemon did not answer in time")
        sock.settimeout(remaining)
        try:
            size, ancillary, _flags, _ = sock.recvmsg_into(
                [decoder.get_buffer()], _ANCILLARY, socket.MSG_CMSG_CLOEXEC
            )
        except (OSError, ProtocolError) as exc:
            raise TakeoverError(f"--takeover: reading the running daemon's answer failed: {exc}") from None
        fds = fds_of(ancillary)
        if size == 0:
            close_fds(fds)
            raise TakeoverError("--takeover: the running daemon closed the connection")
        try:
            decoder.buffer_updated(size, fds)
        except ProtocolError as exc:
            raise TakeoverError(f"--takeover: malformed answer: {exc}") from None
