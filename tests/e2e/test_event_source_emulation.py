"""The local stack's stand-ins for Lambda's SQS event source mapping and EventBridge schedule.

They decide which order messages are deleted, retried or dead-lettered locally, so they are
checked against moto's real SQS with stub handlers (the seam the consumer takes), independent
of what the executor itself does.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from aws_lambda_powertools.utilities.data_classes import SQSEvent
from moto.server import ThreadedMotoServer

from devstack.aws import OrderQueue, create_order_queue
from devstack.workers import OrderQueueConsumer, PriceSchedule, completed_message_ids


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def sqs(moto_endpoint: str) -> Any:
    httpx.post(f"{moto_endpoint}/moto-api/reset", timeout=5)  # fresh queues for every test
    return boto3.client(
        "sqs",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def queue(sqs: Any) -> OrderQueue:
    # Visibility 0: a message left undeleted is back at once, so retries take no wall time.
    return create_order_queue(sqs, visibility_timeout_s=0, max_receive_count=3)


def send(sqs: Any, queue: OrderQueue, trade_id: str, group: str = "user-1") -> str:
    body = json.dumps({"trade_id": trade_id, "action": "place"})
    sent = sqs.send_message(
        QueueUrl=queue.url,
        MessageBody=body,
        MessageGroupId=group,
        MessageDeduplicationId=f"{trade_id}-place",
    )
    message_id: str = sent["MessageId"]
    return message_id


def counts(sqs: Any, url: str) -> tuple[int, int]:
    """(visible, in flight) messages of the queue at `url`."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


class RecordingHandler:
    """A stub executor: remembers every event, fails the trades it is told to."""

    def __init__(self, failing: set[str] | None = None, raises: bool = False) -> None:
        self.failing = failing or set()
        self.raises = raises
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], _context: Any) -> dict[str, Any]:
        self.events.append(event)
        if self.raises:
            raise RuntimeError("executor crashed")
        failures = [
            {"itemIdentifier": record["messageId"]}
            for record in event["Records"]
            if json.loads(record["body"])["trade_id"] in self.failing
        ]
        return {"batchItemFailures": failures}

    def receive_counts(self, trade_id: str) -> list[int]:
        return [
            int(record["attributes"]["ApproximateReceiveCount"])
            for event in self.events
            for record in event["Records"]
            if json.loads(record["body"])["trade_id"] == trade_id
        ]


def consumer_for(sqs: Any, queue: OrderQueue, handler: RecordingHandler) -> OrderQueueConsumer:
    return OrderQueueConsumer(sqs, queue, handler, threading.Event())


def test_the_event_carries_the_real_message_as_lambda_shapes_it(
    sqs: Any, queue: OrderQueue
) -> None:
    message_id = send(sqs, queue, "t-1", group="user-42")
    handler = RecordingHandler()

    consumer_for(sqs, queue, handler).poll_once()

    (record,) = handler.events[0]["Records"]
    assert record["messageId"] == message_id
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue.arn
    assert record["awsRegion"] == "us-east-1"
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()  # noqa: S324
    parsed = next(iter(SQSEvent(handler.events[0]).records))  # as Powertools reads it
    assert parsed.attributes.message_group_id == "user-42"
    assert parsed.attributes.message_deduplication_id == "t-1-place"
    assert parsed.attributes.approximate_receive_count == "1"
    assert parsed.attributes.sequence_number


def test_completed_messages_are_deleted_and_failed_ones_retried_then_dead_lettered(
    sqs: Any, queue: OrderQueue
) -> None:
    # Given one good and one failing message, in different users' groups
    send(sqs, queue, "good", group="user-1")
    send(sqs, queue, "bad", group="user-2")
    handler = RecordingHandler(failing={"bad"})
    consumer = consumer_for(sqs, queue, handler)

    # When the consumer polls until the queue has nothing left to give
    deadline = time.monotonic() + 15
    while consumer.poll_once() and time.monotonic() < deadline:
        pass

    # Then the good one ran once; the bad one was retried up to maxReceiveCount, then DLQ'd
    assert handler.receive_counts("good") == [1]
    assert handler.receive_counts("bad") == [1, 2, 3]
    assert counts(sqs, queue.url) == (0, 0)
    assert counts(sqs, queue.dlq_url) == (1, 0)
    assert (consumer.messages, consumer.failed) == (4, 3)


def test_a_raising_handler_leaves_the_whole_batch_on_the_queue(sqs: Any, queue: OrderQueue) -> None:
    send(sqs, queue, "t-1", group="user-1")
    send(sqs, queue, "t-2", group="user-2")
    crashing = RecordingHandler(raises=True)

    consumer_for(sqs, queue, crashing).poll_once()
    healthy = RecordingHandler()
    consumer_for(sqs, queue, healthy).poll_once()

    # Both come back, received a second time: nothing was deleted after the crash.
    assert sorted(healthy.receive_counts("t-1") + healthy.receive_counts("t-2")) == [2, 2]
    assert counts(sqs, queue.url) == (0, 0)


@pytest.mark.parametrize(
    ("response", "completed"),
    [
        (None, {"a", "b"}),
        ({}, {"a", "b"}),
        ({"batchItemFailures": []}, {"a", "b"}),
        ({"batchItemFailures": None}, {"a", "b"}),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"a"}),
        ({"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}, set()),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, set()),
        ({"batchItemFailures": [{"id": "b"}]}, set()),
        ({"batchItemFailures": "b"}, set()),
        ("not a dict", set()),
    ],
)
def test_the_response_is_read_as_report_batch_item_failures_documents(
    response: Any, completed: set[str]
) -> None:
    event = {"Records": [{"messageId": "a"}, {"messageId": "b"}]}

    assert completed_message_ids(event, response) == completed


def test_the_price_schedule_fires_at_once_then_on_its_interval_and_survives_errors() -> None:
    events: list[dict[str, Any]] = []

    def updater(event: dict[str, Any], _context: Any) -> dict[str, int]:
        events.append(event)
        if len(events) == 1:
            raise RuntimeError("exchange down")
        return {"prices": 1}

    stopping = threading.Event()
    schedule = PriceSchedule(updater, 0.05, stopping)
    thread = threading.Thread(target=schedule.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while len(events) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    stopping.set()
    thread.join(2)

    assert not thread.is_alive()
    assert len(events) >= 4
    assert (schedule.failed, schedule.runs) == (1, len(events))
    assert {e["detail-type"] for e in events} == {"Scheduled Event"}
    assert len({e["id"] for e in events}) == len(events)  # each invocation its own event


def test_a_stop_request_ends_a_waiting_consumer_within_its_long_poll(
    sqs: Any, queue: OrderQueue
) -> None:
    consumer = OrderQueueConsumer(sqs, queue, RecordingHandler(), threading.Event())
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    time.sleep(0.2)

    consumer.stopping.set()
    thread.join(5)

    assert not thread.is_alive()
