"""The web app's weight and first load: `python -m bench --only web`.

Its weight is what the first page downloads before it draws (the initial JS and CSS, gzipped,
as CloudFront serves them) and all of the app's chunks. Its first load is measured in Debian's
Chromium against a local stack serving the built app, with an empty cache, under Lighthouse's
mobile throttling and without throttling (web/scripts/vitals.mjs says how). Needs the built
app (`make web-build`) and /usr/bin/chromium; a missing one is reported, not failed.
"""

from __future__ import annotations

import gzip
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.env import say
from bench.report import Figure, Results
from devstack.functions import ROOT
from devstack.ports import free_port
from devstack.web import WEB_DIST, initial_assets

INITIAL_BUDGET_KB = 200.0  # the seed's budget, gzipped; the tests hold the app to 120 KiB
FCP_TARGET_MS = 1500.0
TTI_TARGET_MS = 3500.0
LIGHTHOUSE_TARGET = 0.95
# Lighthouse's own measures of the first page (mobile, simulated throttling) and their budgets.
LIGHTHOUSE_METRICS = {
    "first-contentful-paint": ("FCP", "ms", 1500.0),
    "largest-contentful-paint": ("LCP", "ms", 2000.0),
    "total-blocking-time": ("TBT", "ms", 150.0),
    "cumulative-layout-shift": ("CLS", "", 0.05),
}
SCROLL_TRADES = 10_000
# Fetched from the npm registry by npx when the bench runs (not a dependency of the app or its
# tests); pinned so runs compare.
LIGHTHOUSE = "lighthouse@12.8.2"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
START_TIMEOUT_S = 60.0


