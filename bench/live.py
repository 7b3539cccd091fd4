"""Live-mode traders against the Binance HTTP fake: keys stored, orders queued for the executor."""

from __future__ import annotations

import json
from decimal import Decimal

from tradebot.accounts.schemas import ApiKeyCreate
from tradebot.accounts.service import store_api_key
from tradebot.db.engine import unit_of_work
from tradebot.orders.messages import OrderMessage

from bench.data import Account, create_account, trade_rows
from devstack.lambda_events import sqs_event
from tests.fakes.binance_server import BinanceFake

FAKE_KEY = "benchKey" + "0" * 56
FAKE_SECRET = "benchSecret" + "1" * 53
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:tradebot-orders.fifo"


def start_fake(latency_s: float) -> BinanceFake:
    """The fake with money enough for every order a run places."""
    fake = BinanceFake(api_key=FAKE_KEY, api_secret=FAKE_SECRET).start()
    fake.latency_s = latency_s
    fake.set_balance("USDT", Decimal(10) ** 12)
    return fake


def live_traders(count: int, tag: str) -> list[Account]:
    """`count` users, each with a stored (encrypted) key that the fake accepts."""
    accounts = []
    body = ApiKeyCreate.model_validate(
        {"api_key": FAKE_KEY, "api_secret": FAKE_SECRET, "testnet": True}
    )
    for i in range(count):
        account = create_account(f"live-{tag}-{i}@example.com")
        with unit_of_work() as session:
            store_api_key(session, account.user_id, body)
        accounts.append(account)
    return accounts


def queued_orders(traders: list[Account]) -> dict[str, object]:
    """One PENDING live MARKET buy per trader, and the SQS batch that names them."""
    bodies, groups = [], []
    with unit_of_work() as session:
        for account in traders:
            (trade,) = trade_rows(account.user_id, 1, status="PENDING", mode="live")
            trade.symbol, trade.side, trade.type = "BTCUSDT", "BUY", "MARKET"
            trade.quantity, trade.price = Decimal("0.001"), None
            session.add(trade)
            session.flush()
            bodies.append(OrderMessage(trade_id=trade.id, action="place").model_dump_json())
            groups.append(account.user_id)
    event = sqs_event(bodies, queue_arn=QUEUE_ARN)
    for record, group in zip(event["Records"], groups, strict=True):
        record["attributes"]["MessageGroupId"] = group
    return event


def trade_ids_of(event: dict[str, object]) -> list[str]:
    records = event["Records"]
    assert isinstance(records, list)
    return [json.loads(r["body"])["trade_id"] for r in records]
