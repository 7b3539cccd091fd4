# ruff: noqa: S608 - the loader's SQL is built from constants and the snapshot, no input.
"""Scaling on PostgreSQL: trades list and dashboard p95 at 1 thousand, 100 thousand and
1 million trades, the measured user holding 100 thousand of them at the top size."""

from __future__ import annotations

import time
from typing import Any

from tradebot.cache.client import get_redis, key
from tradebot.exchange.snapshot import reference_prices
from tradebot.pagination import encode_cursor

from bench.data import add_positions, create_account, give_balances, seed_market
from bench.env import BenchEnv, say
from bench.report import Figure, Results
from bench.stats import Summary
from devstack.databases import pg_connect
from devstack.functions import load_function
from devstack.lambda_events import FakeLambdaContext, route_event

RATIO_TARGET = 1.5
DASHBOARD_100K_MS = 50.0
OTHER_USERS = 999
# (total rows after the step, rows of the measured user after the step)
STEPS = ((1_000, 1_000), (100_000, 100_000), (1_000_000, 100_000))

INSERT = """
INSERT INTO trades (id, user_id, symbol, side, type, quantity, price, status, executed_qty,
    cumulative_quote_qty, avg_price, fee, fee_asset, exchange_order_id, client_order_id,
    trading_mode, stop_triggered, created_at, updated_at)
SELECT gen_random_uuid()::text, {user_expr}, m.symbol,
    CASE WHEN g % 2 = 0 THEN 'BUY' ELSE 'SELL' END,
    CASE WHEN g % 3 = 0 THEN 'MARKET' ELSE 'LIMIT' END,
    m.quantity, m.price, s.status,
    CASE WHEN s.status = 'FILLED' THEN m.quantity ELSE 0 END,
    CASE WHEN s.status = 'FILLED' THEN m.quantity * m.price ELSE 0 END,
    CASE WHEN s.status = 'FILLED' THEN m.price END,
    CASE WHEN s.status = 'FILLED' THEN m.quantity * m.price * 0.001 ELSE 0 END,
    CASE WHEN s.status = 'FILLED' THEN 'USDT' END,
    (1000000 + g)::text, md5(g::text || ':' || {salt}), 'paper', false, t.at, t.at
FROM generate_series({first}, {last}) AS g
CROSS JOIN LATERAL (SELECT
    (ARRAY[{symbols}])[1 + g % {n_symbols}] AS symbol,
    (ARRAY[{prices}]::numeric[])[1 + g % {n_symbols}] AS price,
    (ARRAY[{quantities}]::numeric[])[1 + g % {n_symbols}] AS quantity) AS m
CROSS JOIN LATERAL (SELECT CASE
    WHEN (g::bigint * 7919) % 1000 < 2 THEN 'NEW'
    WHEN (g::bigint * 7919) % 1000 < 720 THEN 'FILLED'
    WHEN (g::bigint * 7919) % 1000 < 880 THEN 'CANCELED'
    WHEN (g::bigint * 7919) % 1000 < 960 THEN 'REJECTED'
    ELSE 'EXPIRED' END AS status) AS s
CROSS JOIN LATERAL (SELECT {created_expr} AS at) AS t
{user_join}
"""


# The other users' ids, numbered, joined on the row number (an array subscript per row would
# walk the array each time: minutes instead of seconds for a million rows).
OTHERS_JOIN = (
    "JOIN (SELECT id, (row_number() OVER (ORDER BY id)) - 1 AS k FROM users "
    "WHERE email LIKE 'other-%') AS o ON o.k = g % " + str(OTHER_USERS)
)


def _insert_sql(user_expr: str, first: int, last: int, created_expr: str, salt: str,
                user_join: str = "") -> str:  # fmt: skip
    prices = reference_prices()
    symbols = sorted(prices)
    return INSERT.format(
        user_expr=user_expr,
        user_join=user_join,
        first=first,
        last=last,
        salt=f"'{salt}'",
        created_expr=created_expr,
        n_symbols=len(symbols),
        symbols=", ".join(f"'{s}'" for s in symbols),
        prices=", ".join(format(prices[s], "f") for s in symbols),
        quantities=", ".join("0.01" if prices[s] > 1000 else "1" for s in symbols),
    )


