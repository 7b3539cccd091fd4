"""The paper exchange: Binance's filters and fees against the cached market, balances in the DB.

Its order book is the trades table itself: a resting order is a trade in NEW, and matching runs
when the order is looked at (`get_order`), which the executor does when the price updater says
the price crossed it. Every method works inside the caller's transaction, so a fill, its
balance moves and the trade's new state commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tradebot.db.models import PaperBalance, Trade
from tradebot.errors import (
    FilterFailure,
    InsufficientBalance,
    InvalidInput,
    OrderRejected,
    UnknownOrder,
)
from tradebot.exchange.base import Balance, OrderRequest, OrderResult, SymbolFilters
from tradebot.exchange.filters import check_order_request, round_down
from tradebot.orders.mapping import request_of

STARTING_BALANCE = {"USDT": Decimal(10000)}
DEFAULT_FEE_RATE = Decimal("0.001")
AMOUNT = Decimal("0.00000001")  # Binance keeps balances to 8 decimals
ZERO = Decimal(0)

PriceOf = Callable[[str], Decimal]


def _amount(value: Decimal) -> Decimal:
    return value.quantize(AMOUNT, rounding=ROUND_DOWN)


def ensure_funded(session: Session, user_id: str) -> None:
    """Give a user their starting paper balance the first time they need one."""
    if session.scalar(select(PaperBalance.asset).where(PaperBalance.user_id == user_id).limit(1)):
        return
    try:
        with session.begin_nested():
            for asset, amount in STARTING_BALANCE.items():
                session.add(PaperBalance(user_id=user_id, asset=asset, free=amount, locked=ZERO))
    except IntegrityError:
        # A concurrent first request (two orders, or an order and the dashboard) funded the
        # account a moment earlier; its rows are the starting balance.
        return


def paper_balances(session: Session, user_id: str) -> list[Balance]:
    """A user's paper balances (funding them on first use)."""
    ensure_funded(session, user_id)
    rows = session.scalars(
        select(PaperBalance).where(PaperBalance.user_id == user_id).order_by(PaperBalance.asset)
    )
    return [Balance(asset=r.asset, free=r.free, locked=r.locked) for r in rows]


