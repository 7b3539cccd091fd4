"""Invoked by an operator (aws lambda invoke): re-seal every stored exchange key under the
current KMS key, bound to its owner. Runs inside the VPC, where the database is."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from tradebot.crypto.rotate import rotate_all
from tradebot.observability import metrics, observed


def rotate_keys(_event: dict[str, Any], _context: Any) -> dict[str, int]:
    report = rotate_all()
    metrics.add_metric(name="KeysResealed", unit=MetricUnit.Count, value=report.rewritten)
    metrics.add_metric(name="KeysRefused", unit=MetricUnit.Count, value=report.refused)
    return report.as_dict()


handler = observed(rotate_keys)
