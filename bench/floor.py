"""A route's floor: what one call of it really sent, replayed raw.

Before each floor call the bench records, untimed, one call of the same variation
(devstack/recording.py): the statements and parameters the DB-API driver got, the Redis
commands and pipelines, and the SQS requests botocore sent. The floor replays that recording, so
it acts on the state the route's next call finds (bench/warm.py).

It replays them with nothing above the wire: the driver connection (bench/rawdb.py), the
Redis client's `execute_command` and a kept-alive `http.client` connection. No FastAPI,
Mangum, pydantic, ORM or JWT; no statement written by hand, so a schema or key change reaches
the floor with the route's next recording. Plus, where a route exists to do CPU work (hash a
password, encrypt a key), that work, given by the variation.

Nothing a floor does is left behind. (The recorded call's own Redis writes and SQS messages
happen, as in any call of the route; the variation's prepare step runs again after it, so a
cache it filled is stale again for the timed call.)
- The recorded call runs inside one PostgreSQL (or SQLite) transaction that is rolled back
  afterwards (each unit of work a SAVEPOINT in it), so the rows it wrote, deleted or canceled
  are as the route found them when the floor replays it.
- Each replayed transaction ends with a ROLLBACK, which stands in for the route's COMMIT: the
  same round trip, without the write to the WAL that a commit waits for, so a write floor is a
  little lower than the work it stands for.
- Redis: a read that found something when recorded reads the live key again; every write, and
  every read that found nothing (a cache miss), goes to the same key renamed under
  `<prefix>floor:<n>:`, fresh for each replay: writes neither count against the route's rate
  limit nor change what it reads, and misses stay misses. The bench's key prefix is removed at
  the end of the run.
- SQS: the recorded request body is sent again to the same queue (the bench's stub, which only
  counts messages; nothing consumes them).

Not replayed: calls to Binance (storing a key asks it about the key), as before recordings.
"""

from __future__ import annotations

import http.client
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tradebot.cache.client import get_redis
from tradebot.db.engine import get_engine
from tradebot.settings import get_settings

from bench.rawdb import RawDb
from devstack.recording import (
    RedisCall,
    RedisRecording,
    StatementRecording,
    record_redis,
    rolled_back,
)

# Commands that only read, so replaying them against the live key changes nothing.
READS = frozenset(
    {
        "EXISTS", "GET", "GETRANGE", "HEXISTS", "HGET", "HGETALL", "HKEYS", "HLEN", "HMGET",
        "HVALS", "LINDEX", "LLEN", "LRANGE", "MGET", "PING", "PTTL", "SCARD", "SISMEMBER",
        "SMEMBERS", "STRLEN", "TTL", "TYPE", "ZCARD", "ZRANGE", "ZRANGEBYSCORE", "ZSCORE",
    }
)  # fmt: skip


@dataclass(frozen=True)
class HttpSend:
    """One request botocore sent (SQS here), as it went on the wire."""

    method: str
    url: str
    headers: dict[str, str | bytes]  # as botocore made them
    body: bytes


@dataclass
class CallRecording:
    """Everything one route call sent."""

    statements: StatementRecording
    redis: RedisRecording
    sends: list[HttpSend] = field(default_factory=list)


@contextmanager
def record_call() -> Iterator[CallRecording]:
    """Record the route call made in the block; its database writes are rolled back after."""
    sqs = _queue_client()
    sends: list[HttpSend] = []

    def sent(request: Any, **_kwargs: Any) -> None:
        body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
        sends.append(HttpSend(request.method, request.url, dict(request.headers), body))

    if sqs is not None:
        sqs.meta.events.register("before-send.sqs", sent)
    try:
        with rolled_back(get_engine()) as statements, record_redis(get_redis()) as redis:
            yield CallRecording(statements, redis, sends)
    finally:
        if sqs is not None:
            sqs.meta.events.unregister("before-send.sqs", sent)


def _queue_client() -> Any:
    if not get_settings().order_queue_url:
        return None
    from tradebot.orders.queue import _sqs

    return _sqs()


def _found(reply: Any) -> bool:
    if isinstance(reply, list | tuple):
        return any(item is not None for item in reply)
    return reply is not None and reply != {}


def _key_positions(call: RedisCall, prefix: str) -> list[list[int]]:
    """Per command, the arguments that are keys to rename in a replay."""
    positions = []
    for args, reply in zip(call.commands, call.replies, strict=True):
        rename = str(args[0]).upper() not in READS or not _found(reply)
        positions.append(
            [
                i
                for i, a in enumerate(args)
                if rename and isinstance(a, str) and a.startswith(prefix)
            ]
        )
    return positions


class Wire:
    """What floors replay through, kept open across them: the driver connection, kept-alive
    HTTP connections, and a counter naming each replay's Redis namespace."""

    def __init__(self, db: RawDb) -> None:
        self.prefix = get_settings().redis_prefix
        if not self.prefix:
            raise RuntimeError("a floor renames Redis keys by their prefix: set REDIS_PREFIX")
        self.db = db
        self.replays = itertools.count()
        self.connections: dict[str, http.client.HTTPConnection] = {}

    def send(self, send: HttpSend) -> None:
        parts = urlsplit(send.url)
        connection = self.connections.get(parts.netloc)
        if connection is None:
            connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
            self.connections[parts.netloc] = connection
        connection.request(send.method, parts.path or "/", send.body, send.headers)
        connection.getresponse().read()

    def close(self) -> None:
        for connection in self.connections.values():
            connection.close()


class Floor:
    """The replay of one recorded call, plus the variation's own CPU work."""

    def __init__(
        self, recording: CallRecording, wire: Wire, work: Callable[[], object] | None = None
    ) -> None:
        self.wire = wire
        self.transactions = recording.statements.transactions()
        self.redis_calls = [(c, _key_positions(c, wire.prefix)) for c in recording.redis.calls]
        self.sends = recording.sends
        self.work = work

    @property
    def statement_count(self) -> int:
        return sum(len(t) for t in self.transactions)

    def __call__(self) -> None:
        prefix = self.wire.prefix
        namespace = f"{prefix}floor:{next(self.wire.replays)}:"
        redis: Any = get_redis()  # execute_command is untyped in redis-py
        for call, positions in self.redis_calls:
            commands = [
                _renamed(args, keys, prefix, namespace)
                for args, keys in zip(call.commands, positions, strict=True)
            ]
            if not call.pipeline:
                redis.execute_command(*commands[0])
                continue
            pipe = redis.pipeline(transaction=call.transaction)
            for args in commands:
                pipe.execute_command(*args)
            pipe.execute()
        self.wire.db.replay(self.transactions)
        for send in self.sends:
            self.wire.send(send)
        if self.work is not None:
            self.work()


def _renamed(
    args: tuple[Any, ...], keys: list[int], prefix: str, namespace: str
) -> tuple[Any, ...]:
    if not keys:
        return args
    renamed = list(args)
    for i in keys:
        renamed[i] = namespace + renamed[i][len(prefix) :]
    return tuple(renamed)
