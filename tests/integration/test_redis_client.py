"""The Redis client as a function makes it: what a new connection sends before its first command."""

from __future__ import annotations

import socket
import threading

import pytest
from tradebot.cache.client import get_redis

from tests.support import configure


def _first_commands(server: socket.socket, seen: list[str]) -> None:
    """Answer one connection's commands (HELLO as Redis does, anything else with +PONG), noting
    each command's name."""
    connection, _ = server.accept()
    with connection, connection.makefile("rb") as stream:
        while line := stream.readline():
            if not line.startswith(b"*"):
                continue
            words = []
            for _ in range(int(line[1:])):
                stream.readline()  # $<length>
                words.append(stream.readline().strip().decode())
            seen.append(" ".join(words[:2]).upper())
            hello = words[0].upper() == "HELLO"
            connection.sendall(b"%1\r\n+proto\r\n:3\r\n" if hello else b"+PONG\r\n")


def test_a_new_connection_does_not_name_its_library(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # CLIENT SETINFO (redis-py's default) would be two round trips before every new
    # connection's first command: a restored SnapStart copy's first request among them
    server = socket.create_server(("127.0.0.1", 0))
    seen: list[str] = []
    listener = threading.Thread(target=_first_commands, args=(server, seen), daemon=True)
    listener.start()
    configure(monkeypatch, redis_url=f"redis://127.0.0.1:{server.getsockname()[1]}/0")

    assert get_redis().ping() is True

    get_redis().close()
    listener.join(5)
    server.close()
    # (redis-py's own handshake, HELLO and its health check's PING, stays)
    assert "CLIENT SETINFO" not in seen
    assert seen[-1] == "PING"
