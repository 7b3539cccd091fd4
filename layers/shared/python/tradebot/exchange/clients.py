"""Idle python-binance clients of an execution environment, kept for the next call."""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable
from typing import Any


class ClientPool:
    """Idle python-binance clients of this execution environment, kept for later calls.

    Building a client is cheap, but its HTTP session holds the kept-alive (TLS) connection to
    Binance, which is not: reusing it saves a handshake per order. A client serves one caller at
    a time (python-binance keeps the last response on the client, so threads sharing one would
    read each other's answers): taking one removes it from the pool, `give` puts it back.

    Clients are filed under a keyed digest of everything they were built from, the key and
    secret included, so the pool holds no secret in its keys. Bounded: beyond `max_idle` idle
    clients the least recently used is closed, and one idle for more than `max_idle_s` is closed
    rather than reused (its connection has likely been dropped by then).
    """

    def __init__(
        self,
        max_idle: int = 16,
        max_idle_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_idle = max_idle
        self.max_idle_s = max_idle_s
        self._clock = clock
        self._lock = threading.Lock()
        # (key, client, when it was given back), least recently used first.
        self._idle: list[tuple[bytes, Any, float]] = []
        self._salt = os.urandom(16)

    def __repr__(self) -> str:
        return f"ClientPool(idle={len(self._idle)}, max_idle={self.max_idle})"

    def __len__(self) -> int:
        return len(self._idle)

    def key(self, *parts: object) -> bytes:
        """The digest a client built from `parts` is filed under."""
        material = "\x00".join(repr(part) for part in parts).encode()
        return hmac.digest(self._salt, material, hashlib.sha256)

    def take(self, key: bytes) -> Any | None:
        """An idle client filed under `key` (the most recently used), or None."""
        with self._lock:
            stale = self._expire()
            found = None
            for index in range(len(self._idle) - 1, -1, -1):
                if hmac.compare_digest(self._idle[index][0], key):
                    found = self._idle.pop(index)[1]
                    break
        _close_sessions(stale)
        return found

    def give(self, key: bytes, client: Any) -> None:
        """Keep `client` for the next caller with the same key."""
        with self._lock:
            self._idle.append((key, client, self._clock()))
            stale = self._expire()
            while len(self._idle) > self.max_idle:
                stale.append(self._idle.pop(0)[1])
        _close_sessions(stale)

    def clear(self) -> None:
        """Close every idle client."""
        with self._lock:
            stale = [client for _, client, _ in self._idle]
            self._idle.clear()
        _close_sessions(stale)

    def _expire(self) -> list[Any]:
        oldest = self._clock() - self.max_idle_s
        stale = [client for _, client, given in self._idle if given < oldest]
        if stale:
            self._idle = [entry for entry in self._idle if entry[2] >= oldest]
        return stale


def _close_sessions(clients: list[Any]) -> None:
    for client in clients:
        client.session.close()
