"""One route table, many consumers: folders, events, apps and openapi.json all agree with it."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest
from tradebot.http.function import RouteFunction
from tradebot.http.routes import ROUTES, WORKERS, Route, Worker

from devstack import events, openapi
from devstack.functions import ROOT, declared_names, function_names, load_function
from devstack.lambda_events import EVENTS, api_event
from tests.support import invoke

OPENAPI_JSON = ROOT / "openapi.json"


def test_every_function_folder_is_declared_and_every_declaration_has_a_folder() -> None:
    on_disk, declared = set(function_names()), set(declared_names())

    assert on_disk - declared == set(), "folders missing from ROUTES/WORKERS"
    assert declared - on_disk == set(), "ROUTES/WORKERS name functions with no folder"


def test_function_names_are_unique_and_each_method_and_path_is_served_once() -> None:
    names = Counter(declared_names())
    endpoints = Counter((r.method, r.path) for r in ROUTES)

    assert [n for n, count in names.items() if count > 1] == []
    assert [e for e, count in endpoints.items() if count > 1] == []


@pytest.mark.parametrize("function", declared_names())
def test_every_function_has_a_sample_event(function: str) -> None:
    assert (EVENTS / f"{function}.json").is_file(), f"add events/{function}.json"


@pytest.mark.parametrize("route", ROUTES, ids=[r.function for r in ROUTES])
def test_each_route_app_serves_exactly_its_table_route(route: Route) -> None:
    module = load_function(route.function)
    assert isinstance(module.route, RouteFunction)
    assert module.route.route == route

    paths = module.route.app.openapi()["paths"]

    assert list(paths) == [route.path]
    assert list(paths[route.path]) == [route.method.lower()]
    operation = paths[route.path][route.method.lower()]
    assert operation["operationId"] == route.function
    assert str(route.status_code) in operation["responses"]


def _example_path(route: Route) -> str:
    return re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", route.path)


@pytest.mark.parametrize("route", ROUTES, ids=[r.function for r in ROUTES])
def test_each_route_app_routes_its_method_and_path_and_nothing_else(route: Route) -> None:
    path = _example_path(route)
    other_method = "PUT" if route.method != "PUT" else "POST"

    served = invoke(route.function, api_event(route.method, path, resource=route.path))
    refused = invoke(route.function, api_event(other_method, path, resource=route.path))
    elsewhere = invoke(route.function, api_event(route.method, "/not-this-route"))

    # A routing miss is a bare "about:blank" 404/405; a route's own 404 has its own type.
    assert not _routing_miss(served), served["body"]
    assert refused["statusCode"] == 405
    assert elsewhere["statusCode"] == 404
    assert _routing_miss(elsewhere)


def _routing_miss(response: dict[str, Any]) -> bool:
    body = json.loads(response["body"] or "{}")
    return response["statusCode"] in (404, 405) and body.get("type") == "about:blank"


@pytest.mark.parametrize("worker", WORKERS, ids=[w.function for w in WORKERS])
def test_a_worker_is_not_an_http_route(worker: Worker) -> None:
    module = load_function(worker.function)

    assert callable(module.handler)
    assert not isinstance(getattr(module, "route", None), RouteFunction)


def test_openapi_json_is_current() -> None:
    committed = OPENAPI_JSON.read_text() if OPENAPI_JSON.is_file() else ""

    assert committed == openapi.render(), "openapi.json is stale: run `make openapi`"


def test_sample_events_are_current() -> None:
    rendered = events.render_all()
    committed = {path.name: path.read_text() for path in EVENTS.glob("*.json")}

    assert committed == rendered, "events/ is stale: run `make events`"


def test_a_route_without_a_sample_gets_a_body_from_its_model_examples() -> None:
    route = Route("auth_register", "POST", "/api/auth/register", "Create an account", auth=False)
    document = openapi.openapi_document()

    body = events._example_body(route, document)

    assert body is not None
    assert set(body) == {"email", "password"}


def test_the_openapi_document_lists_every_route_once() -> None:
    paths = openapi.openapi_document()["paths"]

    documented = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    operation_ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert documented == {(r.method, r.path) for r in ROUTES}
    assert sorted(operation_ids) == sorted(r.function for r in ROUTES)


def test_handlers_stay_thin() -> None:
    # A handler holds its route and `handler = ...`; rules and SQL live in the layer.
    for name in function_names():
        source = (ROOT / "functions" / name / "handler.py").read_text()
        assert "select(" not in source, f"functions/{name} builds SQL"
        assert len(source.splitlines()) < 80, f"functions/{name}/handler.py is not thin"
