"""Fixtures of the trading tests: a real SQS protocol server, the Binance fake, a trader.

None is autouse: tests that do not ask for them pay nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from devstack.aws import create_order_queue
from devstack.functions import load_function
from tests.fakes.binance_server import BinanceFake
from tests.support import configure
from tests.trading_support import (
    API_KEY,
    API_SECRET,
    OrderQueueHarness,
    new_trader,
    point_at_fake,
)

MAX_RECEIVES = 5  # the queue's maxReceiveCount, and ORDER_MAX_RECEIVES


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's SQS speaking the real protocol on a free port of 127.0.0.1."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def moto_client(service: Literal["kms", "sqs"], moto_endpoint: str) -> Any:
    """A boto3 client of `service` on the moto server."""
    return boto3.client(
        service,
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def use_moto(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, **settings: str) -> None:
    """Point the application's AWS clients at the moto server, with `settings` beside."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    configure(
        monkeypatch,
        aws_endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_default_region="us-east-1",
        **settings,
    )


def open_order_queue(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, visibility_timeout_s: int = 30
) -> Iterator[OrderQueueHarness]:
    """A fresh `tradebot-orders.fifo` (+ DLQ, maxReceiveCount 5) on moto, the application's
    settings pointed at it (its visibility timeout included)."""
    from tradebot.orders.queue import reset_queue_client

    httpx.post(f"{moto_endpoint}/moto-api/reset", timeout=5)
    sqs = moto_client("sqs", moto_endpoint)
    queue = create_order_queue(
        sqs, visibility_timeout_s=visibility_timeout_s, max_receive_count=MAX_RECEIVES
    )
    use_moto(
        monkeypatch,
        moto_endpoint,
        order_queue_url=queue.url,
        order_max_receives=str(MAX_RECEIVES),
        order_visibility_timeout_s=str(visibility_timeout_s),
    )
    reset_queue_client()
    yield OrderQueueHarness(sqs, queue)
    reset_queue_client()


@pytest.fixture
def order_queue(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[OrderQueueHarness]:
    """A fresh `tradebot-orders.fifo` (+ DLQ, maxReceiveCount 5) the application sends to."""
    yield from open_order_queue(moto_endpoint, monkeypatch)


@pytest.fixture
def binance_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[BinanceFake]:
    """The Binance fake, with the application's Binance client pointed at it."""
    fake = BinanceFake(api_key=API_KEY, api_secret=API_SECRET)
    fake.timeout_sleep_s = 0.7  # just past the client timeout below: threads end quickly
    with fake:
        point_at_fake(monkeypatch, fake, timeout_s="0.5")
        yield fake


@pytest.fixture
def trader() -> tuple[str, str]:
    """A registered user: (user id, access token)."""
    return new_trader("trader@example.com")


@pytest.fixture
def other_trader() -> tuple[str, str]:
    """A second registered user."""
    return new_trader("other@example.com")


@pytest.fixture
def recorded_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The executor behind the handler, with its back-off sleeps recorded instead of slept.

    Time passes all the same for the shared Binance request budget: its clock runs ahead by
    every recorded sleep, so a back-off a 429 started is over once its Retry-After was "slept".
    """
    from tradebot.exchange.weight import request_budget
    from tradebot.orders.executor import Executor

    delays: list[float] = []
    budget = request_budget()
    real_clock = budget.clock
    monkeypatch.setattr(budget, "clock", lambda: real_clock() + sum(delays))
    sleep: Callable[[float], None] = delays.append
    monkeypatch.setattr(load_function("order_executor"), "executor", Executor(sleep=sleep))
    return delays


@pytest.fixture(autouse=True)
def _stores(clean_state: None) -> None:
    """This tier runs against the database and Redis (tests/stores.py), clean for each test."""
