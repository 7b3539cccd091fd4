"""EventBridge-scheduled price updater: refresh prices, trigger resting orders, sweep."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from tradebot.market.updater import refresh_prices
from tradebot.observability import metrics, observed


def price_updater(_event: dict[str, Any], _context: Any) -> dict[str, int]:
    report = refresh_prices()
    metrics.add_metric(name="PricesUpdated", unit=MetricUnit.Count, value=report.prices)
    metrics.add_metric(name="OrdersTriggered", unit=MetricUnit.Count, value=report.triggered)
    metrics.add_metric(name="OrdersSwept", unit=MetricUnit.Count, value=report.swept)
    return {"prices": report.prices, "triggered": report.triggered, "swept": report.swept}


handler = observed(price_updater)
