"""Fixtures of the chaos suite: a throwaway PostgreSQL cluster and redis-server per test.

Tests marked `chaos` run only under `make chaos` (pyproject's addopts deselect them). Each such
test gets its own PostgreSQL (copied from one migrated template per run, so initdb and the
migrations are paid once) and its own redis-server, on free loopback ports, and may stop,
freeze or restart them; the machine's shared servers are never touched.

The trading tests' fixtures (moto's SQS, the Binance fake, recorded back-off sleeps) are
imported from tests/integration/conftest.py rather than copied.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field

import pytest

from tests.chaos.services import ThrowawayPostgres, ThrowawayRedis, postgres_template
from tests.integration.conftest import (  # noqa: F401 - fixtures, registered by import
    binance_fake,
    moto_endpoint,
    order_queue,
    recorded_sleeps,
)
from tests.support import configure, register_and_login


@dataclass
class ChaosLedger:
    """What the chaos run injected and what it measured, printed at the end of the run."""

    faults: dict[str, int] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)

    def fault(self, kind: str, count: int = 1) -> None:
        """Count `count` injected faults of `kind` (only tests that pass are counted)."""
        self.faults[kind] = self.faults.get(kind, 0) + count

    def figure(self, line: str) -> None:
        """Remember one line of figures for the summary."""
        self.figures.append(line)


LEDGER = ChaosLedger()


@pytest.fixture
def ledger(request: pytest.FixtureRequest) -> Iterator[ChaosLedger]:
    """Record faults and figures; they count only if the test passes."""
    local = ChaosLedger()
    yield local
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.passed:
        for kind, count in local.faults.items():
            LEDGER.fault(kind, count)
        LEDGER.figures.extend(local.figures)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each test's call report on its item, for `ledger`."""
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the faults injected and survived, and the figures, after a chaos run."""
    if not LEDGER.faults and not LEDGER.figures:
        return
    terminalreporter.section("chaos: faults injected and survived")
    for kind, count in sorted(LEDGER.faults.items()):
        terminalreporter.write_line(f"{count:6d}  {kind}")
    terminalreporter.write_line(f"{sum(LEDGER.faults.values()):6d}  in all")
    for line in LEDGER.figures:
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[ThrowawayPostgres]:
    """One initdb'd and migrated cluster per run; each test copies it."""
    with postgres_template() as template:
        yield template


@pytest.fixture
def postgres(pg_template: ThrowawayPostgres) -> Iterator[ThrowawayPostgres]:
    """This test's own PostgreSQL, running; stopped and deleted afterwards."""
    server = ThrowawayPostgres(pg_template)
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_server() -> Iterator[ThrowawayRedis]:
    """This test's own redis-server, running; stopped and deleted afterwards."""
    server = ThrowawayRedis()
    try:
        server.start()
        yield server
    finally:
        server.close()


@dataclass(frozen=True)
class Services:
    """The throwaway servers the application is pointed at."""

    postgres: ThrowawayPostgres
    redis: ThrowawayRedis


@pytest.fixture
def services(
    postgres: ThrowawayPostgres, redis_server: ThrowawayRedis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Services]:
    """Point the application (this process and its children) at this test's servers.

    The pooled engine (one connection with pre-ping) is what a warm Lambda uses, so recovery
    after an outage is tested on it. The engine is disposed before the servers stop.
    """
    from tradebot.db.engine import reset_engine

    configure(
        monkeypatch,
        database_url=postgres.url,
        redis_url=redis_server.url,
        db_pool="single",
        redis_prefix="tbchaos:",
        # The traffic stresses failures, not a trader's risk limits (tests/integration has those).
        default_max_open_orders="100000",
        default_max_orders_per_minute="100000",
        default_max_order_notional="1000000000",
        default_max_daily_notional="1000000000",
    )
    yield Services(postgres, redis_server)
    postgres.thaw()
    redis_server.thaw()
    reset_engine()


@pytest.fixture
def chaos_trader(services: Services) -> tuple[str, str]:
    """A user registered on this test's database: (user id, access token)."""
    return register_and_login("trader@example.com")


@pytest.fixture(autouse=True)
def _stores(clean_state: None) -> None:
    """This tier runs against the database and Redis (tests/stores.py), clean for each test."""
