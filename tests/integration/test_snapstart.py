"""SnapStart hooks: priming does no I/O; after a restore (a fork here) nothing from before the
snapshot is used again: not a database connection, not a Redis connection."""

from __future__ import annotations

import json
import os
import socket
import warnings
from typing import Any

import pytest
from sqlalchemy import text
from tradebot import snapstart
from tradebot.cache.client import get_redis, reset_redis
from tradebot.db.engine import forget_connections, get_engine, reset_engine, unit_of_work
from tradebot.http.routes import ROUTES

from devstack.functions import load_function

# What the identities below name, kept alive so that no new object can take their address.
_seen: list[Any] = []


def _database_identity() -> dict[str, Any]:
    """The DBAPI connection a unit of work runs on and, on PostgreSQL, its server process."""
    with unit_of_work() as session:
        connection = session.connection()
        raw = connection.connection.dbapi_connection
        _seen.append(raw)
        backend = None
        if get_engine().dialect.name == "postgresql":
            backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        return {"dbapi": id(raw), "backend": backend}


def _redis_identity() -> dict[str, Any]:
    client = get_redis()
    client.ping()
    connection = client.connection_pool.get_connection()
    _seen.extend((client, connection))
    try:
        return {"client": id(client), "connection": id(connection)}
    finally:
        client.connection_pool.release(connection)


def _in_restored_child() -> dict[str, Any]:
    """Fork (the snapshot), run the after-restore hooks in the child, and report what its first
    queries ran on."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with test threads around
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        code = 0
        try:
            snapstart.after_restore()
            seen = {"database": _database_identity(), "redis": _redis_identity()}
            os.write(write_end, json.dumps(seen).encode())
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, then exit
            os.write(write_end, json.dumps({"error": repr(exc)}).encode())
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        report: dict[str, Any] = json.loads(pipe.read())
    os.waitpid(pid, 0)
    return report


def test_after_restore_the_first_queries_open_new_database_and_redis_connections() -> None:
    # Given a route function's environment whose pool and Redis client each hold an open
    # connection before the snapshot (one: a fresh pool, as a Lambda environment's, so every
    # checkout below gets that same connection back)
    reset_engine()
    load_function("auth_me")
    database_before = _database_identity()
    redis_before = _redis_identity()
    client_before = get_redis()
    # When a restored copy runs its hooks and its first queries
    restored = _in_restored_child()
    # Then it used none of them
    assert "error" not in restored, restored
    assert restored["database"]["dbapi"] != database_before["dbapi"]
    if database_before["backend"] is not None:
        assert restored["database"]["backend"] != database_before["backend"]
    assert restored["redis"]["client"] != redis_before["client"]
    assert restored["redis"]["connection"] != redis_before["connection"]
    # And the original's connections were let go of, not closed under it
    assert _database_identity() == database_before
    assert get_redis() is client_before
    assert _redis_identity() == redis_before


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every socket connect attempted while active is recorded and refused."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError("no network before the snapshot")

    forget_connections()
    reset_redis()
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def test_priming_every_route_answers_its_refusal_without_any_network(
    no_network: list[Any],
) -> None:
    # Given every route function imported, as Lambda's init does
    handlers = {route.function: load_function(route.function).handler for route in ROUTES}
    assert handlers
    # When the before-snapshot hooks run
    snapstart.before_snapshot()
    # Then no connection was attempted, and nothing is pooled
    assert no_network == []
    pool = get_engine().pool
    assert pool.checkedout() == 0 if hasattr(pool, "checkedout") else True


def test_after_restore_reseeds_random() -> None:
    import random

    load_function("auth_me")
    random.seed(1)
    snapshot_draw = random.random()
    random.seed(1)
    snapstart.after_restore()
    assert random.random() != snapshot_draw


def test_priming_loads_the_aws_clients_models_but_resolves_no_credentials(
    no_network: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from tradebot.settings import get_settings

    # Given a function whose settings name an order queue and a KMS key, and no boto3 session
    monkeypatch.setenv("ORDER_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/1/orders.fifo")
    monkeypatch.setenv("KMS_KEY_ID", "arn:aws:kms:us-east-1:000000000000:key/priming")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    get_settings.cache_clear()
    load_function("trades_create")
    # When the before-snapshot hooks run
    snapstart.before_snapshot()
    # Then boto3's default session exists, has read the models, never resolved credentials,
    # and no connection was attempted
    session = boto3.DEFAULT_SESSION
    assert session is not None
    assert session._session._credentials is None  # type: ignore[attr-defined]  # private, unstubbed
    assert no_network == []
    get_settings.cache_clear()


def test_a_restored_copys_first_request_is_logged_as_the_cold_start() -> None:
    from aws_lambda_powertools.logging import logger as powertools_logger

    load_function("auth_me")
    powertools_logger.is_cold_start = False  # the priming request took it
    snapstart.after_restore()
    assert powertools_logger.is_cold_start is True
