"""A FIFO batch runs different users' messages concurrently and one user's strictly in order."""

import threading
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from tradebot.orders.batch import process_fifo_batch

from devstack.lambda_events import sqs_event

ARN = "arn:aws:sqs:us-east-1:000000000000:tradebot-orders.fifo"


def _event(groups_and_bodies: list[tuple[str, str]]) -> dict[str, Any]:
    records = []
    for i, (group, body) in enumerate(groups_and_bodies):
        event = sqs_event([body], queue_arn=ARN, message_ids=[f"m{i}"], group_id=group)
        records.extend(event["Records"])
    return {"Records": records}


def test_groups_run_concurrently_so_a_batch_takes_about_one_slow_call() -> None:
    event = _event([(f"user-{i}", f"order-{i}") for i in range(10)])
    # Each call waits until all ten are running at once: one after another, the first would
    # wait in vain, time out and fail its message (no duration is asserted).
    all_running = threading.Barrier(10, timeout=10)

    def slow(record: SQSRecord) -> None:  # Powertools passes `record=` by name
        all_running.wait()

    report = process_fifo_batch(event, slow)

    assert report == {"batchItemFailures": []}


def test_one_users_messages_keep_their_order_and_stop_at_the_first_failure() -> None:
    event = _event([("alice", "a1"), ("bob", "b1"), ("alice", "a2"), ("alice", "a3")])
    seen: list[str] = []
    lock = threading.Lock()

    def handler(record: SQSRecord) -> None:
        with lock:
            seen.append(record.body)
        if record.body == "a2":
            raise RuntimeError("exchange down")

    report = process_fifo_batch(event, handler)

    failed = {f["itemIdentifier"] for f in report["batchItemFailures"]}
    assert failed == {"m2", "m3"}  # a2 failed, a3 held back behind it
    assert [body for body in seen if body.startswith("a")] == ["a1", "a2"]
    assert "b1" in seen
