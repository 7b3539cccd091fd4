"""A fixed set of GETs at full speed: `python -m loadtest.reads URL PATHS [--token ...]`.

Threads, each with one kept-alive connection (loadtest.client), send GETs round-robin over PATHS
(comma-separated) until the duration or the request cap is reached, whichever comes first; the
first `--warmup` seconds are not counted. Prints one JSON object: requests, errors, statuses,
req/s and latency percentiles. The bench's load section measures the local stack with it; the
chaos suite's mixed workload (loadtest.workload) uses the same client.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter
from typing import Any

from loadtest.client import TIMEOUT_S, Connection, loopback_only, percentile


class Reader(threading.Thread):
    """One connection's GETs between `count_from` and `stop_at` (time.perf_counter())."""

    def __init__(
        self,
        connection: Connection,
        paths: list[str],
        token: str,
        window: tuple[float, float, float],
        cap: int,
        offset: int,
    ) -> None:
        super().__init__(daemon=True)
        self.connection, self.paths, self.token = connection, paths, token
        self.start_at, self.count_from, self.stop_at = window
        self.cap, self.offset = cap, offset
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()

    def run(self) -> None:
        clock = time.perf_counter
        while clock() < self.start_at:
            time.sleep(0.001)
        i = self.offset
        while len(self.latencies) < self.cap and clock() < self.stop_at:
            path = self.paths[i % len(self.paths)]
            i += 1
            start = clock()
            status = self.connection.request("GET", path, self.token, decode=False).status
            if start >= self.count_from:
                self.latencies.append(clock() - start)
                self.statuses[status] += 1
        self.connection.close()


def run_reads(
    url: str,
    paths: list[str],
    *,
    token: str = "",
    duration_s: float = 15.0,
    warmup_s: float = 1.0,
    connections: int = 8,
    max_requests: int = 500_000,
) -> dict[str, Any]:
    """GET `paths` round-robin over `connections` connections; the figures."""
    host, port = loopback_only(url)
    begin = time.perf_counter() + 0.2
    window = (begin, begin + warmup_s, begin + warmup_s + duration_s)
    cap = max(1, max_requests // connections)
    readers = [
        Reader(Connection(host, port), paths, token, window, cap, i) for i in range(connections)
    ]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(duration_s + warmup_s + TIMEOUT_S)
    seconds = min(time.perf_counter(), window[2]) - window[1]
    ms = [x * 1000 for r in readers for x in r.latencies]
    statuses: Counter[int] = Counter()
    for reader in readers:
        statuses.update(reader.statuses)
    return {
        "requests": len(ms),
        "errors": sum(n for status, n in statuses.items() if status == 0 or status >= 400),
        "statuses": dict(sorted(statuses.items())),
        "seconds": seconds,
        "rps": len(ms) / max(1e-9, seconds),
        "connections": connections,
        "paths": paths,
        "latency": {f"p{p}_ms": percentile(ms, p) for p in (50, 95, 99)} | {"n": len(ms)},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtest.reads", description=__doc__)
    parser.add_argument("url", help="base URL of the API, loopback only")
    parser.add_argument("paths", help="comma-separated paths, sent round-robin")
    parser.add_argument("--token", default="")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=500_000)
    args = parser.parse_args(argv)
    figures = run_reads(
        args.url,
        args.paths.split(","),
        token=args.token,
        duration_s=args.duration,
        warmup_s=args.warmup,
        connections=args.connections,
        max_requests=args.max_requests,
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
