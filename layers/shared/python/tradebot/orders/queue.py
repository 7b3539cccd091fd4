"""Sending order messages to SQS (FIFO: one message group per user keeps their orders in order)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from functools import cache
from typing import Any

from tradebot.errors import ServiceUnavailable
from tradebot.orders.messages import OrderMessage
from tradebot.settings import get_settings

logger = logging.getLogger(__name__)

BATCH = 10  # SQS SendMessageBatch maximum


@cache
def _sqs() -> Any:
    # boto3 costs ~100 ms of import: only functions that really enqueue pay for it.
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"}
    )
    return boto3.client("sqs", config=config)


def _entry(index: int, message: OrderMessage, user_id: str, now: float) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": str(index), "MessageBody": message.body()}
    if get_settings().order_queue_url.endswith(".fifo"):
        entry["MessageGroupId"] = user_id
        entry["MessageDeduplicationId"] = _deduplication_id(message, now)
    return entry


def _deduplication_id(message: OrderMessage, now: float) -> str:
    if message.action in ("sync", "sync_user"):
        # Every price update that crosses an order is news, even within a minute: SQS would
        # drop a repeated id for five minutes, and with it a fill. Only a retried send of the
        # same update (same `now`) is a duplicate.
        return f"{message.subject}-{message.action}-{int(now * 1000)}"
    # The same trade and action in the same minute is one message (a retried send); the
    # sweeper's later re-send falls in another minute and is delivered.
    return f"{message.subject}-{message.action}-{int(now // 60)}"


def enqueue(messages: Sequence[tuple[OrderMessage, str]], now: float | None = None) -> None:
    """Send (message, user id) pairs; `ServiceUnavailable` if any could not be sent.

    Callers commit the trade first: a trade whose message was lost stays PENDING and the
    sweeper re-sends it, so a send failure delays an order but never loses one.
    """
    url = get_settings().order_queue_url
    if not url:
        raise ServiceUnavailable("No order queue is configured (ORDER_QUEUE_URL)")
    moment = now if now is not None else time.time()
    from botocore.exceptions import BotoCoreError, ClientError

    for start in range(0, len(messages), BATCH):
        chunk = messages[start : start + BATCH]
        entries = [_entry(i, m, user, moment) for i, (m, user) in enumerate(chunk)]
        try:
            response = _sqs().send_message_batch(QueueUrl=url, Entries=entries)
        except (BotoCoreError, ClientError) as exc:
            raise ServiceUnavailable("The order queue is unavailable") from exc
        if response.get("Failed"):
            raise ServiceUnavailable(f"{len(response['Failed'])} order message(s) not sent")


def reset_queue_client() -> None:
    """Forget the SQS client (tests and settings changes)."""
    _sqs.cache_clear()