class Loader:
    """Rows straight into PostgreSQL with INSERT ... SELECT generate_series (no Python rows)."""

    def __init__(self, url: str, measured_user: str) -> None:
        self.connection = pg_connect(url)
        self.user = measured_user
        self.user_rows = 0
        self.other_rows = 0
        self.seconds: list[tuple[int, float]] = []

    def grow(self, total: int, user_rows: int) -> None:
        start = time.perf_counter()
        added = 0
        if user_rows > self.user_rows:
            sql = _insert_sql(
                "'" + self.user + "'",
                self.user_rows + 1,
                user_rows,
                "now() - g * interval '37 seconds'",
                "measured",
            )
            self.connection.run(sql)
            added += user_rows - self.user_rows
            self.user_rows = user_rows
        others = total - user_rows
        if others > self.other_rows:
            sql = _insert_sql(
                "o.id",
                self.other_rows + 1,
                others,
                "now() - (g % 525600) * interval '1 minute'",
                "other",
                OTHERS_JOIN,
            )
            self.connection.run(sql)
            added += others - self.other_rows
            self.other_rows = others
        inserted = time.perf_counter() - start
        self.connection.run("VACUUM ANALYZE trades")
        elapsed = time.perf_counter() - start
        self.seconds.append((added, elapsed))
        say(
            f"scaling: {added:,} rows loaded in {inserted:.1f} s, vacuumed and analyzed in "
            f"{elapsed - inserted:.1f} s (table: {total:,})"
        )

    def explain(self, sql: str, params: dict[str, Any]) -> list[str]:
        rows = self.connection.run("EXPLAIN (ANALYZE, BUFFERS) " + sql, **params)
        return [str(r[0]) for r in rows]

    def close(self) -> None:
        self.connection.close()


def _other_users(url: str) -> None:
    connection = pg_connect(url)
    try:
        connection.run(
            "INSERT INTO users (id, email, password_hash, created_at, updated_at) "
            "SELECT gen_random_uuid()::text, 'other-' || g || '@example.com', 'unused', "
            f"now(), now() FROM generate_series(1, {OTHER_USERS}) AS g"
        )
    finally:
        connection.close()


def _measure(token: str, user_id: str, calls: int, cursor: str) -> dict[str, Summary]:
    trades = load_function("trades_list").handler
    dashboard = load_function("dashboard").handler
    variations = [
        {"limit": "20", "symbol": "BTCUSDT"},
        {},
        {"status": "FILLED"},
        {"limit": "20", "cursor": cursor},
        {"status": "NEW"},
    ]
    redis = get_redis()
    samples: dict[str, list[float]] = {"trades_list": [], "dashboard": []}
    per_variation: dict[str, list[float]] = {}
    for i in range(calls + 20):
        query = variations[i % len(variations)]
        event = route_event("trades_list", token, query=query or None)
        start = time.perf_counter()
        response = trades(event, FakeLambdaContext(function_name="trades_list"))
        elapsed = time.perf_counter() - start
        if response["statusCode"] != 200:
            raise RuntimeError(f"trades_list answered {response['statusCode']}: {response['body']}")
        if i >= 20:
            samples["trades_list"].append(elapsed)
            label = "&".join(f"{k}={'...' if k == 'cursor' else v}" for k, v in query.items())
            per_variation.setdefault(f"trades_list {label or 'default'}", []).append(elapsed)
        redis.incr(key("ver", "dashboard", user_id))  # every dashboard call is a cache miss
        event = route_event("dashboard", token)
        start = time.perf_counter()
        response = dashboard(event, FakeLambdaContext(function_name="dashboard"))
        elapsed = time.perf_counter() - start
        if response["statusCode"] != 200:
            raise RuntimeError(f"dashboard answered {response['statusCode']}: {response['body']}")
        if i >= 20:
            samples["dashboard"].append(elapsed)
    summaries = {name: Summary.of(s) for name, s in samples.items()}
    summaries.update({name: Summary.of(s) for name, s in per_variation.items()})
    return summaries


