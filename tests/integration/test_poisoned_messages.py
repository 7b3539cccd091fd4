"""A message that can never succeed must not hold a user's queue: real visibility timeouts.

The order queue here keeps its visibility timeout (2 s, not zero): a message the executor fails
stays hidden that long before its next receive, and holds its message group (its user) meanwhile,
as on AWS. Batches are received, handed to `functions/order_executor` and deleted per
`batchItemFailures`, as the event source mapping does; nothing is made visible early.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.binance_server import BinanceFake
from tests.integration.conftest import MAX_RECEIVES, open_order_queue
from tests.trading_support import (
    OrderQueueHarness,
    cancel,
    get_trade,
    order_requests,
    placed,
    set_prices,
    store_key,
)

User = tuple[str, str]
VISIBILITY_S = 2


@pytest.fixture
def slow_queue(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[OrderQueueHarness]:
    """The order queue with a real (short) visibility timeout, and the settings that match it."""
    yield from open_order_queue(moto_endpoint, monkeypatch, visibility_timeout_s=VISIBILITY_S)


@pytest.fixture
def live_trader(slow_queue: OrderQueueHarness, binance_fake: BinanceFake, trader: User) -> User:
    _, token = trader
    store_key(token)
    set_prices(**{symbol: str(price) for symbol, price in binance_fake.prices.items()})
    return trader


def limit_buy(price: str = "94000") -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "quantity": "0.001",
        "price": price,
    }


def market_buy() -> dict[str, Any]:
    return {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}


def run_until_done(
    queue: OrderQueueHarness, token_of: dict[str, str], within_s: float
) -> dict[str, tuple[int, float]]:
    """Poll as the event source mapping does until every trade left PENDING (or `within_s`
    passed): trade id -> (the batch, counted from 1, and the seconds after which it did)."""
    started = time.monotonic()
    done: dict[str, tuple[int, float]] = {}
    batches = 0
    while len(done) < len(token_of) and time.monotonic() - started < within_s:
        if queue.deliver(redeliver_failed=False) is None:
            time.sleep(0.1)
            continue
        batches += 1
        for trade_id, token in token_of.items():
            if trade_id not in done and get_trade(token, trade_id)["status"] != "PENDING":
                done[trade_id] = (batches, time.monotonic() - started)
    return done


def test_a_sync_poisoned_by_a_revoked_key_holds_back_neither_its_user_nor_another(
    slow_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    other_trader: User,
) -> None:
    # Given a resting live order, the price update's sync for it, then the same user's next
    # order and another user's order, all queued; and Binance revokes the key meanwhile
    from tradebot.market.updater import refresh_prices

    from tests.trading_support import FixedSource

    _, token = live_trader
    _, other_token = other_trader
    resting = placed(token, limit_buy())
    slow_queue.drain()
    assert get_trade(token, resting["id"])["status"] == "NEW"
    assert refresh_prices(FixedSource(BTCUSDT="95000")).triggered == 1
    next_order = placed(token, market_buy())
    elsewhere = placed(other_token, market_buy())  # a paper trader
    binance_fake.api_key = "revoked" * 8

    # When the queue is polled for at most two visibility timeouts
    done = run_until_done(
        slow_queue,
        {next_order["id"]: token, elsewhere["id"]: other_token},
        within_s=2 * VISIBILITY_S,
    )

    # Then the other user's order ran in the first batch, and so did the same user's next order
    # (it did not wait for five receives of the poisoned sync)
    assert done[elsewhere["id"]][0] == 1
    assert next_order["id"] in done
    assert done[next_order["id"]][0] == 1  # the same batch: nothing waited for a redelivery
    # (the sync found the key revoked, so the order is never sent with it: FAILED, not placed)
    ended = get_trade(token, next_order["id"])
    assert ended["status"] == "FAILED"
    assert "refused the stored API key" in ended["reason"]
    placements = [r.params.get("newClientOrderId") for r in order_requests(binance_fake)]
    assert ended["client_order_id"] not in placements
    assert slow_queue.depth() == 0
    assert slow_queue.dead_letters() == []


def test_a_cancel_poisoned_by_a_revoked_key_holds_back_neither_its_user_nor_another(
    slow_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    other_trader: User,
) -> None:
    _, token = live_trader
    _, other_token = other_trader
    resting = placed(token, limit_buy())
    slow_queue.drain()
    assert cancel(token, resting["id"]).status == 202
    next_order = placed(token, limit_buy(price="93000"))
    elsewhere = placed(other_token, market_buy())
    binance_fake.api_key = "revoked" * 8

    done = run_until_done(
        slow_queue,
        {next_order["id"]: token, elsewhere["id"]: other_token},
        within_s=2 * VISIBILITY_S,
    )

    assert done[elsewhere["id"]][0] == 1
    assert next_order["id"] in done
    assert done[next_order["id"]][0] == 1  # the same batch: nothing waited for a redelivery
    kept = get_trade(token, resting["id"])
    assert kept["status"] == "NEW"
    assert "cancel could not be carried out" in kept["reason"]
    assert slow_queue.depth() == 0


def test_a_retryable_failure_still_holds_its_user_for_at_most_the_configured_bound(
    slow_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    other_trader: User,
    recorded_sleeps: list[float],
) -> None:
    # Given a cancel whose every Binance call fails with a 503 for one delivery
    _, token = live_trader
    _, other_token = other_trader
    resting = placed(token, limit_buy())
    slow_queue.drain()
    assert cancel(token, resting["id"]).status == 202
    next_order = placed(token, limit_buy(price="93000"))
    elsewhere = placed(other_token, market_buy())
    binance_fake.fail_next("503", count=3, path="/api/v3/order")

    done = run_until_done(
        slow_queue,
        {next_order["id"]: token, elsewhere["id"]: other_token},
        within_s=VISIBILITY_S * MAX_RECEIVES,
    )

    # Then the other user is not held; the same user's next order waits for the cancel's
    # redelivery (the second batch, one visibility timeout here), not for maxReceiveCount of them
    assert done[elsewhere["id"]][0] == 1
    assert done[next_order["id"]][0] == 2  # the batch that redelivered the cancel
    assert done[next_order["id"]][1] >= VISIBILITY_S  # not before the cancel was visible again
    # and the cancel, retried, is carried out
    deadline = time.monotonic() + VISIBILITY_S * MAX_RECEIVES
    while slow_queue.depth() and time.monotonic() < deadline:
        if slow_queue.deliver(redeliver_failed=False) is None:
            time.sleep(0.1)
    assert get_trade(token, resting["id"])["status"] == "CANCELED"
