"""A bounded HTTP load generator for loopback: `python -m bench.load URL PATHS ...`.

Threads with kept-alive `http.client` connections send GETs round-robin over PATHS until the
duration or the request cap is reached, whichever comes first; the first `--warmup` seconds are
not counted. Prints one JSON object: requests, errors, statuses, req/s and latency percentiles.
Refuses any host that is not loopback.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import socket
import threading
import time
from urllib.parse import urlsplit

from bench.stats import Summary


def _loopback_only(host: str) -> None:
    address = ipaddress.ip_address(socket.gethostbyname(host))
    if not address.is_loopback:
        raise SystemExit(f"refusing to load {host}: loopback only")


class Worker(threading.Thread):
    def __init__(
        self,
        host: str,
        port: int,
        paths: list[str],
        headers: dict[str, str],
        start_at: float,
        count_from: float,
        stop_at: float,
        cap: int,
        offset: int,
    ) -> None:
        super().__init__(daemon=True)
        self.host, self.port, self.paths, self.headers = host, port, paths, headers
        self.start_at, self.count_from, self.stop_at, self.cap = start_at, count_from, stop_at, cap
        self.offset = offset
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.errors = 0
        self.sent = 0

    def run(self) -> None:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        clock = time.perf_counter
        while clock() < self.start_at:
            time.sleep(0.001)
        i = self.offset
        while self.sent < self.cap:
            now = clock()
            if now >= self.stop_at:
                break
            path = self.paths[i % len(self.paths)]
            i += 1
            start = clock()
            try:
                connection.request("GET", path, headers=self.headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
                status = 0
            elapsed = clock() - start
            if start >= self.count_from:
                self.sent += 1
                self.latencies.append(elapsed)
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status == 0 or status >= 400:
                    self.errors += 1
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("paths", help="comma-separated paths, sent round-robin")
    parser.add_argument("--token", default="")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=500_000)
    args = parser.parse_args()
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    _loopback_only(host)
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    begin = time.perf_counter() + 0.2
    count_from = begin + args.warmup
    stop_at = count_from + args.duration
    cap = max(1, args.max_requests // args.connections)
    paths = args.paths.split(",")
    workers = [
        Worker(host, port, paths, headers, begin, count_from, stop_at, cap, i)
        for i in range(args.connections)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(args.duration + args.warmup + 30)
    ended = min(time.perf_counter(), stop_at)
    latencies = [x for w in workers for x in w.latencies]
    statuses: dict[int, int] = {}
    for w in workers:
        for status, n in w.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    summary = Summary.of(latencies)
    print(
        json.dumps(
            {
                "requests": len(latencies),
                "errors": sum(w.errors for w in workers),
                "statuses": statuses,
                "seconds": ended - count_from,
                "rps": len(latencies) / max(1e-9, ended - count_from),
                "connections": args.connections,
                "paths": paths,
                "latency": summary.__dict__,
            }
        )
    )


if __name__ == "__main__":
    main()
