"""Lambda SnapStart runtime hooks: prime before the snapshot, forget the outside world after it.

With SnapStart, Lambda runs a version's init once, snapshots the memory, and starts every new
execution environment from that snapshot. So init should do what the first request would
otherwise pay for (build the app, import what is imported lazily, configure the ORM, answer one
request that fails before any I/O) and must not keep anything that cannot be shared between
restored environments: sockets (database, Redis, AWS, Binance), cached secrets and data keys,
random state. Nothing unique (ids, nonces, tokens) is created before the snapshot.

The managed runtime ships `snapshot_restore_py`; where it is missing (tests, the local stack,
the bench) the hooks are only kept here, and `before_snapshot()` / `after_restore()` run them
the way the runtime would: before-snapshot hooks in reverse order of registration, after-restore
hooks in order.
"""

from __future__ import annotations

import importlib
import random
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tradebot.http.function import RouteFunction

Hook = Callable[[], None]

_before: list[Hook] = []
_after: list[Hook] = []


def _register_with_runtime() -> None:
    """Hand our two runners to the runtime's library once, when it is there."""
    try:
        from snapshot_restore_py import (  # type: ignore[import-not-found]
            register_after_restore,
            register_before_snapshot,
        )
    except ImportError:  # not in a SnapStart runtime: the hooks are run by hand or never
        return
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)


def before_snapshot() -> None:
    """Run the before-snapshot hooks, last registered first (as the runtime does)."""
    for hook in reversed(_before):
        hook()


def after_restore() -> None:
    """Run the after-restore hooks, in the order they were registered (as the runtime does)."""
    for hook in _after:
        hook()


def on_before_snapshot(hook: Hook) -> Hook:
    """Register `hook` to run before the snapshot (once per hook)."""
    if hook not in _before:
        _before.append(hook)
    return hook


def on_after_restore(hook: Hook) -> Hook:
    """Register `hook` to run after a restore (once per hook)."""
    if hook not in _after:
        _after.append(hook)
    return hook


def forget_connections() -> None:
    """Drop every client that holds a socket or a credential, so each restored environment
    opens its own: the database pool (the engine and its compiled statements stay), Redis,
    boto3 clients, Binance sessions, cached secrets and data keys. Nothing is closed over the
    wire: a socket from before the snapshot is shared with every other restored copy (or, in
    the bench, with the forking parent), so it is only let go of. A module never imported has
    nothing to forget, and is not imported here (a restore would pay for it)."""
    loaded: Callable[[str], Any] = sys.modules.get
    if module := loaded("tradebot.db.engine"):
        module.forget_connections()
    if module := loaded("tradebot.cache.client"):
        module.reset_redis()
    if module := loaded("tradebot.orders.queue"):
        module.reset_queue_client()
    if module := loaded("tradebot.crypto.envelope"):
        module.reset_envelope()
    if module := loaded("tradebot.exchange.factory"):
        module.binance_clients.cache_clear()
    if module := loaded("tradebot.exchange.weight"):
        module.request_budget.cache_clear()
    if module := loaded("aws_lambda_powertools.utilities.parameters"):
        module.clear_caches()  # cached secrets, and Powertools' own boto3 clients


def mark_cold_start() -> None:
    """The priming request used up Powertools' cold-start flag: a restored copy's first request
    is the one the logs should call cold."""
    module: Any = sys.modules.get("aws_lambda_powertools.logging.logger")
    if module is not None:
        module.is_cold_start = True


def reseed_random() -> None:
    """Every restored copy starts from the same `random` state: reseed it from the OS."""
    random.seed()


def prime_route(function: RouteFunction) -> None:
    """What the first request of `function` would pay for, done without any I/O."""
    from sqlalchemy.orm import configure_mappers

    import tradebot.db.models  # noqa: F401 - the mapped classes configure_mappers needs
    from tradebot.db.engine import get_engine
    from tradebot.settings import get_settings

    settings = get_settings()  # validated once, here rather than on the first request
    get_engine()  # the dialect and its driver imported; the pool connects lazily, not now
    configure_mappers()
    for module in _lazy_modules(function, settings.redis_url != ""):
        importlib.import_module(module)
    if settings.secrets_name:
        # The first authenticated request reads the app secret through Powertools and boto3.
        import aws_lambda_powertools.utilities.parameters  # noqa: F401
    # The AWS clients this function's settings say it will make (the factories stay empty).
    services = [
        service
        for service, used in (
            ("sqs", settings.order_queue_url),
            ("kms", settings.kms_key_id),
            ("rds", settings.database_auth == "iam"),
        )
        if used
    ]
    if services:
        _prime_boto3(services)
    function.handler(_priming_event(function), _PrimingContext(function.route.function))


def _lazy_modules(function: RouteFunction, real_redis: bool) -> list[str]:
    """Modules the layer imports on a request path rather than at import time (to keep an
    ordinary cold start short), which a snapshot may as well hold."""
    modules = [
        # The upserts (limits, the login failure ledger) pick their dialect's insert per call.
        "sqlalchemy.dialects.postgresql",
        "sqlalchemy.dialects.sqlite",
        # The rate limit's Lua script, on every route but health.
        "redis.commands.core",
    ]
    if real_redis:
        modules.append("redis")
    if function.route.calls_exchange:
        # Live balances and orders: python-binance, otherwise loaded by a live user's request.
        modules += ["tradebot.portfolio.live", "tradebot.exchange.binance"]
    return modules


def _prime_boto3(services: list[str]) -> None:
    """Load what creating these boto3 clients reads from disk (~90 ms for SQS): botocore's
    service list, models and endpoint rules, cached by the default session's loader.

    The clients are made with placeholder keys and thrown away: the default session never
    resolves credentials before the snapshot (a restored copy resolves its own), and the
    region is any region, since no endpoint is called.
    """
    import boto3

    placeholder = "snapshot-priming"  # never sent: no endpoint is called
    for service in services:
        boto3.client(
            service,  # type: ignore[call-overload]
            region_name="us-east-1",
            aws_access_key_id=placeholder,
            aws_secret_access_key=placeholder,
        )


def _priming_event(function: RouteFunction) -> dict[str, Any]:
    """A request the app refuses before any I/O: without a token on an authenticated route
    (401), with a method the path does not serve elsewhere (405)."""
    route = function.route
    path = route.path.replace("{", "").replace("}", "")  # `/api/notes/{id}` -> `/api/notes/id`
    method = route.method if route.auth else "TRACE"
    headers = {"Host": "localhost", "Accept": "application/json"}
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": method,
            "path": path,
            "stage": "snapshot",
            "requestId": "snapstart-priming",
            "accountId": "000000000000",
            "apiId": "snapshot",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "snapstart-priming"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


class _PrimingContext:
    """What Powertools and Mangum read from a Lambda context, for the priming request."""

    memory_limit_in_mb = 0
    aws_request_id = "snapstart-priming"

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.invoked_function_arn = f"arn:aws:lambda:::function:{name}"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def prepare_route(function: RouteFunction) -> None:
    """Register the hooks of a route function: prime it before the snapshot; after a restore,
    forget connections, reseed `random` and count the next request as the cold start."""
    on_before_snapshot(lambda: prime_route(function))
    on_after_restore(forget_connections)
    on_after_restore(reseed_random)
    on_after_restore(mark_cold_start)


_register_with_runtime()
