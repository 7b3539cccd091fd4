"""One FastAPI app with every route of the table: the local server and the OpenAPI source."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.routing import compile_path
from starlette.types import Scope
from tradebot.http.app import create_app
from tradebot.http.inline import InlineSync
from tradebot.http.routes import ROUTES

from devstack.functions import route_routers


def build_local_app() -> FastAPI:
    """Every route, the same code as each Lambda, with Swagger UI at /docs.

    Routes that wait only on the database and the cache run their sync code on the loop's
    thread, as in Lambda: a thread-pool hop costs more than their queries (the read mix's
    throughput doubles). Routes that may wait on the exchange keep the worker threads, so a slow
    exchange never stalls the other requests.
    """
    app = create_app(route_routers(), docs=True)
    app.add_middleware(InlineSync, keep_threads=_waits_on_exchange)
    return app


_EXCHANGE_ROUTES = [
    (route.method, compile_path(route.path)[0]) for route in ROUTES if route.calls_exchange
]


def _waits_on_exchange(scope: Scope) -> bool:
    path: str = scope["path"]
    return any(
        scope["method"] == method and pattern.fullmatch(path) is not None
        for method, pattern in _EXCHANGE_ROUTES
    )