def _gzipped(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def weight(results: Results) -> dict[str, Any]:
    """The first page's gzipped initial JS and CSS, and every chunk's."""
    initial = {p.name: _gzipped(p) for p in initial_assets(WEB_DIST)}
    chunks = {p.name: _gzipped(p) for p in (WEB_DIST / "assets").glob("*.js")}
    initial_kb = sum(initial.values()) / 1024
    results.add(
        Figure(
            "web",
            "first page JS + CSS (gzipped)",
            initial_kb,
            "KB",
            target=f"<= {INITIAL_BUDGET_KB:.0f} KB",
            met=initial_kb <= INITIAL_BUDGET_KB,
            note=f"{len(initial)} files; all {len(chunks)} JS chunks "
            f"{sum(chunks.values()) / 1024:.1f} KB",
        )
    )
    return {"initial": initial, "chunks": chunks}


def first_load(results: Results) -> dict[str, Any]:
    """FCP and TTI of the first page under each profile, against a local stack."""
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        port, moto_port = free_port(), free_port()
        env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "MOTO_PORT": str(moto_port),
            "DEV_DATA_DIR": tmp,
            "DATABASE_URL": f"sqlite:///{tmp}/web.db",
            "REDIS_URL": "",
        }
        with open(Path(tmp) / "stack.log", "wb") as log:
            stack = subprocess.Popen(
                [sys.executable, "-m", "devstack.dev"], cwd=ROOT, env=env, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_for(f"{base}/health", stack)
            out = _node("vitals.mjs", base, timeout_s=180)
            scores, metrics = _lighthouse(base, Path(tmp))
            scroll = _scrolling(base, f"sqlite:///{tmp}/web.db")
        finally:
            stack.terminate()
            stack.wait(timeout=30)
    profiles = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    for profile in profiles:
        name = profile["profile"]
        for metric, target in (("fcp_ms", FCP_TARGET_MS), ("tti_ms", TTI_TARGET_MS)):
            value = profile[metric]
            results.add(
                Figure(
                    "web",
                    f"{metric[:3].upper()} first page, {name}",
                    value,
                    "ms",
                    target=f"<= {target:.0f} ms",
                    met=value is not None and value <= target,
                    note=f"{profile['long_tasks']} long tasks, {profile['bytes'] / 1024:.0f} KB "
                    "over the wire"
                    + ("; 4x CPU, 150 ms RTT, 1.6 Mbit/s" if name == "mobile" else ""),
                )
            )
    for category, score in scores.items():
        results.add(
            Figure(
                "web",
                f"Lighthouse {category}, first page",
                score * 100,
                "/100",
                target=f">= {LIGHTHOUSE_TARGET * 100:.0f}",
                met=score >= LIGHTHOUSE_TARGET,
                note=f"{LIGHTHOUSE}, mobile, simulated throttling",
            )
        )
    for audit, value in metrics.items():
        label, unit, budget = LIGHTHOUSE_METRICS[audit]
        results.add(
            Figure(
                "web",
                f"Lighthouse {label}, first page",
                value,
                unit or "score",
                target=f"<= {budget:g} {unit}".rstrip(),
                met=value <= budget,
                note=f"{LIGHTHOUSE}, mobile, simulated throttling",
            )
        )
    if not scores:
        results.notes.append(f"web: {LIGHTHOUSE} could not run (npx offline?); no scores")
    results.add(
        Figure(
            "web",
            f"orders list, {SCROLL_TRADES:,} trades scrolled: long tasks",
            scroll["long_tasks"],
            "tasks > 50 ms",
            target="0",
            met=scroll["long_tasks"] == 0,
            note=f"longest {scroll['longest_task_ms']:.0f} ms; frames p50 "
            f"{scroll['frame_p50_ms']:.1f} ms, max {scroll['frame_max_ms']:.1f} ms; "
            f"{scroll['rows_in_dom']} rows in the DOM, {scroll['pages']} pages loaded",
        )
    )
    return {"profiles": profiles, "lighthouse": scores, "metrics": metrics, "scroll": scroll}


def _scrolling(base: str, database_url: str) -> dict[str, Any]:
    """A user with SCROLL_TRADES trades, their orders list loaded and scrolled top to bottom."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from bench.data import trade_rows

    email, password = "scroll@example.com", secrets.token_urlsafe(18)
    created = httpx.post(
        f"{base}/api/auth/register", json={"email": email, "password": password}, timeout=30
    )
    created.raise_for_status()
    engine = create_engine(database_url)
    with Session(engine) as session, session.begin():
        session.add_all(trade_rows(created.json()["id"], SCROLL_TRADES))
    engine.dispose()
    out = _node("scroll.mjs", base, email, password, timeout_s=600)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _lighthouse(base: str, tmp: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Lighthouse's category scores of the first page (0..1) and its LIGHTHOUSE_METRICS;
    empty when it cannot run."""
    report = tmp / "lighthouse.json"
    command = [
        "npx", "--yes", LIGHTHOUSE, f"{base}/", "--quiet", "--output=json",
        f"--output-path={report}", "--chrome-flags=--headless=new --no-sandbox",
        "--only-categories=performance,accessibility,best-practices",
    ]  # fmt: skip
    env = {**os.environ, "CHROME_PATH": str(CHROMIUM)}
    try:
        subprocess.run(command, env=env, capture_output=True, timeout=240, check=True)
        document = json.loads(report.read_text())
        categories, audits = document["categories"], document["audits"]
    except (subprocess.SubprocessError, OSError, ValueError, KeyError):
        return {}, {}
    scores = {name: float(c["score"]) for name, c in categories.items() if c["score"] is not None}
    metrics = {
        audit: float(audits[audit]["numericValue"])
        for audit in LIGHTHOUSE_METRICS
        if audits.get(audit, {}).get("numericValue") is not None
    }
    return scores, metrics


def _node(script: str, *args: str, timeout_s: float) -> str:
    """What `web/scripts/<script>` prints, run with Node in Debian's Chromium."""
    return subprocess.run(
        ["node", f"scripts/{script}", *args],
        cwd=ROOT / "web",
        env={**os.environ, "CHROMIUM": str(CHROMIUM)},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=True,
    ).stdout


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the local stack exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the local stack did not answer {url}")


def run(results: Results) -> dict[str, Any]:
    """The web section: weight, then the first load where a browser is available."""
    if not (WEB_DIST / "index.html").is_file():
        results.notes.append("web: not built (make web-build), nothing measured")
        return {}
    say("web: weight of the built app")
    details: dict[str, Any] = {"weight": weight(results)}
    if not CHROMIUM.exists():
        results.notes.append(f"web: no browser at {CHROMIUM}; first load not measured")
        return details
    say("web: first load in Chromium (mobile throttling, then none)")
    details["first_load"] = first_load(results)
    return details
