"""Realistic state to measure against: accounts, balances, positions, trades, notes, prices."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import cycle

from tradebot.auth.passwords import hash_password
from tradebot.auth.sessions import open_session
from tradebot.db.engine import unit_of_work
from tradebot.db.models import Note, NoteTag, PaperBalance, Position, Trade, User, utcnow
from tradebot.exchange.snapshot import load_snapshot_filters, reference_prices
from tradebot.market.prices import write_prices
from tradebot.market.symbols import store_filters

PASSWORD = "correct horse battery staple"  # noqa: S105 - the bench users' password
TAGS = ("btc", "eth", "plan", "review", "breakout", "risk")
# A settled account's history: mostly filled, some canceled or rejected, few still open.
STATUS_MIX = ("FILLED",) * 14 + ("CANCELED",) * 3 + ("REJECTED", "NEW", "EXPIRED")


@dataclass(frozen=True)
class Account:
    """A user the bench acts as."""

    user_id: str
    email: str
    token: str


def create_account(email: str, *, real_password: bool = False) -> Account:
    """A user and a fresh access token (argon2 only when the bench will log in as them)."""
    password_hash = hash_password(PASSWORD) if real_password else "$argon2id$unused"
    with unit_of_work() as session:
        user = User(email=email, password_hash=password_hash)
        session.add(user)
        session.flush()
        user_id = user.id
        token = open_session(session, user_id).access.access_token
    return Account(user_id, email, token)


def give_balances(user_id: str, amounts: dict[str, str]) -> None:
    """Paper balances, free."""
    with unit_of_work() as session:
        for asset, amount in amounts.items():
            session.merge(
                PaperBalance(user_id=user_id, asset=asset, free=Decimal(amount), locked=Decimal(0))
            )


def add_positions(user_id: str) -> None:
    """A position in every snapshot symbol, as months of fills leave them."""
    prices = reference_prices()
    with unit_of_work() as session:
        for i, symbol in enumerate(sorted(load_snapshot_filters())):
            session.add(
                Position(
                    user_id=user_id,
                    symbol=symbol,
                    quantity=Decimal("0.5") * (i + 1),
                    avg_entry_price=prices[symbol] * Decimal("0.97"),
                    realized_pnl=Decimal("12.5") * i,
                    volume=Decimal(2500) * (i + 1),
                    fills=40 + i,
                    wins=22 + i,
                    losses=15,
                )
            )


def trade_rows(
    user_id: str,
    count: int,
    *,
    status: str | None = None,
    mode: str = "paper",
    start: datetime | None = None,
) -> list[Trade]:
    """`count` trades over the last days, newest first, in the snapshot's symbols."""
    now = start or utcnow()
    prices = reference_prices()
    symbols = cycle(sorted(prices))
    statuses = cycle(STATUS_MIX)
    rows = []
    for i in range(count):
        symbol = next(symbols)
        state = status or next(statuses)
        price = prices[symbol]
        filled = state == "FILLED"
        quantity = Decimal("0.01") if price > 1000 else Decimal(1)
        # Orders still open rest on the book, so they are LIMIT orders with a price.
        market = i % 3 == 0 and state not in ("PENDING", "NEW", "PARTIALLY_FILLED")
        created = now - timedelta(minutes=7 * i + 1)
        rows.append(
            Trade(
                user_id=user_id,
                symbol=symbol,
                side="BUY" if i % 2 == 0 else "SELL",
                type="MARKET" if market else "LIMIT",
                quantity=quantity,
                price=None if market else price,
                status=state,
                executed_qty=quantity if filled else Decimal(0),
                cumulative_quote_qty=quantity * price if filled else Decimal(0),
                avg_price=price if filled else None,
                fee=quantity * price * Decimal("0.001") if filled else Decimal(0),
                fee_asset="USDT" if filled else None,
                fees=(
                    [{"asset": "USDT", "amount": format(quantity * price * Decimal("0.001"), "f")}]
                    if filled
                    else []
                ),
                exchange_order_id=str(1_000_000 + i) if state != "PENDING" else None,
                client_order_id=uuid.uuid4().hex,
                trading_mode=mode,
                created_at=created,
                updated_at=created,
            )
        )
    return rows


def add_trades(
    user_id: str, count: int, *, status: str | None = None, mode: str = "paper"
) -> list[str]:
    """Insert `count` trades; their ids, newest first."""
    rows = trade_rows(user_id, count, status=status, mode=mode)
    with unit_of_work() as session:
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def add_notes(user_id: str, count: int, *, title: str = "Journal") -> list[str]:
    """Notes with two tags each, a quarter pinned; their ids."""
    now = utcnow()
    notes = []
    for i in range(count):
        created = now - timedelta(hours=i)
        notes.append(
            Note(
                user_id=user_id,
                title=f"{title} {i}",
                content="Entry, stop and target; what went right and what did not. " * 3,
                is_pinned=i % 4 == 0,
                created_at=created,
                updated_at=created,
                tags=[NoteTag(tag=TAGS[i % len(TAGS)]), NoteTag(tag=TAGS[(i + 2) % len(TAGS)])],
            )
        )
    with unit_of_work() as session:
        session.add_all(notes)
        session.flush()
        return [note.id for note in notes]


def seed_market() -> None:
    """Prices and filters in Redis as the price updater leaves them in AWS."""
    store_filters(load_snapshot_filters())
    write_prices(reference_prices())
