"""SnapStart, measured without AWS: a route's first request after a restore, beside today's
cold path (a fresh interpreter: import + first request) and its warm p99, in one run.

The restore is a fork of a process that imported the function and ran its before-snapshot
hooks (bench/restore_child.py); each forked child runs the after-restore hooks and its first
request against the real PostgreSQL and Redis. What this leaves out is Lambda's own part of a
restore (bringing the microVM's memory back, reported as "Restore Duration"), which only AWS
can measure.
"""

from __future__ import annotations

import os
from typing import Any

from bench.cold import _child as cold_child
from bench.env import BenchEnv, say
from bench.procs import run_child
from bench.report import Figure, Results
from bench.routes import RouteBench, build
from bench.stats import Summary, median
from bench.warm import prepare_state

FUNCTIONS = ("auth_me", "trades_list", "trades_create")
CHILD_TIMEOUT_S = 300
# The target of issue 13: the first request after a restore within 3x the warm p99, under 50 ms.
WARM_RATIO = 3.0
FIRST_REQUEST_MS = 50.0


def _events(bench: RouteBench, start: int, count: int) -> list[dict[str, Any]]:
    """`count` events of the route's variations in turn, numbered from `start` (unique where a
    route consumes something, e.g. an idempotency key)."""
    events = []
    for i in range(start, start + count):
        variation = bench.variations[i % len(bench.variations)]
        if variation.prepare is not None:
            variation.prepare(i)
        events.append(variation.event(i))
    return events


def _restore_child(name: str, request: dict[str, Any], tag: str, env: BenchEnv) -> dict[str, Any]:
    workdir = env.tmp / "restore"
    workdir.mkdir(exist_ok=True)
    result, _ = run_child(
        ["bench.restore_child", name],
        request,
        workdir / f"{tag}.request.json",
        env=dict(os.environ),
        timeout_s=CHILD_TIMEOUT_S,
    )
    return result


def run(
    results: Results,
    env: BenchEnv,
    *,
    restores: int = 15,
    cold_runs: int = 5,
    warm_calls: int = 300,
    functions: tuple[str, ...] = FUNCTIONS,
) -> dict[str, Any]:
    """Each function: `cold_runs` fresh interpreters, one snapshot restored `restores` times,
    the last restored copy then serving `warm_calls` requests."""
    state = prepare_state(env, "restore", restores + cold_runs + warm_calls)
    benches = {b.function: b for b in build(state)}
    details: dict[str, Any] = {}
    try:
        for name in functions:
            bench = benches[name]
            say(f"restore: {name}: {cold_runs} cold starts, {restores} restores")
            cold = []
            for run_no in range(cold_runs):
                first = _events(bench, run_no, 1)[0]
                request = {"first_event": first, "warm_events": []}
                cold.append(cold_child("function", name, request, env.tmp, f"rc-{name}-{run_no}",
                                       dict(os.environ)))  # fmt: skip
            restore_events = _events(bench, cold_runs, restores)
            warm_events = _events(bench, cold_runs + restores, warm_calls)
            snapshot = _restore_child(
                name,
                {"restore_events": restore_events, "warm_events": warm_events},
                f"snapshot-{name}",
                env,
            )
            details[name] = _figures(results, name, bench, cold, snapshot)
    finally:
        state.db.close()
    return details


def _figures(
    results: Results,
    name: str,
    bench: RouteBench,
    cold: list[dict[str, Any]],
    snapshot: dict[str, Any],
) -> dict[str, Any]:
    restored = snapshot["restores"]
    errors = [r["error"] for r in restored if "error" in r]
    if errors:
        raise RuntimeError(f"restore {name}: {errors[0]}")
    expected = {v.expect for v in bench.variations}
    unexpected = [r["response"] for r in restored if r["status"] not in expected]
    cold_path_ms = median([(c["import_s"] + c["first_invocation_s"]) for c in cold]) * 1000
    cold_first_ms = median([c["first_invocation_s"] for c in cold]) * 1000
    first = Summary.of([r["first_request_s"] for r in restored])
    hooks_ms = median([r["after_restore_hooks_s"] for r in restored]) * 1000
    connect_ms = median([r["database_connect_s"] for r in restored]) * 1000
    faults = median([r["page_faults"] for r in restored])
    warm = Summary.of(restored[-1]["warm_s"])
    ok = first.p50_ms <= min(FIRST_REQUEST_MS, WARM_RATIO * warm.p99_ms)
    results.add(
        Figure(
            "restore",
            f"{name} cold path",
            cold_path_ms,
            "ms",
            n=len(cold),
            note=f"fresh interpreter: import {cold_path_ms - cold_first_ms:.0f} ms + first "
            f"request {cold_first_ms:.0f} ms (today, without SnapStart)",
        )
    )
    results.add(
        Figure(
            "restore",
            f"{name} first request after restore",
            first.p50_ms,
            "ms",
            floor=warm.p99_ms,
            target=f"<= {WARM_RATIO:g}x warm p99 and < {FIRST_REQUEST_MS:g} ms",
            met=ok and not unexpected and snapshot["snapshot_connections"] == 0,
            n=first.n,
            note=f"median, after-restore hooks {hooks_ms:.1f} ms and PostgreSQL connect "
            f"{connect_ms:.1f} ms included, {faults:.0f} pages first written; max "
            f"{first.max_ms:.1f} ms; priming before the snapshot {snapshot['prime_s'] * 1000:.0f}"
            f" ms; connections in the snapshot: {snapshot['snapshot_connections']}"
            + (f"; unexpected: {unexpected[0][:120]}" if unexpected else ""),
        )
    )
    results.add(
        Figure(
            "restore",
            f"{name} warm p99 (restored copy)",
            warm.p99_ms,
            "ms",
            n=warm.n,
            note=f"p50 {warm.p50_ms:.2f} ms, the restored copy's next {warm.n} requests",
        )
    )
    return {
        "cold_path_ms": cold_path_ms,
        "cold_import_ms": cold_path_ms - cold_first_ms,
        "cold_first_request_ms": cold_first_ms,
        "prime_ms": snapshot["prime_s"] * 1000,
        "snapshot_import_ms": snapshot["import_s"] * 1000,
        "first_request_after_restore": first,
        "after_restore_hooks_ms": hooks_ms,
        "database_connect_ms": connect_ms,
        "page_faults": faults,
        "warm": warm,
        "snapshot_connections": snapshot["snapshot_connections"],
        "unexpected": unexpected[:3],
    }
