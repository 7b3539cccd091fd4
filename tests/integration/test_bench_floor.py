"""The bench's floors replay what a route really sent, and keep nothing (bench/floor.py)."""

from __future__ import annotations

import os
from typing import Any

from tradebot.cache.client import get_redis, key
from tradebot.db.engine import get_engine, unit_of_work
from tradebot.db.models import Note

from bench.floor import Floor, Wire, record_call
from bench.rawdb import RawDb
from devstack.recording import Statement, record_statements
from tests.support import call, user_with_token
from tests.trading_support import OrderQueueHarness, place, set_prices, trade_rows


class CountingConnection:
    """A DB-API connection that notes every statement its cursors execute."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.executed: list[str] = []

    def cursor(self) -> Any:
        return CountingCursor(self.inner.cursor(), self.executed)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class CountingCursor:
    def __init__(self, inner: Any, executed: list[str]) -> None:
        self.inner, self.executed = inner, executed

    def execute(self, sql: str, *args: Any) -> Any:
        self.executed.append(sql)
        return self.inner.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        self.executed.append(sql)
        return self.inner.executemany(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _pinned(note_id: str) -> bool:
    with unit_of_work() as session:
        note = session.get(Note, note_id)
        assert note is not None
        return note.is_pinned


def test_a_floor_replays_each_statement_of_the_recorded_call_and_keeps_no_write() -> None:
    # Given a note, and a change to it recorded as the bench records a route call
    user_id, token = user_with_token("floor@example.com")
    created = call("notes_create", token=token, body={"title": "plan", "tags": ["btc"]})
    note_id = created.body["id"]
    with record_call() as recording:
        reply = call(
            "notes_update",
            token=token,
            path_params={"note_id": note_id},
            body={"is_pinned": True, "tags": ["btc", "review"]},
        )
    assert reply.status == 200, reply.raw_body
    sent = recording.statements.statements
    assert {"SELECT", "UPDATE", "INSERT"} <= {s.verb for s in sent}
    assert "EVALSHA" in recording.redis.commands()  # the rate limit
    assert not _pinned(note_id)  # the recorded call's writes were rolled back
    version = get_redis().get(key("ver", "notes", user_id))  # its Redis writes were not

    # When its floor replays it
    db = RawDb(os.environ["DATABASE_URL"])
    counting = CountingConnection(db.connection)
    db.connection = counting
    try:
        Floor(recording, Wire(db))()
    finally:
        db.close()

    # Then the driver got the same statements, and nothing was kept
    replayed = [sql for sql in counting.executed if sql not in ("BEGIN", "ROLLBACK")]
    assert replayed == [s.sql for s in sent]
    assert not _pinned(note_id)
    assert get_redis().get(key("ver", "notes", user_id)) == version


def test_recorded_transactions_follow_the_units_of_work() -> None:
    user_id, token = user_with_token("units@example.com")
    with record_call() as recording:
        assert call("notes_create", token=token, body={"title": "plan"}).status == 201
    groups = recording.statements.transactions()
    assert groups
    assert all(isinstance(s, Statement) for group in groups for s in group)
    assert recording.statements.verbs().count("BEGIN") == len(groups)
    with unit_of_work() as session:
        assert session.query(Note).filter_by(user_id=user_id).count() == 0


def test_a_unit_of_work_is_recorded_between_begin_and_commit_marks() -> None:
    with record_statements(get_engine()) as recording, unit_of_work() as session:
        session.get(Note, "no such note")
    assert recording.verbs() == ["BEGIN", "SELECT", "COMMIT"]
    assert [[s.verb for s in group] for group in recording.transactions()] == [["SELECT"]]


def test_an_order_is_recorded_with_the_queue_message_it_sent(
    order_queue: OrderQueueHarness, trader: tuple[str, str]
) -> None:
    user_id, token = trader
    set_prices(BTCUSDT="95000.00")
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
    with record_call() as recording:
        assert place(token, order).status == 202
    assert [send.method for send in recording.sends] == ["POST"]
    target = recording.sends[0].headers["X-Amz-Target"]
    assert (target.decode() if isinstance(target, bytes) else target).endswith("SendMessageBatch")
    assert trade_rows(user_id) == []  # rolled back; the message went out all the same
    assert order_queue.depth() == 1
