"""What the application sends to its database and Redis, recorded through the libraries' hooks.

`record_statements(engine)` collects every statement with the parameters the DB-API driver got
(SQLAlchemy's `before_cursor_execute`) and the transaction boundaries around them (its `begin`,
`commit`, `rollback` and savepoint events). `rolled_back(engine)` runs the units of work inside
one outer transaction that is rolled back afterwards, so a call can be recorded without leaving
its writes behind. `record_redis(client)` collects the commands a redis-py client sends, alone
or pipelined, with what each answered. The bench replays recordings as its floors
(bench/floor.py); the tests count and inspect them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, event

if TYPE_CHECKING:
    from redis import Redis

BEGIN, COMMIT, ROLLBACK = "BEGIN", "COMMIT", "ROLLBACK"
# What SQLAlchemy sends for the boundaries it also reports as events (SQLite's BEGIN IMMEDIATE
# comes from the layer's own `begin` listener).
_BOUNDARY = re.compile(r"\s*(BEGIN|SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", re.I)


@dataclass(frozen=True)
class Statement:
    """One statement as the driver got it: SQL in the driver's paramstyle, its parameters."""

    sql: str
    parameters: Any
    many: bool = False

    @property
    def verb(self) -> str:
        """The first word, upper-case: SELECT, INSERT, UPDATE, DELETE, ..."""
        return self.sql.split(None, 1)[0].upper()


@dataclass
class StatementRecording:
    """Statements, and BEGIN / COMMIT / ROLLBACK marks where the application's transactions
    (or, under `rolled_back`, its units of work) began and ended."""

    entries: list[Statement | str] = field(default_factory=list)

    @property
    def statements(self) -> list[Statement]:
        return [e for e in self.entries if isinstance(e, Statement)]

    def verbs(self) -> list[str]:
        """Each statement's verb, and the transaction marks, in order."""
        return [e.verb if isinstance(e, Statement) else e for e in self.entries]

    def transactions(self) -> list[list[Statement]]:
        """The statements grouped by transaction; statements outside any mark form their own."""
        groups: list[list[Statement]] = []
        current: list[Statement] | None = None
        for entry in self.entries:
            if isinstance(entry, Statement):
                if current is None:
                    groups.append([entry])
                else:
                    current.append(entry)
            elif entry == BEGIN:
                current = []
                groups.append(current)
            else:
                current = None
        return [group for group in groups if group]


class _StatementListener:
    """Engine listeners feeding one recording; `outer` is the depth of transactions that were
    open before recording began (1 under `rolled_back`)."""

    def __init__(self, recording: StatementRecording, outer: int) -> None:
        self.recording, self.outer = recording, outer
        self.depth = outer
        self.boundary_sql = False  # the next statement is SQL for a boundary already marked
        self._listeners: list[tuple[str, Any]] = []

    def statement(
        self, _conn: Any, _cursor: Any, sql: str, parameters: Any, _context: Any, many: bool
    ) -> None:
        boundary = _BOUNDARY.match(sql)
        # SQLite's BEGIN IMMEDIATE comes from a `begin` listener that may run before this
        # recorder's own: a BEGIN is always a mark, never a statement.
        if boundary and (self.boundary_sql or boundary.group(1).upper() == "BEGIN"):
            self.boundary_sql = False
            return
        self.boundary_sql = False
        copied = [_copy(p) for p in parameters] if many else _copy(parameters)
        self.recording.entries.append(Statement(sql, copied, many))

    def opened(self, _conn: Any, *_args: Any) -> None:
        self.depth += 1
        if self.depth == self.outer + 1:
            self.recording.entries.append(BEGIN)
            self.boundary_sql = True

    def closed(self, mark: str) -> Any:
        def close(_conn: Any, *_args: Any) -> None:
            if self.depth == self.outer + 1:
                self.recording.entries.append(mark)
                self.boundary_sql = True
            self.depth = max(self.outer, self.depth - 1)

        return close

    def listeners(self) -> list[tuple[str, Any]]:
        """(event, function) pairs, made once: `event.remove` needs the very same functions."""
        if self._listeners:
            return self._listeners
        self._listeners = [
            ("before_cursor_execute", self.statement),
            ("begin", self.opened),
            ("savepoint", self.opened),
            ("commit", self.closed(COMMIT)),
            ("release_savepoint", self.closed(COMMIT)),
            ("rollback", self.closed(ROLLBACK)),
            ("rollback_savepoint", self.closed(ROLLBACK)),
        ]
        return self._listeners


def _copy(parameters: Any) -> Any:
    if isinstance(parameters, dict):
        return dict(parameters)
    if isinstance(parameters, list | tuple):
        return tuple(parameters)
    return parameters


@contextmanager
def record_statements(engine: Engine, *, outer: int = 0) -> Iterator[StatementRecording]:
    """Record what `engine` sends while the block runs (from any thread: use one at a time)."""
    recording = StatementRecording()
    listener = _StatementListener(recording, outer)
    for name, function in listener.listeners():
        event.listen(engine, name, function)
    try:
        yield recording
    finally:
        for name, function in listener.listeners():
            event.remove(engine, name, function)


@contextmanager
def rolled_back(engine: Engine) -> Iterator[StatementRecording]:
    """Run the layer's units of work inside one transaction rolled back at the end, recording.

    Each unit of work becomes a SAVEPOINT (SQLAlchemy's "join an external transaction" recipe)
    and is recorded as a transaction of its own, as it runs outside this block.
    """
    from tradebot.db.engine import _session_factory

    factory = _session_factory()
    settings = dict(factory.kw)
    with engine.connect() as connection:
        outer = connection.begin()
        factory.configure(bind=connection, join_transaction_mode="create_savepoint")
        try:
            with record_statements(engine, outer=1) as recording:
                yield recording
        finally:
            factory.kw.clear()
            factory.kw.update(settings)
            outer.rollback()


# --- Redis ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedisCall:
    """One round trip: a command, or a pipeline's commands; with what each answered."""

    commands: tuple[tuple[Any, ...], ...]
    replies: tuple[Any, ...]
    pipeline: bool = False
    transaction: bool = False


@dataclass
class RedisRecording:
    calls: list[RedisCall] = field(default_factory=list)

    def commands(self) -> list[str]:
        """Every command's name, upper-case, in order."""
        return [str(args[0]).upper() for call in self.calls for args in call.commands]


@contextmanager
def record_redis(client: Redis) -> Iterator[RedisRecording]:
    """Record what `client` sends while the block runs: its `execute_command` (which scripts
    go through too) and the `execute` of the pipelines it makes."""
    recording = RedisRecording()
    plain: Any = client.execute_command  # untyped in redis-py
    make_pipeline = client.pipeline

    def execute_command(*args: Any, **options: Any) -> Any:
        reply = plain(*args, **options)
        recording.calls.append(RedisCall((tuple(args),), (reply,)))
        return reply

    def pipeline(transaction: bool = True, shard_hint: Any = None) -> Any:
        pipe = make_pipeline(transaction, shard_hint)
        run = pipe.execute

        def execute(raise_on_error: bool = True) -> Any:
            commands = tuple(tuple(args) for args, _options in pipe.command_stack)
            replies = run(raise_on_error)
            recording.calls.append(RedisCall(commands, tuple(replies), True, transaction))
            return replies

        setattr(pipe, "execute", execute)  # noqa: B010 - an instance's method, not the class's
        return pipe

    setattr(client, "execute_command", execute_command)  # noqa: B010
    setattr(client, "pipeline", pipeline)  # noqa: B010
    try:
        yield recording
    finally:
        del client.execute_command
        del client.pipeline
