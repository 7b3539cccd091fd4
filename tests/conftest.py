"""Test environment: its own database and Redis namespace per run, clean state per test.

With DATABASE_URL pointing at PostgreSQL (as .ci/run sets it), each test session creates a
fresh database, migrates it, and drops it at the end; otherwise a temporary SQLite file. With
REDIS_URL set, keys live under a unique prefix that is deleted at the end; otherwise fakeredis.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

RUN_ID = uuid.uuid4().hex[:10]
TEST_JWT_SECRET = "test-jwt-secret-" + "x" * 40
TEST_FERNET_KEY = "dGVzdC1mZXJuZXQta2V5LTAwMDAwMDAwMDAwMDAwMDA="

_BASE_DATABASE_URL = os.environ.get("DATABASE_URL", "")
_BASE_REDIS_URL = os.environ.get("REDIS_URL", "")


def _admin_connect(url: str):  # type: ignore[no-untyped-def]
    import pg8000.native

    parts = urlsplit(url)
    return pg8000.native.Connection(
        user=parts.username or "postgres",
        password=parts.password,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        database=(parts.path or "/postgres").lstrip("/") or "postgres",
    )


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def pytest_configure(config: pytest.Config) -> None:
    # Powertools warns when an invocation emits no business metric, which is normal for most.
    config.addinivalue_line(
        "filterwarnings", "ignore:No application metrics to publish:UserWarning"
    )


def reset_caches() -> None:
    """Forget every per-environment singleton so the next use re-reads the environment."""
    from tradebot.cache.client import reset_redis
    from tradebot.crypto.envelope import reset_envelope
    from tradebot.db.engine import reset_engine
    from tradebot.settings import get_settings

    reset_engine()
    reset_redis()
    reset_envelope()
    get_settings.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def test_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Point the application at a throwaway database and Redis namespace; migrate."""
    os.environ.update(
        {
            "APP_ENV": "test",
            "JWT_SECRET": TEST_JWT_SECRET,
            "FERNET_KEYS": TEST_FERNET_KEY,
            "REDIS_PREFIX": f"tbtest:{RUN_ID}:",
            "RATE_LIMITS": '{"read": 100000, "write": 100000, "auth": 100000}',
            "POWERTOOLS_METRICS_NAMESPACE": "TradebotTest",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    os.environ.pop("SECRETS_NAME", None)
    database_name = f"tradebot_test_{RUN_ID}"
    postgres = _BASE_DATABASE_URL.startswith(("postgres://", "postgresql"))
    if postgres:
        admin = _admin_connect(_BASE_DATABASE_URL)
        admin.run(f'CREATE DATABASE "{database_name}"')
        admin.close()
        os.environ["DATABASE_URL"] = _with_database(_BASE_DATABASE_URL, database_name)
    else:
        path = tmp_path_factory.mktemp("db") / "test.db"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    reset_caches()
    from tradebot.db.migrate import upgrade

    upgrade()
    yield os.environ["DATABASE_URL"]

    from tradebot.cache.client import get_redis
    from tradebot.db.engine import reset_engine

    if _BASE_REDIS_URL:
        redis = get_redis()
        keys = list(redis.scan_iter(match=f"tbtest:{RUN_ID}:*", count=1000))
        if keys:
            redis.delete(*keys)
    reset_engine()
    if postgres:
        admin = _admin_connect(_BASE_DATABASE_URL)
        admin.run(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(autouse=True)
def clean_state(test_environment: str) -> Iterator[None]:
    """Every test starts with empty tables and an empty Redis namespace."""
    from tradebot.cache.client import get_redis
    from tradebot.db.engine import get_engine
    from tradebot.db.models import Base
    from tradebot.settings import get_settings

    singletons = (get_settings(), get_engine(), get_redis())
    yield
    # A test that changed settings replaced one of these; then start from the environment again.
    # Otherwise keep them: a fresh PostgreSQL engine per test costs more than most tests.
    if any(
        now is not then
        for now, then in zip((get_settings(), get_engine(), get_redis()), singletons, strict=True)
    ):
        reset_caches()
    with get_engine().begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    redis = get_redis()
    keys = list(redis.scan_iter(match=f"tbtest:{RUN_ID}:*", count=1000))
    if keys:
        redis.delete(*keys)
    # The Binance request budget's per-process view (a back-off a test provoked) goes too.
    from tradebot.exchange.weight import request_budget

    request_budget.cache_clear()
