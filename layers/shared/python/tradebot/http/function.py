"""`RouteFunction`: what a route Lambda's handler.py uses to hold exactly its own route."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI

from tradebot.http.app import create_app
from tradebot.http.deps import rate_limiter
from tradebot.http.routes import Route, route_named
from tradebot.observability import LambdaHandler, observed

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


def _documented_failures(route: Route) -> dict[int | str, dict[str, Any]]:
    failures: dict[int | str, dict[str, Any]] = {
        422: {"description": "Invalid input", **_PROBLEM},
        429: {"description": "Too many requests", **_PROBLEM},
    }
    if route.auth:
        failures[401] = {"description": "Missing, expired or invalid token", **_PROBLEM}
    if "{" in route.path:
        failures[404] = {"description": "Not found", **_PROBLEM}
    return failures


class RouteFunction:
    """Declares the one endpoint of `functions/<name>` from the route table.

    Usage in a handler module::

        route = RouteFunction("notes_get")

        @route
        def get_note(...): ...

        handler = route.handler
    """

    def __init__(self, function: str) -> None:
        self.route = route_named(function)
        self.router = APIRouter()

    def __call__(self, endpoint: Endpoint) -> Endpoint:
        """Register `endpoint` as this function's route, as the table declares it."""
        route = self.route
        self.router.add_api_route(
            route.path,
            endpoint,
            methods=[route.method],
            status_code=route.status_code,
            summary=route.summary,
            operation_id=route.function,
            tags=[route.tag],
            dependencies=[Depends(rate_limiter(route))],
            responses=_documented_failures(route),
        )
        return endpoint

    @cached_property
    def app(self) -> FastAPI:
        """An app serving only this route."""
        return create_app([self.router])

    @cached_property
    def handler(self) -> LambdaHandler:
        """The Lambda entry point: Mangum around the app, with logging and metrics."""
        from aws_lambda_powertools.logging import correlation_paths
        from mangum import Mangum

        # Mangum base64-encodes every type it does not know as text, and API Gateway passes
        # that through undecoded (no binary media types): problem+json must be listed as text.
        text_types = ["text/", "application/json", "application/problem+json"]
        return observed(
            Mangum(self.app, lifespan="off", text_mime_types=text_types),
            correlation_id_path=correlation_paths.API_GATEWAY_REST,
        )
