"""Warm latency of every API route through its Mangum handler, beside its floor."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tradebot.accounts.keycheck import CheckedKey
from tradebot.accounts.schemas import ApiKeyCreate
from tradebot.accounts.service import store_api_key
from tradebot.db.engine import unit_of_work
from tradebot.exchange.snapshot import load_snapshot_filters

from bench.data import (
    add_notes,
    add_positions,
    add_trades,
    create_account,
    give_balances,
    seed_market,
)
from bench.env import BenchEnv, say, shown_path
from bench.floor import Floor, Wire, record_call
from bench.rawdb import RawDb
from bench.report import Figure, Results
from bench.routes import RouteBench, Variation, WarmState, build
from bench.stats import Summary
from devstack.functions import load_function
from devstack.lambda_events import FakeLambdaContext

WARMUP = 30
FLOOR_EVERY = 3
READ_P99_MS = 10.0
TRADE_P99_MS = 15.0
FLOOR_RATIO = 3.0
SEED_P95_MS, SEED_P99_MS = 200.0, 500.0


def prepare_state(env: BenchEnv, section: str, calls: int) -> WarmState:
    """Accounts with history, keys, notes, trades and the market in Redis."""
    seed_market()
    run = env.run_id
    trader = create_account(f"trader-{run}@example.com", real_password=True)
    uid = trader.user_id
    bases = {f.base_asset: "100000" for f in load_snapshot_filters().values()}
    give_balances(uid, {"USDT": "100000000", **bases})
    add_positions(uid)
    per_route = WARMUP + calls
    trade_ids = add_trades(uid, 500)
    open_ids = add_trades(uid, 20, status="NEW")
    note_ids = add_notes(uid, 100)
    # What the write routes create and consume belongs to a second trader, so the reads above
    # see one realistic account (500 trades, 100 notes) however many calls are made.
    scratch = create_account(f"scratch-{run}@example.com")
    give_balances(scratch.user_id, {"USDT": "100000000", **bases})
    pending_route = add_trades(scratch.user_id, per_route, status="PENDING")
    notes_route = add_notes(scratch.user_id, per_route, title="Scratch")
    key_owner = create_account(f"keys-{run}@example.com")
    with unit_of_work() as session:
        store_api_key(
            session,
            key_owner.user_id,
            ApiKeyCreate.model_validate(
                {"api_key": "A" * 64, "api_secret": "B" * 64, "testnet": True}
            ),
            CheckedKey(ip_restricted=None, permissions=["read", "spot"]),  # stored unchecked
        )
    key_deleter = create_account(f"forget-{run}@example.com")
    return WarmState(
        trader=trader,
        scratch=scratch,
        key_owner=key_owner,
        key_deleter=key_deleter,
        trade_ids=trade_ids,
        open_trade_ids=open_ids,
        pending_for_route=pending_route,
        note_ids=note_ids,
        notes_for_route=notes_route,
        db=RawDb(env.urls[section]),
        run_id=run,
    )


def _record(bench: RouteBench, v: Variation, i: int, wire: Wire) -> tuple[Any, Floor]:
    """One call of `v`, recorded with its database writes rolled back; its floor."""
    handler = load_function(bench.function).handler
    with record_call() as recording:
        response = handler(v.event(i), FakeLambdaContext(function_name=bench.function))
    return response, Floor(recording, wire, v.work)


def measure_route(bench: RouteBench, calls: int, db: RawDb) -> dict[str, Any]:
    """Route and floor calls interleaved one for one, so a busy moment hits both alike.

    Each floor replays a call of the same variation recorded just before it (untimed, its
    database writes rolled back), so it acts on the state the route call after it finds.
    """
    handler = load_function(bench.function).handler
    # Fresh prices, as the updater leaves them every minute in AWS: a run outlasts their
    # freshness (an order against a stale price is refused with a 503).
    seed_market()
    variations = bench.variations
    route_samples: list[float] = []
    floor_samples: list[float] = []
    by_variation: dict[str, list[float]] = {}
    unexpected: list[str] = []
    sql: dict[str, int] = {}
    wire = Wire(db)
    clock = time.perf_counter

    def check(v: Variation, response: dict[str, Any]) -> None:
        if response["statusCode"] != v.expect and len(unexpected) < 5:
            unexpected.append(f"{v.name}: {response['statusCode']} {response.get('body')}")

    try:
        for i in range(WARMUP + calls):
            v: Variation = variations[i % len(variations)]
            if v.prepare is not None:
                v.prepare(i)
            # The floor runs before every FLOOR_EVERY-th route call (each variation in turn), so
            # a busy moment hits both alike at a fraction of the time.
            if (i // len(variations)) % FLOOR_EVERY == 0:
                recorded, floor = _record(bench, v, i, wire)
                check(v, recorded)
                if i < WARMUP:
                    sql[v.name] = floor.statement_count
                start = clock()
                floor()
                if i >= WARMUP:
                    floor_samples.append(clock() - start)
                if v.prepare is not None:
                    v.prepare(i)  # again: the recorded call's Redis writes (a cache it filled)
            request = v.event(i)
            context = FakeLambdaContext(function_name=bench.function)
            start = clock()
            response = handler(request, context)
            elapsed = clock() - start
            check(v, response)
            if i >= WARMUP:
                route_samples.append(elapsed)
                by_variation.setdefault(v.name, []).append(elapsed)
    finally:
        wire.close()
    return {
        "route": Summary.of(route_samples),
        "floor": Summary.of(floor_samples),
        "variations": {name: Summary.of(s) for name, s in by_variation.items()},
        "unexpected": unexpected,
        "sql_statements": sql,
    }


def _judge(bench: RouteBench, route: Summary, floor: Summary) -> tuple[str, bool]:
    if bench.kind in ("read", "trade"):
        limit = READ_P99_MS if bench.kind == "read" else TRADE_P99_MS
        ok = route.p99_ms <= limit and route.p99_ms <= FLOOR_RATIO * floor.p99_ms
        return f"p99 <= {limit:g} ms and <= {FLOOR_RATIO:g}x floor", ok
    ok = route.p95_ms <= SEED_P95_MS and route.p99_ms <= SEED_P99_MS
    return f"seed budget p95 <= {SEED_P95_MS:g}, p99 <= {SEED_P99_MS:g} ms", ok


def run(
    results: Results,
    env: BenchEnv,
    calls: int,
    auth_calls: int,
    routes: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Every route (or only `routes`), `calls` times (`auth_calls` for the password-hashing
    ones)."""
    state = prepare_state(env, "warm", calls)
    benches = [b for b in build(state) if not routes or b.function in routes]
    details: dict[str, Any] = {}
    try:
        for bench in benches:
            n = auth_calls if bench.kind == "auth" else calls
            say(f"warm: {bench.function} x{n}")
            measured = measure_route(bench, n, state.db)
            route, floor = measured["route"], measured["floor"]
            target, ok = _judge(bench, route, floor)
            errors = len(measured["unexpected"])
            results.add(
                Figure(
                    "warm",
                    f"{bench.function} p99",
                    route.p99_ms,
                    "ms",
                    floor=floor.p99_ms,
                    target=target,
                    met=ok and not errors,
                    n=route.n,
                    note=f"p50 {route.p50_ms:.2f} p95 {route.p95_ms:.2f}; floor p50 "
                    f"{floor.p50_ms:.2f}" + (f"; {errors} unexpected statuses" if errors else ""),
                )
            )
            details[bench.function] = {"kind": bench.kind, **measured}
            if bench.function == "auth_login":
                _login_answers_alike(results, measured["variations"])
    finally:
        state.db.close()
    details["_state"] = {"profile_targets": _profile_targets(details), "token": state.trader.token}
    details["_benches"] = benches  # kept in memory for the profiler, dropped before writing
    return details


