"""Checks an order must pass before it is queued: filters, the market, the free balance."""

from __future__ import annotations

from decimal import Decimal

from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from tradebot.errors import InvalidInput, NotFound, ServiceUnavailable
from tradebot.exchange.base import Balance, SymbolFilters
from tradebot.exchange.filters import check_order
from tradebot.exchange.paper import paper_balances
from tradebot.market.prices import read_price
from tradebot.market.symbols import filters_for
from tradebot.orders.schemas import TradeCreate, plain

# A market buy by quantity reserves this much above the last price for slippage.
MARKET_BUFFER = Decimal("1.01")


def _market_price(symbol: str, needed: bool) -> Decimal | None:
    try:
        return read_price(symbol).price
    except NotFound:
        return None
    except RedisError as exc:
        # Redis is the only source of prices. A LIMIT order carries its own price and is checked
        # without one; a MARKET or stop order cannot be, so the caller learns to retry (503).
        if needed:
            raise ServiceUnavailable("Prices are unavailable right now; try again shortly") from exc
        return None


def check_against_market(body: TradeCreate) -> tuple[SymbolFilters, Decimal | None]:
    """Filters (tick, step, min qty, min notional) and a stop that would trigger at once."""
    filters = filters_for(body.symbol)
    market = _market_price(body.symbol, needed=body.type != "LIMIT")
    check_order(
        filters,
        body.side,
        body.type,
        body.quantity,
        body.price,
        stop_price=body.stop_price,
        reference_price=market,
        quote_quantity=body.quote_quantity,
    )
    if body.type != "MARKET" and body.quote_quantity is not None:
        raise InvalidInput.on("quote_quantity", "is only allowed on MARKET orders")
    if body.type == "MARKET" and (body.price is not None or body.stop_price is not None):
        field = "price" if body.price is not None else "stop_price"
        raise InvalidInput.on(field, "is not allowed on MARKET orders")
    if body.type == "LIMIT" and body.stop_price is not None:
        raise InvalidInput.on("stop_price", "is only allowed on STOP_LOSS_LIMIT orders")
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


def _live_balances(session: Session, user_id: str) -> list[Balance]:
    from tradebot.portfolio.live import live_balances

    return live_balances(session, user_id)


def check_affordable(session: Session, user_id: str, body: TradeCreate, *, live: bool) -> None:
    """422 naming the amount field when the free balance cannot cover the order."""
    filters, market = check_against_market(body)
    asset, needed = required_funds(body, filters, market)
    balances = _live_balances(session, user_id) if live else paper_balances(session, user_id)
    free = next((b.free for b in balances if b.asset == asset), Decimal(0))
    if free < needed:
        field = "quote_quantity" if body.quote_quantity is not None else "quantity"
        raise InvalidInput.on(
            field,
            f"insufficient balance: needs {plain(needed)} {asset}, {plain(free)} free",
        )
