"""Placing, listing and canceling trades from the API."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tradebot.accounts.sealing import NOT_BOUND, KeyNotBound, keys_checked
from tradebot.accounts.service import stored_key_refused
from tradebot.audit.events import record_event
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential, Trade, utcnow
from tradebot.errors import Conflict, NotFound, ServiceUnavailable
from tradebot.limits.service import check_may_order, check_order_limits
from tradebot.orders.messages import OrderMessage
from tradebot.orders.queue import enqueue
from tradebot.orders.schemas import CancelAllPublic, TradeCreate, TradePublic, TradeStatus
from tradebot.orders.state import MAY_BE_OPEN, OPEN
from tradebot.orders.validation import check_affordable
from tradebot.pagination import Page, newest_first_after, newest_first_page
from tradebot.portfolio.dashboard import invalidate_dashboard

logger = logging.getLogger(__name__)


def public(trade: Trade) -> TradePublic:
    """The API view of a trade."""
    return TradePublic.model_validate(trade, from_attributes=True)


def _request_hash(body: TradeCreate) -> str:
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


def _replay(session: Session, user_id: str, key: str, request_hash: str) -> Trade | None:
    trade = session.scalar(
        select(Trade).where(Trade.user_id == user_id, Trade.idempotency_key == key)
    )
    if trade is not None and trade.request_hash != request_hash:
        raise Conflict("This Idempotency-Key was already used with a different request")
    return trade


def place_trade(user_id: str, body: TradeCreate, idempotency_key: str | None) -> TradePublic:
    """Validate, record the trade PENDING, then queue it for the executor.

    With an Idempotency-Key, the same key and body return the first trade and a different body
    is 409. The key is stored on the trade under a unique constraint, so the check is atomic
    with the insert and survives a cache outage.
    """
    request_hash = _request_hash(body)
    now = utcnow()
    # A live order reads the balance with the stored key: one that is not this user's is
    # refused (400) and marked invalid once this transaction has rolled back.
    with keys_checked(), unit_of_work() as session:
        if idempotency_key:
            existing = _replay(session, user_id, idempotency_key, request_hash)
            if existing is not None:
                return public(existing)
        # The account is fixed here: the venue and the credential this order is checked
        # against are the ones the executor will place it with, or it is not placed at all.
        # FOR KEY SHARE: a key being replaced or deleted (which locks this row FOR UPDATE and
        # refuses while live orders may be open) waits for this order, or this order for it.
        credential = session.execute(
            select(
                ApiCredential.id,
                ApiCredential.testnet,
                ApiCredential.invalidated_at,
                ApiCredential.invalid_reason,
            )
            .where(ApiCredential.user_id == user_id)
            .with_for_update(read=True, key_share=True)
        ).one_or_none()
        if credential is not None and credential.invalid_reason == NOT_BOUND:
            raise KeyNotBound(user_id, credential.id)  # not queued with another's key
        live = credential is not None
        if credential is not None and credential.invalidated_at is not None:
            # Never queued for a key the exchange refused: it would not be placed.
            raise stored_key_refused(credential.invalid_reason)
        # Risk limits: the user's limits row is locked before anything is counted, so this
        # user's concurrent orders are checked one after another and cannot overshoot together.
        limits, usage = check_may_order(session, user_id, now)
        notional = check_affordable(session, user_id, body, live=live)
        check_order_limits(limits, usage, notional)
        trade = Trade(
            user_id=user_id,
            symbol=body.symbol,
            side=body.side,
            type=body.type,
            quantity=body.quantity,
            quote_quantity=body.quote_quantity,
            price=body.price,
            stop_price=body.stop_price,
            status="PENDING",
            client_order_id=uuid.uuid4().hex,
            trading_mode="live" if live else "paper",
            venue=_venue(credential.testnet) if credential is not None else "paper",
            credential_id=credential.id if credential is not None else None,
            idempotency_key=idempotency_key,
            request_hash=request_hash if idempotency_key else None,
            notional=notional,
        )
        session.add(trade)
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            existing = _replay(session, user_id, idempotency_key or "", request_hash)
            if existing is None:
                raise
            return public(existing)
        record_event(session, user_id, "order_placed", detail=_describe(trade))
        invalidate_dashboard(session, user_id)
        result = public(trade)
    _send([(OrderMessage(trade_id=result.id, action="place"), user_id)])
    return result


def _describe(trade: Trade) -> str:
    """A trade as security events name it, e.g. "BUY LIMIT BTCUSDT 0.01 @ 50000 (paper) <id>"."""
    amount = f"{trade.quantity}" if trade.quantity is not None else f"{trade.quote_quantity} quote"
    price = f" @ {trade.price}" if trade.price is not None else ""
    return f"{trade.side} {trade.type} {trade.symbol} {amount}{price} ({trade.venue}) {trade.id}"


def _venue(testnet: bool) -> str:
    return "testnet" if testnet else "live"


def _send(messages: list[tuple[OrderMessage, str]]) -> None:
    """Send (message, user id) pairs after the commit; a failed send is left to the sweeper."""
    try:
        enqueue(messages)
    except ServiceUnavailable:
        # The trades are committed; the sweeper re-sends messages for trades left waiting
        # (a PENDING trade's placement, an open order's requested cancel).
        logger.warning(
            "order messages not sent; the sweeper will retry",
            extra={"trade_ids": [message.trade_id for message, _ in messages]},
        )


def get_trade(session: Session, user_id: str, trade_id: str) -> TradePublic:
    """One of the user's trades; another user's is 404 like a missing one."""
    trade = session.scalar(select(Trade).where(Trade.id == trade_id, Trade.user_id == user_id))
    if trade is None:
        raise NotFound("No such trade")
    return public(trade)


def _list_query(
    user_id: str,
    symbol: str | None,
    status: TradeStatus | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
) -> Select[Trade]:
    query = select(Trade).where(Trade.user_id == user_id)
    if symbol:
        query = query.where(Trade.symbol == symbol)
    if status:
        query = query.where(Trade.status == status)
    if since:
        query = query.where(Trade.created_at >= since)
    if until:
        query = query.where(Trade.created_at < until)
    if cursor:
        query = query.where(newest_first_after(cursor, Trade.created_at, Trade.id))
    # Served by ix_trades_user_id_created_at (user_id, created_at DESC, id DESC).
    return query.order_by(Trade.created_at.desc(), Trade.id.desc())


def list_trades(
    session: Session,
    user_id: str,
    *,
    limit: int,
    cursor: str | None = None,
    symbol: str | None = None,
    status: TradeStatus | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[TradePublic]:
    """The user's trades, newest first, one page at a time."""
    query = _list_query(user_id, symbol, status, since, until, cursor).limit(limit + 1)
    rows = list(session.scalars(query))
    rows, next_cursor = newest_first_page(rows, limit)
    return Page[TradePublic](items=[public(t) for t in rows], next_cursor=next_cursor)


