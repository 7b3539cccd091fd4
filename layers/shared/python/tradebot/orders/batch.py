"""Running one FIFO batch: message groups (users) in parallel, each group strictly in order."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

# Called as `handler(record=...)`: Powertools passes the record by that name.
RecordHandler = Callable[[SQSRecord], None]

# A FIFO event source delivers at most 10 messages a batch, so at most 10 groups run at once.
MAX_CONCURRENT_GROUPS = 10


def _group_of(record: dict[str, Any]) -> str:
    attributes = record.get("attributes") or {}
    return str(attributes.get("MessageGroupId") or record.get("messageId"))


def _run_group(records: list[dict[str, Any]], handler: RecordHandler) -> list[dict[str, str]]:
    # One processor per group and thread: Powertools' processors keep per-batch state. Its FIFO
    # processor stops a group at its first failure and reports the rest of that group as failed,
    # so a user's later orders never overtake an earlier one.
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    # Every message failing is still a partial-failure report, not a function error (which
    # would trip error alarms and throttle the event source without saying more).
    processor.raise_on_entire_batch_failure = False
    response = process_partial_response(
        event={"Records": records}, record_handler=handler, processor=processor
    )
    return [{"itemIdentifier": str(f["itemIdentifier"])} for f in response["batchItemFailures"]]


def process_fifo_batch(
    event: dict[str, Any], handler: RecordHandler, max_workers: int = MAX_CONCURRENT_GROUPS
) -> dict[str, list[dict[str, str]]]:
    """Process an SQS FIFO event, groups concurrently; returns the `batchItemFailures` report."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in event.get("Records", []):
        groups.setdefault(_group_of(record), []).append(record)
    if len(groups) <= 1:
        failures = [f for records in groups.values() for f in _run_group(records, handler)]
        return {"batchItemFailures": failures}
    with ThreadPoolExecutor(max_workers=min(max_workers, len(groups))) as pool:
        results = list(pool.map(lambda records: _run_group(records, handler), groups.values()))
    return {"batchItemFailures": [f for failures in results for f in failures]}
