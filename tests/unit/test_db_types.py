"""Column types: money stays an exact Decimal and times stay aware UTC, even on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import StatementError
from tradebot.db.types import ExactDecimal, UtcDateTime

_metadata = MetaData()
_rows = Table(
    "rows",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("amount", ExactDecimal),
    Column("at", UtcDateTime),
)


@pytest.fixture
def sqlite() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    _metadata.create_all(engine)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


@pytest.mark.parametrize(
    "amount",
    [
        "0.000000010000000001",
        "99999999999999999999.999999999999999999",
        "-0.00000001",
        "0.1",
        "1E+2",
        "0",
    ],
)
def test_exact_decimal_round_trips_on_sqlite(sqlite: Connection, amount: str) -> None:
    sqlite.execute(insert(_rows).values(id=1, amount=Decimal(amount)))

    stored = sqlite.scalar(select(_rows.c.amount))

    assert isinstance(stored, Decimal)
    assert stored == Decimal(amount)


def test_exact_decimal_is_stored_as_a_plain_string_on_sqlite(sqlite: Connection) -> None:
    # A float column would store 0.1 + 0.2 as 0.30000000000000004.
    sqlite.execute(insert(_rows).values(id=1, amount=Decimal("0.1") + Decimal("0.2")))

    raw = sqlite.exec_driver_sql("SELECT amount, typeof(amount) FROM rows").one()

    assert tuple(raw) == ("0.3", "text")


def test_exact_decimal_keeps_null(sqlite: Connection) -> None:
    sqlite.execute(insert(_rows).values(id=1, amount=None))

    assert sqlite.scalar(select(_rows.c.amount)) is None


def test_utc_datetime_comes_back_aware_and_in_utc(sqlite: Connection) -> None:
    paris = timezone(timedelta(hours=1))
    sqlite.execute(insert(_rows).values(id=1, at=datetime(2026, 11, 25, 11, 0, tzinfo=paris)))

    stored = sqlite.scalar(select(_rows.c.at))

    assert stored == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert stored.tzinfo is UTC


def test_utc_datetime_refuses_a_naive_time(sqlite: Connection) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        sqlite.execute(insert(_rows).values(id=1, at=datetime(2026, 11, 25, 10, 0)))
