"""The database and Redis of the tiers that do I/O: their own per run, clean state per test.

Not autouse here: each such tier's conftest makes `clean_state` autouse for its tests, so
tests/unit and tests/infra run without a database. With DATABASE_URL pointing at PostgreSQL
(as .ci/run sets it), a test session creates a fresh database, migrates it, and drops it at the
end; otherwise a temporary SQLite file. With REDIS_URL set, keys live under a unique prefix that
is deleted at the end; otherwise fakeredis.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devstack.databases import pg_connect, with_database
from tests.conftest import BASE_DATABASE_URL, BASE_REDIS_URL, ON_POSTGRES, RUN_ID, reset_caches


@pytest.fixture(scope="session")
def test_environment(
    app_environment: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Point the application at a throwaway database and Redis namespace; migrate."""
    database_name = f"tradebot_test_{RUN_ID}"
    if ON_POSTGRES:
        admin = pg_connect(BASE_DATABASE_URL)
        admin.run(f'CREATE DATABASE "{database_name}"')
        admin.close()
        os.environ["DATABASE_URL"] = with_database(BASE_DATABASE_URL, database_name)
    else:
        path = tmp_path_factory.mktemp("db") / "test.db"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    reset_caches()
    from tradebot.db.migrate import upgrade

    upgrade()
    yield os.environ["DATABASE_URL"]

    from tradebot.cache.client import get_redis
    from tradebot.db.engine import reset_engine

    if BASE_REDIS_URL:
        redis = get_redis()
        keys = list(redis.scan_iter(match=f"tbtest:{RUN_ID}:*", count=1000))
        if keys:
            redis.delete(*keys)
    reset_engine()
    if ON_POSTGRES:
        admin = pg_connect(BASE_DATABASE_URL)
        admin.run(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
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
