"""TLS to PostgreSQL per DATABASE_TLS, against this machine's server (which offers no TLS)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from tradebot.db.engine import forget_connections, get_engine, unit_of_work
from tradebot.errors import ServiceUnavailable

from tests.conftest import reset_caches

pytestmark = pytest.mark.postgres


@pytest.fixture
def contexts_made(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every TLS context created while the test runs (pg8000 makes one per connection when it
    is given none)."""
    made: list[Any] = []
    create = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made.append(args)
        return create(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    yield made
    reset_caches()


def _connect_twice() -> None:
    for _ in range(2):
        with unit_of_work() as session:
            assert session.execute(text("SELECT 1")).scalar_one() == 1
        forget_connections()  # the next unit of work opens a new connection


def test_prefer_builds_one_context_with_the_engine_and_remembers_a_server_without_tls(
    monkeypatch: pytest.MonkeyPatch, contexts_made: list[Any]
) -> None:
    monkeypatch.setenv("DATABASE_TLS", "prefer")
    reset_caches()
    get_engine()
    built = len(contexts_made)

    _connect_twice()

    assert built == 1  # with the engine: before a SnapStart snapshot, not in the first request
    assert len(contexts_made) == built  # no connection built its own


def test_verify_refuses_a_server_without_tls_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, contexts_made: list[Any]
) -> None:
    monkeypatch.setenv("DATABASE_TLS", "verify")
    reset_caches()

    with pytest.raises(ServiceUnavailable), unit_of_work() as session:
        session.execute(text("SELECT 1"))

    assert len(contexts_made) == 1


def test_off_connects_in_plain_text_without_a_context(
    monkeypatch: pytest.MonkeyPatch, contexts_made: list[Any]
) -> None:
    monkeypatch.setenv("DATABASE_TLS", "off")
    reset_caches()

    _connect_twice()

    assert contexts_made == []
