"""How the shared layer is built for Lambda without Docker (nothing is downloaded here)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from tradebot_cdk.layer import (
    dependencies_key,
    platform_tags,
    runtime_dependencies,
    source_hash,
)

from tests.infra.conftest import ROOT


def test_the_layer_ships_exactly_the_projects_runtime_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert runtime_dependencies() == project["dependencies"]


def test_the_layer_ships_neither_pyjwt_nor_pydantic_settings() -> None:
    # HS256 is on the standard library (tradebot.auth.tokens) and the settings are a plain model:
    # both packages cost cold-start time. PyJWT stays a dev dependency (the tests cross-check).
    names = {canonicalize_name(Requirement(dep).name) for dep in runtime_dependencies()}
    assert not {"pyjwt", "pydantic-settings"} & names
    assert {"fastapi", "pydantic"} <= names


def test_wheels_are_chosen_for_lambdas_glibc_and_architecture() -> None:
    arm = platform_tags("arm64")
    assert arm[0] == "manylinux_2_34_aarch64"  # Amazon Linux 2023, Lambda's python3.12
    assert "manylinux2014_aarch64" in arm
    assert all("x86_64" in tag for tag in platform_tags("x86_64"))


def test_the_dependency_cache_key_changes_with_dependencies_and_architecture() -> None:
    deps = ["fastapi>=0.115,<1", "pydantic>=2.9,<3"]
    assert dependencies_key(deps, "arm64") == dependencies_key(list(reversed(deps)), "arm64")
    assert dependencies_key(deps, "arm64") != dependencies_key(deps, "x86_64")
    assert dependencies_key(deps, "arm64") != dependencies_key([*deps, "redis"], "arm64")


def test_the_source_hash_ignores_bytecode_and_build_metadata(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("x = 1\n")
    before = source_hash(tmp_path)
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "mod.cpython-312.pyc").write_bytes(b"\0")
    (tmp_path / "pkg.egg-info").mkdir()
    (tmp_path / "pkg.egg-info" / "PKG-INFO").write_text("x")
    assert source_hash(tmp_path) == before
    (tmp_path / "pkg" / "mod.py").write_text("x = 2\n")
    assert source_hash(tmp_path) != before


def test_the_layer_can_trace() -> None:
    # tradebot.observability creates a Powertools Tracer inside Lambda: it needs aws_xray_sdk.
    assert any(
        dep.replace(" ", "").startswith("aws-lambda-powertools[tracer]")
        for dep in runtime_dependencies()
    )
