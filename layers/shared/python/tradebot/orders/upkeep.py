"""Following orders up once they are on the exchange: cancel, sync one, sync a user's orders.

`OrderUpkeep` is mixed into `Executor` (orders/executor.py), whose dataclass fields are the
seams declared here. It also holds the steps placing shares with the follow-up: recording an
outcome under the trade's row lock, and reading the fee of a fill that was reported without one.

A cancel or sync the exchange refuses for good (a refused key, an order it does not know) is
resolved with the reason recorded, never raised: raising would hold the user's whole message
group for every redelivery. Only retryable errors raise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import partial

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, load_only

from tradebot.crypto.vault import ExchangeCredentials
from tradebot.db.engine import unit_of_work
from tradebot.db.models import Trade
from tradebot.errors import (
    InvalidApiKey,
    PermanentExchangeError,
    RetryableExchangeError,
    UnknownOrder,
)
from tradebot.exchange.base import Exchange, OrderResult
from tradebot.exchange.factory import paper_exchange
from tradebot.exchange.paper import PaperExchange
from tradebot.exchange.retry import with_retries
from tradebot.orders.recording import record_result
from tradebot.orders.state import OPEN
from tradebot.orders.sync import (
    OpenOrder,
    cancel_not_done,
    current_key,
    key_refused,
    open_live_orders,
    plan_listing,
    refuse_key,
    sync_done,
    vanished,
)

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
LiveExchangeFactory = Callable[[ExchangeCredentials], Exchange]
NOTHING_RECORDED = Decimal(0)

# Recording an outcome reads only what recording needs (any other attribute still loads when
# touched): fewer columns to convert, the timestamps above all.
LOCK_FOR_OUTCOME = (
    select(Trade)
    .options(
        load_only(
            Trade.status,
            Trade.user_id,
            Trade.symbol,
            Trade.side,
            Trade.trading_mode,
            Trade.executed_qty,
            Trade.cumulative_quote_qty,
            Trade.fee,
            Trade.fee_asset,
            Trade.fees,
            Trade.fee_pending,
            Trade.exchange_order_id,
        )
    )
    .where(Trade.id == bindparam("trade_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


class OrderUpkeep:
    """Cancel and sync of orders already sent, and the outcome and fee steps placing shares.

    A mixin: the class that inherits it (`Executor`) provides the seams annotated here.
    """

    live_exchange: LiveExchangeFactory
    clock: Clock
    attempts: int
    sleep: Callable[[float], None]

    # --- cancel and sync ----------------------------------------------------------------

    def _cancel(self, trade_id: str) -> None:
        """Cancel an open order; a PENDING one keeps its cancel request for placing."""
        with unit_of_work() as session:
            trade = session.get(Trade, trade_id, with_for_update=True, populate_existing=True)
            if trade is None or trade.status not in OPEN:
                # A PENDING trade keeps its cancel request, which placing honours.
                return
            if trade.trading_mode == "paper":
                exchange = paper_exchange(session, trade.user_id)
                record_result(
                    session, trade, exchange.cancel_order(trade.symbol, trade.client_order_id)
                )
                return
            key = current_key(session, trade.user_id)
            if key is None:
                # Asked after current_key, which marks a key failing its binding check.
                refused = key_refused(session, trade.user_id)
                cancel_not_done(trade, refused or "no API key is stored")
                return
            symbol, client_id, recorded = trade.symbol, trade.client_order_id, trade.executed_qty
            user_id = trade.user_id
        credential_id, credentials = key
        live = self.live_exchange(credentials)
        try:
            try:
                result = with_retries(
                    lambda: live.cancel_order(symbol, client_id), self.attempts, sleep=self.sleep
                )
            except UnknownOrder as exc:
                # Filled (or expired) between the request and now: record what it became.
                found = with_retries(
                    lambda: live.get_order(symbol, client_id), self.attempts, sleep=self.sleep
                )
                if found is None:
                    self._finish(trade_id, vanished)
                    return
                refusal: str | None = exc.detail if found.status in OPEN else None
                result = found
            else:
                refusal = None
            # Neither a cancel answer nor a look-up lists fills: a fill since the last report
            # needs its fee read before it is recorded.
            result = self._with_fee(live, result, recorded)
        except InvalidApiKey as exc:
            self._refuse_key(user_id, credential_id, exc, canceling=trade_id)
            return
        except PermanentExchangeError as exc:
            detail = exc.detail
            self._finish(trade_id, lambda _s, t: cancel_not_done(t, detail))
            return
        finally:
            close_exchange(live)
        self._finish(trade_id, lambda s, t: _record_cancel(s, t, result, refusal))

    def _sync(self, trade_id: str) -> None:
        """Bring an open order up to date: paper matches it against the latest price."""
        with unit_of_work() as session:
            trade = session.get(Trade, trade_id, with_for_update=True, populate_existing=True)
            if trade is None:
                return
            trade.sync_requested_at = None  # committed even when the look-up below raises
            if trade.status not in OPEN:
                return
            if trade.trading_mode == "paper":
                paper: PaperExchange = paper_exchange(session, trade.user_id)
                result = paper.get_order(trade.symbol, trade.client_order_id)
                if result is not None:
                    record_result(session, trade, result)
                return
            key = current_key(session, trade.user_id)
            symbol, client_id, recorded = trade.symbol, trade.client_order_id, trade.executed_qty
            user_id = trade.user_id
        if key is None:
            return
        credential_id, credentials = key
        live = self.live_exchange(credentials)
        try:
            found = with_retries(
                lambda: live.get_order(symbol, client_id), self.attempts, sleep=self.sleep
            )
            if found is not None:
                found = self._with_fee(live, found, recorded)
        except InvalidApiKey as exc:
            self._refuse_key(user_id, credential_id, exc)
            return
        except PermanentExchangeError as exc:
            _not_synced(trade_id, exc)
            return
        finally:
            close_exchange(live)
        if found is None:
            self._finish(trade_id, vanished)
        else:
            self._finish(trade_id, lambda s, t: record_result(s, t, found))

    def _sync_user(self, user_id: str) -> None:
        """Bring every open live order of a user up to date from open-orders listings: only an
        order that left the list (filled, canceled, expired) is looked up on its own."""
        with unit_of_work() as session:
            user = open_live_orders(session, user_id)
            if user is None or not user.orders:
                sync_done(session, user_id=user_id)
                return
        plan = plan_listing(order.symbol for order in user.orders)
        live = self.live_exchange(user.credentials)
        try:
            listed: dict[str, OrderResult] = {}
            symbols: list[str | None] = [None] if plan.all_symbols else [*sorted(plan.symbols)]
            for symbol in symbols:
                listing = with_retries(
                    partial(live.open_orders, symbol), self.attempts, sleep=self.sleep
                )
                listed.update((found.client_order_id, found) for found in listing)
            for order in user.orders:
                self._sync_one(live, order, listed.get(order.client_order_id))
        except InvalidApiKey as exc:
            self._refuse_key(user_id, user.credential_id, exc)
            return
        finally:
            close_exchange(live)
        with unit_of_work() as session:
            sync_done(session, user_id=user_id)

    def _sync_one(self, live: Exchange, order: OpenOrder, listed: OrderResult | None) -> None:
        """Record one order's state: as listed, else (not listed: its symbol was not listed, or
        it left the open list) as a look-up finds it."""
        found = listed
        try:
            if found is None:
                found = with_retries(
                    lambda: live.get_order(order.symbol, order.client_order_id),
                    self.attempts,
                    sleep=self.sleep,
                )
            if found is None:
                self._finish(order.trade_id, vanished)
                return
            if found.status == order.status and found.executed_qty == order.executed_qty:
                return  # nothing new: no write, no cache invalidation
            found = self._with_fee(live, found, order.executed_qty)
        except InvalidApiKey:
            raise
        except PermanentExchangeError as exc:
            _not_synced(order.trade_id, exc)
            return
        result = found
        self._finish(order.trade_id, lambda s, t: record_result(s, t, result))

    def _refuse_key(
        self,
        user_id: str,
        credential_id: str,
        error: InvalidApiKey,
        canceling: str | None = None,
    ) -> None:
        """The exchange refused the user's key (`credential_id`; a key stored anew since is
        left alone): record it (not used again until a key is stored anew)."""
        logger.warning("the exchange refused a stored key", extra={"user_id": user_id})
        with unit_of_work() as session:
            refuse_key(session, user_id, error.detail, self.clock(), credential_id)
            if canceling is not None:
                trade = session.scalar(LOCK_FOR_OUTCOME, {"trade_id": canceling})
                if trade is not None:
                    cancel_not_done(trade, error.detail)

    # --- fees ---------------------------------------------------------------------------

    def _with_fee(self, exchange: Exchange, result: OrderResult, recorded: Decimal) -> OrderResult:
        """`result` with the fee of its fills when it reports fills beyond `recorded` without one.

        A look-up or cancel answer lists no fills, so their commission is read from the trade
        list. A retryable failure is raised: the message is delivered again and the order looked
        up again (a read; the claim keeps it from being placed twice), so the fill reaches the
        position with its fee. A permanent refusal records the fill with its fee unknown, as no
        retry would change that answer.
        """
        if result.fee_asset is not None or result.executed_qty <= recorded:
            return result
        try:
            return with_retries(
                lambda: exchange.with_commission(result), self.attempts, sleep=self.sleep
            )
        except PermanentExchangeError as exc:
            _fee_unknown(result, exc)
            return result

    def _final_fee(self, exchange: Exchange, found: OrderResult) -> OrderResult:
        """On the last delivery: the fee if it can be read now, else the fill without it.

        There is no later delivery to wait for, and failing a trade Binance has filled would
        lose the fill; so it is recorded, with its fee unknown (`fee_asset` empty).
        """
        try:
            return self._with_fee(exchange, found, NOTHING_RECORDED)
        except RetryableExchangeError as exc:
            _fee_unknown(found, exc)
            return found

    # --- recording ----------------------------------------------------------------------

    def _finish(self, trade_id: str, apply: Callable[[Session, Trade], None]) -> None:
        """Apply an outcome to the trade under a row lock, in its own transaction."""
        with unit_of_work() as session:
            trade = session.scalar(LOCK_FOR_OUTCOME, {"trade_id": trade_id})
            if trade is not None:
                apply(session, trade)


def close_exchange(exchange: object) -> None:
    """Close an exchange adapter that holds a connection (a live one); others have nothing."""
    close = getattr(exchange, "close", None)
    if callable(close):
        close()


def _record_cancel(
    session: Session, trade: Trade, result: OrderResult, refusal: str | None
) -> None:
    record_result(session, trade, result)
    if refusal is not None:
        cancel_not_done(trade, refusal)  # still open: the exchange would not cancel it


def _not_synced(trade_id: str, error: PermanentExchangeError) -> None:
    # Nothing a redelivery would change: the next scheduled sync asks again.
    logger.warning(
        "an order could not be synced", extra={"trade_id": trade_id, "error": error.detail}
    )


def _fee_unknown(result: OrderResult, error: Exception) -> None:
    logger.warning(
        "fill recorded without its fee: the trade list could not be read",
        extra={"client_order_id": result.client_order_id, "error": str(error)},
    )
