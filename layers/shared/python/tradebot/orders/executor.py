"""The order executor: takes one queued message to the user's exchange, at most once.

Placing follows claim -> place -> record. The claim (a guarded UPDATE on a PENDING trade)
excludes a second executor, and places only with the key the order was accepted for. Only a
refusal that proves nothing was placed is retried by placing again; after an answer that leaves
it unknown (timeout, 5xx, -1006, -1007, a dropped connection, "Duplicate order sent"), or when a
redelivery finds an earlier attempt's claim, the order is never sent again: if one look-up does
not find it, the trade goes RECONCILING and the reconciler (orders/reconcile.py) settles it.
Paper trades are placed inside one transaction with their balance moves instead.

Cancel and sync of orders already sent, and the recording and fee steps placing shares with
them, are in orders/upkeep.py (`OrderUpkeep`, which `Executor` inherits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from tradebot.accounts.sealing import NOT_BOUND
from tradebot.db.engine import unit_of_work
from tradebot.db.models import Trade, utcnow
from tradebot.errors import (
    ExchangeError,
    InvalidApiKey,
    OutcomeUnknown,
    PermanentExchangeError,
    RetryableExchangeError,
)
from tradebot.exchange.base import Exchange, OrderRequest, OrderResult
from tradebot.exchange.factory import binance_exchange, paper_exchange
from tradebot.exchange.retry import place_order_safely, with_retries
from tradebot.orders.claims import Claim, OrderInProgress, bound_credentials, claim_trade
from tradebot.orders.mapping import request_of
from tradebot.orders.messages import OrderMessage
from tradebot.orders.reconcile import (
    earlier_attempt_reason,
    lost_answer_reason,
    start_reconciling,
)
from tradebot.orders.recording import record_result, reject
from tradebot.orders.sync import refuse_key
from tradebot.orders.upkeep import (
    LOCK_FOR_OUTCOME,
    NOTHING_RECORDED,
    Clock,
    LiveExchangeFactory,
    OrderUpkeep,
    close_exchange,
)
from tradebot.settings import get_settings

KEY_CHANGED = "The API key changed after this order was accepted"
KEY_REFUSED = (
    "Not placed: the exchange refused the stored API key after this order was accepted ({}); "
    "store a key anew"
)


@dataclass
class Executor(OrderUpkeep):
    """Executes order messages; its seams (exchange factory, clock, sleep) serve the tests.

    Placing and giving up are here; cancel and sync come from `OrderUpkeep`.
    """

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
            self._without_key(trade_id, request, claim, now)
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
            close_exchange(exchange)
        self._finish(trade_id, lambda s, t: record_result(s, t, result))

    def _without_key(
        self, trade_id: str, request: OrderRequest, claim: Claim, now: datetime
    ) -> None:
        """The key the order was accepted for was refused by the exchange since (it is not used
        until one is stored anew, which takes over orders that may exist), or removed or
        replaced: never placed with another's. An earlier attempt may have placed it: the
        reconciler looks it up."""
        refused = claim.key_refused
        if claim.earlier:
            why = (
                "the exchange has refused the API key since, so it cannot be checked yet"
                if refused is not None
                else "the API key changed since, so it cannot be checked with that key"
            )
            self._reconcile(trade_id, earlier_attempt_reason(request.client_order_id, why), now)
        elif refused is not None:
            # The binding check's reason stands alone; the exchange's is quoted.
            reason = refused if refused == NOT_BOUND else KEY_REFUSED.format(refused)
            self._finish(trade_id, lambda s, t: reject(s, t, "FAILED", reason))
        else:
            self._finish(trade_id, lambda s, t: reject(s, t, "REJECTED", KEY_CHANGED))

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
        except InvalidApiKey as exc:
            # Refused for the key, not the order: the key is not used again until replaced.
            detail, at = exc.detail, self.clock()
            self._finish(trade_id, lambda s, t: _refused(s, t, detail, at))
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
        self._end_claim(trade_id, claimed_at, {"claimed_at": claimed_at - lease})

    def _unclaim(self, trade_id: str, claimed_at: datetime) -> None:
        """Drop this executor's claim: nothing was sent, so the next attempt is a first one."""
        self._end_claim(trade_id, claimed_at, {"claimed_at": None, "claimed_by": None})

    def _end_claim(self, trade_id: str, claimed_at: datetime, values: dict[str, object]) -> None:
        """Change this executor's claim (`values`) unless someone else claimed the trade since."""
        with unit_of_work() as session:
            session.execute(
                update(Trade)
                .where(
                    Trade.id == trade_id,
                    Trade.status == "PENDING",
                    Trade.claimed_at == claimed_at,
                    Trade.claimed_by == self.worker_id,
                )
                .values(values)
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
                close_exchange(exchange)
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
            trade = session.scalar(LOCK_FOR_OUTCOME, {"trade_id": trade_id})
            if trade is None or trade.status != "PENDING" or trade.cancel_requested_at is None:
                return False
            reject(session, trade, "CANCELED", "Canceled before it reached the exchange")
            trade.cancel_requested_at = None
            return True


def _refused(session: Session, trade: Trade, detail: str, at: datetime) -> None:
    """The exchange refused the key the order was sent with: the order is REJECTED, the key
    marked refused."""
    refuse_key(session, trade.user_id, detail, at, credential_id=trade.credential_id)
    reject(session, trade, "REJECTED", detail)


__all__ = ["Executor", "OrderInProgress", "OrderResult"]