def _login_answers_alike(results: Results, variations: dict[str, Summary]) -> None:
    """Whether a login's time tells an unknown email from a known one (it must not: both
    verify one Argon2id hash of the same cost; tests/security checks the cost itself)."""
    known, unknown = variations["wrong password"].p50_ms, variations["unknown email"].p50_ms
    ratio = max(known, unknown) / min(known, unknown)
    results.add(
        Figure(
            "warm",
            "login, unknown vs known email (p50 ratio)",
            ratio,
            "x",
            target="<= 1.5",
            met=ratio <= 1.5,
            note=f"known email, wrong password p50 {known:.1f} ms; unknown email {unknown:.1f} ms",
        )
    )


def _profile_targets(details: dict[str, Any]) -> list[str]:
    """What the warm profile looks at: the slowest read by p99, market_prices, POST trades."""
    reads = [
        (d["route"].p99_ms, name)
        for name, d in details.items()
        if not name.startswith("_") and d["kind"] == "read"
    ]
    targets = [max(reads)[1]] if reads else []
    # Plus the cheapest read (whose floor is a Redis round trip: what is left is the framework)
    # and the order route.
    for name in ("market_prices", "trades_create"):
        if name in details and name not in targets:
            targets.append(name)
    return targets


def _calls(bench: RouteBench, offset: int, count: int) -> list[float]:
    handler = load_function(bench.function).handler
    samples = []
    for i in range(count):
        v = bench.variations[i % len(bench.variations)]
        if v.prepare is not None:
            v.prepare(offset + i)
        request = v.event(offset + i)
        context = FakeLambdaContext(function_name=bench.function)
        start = time.perf_counter()
        handler(request, context)
        samples.append(time.perf_counter() - start)
    return samples


def profile_routes(
    benches: list[RouteBench], names: list[str], out_dir: Path, calls: int = 300
) -> dict[str, Any]:
    """Per named route: a pyinstrument profile of `calls` calls through its Lambda handler.

    The handler runs the request's sync code on the calling thread (tradebot.http.inline), so
    the one thread pyinstrument follows holds the whole request.
    """
    from pyinstrument import Profiler

    summaries: dict[str, Any] = {}
    by_name = {b.function: b for b in benches}
    offset = 10_000_000  # indices no measured call used: idempotency keys stay unique
    for name in names:
        bench = by_name[name]
        timed = Summary.of(_calls(bench, offset, calls))
        offset += calls
        profiler = Profiler(interval=0.0002)
        profiler.start()
        _calls(bench, offset, calls)
        profiler.stop()
        offset += calls
        text = profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False)
        path = out_dir / f"warm_{name}.txt"
        path.write_text(text)
        # The same samples, flat: self time per function, library frames included (pg8000's
        # converters, redis-py, pydantic, botocore), the heaviest first.
        flat = profiler.output_text(unicode=False, color=False, show_all=True, flat=True)
        (out_dir / f"warm_{name}.flat.txt").write_text("\n".join(flat.splitlines()[:80]) + "\n")
        summaries[name] = {
            "file": shown_path(path),
            "calls": calls,
            "p50_ms": timed.p50_ms,
            "p99_ms": timed.p99_ms,
            "top": text.splitlines()[:80],
        }
    return summaries
