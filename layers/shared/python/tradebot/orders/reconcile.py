"""Orders whose placement answer was lost (RECONCILING), looked up until Binance's answer is known.

A placement that may have reached Binance (timeout, 5xx, -1006, -1007, a dropped connection,
-2010 "Duplicate order sent") is never sent again: its trade waits in RECONCILING, and this
scheduled reconciler looks it up by client order id, with the key the order was accepted for,
in the two places Binance keeps orders: GET /api/v3/order (memory first, then the database) and
GET /api/v3/allOrders (the order history, from the database). Found: the trade takes the
exchange's state, fills and fees. Absent: FAILED "not placed", but only once absence is certain:

- Binance's "Timing security" (SIGNED endpoints) processes a request only while
  `serverTime - timestamp <= recvWindow`, and checks it again just before it would "forward
  request to Matching Engine", rejecting it otherwise. So once Binance's clock has passed the
  placement's `timestamp + recvWindow`, no new order can come of that request.
- Look-ups can lag the engine (a lost answer's order may be invisible for seconds), so absence
  counts only when two look-ups, each asking both endpoints and each made after that deadline,
  agree at least `reconcile_confirm_after_s` apart.

If that never settles (Binance unreachable, the key gone), the reconciler gives up after
`reconcile_give_up_after_s` or `reconcile_max_checks` look-ups: the trade stays RECONCILING (it
may exist: never FAILED), its reason tells the trader to check Binance for the client order id,
an error is logged and the run reports it (the handler's metric; an alarm watches it).

It also reads the fee of fills recorded without one (`fee_pending`) and hands it to
`record_result`. Work per run is bounded; concurrent runs are safe: a run skips rows another is
writing, and every decision is taken under the trade's row lock against the row as it is then.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Protocol, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradebot.crypto.vault import ExchangeCredentials
from tradebot.db.engine import unit_of_work
from tradebot.db.models import Trade, utcnow
from tradebot.errors import ExchangeError, InvalidApiKey
from tradebot.exchange.base import ExchangeOrderStatus, OrderResult
from tradebot.exchange.factory import binance_exchange
from tradebot.exchange.retry import with_retries
from tradebot.orders.claims import bound_credentials, bound_key
from tradebot.orders.recording import record_result, reject
from tradebot.orders.state import check_move
from tradebot.orders.sync import refuse_key
from tradebot.portfolio.dashboard import invalidate_dashboard
from tradebot.settings import get_settings

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
RECONCILING = "RECONCILING"
# Our clock and Binance's may differ a little: the history is read from a minute earlier.
_HISTORY_MARGIN = timedelta(minutes=1)
_EXCHANGE_STATES = ("NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED", "REJECTED")


class OrderLookup(Protocol):
    """What the reconciler needs from an exchange (`BinanceExchange` provides it)."""

    def get_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """GET /api/v3/order by client id; None when Binance does not know it."""
        ...

    def find_order(self, symbol: str, client_order_id: str, since: datetime) -> OrderResult | None:
        """GET /api/v3/allOrders from `since`; None when no order has that client id."""
        ...

    def server_time(self) -> datetime:
        """Binance's clock."""
        ...

    def with_commission(self, result: OrderResult) -> OrderResult:
        """`result` with the fee of its fills."""
        ...


LookupFactory = Callable[[ExchangeCredentials], OrderLookup]


# --- entering RECONCILING (the executor) ---------------------------------------------------


def start_reconciling(
    session: Session, trade: Trade, reason: str, *, sent_at: datetime, now: datetime
) -> None:
    """Hand a PENDING trade to the reconciler: it may be on the exchange, so it is never sent
    again. `sent_at`: when its placement left, on the exchange's clock as best known."""
    if trade.status != "PENDING":
        return  # recorded meanwhile by another attempt: nothing left to reconcile
    check_move(trade.status, RECONCILING)
    trade.status = RECONCILING
    trade.reason = reason[:500]
    trade.placement_sent_at = sent_at
    trade.reconcile_started_at = now
    trade.reconcile_checks = 0
    trade.reconcile_absent_since = None
    trade.updated_at = utcnow()
    invalidate_dashboard(session, trade.user_id)


def lost_answer_reason(error: ExchangeError, client_order_id: str) -> str:
    """Why a trade is RECONCILING after a placement whose outcome is unknown, in plain words."""
    if error.code == -2010:
        what = "Binance says an open order with this client order id already exists"
    else:
        what = f"Binance may have received this order, but its answer was lost ({error.detail})"
    return (
        f"{what}. It will not be sent again; it is being looked up by client order id "
        f"{client_order_id} until Binance's answer is known."
    )


def earlier_attempt_reason(client_order_id: str, why: str) -> str:
    """Why a trade is RECONCILING when an earlier attempt may have placed it."""
    return (
        f"An earlier attempt to place this order may have reached Binance ({why}). It will not "
        f"be sent again; it is being looked up by client order id {client_order_id} until "
        "Binance's answer is known."
    )