def run(
    results: Results, env: BenchEnv, calls: int, steps: tuple[tuple[int, int], ...] = STEPS
) -> dict[str, Any]:
    if not env.postgres:
        note = "scaling: skipped, DATABASE_URL is not PostgreSQL (set it to measure 1k/100k/1M)"
        results.notes.append(note)
        results.add(
            Figure(
                "scaling",
                "trades list / dashboard at 1M rows",
                None,
                "",
                target="PostgreSQL only",
                note="skipped: no PostgreSQL",
            )
        )
        return {"skipped": note}
    url = env.database("scaling")
    seed_market()
    trader = create_account(f"scaling-{env.run_id}@example.com")
    give_balances(trader.user_id, {"USDT": "100000"})
    add_positions(trader.user_id)
    _other_users(url)
    loader = Loader(url, trader.user_id)
    measured: dict[str, dict[str, Summary]] = {}
    explains: dict[str, list[str]] = {}
    try:
        for total, user_rows in steps:
            loader.grow(total, user_rows)
            # A cursor from the middle of the measured user's history: a deep page.
            middle = loader.connection.run(
                "SELECT created_at, id FROM trades WHERE user_id = :u "
                "ORDER BY created_at DESC, id DESC OFFSET :o LIMIT 1",
                u=trader.user_id,
                o=user_rows // 2,
            )[0]
            cursor = encode_cursor([middle[0].isoformat(), middle[1]])
            say(f"scaling: measuring at {total:,} rows ({user_rows:,} the user's)")
            measured[f"{total}"] = _measure(trader.token, trader.user_id, calls, cursor)
        explains["trades_list status=NEW"] = loader.explain(
            "SELECT * FROM trades WHERE user_id = :u AND status = 'NEW' "
            "ORDER BY created_at DESC, id DESC LIMIT 51",
            {"u": trader.user_id},
        )
        explains["dashboard open orders"] = loader.explain(
            "SELECT count(*) FROM trades WHERE user_id = :u "
            "AND status IN ('PENDING', 'NEW', 'PARTIALLY_FILLED')",
            {"u": trader.user_id},
        )
    finally:
        loader.close()
    _figures(results, measured, steps)
    return {
        "steps": [{"total": t, "user_rows": u} for t, u in steps],
        "load_seconds": loader.seconds,
        "p95": measured,
        "explain": explains,
    }


def _label(total: int) -> str:
    return f"{total // 1_000_000}M" if total >= 1_000_000 else f"{total // 1000}k"


def _figures(
    results: Results, measured: dict[str, dict[str, Summary]], steps: tuple[tuple[int, int], ...]
) -> None:
    smallest, largest = str(steps[0][0]), str(steps[-1][0])
    for route in ("trades_list", "dashboard"):
        base = measured[smallest][route].p95_ms
        for total, user_rows in steps:
            summary = measured[str(total)][route]
            figure = Figure(
                "scaling",
                f"{route} p95 @{_label(total)}",
                summary.p95_ms,
                "ms",
                n=summary.n,
                note=f"user holds {user_rows:,}; p50 {summary.p50_ms:.2f}",
            )
            if str(total) == largest and total != steps[0][0]:
                figure.floor = base
                figure.target = f"<= {RATIO_TARGET:g}x p95 @{_label(steps[0][0])} (floor col)"
                figure.met = summary.p95_ms <= RATIO_TARGET * base
            if route == "dashboard" and user_rows == 100_000 and total == 100_000:
                figure.target = f"< {DASHBOARD_100K_MS:g} ms (cache miss)"
                figure.met = summary.p95_ms < DASHBOARD_100K_MS
            if route == "trades_list":
                worst = max(
                    (
                        (n, s)
                        for n, s in measured[str(total)].items()
                        if n.startswith("trades_list ")
                    ),
                    key=lambda item: item[1].p95_ms,
                )
                figure.note += f"; slowest: {worst[0].split(' ', 1)[1]} p95 {worst[1].p95_ms:.2f}"
            results.add(figure)
