"""tests/unit does no I/O: no database, no Redis, no network (a connection fails the test)."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture(autouse=True)
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse every socket connection: a unit test that needs one belongs in tests/integration."""

    def refuse(_sock: socket.socket, address: object) -> None:
        raise AssertionError(f"tests/unit does no I/O, yet this test connects to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
