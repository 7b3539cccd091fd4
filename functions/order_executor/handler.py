"""SQS-triggered order executor: each message names a trade to place or cancel."""

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from tradebot.observability import logger, observed
from tradebot.orders.messages import OrderMessage

processor = BatchProcessor(event_type=EventType.SQS)


def execute_record(record: SQSRecord) -> None:
    message = OrderMessage.model_validate_json(record.body)
    logger.info("order message received", extra={"trade_id": message.trade_id})


def order_executor(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(  # type: ignore[return-value]
        event=event, record_handler=execute_record, processor=processor, context=context
    )


handler = observed(order_executor)
