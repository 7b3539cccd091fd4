"""The workers: an executor batch of 10 users' orders at 20 ms exchange latency, and the price
updater at the snapshot's symbols and at 400."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from tradebot.cache.client import get_redis, key
from tradebot.db.engine import unit_of_work
from tradebot.db.models import Trade
from tradebot.exchange.base import PriceRange, SymbolFilters
from tradebot.exchange.snapshot import load_snapshot_filters, reference_prices
from tradebot.market.symbols import FILTERS, store_filters
from tradebot.market.updater import refresh_prices

from bench.data import create_account, trade_rows
from bench.env import say
from bench.live import live_traders, queued_orders, trade_ids_of
from bench.report import Figure, Results
from bench.stats import Summary, median
from devstack.functions import load_function
from devstack.lambda_events import FakeLambdaContext
from tests.fakes.binance_server import BinanceFake

EXECUTOR_TARGET_MS = 100.0
UPDATER_RATIO = 2.0
RESTING_ORDERS = 200


def executor_batches(batches: int, fake: BinanceFake | None = None) -> dict[str, Any]:
    """Time the real handler on SQS batches of 10 messages from 10 different users (each with
    a key of their own on `fake`: Binance's order-count limits are per account)."""
    handler = load_function("order_executor").handler
    traders = live_traders(10, "workers", fake)
    timings, singles = [], []
    not_filled = 0
    for i in range(batches + 1):  # the first batch warms connections and imports python-binance
        event = queued_orders(traders)
        start = time.perf_counter()
        response = handler(event, FakeLambdaContext(function_name="order_executor"))
        elapsed = time.perf_counter() - start
        if response.get("batchItemFailures"):
            raise RuntimeError(f"executor reported failures: {response}")
        with unit_of_work() as session:
            statuses = session.scalars(
                select(Trade.status).where(Trade.id.in_(trade_ids_of(event)))
            )
            not_filled += sum(1 for s in statuses if s != "FILLED")
        if i:
            timings.append(elapsed)
    for _ in range(max(3, batches // 2)):  # one message: what each of the ten costs alone
        event = queued_orders(traders[:1])
        start = time.perf_counter()
        handler(event, FakeLambdaContext(function_name="order_executor"))
        singles.append(time.perf_counter() - start)
    return {
        "batch": Summary.of(timings),
        "single_message": Summary.of(singles),
        "batches": batches,
        "orders_not_filled": not_filled,
    }


class SyntheticSource:
    """A PriceSource with a price for every symbol asked, at no network cost."""

    def __init__(self) -> None:
        self.reference = reference_prices()

    def fetch(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        return {s: self.reference.get(s, Decimal("1.2345")) for s in symbols}

    def ranges(self, symbols: Sequence[str], since: datetime) -> dict[str, list[PriceRange]]:
        """The market stood still at the reference prices."""
        return {
            s: [PriceRange(since, None, price, price)] for s, price in self.fetch(symbols).items()
        }


def synthetic_filters(count: int) -> dict[str, SymbolFilters]:
    """The snapshot's symbols plus made-up ones, up to `count`."""
    filters = dict(load_snapshot_filters())
    template = filters["ADAUSDT"]
    i = 0
    while len(filters) < count:
        symbol = f"SYM{i:03d}USDT"
        filters[symbol] = SymbolFilters(
            symbol=symbol,
            base_asset=f"SYM{i:03d}",
            quote_asset="USDT",
            tick_size=template.tick_size,
            step_size=template.step_size,
            min_qty=template.min_qty,
            max_qty=template.max_qty,
            min_price=template.min_price,
            max_price=template.max_price,
            min_notional=template.min_notional,
        )
        i += 1
    return filters


def resting_book() -> None:
    """Paper LIMIT orders resting far from the market (the updater loads them every minute)."""
    owner = create_account("resting-book@example.com")
    rows = trade_rows(owner.user_id, RESTING_ORDERS, status="NEW")
    with unit_of_work() as session:
        for row in rows:
            row.type, row.side = "LIMIT", "BUY"
            row.price = (row.price or Decimal(1)) / 2  # half the market: never crossed here
            session.add(row)


def updater_runs(symbols: int, runs: int) -> Summary:
    """`runs` calls of refresh_prices with `symbols` symbols known."""
    redis = get_redis()
    if symbols <= len(load_snapshot_filters()):
        redis.delete(key(*FILTERS))  # all_filters() falls back to the snapshot
    else:
        store_filters(synthetic_filters(symbols))
    source = SyntheticSource()
    timings = []
    for i in range(runs + 2):
        start = time.perf_counter()
        report = refresh_prices(source, now=time.time())
        elapsed = time.perf_counter() - start
        if report.prices != symbols:
            raise RuntimeError(f"updater wrote {report.prices} prices, expected {symbols}")
        if i >= 2:
            timings.append(elapsed)
    redis.delete(key(*FILTERS))
    return Summary.of(timings)


def run(
    results: Results, batches: int, updater_runs_count: int, fake: BinanceFake | None = None
) -> dict[str, Any]:
    say(f"workers: executor, {batches} batches of 10")
    executor = executor_batches(batches, fake)
    batch = executor["batch"]
    single = executor["single_message"]
    results.add(
        Figure(
            "workers",
            "executor batch of 10 (p50)",
            batch.p50_ms,
            "ms",
            target=f"< {EXECUTOR_TARGET_MS:g} ms",
            met=batch.p50_ms < EXECUTOR_TARGET_MS,
            n=batch.n,
            note=f"max {batch.max_ms:.0f} ms; 1 message {single.p50_ms:.0f} ms; "
            "Binance fake at 20 ms",
        )
    )
    if executor["orders_not_filled"]:
        results.notes.append(f"workers: {executor['orders_not_filled']} executor orders not FILLED")
    shipped = len(load_snapshot_filters())
    say(f"workers: price updater at {shipped} and 400 symbols")
    resting_book()
    shipped_run = updater_runs(shipped, updater_runs_count)
    many = updater_runs(400, updater_runs_count)
    results.add(
        Figure(
            "workers",
            f"updater, {shipped} symbols (p50)",
            shipped_run.p50_ms,
            "ms",
            n=shipped_run.n,
            note=f"p95 {shipped_run.p95_ms:.1f} ms; {RESTING_ORDERS} resting orders",
        )
    )
    ratio = many.p50_ms / shipped_run.p50_ms if shipped_run.p50_ms else float("nan")
    results.add(
        Figure(
            "workers",
            "updater, 400 symbols (p50)",
            many.p50_ms,
            "ms",
            floor=None,
            target=f"< {UPDATER_RATIO:g}x the {shipped}-symbol time",
            met=ratio < UPDATER_RATIO,
            n=many.n,
            note=f"{ratio:.2f}x the {shipped}-symbol time; p95 {many.p95_ms:.1f} ms",
        )
    )
    return {
        "executor": executor,
        "updater": {
            "snapshot": shipped_run,
            "400": many,
            "ratio": ratio,
            "resting_orders": RESTING_ORDERS,
        },
        "median_batch_ms": median([batch.p50_ms]),
    }
