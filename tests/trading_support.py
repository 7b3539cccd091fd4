"""Helpers for the trading tests: the order queue as Lambda's event source mapping uses it,
orders through the API, prices, balances and trade rows.

`OrderQueueHarness` receives from a real SQS protocol server (moto), builds the event Lambda
would build (ApproximateReceiveCount and MessageGroupId from the received attributes), invokes
`functions/order_executor`'s handler, and deletes only the messages that are not reported in
`batchItemFailures`, exactly as the event source mapping does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from tradebot.db.engine import unit_of_work
from tradebot.db.models import PaperBalance, Position, Trade
from tradebot.exchange.base import Balance, Exchange, OrderRequest, OrderResult, PriceRange

from devstack.aws import OrderQueue
from devstack.functions import load_function
from devstack.lambda_events import FakeLambdaContext
from devstack.workers import completed_message_ids, sqs_lambda_event
from tests.support import Reply, call

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

D = Decimal
# Binance-shaped key and secret: alphanumeric, long enough for the api-keys route.
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
API_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
WRONG_SECRET = "WrongSecretWrongSecretWrongSecretWrongSecret0000"
ORDER_PATH = "/api/v3/order"
STARTING_USDT = D(10000)
FEE_RATE = D("0.001")
EIGHT = D("0.00000001")


@dataclass
class Delivery:
    """One receive -> invoke -> delete cycle."""

    event: dict[str, Any]
    response: Any
    failed: set[str]
    receive_counts: list[int]

    @property
    def message_ids(self) -> list[str]:
        return [record["messageId"] for record in self.event["Records"]]


@dataclass
class OrderQueueHarness:
    """The order queue and the executor behind it, driven one batch at a time."""

    sqs: SQSClient
    queue: OrderQueue
    deliveries: list[Delivery] = field(default_factory=list)

    def receive(self) -> list[MessageTypeDef]:
        """Up to ten visible messages, with every attribute, as the event source mapping polls."""
        reply = self.sqs.receive_message(
            QueueUrl=self.queue.url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return reply.get("Messages", [])

    def deliver(self, *, redeliver_failed: bool = True) -> Delivery | None:
        """Receive one batch and run the executor on it; None when nothing is visible.

        Failed messages stay in the queue; with `redeliver_failed` their visibility timeout is
        cut short so the next `deliver` receives them again (receive count + 1).
        """
        messages = self.receive()
        if not messages:
            return None
        event = sqs_lambda_event(messages, self.queue.arn)
        handler = load_function("order_executor").handler
        try:
            response = handler(event, FakeLambdaContext(function_name="order_executor"))
        except Exception as exc:  # noqa: BLE001 - as Lambda: a raise fails the whole batch
            response = exc
        completed = completed_message_ids(event, response)
        done = [m for m in messages if m["MessageId"] in completed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )
        failed = [m for m in messages if m["MessageId"] not in completed]
        if redeliver_failed:
            for message in failed:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue.url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=0,
                )
        delivery = Delivery(
            event=event,
            response=response,
            failed={m["MessageId"] for m in failed},
            receive_counts=[int(m["Attributes"]["ApproximateReceiveCount"]) for m in messages],
        )
        self.deliveries.append(delivery)
        return delivery

    def drain(self, max_rounds: int = 10) -> list[Delivery]:
        """Deliver until the queue is empty (or `max_rounds` batches ran)."""
        rounds: list[Delivery] = []
        for _ in range(max_rounds):
            delivery = self.deliver()
            if delivery is None:
                break
            rounds.append(delivery)
        return rounds

    def bodies(self) -> list[str]:
        """The bodies of the messages waiting (received and made visible again)."""
        messages = self.receive()
        for message in messages:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return [m["Body"] for m in messages]

    def depth(self) -> int:
        """Messages in the queue, visible or in flight."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def dead_letters(self) -> list[str]:
        """Bodies in the dead-letter queue."""
        reply = self.sqs.receive_message(
            QueueUrl=self.queue.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        return [m["Body"] for m in reply.get("Messages", [])]


# --- the API --------------------------------------------------------------------------------


def new_trader(email: str) -> tuple[str, str]:
    """A user as registration stores it, and a real access token: (user id, token).

    Registration and login are tested on their own; here they would only add two argon2
    hashes to every test.
    """
    from tests.support import user_in_session

    with unit_of_work() as session:
        return user_in_session(session, email)


# Risk limits far out of the way of a test about something else (a big order, many orders).
LIFTED_LIMITS: dict[str, Any] = {
    "max_open_orders": 10_000,
    "max_orders_per_minute": 10_000,
    "max_order_notional": D("1e14"),
    "max_daily_notional": D("1e14"),
}


def lift_limits(user_id: str, **limits: Any) -> None:
    """Store the user's risk limits directly: LIFTED_LIMITS, with `limits` over them."""
    from tradebot.db.models import RiskLimits

    with unit_of_work() as session:
        row = session.get(RiskLimits, user_id) or RiskLimits(user_id=user_id)
        for name, value in {**LIFTED_LIMITS, **limits}.items():
            setattr(row, name, value)
        session.add(row)


def place(token: str, body: dict[str, Any], idempotency_key: str | None = None) -> Reply:
    """POST /api/trading/trades."""
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    return call("trades_create", token=token, body=body, headers=headers)


def placed(token: str, body: dict[str, Any]) -> dict[str, Any]:
    """Place an order that must be accepted; returns the trade."""
    reply = place(token, body)
    assert reply.status == 202, reply.raw_body
    assert reply.body["status"] == "PENDING"
    trade: dict[str, Any] = reply.body
    return trade


def get_trade(token: str, trade_id: str) -> dict[str, Any]:
    """GET /api/trading/trades/{id}, which must succeed."""
    reply = call("trades_get", token=token, path_params={"trade_id": trade_id})
    assert reply.status == 200, reply.raw_body
    trade: dict[str, Any] = reply.body
    return trade


def cancel(token: str, trade_id: str) -> Reply:
    """DELETE /api/trading/trades/{id}."""
    return call("trades_cancel", token=token, path_params={"trade_id": trade_id})


def point_at_fake(monkeypatch: Any, fake: Any, timeout_s: str = "0.5") -> None:
    """Point the application's Binance clients at the fake: binance.com and the testnet."""
    from tests.support import configure

    configure(
        monkeypatch,
        binance_base_url=fake.base_url,
        binance_testnet_base_url=fake.testnet_base_url,
        binance_timeout_s=timeout_s,
    )


def store_key(token: str, api_key: str = API_KEY, api_secret: str = API_SECRET) -> None:
    """PUT the user's Binance key through the route, which checks it with the Binance fake
    (the test's `binance_fake` must know the key); the user trades live from now on."""
    reply = call(
        "api_keys_put",
        token=token,
        body={"api_key": api_key, "api_secret": api_secret, "testnet": True},
    )
    assert reply.status == 200, reply.raw_body


def remove_stored_key(user_id: str) -> None:
    """Forget the stored key behind the API's back (which refuses while live orders may be
    open): the executor and the reconciler must still cope with a key that is gone."""
    from sqlalchemy import delete
    from tradebot.db.models import ApiCredential

    with unit_of_work() as session:
        session.execute(delete(ApiCredential).where(ApiCredential.user_id == user_id))


def replace_stored_key(user_id: str, api_key: str = API_KEY, api_secret: str = API_SECRET) -> None:
    """Change the stored key behind the API's back, as a new credential (as storing one is):
    the API refuses a key change while live orders may be open, but the executor must still
    cope with one."""
    from tradebot.accounts.sealing import seal_value
    from tradebot.db.models import ApiCredential, new_id

    credential_id = new_id()
    with unit_of_work() as session:
        session.execute(
            update(ApiCredential)
            .where(ApiCredential.user_id == user_id)
            .values(
                id=credential_id,
                api_key_encrypted=seal_value(user_id, credential_id, "api_key", api_key),
                api_secret_encrypted=seal_value(user_id, credential_id, "api_secret", api_secret),
            )
        )


def run_concurrently(*runs: Callable[[], object]) -> list[BaseException | None]:
    """Start every run at the same instant on its own thread; returns each one's exception."""
    outcomes: list[BaseException | None] = [None] * len(runs)
    start = threading.Barrier(len(runs))

    def worker(index: int) -> None:
        start.wait()
        try:
            runs[index]()
        except BaseException as exc:  # noqa: BLE001 - recorded for the caller's assertions
            outcomes[index] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(runs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


# --- the stores -----------------------------------------------------------------------------


class FixedSource:
    """Exact prices for the updater, through its own seam for where prices come from."""

    def __init__(self, **prices: str) -> None:
        self.prices = {symbol: D(price) for symbol, price in prices.items()}

    def fetch(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        """The fixed price of each wanted symbol that has one."""
        return {s: p for s, p in self.prices.items() if s in symbols}

    def ranges(self, symbols: Sequence[str], since: datetime) -> dict[str, list[PriceRange]]:
        """The market stood at its fixed price all along: it traded at that price alone."""
        return {
            s: [PriceRange(opened_at=since, closed_at=None, low=p, high=p)]
            for s, p in self.prices.items()
            if s in symbols
        }


def set_prices(**prices: str) -> None:
    """Cache exact prices, e.g. set_prices(BTCUSDT="95000")."""
    from tradebot.market.prices import write_prices

    write_prices({symbol: D(price) for symbol, price in prices.items()})


def balances(user_id: str) -> dict[str, tuple[Decimal, Decimal]]:
    """The user's paper balances: asset -> (free, locked)."""
    with unit_of_work() as session:
        rows = session.scalars(select(PaperBalance).where(PaperBalance.user_id == user_id))
        return {row.asset: (row.free, row.locked) for row in rows}


def trade_row(trade_id: str) -> Trade:
    """The trade as stored (detached)."""
    with unit_of_work() as session:
        trade = session.get(Trade, trade_id)
        assert trade is not None
        return trade


def trade_rows(user_id: str) -> list[Trade]:
    """Every stored trade of the user."""
    with unit_of_work() as session:
        return list(session.scalars(select(Trade).where(Trade.user_id == user_id)))


def position(user_id: str, symbol: str) -> Position | None:
    """The user's stored position in `symbol`."""
    with unit_of_work() as session:
        return session.get(Position, {"user_id": user_id, "symbol": symbol})


def fee_down(amount: Decimal) -> Decimal:
    """0.1% of `amount`, rounded down to Binance's eight decimals."""
    return (amount * FEE_RATE).quantize(EIGHT, rounding="ROUND_DOWN")


def order_requests(fake: Any) -> list[Any]:
    """Every request the Binance fake received on /api/v3/order, oldest first."""
    return [r for r in fake.requests if r.path == ORDER_PATH]


@contextmanager
def memory_session() -> Iterator[Session]:
    """A session on a private in-memory SQLite database with the schema (for unit tests)."""
    from sqlalchemy import create_engine
    from tradebot.db.models import Base

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


class ExchangeWrapper:
    """The real exchange behind a test's wrapper: every call goes through unless overridden."""

    def __init__(self, real: Exchange) -> None:
        self.real = real

    def place_order(self, order: OrderRequest) -> OrderResult:
        return self.real.place_order(order)

    def get_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        return self.real.get_order(symbol, client_order_id)

    def open_orders(self, symbol: str | None = None) -> list[OrderResult]:
        return self.real.open_orders(symbol)

    def with_commission(self, result: OrderResult) -> OrderResult:
        return self.real.with_commission(result)

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderResult:
        return self.real.cancel_order(symbol, client_order_id)

    def balances(self) -> list[Balance]:
        return self.real.balances()

    def close(self) -> None:
        close = getattr(self.real, "close", None)
        if close is not None:
            close()


class DiesAfterPlacing(ExchangeWrapper):
    """The real exchange, except that the process 'dies' right after the order is placed."""

    def place_order(self, order: OrderRequest) -> OrderResult:
        self.real.place_order(order)
        raise RuntimeError("executor killed after placing, before recording")
