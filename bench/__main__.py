"""`make bench` / `python -m bench`: every measurement of issue 5, one table, results.json (not
committed) and summary.json beside it (committed; README's table is rendered from it).

The application's JSON logs and metrics go to stdout in Lambda; here they are counted and
dropped (stdout is swapped before the application is imported), and the table is printed on
the real stdout. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import collections
import io
import sys
import time
import traceback
from pathlib import Path
from typing import Any

REAL_STDOUT = sys.stdout


class LogSink(io.TextIOBase):
    """Stands in for stdout: counts what the application writes, keeps the last lines."""

    def __init__(self) -> None:
        self.chars = 0
        self.lines = 0
        self.tail: collections.deque[str] = collections.deque(maxlen=10)

    def write(self, text: str) -> int:
        self.chars += len(text)
        self.lines += text.count("\n")
        if text.strip():
            self.tail.append(text.strip()[:500])
        return len(text)

    def writable(self) -> bool:
        return True


SINK = LogSink()
sys.stdout = SINK

from bench import cold, cost, loadtest, restore, scaling, summary, warm, web, workers  # noqa: E402
from bench.env import ROOT, BenchEnv, say  # noqa: E402
from bench.live import start_fake  # noqa: E402
from bench.machine import describe, load_average  # noqa: E402
from bench.procs import Helper  # noqa: E402
from bench.report import Results, print_table  # noqa: E402

SECTIONS = ("cold", "restore", "warm", "workers", "load", "scaling", "web")
BENCH_DIR = ROOT / "bench"


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts, for trying it out")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument(
        "--routes", default="", help="warm: only these comma-separated functions (e.g. auth_me)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=BENCH_DIR / "results.json",
        help="the full results; the figures are also merged into summary.json beside it",
    )
    sys.stdout = REAL_STDOUT  # so that --help is seen
    try:
        return parser.parse_args()
    finally:
        sys.stdout = SINK


def main() -> int:  # noqa: PLR0915 - the run, section by section
    options = _options()
    only = set(options.only.split(","))
    quick = options.quick
    calls, auth_calls = (200, 20) if quick else (2000, 200)
    started = time.monotonic()
    profiles_dir = options.output.resolve().parent / "profiles"
    profiles_dir.mkdir(parents=True, exist_ok=True)
    for stale in profiles_dir.glob("*.txt"):  # only this run's profiles sit beside its results
        stale.unlink()
    env = BenchEnv()
    stub = Helper("bench.sqs_stub", log=env.tmp / "sqs_stub.log")
    try:
        fake = start_fake(latency_s=0.02)
    except BaseException:
        stub.stop()
        env.close()
        raise
    queue_url = f"http://127.0.0.1:{stub.port}/000000000000/tradebot-orders.fifo"
    results = Results()
    details: dict[str, Any] = {"timing_s": {}}

    failed: list[str] = []
    state: dict[str, Any] = {}

    def run_cold() -> None:
        env.database("cold")
        details["cold"] = cold.run(
            results, env, fake.base_url, runs=3 if quick else cold.RUNS, profiles_dir=profiles_dir
        )

    def run_restore() -> None:
        env.database("restore")
        details["restore"] = restore.run(
            results,
            env,
            restores=5 if quick else 15,
            cold_runs=3 if quick else 5,
            warm_calls=100 if quick else 300,
        )

    def run_warm() -> None:
        env.database("warm")
        routes = frozenset(name for name in options.routes.split(",") if name)
        details["warm"] = warm.run(results, env, calls, auth_calls, routes)
        state.update(details["warm"].pop("_state"))
        benches = details["warm"].pop("_benches")
        details["warm_profiles"] = warm.profile_routes(
            benches, state["profile_targets"], profiles_dir, calls=100 if quick else 300
        )
        for name, profile in details["warm_profiles"].items():
            results.notes.append(
                f"warm profile ({name}): p50 {profile['p50_ms']:.2f} ms, p99 "
                f"{profile['p99_ms']:.2f} ms over {profile['calls']} calls; pyinstrument in "
                f"{profile['file']}"
            )

    def run_load() -> None:
        if "token" not in state:
            raise RuntimeError("the load test needs the warm section's database")
        details["load"] = loadtest.run(
            results, env, state["token"], duration=5 if quick else 15, connections=8
        )

    def run_workers() -> None:
        env.database("workers")
        details["workers"] = workers.run(
            results, batches=3 if quick else 10, updater_runs_count=5 if quick else 20, fake=fake
        )

    def run_scaling() -> None:
        steps = ((1_000, 1_000), (20_000, 10_000), (60_000, 10_000)) if quick else scaling.STEPS
        details["scaling"] = scaling.run(results, env, calls=100 if quick else 300, steps=steps)

    def run_web() -> None:
        details["web"] = web.run(results)

    plan = [
        ("cold", run_cold),
        ("restore", run_restore),
        ("warm", run_warm),
        ("load", run_load),
        ("workers", run_workers),
        ("scaling", run_scaling),
        ("web", run_web),
    ]
    if "load" in only:
        only.add("warm")  # the load test serves the warm section's database
    try:
        env.base_environment(
            {
                "ORDER_QUEUE_URL": queue_url,
                "AWS_ENDPOINT_URL_SQS": f"http://127.0.0.1:{stub.port}",
                "BINANCE_BASE_URL": fake.base_url,
            }
        )
        results.machine = describe(ROOT, env.describe_database(), env.describe_redis())
        results.machine["mode"] = "quick" if quick else "full"
        for section, run_section in plan:
            if section not in only:
                continue
            t = time.monotonic()
            try:
                run_section()
            except Exception:  # noqa: BLE001 - one broken section must not lose the others
                failed.append(section)
                say(f"{section}: FAILED\n{traceback.format_exc()}")
                results.notes.append(
                    f"{section}: FAILED ({traceback.format_exc().strip().splitlines()[-1]})"
                )
            else:
                # A section run whole supersedes what the summary kept of it (see summary.merged).
                if not (section in ("warm", "load") and options.routes):
                    results.machine.setdefault("whole_sections", []).append(section)
            details["timing_s"][section] = round(time.monotonic() - t, 1)
            say(f"{section}: done in {details['timing_s'][section]} s")
        if {"cold", "warm"} <= set(results.machine.get("whole_sections", [])):
            details["cost"] = cost.run(
                results,
                details.get("warm", {}),
                details.get("cold", {}),
                details.get("workers", {}),
            )
        else:  # a cost from a few routes' durations would be no cost at all
            results.notes.append("cost: not computed (it needs the cold and warm sections whole)")
    finally:
        fake.stop()
        stub.stop()
        env.close()
    details["timing_s"]["total"] = round(time.monotonic() - started, 1)
    details["application_stdout"] = {
        "chars": SINK.chars,
        "lines": SINK.lines,
        "last_lines": list(SINK.tail),
    }
    results.machine["load_average_at_end"] = load_average()
    results.details = details
    results.notes.append(f"whole run: {details['timing_s']['total']:.0f} s")
    results.write(options.output)
    summary_path = options.output.resolve().parent / "summary.json"
    summary.record(results, summary_path)
    print_table(results, REAL_STDOUT)
    print(f"\nwritten: {options.output}, {summary_path}", file=REAL_STDOUT)
    if failed:
        print(f"sections that failed: {', '.join(failed)}", file=REAL_STDOUT)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
