"""Structured logs, metrics and tracing through Powertools, set up once per environment."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics

# Not every invocation emits a business metric; an empty flush is normal, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

LambdaHandler = Callable[[dict[str, Any], Any], Any]

# Named "tradebot" whatever the function: the stdlib loggers of `tradebot.*` modules are its
# children, and each line names its Lambda through the injected `function_name`.
logger = Logger(service="tradebot")
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Tradebot"))


def _tracing_enabled() -> bool:
    # X-Ray exists only inside Lambda; elsewhere even importing the SDK is wasted start-up time.
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in ("1", "true")
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) and not disabled


def observed(handler: LambdaHandler, correlation_id_path: str | None = None) -> LambdaHandler:
    """Wrap a Lambda handler with logging context, EMF metrics flushing and (in AWS) tracing."""
    wrapped: LambdaHandler = handler
    if _tracing_enabled():
        from aws_lambda_powertools import Tracer

        wrapped = Tracer().capture_lambda_handler(wrapped)
    wrapped = metrics.log_metrics(wrapped)
    wrapped = logger.inject_lambda_context(wrapped, correlation_id_path=correlation_id_path)
    return wrapped
