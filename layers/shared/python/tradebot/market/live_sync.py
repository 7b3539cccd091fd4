"""Which live users a price update syncs: those the market could have reached an open order of,
and those not fully synced for `live_full_sync_s`.

Every function leaves through one IP and Binance counts request weight per IP, shared by all
users: a sync of every live user every minute (open-orders listings 6, look-ups 4) spends it
on orders nothing happened to. A resting order can only have (partly) filled where the market
traded: a LIMIT BUY at P once it traded at or below P, a SELL at or above P, a STOP_LOSS_LIMIT
once its stop was reached. So each update reads what each symbol traded at since the user was
last checked (a 1m-klines request per symbol, weight 2) and syncs only the users one of whose
orders it reached; a periodic full sync catches what no price shows (orders canceled or expired
outside the bot). What cannot be read (the ranges, Redis) means a sync: failing open costs
weight, never a fill.

Per user, Redis keeps when their last sync was sent and up to when the market was checked for
them. A user left out because a sync of theirs is still in flight keeps their old check, so the
range read at the next update still covers the minutes that sync may have missed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from redis.exceptions import RedisError

from tradebot.cache.client import get_redis, key
from tradebot.errors import ExchangeError
from tradebot.exchange.base import PriceRange
from tradebot.settings import get_settings

logger = logging.getLogger(__name__)

MARKS = ("live_sync",)  # + user id -> "<last sync sent> <checked up to>", epoch seconds
MIN_MARK_TTL_S = 3600  # a mark past live_full_sync_s means a sync anyway; then it may go

RangeReader = Callable[[Sequence[str], datetime], dict[str, list[PriceRange]]]


@dataclass(frozen=True)
class RestingOrder:
    """What deciding whether the market reached an open live order needs to know of it."""

    user_id: str
    symbol: str
    side: str
    type: str
    price: Decimal | None
    stop_price: Decimal | None
    stop_triggered: bool = False


@dataclass(frozen=True)
class SyncMark:
    """When a user's last sync was sent, and up to when the market was checked for them."""

    sent_at: float
    checked_at: float


@dataclass(frozen=True)
class LiveSyncPlan:
    """The live users to sync now, and every user's mark once the messages are sent."""

    users: list[str]
    marks: dict[str, SyncMark]


def reached(order: RestingOrder, low: Decimal, high: Decimal) -> bool:
    """Whether a market that traded from `low` to `high` could have filled (or triggered) it.

    A live stop's trigger is not recorded, so it counts as reached when the market reached its
    stop, or its limit where that lies beyond the stop (it may have triggered before).
    """
    selling = order.side == "SELL"
    limit = order.price
    if order.type == "STOP_LOSS_LIMIT" and not order.stop_triggered:
        stop = order.stop_price
        if stop is None or limit is None:
            return True  # not an order that can rest; a sync will say what it is
        if selling:
            return low <= stop or (limit > stop and high >= limit)
        return high >= stop or (limit < stop and low <= limit)
    if limit is None:
        return True
    return high >= limit if selling else low <= limit


def traded_since(
    ranges: Sequence[PriceRange], since: datetime, latest: Decimal | None
) -> tuple[Decimal, Decimal] | None:
    """The lowest and highest price traded since `since` (the latest price included), or None
    when the ranges do not reach back that far: then nothing is known."""
    if not ranges or min(r.opened_at for r in ranges) > since:
        return None
    prices = [
        price
        for r in ranges
        if r.closed_at is None or r.closed_at > since
        for price in (r.low, r.high)
    ]
    if latest is not None:
        prices.append(latest)
    return (min(prices), max(prices)) if prices else None


def plan_live_syncs(
    orders: Sequence[RestingOrder],
    prices: Mapping[str, Decimal],
    now: float,
    read_ranges: RangeReader,
) -> LiveSyncPlan:
    """The users of `orders` (open live orders of users with no sync in flight) to sync now."""
    by_user: dict[str, list[RestingOrder]] = {}
    for order in orders:
        by_user.setdefault(order.user_id, []).append(order)
    marks = read_marks(sorted(by_user))
    full_sync_s = get_settings().live_full_sync_s
    # Not fully synced for long enough, or never (no mark): synced whatever the market did.
    checking = {
        user: mark
        for user, mark in marks.items()
        if user in by_user and now - mark.sent_at < full_sync_s
    }
    ranges = _ranges(by_user, checking, read_ranges)
    users = sorted(
        user
        for user, mine in by_user.items()
        if user not in checking
        or ranges is None
        or _any_reached(mine, ranges, checking[user], prices)
    )
    new_marks = {user: SyncMark(now, now) for user in users}
    for user in by_user.keys() - set(users):
        new_marks[user] = SyncMark(checking[user].sent_at, now)
    return LiveSyncPlan(users=users, marks=new_marks)


def _ranges(
    by_user: Mapping[str, list[RestingOrder]],
    checking: Mapping[str, SyncMark],
    read_ranges: RangeReader,
) -> dict[str, list[PriceRange]] | None:
    """What the symbols of the users to check traded at since the earliest check; None when
    that cannot be read (then every user is synced)."""
    if not checking:
        return {}
    symbols = sorted({order.symbol for user in checking for order in by_user[user]})
    since = _moment(min(mark.checked_at for mark in checking.values()))
    try:
        return read_ranges(symbols, since)
    except ExchangeError:
        logger.warning(
            "traded price ranges unreadable: every live user is synced this update",
            exc_info=True,
            extra={"symbols": len(symbols)},
        )
        return None


def _any_reached(
    orders: Sequence[RestingOrder],
    ranges: Mapping[str, list[PriceRange]],
    mark: SyncMark,
    prices: Mapping[str, Decimal],
) -> bool:
    since = _moment(mark.checked_at)
    for order in orders:
        traded = traded_since(ranges.get(order.symbol, []), since, prices.get(order.symbol))
        if traded is None or reached(order, *traded):
            return True
    return False


def _moment(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


def _mark_key(user_id: str) -> str:
    return key(*MARKS, user_id)


def read_marks(user_ids: Sequence[str]) -> dict[str, SyncMark]:
    """The users' marks, in one round trip; {} when Redis fails (everyone is synced)."""
    if not user_ids:
        return {}
    try:
        values = get_redis().mget([_mark_key(user) for user in user_ids])
    except RedisError:
        logger.warning("live sync marks unreadable: every live user is synced", exc_info=True)
        return {}
    marks: dict[str, SyncMark] = {}
    for user, value in zip(user_ids, values, strict=True):
        try:
            sent, checked = (float(part) for part in str(value).split())
        except ValueError:
            continue  # none (or unreadable): never synced, as far as we know
        marks[user] = SyncMark(sent_at=sent, checked_at=checked)
    return marks


def write_marks(marks: Mapping[str, SyncMark]) -> None:
    """Store the marks in one round trip; a Redis failure is logged (the next update then
    reads older marks, or none, and syncs more: never less)."""
    if not marks:
        return
    ttl = max(2 * get_settings().live_full_sync_s, MIN_MARK_TTL_S)
    try:
        pipe = get_redis().pipeline(transaction=False)
        for user, mark in marks.items():
            pipe.set(_mark_key(user), f"{mark.sent_at!r} {mark.checked_at!r}", ex=ttl)
        pipe.execute()
    except RedisError:
        logger.warning("live sync marks not stored", exc_info=True)
