"""The scheduled price update: fetch all prices at once, write them in one pipeline, then queue
the resting paper orders the new prices crossed, the live users whose orders the market reached
(or who are due a full sync: market/live_sync.py), and sweep trades left waiting."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from tradebot.cache.client import get_redis, key
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential, Trade
from tradebot.errors import ExchangeError, ServiceUnavailable
from tradebot.exchange.base import PriceRange, SymbolFilters
from tradebot.market.history import record_history
from tradebot.market.live_sync import LiveSyncPlan, RestingOrder, plan_live_syncs, write_marks
from tradebot.market.prices import read_prices, write_prices
from tradebot.market.simulated import SimulatedMarket
from tradebot.market.symbols import FILTERS_VERSION, all_filters, store_filters
from tradebot.orders.messages import OrderMessage
from tradebot.orders.queue import enqueue
from tradebot.orders.state import OPEN
from tradebot.settings import get_settings

if TYPE_CHECKING:
    from tradebot.exchange.binance import BinanceExchange

logger = logging.getLogger(__name__)

SWEEP_LIMIT = 500
FILTERS_REFRESHED = ("market", "filters_refreshed_at")
FILTERS_REFRESH_S = 24 * 3600  # exchangeInfo of every symbol: weight 20, once a day


class PriceSource(Protocol):
    """Where prices come from: Binance's ticker, or the simulated market."""

    def fetch(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        """Latest price of each symbol, in one request."""
        ...

    def ranges(self, symbols: Sequence[str], since: datetime) -> dict[str, list[PriceRange]]:
        """What each symbol traded at since `since` (ranges reaching back to it at least), once
        `fetch` ran; raises `ExchangeError` when that cannot be read."""
        ...


class SimulatedSource:
    """The offline market: one random-walk step per update, from the last cached prices."""

    def __init__(self, seed: int, reference: dict[str, Decimal]) -> None:
        self.market = SimulatedMarket(seed, reference)
        self.moves: dict[str, PriceRange] = {}

    def fetch(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        cached = {p.symbol: p for p in read_prices()}
        previous = {symbol: p.price for symbol, p in cached.items()}
        tick = int(get_redis().incr(key("market", "tick")))
        wanted = set(symbols)
        prices = self.market.step(previous, tick, all_filters())
        # The walk moves in one step per update: it traded from the previous price straight to
        # the new one, so the two bound exactly what it traded at since the previous update.
        self.moves = {
            symbol: PriceRange(
                opened_at=cached[symbol].updated_at,
                closed_at=None,
                low=min(price, cached[symbol].price),
                high=max(price, cached[symbol].price),
            )
            for symbol, price in prices.items()
            if symbol in wanted and symbol in cached
        }
        return {s: p for s, p in prices.items() if s in wanted}

    def ranges(self, symbols: Sequence[str], since: datetime) -> dict[str, list[PriceRange]]:
        """Each symbol's last step (since the previous update only: earlier is not kept)."""
        return {s: [self.moves[s]] for s in symbols if s in self.moves}


class BinanceSource:
    """Binance's public ticker and klines (no key needed); refreshes the symbol list once a day."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self.sleep = sleep

    def fetch(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        from tradebot.exchange.factory import binance_exchange
        from tradebot.exchange.retry import with_retries

        exchange = binance_exchange()
        try:
            wanted = set(symbols)
            if symbol_list_due():
                wanted = set(refresh_symbols(exchange)) or wanted
            # One request either way: every ticker costs the same weight as a list of them,
            # and a list of every symbol would not fit in a URL.
            prices = with_retries(exchange.ticker_prices, sleep=self.sleep)
            return {s: p for s, p in prices.items() if s in wanted}
        finally:
            exchange.close()

    def ranges(self, symbols: Sequence[str], since: datetime) -> dict[str, list[PriceRange]]:
        """One-minute candles of each symbol since `since` (weight 2 a symbol), retried one by
        one so a failure repeats only its own request."""
        from tradebot.exchange.factory import binance_exchange
        from tradebot.exchange.retry import with_retries

        exchange = binance_exchange()
        try:
            return {
                symbol: with_retries(
                    partial(exchange.price_ranges, [symbol], since), sleep=self.sleep
                )[symbol]
                for symbol in symbols
            }
        finally:
            exchange.close()


def symbol_list_due() -> bool:
    """Whether the cached symbol list is a day old, missing, or from before versions."""
    pipe = get_redis().pipeline(transaction=False)
    pipe.get(key(*FILTERS_REFRESHED))
    pipe.exists(key(*FILTERS_VERSION))
    refreshed, versioned = pipe.execute()
    # A list cached without a version predates the whole-exchange list: refresh it now.
    return refreshed is None or not versioned or time.time() - float(refreshed) > FILTERS_REFRESH_S


def refresh_symbols(exchange: BinanceExchange) -> dict[str, SymbolFilters]:
    """Cache every symbol Binance trades on spot now, with its filters; {} when that failed.

    The symbol list is the exchange's: listings and delistings arrive with the next refresh.
    A failed refresh keeps the cached list and is retried at the next update, so the prices
    of the symbols already known keep flowing meanwhile.
    """
    from tradebot.exchange.retry import with_retries

    try:
        listed = with_retries(exchange.exchange_info_filters)
    except (ExchangeError, ValueError):
        logger.warning("symbol list not refreshed; keeping the cached one", exc_info=True)
        return {}
    spot = {symbol: f for symbol, f in listed.items() if f.spot_trading}
    if not spot:
        logger.warning("exchangeInfo listed no spot symbol; keeping the cached list")
        return {}
    store_filters(spot)
    get_redis().set(key(*FILTERS_REFRESHED), repr(time.time()))
    return spot


def default_source() -> PriceSource:
    """The configured market: simulated locally, Binance in AWS."""
    settings = get_settings()
    if settings.market_data == "binance":
        return BinanceSource()
    from tradebot.exchange.snapshot import reference_prices

    return SimulatedSource(settings.simulated_market_seed, reference_prices())


@dataclass(frozen=True)
class UpdateReport:
    """What one update did."""

    prices: int
    triggered: int
    swept: int


def _crossed(trade: Trade, price: Decimal) -> bool:
    """Whether `price` fills (or triggers) this resting paper order."""
    # A row without the price it needs cannot rest; it must not stop everyone else's update.
    if trade.type == "STOP_LOSS_LIMIT" and not trade.stop_triggered:
        if trade.stop_price is None:
            return False
        return price <= trade.stop_price if trade.side == "SELL" else price >= trade.stop_price
    if trade.price is None:
        return False
    return price <= trade.price if trade.side == "BUY" else price >= trade.price


@dataclass(frozen=True)
class SyncRequests:
    """An update's sync messages, and the live users' marks to store once they are sent."""

    messages: list[tuple[OrderMessage, str]]
    live: LiveSyncPlan


def crossed_orders(
    prices: dict[str, Decimal], source: PriceSource, now: datetime | None = None
) -> SyncRequests:
    """Sync messages: one per resting paper order the new prices reach; one per live user one of
    whose open orders the market reached since they were last checked (`source.ranges`), or who
    is due a full sync (market/live_sync.py). At most one sync is in flight per order: orders
    whose sync was sent less than `sync_in_flight_s` ago are left to it, and those sent for are
    marked (`sync_requested_at`)."""
    moment = now or datetime.now(UTC)
    if not prices:
        return SyncRequests([], LiveSyncPlan([], {}))
    in_flight_since = moment - timedelta(seconds=get_settings().sync_in_flight_s)
    with unit_of_work() as session:
        resting = list(
            session.scalars(
                select(Trade).where(Trade.symbol.in_(list(prices)), Trade.status.in_(list(OPEN)))
            )
        )
        busy_users = {
            t.user_id
            for t in resting
            if t.trading_mode == "live" and _in_flight(t, in_flight_since)
        }
        live = [t for t in resting if t.trading_mode == "live" and t.user_id not in busy_users]
        users = _syncable_users(session, {t.user_id for t in live})
        live = [t for t in live if users.get(t.user_id) == t.credential_id]
        paper = [
            t
            for t in resting
            if t.trading_mode == "paper"
            and not _in_flight(t, in_flight_since)
            and _crossed(t, prices[t.symbol])
        ]
        for trade in paper:
            trade.sync_requested_at = moment
        messages = [(OrderMessage(trade_id=t.id, action="sync"), t.user_id) for t in paper]
        live_orders = [(t.id, _resting(t)) for t in live]
    # Read outside the transaction: the ranges may take an HTTP request per symbol.
    plan = plan_live_syncs([o for _, o in live_orders], prices, moment.timestamp(), source.ranges)
    if plan.users:
        chosen = set(plan.users)
        with unit_of_work() as session:
            session.execute(
                update(Trade)
                .where(Trade.id.in_([i for i, o in live_orders if o.user_id in chosen]))
                .values(sync_requested_at=moment)
                .execution_options(synchronize_session=False)
            )
    messages += [(OrderMessage(action="sync_user", user_id=u), u) for u in plan.users]
    return SyncRequests(messages, plan)


def _resting(trade: Trade) -> RestingOrder:
    return RestingOrder(
        user_id=trade.user_id,
        symbol=trade.symbol,
        side=trade.side,
        type=trade.type,
        price=trade.price,
        stop_price=trade.stop_price,
        stop_triggered=trade.stop_triggered,
    )


def _in_flight(trade: Trade, since: datetime) -> bool:
    return trade.sync_requested_at is not None and trade.sync_requested_at > since


def _syncable_users(session: Session, user_ids: set[str]) -> dict[str, str]:
    """user id -> their stored key's credential id, for users whose key is not refused."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(ApiCredential.user_id, ApiCredential.id).where(
            ApiCredential.user_id.in_(sorted(user_ids)), ApiCredential.invalidated_at.is_(None)
        )
    )
    return {user_id: credential_id for user_id, credential_id in rows}


