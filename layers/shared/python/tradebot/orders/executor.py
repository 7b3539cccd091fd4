"""The order executor: takes one queued message to the user's exchange, at most once.

Placing follows claim -> place -> record. The claim (a guarded UPDATE on a PENDING trade)
excludes a second executor; a claim found on redelivery means an earlier attempt may have
reached the exchange, so the order is looked up by its client id before anything is placed.
Paper trades are placed inside one transaction with their balance moves instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tradebot.accounts.service import load_credentials
from tradebot.crypto.vault import ExchangeCredentials
from tradebot.db.engine import unit_of_work
from tradebot.db.models import Trade, utcnow
from tradebot.errors import (
    PermanentExchangeError,
    RetryableExchangeError,
    UnknownOrder,
)
from tradebot.exchange.base import Exchange, OrderResult
from tradebot.exchange.factory import binance_exchange, paper_exchange
from tradebot.exchange.paper import PaperExchange
from tradebot.exchange.retry import place_order_safely, with_retries
from tradebot.orders.mapping import request_of
from tradebot.orders.messages import OrderMessage
from tradebot.orders.recording import record_result, reject
from tradebot.orders.state import OPEN
from tradebot.settings import get_settings

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
LiveExchangeFactory = Callable[[ExchangeCredentials], Exchange]


class OrderInProgress(RetryableExchangeError):
    """Another executor holds this trade right now; the message is retried later."""


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
        with unit_of_work() as session:
            trade = session.get(Trade, trade_id)
            if trade is None or trade.status != "PENDING":
                return  # already placed, canceled or never existed: nothing to do twice
            if trade.trading_mode == "paper":
                self._place_paper(session, trade)
                return
            earlier_claim, claimed_at = self._claim(session, trade)
            request = request_of(trade)
            user_id = trade.user_id
            credentials = load_credentials(session, user_id)
        if credentials is None:
            self._finish(trade_id, lambda s, t: reject(s, t, "REJECTED", "The API key was removed"))
            return
        exchange = self.live_exchange(credentials)
        try:
            # The earlier attempt may have reached the exchange: look before placing, with the
            # same back-off as every other call (one blip must not cost a whole delivery).
            result = (
                with_retries(
                    lambda: exchange.get_order(request.symbol, request.client_order_id),
                    self.attempts,
                    sleep=self.sleep,
                )
                if earlier_claim
                else None
            )
            if result is None:
                result = place_order_safely(exchange, request, self.attempts, self.sleep)
        except PermanentExchangeError as exc:
            detail = exc.detail
            self._finish(trade_id, lambda s, t: reject(s, t, "REJECTED", detail))
            return
        except RetryableExchangeError:
            # This attempt is over: end its lease now, so the redelivery retries at once instead
            # of finding "another executor" until the lease runs out. The claim stays on record,
            # so that redelivery looks the order up before placing anything.
            self._release(trade_id, claimed_at)
            raise
        finally:
            _close(exchange)
        self._finish(trade_id, lambda s, t: record_result(s, t, result))

    def _claim(self, session: Session, trade: Trade) -> tuple[bool, datetime]:
        """Claim a live trade: (whether an earlier attempt had claimed it, the claim's time).

        Which guarded UPDATE matched says whether the trade was claimed before, not the row read
        earlier: that read may predate another attempt's claim and release.
        """
        now = self.clock()
        lease = timedelta(seconds=get_settings().order_claim_lease_s)
        claim = (
            update(Trade)
            .where(Trade.id == trade.id, Trade.status == "PENDING")
            .values(claimed_at=now, claimed_by=self.worker_id)
            .execution_options(synchronize_session=False)
        )
        first = session.execute(claim.where(Trade.claimed_at.is_(None)))
        if first.rowcount == 1:  # type: ignore[attr-defined]
            return False, now
        taken_over = session.execute(claim.where(Trade.claimed_at <= now - lease))
        if taken_over.rowcount == 1:  # type: ignore[attr-defined]
            return True, now
        raise OrderInProgress("Another executor is placing this order")

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

    def _place_paper(self, session: Session, trade: Trade) -> None:
        exchange = paper_exchange(session, trade.user_id)
        moved = session.execute(
            update(Trade)
            .where(Trade.id == trade.id, Trade.status == "PENDING", Trade.claimed_at.is_(None))
            .values(claimed_at=self.clock(), claimed_by=self.worker_id)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return
        try:
            with session.begin_nested():
                result = exchange.place_order(request_of(trade))
        except PermanentExchangeError as exc:
            reject(session, trade, "REJECTED", exc.detail)
            return
        record_result(session, trade, result)

    def _give_up(self, trade_id: str, error: RetryableExchangeError) -> None:
        """Last delivery: a final look-up, else FAILED with the reason (the message goes to DLQ)."""
        with unit_of_work() as session:
            trade = session.get(Trade, trade_id)
            if trade is None or trade.status != "PENDING":
                return
            credentials = (
                load_credentials(session, trade.user_id) if trade.trading_mode == "live" else None
            )
            request = request_of(trade)
            claimed = trade.claimed_at is not None
        unknown = False
        if credentials is not None and claimed:
            exchange = self.live_exchange(credentials)
            try:
                found = exchange.get_order(request.symbol, request.client_order_id)
            except RetryableExchangeError:
                found, unknown = None, True  # nothing more can be learned now; FAILED says so
            finally:
                _close(exchange)
            if found is not None:
                self._finish(trade_id, lambda s, t: record_result(s, t, found))
                return
        reason = f"Could not be executed after retries: {error.detail}"
        if unknown:
            # An earlier attempt may have placed it (a timeout, a 5xx): the trader must look
            # before placing it again.
            reason += (
                "; the order may have reached the exchange, look it up by client order id "
                f"{request.client_order_id}"
            )
        self._finish(trade_id, lambda s, t: reject(s, t, "FAILED", reason))

    # --- cancel and sync ----------------------------------------------------------------

    def _cancel(self, trade_id: str) -> None:
        with unit_of_work() as session:
            trade = session.get(Trade, trade_id)
            if trade is None or trade.status not in OPEN:
                if trade is not None and trade.status == "PENDING":
                    raise OrderInProgress("The order is still being placed")
                return
            if trade.trading_mode == "paper":
                exchange = paper_exchange(session, trade.user_id)
                record_result(
                    session, trade, exchange.cancel_order(trade.symbol, trade.client_order_id)
                )
                return
            credentials = load_credentials(session, trade.user_id)
            symbol, client_id = trade.symbol, trade.client_order_id
        if credentials is None:
            return  # without a key nothing can be canceled; the order stays as Binance has it
        live = self.live_exchange(credentials)
        try:
            try:
                result = with_retries(
                    lambda: live.cancel_order(symbol, client_id), self.attempts, sleep=self.sleep
                )
            except UnknownOrder:
                # Filled (or expired) between the request and now: record what it became.
                found = live.get_order(symbol, client_id)
                if found is None:
                    return
                result = found
        finally:
            _close(live)
        self._finish(trade_id, lambda s, t: record_result(s, t, result))

    def _sync(self, trade_id: str) -> None:
        """Bring an open order up to date: paper matches it against the latest price."""
        with unit_of_work() as session:
            trade = session.get(Trade, trade_id)
            if trade is None or trade.status not in OPEN:
                return
            if trade.trading_mode == "paper":
                paper: PaperExchange = paper_exchange(session, trade.user_id)
                result = paper.get_order(trade.symbol, trade.client_order_id)
                if result is not None:
                    record_result(session, trade, result)
                return
            credentials = load_credentials(session, trade.user_id)
            symbol, client_id = trade.symbol, trade.client_order_id
        if credentials is None:
            return
        live = self.live_exchange(credentials)
        try:
            found = with_retries(
                lambda: live.get_order(symbol, client_id), self.attempts, sleep=self.sleep
            )
        finally:
            _close(live)
        if found is not None:
            self._finish(trade_id, lambda s, t: record_result(s, t, found))

    # --- helpers ------------------------------------------------------------------------

    def _finish(self, trade_id: str, apply: Callable[[Session, Trade], None]) -> None:
        """Apply an outcome to the trade under a row lock, in its own transaction."""
        with unit_of_work() as session:
            trade = session.scalar(select(Trade).where(Trade.id == trade_id).with_for_update())
            if trade is not None:
                apply(session, trade)


def _close(exchange: object) -> None:
    close = getattr(exchange, "close", None)
    if callable(close):
        close()


__all__ = ["Executor", "OrderInProgress", "OrderResult"]
