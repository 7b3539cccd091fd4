"""What AWS does around the workers: the SQS event source mapping and the EventBridge schedule.

Each runs the function's real `handler` on a thread of the local stack, so the workers share the
API's process and with it the embedded fakeredis (it is process-wide) and the SQLite file.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from devstack.aws import OrderQueue
from devstack.lambda_events import FakeLambdaContext, scheduled_event, sqs_event

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import DeleteMessageBatchRequestEntryTypeDef, MessageTypeDef

Handler = Callable[[dict[str, Any], Any], Any]

BATCH_SIZE = 10  # the event source mapping's default, and the most a FIFO batch may hold
WAIT_TIME_S = 1  # short long-polls, so a stop request is noticed within about a second
FUNCTION_TIMEOUT_MS = 30_000
PRICE_RULE_ARN = "arn:aws:events:us-east-1:000000000000:rule/tradebot-price-updater"
RECONCILE_RULE_ARN = "arn:aws:events:us-east-1:000000000000:rule/tradebot-reconciler"

log = logging.getLogger("devstack.workers")


def lambda_context(function_name: str) -> FakeLambdaContext:
    """A context as Lambda passes it to `function_name`, with that function's deadline."""
    return FakeLambdaContext(
        function_name=function_name,
        invoked_function_arn=f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}",
        deadline_ms=int(time.time() * 1000) + FUNCTION_TIMEOUT_MS,
    )


def sqs_lambda_event(messages: list[MessageTypeDef], queue_arn: str) -> dict[str, Any]:
    """The SQS event Lambda would build from `messages` (received with all attributes)."""
    records = []
    for message in messages:
        attributes = dict(message.get("Attributes", {}))
        (record,) = sqs_event(
            [message["Body"]],
            queue_arn=queue_arn,
            receipt_handles=[message["ReceiptHandle"]],
            message_ids=[message["MessageId"]],
            receive_count=int(attributes.get("ApproximateReceiveCount", "1")),
            group_id=attributes.get("MessageGroupId"),
        )["Records"]
        # SQS's own values (timestamps, SequenceNumber, MessageDeduplicationId) over defaults.
        record["attributes"] = {**record["attributes"], **attributes}
        record["md5OfBody"] = message.get("MD5OfBody", "")
        record["messageAttributes"] = {
            name: _lambda_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        }
        records.append(record)
    return {"Records": records}


def _lambda_attribute(value: Any) -> dict[str, Any]:
    # Lambda spells message attributes in camelCase and base64-encodes binary values.
    binary = value.get("BinaryValue")
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": base64.b64encode(binary).decode() if binary is not None else None,
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [
            base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])
        ],
        "dataType": value["DataType"],
    }


def completed_message_ids(event: dict[str, Any], response: Any) -> set[str]:
    """The messages Lambda deletes after the handler returned `response` (ReportBatchItemFailures).

    No response or no `batchItemFailures` means all succeeded; a malformed failure list, or one
    naming a message not in the batch, means the whole batch failed, as AWS documents it.
    """
    batch = {record["messageId"] for record in event["Records"]}
    if response is None:
        return batch
    if not isinstance(response, dict):
        return set()
    failures = response.get("batchItemFailures")
    if failures is None:
        return batch
    if not isinstance(failures, list):
        return set()
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in batch:
            return set()
        failed.add(identifier)
    return batch - failed


class OrderQueueConsumer:
    """Feeds the order queue to the executor like Lambda's event source mapping.

    Messages the handler reports as failed are left alone: they reappear after the visibility
    timeout and, after `maxReceiveCount` receives, SQS moves them to the dead-letter queue.
    """

    def __init__(
        self,
        sqs: SQSClient,
        queue: OrderQueue,
        handler: Handler,
        stopping: threading.Event,
        function_name: str = "order_executor",
    ) -> None:
        self.sqs = sqs
        self.queue = queue
        self.handler = handler
        self.stopping = stopping
        self.function_name = function_name
        self.batches = 0
        self.messages = 0
        self.failed = 0

    def run(self) -> None:
        """Poll until `stopping` is set."""
        log.info("order consumer started on %s", self.queue.url)
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except (BotoCoreError, ClientError) as exc:
                log.error("order queue unreachable, retrying in 1s: %s", exc)
                self.stopping.wait(1)
        log.info(
            "order consumer stopped: %d batches, %d messages, %d failed",
            self.batches,
            self.messages,
            self.failed,
        )

    def poll_once(self) -> int:
        """Receive one batch, run the handler, delete what it completed; returns the batch size."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue.url,
            MaxNumberOfMessages=BATCH_SIZE,
            WaitTimeSeconds=WAIT_TIME_S,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = sqs_lambda_event(messages, self.queue.arn)
        self.batches += 1
        self.messages += len(messages)
        try:
            response = self.handler(event, lambda_context(self.function_name))
        except Exception:
            # As in Lambda: an error fails the whole batch, which is retried after the
            # visibility timeout. Nothing is deleted, so nothing is lost.
            self.failed += len(messages)
            log.exception(
                "%s raised; the batch of %d stays queued", self.function_name, len(messages)
            )
            return len(messages)
        completed = completed_message_ids(event, response)
        self._delete([m for m in messages if m["MessageId"] in completed])
        failed = len(messages) - len(completed)
        self.failed += failed
        log.info("%s: %d message(s), %d failed", self.function_name, len(messages), failed)
        return len(messages)

    def _delete(self, messages: list[MessageTypeDef]) -> None:
        if not messages:
            return
        entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        result = self.sqs.delete_message_batch(QueueUrl=self.queue.url, Entries=entries)
        for failure in result.get("Failed", []):
            log.error("could not delete message %s: %s", failure["Id"], failure.get("Message"))


class PriceSchedule:
    """Invokes a scheduled worker (the price updater; the reconciler too) every `interval_s`,
    like an EventBridge rate rule.

    Runs once at start so prices (and /health) are fresh at once; a run that overruns the
    interval skips the ticks it missed rather than running back to back.
    """

    def __init__(
        self,
        handler: Handler,
        interval_s: float,
        stopping: threading.Event,
        function_name: str = "price_updater",
        rule_arn: str = PRICE_RULE_ARN,
        label: str = "price",
    ) -> None:
        self.handler = handler
        self.interval_s = interval_s
        self.stopping = stopping
        self.function_name = function_name
        self.rule_arn = rule_arn
        self.label = label  # names it in the log: "price schedule stopped: ..."
        self.runs = 0
        self.failed = 0

    def run(self) -> None:
        """Fire on schedule until `stopping` is set."""
        log.info(
            "%s schedule started: %s every %gs", self.label, self.function_name, self.interval_s
        )
        next_run = time.monotonic()
        while not self.stopping.wait(max(0.0, next_run - time.monotonic())):
            self.fire()
            next_run += self.interval_s
            now = time.monotonic()
            if next_run < now:
                next_run = now + self.interval_s
        log.info("%s schedule stopped: %d runs, %d failed", self.label, self.runs, self.failed)

    def fire(self) -> None:
        """One scheduled invocation; an error is logged and the next tick tries again."""
        self.runs += 1
        try:
            result = self.handler(
                scheduled_event(self.rule_arn), lambda_context(self.function_name)
            )
        except Exception:
            self.failed += 1
            log.exception("%s run %d failed", self.function_name, self.runs)
            return
        # Only the first result is worth a line; after that, every few seconds would be noise.
        level = logging.INFO if self.runs == 1 else logging.DEBUG
        log.log(level, "%s run %d returned %.200r", self.function_name, self.runs, result)
