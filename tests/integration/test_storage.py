"""Money and time survive the real database (SQLite here, PostgreSQL when DATABASE_URL says so)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from tradebot.db.engine import unit_of_work
from tradebot.db.models import Trade, User, new_id
from tradebot.errors import ServiceUnavailable

from tests.support import configure


def _user() -> str:
    with unit_of_work() as session:
        user = User(email="storage@example.com", password_hash="unused")
        session.add(user)
        session.flush()
        return user.id


@pytest.mark.parametrize(
    "amount",
    ["0.000000010000000001", "12345678901234567890.123456789012345678", "-0.5", "0"],
)
def test_a_trade_amount_comes_back_exactly(amount: str) -> None:
    user_id = _user()
    with unit_of_work() as session:
        trade = Trade(
            user_id=user_id,
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            client_order_id=new_id(),
            quantity=Decimal(amount),
            price=Decimal(amount),
        )
        session.add(trade)
        session.flush()
        trade_id = trade.id

    with unit_of_work() as session:
        stored = session.get(Trade, trade_id)
        assert stored is not None
        assert stored.quantity == Decimal(amount)
        assert isinstance(stored.quantity, Decimal)
        assert stored.executed_qty == Decimal(0)


def test_a_timestamp_comes_back_aware_in_utc() -> None:
    tokyo = timezone(timedelta(hours=9))
    with unit_of_work() as session:
        user = User(
            email="tz@example.com",
            password_hash="unused",
            created_at=datetime(2026, 11, 25, 19, 0, 0, 123456, tzinfo=tokyo),
        )
        session.add(user)
        session.flush()
        user_id = user.id

    with unit_of_work() as session:
        stored = session.get(User, user_id)
        assert stored is not None
        assert stored.created_at == datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC)
        assert stored.created_at.utcoffset() == timedelta(0)


def _write_then_fail() -> None:
    with unit_of_work() as session:
        session.add(User(email="half@example.com", password_hash="unused"))
        session.flush()
        raise RuntimeError("boom")


def test_a_failed_unit_of_work_leaves_nothing_behind() -> None:
    with pytest.raises(RuntimeError):
        _write_then_fail()

    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_an_unreachable_database_is_service_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    configure(monkeypatch, database_url=f"postgresql://postgres@127.0.0.1:{closed_port}/tradebot")

    with pytest.raises(ServiceUnavailable), unit_of_work() as session:
        session.get(User, new_id())
