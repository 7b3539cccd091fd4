"""SQS-triggered order executor: each message names a trade to place, cancel or sync.

The queue is FIFO with one message group per user: different users' orders in a batch run
concurrently, one user's orders run in order, and a failed message holds back the rest of its
group while other users' orders go ahead.
"""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from tradebot.db.engine import reserve_pool
from tradebot.observability import observed
from tradebot.orders.batch import MAX_CONCURRENT_GROUPS, process_fifo_batch
from tradebot.orders.executor import Executor
from tradebot.orders.messages import OrderMessage

# Every message group of a batch runs in its own thread with its own database connection: a
# smaller pool would make them queue for connections (and open and close the overflow ones).
reserve_pool(MAX_CONCURRENT_GROUPS)
executor = Executor()


def execute_record(record: SQSRecord) -> None:
    message = OrderMessage.model_validate_json(record.body)
    executor.execute(message, receive_count=int(record.attributes.approximate_receive_count))


def order_executor(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    return process_fifo_batch(event, execute_record)


handler = observed(order_executor)
