"""EventBridge-scheduled reconciler: settle orders whose placement answer was lost."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from tradebot.observability import metrics, observed
from tradebot.orders.reconcile import Reconciler

reconciler = Reconciler()


def reconcile(_event: dict[str, Any], _context: Any) -> dict[str, int]:
    report = reconciler.run()
    metrics.add_metric(name="OrdersReconciled", unit=MetricUnit.Count, value=report.found)
    metrics.add_metric(name="OrdersNotPlaced", unit=MetricUnit.Count, value=report.not_placed)
    metrics.add_metric(name="OrdersReconciling", unit=MetricUnit.Count, value=report.waiting)
    # The alarm's metric: each is an order the trader must check on Binance by hand.
    metrics.add_metric(name="ReconcileGaveUp", unit=MetricUnit.Count, value=report.given_up)
    metrics.add_metric(name="FeesRead", unit=MetricUnit.Count, value=report.fees_read)
    return {
        "found": report.found,
        "not_placed": report.not_placed,
        "waiting": report.waiting,
        "given_up": report.given_up,
        "fees_read": report.fees_read,
    }


handler = observed(reconcile)
