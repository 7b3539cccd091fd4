"""What every tier shares: the application's test settings (environment variables, no I/O).

The database and Redis fixtures live in tests/stores.py; the tiers that do I/O use them from
their conftests, so tests/unit and tests/infra never open a connection. Tests marked `postgres`
run only against PostgreSQL: the summary says how many did not run, and how to run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

RUN_ID = uuid.uuid4().hex[:10]
TEST_JWT_SECRET = "test-jwt-secret-" + "x" * 40
TEST_FERNET_KEY = "dGVzdC1mZXJuZXQta2V5LTAwMDAwMDAwMDAwMDAwMDA="
# Read before any fixture points DATABASE_URL at this run's own database.
BASE_DATABASE_URL = os.environ.get("DATABASE_URL", "")
BASE_REDIS_URL = os.environ.get("REDIS_URL", "")
ON_POSTGRES = BASE_DATABASE_URL.startswith(("postgres://", "postgresql"))

pytest_plugins = ["tests.stores"]


def pytest_configure(config: pytest.Config) -> None:
    # Powertools warns when an invocation emits no business metric, which is normal for most.
    config.addinivalue_line(
        "filterwarnings", "ignore:No application metrics to publish:UserWarning"
    )


_NOT_ON_POSTGRES = "needs PostgreSQL: set DATABASE_URL=postgresql://... (see the summary)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ON_POSTGRES:
        return
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.skip(reason=_NOT_ON_POSTGRES))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if _NOT_ON_POSTGRES in str(report.longrepr)
    ]
    if skipped:
        terminalreporter.write_sep("=", "PostgreSQL-only tests", yellow=True)
        terminalreporter.write_line(
            f"{len(skipped)} tests marked `postgres` did not run (SQLite). Run them with "
            "DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres "
            "REDIS_URL=redis://127.0.0.1:6379/0 make test"
        )


@pytest.fixture(scope="session", autouse=True)
def app_environment() -> None:
    """The application's settings for tests: test keys, no AWS secret, generous rate limits."""
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
    reset_caches()


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """A test that replaced the settings (a patched environment) leaves none behind."""
    from tradebot.settings import get_settings

    before = get_settings()
    yield
    if get_settings() is not before:
        reset_caches()


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
