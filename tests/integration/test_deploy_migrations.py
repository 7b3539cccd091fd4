"""Migrations as a deploy runs them: patient with a database still starting, safe on rollback."""

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from tradebot.db.migrate import current_revision, upgrade_for_deploy

from tests.conftest import reset_caches


def test_an_unreachable_database_is_retried_then_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    monkeypatch.setenv("DB_CONNECT_TIMEOUT_S", "0.5")
    reset_caches()
    waits: list[float] = []

    with pytest.raises(DBAPIError):
        upgrade_for_deploy(attempts=3, wait_s=7.0, sleep=waits.append)

    assert waits == [7.0, 7.0]


def test_a_database_ahead_of_the_code_is_left_alone_on_rollback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ahead.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('9999_from_the_future')"))
    monkeypatch.setenv("DATABASE_URL", url)
    reset_caches()

    revision = upgrade_for_deploy(attempts=1)

    assert revision == "9999_from_the_future"
    assert current_revision() == "9999_from_the_future"


def test_a_new_database_is_brought_to_head(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    reset_caches()

    assert upgrade_for_deploy(attempts=1) == current_revision() is not None


def test_iam_auth_puts_a_fresh_rds_token_in_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    from tradebot.db.engine import _iam_auth_token

    params: dict[str, Any] = {"host": "proxy.example.internal", "port": 5432, "user": "tradebot"}
    _iam_auth_token(None, None, None, params)

    assert "X-Amz-Signature=" in params["password"]
    assert params["password"].startswith("proxy.example.internal:5432/")
