"""The local stack under load: the API in one process, the load generator (loadtest.reads, the
chaos suite's client) in another."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.env import ROOT, BenchEnv, say
from bench.procs import Helper
from bench.report import Figure, Results

PRICES_RPS_TARGET = 1000
READ_MIX = (
    "/api/market/prices",
    "/api/market/prices/BTCUSDT",
    "/api/market/symbols",
    "/api/trading/trades?limit=20",
    "/api/dashboard",
    "/api/notes?limit=20",
    "/api/auth/me",
)


def _wait_healthy(port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/health")
            if connection.getresponse().status in (200, 503):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the local API did not answer /health")


def _peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _drive(
    port: int, paths: tuple[str, ...], token: str, duration: float, connections: int
) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "loadtest.reads",
        f"http://127.0.0.1:{port}",
        ",".join(paths),
        "--duration",
        str(duration),
        "--connections",
        str(connections),
        "--max-requests",
        str(int(duration * 20_000)),
        "--token",
        token,
    ]
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        timeout=duration + 60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _serve(
    env: BenchEnv,
    runs: list[tuple[str, tuple[str, ...], float]],
    token: str,
    connections: int,
) -> dict[str, Any]:
    server = Helper("bench.serve", log=env.tmp / "serve.log")
    out: dict[str, Any] = {}
    try:
        _wait_healthy(server.port)
        for name, paths, duration in runs:
            say(f"load: {name} for {duration:g} s, {connections} connections")
            out[name] = _drive(server.port, paths, token, duration, connections)
        out["server_peak_rss_mib"] = _peak_rss_mib(server.process.pid)
    finally:
        server.stop()
    return out


def _note(result: dict[str, Any], connections: int) -> str:
    latency = result["latency"]
    return (
        f"p50 {latency['p50_ms']:.1f} p99 {latency['p99_ms']:.1f} ms; {result['errors']} errors; "
        f"{connections} connections"
    )


def run(
    results: Results, env: BenchEnv, token: str, duration: float, connections: int
) -> dict[str, Any]:
    """The API as `make dev` serves it, under GET /api/market/prices and then a read mix."""
    env.activate("warm")
    mix_duration = max(3.0, duration * 2 / 3)
    plan = [("prices", ("/api/market/prices",), duration), ("read_mix", READ_MIX, mix_duration)]
    measured = _serve(env, plan, token, connections)
    result = measured["prices"]
    results.add(
        Figure(
            "load",
            "GET /api/market/prices, make dev",
            result["rps"],
            "req/s",
            target=f">= {PRICES_RPS_TARGET} req/s, 0 errors",
            met=result["rps"] >= PRICES_RPS_TARGET and result["errors"] == 0,
            n=result["requests"],
            note=_note(result, connections),
        )
    )
    mix = measured["read_mix"]
    results.add(
        Figure(
            "load",
            "read mix (7 GETs), make dev",
            mix["rps"],
            "req/s",
            target="0 errors",
            met=mix["errors"] == 0,
            n=mix["requests"],
            note=_note(mix, connections),
        )
    )
    return {
        **measured,
        "server": "uvicorn (httptools, uvloop), build_local_app(), one process, access log off",
        "read_mix": READ_MIX,
    }
