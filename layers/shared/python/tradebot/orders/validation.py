"""Checks an order must pass before it is queued: filters, the market, the free balance."""

from __future__ import annotations

from decimal import Decimal

from redis.exceptions import RedisError
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from tradebot.db.models import Trade
from tradebot.errors import InvalidInput, NotFound, ServiceUnavailable
from tradebot.exchange.base import ALGO_ORDER_TYPES, Balance, SymbolFilters
from tradebot.exchange.filters import check_order
from tradebot.exchange.paper import paper_balances
from tradebot.market.prices import read_price
from tradebot.market.symbols import filters_for
from tradebot.orders.schemas import TradeCreate, plain

# A market buy by quantity reserves this much above the last price for slippage.
MARKET_BUFFER = Decimal("1.01")
# Statuses Binance would count as an open order on the symbol. RECONCILING (an order whose
# state is being re-read from the exchange) is named here before every module knows it, so a
# trade in it is counted the moment the status exists.
COUNTED_OPEN = ("PENDING", "NEW", "PARTIALLY_FILLED", "RECONCILING")


def _market_price(body: TradeCreate, filters: SymbolFilters) -> Decimal | None:
    """The cached market price the checks compare with; None when there is none to use.

    A MARKET or stop order is always checked against the market, a LIMIT order only for
    PERCENT_PRICE_BY_SIDE. A stale price is not checked against (503, try again): the bounds
    it gives are wrong by however far the market moved. No price at all skips the checks that
    need one, as before: a LIMIT order carries its own price, a MARKET order is refused below.
    """
    needed = body.type != "LIMIT"
    if not needed and not filters.percent_price_applies:
        return None
    try:
        cached = read_price(body.symbol)
    except NotFound:
        return None
    except RedisError as exc:
        # Redis is the only source of prices. A LIMIT order is checked without one (the
        # exchange applies PERCENT_PRICE_BY_SIDE itself); a MARKET or stop order cannot be, so
        # the caller learns to retry (503).
        if needed:
            raise ServiceUnavailable("Prices are unavailable right now; try again shortly") from exc
        return None
    if cached.stale:
        raise ServiceUnavailable(
            f"The market price of {body.symbol} is out of date (last read "
            f"{cached.updated_at.isoformat()}); try again shortly"
        )
    return cached.price


def open_order_counts(session: Session, user_id: str, symbol: str) -> tuple[int, int]:
    """The user's open orders on `symbol`: all of them, and the algo (stop) ones among them."""
    algo = case((Trade.type.in_(sorted(ALGO_ORDER_TYPES)), 1), else_=0)
    total, stops = session.execute(
        select(func.count(), func.coalesce(func.sum(algo), 0)).where(
            Trade.user_id == user_id, Trade.symbol == symbol, Trade.status.in_(COUNTED_OPEN)
        )
    ).one()
    return int(total), int(stops)


def _check_stop_limit_side(body: TradeCreate) -> None:
    """A protective stop whose limit is on the wrong side of its stop cannot fill when hit."""
    if body.type != "STOP_LOSS_LIMIT" or body.price is None or body.stop_price is None:
        return
    if body.side == "SELL" and body.price > body.stop_price:
        raise InvalidInput.on(
            "price",
            f"a SELL stop-loss sells once the market falls to stop_price {plain(body.stop_price)}"
            f", so its limit price must be at or below it; nearest valid: "
            f"{plain(body.stop_price)}",
        )
    if body.side == "BUY" and body.price < body.stop_price:
        raise InvalidInput.on(
            "price",
            f"a BUY stop buys once the market rises to stop_price {plain(body.stop_price)}, so "
            f"its limit price must be at or above it; nearest valid: {plain(body.stop_price)}",
        )


