"""Live-mode traders against the Binance HTTP fake: keys stored, orders queued for the executor."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select
from tradebot.accounts.keycheck import CheckedKey
from tradebot.accounts.schemas import ApiKeyCreate
from tradebot.accounts.service import store_api_key
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential
from tradebot.orders.messages import OrderMessage

from bench.data import Account, create_account, trade_rows
from bench.env import BENCH_WEIGHT_LIMIT
from devstack.lambda_events import sqs_event
from tests.fakes.binance_server import BinanceFake

FAKE_KEY = "benchKey" + "0" * 56
FAKE_SECRET = "benchSecret" + "1" * 53
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:tradebot-orders.fifo"
# The key the warm section's PUT /api/account/api-keys stores: Binance checks it first.
ROUTE_KEY = ("A" * 64, "B" * 64)


def start_fake(latency_s: float) -> BinanceFake:
    """The fake with money enough for every order a run places."""
    fake = BinanceFake(api_key=FAKE_KEY, api_secret=FAKE_SECRET).start()
    fake.latency_s = latency_s
    fake.set_balance("USDT", Decimal(10) ** 12)
    fake.weight_limit = BENCH_WEIGHT_LIMIT
    fake.other_keys[ROUTE_KEY[0]] = ROUTE_KEY[1]
    return fake


def trader_key(i: int) -> tuple[str, str]:
    """The i-th trader's own key and secret (each trader is its own Binance account)."""
    return f"{FAKE_KEY[:-8]}{i + 1:08d}", f"{FAKE_SECRET[:-8]}{i + 1:08d}"


def live_traders(count: int, tag: str, fake: BinanceFake | None = None) -> list[Account]:
    """`count` users, each with a stored (encrypted) key that the fake accepts: their own when
    `fake` is given (Binance's order-count limits are per account), else the fake's one key."""
    accounts = []
    for i in range(count):
        api_key, api_secret = trader_key(i) if fake is not None else (FAKE_KEY, FAKE_SECRET)
        if fake is not None:
            fake.other_keys[api_key] = api_secret
        body = ApiKeyCreate.model_validate(
            {"api_key": api_key, "api_secret": api_secret, "testnet": True}
        )
        account = create_account(f"live-{tag}-{i}@example.com")
        with unit_of_work() as session:
            store_api_key(session, account.user_id, body, CheckedKey(None, ["read", "spot"]))
        accounts.append(account)
    return accounts


def queued_orders(traders: list[Account]) -> dict[str, object]:
    """One PENDING live MARKET buy per trader, and the SQS batch that names them."""
    bodies, groups = [], []
    with unit_of_work() as session:
        for account in traders:
            (trade,) = trade_rows(account.user_id, 1, status="PENDING", mode="live")
            # Accepted for the trader's stored key, as the API records it.
            trade.credential_id = session.scalar(
                select(ApiCredential.id).where(ApiCredential.user_id == account.user_id)
            )
            trade.venue = "testnet"
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
