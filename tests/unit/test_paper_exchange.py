"""The paper exchange on its own: Binance's filters and fees, balances to the last satoshi.

Runs on a private in-memory SQLite database; prices come from a dict the test sets.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tradebot.db.models import PaperBalance, Trade
from tradebot.errors import (
    FilterFailure,
    InsufficientBalance,
    OrderRejected,
    PermanentExchangeError,
    UnknownOrder,
)
from tradebot.exchange.base import OrderRequest, OrderResult
from tradebot.exchange.paper import PaperExchange
from tradebot.exchange.snapshot import load_snapshot_filters

from tests.trading_support import STARTING_USDT, D, fee_down, memory_session

USER = "user-1"


class Market:
    """The prices the paper exchange sees."""

    def __init__(self) -> None:
        self.prices = {"BTCUSDT": D("95000.00"), "ETHUSDT": D("3400.00")}

    def __call__(self, symbol: str) -> Decimal:
        return self.prices[symbol]


@pytest.fixture
def session() -> Iterator[Session]:
    with memory_session() as session:
        yield session


@pytest.fixture
def market() -> Market:
    return Market()


@pytest.fixture
def paper(session: Session, market: Market) -> PaperExchange:
    return PaperExchange(session, USER, load_snapshot_filters(), market)


def balances(session: Session) -> dict[str, tuple[Decimal, Decimal]]:
    session.flush()
    rows = session.scalars(select(PaperBalance).where(PaperBalance.user_id == USER))
    return {r.asset: (r.free, r.locked) for r in rows if r.free or r.locked}


def order(
    side: str = "BUY",
    type: str = "MARKET",
    client_id: str = "c-1",
    **amounts: str,
) -> OrderRequest:
    return OrderRequest(
        "BTCUSDT",
        side,  # type: ignore[arg-type]
        type,  # type: ignore[arg-type]
        client_id,
        **{name: D(value) for name, value in amounts.items()},
    )


def book(session: Session, request: OrderRequest, result: OrderResult) -> Trade:
    """Record a placed order as the executor would: the trades table is the paper book."""
    trade = Trade(
        user_id=USER,
        symbol=request.symbol,
        side=request.side,
        type=request.type,
        quantity=request.quantity,
        price=request.price,
        stop_price=request.stop_price,
        status=result.status,
        executed_qty=result.executed_qty,
        cumulative_quote_qty=result.cumulative_quote_qty,
        fee=result.fee,
        client_order_id=request.client_order_id,
        exchange_order_id=result.exchange_order_id,
        trading_mode="paper",
    )
    session.add(trade)
    session.flush()
    return trade


def rest(session: Session, paper: PaperExchange, request: OrderRequest) -> Trade:
    result = paper.place_order(request)
    assert result.status == "NEW"
    return book(session, request, result)


def test_a_new_account_starts_with_10000_usdt(paper: PaperExchange) -> None:
    assert [(b.asset, b.free, b.locked) for b in paper.balances()] == [
        ("USDT", STARTING_USDT, D(0))
    ]


def test_a_market_buy_spends_quote_and_receives_base_less_the_fee(
    session: Session, paper: PaperExchange
) -> None:
    result = paper.place_order(order(quantity="0.01234"))

    cost = D("0.01234") * D("95000.00")
    fee = fee_down(D("0.01234"))
    assert (result.status, result.executed_qty, result.cumulative_quote_qty) == (
        "FILLED",
        D("0.01234"),
        cost,
    )
    assert (result.fee, result.fee_asset) == (fee, "BTC")
    assert result.avg_price == D(95000)
    assert balances(session) == {
        "USDT": (STARTING_USDT - cost, D(0)),
        "BTC": (D("0.01234") - fee, D(0)),
    }


def test_a_market_sell_charges_the_fee_in_quote_rounded_down_to_eight_decimals(
    session: Session, paper: PaperExchange, market: Market
) -> None:
    paper.place_order(order(quantity="0.01"))
    market.prices["BTCUSDT"] = D("95123.47")

    result = paper.place_order(order("SELL", client_id="c-2", quantity="0.00333"))

    proceeds = D("0.00333") * D("95123.47")  # 316.7611551
    assert proceeds == D("316.7611551")
    assert result.fee == D("0.31676115")  # 0.3167611551 rounded down
    assert result.fee_asset == "USDT"
    assert balances(session) == {
        "USDT": (STARTING_USDT - D(950) + proceeds - D("0.31676115"), D(0)),
        "BTC": (D("0.01") - D("0.00001") - D("0.00333"), D(0)),
    }


def test_a_market_buy_by_quote_quantity_below_one_step_is_a_filter_failure(
    paper: PaperExchange, market: Market
) -> None:
    market.prices["BTCUSDT"] = D("600000.00")  # 5 USDT buys less than one 0.00001 step

    with pytest.raises(OrderRejected, match="LOT_SIZE"):
        paper.place_order(order(quote_quantity="5"))


def test_an_order_below_the_minimum_notional_at_the_fill_price_is_an_exchange_rejection(
    paper: PaperExchange, market: Market
) -> None:
    # Valid when accepted (0.00006 x 95000 = 5.70), below 5 USDT once the price fell.
    market.prices["BTCUSDT"] = D("80000.00")

    with pytest.raises(FilterFailure, match="NOTIONAL") as caught:
        paper.place_order(order(quantity="0.00006"))

    assert isinstance(caught.value, PermanentExchangeError)
    assert caught.value.code == -1013


def test_a_market_buy_beyond_the_free_balance_is_insufficient_balance(
    session: Session, paper: PaperExchange
) -> None:
    with pytest.raises(InsufficientBalance):
        paper.place_order(order(quantity="0.2"))


def test_an_unknown_symbol_is_rejected_like_binance(paper: PaperExchange) -> None:
    with pytest.raises(OrderRejected) as caught:
        paper.place_order(OrderRequest("FOOUSDT", "BUY", "MARKET", "c-1", quantity=D(1)))

    assert caught.value.code == -1121


def test_a_resting_limit_buy_locks_quantity_times_limit_and_fills_at_the_limit(
    session: Session, paper: PaperExchange, market: Market
) -> None:
    request = order(type="LIMIT", quantity="0.01", price="94000.00")
    rest(session, paper, request)
    assert balances(session) == {"USDT": (STARTING_USDT - D(940), D(940))}

    assert paper.get_order("BTCUSDT", "c-1") == OrderResult(
        "BTCUSDT", "c-1", "paper-c-1", "NEW", D(0), D(0)
    )
    market.prices["BTCUSDT"] = D("93000.00")
    filled = paper.get_order("BTCUSDT", "c-1")

    assert filled is not None
    assert (filled.status, filled.avg_price) == ("FILLED", D(94000))
    assert balances(session) == {
        "USDT": (STARTING_USDT - D(940), D(0)),
        "BTC": (D("0.01") - fee_down(D("0.01")), D(0)),
    }


def test_canceling_a_resting_order_releases_exactly_what_it_locked(
    session: Session, paper: PaperExchange
) -> None:
    rest(session, paper, order(type="LIMIT", quantity="0.00123", price="91234.56"))

    result = paper.cancel_order("BTCUSDT", "c-1")

    assert result.status == "CANCELED"
    assert balances(session) == {"USDT": (STARTING_USDT, D(0))}


def test_a_stop_loss_triggers_at_the_stop_and_fills_at_the_market_when_reachable(
    session: Session, paper: PaperExchange, market: Market
) -> None:
    paper.place_order(order(quantity="0.01"))
    trade = rest(
        session,
        paper,
        order(
            "SELL", "STOP_LOSS_LIMIT", "c-2", quantity="0.005", price="93000", stop_price="94000"
        ),
    )
    held = D("0.01") - D("0.00001")
    assert balances(session)["BTC"] == (held - D("0.005"), D("0.005"))

    market.prices["BTCUSDT"] = D("94000.01")
    assert paper.get_order("BTCUSDT", "c-2").status == "NEW"  # type: ignore[union-attr]
    assert trade.stop_triggered is False

    market.prices["BTCUSDT"] = D("93500.00")
    filled = paper.get_order("BTCUSDT", "c-2")

    assert filled is not None
    assert (filled.status, filled.avg_price) == ("FILLED", D(93500))
    assert trade.stop_triggered is True
    proceeds = D("0.005") * D(93500)
    assert balances(session) == {
        "USDT": (STARTING_USDT - D(950) + proceeds - fee_down(proceeds), 0),
        "BTC": (held - D("0.005"), 0),
    }


def test_a_buy_stop_triggers_when_the_price_rises_and_refunds_below_its_limit(
    session: Session, paper: PaperExchange, market: Market
) -> None:
    trade = rest(
        session,
        paper,
        order("BUY", "STOP_LOSS_LIMIT", quantity="0.01", price="96500", stop_price="96000"),
    )
    assert balances(session) == {"USDT": (STARTING_USDT - D(965), D(965))}

    market.prices["BTCUSDT"] = D("96200.00")
    filled = paper.get_order("BTCUSDT", "c-1")

    assert filled is not None
    assert (filled.status, filled.avg_price) == ("FILLED", D(96200))
    assert trade.stop_triggered is True
    assert balances(session) == {
        "USDT": (STARTING_USDT - D(962), D(0)),
        "BTC": (D("0.01") - fee_down(D("0.01")), D(0)),
    }


def test_a_stop_that_would_trigger_on_arrival_is_rejected(paper: PaperExchange) -> None:
    paper.place_order(order(quantity="0.01"))

    with pytest.raises(OrderRejected, match="trigger immediately"):
        paper.place_order(
            order(
                "SELL",
                "STOP_LOSS_LIMIT",
                "c-2",
                quantity="0.005",
                price="95000",
                stop_price="96000",
            )
        )


def test_unknown_orders_are_none_on_lookup_and_unknown_on_cancel(paper: PaperExchange) -> None:
    assert paper.get_order("BTCUSDT", "never-placed") is None
    with pytest.raises(UnknownOrder):
        paper.cancel_order("BTCUSDT", "never-placed")


def test_a_filled_order_cannot_be_canceled(session: Session, paper: PaperExchange) -> None:
    request = order(quantity="0.001")
    book(session, request, paper.place_order(request))

    with pytest.raises(UnknownOrder):
        paper.cancel_order("BTCUSDT", "c-1")
