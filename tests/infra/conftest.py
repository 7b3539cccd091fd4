"""One synthesized stack for the whole infra tier: offline, no Docker, no layer build.

The `aws:cdk:bundling-stacks` context set to no stacks makes CDK skip bundling, so the layer
asset is its source folder and nothing is downloaded; the template is otherwise the one
`make synth` writes. Synthesis runs the cdk-nag checks; their failure is kept (not raised) so
the template tests still run and the compliance test reports the findings.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from aws_cdk.assertions import Template

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "cdk"))
# The jsii runtime prints a banner for Node versions past end of life; the tests do not care.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

DONE = "synth-done"  # holds the validation error, empty when there was none
TEST_CONTEXT: dict[str, object] = {
    "aws:cdk:bundling-stacks": [],
    "deployId": "test-deploy",
}


@dataclass(frozen=True)
class Synth:
    """The synthesized cloud assembly and its one template."""

    outdir: Path
    stack_name: str
    template: dict[str, Any]
    validation_error: str | None

    @property
    def template_path(self) -> Path:
        return self.outdir / f"{self.stack_name}.template.json"

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template["Resources"]
        return resources

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Resources of one CloudFormation type, by logical id."""
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def validation_report(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads((self.outdir / "validation-report.json").read_text())
        return report


def _synthesize(outdir: Path) -> None:
    from app import build_app

    app = build_app(TEST_CONTEXT, outdir=str(outdir))
    error = ""
    try:
        app.synth()
    except RuntimeError as exc:  # the validation plugins' verdict; the template is written
        error = str(exc) or "validation failed"
    (outdir / DONE).write_text(error)


def _shared_outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this run's assembly lives: one per run, shared by the xdist workers."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        outdir = tmp_path_factory.mktemp("cdk.out")
        _synthesize(outdir)
        return outdir
    # Under xdist every worker's base temp is a child of the run's own directory: the first
    # worker to take the lock synthesizes there, the others wait and read its result.
    run_dir = tmp_path_factory.getbasetemp().parent
    outdir = run_dir / "infra-cdk.out"
    with (run_dir / "infra-cdk.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (outdir / DONE).exists():
            shutil.rmtree(outdir, ignore_errors=True)
            outdir.mkdir()
            _synthesize(outdir)
    return outdir


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The synthesized app, once per test run."""
    outdir = _shared_outdir(tmp_path_factory)
    (template_path,) = outdir.glob("*.template.json")
    stack_name = template_path.name.removesuffix(".template.json")
    template = json.loads(template_path.read_text())
    error = (outdir / DONE).read_text() or None
    return Synth(outdir, stack_name, template, error)


@pytest.fixture(scope="session")
def template(synth: Synth) -> Template:
    """The template for `aws_cdk.assertions`."""
    from aws_cdk.assertions import Template

    return Template.from_json(synth.template)
