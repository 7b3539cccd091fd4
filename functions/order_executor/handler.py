"""SQS-triggered order executor: each message names a trade to place, cancel or sync.

The queue is FIFO with one message group per user: one user's orders run in order, and a
failed message holds back the rest of its group (Powertools' FIFO processor) while other
users' orders go ahead.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from tradebot.observability import observed
from tradebot.orders.executor import Executor
from tradebot.orders.messages import OrderMessage

processor = SqsFifoPartialProcessor(skip_group_on_error=True)
# A batch whose every message failed is reported in batchItemFailures like a partial failure,
# not raised: a raise counts as a function error (alarms, event source back-off) and its
# traceback says nothing the per-message failures do not.
processor.raise_on_entire_batch_failure = False
executor = Executor()


def execute_record(record: SQSRecord) -> None:
    message = OrderMessage.model_validate_json(record.body)
    executor.execute(message, receive_count=int(record.attributes.approximate_receive_count))


def order_executor(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(  # type: ignore[return-value]
        event=event, record_handler=execute_record, processor=processor, context=context
    )


handler = observed(order_executor)
