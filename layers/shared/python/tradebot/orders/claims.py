"""Claiming a queued trade: the guarded UPDATE that lets one executor place it, at most once.

The first claim takes an unclaimed PENDING trade; the take-over, a live trade whose claim's
lease has run out. Which of the two matched says whether an earlier attempt may have reached the
exchange (then the order is looked up by client id before anything is placed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Label, Table, Update, bindparam, select, update
from sqlalchemy.orm import Session

from tradebot.accounts.sealing import KeyNotBound, invalidate_unbound
from tradebot.accounts.service import decrypt_credentials
from tradebot.crypto.vault import ExchangeCredentials
from tradebot.db.models import ApiCredential, Trade
from tradebot.errors import RetryableExchangeError
from tradebot.exchange.base import OrderRequest
from tradebot.orders.mapping import request_of
from tradebot.settings import get_settings


class OrderInProgress(RetryableExchangeError):
    """Another executor holds this trade right now; the message is retried later."""


_TRADES = cast(Table, Trade.__table__)
_CREDENTIALS = cast(Table, ApiCredential.__table__)


# Claiming: a guarded UPDATE that also returns the order, so a claim costs one round trip. The
# first claim takes an unclaimed trade, paper or live; the take-over, a live trade whose claim's
# lease has run out (a paper trade is claimed and placed in one transaction: never half-done).
_CLAIM = (
    update(_TRADES)
    .where(_TRADES.c.id == bindparam("trade_id"), _TRADES.c.status == "PENDING")
    .values(claimed_at=bindparam("now"), claimed_by=bindparam("worker_id"))
)
_ORDER = (
    _TRADES.c.user_id,
    _TRADES.c.credential_id,
    _TRADES.c.trading_mode,
    _TRADES.c.symbol,
    _TRADES.c.side,
    _TRADES.c.type,
    _TRADES.c.client_order_id,
    _TRADES.c.quantity,
    _TRADES.c.quote_quantity,
    _TRADES.c.price,
    _TRADES.c.stop_price,
    _TRADES.c.cancel_requested_at,
)
_KEY_COLUMNS = (
    "api_key_encrypted",
    "api_secret_encrypted",
    "api_key_hint",
    "testnet",
    "key_type",
    "invalidated_at",
    "invalid_reason",
)


def _owners_key(column: str, label: str | None = None) -> Label[Any]:
    """The trade owner's stored `column` (NULL without a key), as a correlated sub-select."""
    owners = select(_CREDENTIALS.c[column]).where(_CREDENTIALS.c.user_id == _TRADES.c.user_id)
    return owners.scalar_subquery().label(label or column)


def _claims(with_key: bool) -> tuple[Update, Update]:
    """The first claim and the take-over, returning the order (and the owner's key and its id,
    to compare with the credential the trade was accepted for)."""
    key = tuple(_owners_key(name) for name in _KEY_COLUMNS)
    owners_id = _owners_key("id", "owner_credential_id")
    returned = (*_ORDER, *key, owners_id) if with_key else _ORDER
    claim = _CLAIM.returning(*returned)
    take_over = claim.where(
        _TRADES.c.trading_mode != "paper", _TRADES.c.claimed_at <= bindparam("lease_end")
    )
    return claim.where(_TRADES.c.claimed_at.is_(None)), take_over


# On PostgreSQL the claim returns the owner's (encrypted) key too. SQLite renders RETURNING
# without table names, which would turn the sub-select's correlation into `user_id = user_id`
# (anyone's key): there, the single-process dev database, the key is read by a second statement.
_CLAIMS_WITH_KEY = _claims(with_key=True)
_CLAIMS = _claims(with_key=False)
_STATE = select(_TRADES.c.status, _TRADES.c.trading_mode).where(
    _TRADES.c.id == bindparam("trade_id")
)


@dataclass(frozen=True)
class Claim:
    """A claimed trade: whether an earlier attempt had claimed it, and for a live trade what
    placing needs (a paper trade has no request here: it is placed from its row).

    `credentials` is the key the order was accepted for, or None when the owner's key was
    removed or replaced since: the order is never placed with another account's key.
    """

    earlier: bool
    request: OrderRequest | None = None
    credentials: ExchangeCredentials | None = None
    # The owner asked to cancel it while it waited (or while an attempt was refused for certain).
    cancel_requested: bool = False
    # Why the key cannot be used (then `credentials` is None): the exchange refused it since,
    # or it failed its binding check (marked invalid with the claim).
    key_refused: str | None = None


@dataclass(frozen=True)
class BoundKey:
    """The key a trade was accepted for: usable, refused (by the exchange or its binding check)
    since, or gone."""

    credentials: ExchangeCredentials | None  # None: removed, replaced or refused
    refused: str | None = None  # why it is not used (until a key is stored anew)


def bound_key(session: Session, user_id: str, credential_id: str | None) -> BoundKey:
    """The owner's key if it is still the credential `credential_id` (the trade's)."""
    stored = session.scalar(select(ApiCredential).where(ApiCredential.user_id == user_id))
    if stored is None or credential_id is None or stored.id != credential_id:
        return BoundKey(None)
    return _usable(session, stored, stored.id)


def _usable(session: Session, stored: Any, credential_id: str) -> BoundKey:
    if stored.invalidated_at is not None:
        return BoundKey(None, stored.invalid_reason or "refused by the exchange")
    try:
        return BoundKey(decrypt_credentials(stored, credential_id))
    except KeyNotBound as error:
        # Committed with the caller's transaction: the key is not tried again.
        invalidate_unbound(session, error)
        return BoundKey(None, error.detail)


def bound_credentials(
    session: Session, user_id: str, credential_id: str | None
) -> ExchangeCredentials | None:
    """The owner's key if it is still the trade's credential and neither the exchange nor its
    binding check has refused it since, else None (a key failing its binding check now is marked
    invalid in `session`)."""
    return bound_key(session, user_id, credential_id).credentials


def claim_trade(session: Session, trade_id: str, now: datetime, worker_id: str) -> Claim | None:
    """Claim a PENDING trade; None when there is nothing to place.

    A guarded UPDATE claims the trade and returns what placing needs (on PostgreSQL the
    owner's stored key too). Which guarded UPDATE matched says whether the trade was claimed
    before, not a row read earlier: that read may predate another attempt's claim and
    release. A paper trade is claimed only when unclaimed, in the transaction that places it.
    """
    with_key = session.get_bind().dialect.name == "postgresql"
    first_claim, take_over = _CLAIMS_WITH_KEY if with_key else _CLAIMS
    params = {"trade_id": trade_id, "now": now, "worker_id": worker_id}
    row = session.execute(first_claim, params).one_or_none()
    earlier = row is None
    if row is None:
        lease = timedelta(seconds=get_settings().order_claim_lease_s)
        row = session.execute(take_over, {**params, "lease_end": now - lease}).one_or_none()
    if row is None:
        state = session.execute(_STATE, {"trade_id": trade_id}).one_or_none()
        if state is None or state.status != "PENDING" or state.trading_mode == "paper":
            return None
        raise OrderInProgress("Another executor is placing this order")
    if row.trading_mode == "paper":
        return Claim(earlier=False)
    if with_key:
        same_key = row.credential_id is not None and row.owner_credential_id == row.credential_id
        key = _usable(session, row, row.credential_id) if same_key else BoundKey(None)
    else:
        key = bound_key(session, row.user_id, row.credential_id)
    return Claim(
        earlier=earlier,
        request=request_of(row),
        credentials=key.credentials,
        cancel_requested=row.cancel_requested_at is not None,
        key_refused=key.refused,
    )
