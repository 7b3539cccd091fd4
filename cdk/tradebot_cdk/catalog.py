"""Every function the stack deploys, read from the route table, and how each is sized.

Sizing (memory is also CPU on Lambda: 1769 MB is one vCPU):
- Route functions default to 512 MB: enough for FastAPI, pydantic and SQLAlchemy to import in
  well under a second, and their work is I/O (database, Redis) rather than CPU.
- The "auth" throttle class (register, login) gets 1024 MB: Argon2id hashing is CPU-bound, so
  twice the memory halves the time a user waits on login.
- Route timeouts are 10 s (a database connect plus one 5 s statement timeout), 20 s where a route
  calls the exchange (two 5 s attempts and backoff); API Gateway gives up at 29 s anyway.
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
AUTH_MEMORY_MB = 1024
ROUTE_TIMEOUT_S = 10
EXCHANGE_ROUTE_TIMEOUT_S = 20

# Which functions need more than the database and the cache. The route table says which
# routes authenticate and which may wait on the exchange (a 502 among their failures: the
# dashboard, trade create, and storing a key, which Binance checks first); what else a handler
# calls is known only to its code, so it is listed here (and checked against the table by
# tests/infra).
EXCHANGE_ROUTES = frozenset(route.function for route in ROUTES if route.calls_exchange)
QUEUE_SENDERS = frozenset({"trades_create", "trades_cancel", "trades_cancel_all", "price_updater"})
# They open users' exchange keys, whose legacy Fernet rows need the app secret's Fernet keys
# (and locally the master key derived from them).
WORKERS_READING_APP_SECRETS = frozenset({"order_executor", "reconciler", "rotate_keys"})
# Who opens stored exchange keys (kms:Decrypt), every caller of tradebot.accounts.service's
# decrypt/load/usable_credentials: the executor (places, cancels, syncs), the reconciler (looks
# up lost orders, reads fees), trades_create (the live balance check) and dashboard (live
# balances), and the rotation. Not trades_cancel(_all): they only queue a message; not the
# price updater: it reads whether a key was refused, never the key.
KEY_OPENERS = frozenset(
    {"order_executor", "reconciler", "trades_create", "dashboard", "rotate_keys"}
)
# Who seals them (kms:GenerateDataKey): storing a key, and the rotation.
KEY_SEALERS = frozenset({"api_keys_put", "rotate_keys"})


def all_function_names() -> list[str]:
    """Every function folder the stack deploys, routes first."""
    return [route.function for route in ROUTES] + [worker.function for worker in WORKERS]


def reads_app_secrets(name: str) -> bool:
    """Whether `name` reads the JWT or Fernet keys: authenticated and token-issuing routes, and
    the workers that decrypt exchange keys."""
    for route in ROUTES:
        if route.function == name:
            return route.auth or route.throttle == "auth"
    return name in WORKERS_READING_APP_SECRETS


def executor_timeout(config: DeployConfig) -> Duration:
    """The order executor's timeout: enough for its whole batch to retry every order."""
    return Duration.seconds(15 + EXECUTOR_SECONDS_PER_MESSAGE * config.executor_batch_size)


def route_spec(route: Route, config: DeployConfig) -> FunctionSpec:
    """How the function serving `route` is sized."""
    default = AUTH_MEMORY_MB if route.throttle == "auth" else config.route_memory_mb
    timeout = EXCHANGE_ROUTE_TIMEOUT_S if route.function in EXCHANGE_ROUTES else ROUTE_TIMEOUT_S
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
        memory_mb=config.memory_mb.get(worker.function, 512),
        timeout=timeouts[worker.trigger],
        reserved_concurrency=reserved,
    )


def unknown_names(names: frozenset[str] | set[str]) -> set[str]:
    """Names that are not functions of the route table or the workers."""
    return set(names) - set(all_function_names())


def check_catalog(config: DeployConfig) -> None:
    """Refuse to synthesize with a name that matches no function (a typo, a removed route)."""
    for label, names in (
        ("memoryMb", set(config.memory_mb)),
        ("EXCHANGE_ROUTES", set(EXCHANGE_ROUTES)),
        ("QUEUE_SENDERS", set(QUEUE_SENDERS)),
        ("WORKERS_READING_APP_SECRETS", set(WORKERS_READING_APP_SECRETS)),
        ("KEY_OPENERS", set(KEY_OPENERS)),
        ("KEY_SEALERS", set(KEY_SEALERS)),
    ):
        unknown = unknown_names(names)
        if unknown:
            raise ValueError(f"{label} names unknown functions: {sorted(unknown)}")
