"""Every function the stack deploys, read from the route table, and how each is sized.

Sizing (memory is also CPU on Lambda: 1769 MB is one vCPU):
- Route functions default to 512 MB: enough for FastAPI, pydantic and SQLAlchemy to import in
  well under a second, and their work is I/O (database, Redis) rather than CPU.
- Routes that hash passwords get 1024 MB (`memory_mb` on their route-table entry): Argon2id is
  CPU-bound, so twice the memory halves the time a user waits on login.
- Route timeouts are 10 s (a database connect plus one 5 s statement timeout), 20 s where a route
  calls the exchange (`calls_exchange`: two 5 s attempts and backoff); API Gateway gives up at
  29 s anyway.
- The executor gets 45 s per message of its batch plus 15 s: one order is at most three 5 s
  placement attempts, each possibly followed by a 5 s status check, plus backoff.
- The scheduled workers (price updater, reconciler) must finish inside their one-minute
  schedule: 50 s, one run at a time (reserved concurrency).
- Migrations get 5 minutes: a deploy waits for them, and Alembic DDL on a small database is
  seconds, but an index build on a grown table is not.
- Route functions run SnapStart (a user waits on their cold start); the workers do not: no one
  waits on an HTTP answer from them, and they rarely start cold. The price updater runs every
  minute one at a time, so its one environment stays warm; the executor's are kept warm by the
  order flow and capped by `executorMaxConcurrency`, and a cold start there delays a fill by
  about the import time (~0.5 s) in a path whose exchange round trips take as long. SnapStart
  would add a snapshot cache per function (~$2/month each at 512 MB) and a restore charge per
  cold start, and an alias for the event source and the schedule to point at, for no latency a
  trader sees.
Memory can be overridden per function with the `memoryMb` context.

What else a function needs (the order queue, the exchange keys' KMS key, the app secret) is
declared on its route-table entry (tradebot.http.routes.Needs); the stack grants it from there.
"""

from __future__ import annotations

from aws_cdk import Duration
from tradebot.http.routes import ROUTES, WORKERS, Route, Worker

from tradebot_cdk.config import DeployConfig
from tradebot_cdk.functions import FunctionSpec

# The order queue's maxReceiveCount, and what the executor is told (ORDER_MAX_RECEIVES): on the
# last receive it marks the trade FAILED before the message moves to the dead-letter queue.
MAX_RECEIVES = 5
EXECUTOR_SECONDS_PER_MESSAGE = 45
ROUTE_TIMEOUT_S = 10
EXCHANGE_ROUTE_TIMEOUT_S = 20

WORKER_MEMORY_MB = 512


def all_function_names() -> list[str]:
    """Every function folder the stack deploys, routes first."""
    return [route.function for route in ROUTES] + [worker.function for worker in WORKERS]


def needs_of(name: str) -> Route | Worker:
    """The table entry of function `name`: what it needs besides the database and the cache."""
    entries: tuple[Route | Worker, ...] = (*ROUTES, *WORKERS)
    for entry in entries:
        if entry.function == name:
            return entry
    raise KeyError(f"no route or worker is served by function {name!r}")


def executor_timeout(config: DeployConfig) -> Duration:
    """The order executor's timeout: enough for its whole batch to retry every order."""
    return Duration.seconds(15 + EXECUTOR_SECONDS_PER_MESSAGE * config.executor_batch_size)


def route_spec(route: Route, config: DeployConfig) -> FunctionSpec:
    """How the function serving `route` is sized."""
    default = route.memory_mb or config.route_memory_mb
    timeout = EXCHANGE_ROUTE_TIMEOUT_S if route.calls_exchange else ROUTE_TIMEOUT_S
    return FunctionSpec(
        name=route.function,
        description=f"{route.method} {route.path}: {route.summary}"[:256],
        memory_mb=config.memory_mb.get(route.function, default),
        timeout=Duration.seconds(timeout),
        snap_start=config.snap_start,
    )


def worker_spec(worker: Worker, config: DeployConfig) -> FunctionSpec:
    """How a worker is sized."""
    timeouts = {
        "sqs": executor_timeout(config),
        "schedule": Duration.seconds(50),
        "deploy": Duration.minutes(5),
        "invoke": Duration.minutes(5),
    }
    reserved: int | None = None
    if worker.trigger == "schedule" and config.price_updater_reserved_concurrency:
        reserved = config.price_updater_reserved_concurrency
    return FunctionSpec(
        name=worker.function,
        description=worker.summary[:256],
        memory_mb=config.memory_mb.get(worker.function, worker.memory_mb or WORKER_MEMORY_MB),
        timeout=timeouts[worker.trigger],
        reserved_concurrency=reserved,
    )


def unknown_names(names: frozenset[str] | set[str]) -> set[str]:
    """Names that are not functions of the route table or the workers."""
    return set(names) - set(all_function_names())


def check_catalog(config: DeployConfig) -> None:
    """Refuse to synthesize with a name that matches no function (a typo, a removed route)."""
    unknown = unknown_names(set(config.memory_mb))
    if unknown:
        raise ValueError(f"memoryMb names unknown functions: {sorted(unknown)}")
