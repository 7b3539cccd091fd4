"""Reading, changing and enforcing a user's risk limits and kill switch.

place_trade calls `lock_limits` and the checks inside its own transaction: the user's limits row
is locked (FOR UPDATE) before anything is counted, so the user's concurrent orders are checked
one after another and cannot overshoot a limit together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from tradebot.audit.events import record_event
from tradebot.auth.stepup import require_step_up
from tradebot.db.models import RiskLimits, Trade, utcnow
from tradebot.db.types import UtcDateTime
from tradebot.errors import LimitExceeded, OrderRateExceeded, TradingPaused
from tradebot.limits.schemas import LimitsPublic, LimitsUpdate
from tradebot.orders.schemas import plain
from tradebot.orders.state import MAY_BE_OPEN
from tradebot.settings import get_settings

RATE_WINDOW = timedelta(minutes=1)
DAILY_WINDOW = timedelta(hours=24)
# Trades that never reached the market do not use up the daily notional (with those canceled
# before the exchange or the paper book ever had them: no exchange order id).
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

    One statement: INSERT ... ON CONFLICT DO UPDATE (a no-op update) RETURNING, which locks the
    row whether it was just created or already there, so two transactions creating it at once
    both end up locking the one row instead of one failing on the primary key.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(RiskLimits)
    statement = (
        insert.values(user_id=user_id, trading_paused=False, updated_at=utcnow())
        .on_conflict_do_update(
            index_elements=["user_id"], set_={"user_id": insert.excluded.user_id}
        )
        .returning(RiskLimits)
    )
    row = session.scalars(statement, execution_options={"populate_existing": True}).one()
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


@dataclass(frozen=True)
class OrderUsage:
    """What a user's orders already use of their limits, counted when a new one is accepted."""

    last_minute: int  # orders accepted in the last minute
    oldest_in_minute: datetime | None
    open_orders: int  # orders that may be open
    daily_notional: Decimal  # notional of the last 24 hours' orders that may have traded


def _counted_today(day_ago: Any) -> ColumnElement[bool]:
    # Trades that never reached the market do not use up the daily notional: refused, failed,
    # or canceled before the exchange (or the paper book) ever had them.
    return and_(
        Trade.created_at > day_ago,
        Trade.status.not_in(NOT_TRADED),
        ~((Trade.status == "CANCELED") & Trade.exchange_order_id.is_(None)),
    )


@cache
def _usage_statement(sum_in_sql: bool) -> Select[Any]:
    """One statement for every count an order is checked against, built once per process.

    Only the user's rows of the last day or that may be open are read (both indexed). With
    `sum_in_sql` (PostgreSQL's exact NUMERIC) the day's notional is summed there too; SQLite
    keeps decimals as text, which SUM would turn into floats, so it is summed in Python.
    """
    minute_ago = bindparam("minute_ago", type_=UtcDateTime)
    day_ago = bindparam("day_ago", type_=UtcDateTime)
    in_minute = Trade.created_at > minute_ago
    may_be_open = Trade.status.in_(sorted(MAY_BE_OPEN))
    columns: list[Any] = [
        func.count().filter(in_minute),
        func.min(Trade.created_at).filter(in_minute),
        func.count().filter(may_be_open),
    ]
    if sum_in_sql:
        # Orders accepted before notionals were recorded count their price, or what traded.
        traded = func.coalesce(
            Trade.notional,
            func.nullif(Trade.quote_quantity, 0),
            func.nullif(Trade.quantity * Trade.price, 0),
            Trade.cumulative_quote_qty,
        )
        columns.append(func.coalesce(func.sum(traded).filter(_counted_today(day_ago)), 0))
    return select(*columns).where(
        Trade.user_id == bindparam("user_id"), or_(Trade.created_at > day_ago, may_be_open)
    )


def _daily_notional_in_python(session: Session, user_id: str, day_ago: datetime) -> Decimal:
    rows = session.execute(
        select(
            Trade.notional,
            Trade.quote_quantity,
            Trade.quantity,
            Trade.price,
            Trade.cumulative_quote_qty,
        ).where(Trade.user_id == user_id, _counted_today(day_ago))
    ).all()
    total = Decimal(0)
    for notional, quote_quantity, quantity, price, traded in rows:
        fallback = quote_quantity or (quantity * price if quantity and price else traded)
        total += (fallback or Decimal(0)) if notional is None else notional
    return total


def order_usage(session: Session, user_id: str, now: datetime) -> OrderUsage:
    """What the user's orders use of their limits as of `now`."""
    sum_in_sql = session.get_bind().dialect.name == "postgresql"
    day_ago = now - DAILY_WINDOW
    params = {"user_id": user_id, "minute_ago": now - RATE_WINDOW, "day_ago": day_ago}
    row = session.execute(_usage_statement(sum_in_sql), params).one()
    daily = Decimal(row[3]) if sum_in_sql else _daily_notional_in_python(session, user_id, day_ago)
    return OrderUsage(
        last_minute=row[0], oldest_in_minute=row[1], open_orders=row[2], daily_notional=daily
    )


def check_may_order(
    session: Session, user_id: str, now: datetime
) -> tuple[LimitsPublic, OrderUsage]:
    """Lock the user's limits, then refuse while paused (409) or past the order rate (429)."""
    limits = effective_limits(lock_limits(session, user_id))
    if limits.trading_paused:
        raise TradingPaused(
            "Trading is paused for this account; unpause it with PUT /api/account/limits"
        )
    usage = order_usage(session, user_id, now)
    if usage.last_minute >= limits.max_orders_per_minute:
        # The window frees a place when its oldest order is a minute old.
        oldest = usage.oldest_in_minute
        wait = (oldest + RATE_WINDOW - now).total_seconds() if oldest is not None else 1
        raise OrderRateExceeded(
            max(1, math.ceil(wait)),
            f"max_orders_per_minute: at most {limits.max_orders_per_minute} orders a minute",
        )
    return limits, usage


def check_order_limits(limits: LimitsPublic, usage: OrderUsage, notional: Decimal) -> None:
    """422 naming the limit when this order's notional, the day's or the open orders exceed it."""
    if notional > limits.max_order_notional:
        raise LimitExceeded.on(
            "max_order_notional",
            f"the order's notional {plain(notional)} is above the limit "
            f"{plain(limits.max_order_notional)}",
        )
    used = usage.daily_notional
    if used + notional > limits.max_daily_notional:
        raise LimitExceeded.on(
            "max_daily_notional",
            f"{plain(used)} traded in the last 24 hours plus this order's {plain(notional)} is "
            f"above the limit {plain(limits.max_daily_notional)}",
        )
    if usage.open_orders >= limits.max_open_orders:
        raise LimitExceeded.on(
            "max_open_orders",
            f"{usage.open_orders} orders are open; the limit is {limits.max_open_orders}",
        )
