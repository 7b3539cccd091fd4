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


def test_a_new_connection_sends_only_its_handshake_before_the_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # redis-py by default also names itself (CLIENT SETINFO, twice) and asks for maintenance
    # notifications: round trips before every new connection's first command
    server = socket.create_server(("127.0.0.1", 0))
    seen: list[str] = []
    listener = threading.Thread(target=_first_commands, args=(server, seen), daemon=True)
    listener.start()
    configure(monkeypatch, redis_url=f"redis://127.0.0.1:{server.getsockname()[1]}/0")

    assert get_redis().ping() is True

    get_redis().close()
    listener.join(5)
    server.close()
    # (redis-py's health check's PING and the RESP3 handshake stay)
    assert "CLIENT SETINFO" not in seen
    assert "CLIENT MAINT_NOTIFICATIONS" not in seen
    assert seen[-2:] == ["HELLO 3", "PING"]
