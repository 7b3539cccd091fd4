"""`python -m loadtest.consumer`: one more consumer of the order queue, in its own process.

Lambda runs as many executors at once as the FIFO queue has busy message groups; the local
stack has one consumer thread. Under load the stack runs a few of these besides, so the
executors race as they would in AWS, and keep up. Stops cleanly on SIGTERM.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType


def main() -> int:
    import boto3

    from devstack.aws import OrderQueue
    from devstack.functions import load_function
    from devstack.workers import OrderQueueConsumer

    logging.basicConfig(level=logging.WARNING)
    stopping = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sqs = boto3.client("sqs")
    url = os.environ["ORDER_QUEUE_URL"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    handler = load_function("order_executor").handler
    consumer = OrderQueueConsumer(sqs, OrderQueue(url=url, arn=arn, dlq_url=""), handler, stopping)
    consumer.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
