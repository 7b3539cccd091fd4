"""cdk-nag's AwsSolutions checks and cfn-lint, on the template `make synth` produces."""

from __future__ import annotations

import json
from pathlib import Path

import yaml  # type: ignore[import-untyped]
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]

from tests.infra.conftest import ROOT, Synth


def test_cdk_nag_finds_nothing_unacknowledged(synth: Synth) -> None:
    report = synth.validation_report()
    findings = [
        f"{violation['severity']} {violation['ruleName']}: "
        + ", ".join(c["constructPath"] for c in violation["violatingConstructs"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
    ]
    assert findings == []
    assert synth.validation_error is None


def acknowledgments(synth: Synth) -> dict[tuple[str, str], str]:
    """(construct path, rule) -> reason, for every acknowledged cdk-nag rule."""
    metadata = json.loads((synth.outdir / f"{synth.stack_name}.metadata.json").read_text())
    found: dict[tuple[str, str], str] = {}
    for path, entries in metadata.items():
        for entry in entries:
            if entry["type"] == "aws:cdk:acknowledged-rules":
                for rule, reason in entry["data"].items():
                    found[(path, rule)] = reason
    return found


def test_every_acknowledged_rule_says_why(synth: Synth) -> None:
    nag = {
        key: reason for key, reason in acknowledgments(synth).items() if "AwsSolutions-" in key[1]
    }
    assert len(nag) > 10
    for (path, rule), reason in nag.items():
        assert len(reason.split()) >= 12, f"{path} {rule}: say why"


def test_cfn_lint_passes(synth: Synth) -> None:
    settings = yaml.safe_load(Path(ROOT / "cdk" / "cfn-lint.yaml").read_text())
    matches = lint_file(
        synth.template_path, config=ManualArgs(ignore_checks=settings["ignore_checks"])
    )
    assert [str(match) for match in matches] == []
