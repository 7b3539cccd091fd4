"""The local stack claims its TCP ports up front, so a busy port stops start-up clearly."""

from __future__ import annotations

import socket


class PortInUse(Exception):
    """Nothing can listen on the requested address; the message names the variable to change."""


def bind_port(host: str, port: int, *, variable: str) -> socket.socket:
    """A socket bound to host:port (port 0: any free one), not yet listening."""
    # IPPROTO_TCP, not 0: asyncio turns Nagle off only on sockets created with it, and without
    # that every keep-alive response waits ~40 ms for the client's delayed ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    # The servers set this too; without it a port left in TIME_WAIT by the last run looks busy.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(f"{host}:{port} is in use; set {variable} to a free port (0: any)") from exc
    return sock


def free_port() -> int:
    """A local TCP port nothing listens on right now (bound for a moment, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
