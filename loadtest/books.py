"""Do the books balance? Every trade once, every paper fill reflected once, to the last satoshi.

Read straight from the database after the stack has stopped, so nothing moves while we count:
for each user, every asset's free + locked must equal the starting balance plus the sum of the
fills (minus fees), and locked must equal what the open orders reserve, in exact Decimals.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tradebot.db.models import PaperBalance, Trade
from tradebot.exchange.paper import STARTING_BALANCE
from tradebot.exchange.snapshot import load_snapshot_filters

AMOUNT = Decimal("0.00000001")  # the paper exchange keeps eight decimals, rounding down
ZERO = Decimal(0)
OPEN = ("NEW", "PARTIALLY_FILLED")


def _amount(value: Decimal) -> Decimal:
    return value.quantize(AMOUNT, rounding=ROUND_DOWN)


@dataclass
class BooksReport:
    """What the check found: trade counts, statuses, and every discrepancy in words."""

    trades: int = 0
    fills: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return not self.problems


def _expected(
    trades: Iterable[Trade], fee_rate: Decimal, report: BooksReport
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """(asset -> free + locked, asset -> locked) implied by the user's trades."""
    filters = load_snapshot_filters()
    total: dict[str, Decimal] = dict(STARTING_BALANCE)
    locked: dict[str, Decimal] = {}
    for trade in trades:
        spec = filters[trade.symbol]
        base, quote = spec.base_asset, spec.quote_asset
        if trade.executed_qty > 0:
            report.fills += 1
            qty, cost = trade.executed_qty, trade.cumulative_quote_qty
            if trade.side == "BUY":
                fee_asset, fee = base, _amount(qty * fee_rate)
                total[base] = total.get(base, ZERO) + qty - trade.fee
                total[quote] = total.get(quote, ZERO) - cost
            else:
                fee_asset, fee = quote, _amount(cost * fee_rate)
                total[base] = total.get(base, ZERO) - qty
                total[quote] = total.get(quote, ZERO) + cost - trade.fee
            if (trade.fee, trade.fee_asset) != (fee, fee_asset):
                charged, due = f"{trade.fee} {trade.fee_asset}", f"{fee} {fee_asset}"
                report.problems.append(f"trade {trade.id}: fee {charged}, expected {due}")
        if trade.status in OPEN:
            assert trade.quantity is not None
            if trade.side == "BUY":
                assert trade.price is not None
                locked[quote] = locked.get(quote, ZERO) + _amount(trade.quantity * trade.price)
            else:
                locked[base] = locked.get(base, ZERO) + trade.quantity - trade.executed_qty
    return total, locked


def check_user(session: Session, user_id: str, fee_rate: Decimal, report: BooksReport) -> None:
    """Add this paper user's discrepancies to `report`."""
    trades = list(session.scalars(select(Trade).where(Trade.user_id == user_id)))
    rows = {
        row.asset: row
        for row in session.scalars(select(PaperBalance).where(PaperBalance.user_id == user_id))
    }
    report.trades += len(trades)
    report.statuses.update(t.status for t in trades)
    if not rows:
        if any(t.executed_qty > 0 or t.status in OPEN for t in trades):
            report.problems.append(f"user {user_id}: fills or open orders but no balances")
        return
    total, locked = _expected(trades, fee_rate, report)
    for asset in sorted(set(total) | set(locked) | set(rows)):
        row = rows.get(asset)
        free_now = row.free if row else ZERO
        locked_now = row.locked if row else ZERO
        want_total, want_locked = total.get(asset, ZERO), locked.get(asset, ZERO)
        if free_now + locked_now != want_total or locked_now != want_locked:
            report.problems.append(
                f"user {user_id} {asset}: free {free_now} + locked {locked_now}, expected "
                f"{want_total} in all with {want_locked} locked"
            )
        if free_now < 0 or locked_now < 0:
            report.problems.append(f"user {user_id} {asset}: negative balance")


def check_books(
    session: Session,
    user_ids: Iterable[str],
    *,
    accepted: set[str] | None = None,
    fee_rate: Decimal = Decimal("0.001"),
) -> BooksReport:
    """Check every user's paper books; with `accepted`, also that exactly those trades exist."""
    users = list(user_ids)
    report = BooksReport()
    for user_id in users:
        check_user(session, user_id, fee_rate, report)
    stored = list(session.scalars(select(Trade.id).where(Trade.user_id.in_(users))))
    if len(stored) != len(set(stored)):
        report.problems.append("a trade id is stored twice")
    if accepted is not None:
        missing, unexpected = accepted - set(stored), set(stored) - accepted
        if missing:
            report.problems.append(f"{len(missing)} accepted trade(s) missing, e.g. {min(missing)}")
        if unexpected:
            report.problems.append(
                f"{len(unexpected)} trade(s) nobody was told about: {sorted(unexpected)[:5]}"
            )
    # The paper exchange's order log is the trades table: one exchange order per trade at most.
    duplicated = session.execute(
        select(Trade.exchange_order_id, func.count())
        .where(Trade.user_id.in_(users), Trade.exchange_order_id.is_not(None))
        .group_by(Trade.exchange_order_id)
        .having(func.count() > 1)
    ).all()
    for order_id, count in duplicated:
        report.problems.append(f"exchange order {order_id} recorded on {count} trades")
    return report
