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

import random
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
    the bench, with the forking parent), so it is only let go of."""
    from tradebot.cache.client import reset_redis
    from tradebot.crypto.envelope import reset_envelope
    from tradebot.db.engine import forget_connections as forget_database
    from tradebot.exchange import factory, weight
    from tradebot.orders.queue import reset_queue_client

    forget_database()
    reset_redis()
    reset_queue_client()
    reset_envelope()
    factory.binance_clients.cache_clear()
    weight.request_budget.cache_clear()
    _clear_parameter_caches()


def _clear_parameter_caches() -> None:
    """Powertools' cached secrets (and their boto3 clients), if that module was ever loaded."""
    import sys

    parameters = sys.modules.get("aws_lambda_powertools.utilities.parameters")
    if parameters is not None:
        parameters.clear_caches()


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
    if settings.redis_url:
        import redis  # noqa: F401 - imported by the first Redis call otherwise
    if settings.secrets_name:
        # The first authenticated request reads the app secret through Powertools and boto3.
        import aws_lambda_powertools.utilities.parameters  # noqa: F401
    function.handler(_priming_event(function), _PrimingContext(function.route.function))


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
    forget connections and reseed `random`."""
    on_before_snapshot(lambda: prime_route(function))
    on_after_restore(forget_connections)
    on_after_restore(reseed_random)


_register_with_runtime()
