"""The route table and the workers, as deployed: one function and one method each, nothing else."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from tradebot.http.routes import ROUTES, WORKERS, Route

from tests.infra.conftest import ROOT, Synth

ROUTE_NAMES = [route.function for route in ROUTES]
WORKER_NAMES = [worker.function for worker in WORKERS]
ALL_NAMES = ROUTE_NAMES + WORKER_NAMES


def logical_id(name: str) -> str:
    return "Fn" + "".join(part.capitalize() for part in name.split("_"))


def resource_paths(synth: Synth) -> dict[str, str]:
    """Each API Gateway resource's full path, by logical id."""
    resources = synth.of_type("AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(resource_id: str) -> str:
        if resource_id not in paths:
            properties = resources[resource_id]["Properties"]
            parent = properties["ParentId"]
            prefix = path_of(parent["Ref"]) if "Ref" in parent else ""  # else the root
            paths[resource_id] = f"{prefix}/{properties['PathPart']}"
        return paths[resource_id]

    for resource_id in resources:
        path_of(resource_id)
    return paths


def integrated_target(method: dict[str, Any]) -> str:
    """The logical id a method's Lambda proxy integration calls: a function or an alias."""
    parts = method["Properties"]["Integration"]["Uri"]["Fn::Join"][1]
    (target,) = [
        p.get("Ref") or p["Fn::GetAtt"][0]
        for p in parts
        if isinstance(p, dict)
        and ("Fn::GetAtt" in p or not str(p.get("Ref", "AWS::")).startswith("AWS::"))
    ]
    return str(target)


def integrated_function(synth: Synth, method: dict[str, Any]) -> str:
    """The logical id of the function a method's Lambda proxy integration calls (through its
    alias, if it calls one)."""
    target = integrated_target(method)
    resource = synth.resources[target]
    if resource["Type"] == "AWS::Lambda::Alias":
        return str(resource["Properties"]["FunctionName"]["Ref"])
    return target


def route_methods(synth: Synth) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The non-OPTIONS methods by (path, verb)."""
    paths = resource_paths(synth)
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for method in synth.of_type("AWS::ApiGateway::Method").values():
        verb = method["Properties"]["HttpMethod"]
        if verb == "OPTIONS":
            continue
        path = paths[method["Properties"]["ResourceId"]["Ref"]]
        found.setdefault((path, verb), []).append(method)
    return found


def method_of(synth: Synth, route: Route) -> dict[str, Any]:
    (method,) = route_methods(synth)[(route.path, route.method)]
    return method


def test_every_route_has_exactly_one_method_calling_its_own_function(synth: Synth) -> None:
    methods = route_methods(synth)
    assert set(methods) == {(route.path, route.method) for route in ROUTES}
    for route in ROUTES:
        (method,) = methods[(route.path, route.method)]
        assert method["Properties"]["Integration"]["Type"] == "AWS_PROXY"
        assert integrated_function(synth, method) == logical_id(route.function), route.path


def test_every_route_and_worker_is_exactly_one_function(synth: Synth) -> None:
    functions = synth.of_type("AWS::Lambda::Function")
    handlers = Counter(
        logical
        for logical, f in functions.items()
        if f["Properties"]["Handler"] == "handler.handler"
    )
    assert set(handlers) == {logical_id(name) for name in ALL_NAMES}
    assert all(count == 1 for count in handlers.values())


def test_each_function_ships_only_its_own_folder(synth: Synth) -> None:
    for name in ALL_NAMES:
        function = synth.resources[logical_id(name)]
        asset = synth.outdir / function["Metadata"]["aws:asset:path"]
        shipped = sorted(p.name for p in asset.rglob("*") if p.is_file())
        source = sorted(
            p.name for p in (ROOT / "functions" / name).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        )  # fmt: skip
        assert shipped == source, name
        assert (asset / "handler.py").read_bytes() == (
            ROOT / "functions" / name / "handler.py"
        ).read_bytes()


def test_every_function_has_the_shared_layer_and_the_venv_runtime(synth: Synth) -> None:
    (layer_id,) = [
        logical
        for logical, layer in synth.of_type("AWS::Lambda::LayerVersion").items()
        if "/SharedLayer/" in layer["Metadata"]["aws:cdk:path"]  # not CDK's AWS CLI layer
    ]
    for name in ALL_NAMES:
        properties = synth.resources[logical_id(name)]["Properties"]
        assert properties["Layers"] == [{"Ref": layer_id}], name
        assert properties["Runtime"] == "python3.12", name


def test_every_function_is_traced_logs_json_and_has_its_own_role_and_log_group(
    synth: Synth,
) -> None:
    roles: set[str] = set()
    log_groups = synth.of_type("AWS::Logs::LogGroup")
    for name in ALL_NAMES:
        properties = synth.resources[logical_id(name)]["Properties"]
        assert properties["TracingConfig"] == {"Mode": "Active"}, name
        assert properties["LoggingConfig"]["LogFormat"] == "JSON", name
        log_group = properties["LoggingConfig"]["LogGroup"]["Ref"]
        assert log_groups[log_group]["Properties"]["RetentionInDays"] == 30, name
        roles.add(properties["Role"]["Fn::GetAtt"][0])
        assert properties["VpcConfig"]["SubnetIds"], name
    assert len(roles) == len(ALL_NAMES)


def test_only_deploy_machinery_runs_without_the_layer(synth: Synth) -> None:
    without_layer = {
        logical: f["Metadata"]["aws:cdk:path"]
        for logical, f in synth.of_type("AWS::Lambda::Function").items()
        if "Layers" not in f["Properties"]
    }
    assert len(without_layer) == 3
    assert all(
        "/AppSecrets/" in path or "/MigrationsProvider/" in path for path in without_layer.values()
    )


def test_authenticated_routes_need_an_authorization_header_at_the_gateway(synth: Synth) -> None:
    for route in ROUTES:
        parameters = method_of(synth, route)["Properties"].get("RequestParameters", {})
        required = parameters.get("method.request.header.Authorization") is True
        assert required is route.auth, route.path


def test_routes_with_a_body_are_validated_as_json_objects(synth: Synth) -> None:
    (model_id,) = synth.of_type("AWS::ApiGateway::Model")
    (validator,) = synth.of_type("AWS::ApiGateway::RequestValidator").values()
    assert validator["Properties"]["ValidateRequestBody"] is True
    for route in ROUTES:
        properties = method_of(synth, route)["Properties"]
        has_body = route.method in ("POST", "PUT", "PATCH")
        assert ("RequestModels" in properties) is has_body, route.path
        if has_body:
            assert properties["RequestModels"] == {"application/json": {"Ref": model_id}}
            assert "RequestValidatorId" in properties


def test_gateway_rejections_answer_in_the_apps_problem_json(synth: Synth) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in synth.of_type("AWS::ApiGateway::GatewayResponse").values()
    }
    missing_token = responses["BAD_REQUEST_PARAMETERS"]
    assert missing_token["StatusCode"] == "401"
    body = json.loads(missing_token["ResponseTemplates"]["application/json"])
    assert body["title"] == "Not authenticated"
    assert body["type"] == "urn:tradebot:problem:not-authenticated"
    assert responses["BAD_REQUEST_BODY"]["StatusCode"] == "422"
    assert responses["THROTTLED"]["StatusCode"] == "429"
    for response_type, properties in responses.items():
        headers = properties["ResponseParameters"]
        assert headers["gatewayresponse.header.X-Content-Type-Options"] == "'nosniff'"
        assert headers["gatewayresponse.header.Cache-Control"] == "'no-store'"
        assert "gatewayresponse.header.Access-Control-Allow-Origin" in headers
        if response_type != "DEFAULT_4XX":  # keeps API Gateway's own body
            problem = json.loads(properties["ResponseTemplates"]["application/json"])
            assert problem["status"] == int(properties["StatusCode"]), response_type
            assert headers["gatewayresponse.header.Content-Type"] == "'application/problem+json'"


def test_cors_preflight_allows_the_configured_origin(synth: Synth) -> None:
    preflights = [
        m for m in synth.of_type("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "OPTIONS"
    ]  # fmt: skip
    assert preflights
    for method in preflights:
        (response,) = method["Properties"]["Integration"]["IntegrationResponses"]
        origin = response["ResponseParameters"][
            "method.response.header.Access-Control-Allow-Origin"
        ]
        assert origin == "'http://localhost:3000'"
