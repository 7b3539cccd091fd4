"""The shared layer: `layers/shared/python` plus the runtime dependencies, built without Docker.

pip downloads the wheels built for Lambda's platform (manylinux, the runtime's CPython, the
chosen architecture) into a cache keyed by the dependency list, so only a change to
pyproject.toml's dependencies downloads anything again. Every dependency must publish a wheel
for that platform (`--only-binary=:all:`); nothing is compiled on this machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Literal

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

ROOT = Path(__file__).resolve().parents[2]
LAYER_SOURCE = ROOT / "layers" / "shared"
CACHE = ROOT / "build" / "layer-deps"
PYTHON_VERSION = "3.12"
# Lambda's Python 3.12 runtime is Amazon Linux 2023: glibc 2.34.
GLIBC_MINOR = 34
# Bump to invalidate every cached dependency set (a change to how they are installed).
BUILD_FORMAT = 1
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")

Architecture = Literal["arm64", "x86_64"]


def lambda_architecture(architecture: Architecture) -> lambda_.Architecture:
    """The Lambda architecture of the configured name."""
    return lambda_.Architecture.ARM_64 if architecture == "arm64" else lambda_.Architecture.X86_64


def runtime_dependencies(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The `[project].dependencies` of pyproject.toml: exactly what the layer ships."""
    data = tomllib.loads(pyproject.read_text())
    return list(data["project"]["dependencies"])


def platform_tags(architecture: Architecture) -> list[str]:
    """Every manylinux tag Lambda's glibc can run, newest first."""
    machine = "aarch64" if architecture == "arm64" else "x86_64"
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(GLIBC_MINOR, 16, -1)]
    return [*tags, f"manylinux2014_{machine}"]


def dependencies_key(requirements: list[str], architecture: Architecture) -> str:
    """A hash naming one installed dependency set."""
    material = json.dumps([BUILD_FORMAT, PYTHON_VERSION, architecture, sorted(requirements)])
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def source_hash(directory: Path) -> str:
    """A hash of the layer's own code, ignoring caches and build metadata."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if path.is_dir() or any(
            p == "__pycache__" or p.endswith(".egg-info") for p in relative.parts
        ):
            continue
        if path.suffix == ".pyc":
            continue
        digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def install_dependencies(
    requirements: list[str], architecture: Architecture, cache: Path = CACHE
) -> Path:
    """The `python/` directory of the installed dependencies, from the cache or freshly built."""
    target = cache / dependencies_key(requirements, architecture)
    if (target / "python").is_dir():
        return target / "python"
    cache.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="building-", dir=cache))
    try:
        _pip_install(requirements, architecture, scratch / "python")
        # Console scripts point at this machine's interpreter; Lambda never runs them.
        shutil.rmtree(scratch / "python" / "bin", ignore_errors=True)
        # Renaming a finished directory into place: a cache entry is complete or absent.
        scratch.rename(target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        if not (target / "python").is_dir():  # else a concurrent build finished first
            raise
    return target / "python"


def _pip_install(requirements: list[str], architecture: Architecture, target: Path) -> None:
    platforms = [arg for tag in platform_tags(architecture) for arg in ("--platform", tag)]
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-input", "--target", str(target), *platforms, "--only-binary=:all:",
        "--implementation", "cp", "--python-version", PYTHON_VERSION, *requirements,
    ]  # fmt: skip
    # A fixed argument list built from pyproject.toml, run with this interpreter's pip.
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(
            "Installing the layer's dependencies for Lambda failed (PyPI unreachable, or a "
            "dependency without a wheel for the platform). To synthesize without them, pass "
            "-c aws:cdk:bundling-stacks=[].\n" + result.stderr[-4000:]
        )


def _link_or_copy(source: str, destination: str) -> object:
    # Hard links make staging 160 MB of wheels instant; copy across file systems.
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)
    return destination


@jsii.implements(ILocalBundling)
class PipLayerBundling:
    """Builds the layer on this machine; CDK falls back to Docker only if this returns False."""

    def __init__(self, architecture: Architecture) -> None:
        self.architecture = architecture

    def try_bundle(self, output_dir: str, *_options: object, **_keywords: object) -> bool:
        """Assemble `python/` in `output_dir`: cached dependencies, then the tradebot package."""
        dependencies = install_dependencies(runtime_dependencies(), self.architecture)
        python = Path(output_dir) / "python"
        shutil.copytree(dependencies, python, copy_function=_link_or_copy, dirs_exist_ok=True)
        shutil.copytree(
            LAYER_SOURCE / "python" / "tradebot", python / "tradebot", ignore=IGNORED,
            dirs_exist_ok=True,
        )  # fmt: skip
        return True


class SharedLayer(Construct):
    """The layer every function uses."""

    def __init__(self, scope: Construct, construct_id: str, *, architecture: Architecture) -> None:
        super().__init__(scope, construct_id)
        requirements = runtime_dependencies()
        # Our own hash of inputs, so an unchanged layer is neither rebuilt nor re-hashed (and a
        # dependency change, invisible in layers/, still gives a new asset).
        asset_hash = hashlib.sha256(
            (dependencies_key(requirements, architecture) + source_hash(LAYER_SOURCE)).encode()
        ).hexdigest()
        runtime = lambda_.Runtime.PYTHON_3_12
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            description="tradebot package and its runtime dependencies",
            code=lambda_.Code.from_asset(
                str(LAYER_SOURCE),
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=asset_hash,
                exclude=["**/__pycache__", "**/*.egg-info"],
                bundling=BundlingOptions(
                    # Only used if local bundling declined; it never does.
                    image=DockerImage.from_registry(
                        f"public.ecr.aws/sam/build-python{PYTHON_VERSION}"
                    ),
                    local=PipLayerBundling(architecture),
                    command=["false"],
                ),
            ),
            compatible_runtimes=[runtime],
            compatible_architectures=[lambda_architecture(architecture)],
        )
