"""Bad input on every route of the table: refused as problem+json naming the field, never 500.

The cases are derived from the route table and each route's own OpenAPI description, so a route
added to the table is covered without touching this file.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from tradebot.http.routes import ROUTES, Route

from devstack.functions import load_function
from tests.support import (
    Reply,
    assert_problem,
    call,
    error_fields,
    user_with_token,
)

WRONG_TYPE: dict[str, Any] = {"nested": ["not", "a", "scalar"]}
UNKNOWN_FIELD = "unexpected_field"


@cache
def _api_route(route: Route) -> APIRoute:
    routes = load_function(route.function).route.router.routes
    return next(r for r in routes if isinstance(r, APIRoute))


@cache
def _spec(route: Route) -> dict[str, Any]:
    document = get_openapi(title="spec", version="0", routes=[_api_route(route)])
    operation: dict[str, Any] = document["paths"][route.path][route.method.lower()]
    operation["components"] = document.get("components", {})
    return operation


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        return _resolve(components["schemas"][ref.rsplit("/", 1)[-1]], components)
    if "oneOf" in schema and "discriminator" in schema:
        return _merged([_resolve(s, components) for s in schema["oneOf"]])
    return schema


def _merged(variants: list[dict[str, Any]]) -> dict[str, Any]:
    """A union discriminated by a field (an order's `type`) as the one object the route
    validates: every variant's fields, required where every variant requires them."""
    properties: dict[str, Any] = {}
    for variant in variants:
        properties.update(variant.get("properties", {}))
    required = set.intersection(*(set(v.get("required", [])) for v in variants))
    closed = all(v.get("additionalProperties") is False for v in variants)
    merged: dict[str, Any] = {"type": "object", "properties": properties}
    merged["required"] = [name for name in properties if name in required]
    if closed:
        merged["additionalProperties"] = False
    return merged


def _body_schema(route: Route) -> dict[str, Any] | None:
    spec = _spec(route)
    body = spec.get("requestBody")
    if body is None:
        return None
    return _resolve(body["content"]["application/json"]["schema"], spec["components"])


def _variants(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null alternatives of an `anyOf` (an optional field), or the schema itself."""
    return [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]


def _path_params(route: Route) -> dict[str, str]:
    names = [p["name"] for p in _spec(route).get("parameters", []) if p["in"] == "path"]
    return {name: str(uuid.uuid4()) for name in names}


BODY_ROUTES = [r for r in ROUTES if _body_schema(r) is not None]
REQUIRED_BODY_ROUTES = [r for r in BODY_ROUTES if (_body_schema(r) or {}).get("required")]


@dataclass(frozen=True)
class Oversized:
    """One input one step past its documented limit, and the field the 422 must name."""

    route: Route
    where: str  # "body", "query", "path" or "header"
    name: str
    value: Any
    field: str

    def __str__(self) -> str:
        return f"{self.route.function}-{self.where}-{self.field}"


def _too_big(route: Route, where: str, name: str, schema: dict[str, Any]) -> list[Oversized]:
    cases = []
    for variant in _variants(schema):
        if "maxLength" in variant:
            value = "a" * (variant["maxLength"] + 1)
            cases.append(Oversized(route, where, name, value, name))
        if "maximum" in variant:
            value = variant["maximum"] + 1
            cases.append(
                Oversized(route, where, name, value if where == "body" else str(value), name)
            )
        if "maxItems" in variant:
            items = [f"i{n}" for n in range(variant["maxItems"] + 1)]
            cases.append(Oversized(route, where, name, items, name))
        item = variant.get("items", {})
        if "maxLength" in item:
            cases.append(
                Oversized(route, where, name, ["a" * (item["maxLength"] + 1)], f"{name}[0]")
            )
    return cases


def _oversized_cases() -> list[Oversized]:
    cases: list[Oversized] = []
    for route in ROUTES:
        for parameter in _spec(route).get("parameters", []):
            cases += _too_big(route, parameter["in"], parameter["name"], parameter["schema"])
        body = _body_schema(route)
        for name, schema in (body or {}).get("properties", {}).items():
            cases += _too_big(route, "body", name, schema)
    return cases


OVERSIZED = _oversized_cases()


def _ids(routes: list[Route]) -> list[str]:
    return [r.function for r in routes]


@pytest.fixture
def token() -> str:
    return user_with_token("bad-input@example.com")[1]


def _send(route: Route, token: str, **kwargs: Any) -> Reply:
    kwargs.setdefault("path_params", _path_params(route))
    return call(route.function, token=token if route.auth else None, **kwargs)


def test_the_cases_cover_the_table() -> None:
    # Guards the derivation itself: if it found nothing, every test below would pass vacuously.
    assert {r.function for r in BODY_ROUTES} >= {"auth_register", "notes_create", "notes_update"}
    assert {str(c) for c in OVERSIZED} >= {
        "notes_create-body-title",
        "notes_create-body-tags[0]",
        "notes_list-query-limit",
        "notes_get-path-note_id",
    }


@pytest.mark.parametrize("route", BODY_ROUTES, ids=_ids(BODY_ROUTES))
def test_malformed_json_is_422_naming_body(route: Route, token: str) -> None:
    reply = _send(route, token, body="{bad", headers={"Content-Type": "application/json"})

    assert_problem(reply, 422)
    assert error_fields(reply) == ["body"]


@pytest.mark.parametrize("route", BODY_ROUTES, ids=_ids(BODY_ROUTES))
@pytest.mark.parametrize("body", ["[]", '"text"', "42", "null"])
def test_a_body_that_is_not_an_object_is_422_naming_body(
    route: Route, token: str, body: str
) -> None:
    reply = _send(route, token, body=body)

    assert_problem(reply, 422)
    assert error_fields(reply) == ["body"]


@pytest.mark.parametrize("route", REQUIRED_BODY_ROUTES, ids=_ids(REQUIRED_BODY_ROUTES))
def test_missing_required_fields_are_each_named(route: Route, token: str) -> None:
    required = (_body_schema(route) or {})["required"]

    reply = _send(route, token, body={})

    assert_problem(reply, 422)
    assert sorted(error_fields(reply)) == sorted(required)
    assert {e["message"] for e in reply.body["errors"]} == {"is required"}


@pytest.mark.parametrize("route", BODY_ROUTES, ids=_ids(BODY_ROUTES))
def test_wrong_types_are_each_named(route: Route, token: str) -> None:
    properties = (_body_schema(route) or {})["properties"]

    reply = _send(route, token, body=dict.fromkeys(properties, WRONG_TYPE))

    assert_problem(reply, 422)
    assert sorted(error_fields(reply)) == sorted(properties)
    assert "nested" not in reply.raw_body  # the input is never echoed


@pytest.mark.parametrize("route", BODY_ROUTES, ids=_ids(BODY_ROUTES))
def test_unknown_fields_are_refused_by_name(route: Route, token: str) -> None:
    assert (_body_schema(route) or {}).get("additionalProperties") is False

    reply = _send(route, token, body={UNKNOWN_FIELD: 1})

    assert_problem(reply, 422)
    assert UNKNOWN_FIELD in error_fields(reply)
    errors = {e["field"]: e["message"] for e in reply.body["errors"]}
    assert errors[UNKNOWN_FIELD] == "is not a known field"


@pytest.mark.parametrize("case", OVERSIZED, ids=str)
def test_input_past_its_limit_is_422_naming_the_field(case: Oversized, token: str) -> None:
    route = case.route
    path_params = _path_params(route)
    query = None
    headers = None
    body = None
    if case.where == "path":
        path_params[case.name] = case.value
    elif case.where == "query":
        query = {case.name: case.value}
    elif case.where == "header":
        headers = {case.name: case.value}
    else:
        assert case.where == "body", f"no way to send a {case.where} parameter"
        body = {case.name: case.value}
    if body is None and _body_schema(route) is not None:
        body = {}

    reply = _send(route, token, path_params=path_params, query=query, headers=headers, body=body)

    assert_problem(reply, 422)
    assert case.field in error_fields(reply)


# Bad tokens: tests/security/test_authorization_matrix.py.


def test_the_public_routes_are_exactly_health_register_login_and_refresh() -> None:
    # Refresh authenticates with the refresh cookie instead (tests/integration/test_sessions.py).
    public = {r.function for r in ROUTES if not r.auth}
    assert public == {"health", "auth_register", "auth_login", "auth_refresh"}
