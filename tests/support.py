"""Helpers for invoking handlers through Mangum exactly as API Gateway would."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tradebot.http.routes import route_named

from devstack.functions import load_function
from devstack.lambda_events import FakeLambdaContext, api_event


@dataclass
class Reply:
    """A handler's API Gateway proxy response, decoded."""

    status: int
    headers: dict[str, str]
    raw_body: str

    @property
    def body(self) -> Any:
        return json.loads(self.raw_body) if self.raw_body else None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def invoke(function: str, event: dict[str, Any]) -> Any:
    """Call `functions/<function>`'s handler with `event` and a fake context."""
    return load_function(function).handler(event, FakeLambdaContext(function_name=function))


def call(
    function: str,
    *,
    token: str | None = None,
    body: Any = None,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    source_ip: str = "127.0.0.1",
) -> Reply:
    """Invoke the route function through its Mangum handler with a REST proxy event."""
    route = route_named(function)
    path = route.path
    for name, value in (path_params or {}).items():
        path = path.replace("{" + name + "}", value)
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    event = api_event(
        route.method,
        path,
        resource=route.path,
        body=body,
        headers=all_headers,
        query=query,
        path_parameters=path_params,
        source_ip=source_ip,
    )
    response = invoke(function, event)
    headers_out = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for k, values in (response.get("multiValueHeaders") or {}).items():
        headers_out.setdefault(k.lower(), ",".join(values))
    return Reply(response["statusCode"], headers_out, response.get("body") or "")


def register_and_login(email: str = "trader@example.com") -> tuple[str, str]:
    """Create a user through the API; returns (user id, access token)."""
    password = "correct horse battery staple"
    created = call("auth_register", body={"email": email, "password": password})
    assert created.status == 201, created.raw_body
    login = call("auth_login", body={"email": email, "password": password})
    assert login.status == 200, login.raw_body
    return created.body["id"], login.body["access_token"]
