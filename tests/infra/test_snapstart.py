"""Route functions run SnapStart on published versions behind the `live` alias, and API Gateway
invokes that alias, never $LATEST; the workers are invoked as they were (catalog.py says why)."""

from __future__ import annotations

from typing import Any

from tradebot.http.routes import ROUTES, WORKERS

from tests.infra.conftest import Synth
from tests.infra.test_routes import integrated_target, logical_id, method_of

LIVE = "live"


def _alias_of(synth: Synth, function_id: str) -> tuple[str, dict[str, Any]]:
    aliases = [
        (k, v)
        for k, v in synth.of_type("AWS::Lambda::Alias").items()
        if v["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert len(aliases) == 1, function_id
    return aliases[0]


def _runtime_version(runtime: str) -> tuple[int, int]:
    major, minor = runtime.removeprefix("python").split(".")
    return int(major), int(minor)


def test_every_route_function_snapshots_its_published_versions_on_python_3_12_or_later(
    synth: Synth,
) -> None:
    for route in ROUTES:
        properties = synth.resources[logical_id(route.function)]["Properties"]
        assert properties["SnapStart"] == {"ApplyOn": "PublishedVersions"}, route.function
        assert _runtime_version(properties["Runtime"]) >= (3, 12), route.function


def test_every_route_function_has_a_live_alias_on_the_version_this_deploy_publishes(
    synth: Synth,
) -> None:
    versions = synth.of_type("AWS::Lambda::Version")
    for route in ROUTES:
        function_id = logical_id(route.function)
        _, alias = _alias_of(synth, function_id)
        assert alias["Properties"]["Name"] == LIVE
        version_id, attribute = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"]
        assert attribute == "Version"
        version = versions[version_id]
        assert version["Properties"]["FunctionName"] == {"Ref": function_id}
        # A replaced version goes with its cached snapshot, instead of being billed forever.
        assert version["DeletionPolicy"] == "Delete", route.function


def test_api_gateway_invokes_each_routes_alias_and_may_invoke_nothing_else(
    synth: Synth,
) -> None:
    gateway_permissions = [
        p["Properties"]
        for p in synth.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    allowed = [p["FunctionName"] for p in gateway_permissions]
    for route in ROUTES:
        alias_id, _ = _alias_of(synth, logical_id(route.function))
        assert integrated_target(method_of(synth, route)) == alias_id, route.path
        assert {"Ref": alias_id} in allowed, route.function
    aliases = set(synth.of_type("AWS::Lambda::Alias"))
    assert all(name.get("Ref") in aliases for name in allowed), allowed


def test_workers_run_without_snapstart_and_are_invoked_directly(synth: Synth) -> None:
    for worker in WORKERS:
        function_id = logical_id(worker.function)
        assert "SnapStart" not in synth.resources[function_id]["Properties"], worker.function
        assert not [
            alias
            for alias in synth.of_type("AWS::Lambda::Alias").values()
            if alias["Properties"]["FunctionName"] == {"Ref": function_id}
        ], worker.function
