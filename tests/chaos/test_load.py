"""A bounded load run on loopback: the local stack (API, order consumer, price schedule) on this
test's PostgreSQL and Redis, 50 clients over 20 users for 60 s (CHAOS_LOAD_DURATION_S,
CHAOS_LOAD_CLIENTS, CHAOS_LOAD_USERS), mixed reads, orders and cancels. No error other than 429,
and afterwards the books balance to the last decimal."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from tradebot.db.engine import unit_of_work
from tradebot.db.models import Trade
from tradebot.settings import get_settings

from loadtest.books import check_books
from loadtest.stack import LocalStack
from loadtest.workload import run_load
from tests.chaos.conftest import ChaosLedger, Services

pytestmark = pytest.mark.chaos

DURATION_S = float(os.environ.get("CHAOS_LOAD_DURATION_S", "60"))
CLIENTS = int(os.environ.get("CHAOS_LOAD_CLIENTS", "50"))
USERS = int(os.environ.get("CHAOS_LOAD_USERS", "20"))
# The deployed limits (per user and minute) unless overridden: the busiest users meet the write
# limit, so 429s are part of the load and must be clean.
RATE_LIMITS = json.loads(os.environ.get("CHAOS_LOAD_RATE_LIMITS", "null"))
SETTLE_TIMEOUT_S = 120.0


@pytest.fixture
def stack(services: Services) -> Iterator[LocalStack]:
    local = LocalStack(services.postgres.url, services.redis.url, rate_limits=RATE_LIMITS)
    local.start()
    try:
        yield local
    finally:
        local.close()


def _unsettled() -> int:
    """Trades the executor still owes an answer: queued, or with a cancel not yet carried out."""
    with unit_of_work() as session:
        pending = session.scalar(
            select(func.count()).select_from(Trade).where(Trade.status == "PENDING")
        )
        canceling = session.scalar(
            select(func.count())
            .select_from(Trade)
            .where(Trade.status.in_(["NEW", "PARTIALLY_FILLED"]))
            .where(Trade.cancel_requested_at.is_not(None))
        )
    return int(pending or 0) + int(canceling or 0)


def test_fifty_clients_for_a_minute_get_no_error_but_429_and_the_books_balance(
    stack: LocalStack, ledger: ChaosLedger
) -> None:
    report = run_load(stack.url, clients=CLIENTS, users=USERS, duration_s=DURATION_S)
    summary = report.summary()

    # The executor and the price schedule finish what was accepted; then the stack stops, so
    # nothing moves while the books are counted.
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while _unsettled() and time.monotonic() < deadline:
        time.sleep(0.5)
    unsettled = _unsettled()
    assert stack.stop(), stack.tail()

    with unit_of_work() as session:
        books = check_books(
            session,
            [a.user_id for a in report.accounts],
            accepted=report.stats.accepted,
            fee_rate=get_settings().paper_fee_rate,
        )
        canceled = dict(
            session.execute(
                select(Trade.id, Trade.status).where(Trade.id.in_(report.stats.canceled))
            ).all()
        )
    ledger.figure(
        f"load: {summary['requests']} requests in {summary['duration_s']}s "
        f"({summary['requests_per_s']}/s) by {CLIENTS} clients over {USERS} users, "
        f"errors {summary['errors']}, 429s {summary['throttled_429']}, p50 {summary['p50_ms']} ms, "
        f"p99 {summary['p99_ms']} ms, max {summary['max_ms']} ms; "
        f"{summary['orders_accepted']} orders accepted ({dict(books.statuses)}), "
        f"{summary['cancels_accepted']} canceled, {books.fills} fills in balanced books"
    )
    assert report.errors == 0, summary["first_errors"]
    assert set(report.stats.statuses) <= {200, 201, 202, 429}, summary["statuses"]
    assert unsettled == 0, "the executor did not settle every accepted order in time"
    assert books.balanced, books.problems[:20]
    assert books.trades == len(report.stats.accepted)
    assert set(canceled.values()) <= {"CANCELED"}, canceled
    assert len(canceled) == len(report.stats.canceled)
    assert "FAILED" not in books.statuses
    assert summary["orders_accepted"] > 0