# What canceling one locked trade came to: CANCELED at once; claimed by an executor (still
# being placed); open on the exchange (a cancel message is due); or nothing to cancel here.
CancelStep = Literal["canceled", "being_placed", "open", "not_open"]


def _cancel_locked(session: Session, trade: Trade, now: datetime) -> CancelStep:
    """Cancel `trade` (row-locked by the caller) as far as this transaction can.

    An unclaimed PENDING trade is CANCELED; an open one gets `cancel_requested_at` and needs a
    cancel message sent after the commit. A claimed PENDING trade and every other status are
    left as they are: the caller decides what they mean.
    """
    if trade.status == "PENDING" and trade.claimed_at is None:
        # Guarded: an executor claiming it at this instant wins (then it is being placed).
        moved = session.execute(
            update(Trade)
            .where(Trade.id == trade.id, Trade.status == "PENDING", Trade.claimed_at.is_(None))
            .values(
                status="CANCELED",
                reason="Canceled before it reached the exchange",
                updated_at=now,
            )
        )
        if moved.rowcount == 1:  # type: ignore[attr-defined]
            session.refresh(trade)
            return "canceled"
        return "being_placed"
    if trade.status == "PENDING":
        # An attempt at placing it is under way or failed: the request is recorded, the next
        # attempt honours it before placing, and should this one place the order, the cancel
        # message (behind it in the user's queue) cancels it.
        trade.cancel_requested_at = now
        return "being_placed"
    if trade.status in OPEN:
        trade.cancel_requested_at = now
        return "open"
    return "not_open"


def cancel_trade(user_id: str, trade_id: str) -> TradePublic:
    """Cancel: a queued trade at once; one being placed or open through the executor; else 409."""
    now = utcnow()
    with unit_of_work() as session:
        trade = session.scalar(
            select(Trade).where(Trade.id == trade_id, Trade.user_id == user_id).with_for_update()
        )
        if trade is None:
            raise NotFound("No such trade")
        step = _cancel_locked(session, trade, now)
        if step == "not_open":
            raise Conflict(f"A {trade.status} trade cannot be canceled")
        record_event(session, user_id, "order_canceled", detail=_describe(trade))
        if step == "canceled":
            invalidate_dashboard(session, user_id)
            return public(trade)
        result = public(trade)
    _send([(OrderMessage(trade_id=trade_id, action="cancel"), user_id)])
    return result


def cancel_all_trades(user_id: str) -> CancelAllPublic:
    """Cancel every order of the user that may be open, paper or live, in one transaction.

    Unclaimed PENDING orders are CANCELED at once; claimed ones get `cancel_requested_at` (the
    executor honours it once placed, and the sweeper re-sends the cancel of an order that
    opened anyway); open orders get a cancel message each, sent in batches after the commit.
    RECONCILING orders are left to the reconciler and counted apart: nobody knows yet whether
    they exist.
    """
    now = utcnow()
    canceled = reconciling = 0
    messages: list[tuple[OrderMessage, str]] = []
    with unit_of_work() as session:
        trades = session.scalars(
            select(Trade)
            .where(Trade.user_id == user_id, Trade.status.in_(sorted(MAY_BE_OPEN)))
            .order_by(Trade.created_at, Trade.id)
            .with_for_update()
        ).all()
        for trade in trades:
            step = _cancel_locked(session, trade, now)
            if step in ("being_placed", "open"):
                messages.append((OrderMessage(trade_id=trade.id, action="cancel"), user_id))
            elif step == "not_open":
                if trade.status == "RECONCILING":
                    reconciling += 1
                continue
            canceled += 1
        if canceled:
            invalidate_dashboard(session, user_id)
        record_event(
            session, user_id, "cancel_all", detail=_cancel_all_detail(canceled, reconciling)
        )
    if messages:
        _send(messages)
    return CancelAllPublic(canceled=canceled, reconciling=reconciling)


def _cancel_all_detail(canceled: int, reconciling: int) -> str:
    detail = f"{canceled} order(s) canceled or being canceled"
    return detail + (f", {reconciling} being reconciled" if reconciling else "")