def forget_sync_requests(messages: list[tuple[OrderMessage, str]]) -> None:
    """Unmark the orders of sync messages that could not be sent, so the next update retries."""
    trade_ids = [m.trade_id for m, _ in messages if m.action == "sync"]
    user_ids = [m.user_id for m, _ in messages if m.action == "sync_user"]
    with unit_of_work() as session:
        session.execute(
            update(Trade)
            .where(
                Trade.status.in_(list(OPEN)),
                or_(Trade.id.in_(trade_ids), Trade.user_id.in_(user_ids)),
            )
            .values(sync_requested_at=None)
            .execution_options(synchronize_session=False)
        )


def stranded_orders(now: datetime) -> list[tuple[OrderMessage, str]]:
    """Trades whose message was lost: PENDING past the sweep age, or a cancel not carried out."""
    settings = get_settings()
    waited = now - timedelta(seconds=settings.pending_sweep_after_s)
    lease_over = now - timedelta(seconds=settings.order_claim_lease_s)
    with unit_of_work() as session:
        pending = session.execute(
            select(Trade.id, Trade.user_id)
            .where(Trade.status == "PENDING", Trade.created_at < waited)
            .where(or_(Trade.claimed_at.is_(None), Trade.claimed_at < lease_over))
            .limit(SWEEP_LIMIT)
        ).all()
        canceling = session.execute(
            select(Trade.id, Trade.user_id)
            .where(Trade.status.in_(list(OPEN)), Trade.cancel_requested_at < waited)
            .limit(SWEEP_LIMIT)
        ).all()
    return [(OrderMessage(trade_id=i, action="place"), u) for i, u in pending] + [
        (OrderMessage(trade_id=i, action="cancel"), u) for i, u in canceling
    ]


def refresh_prices(source: PriceSource | None = None, now: float | None = None) -> UpdateReport:
    """One scheduled update; raises if prices could not be fetched or messages not sent."""
    moment = now if now is not None else time.time()
    symbols = sorted(all_filters())
    market = source or default_source()
    prices = market.fetch(symbols)
    write_prices(prices, at=moment)
    record_history(prices, at=moment)
    at = datetime.fromtimestamp(moment, UTC)
    requests = crossed_orders(prices, market, at)
    triggered = requests.messages
    swept = stranded_orders(at)
    if triggered or swept:
        try:
            enqueue(triggered + swept, now=moment)
        except ServiceUnavailable:
            forget_sync_requests(triggered)
            raise
    # Only once sent: a user whose sync could not be sent keeps the check it had.
    write_marks(requests.live.marks)
    report = UpdateReport(prices=len(prices), triggered=len(triggered), swept=len(swept))
    logger.info("prices refreshed", extra=vars(report))
    return report
