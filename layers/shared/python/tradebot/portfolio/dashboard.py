"""The dashboard: balances, open orders, volume, realized and unrealized PnL, win rate."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tradebot.cache.readthrough import cached_read, invalidate_on_commit
from tradebot.db.models import ApiCredential, Position, Trade
from tradebot.errors import StoredKeyRefused
from tradebot.exchange.base import Balance
from tradebot.exchange.paper import paper_balances
from tradebot.market.prices import read_prices_of
from tradebot.orders.schemas import DecimalOut
from tradebot.orders.state import OPEN

NAMESPACE = "dashboard"
ZERO = Decimal(0)
SHOWN = Decimal("1e-8")  # prices and PnL are shown to Binance's 8 decimals


class BalancePublic(BaseModel):
    asset: str
    free: DecimalOut
    locked: DecimalOut


class PositionPublic(BaseModel):
    symbol: str
    quantity: DecimalOut
    avg_entry_price: DecimalOut
    last_price: DecimalOut | None
    unrealized_pnl: DecimalOut | None


class Dashboard(BaseModel):
    trading_mode: Literal["paper", "live"]
    # Live mode: "invalid" once the exchange refused the stored key (balances are then not
    # read: the key is not used until one is stored anew). Null in paper mode.
    key_status: Literal["valid", "invalid"] | None = None
    balances: list[BalancePublic]
    open_orders: int
    trades_total: int
    volume: DecimalOut
    realized_pnl: DecimalOut
    win_rate: DecimalOut | None
    positions: list[PositionPublic]


def invalidate_dashboard(session: Session, user_id: str) -> None:
    """Mark the user's cached dashboard stale once `session` commits."""
    invalidate_on_commit(session, NAMESPACE, user_id)


def _stored_part(session: Session, user_id: str) -> dict[str, object]:
    """What comes from the database (cached): positions, counters, mode, paper balances."""
    live = session.scalar(select(ApiCredential.id).where(ApiCredential.user_id == user_id))
    open_orders = session.scalar(
        select(func.count())
        .select_from(Trade)
        .where(Trade.user_id == user_id, Trade.status.in_(["PENDING", *OPEN]))
    )
    positions = list(session.scalars(select(Position).where(Position.user_id == user_id)))
    balances = [] if live else paper_balances(session, user_id)
    return {
        "live": live is not None,
        "open_orders": int(open_orders or 0),
        "positions": [
            [
                p.symbol,
                format(p.quantity, "f"),
                format(p.avg_entry_price, "f"),
                format(p.realized_pnl, "f"),
                format(p.volume, "f"),
                p.fills,
                p.wins,
                p.losses,
            ]
            for p in positions
        ],
        "balances": [[b.asset, format(b.free, "f"), format(b.locked, "f")] for b in balances],
    }


def _last_prices(symbols: list[str]) -> dict[str, Decimal]:
    """The latest price of each held symbol, in one round trip. A symbol without one (or the
    cache down) is left out: its position is shown without its unrealized PnL."""
    try:
        return {symbol: cached.price for symbol, cached in read_prices_of(symbols).items()}
    except RedisError:
        return {}


def build_dashboard(session: Session, user_id: str) -> Dashboard:
    """The user's dashboard; stored figures cached per user, prices read fresh each time."""
    stored = cached_read(NAMESPACE, user_id, "v1", lambda: _stored_part(session, user_id), 300)
    live = bool(stored["live"])
    balances: list[Balance] = []
    key_status: Literal["valid", "invalid"] | None = None
    if live:
        from tradebot.portfolio.live import live_balances

        try:
            balances, key_status = live_balances(session, user_id), "valid"
        except StoredKeyRefused:
            key_status = "invalid"
    else:
        balances = [Balance(a, Decimal(f), Decimal(lk)) for a, f, lk in stored["balances"]]
    realized = volume = ZERO
    fills = wins = losses = 0
    positions: list[PositionPublic] = []
    held = [row[0] for row in stored["positions"] if Decimal(row[1]) != 0]
    last_prices = _last_prices(held)
    for symbol, qty, avg, pnl, vol, n_fills, n_wins, n_losses in stored["positions"]:
        realized += Decimal(pnl)
        volume += Decimal(vol)
        fills, wins, losses = fills + n_fills, wins + n_wins, losses + n_losses
        quantity = Decimal(qty)
        if quantity == 0:
            continue
        last = last_prices.get(symbol)
        entry = Decimal(avg)
        positions.append(
            PositionPublic(
                symbol=symbol,
                quantity=quantity,
                avg_entry_price=entry.quantize(SHOWN),
                last_price=last,
                unrealized_pnl=((last - entry) * quantity).quantize(SHOWN) if last else None,
            )
        )
    # Won among closed round trips (flat -> flat) that made or lost money; partial sells of an
    # open trip and break-even trips do not count.
    decided = wins + losses
    return Dashboard(
        trading_mode="live" if live else "paper",
        key_status=key_status,
        balances=[BalancePublic(asset=b.asset, free=b.free, locked=b.locked) for b in balances],
        open_orders=int(stored["open_orders"]),
        trades_total=fills,
        volume=volume,
        realized_pnl=realized.quantize(SHOWN),
        win_rate=(Decimal(wins) / decided).quantize(Decimal("0.0001")) if decided else None,
        positions=positions,
    )
