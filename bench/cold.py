"""Cold starts: each function's import in a fresh interpreter beside its floor, its first
invocation, the libraries it loads, and its peak memory after a warm run."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from tradebot.http.routes import ROUTES, WORKERS

from bench.cost import choose_memory
from bench.data import create_account
from bench.env import ROOT, BenchEnv, say, shown_path
from bench.importtime import attribute, parse_importtime
from bench.live import live_traders, queued_orders
from bench.procs import run_child
from bench.report import Figure, Results
from bench.routes import build
from bench.stats import median
from bench.warm import prepare_state
from devstack.lambda_events import load_event, scheduled_event

RUNS = 7
WARM_CALLS = 10
WORKER_WARM_CALLS = 1
CHILD_TIMEOUT_S = 120
API_RATIO = 1.15

# What each kind of function cannot do without, imported and nothing else.
FLOORS: dict[str, tuple[str, ...]] = {
    "api": ("fastapi", "mangum", "sqlalchemy", "pydantic"),
    # Placing an order: read the trade, decrypt the key, parse the message (python-binance is
    # loaded on the first live order, by the floor and the function alike).
    "order_executor": ("sqlalchemy", "pydantic", "redis", "cryptography.fernet"),
    "price_updater": ("sqlalchemy", "pydantic", "redis"),
    "migrate": ("alembic", "sqlalchemy"),
    # Not a target, for the note beside it: the API floor plus the two libraries every route
    # loads by its first request anyway (the rate limit reads Redis, the log line is
    # Powertools'), so that the ratio shows what import order cannot change.
    "api_served": (
        "fastapi",
        "mangum",
        "sqlalchemy",
        "pydantic",
        "redis",
        "aws_lambda_powertools.logging",
    ),
}
API_FUNCTIONS = [r.function for r in ROUTES]
FUNCTIONS = API_FUNCTIONS + [w.function for w in WORKERS]
# Who may load these at all (lazily, on the path that needs them), never at import.
BOTO3_USERS = {"trades_create", "trades_cancel", "trades_cancel_all", "price_updater"}
BINANCE_USERS = {"order_executor", "price_updater", "dashboard", "trades_create"}
NO_FASTAPI = ("order_executor", "price_updater", "migrate")


def floor_of(function: str) -> str:
    return function if function in FLOORS else "api"


def _child(
    kind: str,
    name: str,
    request: dict[str, Any],
    workdir: Path,
    tag: str,
    env: dict[str, str],
    importtime: bool = False,
) -> dict[str, Any]:
    result, stderr = run_child(
        ["bench.cold_child", kind, name],
        request,
        workdir / f"{tag}.request.json",
        env=env,
        timeout_s=CHILD_TIMEOUT_S,
        python_options=("-X", "importtime") if importtime else (),
    )
    if importtime:
        result["importtime"] = stderr
    return result


class Requests:
    """The events each function's child sends: unique per run where a route consumes things."""

    def __init__(self, env: BenchEnv, fake_url: str) -> None:
        self.state = prepare_state(env, "cold", 200)
        self.benches = {b.function: b for b in build(self.state)}
        self.traders = live_traders(10, f"cold-{env.run_id}")
        self.fake_url = fake_url
        self.run_id = env.run_id

    def for_function(
        self, function: str, run: int, *, warm: bool
    ) -> tuple[dict[str, Any], dict[str, str]]:
        request, env = self._request(function, run)
        if not warm:
            request["warm_events"] = []
        return request, env

    def _request(self, function: str, run: int) -> tuple[dict[str, Any], dict[str, str]]:
        env = dict(os.environ)
        if function == "order_executor":
            first = queued_orders(self.traders)
            warm = [queued_orders(self.traders) for _ in range(WORKER_WARM_CALLS)]
            return {"first_event": first, "warm_events": warm}, env
        if function == "price_updater":
            env["MARKET_DATA"] = "binance"  # as in AWS: the ticker and exchangeInfo, from the fake
            event = scheduled_event()
            return {"first_event": event, "warm_events": [event] * WORKER_WARM_CALLS}, env
        if function == "migrate":
            event = load_event(ROOT / "events" / "migrate.json")
            return {"first_event": event, "warm_events": [event] * WORKER_WARM_CALLS}, env
        bench = self.benches.get(function)
        if bench is None:
            # A route the warm section does not drive (sessions, 2FA, the account): its sample
            # event (events/NAME.json) as a throwaway account's request, so that what it
            # changes (a password, a session, the account itself) is nobody else's.
            account = create_account(f"cold-{function}-{run}-{self.run_id}@example.com")
            event = load_event(ROOT / "events" / f"{function}.json", account.token)
            return {"first_event": event, "warm_events": [event] * WARM_CALLS}, env
        base = run * (WARM_CALLS + 1)
        variations = bench.variations
        opening = variations[0]
        if opening.prepare is not None:
            opening.prepare(base)
        events = [variations[k % len(variations)].event(base + k) for k in range(WARM_CALLS + 1)]
        return {"first_event": events[0], "warm_events": events[1:]}, env

    def close(self) -> None:
        self.state.db.close()