# --- the reconciler -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReconcileReport:
    """What one run did: RECONCILING trades found, failed as not placed, still waiting, given
    up; fees read for fills recorded without one."""

    found: int = 0
    not_placed: int = 0
    waiting: int = 0
    given_up: int = 0
    fees_read: int = 0


@dataclass(frozen=True)
class _Pending:
    """A RECONCILING trade as read at the start of its check."""

    id: str
    user_id: str
    symbol: str
    client_order_id: str
    credential_id: str | None
    created_at: datetime
    placement_sent_at: datetime | None
    reconcile_started_at: datetime | None
    reconcile_checks: int


@dataclass(frozen=True)
class _Observation:
    """One check: found, absent from both endpoints after the deadline, or nothing learned."""

    at: datetime
    found: OrderResult | None = None
    absent: bool = False


_DUE = tuple(getattr(Trade, column.name) for column in fields(_Pending))


@dataclass
class Reconciler:
    """Looks RECONCILING trades up; its seams (exchange factory, clock, sleep) serve the tests."""

    live_exchange: LookupFactory = binance_exchange
    clock: Clock = utcnow
    attempts: int = 2
    sleep: Callable[[float], None] = time.sleep

    def run(self) -> ReconcileReport:
        """One scheduled run: at most `reconcile_batch_size` trades of each kind."""
        outcomes: Counter[str] = Counter(self._check(pending) for pending in self._due())
        fees = sum(self._read_fee(trade_id) for trade_id in self._fee_pending())
        return ReconcileReport(
            found=outcomes["found"],
            not_placed=outcomes["not_placed"],
            waiting=outcomes["waiting"],
            given_up=outcomes["given_up"],
            fees_read=fees,
        )

    # --- RECONCILING ----------------------------------------------------------------------

    def _due(self) -> list[_Pending]:
        settings = get_settings()
        query = (
            select(*_DUE)
            .where(
                Trade.status == RECONCILING,
                Trade.reconcile_checks < settings.reconcile_max_checks,
            )
            # Fewest look-ups first: every trade gets its turn when there are more than a batch.
            .order_by(Trade.reconcile_checks, Trade.reconcile_started_at)
            .limit(settings.reconcile_batch_size)
            .with_for_update(skip_locked=True)
        )
        with unit_of_work() as session:
            return [_Pending(*row) for row in session.execute(query)]

    def _check(self, pending: _Pending) -> str:
        settings = get_settings()
        now = self.clock()
        started = pending.reconcile_started_at or now
        if now - started >= timedelta(seconds=settings.reconcile_give_up_after_s):
            hours = settings.reconcile_give_up_after_s / 3600
            return self._give_up(pending, f"still unknown after {hours:g} h")
        if pending.reconcile_checks + 1 >= settings.reconcile_max_checks:
            return self._give_up(
                pending, f"still unknown after {pending.reconcile_checks} look-ups"
            )
        with unit_of_work() as session:
            key = bound_key(session, pending.user_id, pending.credential_id)
        if key.refused is not None:
            return "waiting"  # never asked with a refused key; a key stored anew takes it over
        if key.credentials is None:
            return self._give_up(
                pending,
                "the API key it was sent with was removed or replaced, so it cannot be looked up",
            )
        exchange = self.live_exchange(key.credentials)
        try:
            observation = self._observe(exchange, pending, now)
        except InvalidApiKey as exc:
            with unit_of_work() as session:
                refuse_key(session, pending.user_id, exc.detail, now, pending.credential_id)
            return "waiting"
        finally:
            close = getattr(exchange, "close", None)
            if callable(close):
                close()
        return self._apply(pending, observation)

    def _observe(self, exchange: OrderLookup, pending: _Pending, now: datetime) -> _Observation:
        """Look the order up in both places; Binance's clock is read first, so absence counts
        only for look-ups made entirely after the request's recvWindow had passed."""
        window = timedelta(milliseconds=get_settings().binance_recv_window_ms)
        sent_at = pending.placement_sent_at or pending.reconcile_started_at or now
        symbol, client_id = pending.symbol, pending.client_order_id
        since = pending.created_at - _HISTORY_MARGIN
        try:
            server_now = self._retried(exchange.server_time)
            found = self._retried(lambda: exchange.get_order(symbol, client_id))
            if found is None:
                found = self._retried(lambda: exchange.find_order(symbol, client_id, since))
            if found is not None:
                return _Observation(now, found=self._fee_of(exchange, found))
        except InvalidApiKey:
            raise  # the key, not the order: `_check` records it
        except ExchangeError as exc:
            logger.warning(
                "could not look up a RECONCILING order; trying again next run",
                extra={"trade_id": pending.id, "client_order_id": client_id, "error": exc.detail},
            )
            return _Observation(now)
        # Binance, SIGNED endpoint security, "Timing security" (developers.binance.com/docs/
        # binance-spot-api-docs/rest-api/request-security):
        #   if (timestamp < (serverTime + 1 second) && (serverTime - timestamp) <= recvWindow) {
        #     // begin processing request
        #     serverTime = getCurrentTime()
        #     if (serverTime - timestamp) <= recvWindow { // forward request to Matching Engine }
        #     else { // reject request }
        # So past timestamp + recvWindow on Binance's clock, the request can no longer become an
        # order; only what was forwarded before may still surface, which two look-ups far
        # enough apart (see _apply) allow for.
        return _Observation(now, absent=server_now >= sent_at + window)

    def _apply(self, pending: _Pending, observation: _Observation) -> str:
        confirm_after = timedelta(seconds=get_settings().reconcile_confirm_after_s)
        with unit_of_work() as session:
            trade = _locked(session, pending.id)
            if trade is None or trade.status != RECONCILING:
                return "skipped"  # decided by a concurrent run
            trade.reconcile_checks += 1
            if observation.found is not None:
                record_result(session, trade, observation.found)
                if trade.status != RECONCILING:
                    trade.reason = None  # the explanation of the wait no longer applies
                return "found"
            if not observation.absent:
                return "waiting"
            first = trade.reconcile_absent_since
            if first is None:
                trade.reconcile_absent_since = observation.at
                return "waiting"
            if observation.at - first < confirm_after:
                return "waiting"
            minutes = (observation.at - first).total_seconds() / 60
            reason = (
                f"Not placed: Binance has no order with client order id {pending.client_order_id} "
                f"(neither GET /api/v3/order nor the order history, asked {minutes:.0f} min apart, "
                "both after the request's recvWindow had passed)"
            )
            reject(session, trade, "FAILED", reason)
            return "not_placed"

    def _give_up(self, pending: _Pending, why: str) -> str:
        max_checks = get_settings().reconcile_max_checks
        with unit_of_work() as session:
            trade = _locked(session, pending.id)
            if trade is None or trade.status != RECONCILING:
                return "skipped"
            # Its look-ups are spent: no later run selects it (raising the bound resumes it).
            trade.reconcile_checks = max(trade.reconcile_checks, max_checks)
            trade.reason = (
                f"Binance's answer about this order is {why}. It may or may not have been placed: "
                f"check Binance for client order id {pending.client_order_id} yourself. It is "
                "no longer looked up."
            )[:500]
            trade.updated_at = utcnow()
            invalidate_dashboard(session, trade.user_id)
        logger.error(
            "gave up reconciling an order: the trader must check Binance",
            extra={"trade_id": pending.id, "client_order_id": pending.client_order_id, "why": why},
        )
        return "given_up"

    # --- fees -----------------------------------------------------------------------------

    def _fee_pending(self) -> list[str]:
        query = (
            select(Trade.id)
            .where(
                Trade.fee_pending.is_(True),
                Trade.trading_mode == "live",
                Trade.status.in_(_EXCHANGE_STATES),
                Trade.executed_qty > 0,
            )
            .order_by(Trade.updated_at)
            .limit(get_settings().reconcile_batch_size)
            .with_for_update(skip_locked=True)
        )
        with unit_of_work() as session:
            return list(session.scalars(query))

    def _read_fee(self, trade_id: str) -> int:
        """Read the commission of a fill recorded without one and hand it to `record_result`."""
        with unit_of_work() as session:
            trade = session.get(Trade, trade_id)
            if trade is None or not trade.fee_pending or trade.exchange_order_id is None:
                return 0
            credentials = bound_credentials(session, trade.user_id, trade.credential_id)
            unpriced = OrderResult(
                symbol=trade.symbol,
                client_order_id=trade.client_order_id,
                exchange_order_id=trade.exchange_order_id,
                status=cast(ExchangeOrderStatus, trade.status),
                executed_qty=trade.executed_qty,
                cumulative_quote_qty=trade.cumulative_quote_qty,
            )
        if credentials is None:
            return 0  # no key to read it with; the fill stays recorded, its fee unknown
        exchange = self.live_exchange(credentials)
        try:
            priced = self._retried(lambda: exchange.with_commission(unpriced))
        except ExchangeError as exc:
            logger.warning(
                "could not read a pending fee; trying again next run",
                extra={"trade_id": trade_id, "error": exc.detail},
            )
            return 0
        finally:
            close = getattr(exchange, "close", None)
            if callable(close):
                close()
        with unit_of_work() as session:
            trade = _locked(session, trade_id)
            if trade is None:
                return 0
            record_result(session, trade, priced)
        return 1

    # --- helpers --------------------------------------------------------------------------

    def _retried[T](self, call: Callable[[], T]) -> T:
        return with_retries(call, self.attempts, sleep=self.sleep)

    def _fee_of(self, exchange: OrderLookup, found: OrderResult) -> OrderResult:
        """A look-up lists no fills: their fee from the trade list, else recorded as unknown."""
        try:
            return self._retried(lambda: exchange.with_commission(found))
        except ExchangeError as exc:
            logger.warning(
                "order found; its fee could not be read yet",
                extra={"client_order_id": found.client_order_id, "error": exc.detail},
            )
            return found


def _locked(session: Session, trade_id: str) -> Trade | None:
    return session.scalar(select(Trade).where(Trade.id == trade_id).with_for_update())