def check_against_market(
    body: TradeCreate, open_orders: tuple[int, int] | None = None
) -> tuple[SymbolFilters, Decimal | None]:
    """Every filter of the symbol, the market price's freshness, and a stop's placement.

    `open_orders` is (all, stop) orders the user has open on the symbol, for MAX_NUM_ORDERS
    and MAX_NUM_ALGO_ORDERS; None skips those two.
    """
    filters = filters_for(body.symbol)
    market = _market_price(body, filters)
    total, stops = open_orders if open_orders is not None else (None, None)
    check_order(
        filters,
        body.side,
        body.type,
        body.quantity,
        body.price,
        stop_price=body.stop_price,
        reference_price=market,
        quote_quantity=body.quote_quantity,
        open_orders=total,
        open_algo_orders=stops,
    )
    if body.type != "MARKET" and body.quote_quantity is not None:
        raise InvalidInput.on("quote_quantity", "is only allowed on MARKET orders")
    if body.type == "MARKET" and (body.price is not None or body.stop_price is not None):
        field = "price" if body.price is not None else "stop_price"
        raise InvalidInput.on(field, "is not allowed on MARKET orders")
    if body.type == "LIMIT" and body.stop_price is not None:
        raise InvalidInput.on("stop_price", "is only allowed on STOP_LOSS_LIMIT orders")
    _check_stop_limit_side(body)
    if body.type == "STOP_LOSS_LIMIT" and market is not None and body.stop_price is not None:
        triggers = market <= body.stop_price if body.side == "SELL" else market >= body.stop_price
        if triggers:
            direction = "below" if body.side == "SELL" else "above"
            raise InvalidInput.on(
                "stop_price",
                f"would trigger immediately at the market price {plain(market)}; "
                f"a {body.side} stop must be {direction} it",
            )
    if body.type == "MARKET" and market is None:
        raise InvalidInput.on("symbol", f"no market price for {body.symbol} yet; try again shortly")
    return filters, market


def required_funds(
    body: TradeCreate, filters: SymbolFilters, market: Decimal | None
) -> tuple[str, Decimal]:
    """The asset and amount the order needs free."""
    if body.side == "BUY":
        if body.quote_quantity is not None:
            return filters.quote_asset, body.quote_quantity
        price = body.price if body.type != "MARKET" else (market or Decimal(0)) * MARKET_BUFFER
        assert body.quantity is not None and price is not None
        return filters.quote_asset, body.quantity * price
    if body.quantity is not None:
        return filters.base_asset, body.quantity
    assert body.quote_quantity is not None and market
    return filters.base_asset, body.quote_quantity / market


def order_notional(body: TradeCreate, market: Decimal | None) -> Decimal:
    """The order's value in the quote asset: quantity x its price (LIMIT, STOP_LOSS_LIMIT) or
    x the market price (MARKET), or a MARKET order's quote_quantity."""
    if body.quote_quantity is not None:
        return body.quote_quantity
    price = market if body.type == "MARKET" else body.price
    assert body.quantity is not None and price is not None  # check_against_market made sure
    return body.quantity * price


def _live_balances(session: Session, user_id: str) -> list[Balance]:
    from tradebot.portfolio.live import live_balances

    return live_balances(session, user_id)


def check_affordable(session: Session, user_id: str, body: TradeCreate, *, live: bool) -> Decimal:
    """422 naming the amount field when the free balance cannot cover the order; else the
    order's notional (`order_notional`)."""
    counts = open_order_counts(session, user_id, body.symbol)
    filters, market = check_against_market(body, counts)
    asset, needed = required_funds(body, filters, market)
    balances = _live_balances(session, user_id) if live else paper_balances(session, user_id)
    free = next((b.free for b in balances if b.asset == asset), Decimal(0))
    if free < needed:
        field = "quote_quantity" if body.quote_quantity is not None else "quantity"
        raise InvalidInput.on(
            field,
            f"insufficient balance: needs {plain(needed)} {asset}, {plain(free)} free",
        )
    return order_notional(body, market)