def run(
    results: Results,
    env: BenchEnv,
    fake_url: str,
    runs: int = RUNS,
    functions: list[str] | None = None,
    profiles_dir: Path = ROOT / "bench" / "profiles",
) -> dict[str, Any]:
    """Every function and floor, round-robin, `runs` rounds, bytecode compiled first."""
    names = functions or FUNCTIONS
    requests = Requests(env, fake_url)
    workdir = env.tmp / "cold"
    workdir.mkdir(exist_ok=True)
    samples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    floors_used = sorted({floor_of(n) for n in names})
    if "api" in floors_used:
        floors_used.append("api_served")
    try:
        # What round 0 of a first run would do: write the bytecode caches every run then reads.
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", "functions", "layers/shared/python"],
            cwd=ROOT,
            check=False,
            stdout=subprocess.DEVNULL,
        )
        for round_no in range(1, runs + 1):
            say(f"cold: round {round_no}/{runs}")
            for name in names:
                # The last round also makes the warm calls the peak memory is read after.
                request, child_env = requests.for_function(name, round_no, warm=round_no == runs)
                result = _child("function", name, request, workdir, f"{name}-{round_no}", child_env)
                samples[name].append(result)
            for floor in floors_used:
                modules = ",".join(FLOORS[floor])
                result = _child(
                    "floor", modules, {}, workdir, f"floor-{floor}-{round_no}", dict(os.environ)
                )
                samples[f"floor:{floor}"].append(result)
    finally:
        requests.close()
    details = _figures(results, names, samples)
    details["profiles"] = _profile(results, names, details, workdir, profiles_dir)
    return details


