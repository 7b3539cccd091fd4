"""Keeping open live orders up to date: which Binance listings a user's sync asks for, which of
their orders it covers, and the bookkeeping around it (one sync in flight, refused keys, orders
the exchange no longer knows).

Binance's request weights (spot REST docs): GET /api/v3/order 4; GET /api/v3/openOrders 6 with a
symbol, 80 without. A user's sync costs the least of: per symbol, its open-orders listing (6) or
a look-up of each of its orders (4 each: cheaper for a lone order); or one listing of every
symbol (80) when the per-symbol sum is higher (from 14 symbols with two orders or more).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tradebot.accounts.service import usable_credentials
from tradebot.audit.events import record_event
from tradebot.crypto.vault import ExchangeCredentials
from tradebot.db.models import ApiCredential, Trade, utcnow
from tradebot.orders.recording import reject
from tradebot.orders.state import OPEN

GET_ORDER_WEIGHT: Final = 4
OPEN_ORDERS_SYMBOL_WEIGHT: Final = 6
OPEN_ORDERS_ALL_WEIGHT: Final = 80

VANISHED = (
    "Binance no longer knows this order (a testnet reset removes every order), so it is no "
    "longer open; fills not recorded before could not be read"
)


@dataclass(frozen=True)
class ListingPlan:
    """Which open-orders listings to request: every symbol at once, or these symbols one by one
    (orders of any other symbol are looked up individually)."""

    all_symbols: bool
    symbols: frozenset[str]

    def covers(self, symbol: str) -> bool:
        """Whether the listing shows this symbol's open orders."""
        return self.all_symbols or symbol in self.symbols


def plan_listing(symbols: Iterable[str]) -> ListingPlan:
    """The cheapest listings, by request weight, for open orders of these symbols (one each)."""
    orders = Counter(symbols)
    listed = frozenset(
        s for s, n in orders.items() if n * GET_ORDER_WEIGHT > OPEN_ORDERS_SYMBOL_WEIGHT
    )
    per_symbol = sum(
        OPEN_ORDERS_SYMBOL_WEIGHT if s in listed else n * GET_ORDER_WEIGHT
        for s, n in orders.items()
    )
    if per_symbol > OPEN_ORDERS_ALL_WEIGHT:
        return ListingPlan(all_symbols=True, symbols=frozenset())
    return ListingPlan(all_symbols=False, symbols=listed)


@dataclass(frozen=True)
class OpenOrder:
    """An open live order as recorded, before the sync."""

    trade_id: str
    symbol: str
    client_order_id: str
    status: str
    executed_qty: Decimal


@dataclass(frozen=True)
class UserOrders:
    """A user's usable key and the open orders accepted for it."""

    credential_id: str
    credentials: ExchangeCredentials
    orders: list[OpenOrder]


def open_live_orders(session: Session, user_id: str) -> UserOrders | None:
    """The user's open live orders bound to their stored key; None without a usable key.

    Orders accepted for an earlier key are left out: they belong to that key's account, and
    asking another account about them would report them gone.
    """
    credential = session.scalar(select(ApiCredential).where(ApiCredential.user_id == user_id))
    if credential is None or credential.invalidated_at is not None:
        return None
    credentials = usable_credentials(session, credential, credential.id)
    if credentials is None:
        return None
    rows = session.execute(
        select(
            Trade.id, Trade.symbol, Trade.client_order_id, Trade.status, Trade.executed_qty
        ).where(
            Trade.user_id == user_id,
            Trade.status.in_(list(OPEN)),
            Trade.trading_mode == "live",
            Trade.credential_id == credential.id,
        )
    ).all()
    return UserOrders(
        credential_id=credential.id,
        credentials=credentials,
        orders=[
            OpenOrder(r.id, r.symbol, r.client_order_id, r.status, r.executed_qty) for r in rows
        ],
    )


def sync_done(session: Session, *, user_id: str, trade_id: str | None = None) -> None:
    """The sync in flight for this trade (or for every order of the user) is over."""
    query = update(Trade).where(Trade.user_id == user_id, Trade.sync_requested_at.is_not(None))
    if trade_id is not None:
        query = query.where(Trade.id == trade_id)
    session.execute(
        query.values(sync_requested_at=None).execution_options(synchronize_session=False)
    )


def refuse_key(
    session: Session,
    user_id: str,
    detail: str,
    now: datetime | None = None,
    credential_id: str | None = None,
) -> None:
    """Record that the exchange refused the user's stored key (only if it is still the
    credential `credential_id`, when given): it is not used again until a key is stored anew,
    which replaces the credential."""
    query = update(ApiCredential).where(
        ApiCredential.user_id == user_id, ApiCredential.invalidated_at.is_(None)
    )
    if credential_id is not None:
        query = query.where(ApiCredential.id == credential_id)
    invalidated = session.execute(
        query.values(invalidated_at=now or utcnow(), invalid_reason=detail[:500]).execution_options(
            synchronize_session=False
        )
    )
    if invalidated.rowcount == 1:  # type: ignore[attr-defined]
        # The exchange's reason (its error text) is what GET api-keys shows as invalid_reason.
        record_event(session, user_id, "key_invalidated", detail=detail)
    sync_done(session, user_id=user_id)


def current_key(session: Session, user_id: str) -> tuple[str, ExchangeCredentials] | None:
    """The user's stored key with its credential id; None without one or once refused (by the
    exchange, or by its binding check: a key failing it now is marked invalid in `session`)."""
    credential = session.scalar(select(ApiCredential).where(ApiCredential.user_id == user_id))
    if credential is None or credential.invalidated_at is not None:
        return None
    credentials = usable_credentials(session, credential, credential.id)
    return None if credentials is None else (credential.id, credentials)


def key_refused(session: Session, user_id: str) -> str | None:
    """Why the exchange refused the user's stored key, or None (no key, or not refused)."""
    return session.scalar(
        select(ApiCredential.invalid_reason).where(
            ApiCredential.user_id == user_id, ApiCredential.invalidated_at.is_not(None)
        )
    )


def vanished(session: Session, trade: Trade) -> None:
    """The exchange does not know this open order any more: it ends EXPIRED, saying why."""
    reject(session, trade, "EXPIRED", VANISHED)
    trade.cancel_requested_at = None
    trade.sync_requested_at = None


def cancel_not_done(trade: Trade, why: str) -> None:
    """A cancel the exchange will not carry out: forget the request and say why."""
    trade.cancel_requested_at = None
    trade.reason = f"The cancel could not be carried out: {why}"[:500]
    trade.updated_at = utcnow()
