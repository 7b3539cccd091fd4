"""Failed logins counted in the database while Redis is unavailable.

The lockout's fallback (tradebot.cache.lockout): every login environment shares it, so during a
Redis outage a guesser gets no more tries than the limits allow however many environments are
warm, and a lock taken then still holds once Redis is back. Written in the login's transaction,
which commits on a failure too. Rows lock `FOR UPDATE`, so concurrent failures count one by one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tradebot.cache.lockout import Failures, LockoutPolicy, count_failure
from tradebot.db.models import LoginFailures

Clock = Callable[[], float]


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _seconds(moment: datetime) -> float:
    return moment.timestamp()


class DatabaseLedger:
    """The `FailureLedger` of one login's database session."""

    def __init__(self, session: Session, clock: Clock = time.time) -> None:
        self._session = session
        self._clock = clock

    def _now(self) -> float:
        # To the microsecond the database stores: a stored "now" must compare as now, not as
        # a rounding later (which would keep an expired window open).
        return _seconds(_at(self._clock()))

    def locked_for(self, subjects: tuple[str, ...]) -> float:
        """Seconds until none of `subjects` is locked (0: none is)."""
        now = self._now()
        locks = self._session.scalars(
            select(LoginFailures.locked_until).where(LoginFailures.subject.in_(subjects))
        )
        return max([_seconds(until) - now for until in locks] + [0.0])

    def record(self, limits: dict[str, int], policy: LockoutPolicy) -> None:
        """Count one failure of each subject; lock those that reach their limit."""
        from sqlalchemy.dialects import postgresql, sqlite

        now = self._now()
        dialect = self._session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # Rows nobody needs any more go first, so the table stays as small as the attack.
        moment = _at(now)
        self._session.execute(
            delete(LoginFailures).where(
                LoginFailures.window_ends <= moment,
                LoginFailures.locked_until <= moment,
                LoginFailures.strikes_until <= moment,
            )
        )
        for subject in sorted(limits):  # one order, so concurrent failures cannot deadlock
            self._session.execute(
                insert(LoginFailures)
                .values(
                    subject=subject,
                    count=0,
                    window_ends=moment,
                    locked_until=moment,
                    strikes=0,
                    strikes_until=moment,
                )
                .on_conflict_do_nothing(index_elements=["subject"])
            )
            row = self._session.scalar(
                select(LoginFailures)
                .where(LoginFailures.subject == subject)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            assert row is not None  # inserted above
            failures = Failures(
                count=row.count,
                window_ends=_seconds(row.window_ends),
                locked_until=_seconds(row.locked_until),
                strikes=row.strikes,
                strikes_until=_seconds(row.strikes_until),
            )
            count_failure(failures, limits[subject], policy, now)
            row.count, row.strikes = failures.count, failures.strikes
            row.window_ends = _at(failures.window_ends)
            row.locked_until = _at(failures.locked_until)
            row.strikes_until = _at(failures.strikes_until)
        self._session.flush()

    def clear(self, subject: str) -> None:
        """Forget `subject`'s failures and lockouts."""
        self._session.execute(delete(LoginFailures).where(LoginFailures.subject == subject))
