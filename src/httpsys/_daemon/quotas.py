"""Per-client quotas of the daemon: the numbers, their defaults and the Win32 code a call over a quota gets.

Responsibility: what bounds one client process (decision 0018 §3): handles it owns, I/O operations it has
outstanding, bytes of completions queued for its socket that it has not read, and how long it may stay over that
last bound. It must not enforce them: `_daemon.server` does, per connection.
"""

from __future__ import annotations

from dataclasses import dataclass

from httpsys._core.status import Win32Error

__all__ = ["DEFAULT_QUOTAS", "QUOTA_EXCEEDED", "ClientQuotas"]

QUOTA_EXCEEDED = int(
    Win32Error.ERROR_NOT_ENOUGH_QUOTA
)  # 1816: what a call over a per-client quota completes with


@dataclass(frozen=True)
class ClientQuotas:
    """Bounds for one client connection (one process) of the daemon.

    * `max_handles`: sessions, URL groups and queue handles it owns at once; one more → ERROR_NOT_ENOUGH_QUOTA.
    * `max_operations`: I/O calls (receives, body reads, sends, waits) outstanding at once; one more completes
      at once with ERROR_NOT_ENOUGH_QUOTA.
    * `max_unsent`: bytes of completions queued for its socket and not yet taken by the kernel. Over it, the
      daemon stops reading the client's socket and withdraws its posted receives (requests stay queued for
      other openers) until the backlog is down to half; the client keeps its handles and requests.
    * `stall_timeout`: seconds a client may stay over `max_unsent`; then its connection is closed as if it had
      exited.
    """

    max_handles: int = 2000
    max_operations: int = 4096
    max_unsent: int = 8 << 20
    stall_timeout: float = 60.0

    def __post_init__(self) -> None:
        if (
            self.max_handles < 1
            or self.max_operations < 1
            or self.max_unsent < 65536
            or self.stall_timeout <= 0
        ):
            raise ValueError(
                "client quotas: handles and operations at least 1, max_unsent at least 65536 bytes, "
                "stall_timeout above 0"
            )


DEFAULT_QUOTAS = ClientQuotas()