def _figures(
    results: Results, names: list[str], samples: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    details: dict[str, Any] = {"floors": {}, "functions": {}}
    floor_ms = {}
    for floor, modules in FLOORS.items():
        runs = samples.get(f"floor:{floor}", [])
        if runs:
            floor_ms[floor] = median([r["import_s"] for r in runs]) * 1000
            details["floors"][floor] = {
                "modules": modules,
                "median_ms": floor_ms[floor],
                "samples_ms": [r["import_s"] * 1000 for r in runs],
            }
    boto_violations, binance_violations = [], []
    for name in names:
        runs = samples[name]
        import_ms = median([r["import_s"] for r in runs]) * 1000
        first_ms = median([r.get("first_invocation_s", float("nan")) for r in runs]) * 1000
        floor = floor_of(name)
        present = set(runs[0]["modules_after_import"])
        after_call = set(runs[0].get("modules_after_invocation", []))
        rss_mib = runs[-1]["peak_rss_kib"] / 1024  # the run that made the warm calls
        is_api = name in API_FUNCTIONS
        served = ""
        if is_api and floor_ms.get("api_served"):
            served = f"; {import_ms / floor_ms['api_served']:.2f}x the floor with redis + logging"
        figure = Figure(
            "cold",
            f"{name} import",
            import_ms,
            "ms",
            floor=floor_ms.get(floor),
            target=f"<= {API_RATIO}x floor" if is_api else "",
            n=len(runs),
            note=f"floor: {floor}; first call {first_ms:.0f} ms; {runs[0]['module_count']} modules"
            + served,
        )
        if is_api and figure.ratio is not None:
            figure.met = figure.ratio <= API_RATIO
        results.add(figure)
        if (present & {"boto3", "botocore.session", "botocore.client"}) and name not in BOTO3_USERS:
            boto_violations.append(name)
        if (present & {"binance", "binance.client"}) and name not in BINANCE_USERS:
            binance_violations.append(name)
        results.add(
            Figure(
                "memory",
                f"{name} peak RSS",
                rss_mib,
                "MiB",
                n=len(runs),
                note=f"after import, first call and a warm run -> "
                f"{choose_memory(rss_mib)} MB Lambda",
            )
        )
        details["functions"][name] = {
            "import_ms": import_ms,
            "import_samples_ms": [r["import_s"] * 1000 for r in runs],
            "first_invocation_ms": first_ms,
            "first_invocation_samples_ms": [r.get("first_invocation_s", 0) * 1000 for r in runs],
            "first_status": runs[0].get("first_status"),
            "floor": floor,
            "modules_after_import": sorted(present),
            "modules_after_first_invocation": sorted(after_call),
            "module_count": runs[0]["module_count"],
            "peak_rss_mib": rss_mib,
            "rss_after_import_mib": max(r["peak_rss_kib_after_import"] for r in runs) / 1024,
            "warm_mean_ms": (runs[-1].get("warm_mean_s") or 0) * 1000,
        }
        bad_status = runs[0].get("first_status")
        if isinstance(bad_status, int) and bad_status >= 500:
            results.notes.append(
                f"cold: {name} first invocation answered {bad_status}: "
                f"{runs[0].get('first_response')}"
            )
    results.notes.append(
        "memory: peak RSS is the child's VmHWM after import, first call and a warm run "
        "(ru_maxrss is not used: Linux carries it over exec from the forking bench process)"
    )
    for name in NO_FASTAPI:
        if name in details["functions"]:
            present = set(details["functions"][name]["modules_after_import"])
            results.add(
                Figure(
                    "cold",
                    f"{name} imports FastAPI",
                    None,
                    "",
                    target="never",
                    met="fastapi" not in present,
                    note="loaded" if "fastapi" in present else "not loaded",
                )
            )
    results.add(
        Figure(
            "cold",
            "boto3 only where used",
            None,
            "",
            target="at import: none",
            met=not boto_violations,
            note=", ".join(boto_violations) or f"none of {len(names)} load it at import",
        )
    )
    results.add(
        Figure(
            "cold",
            "python-binance only where used",
            None,
            "",
            target="at import: none",
            met=not binance_violations,
            note=", ".join(binance_violations) or f"none of {len(names)} load it at import",
        )
    )
    return details


def _profile(
    results: Results, names: list[str], details: dict[str, Any], workdir: Path, out_dir: Path
) -> dict[str, Any]:
    """`-X importtime` of the slowest function beside its floor: where the extra goes."""
    functions = details["functions"]
    slowest = max(names, key=lambda n: functions[n]["import_ms"])
    floor = floor_of(slowest)
    target = _child("function", slowest, {}, workdir, "profile-fn", dict(os.environ), True)
    base = _child(
        "floor", ",".join(FLOORS[floor]), {}, workdir, "profile-floor", dict(os.environ), True
    )
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"cold_{slowest}.importtime.txt").write_text(target["importtime"])
    (out_dir / f"cold_floor_{floor}.importtime.txt").write_text(base["importtime"])
    fn_rows = parse_importtime(target["importtime"], between_marks=True)
    floor_rows = parse_importtime(base["importtime"], between_marks=True)
    summary = attribute(fn_rows, floor_rows)
    # The handler module's own body (route registration, building the FastAPI app, Mangum,
    # Powertools wrappers) is not an import: it is what the import took beyond the modules.
    summary["import_ms"] = target["import_s"] * 1000
    summary["floor_import_ms"] = base["import_s"] * 1000
    summary["handler_body_ms"] = summary["import_ms"] - summary["total_ms"]
    summary.update(
        {
            "function": slowest,
            "floor": floor,
            "files": [
                shown_path(out_dir / f"cold_{slowest}.importtime.txt"),
                shown_path(out_dir / f"cold_floor_{floor}.importtime.txt"),
            ],
        }
    )
    extra = ", ".join(
        f"{p['package']} {p['self_ms']:.0f} ms" for p in summary["extra_packages"][:6]
    )
    results.notes.append(
        f"cold profile ({slowest}, -X importtime): import {summary['import_ms']:.0f} ms, floor "
        f"{summary['floor_import_ms']:.0f} ms; modules beyond the floor: {extra}; the handler "
        f"module's own body (routes, app, wrappers) {summary['handler_body_ms']:.0f} ms"
    )
    return summary
