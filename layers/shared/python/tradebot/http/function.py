"""`RouteFunction`: what a route Lambda's handler.py uses to hold exactly its own route."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI

from tradebot.http.app import create_app
from tradebot.http.deps import rate_limiter
from tradebot.http.inline import one_request_at_a_time
from tradebot.http.problems import PROBLEM_JSON, PROBLEM_REF
from tradebot.http.routes import Route, route_named
from tradebot.observability import LambdaHandler, observed
from tradebot.snapstart import prepare_route

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

# What each documented failure means, for the statuses a route may list in the table.
_FAILURES: dict[int, str] = {
    400: "The stored exchange key was refused by the exchange",
    401: "Missing, expired or invalid token",
    403: "A cross-site request refused",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "Request body too large",
    422: "Invalid input",
    429: "Too many requests",
    502: "The exchange answered with an error",
    503: "A dependency (database, cache, queue or exchange) is unavailable; retry later",
}
_WITH_BODY = ("POST", "PUT", "PATCH")
_WRONG_LOGIN = (
    "Wrong email or password; or, the password being right and two-factor authentication on, "
    "otp is missing, wrong or already used (type urn:tradebot:problem:otp-required)"
)
_STEP_UP_FAILURE = (
    "or, where two-factor authentication is on, X-OTP is missing, wrong or already used "
    "(type urn:tradebot:problem:otp-required)"
)


def _documented_failures(route: Route) -> dict[int | str, dict[str, Any]]:
    statuses = {422, 503, *route.failures}
    if route.calls_exchange:
        statuses.add(502)
    if route.throttle != "exempt":
        statuses.add(429)
    if route.auth:
        statuses.add(401)
    if "{" in route.path:
        statuses.add(404)
    if route.method in _WITH_BODY:
        statuses.add(413)
    failures: dict[int | str, dict[str, Any]] = {}
    for status in sorted(statuses):
        # Without a token to check, the only 401 is login's wrong email or password.
        wrong_login = status == 401 and not route.auth
        description = _WRONG_LOGIN if wrong_login else _FAILURES[status]
        if status == 401 and route.step_up:
            description += f"; {_STEP_UP_FAILURE}"
        failures[status] = {
            "description": description,
            "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
        }
    return failures


class RouteFunction:
    """Declares the one endpoint of `functions/<name>` from the route table.

    Usage in a handler module::

        route = RouteFunction("notes_get")

        @route
        def get_note(...): ...

        handler = route.handler
    """

    def __init__(
        self, function: str, responses: dict[int | str, dict[str, Any]] | None = None
    ) -> None:
        self.route = route_named(function)
        self.router = APIRouter()
        # Documented responses that differ from the derived problem+json ones (health's 503).
        self.responses = {**_documented_failures(self.route), **(responses or {})}

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
            responses=self.responses,
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
        # One request at a time in a Lambda environment: its sync code runs on the loop's thread.
        handler = observed(
            one_request_at_a_time(Mangum(self.app, lifespan="off", text_mime_types=text_types)),
            correlation_id_path=correlation_paths.API_GATEWAY_REST,
        )
        # SnapStart: primed before the snapshot, reconnected after each restore (only run by
        # the runtime, or by hand in the bench and tests: an ordinary cold start skips them).
        prepare_route(self)
        return handler
