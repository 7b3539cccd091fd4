"""Reading, changing and enforcing a user's risk limits and kill switch.

place_trade calls `lock_limits` and the checks inside its own transaction: the user's limits row
is locked (FOR UPDATE) before anything is counted, so the user's concurrent orders are checked
one after another and cannot overshoot a limit together.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tradebot.audit.events import record_event
from tradebot.auth.stepup import require_step_up
from tradebot.db.models import RiskLimits, Trade, utcnow
from tradebot.errors import LimitExceeded, OrderRateExceeded, TradingPaused
from tradebot.limits.schemas import LimitsPublic, LimitsUpdate
from tradebot.orders.schemas import plain
from tradebot.orders.state import MAY_BE_OPEN
from tradebot.settings import get_settings

RATE_WINDOW = timedelta(minutes=1)
DAILY_WINDOW = timedelta(hours=24)
# Trades that never reached the market do not use up the daily notional: refused, failed, or
# canceled before the exchange (or the paper book) ever had them (no exchange order id).
NOT_TRADED = ("REJECTED", "FAILED")


def effective_limits(row: RiskLimits | None) -> LimitsPublic:
    """The limits in force: the user's own where set, the configured defaults elsewhere."""
    settings = get_settings()

    def pick(own: Any, default: Any) -> Any:
        return default if own is None else own

    own = row or RiskLimits()
    return LimitsPublic(
        max_open_orders=pick(own.max_open_orders, settings.default_max_open_orders),
        max_orders_per_minute=pick(
            own.max_orders_per_minute, settings.default_max_orders_per_minute
        ),
        max_order_notional=pick(own.max_order_notional, settings.default_max_order_notional),
        max_daily_notional=pick(own.max_daily_notional, settings.default_max_daily_notional),
        trading_paused=bool(own.trading_paused),
    )


def get_limits(session: Session, user_id: str) -> LimitsPublic:
    """The user's limits; a user who never set any has the defaults."""
    return effective_limits(session.get(RiskLimits, user_id))


def lock_limits(session: Session, user_id: str) -> RiskLimits:
    """The user's limits row, locked FOR UPDATE until the transaction ends; created if missing.

    INSERT ... ON CONFLICT DO NOTHING first, so two transactions creating it at once both end
    up locking the one row instead of one failing on the primary key.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {"user_id": user_id, "trading_paused": False, "updated_at": utcnow()}
    session.execute(
        insert(RiskLimits).values(**values).on_conflict_do_nothing(index_elements=["user_id"])
    )
    row = session.scalar(
        select(RiskLimits)
        .where(RiskLimits.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None  # inserted above, and only deleted with the user
    return row


def _loosens(name: str, value: Any, current: LimitsPublic) -> bool:
    if name == "trading_paused":
        return current.trading_paused and not value
    return bool(value > getattr(current, name))


def update_limits(
    session: Session, user_id: str, body: LimitsUpdate, otp: str | None = None
) -> LimitsPublic:
    """Apply the limits the request sets: tightening at once, loosening after the step-up
    (the password, and where 2FA is on the one-time code `otp`)."""
    row = lock_limits(session, user_id)
    changes = body.changes()
    current = effective_limits(row)
    if any(_loosens(name, value, current) for name, value in changes.items()):
        password = body.password.get_secret_value() if body.password is not None else None
        require_step_up(session, user_id, password=password, otp=otp, password_required=True)
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    session.flush()
    after = effective_limits(row)
    _record_changes(session, user_id, current, after)
    return after


def _shown(value: Any) -> str:
    return plain(value) if isinstance(value, Decimal) else str(value)


def _record_changes(
    session: Session, user_id: str, before: LimitsPublic, after: LimitsPublic
) -> None:
    """Security events for what changed, in the change's own transaction."""
    if before.trading_paused != after.trading_paused:
        record_event(
            session,
            user_id,
            "trading_paused",
            detail="paused" if after.trading_paused else "unpaused",
        )
    changed = [
        f"{name} {_shown(getattr(before, name))} -> {_shown(getattr(after, name))}"
        for name in type(after).model_fields
        if name != "trading_paused" and getattr(before, name) != getattr(after, name)
    ]
    if changed:
        record_event(session, user_id, "limits_changed", detail="; ".join(changed))


def check_may_order(session: Session, user_id: str, now: datetime) -> LimitsPublic:
    """Lock the user's limits, then refuse while paused (409) or past the order rate (429)."""
    limits = effective_limits(lock_limits(session, user_id))
    if limits.trading_paused:
        raise TradingPaused(
            "Trading is paused for this account; unpause it with PUT /api/account/limits"
        )
    since = now - RATE_WINDOW
    count, oldest = session.execute(
        select(func.count(), func.min(Trade.created_at)).where(
            Trade.user_id == user_id, Trade.created_at > since
        )
    ).one()
    if count >= limits.max_orders_per_minute:
        # The window frees a place when its oldest order is a minute old.
        wait = (oldest + RATE_WINDOW - now).total_seconds() if oldest is not None else 1
        raise OrderRateExceeded(
            max(1, math.ceil(wait)),
            f"max_orders_per_minute: at most {limits.max_orders_per_minute} orders a minute",
        )
    return limits


def daily_notional(session: Session, user_id: str, now: datetime) -> Decimal:
    """The notional of the user's orders accepted in the last 24 hours that may have traded."""
    rows = session.execute(
        select(
            Trade.notional,
            Trade.quote_quantity,
            Trade.quantity,
            Trade.price,
            Trade.cumulative_quote_qty,
        ).where(
            Trade.user_id == user_id,
            Trade.created_at > now - DAILY_WINDOW,
            Trade.status.not_in(NOT_TRADED),
            ~((Trade.status == "CANCELED") & Trade.exchange_order_id.is_(None)),
        )
    ).all()
    total = Decimal(0)
    for notional, quote_quantity, quantity, price, traded in rows:
        # Trades accepted before notionals were recorded: their price, or what they traded.
        fallback = quote_quantity or (quantity * price if quantity and price else traded)
        total += fallback if notional is None else notional
    return total


def check_order_limits(
    session: Session, user_id: str, limits: LimitsPublic, notional: Decimal, now: datetime
) -> None:
    """422 naming the limit when this order's notional, the day's or the open orders exceed it."""
    if notional > limits.max_order_notional:
        raise LimitExceeded.on(
            "max_order_notional",
            f"the order's notional {plain(notional)} is above the limit "
            f"{plain(limits.max_order_notional)}",
        )
    used = daily_notional(session, user_id, now)
    if used + notional > limits.max_daily_notional:
        raise LimitExceeded.on(
            "max_daily_notional",
            f"{plain(used)} traded in the last 24 hours plus this order's {plain(notional)} is "
            f"above the limit {plain(limits.max_daily_notional)}",
        )
    open_orders = session.scalar(
        select(func.count()).where(Trade.user_id == user_id, Trade.status.in_(sorted(MAY_BE_OPEN)))
    )
    if (open_orders or 0) >= limits.max_open_orders:
        raise LimitExceeded.on(
            "max_open_orders",
            f"{open_orders} orders are open; the limit is {limits.max_open_orders}",
        )
