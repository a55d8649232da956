"""The shared daemon (issue 14): one engine serving several client processes over a Unix socket.

Responsibility: the daemon's side of the remote transport (`server.py`) and its per-client quotas
(`quotas.py`). It must not contain HTTP behaviour: the engine it hosts through `EmbeddedTransport` has it;
`cli/daemon.py` runs it as a command.
"""

from httpsys._daemon.server import DaemonServer, PeerCredentials, default_socket_path

__all__ = ["DaemonServer", "PeerCredentials", "default_socket_path"]
