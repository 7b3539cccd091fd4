"""The order executor: takes one queued message to the user's exchange, at most once.

Placing follows claim -> place -> record. The claim (a guarded UPDATE on a PENDING trade)
excludes a second executor, and places only with the key the order was accepted for. Only a
refusal that proves nothing was placed is retried by placing again; after an answer that leaves
it unknown (timeout, 5xx, -1006, -1007, a dropped connection, "Duplicate order sent"), or when a
redelivery finds an earlier attempt's claim, the order is never sent again: if one look-up does
not find it, the trade goes RECONCILING and the reconciler (orders/reconcile.py) settles it.
Paper trades are placed inside one transaction with their balance moves instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, load_only

from tradebot.accounts.service import load_credentials
from tradebot.crypto.vault import ExchangeCredentials
from tradebot.db.engine import unit_of_work
from tradebot.db.models import Trade, utcnow
from tradebot.errors import (
    ExchangeError,
    InvalidApiKey,
    OutcomeUnknown,
    PermanentExchangeError,
    RetryableExchangeError,
    UnknownOrder,
)
from tradebot.exchange.base import Exchange, OrderRequest, OrderResult
from tradebot.exchange.factory import binance_exchange, paper_exchange
from tradebot.exchange.paper import PaperExchange
from tradebot.exchange.retry import place_order_safely, with_retries
from tradebot.orders.claims import OrderInProgress, bound_credentials, claim_trade
from tradebot.orders.mapping import request_of
from tradebot.orders.messages import OrderMessage
from tradebot.orders.reconcile import (
    earlier_attempt_reason,
    lost_answer_reason,
    start_reconciling,
)
from tradebot.orders.recording import record_result, reject
from tradebot.orders.state import OPEN
from tradebot.orders.sync import (
    OpenOrder,
    cancel_not_done,
    key_refused,
    open_live_orders,
    plan_listing,
    refuse_key,
    sync_done,
    vanished,
)
from tradebot.settings import get_settings

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
NOTHING_RECORDED = Decimal(0)
KEY_CHANGED = "The API key changed after this order was accepted"
LiveExchangeFactory = Callable[[ExchangeCredentials], Exchange]


# Recording an outcome reads only what recording needs (any other attribute still loads when
# touched): fewer columns to convert, the timestamps above all.
_LOCK_FOR_OUTCOME = (
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


@dataclass
class Executor:
    """Executes order messages; its seams (exchange factory, clock, sleep) serve the tests."""

    live_exchange: LiveExchangeFactory = binance_exchange
    clock: Clock = utcnow
    attempts: int = 3
    sleep: Callable[[float], None] = field(default=lambda s: __import__("time").sleep(s))
    worker_id: str = "executor"

    def execute(self, message: OrderMessage, receive_count: int = 1) -> None:
        """Carry out one message; raising makes the queue deliver it again later."""
        last_attempt = receive_count >= get_settings().order_max_receives
        try:
            if message.action == "place":
                self._place(message.trade_id)
            elif message.action == "cancel":
                self._cancel(message.trade_id)
            elif message.action == "sync_user":
                self._sync_user(message.user_id or "")
            else:
                self._sync(message.trade_id)
        except OrderInProgress:
            # Another invocation holds the claim and will record the outcome itself; failing the
            # trade now would hide an order it may be placing. If that holder died, the sweeper
            # re-sends the trade once the claim's lease is over.
            raise
        except RetryableExchangeError as exc:
            if last_attempt and message.action == "place":
                self._give_up(message.trade_id, exc)
            raise

    # --- place --------------------------------------------------------------------------

    def _place(self, trade_id: str) -> None:
        now = self.clock()
        with unit_of_work() as session:
            claim = claim_trade(session, trade_id, now, self.worker_id)
            if claim is None:
                return  # already placed, canceled or never existed: nothing to do twice
            request, credentials = claim.request, claim.credentials
            if request is None:
                # A paper trade, claimed in this transaction: the claim commits with the
                # placement and its balance moves, or not at all.
                self._place_paper(session, trade_id)
                return
        # A cancel recorded while the trade waited, or while an attempt that was refused for
        # certain held it. Unless an earlier attempt may have placed it (then it is looked up
        # below, and the cancel is carried out once it is known to be open), it was never
        # sent: honour the cancel before anything is.
        if claim.cancel_requested and not claim.earlier and self._canceled_before_placing(trade_id):
            return
        if credentials is None:
            # The key this order was accepted for was removed or replaced: never another's.
            if claim.earlier:
                why = "the API key changed since, so it cannot be checked with that key"
                self._reconcile(trade_id, earlier_attempt_reason(request.client_order_id, why), now)
            else:
                self._finish(trade_id, lambda s, t: reject(s, t, "REJECTED", KEY_CHANGED))
            return
        exchange = self.live_exchange(credentials)
        try:
            if claim.earlier:
                result = self._after_earlier_attempt(exchange, trade_id, request, now)
            else:
                result = self._first_attempt(exchange, trade_id, request, now)
            if result is None:
                return
            try:
                result = self._with_fee(exchange, result, NOTHING_RECORDED)
            except RetryableExchangeError:
                # Placed, its fee not readable yet: end this attempt's lease now, so the
                # redelivery (which looks the order up, never places it) runs at once.
                self._release(trade_id, now)
                raise
        finally:
            _close(exchange)
        self._finish(trade_id, lambda s, t: record_result(s, t, result))

    def _first_attempt(
        self, exchange: Exchange, trade_id: str, request: OrderRequest, now: datetime
    ) -> OrderResult | None:
        """Place the order; None when its outcome was recorded (rejected, or RECONCILING)."""
        try:
            return place_order_safely(exchange, request, self.attempts, self.sleep)
        except OutcomeUnknown as exc:
            # It may exist: never sent again. The reconciler looks it up until it knows.
            reason = lost_answer_reason(exc, request.client_order_id)
            self._reconcile(trade_id, reason, now, sent_at=exc.sent_at)
            return None
        except PermanentExchangeError as exc:
            detail = exc.detail
            self._finish(trade_id, lambda s, t: reject(s, t, "REJECTED", detail))
            return None
        except RetryableExchangeError:
            # Every attempt was refused before Binance processed it (rate limit, clock skew, no
            # connection): nothing was placed. Drop the claim, so the redelivery places it as
            # a first attempt.
            self._unclaim(trade_id, now)
            raise

    def _after_earlier_attempt(
        self, exchange: Exchange, trade_id: str, request: OrderRequest, now: datetime
    ) -> OrderResult | None:
        """An earlier attempt may have placed it: look it up, and never place it again."""
        try:
            found = with_retries(
                lambda: exchange.get_order(request.symbol, request.client_order_id),
                self.attempts,
                sleep=self.sleep,
            )
            why = "it was interrupted, and the order is not visible yet"
        except ExchangeError as exc:
            found, why = None, f"it was interrupted, and looking it up failed: {exc.detail}"
        if found is None:
            # Not found is no proof (a look-up can lag): the reconciler decides.
            self._reconcile(trade_id, earlier_attempt_reason(request.client_order_id, why), now)
        return found

    def _reconcile(
        self, trade_id: str, reason: str, now: datetime, sent_at: datetime | None = None
    ) -> None:
        """Move the trade to RECONCILING; `sent_at` defaults to now (no later send happened)."""
        sent = sent_at or now
        self._finish(trade_id, lambda s, t: start_reconciling(s, t, reason, sent_at=sent, now=now))

    def _release(self, trade_id: str, claimed_at: datetime) -> None:
        """End this executor's lease early (backdating it) unless someone else claimed since."""
        lease = timedelta(seconds=get_settings().order_claim_lease_s)
        with unit_of_work() as session:
            session.execute(
                update(Trade)
                .where(
                    Trade.id == trade_id,
                    Trade.status == "PENDING",
                    Trade.claimed_at == claimed_at,
                    Trade.claimed_by == self.worker_id,
                )
                .values(claimed_at=claimed_at - lease)
                .execution_options(synchronize_session=False)
            )

    def _unclaim(self, trade_id: str, claimed_at: datetime) -> None:
        """Drop this executor's claim: nothing was sent, so the next attempt is a first one."""
        with unit_of_work() as session:
            session.execute(
                update(Trade)
                .where(
                    Trade.id == trade_id,
                    Trade.status == "PENDING",
                    Trade.claimed_at == claimed_at,
                    Trade.claimed_by == self.worker_id,
                )
                .values(claimed_at=None, claimed_by=None)
                .execution_options(synchronize_session=False)
            )

    def _place_paper(self, session: Session, trade_id: str) -> None:
        """Place a paper trade this transaction has just claimed, with its balance moves."""
        trade = session.get(Trade, trade_id)
        if trade is None:  # claimed a moment ago in this transaction, under its row lock
            return
        exchange = paper_exchange(session, trade.user_id)
        try:
            with session.begin_nested():
                result = exchange.place_order(request_of(trade))
        except PermanentExchangeError as exc:
            reject(session, trade, "REJECTED", exc.detail)
            return
        record_result(session, trade, result)

    def _give_up(self, trade_id: str, error: RetryableExchangeError) -> None:
        """Last delivery. Never claimed by a placement that may have been sent: FAILED with the
        reason (certainly not placed). Otherwise a final look-up, else RECONCILING."""
        with unit_of_work() as session:
            trade = session.get(Trade, trade_id)
            if trade is None or trade.status != "PENDING":
                return
            credentials = (
                bound_credentials(session, trade.user_id, trade.credential_id)
                if trade.trading_mode == "live"
                else None
            )
            request = request_of(trade)
            claimed = trade.claimed_at is not None and trade.trading_mode == "live"
        if not claimed:
            reason = f"Could not be executed after retries: {error.detail}"
            self._finish(trade_id, lambda s, t: reject(s, t, "FAILED", reason))
            return
        found: OrderResult | None = None
        if credentials is not None:
            exchange = self.live_exchange(credentials)
            try:
                found = exchange.get_order(request.symbol, request.client_order_id)
                if found is not None:
                    found = self._final_fee(exchange, found)
            except ExchangeError:
                found = None  # nothing more can be learned now; the reconciler goes on
            finally:
                _close(exchange)
        if found is not None:
            result = found
            self._finish(trade_id, lambda s, t: record_result(s, t, result))
            return
        why = f"it could not be confirmed after retries: {error.detail}"
        self._reconcile(
            trade_id, earlier_attempt_reason(request.client_order_id, why), self.clock()
        )

    def _canceled_before_placing(self, trade_id: str) -> bool:
        """End a claimed PENDING trade as CANCELED if its owner asked to cancel it meanwhile."""
        with unit_of_work() as session:
            trade = session.scalar(_LOCK_FOR_OUTCOME, {"trade_id": trade_id})
            if trade is None or trade.status != "PENDING" or trade.cancel_requested_at is None:
                return False
            reject(session, trade, "CANCELED", "Canceled before it reached the exchange")
            trade.cancel_requested_at = None
            return True

    # --- cancel and sync ----------------------------------------------------------------
    #
    # A cancel or sync the exchange refuses for good (a refused key, an order it does not
    # know) is resolved with the reason recorded, never raised: raising would hold the user's
    # whole message group for every redelivery. Only retryable errors raise.

    def _cancel(self, trade_id: str) -> None:
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
            refused = key_refused(session, trade.user_id)
            credentials = load_credentials(session, trade.user_id) if refused is None else None
            if credentials is None:
                cancel_not_done(trade, refused or "no API key is stored")
                return
            symbol, client_id, recorded = trade.symbol, trade.client_order_id, trade.executed_qty
            user_id = trade.user_id
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
            self._refuse_key(user_id, exc, canceling=trade_id)
            return
        except PermanentExchangeError as exc:
            detail = exc.detail
            self._finish(trade_id, lambda _s, t: cancel_not_done(t, detail))
            return
        finally:
            _close(live)
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
            refused = key_refused(session, trade.user_id)
            credentials = load_credentials(session, trade.user_id) if refused is None else None
            symbol, client_id, recorded = trade.symbol, trade.client_order_id, trade.executed_qty
            user_id = trade.user_id
        if credentials is None:
            return
        live = self.live_exchange(credentials)
        try:
            found = with_retries(
                lambda: live.get_order(symbol, client_id), self.attempts, sleep=self.sleep
            )
            if found is not None:
                found = self._with_fee(live, found, recorded)
        except InvalidApiKey as exc:
            self._refuse_key(user_id, exc)
            return
        except PermanentExchangeError as exc:
            _not_synced(trade_id, exc)
            return
        finally:
            _close(live)
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
            self._refuse_key(user_id, exc)
            return
        finally:
            _close(live)
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

    def _refuse_key(self, user_id: str, error: InvalidApiKey, canceling: str | None = None) -> None:
        """The exchange refused the user's key: record it (no sync until a key is stored anew)."""
        logger.warning("the exchange refused a stored key", extra={"user_id": user_id})
        with unit_of_work() as session:
            refuse_key(session, user_id, error.detail, self.clock())
            if canceling is not None:
                trade = session.scalar(_LOCK_FOR_OUTCOME, {"trade_id": canceling})
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

    # --- helpers ------------------------------------------------------------------------

    def _finish(self, trade_id: str, apply: Callable[[Session, Trade], None]) -> None:
        """Apply an outcome to the trade under a row lock, in its own transaction."""
        with unit_of_work() as session:
            trade = session.scalar(_LOCK_FOR_OUTCOME, {"trade_id": trade_id})
            if trade is not None:
                apply(session, trade)


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


def _close(exchange: object) -> None:
    close = getattr(exchange, "close", None)
    if callable(close):
        close()


__all__ = ["Executor", "OrderInProgress", "OrderResult"]
