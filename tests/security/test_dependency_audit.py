"""`make lint`'s dependency audit: what it audits, and how it reads pip-audit's verdict."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from devstack import audit


def test_the_audited_set_is_the_layers_runtime_closure() -> None:
    pins = audit.runtime_closure()

    assert {"fastapi", "cryptography", "sqlalchemy", "starlette", "urllib3"} <= set(pins)
    assert "tradebot" not in pins
    assert not {"pytest", "schemathesis", "bandit", "mypy", "aws-cdk-lib"} & set(pins)  # dev only
    # Tokens are HS256 on the standard library and settings a plain model: neither ships.
    assert not {"pyjwt", "pydantic-settings"} & set(pins)


def _pip_audit_says(monkeypatch: pytest.MonkeyPatch, report: dict[str, Any] | None) -> None:
    def run(command: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert "--disable-pip" in command
        assert "--no-deps" in command
        stdout = json.dumps(report) if report is not None else ""
        stderr = "" if report is not None else "requests.exceptions.ConnectionError: boom"
        return subprocess.CompletedProcess(command, 1 if report is None else 0, stdout, stderr)

    # audit.py runs `subprocess.run`: the module it imported is this one.
    monkeypatch.setattr(subprocess, "run", run)


def test_a_known_vulnerability_fails_the_audit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    vuln = {"id": "PYSEC-0000-1", "fix_versions": ["9.9.9"]}
    dependencies = [
        {"name": "fastapi", "version": "1.0", "vulns": []},
        {"name": "starlette", "version": "1.0", "vulns": [vuln]},
    ]
    _pip_audit_says(monkeypatch, {"dependencies": dependencies})

    assert audit.main() == 1
    assert "starlette 1.0: PYSEC-0000-1 (fixed in 9.9.9)" in capsys.readouterr().out


def test_a_clean_audit_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    _pip_audit_says(monkeypatch, {"dependencies": [{"name": "fastapi", "version": "1.0"}]})

    assert audit.main() == 0


@pytest.mark.parametrize("report", [None, {"dependencies": [{"name": "x", "skip_reason": "n/a"}]}])
def test_an_unreachable_service_is_reported_not_failed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], report: Any
) -> None:
    _pip_audit_says(monkeypatch, report)

    assert audit.main() == 0
    assert "NOT audited" in capsys.readouterr().out