class PaperExchange:
    """A simulated spot exchange for one user."""

    def __init__(
        self,
        session: Session,
        user_id: str,
        filters: dict[str, SymbolFilters],
        price_of: PriceOf,
        fee_rate: Decimal = DEFAULT_FEE_RATE,
    ) -> None:
        self.session = session
        self.user_id = user_id
        self.filters = filters
        self.price_of = price_of
        self.fee_rate = fee_rate

    # --- balances -----------------------------------------------------------------------

    def _balance(self, asset: str) -> PaperBalance:
        row = self.session.scalar(
            select(PaperBalance)
            .where(PaperBalance.user_id == self.user_id, PaperBalance.asset == asset)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if row is None:
            row = PaperBalance(user_id=self.user_id, asset=asset, free=ZERO, locked=ZERO)
            self.session.add(row)
        return row

    def _lock(self, asset: str, amount: Decimal) -> None:
        row = self._balance(asset)
        _take_free(row, amount)
        row.locked += amount

    def _unlock(self, asset: str, amount: Decimal) -> None:
        row = self._balance(asset)
        row.locked -= amount
        row.free += amount

    def balances(self) -> list[Balance]:
        """This user's balances."""
        return paper_balances(self.session, self.user_id)

    # --- orders -------------------------------------------------------------------------

    def _needs(
        self, order: OrderRequest, filters: SymbolFilters, qty: Decimal
    ) -> tuple[str, Decimal]:
        """What a resting order locks: quote for a buy (at its limit), base for a sell."""
        if order.side == "BUY":
            assert order.price is not None
            return filters.quote_asset, _amount(qty * order.price)
        return filters.base_asset, qty

    def _fill(self, order: OrderRequest, filters: SymbolFilters, qty: Decimal, price: Decimal,
              *, from_locked: bool, exchange_order_id: str) -> OrderResult:  # fmt: skip
        """Execute `qty` at `price`: move balances, charge the fee in the received asset."""
        quote = _amount(qty * price)
        base_row, quote_row = self._balance(filters.base_asset), self._balance(filters.quote_asset)
        if order.side == "BUY":
            fee = _amount(qty * self.fee_rate)
            if from_locked:
                assert order.price is not None
                reserved = _amount(qty * order.price)
                quote_row.locked -= reserved
                quote_row.free += reserved - quote  # a better price than the limit refunds
            else:
                _take_free(quote_row, quote)
            base_row.free += qty - fee
            fee_asset = filters.base_asset
        else:
            fee = _amount(quote * self.fee_rate)
            if from_locked:
                base_row.locked -= qty
            else:
                _take_free(base_row, qty)
            quote_row.free += quote - fee
            fee_asset = filters.quote_asset
        return OrderResult(
            symbol=order.symbol,
            client_order_id=order.client_order_id,
            exchange_order_id=exchange_order_id,
            status="FILLED",
            executed_qty=qty,
            cumulative_quote_qty=quote,
            fee=fee,
            fee_asset=fee_asset,
        )

    def _filters(self, symbol: str) -> SymbolFilters:
        filters = self.filters.get(symbol)
        if filters is None:
            raise OrderRejected(f"Invalid symbol {symbol}", code=-1121)
        return filters

    def place_order(self, order: OrderRequest) -> OrderResult:
        """Fill a MARKET order at the latest price; rest (locking funds) or fill a LIMIT/STOP."""
        filters = self._filters(order.symbol)
        ensure_funded(self.session, self.user_id)
        market = self.price_of(order.symbol)
        try:
            check_order_request(filters, order, reference_price=market)
        except InvalidInput as exc:
            # Checked on arrival, the order may still break a filter at the fill price (the
            # notional of a market order): Binance answers -1013, a rejection, not bad input
            # that the executor would retry until the message is dead-lettered.
            raise FilterFailure(f"Filter failure: {exc.detail}", code=-1013) from exc
        order_id = f"paper-{order.client_order_id}"
        if order.type == "MARKET":
            qty = order.quantity
            if qty is None:
                assert order.quote_quantity is not None
                qty = round_down(order.quote_quantity / market, filters.step_size)
                if qty <= 0 or qty < filters.min_qty:
                    raise OrderRejected("Filter failure: LOT_SIZE", code=-1013)
            return self._fill(order, filters, qty, market, from_locked=False,
                              exchange_order_id=order_id)  # fmt: skip
        assert order.quantity is not None and order.price is not None
        if order.type == "STOP_LOSS_LIMIT":
            assert order.stop_price is not None
            if _stop_triggered(order.side, order.stop_price, market):
                raise OrderRejected("Stop price would trigger immediately.", code=-2010)
        asset, amount = self._needs(order, filters, order.quantity)
        self._lock(asset, amount)
        if order.type == "LIMIT" and _marketable(order.side, order.price, market):
            # Crossing the book on arrival fills at once, at the better market price (taker).
            return self._fill(order, filters, order.quantity, market, from_locked=True,
                              exchange_order_id=order_id)  # fmt: skip
        return OrderResult(
            symbol=order.symbol,
            client_order_id=order.client_order_id,
            exchange_order_id=order_id,
            status="NEW",
            executed_qty=ZERO,
            cumulative_quote_qty=ZERO,
        )

    def _resting(self, client_order_id: str) -> Trade:
        trade = self.session.scalar(
            select(Trade)
            .where(Trade.user_id == self.user_id, Trade.client_order_id == client_order_id)
            .with_for_update()
            # Refreshed, not the copy this session may hold: a fill or cancel that committed
            # while we waited for the lock must be seen, or its funds would move twice.
            .execution_options(populate_existing=True)
        )
        if trade is None or trade.exchange_order_id is None:
            raise UnknownOrder("Order does not exist.", code=-2013)
        return trade

    def get_order(self, symbol: str, client_order_id: str) -> OrderResult | None:  # noqa: PLR0911
        """The order's state after matching it against the latest price."""
        try:
            trade = self._resting(client_order_id)
        except UnknownOrder:
            return None
        order = request_of(trade)
        filters = self._filters(symbol)
        if trade.status not in ("NEW", "PARTIALLY_FILLED"):
            return _result_of(trade)
        market = self.price_of(symbol)
        assert order.price is not None and order.quantity is not None
        if order.type == "STOP_LOSS_LIMIT" and not trade.stop_triggered:
            assert order.stop_price is not None
            if not _stop_triggered(order.side, order.stop_price, market):
                return _result_of(trade)
            trade.stop_triggered = True
            if _marketable(order.side, order.price, market):
                return self._fill(order, filters, order.quantity, market, from_locked=True,
                                  exchange_order_id=trade.exchange_order_id or "")  # fmt: skip
            return _result_of(trade)
        if _marketable(order.side, order.price, market):
            # A resting order is filled at its own limit price (maker).
            return self._fill(order, filters, order.quantity, order.price, from_locked=True,
                              exchange_order_id=trade.exchange_order_id or "")  # fmt: skip
        return _result_of(trade)

    def with_commission(self, result: OrderResult) -> OrderResult:
        """`result` as it is: the paper exchange reports every fill with its fee."""
        return result

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderResult:
        """Cancel a resting order and release what it locked."""
        trade = self._resting(client_order_id)
        if trade.status not in ("NEW", "PARTIALLY_FILLED"):
            raise UnknownOrder("Unknown order sent.", code=-2011)
        order = request_of(trade)
        filters = self._filters(symbol)
        asset, amount = self._needs(order, filters, order.quantity or ZERO)
        self._unlock(asset, amount)
        result = _result_of(trade)
        return OrderResult(
            symbol=result.symbol,
            client_order_id=result.client_order_id,
            exchange_order_id=result.exchange_order_id,
            status="CANCELED",
            executed_qty=result.executed_qty,
            cumulative_quote_qty=result.cumulative_quote_qty,
            fees=result.fees,
        )


def _take_free(row: PaperBalance, amount: Decimal) -> None:
    """Debit `amount` from the free balance, refusing as Binance does when it is short."""
    if row.free < amount:
        raise InsufficientBalance(
            f"Account has insufficient balance for requested action: need {amount} {row.asset}, "
            f"have {row.free} free"
        )
    row.free -= amount


def _marketable(side: str, limit: Decimal, market: Decimal) -> bool:
    return market <= limit if side == "BUY" else market >= limit


def _stop_triggered(side: str, stop: Decimal, market: Decimal) -> bool:
    # Binance STOP_LOSS_LIMIT: a sell stops out when the price falls to the stop, a buy when
    # it rises to it.
    return market <= stop if side == "SELL" else market >= stop


def _result_of(trade: Trade) -> OrderResult:
    return OrderResult(
        symbol=trade.symbol,
        client_order_id=trade.client_order_id,
        exchange_order_id=trade.exchange_order_id or "",
        status=trade.status,  # type: ignore[arg-type]
        executed_qty=trade.executed_qty,
        cumulative_quote_qty=trade.cumulative_quote_qty,
        fees=tuple((fee["asset"], Decimal(fee["amount"])) for fee in trade.fees or []),
    )
